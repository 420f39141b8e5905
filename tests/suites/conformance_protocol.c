/*
 * The conformance suite, protocol: pipelining, requests split across
 * writes, binary data, big values and pipelines, and malformed requests
 * refused with the error Redis sends.
 *
 * The conformance suite is what every stage must do, whatever its
 * concurrency model: it runs against the server binary named on the
 * command line (see tests/stages.mk) and tests only behaviour common to
 * all four stages, one topic per file (conformance_commands.c,
 * _protocol.c, _clients.c, _persistence.c, _shutdown.c).
 *
 * Every test starts its own server with --port 0 and ends by stopping it
 * with SIGTERM, asserting a clean exit 0. Replies are checked against
 * common/cmd.h's contract; the rows marked REDIS are byte-identical to
 * what redis-server 7.0.15 sends for the same request.
 */

#include "harness.h"
#include "support/bigreply.h"
#include "support/client.h"
#include "support/expect.h"
#include "support/lag_probe.h"
#include "support/payload.h"
#include "support/server.h"

#include "buf.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { REDIS, OURS }; /* whether redis-server 7.0.15 sends the same bytes */

/* ==== Protocol: pipelining, splitting, binary data ======================= */

/* 100 commands in one write: 100 replies, in order. */
static void test_pipeline_100(void)
{
    test_server_t srv;
    START_SERVER(&srv, NULL);
    int fd = CONNECT(srv.port);

    buf_t req = BUF_INIT, exp = BUF_INIT;
    long long counter = 0;
    for (int i = 0; i < 100; i++) {
        char key[32], val[32];
        switch (i % 4) {
        case 0: /* inline SET */
            buf_printf(&req, "SET p:%d v:%d\r\n", i, i);
            buf_append_str(&exp, "+OK\r\n");
            break;
        case 1: /* multibulk GET of the key just set */
            snprintf(key, sizeof key, "p:%d", i - 1);
            snprintf(val, sizeof val, "v:%d", i - 1);
            payload_command(&req, "GET", key, strlen(key), NULL, 0);
            payload_bulk(&exp, val, strlen(val));
            break;
        case 2:
            buf_printf(&req, "INCR counter\r\n");
            buf_printf(&exp, ":%lld\r\n", ++counter);
            break;
        default:
            snprintf(val, sizeof val, "e:%d", i);
            payload_command(&req, "ECHO", val, strlen(val), NULL, 0);
            payload_bulk(&exp, val, strlen(val));
            break;
        }
    }
    EXPECT_REPLY_BIN(fd, req.data, req.len, exp.data, exp.len);
    EXPECT_REPLY(fd, "DBSIZE\r\n", ":26\r\n");
    buf_free(&req);
    buf_free(&exp);
    close(fd);
    STOP_SERVER(&srv);
}

/* Requests that arrive one byte at a time parse as if they came whole,
 * and no reply comes before a request is complete. */
static void test_split_writes(void)
{
    static const struct {
        const char *request, *reply;
    } parts[] = {
        {"*3\r\n$3\r\nSET\r\n$5\r\nsplit\r\n$5\r\nva\r\nl\r\n", "+OK\r\n"},
        {"GET split\r\n", "$5\r\nva\r\nl\r\n"},
        {"*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\n", "$3\r\nabc\r\n"},
        {"ECHO \"x y\"\r\n", "$3\r\nx y\r\n"},
    };
    test_server_t srv;
    START_SERVER(&srv, NULL);
    int fd = CONNECT(srv.port);

    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        const char *r = parts[i].request;
        size_t len = strlen(r);
        for (size_t k = 0; k + 1 < len; k++) {
            CU_ASSERT_EQUAL_FATAL(client_send(fd, r + k, 1), 0);
            poll(NULL, 0, 1);
        }
        EXPECT_SILENT(fd, 50); /* one byte short: no reply yet */
        EXPECT_REPLY_BIN(fd, r + len - 1, 1, parts[i].reply, strlen(parts[i].reply));
    }
    close(fd);
    STOP_SERVER(&srv);
}

/* Keys and values are binary safe: NUL, CR, LF and RESP syntax inside. */
static void test_binary_values(void)
{
    static const char key[] = "bin\0key\r\n";
    static const char resp_inside[] = "\r\n$5\r\n*1\r\n\0\r\n";
    char value[256 + sizeof resp_inside - 1];
    for (int i = 0; i < 256; i++)
        value[i] = (char)i;
    memcpy(value + 256, resp_inside, sizeof resp_inside - 1);

    test_server_t srv;
    START_SERVER(&srv, NULL);
    int fd = CONNECT(srv.port);

    buf_t req = BUF_INIT, exp = BUF_INIT;
    payload_command(&req, "SET", key, sizeof key - 1, value, sizeof value);
    payload_command(&req, "GET", key, sizeof key - 1, NULL, 0);
    payload_command(&req, "EXISTS", key, sizeof key - 1, NULL, 0);
    payload_command(&req, "GET", "bin", 3, NULL, 0); /* the key does not stop at its NUL */
    payload_command(&req, "ECHO", value, sizeof value, NULL, 0);
    payload_command(&req, "DIGEST", key, sizeof key - 1, "3", 1);
    payload_command(&req, "SET", "\0", 1, "", 0);
    payload_command(&req, "GET", "\0", 1, NULL, 0);
    buf_append_str(&exp, "+OK\r\n");
    payload_bulk(&exp, value, sizeof value);
    buf_append_str(&exp, ":1\r\n$-1\r\n");
    payload_bulk(&exp, value, sizeof value);
    payload_digest(&exp, value, sizeof value, 3);
    buf_append_str(&exp, "+OK\r\n$0\r\n\r\n");
    EXPECT_REPLY_BIN(fd, req.data, req.len, exp.data, exp.len);
    buf_free(&req);
    buf_free(&exp);
    close(fd);
    STOP_SERVER(&srv);
}

/* A 1 MiB value goes in and comes back byte for byte. */
static void test_large_value(void)
{
    const size_t len = 1024 * 1024;
    char *value = malloc(len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(value);
    payload_fill(value, len, 7);

    test_server_t srv;
    START_SERVER(&srv, NULL);
    int fd = CONNECT(srv.port);

    buf_t req = BUF_INIT, exp = BUF_INIT;
    payload_command(&req, "SET", "large", 5, value, len);
    EXPECT_REPLY_BIN(fd, req.data, req.len, "+OK\r\n", 5);
    payload_bulk(&exp, value, len);
    EXPECT_REPLY_BIN(fd, "GET large\r\n", 11, exp.data, exp.len);
    EXPECT_REPLY(fd, "PING\r\n", "+PONG\r\n");
    buf_free(&req);
    buf_free(&exp);
    free(value);
    close(fd);
    STOP_SERVER(&srv);
}

/* A PING beside them. Stages 3 and 4 once stalled 0.5 to 1.7 s building
 * all the replies at once (2 to 3 s under TSan); now the loop is held by
 * one reply at most, which cannot be split: under TSan one 8 MiB reply
 * alone takes most of a second to build. */
#if defined(__SANITIZE_THREAD__)
#define BIG_PING_MS 1500
#else
#define BIG_PING_MS 500
#endif

/* count GETs of a len-byte value in one write, far more than the socket
 * buffers hold: a client that reads gets every byte, as from Redis, and
 * a PING on another connection is answered meanwhile, each time. */
static void check_big_pipeline(int count, size_t len)
{
    test_server_t srv;
    START_SERVER(&srv, NULL);
    int fd = CONNECT(srv.port);
    int other = CONNECT(srv.port);
    CU_ASSERT_EQUAL_FATAL(bigreply_set(fd, "big", len, 'v'), 0);

    lag_probe_t probe;
    CU_ASSERT_EQUAL_FATAL(lag_probe_start(&probe), 0);
    CU_ASSERT_EQUAL(bigreply_send_gets(fd, "big", count), 0);
    long long worst = 0;
    int good = bigreply_read(fd, count, len, 'v', CLIENT_TIMEOUT_MS, other, &worst);
    long long late = lag_probe_stop(&probe);
    CU_ASSERT_EQUAL(good, count);
    CU_ASSERT(worst >= 0);
    fprintf(stderr, "(slowest PING beside them %lld ms) ", worst);
    lag_probe_expect_fast(worst, BIG_PING_MS, late, "a PING beside them");
    EXPECT_REPLY(fd, "PING\r\n", "+PONG\r\n");
    close(fd);
    close(other);
    STOP_SERVER(&srv);
}

static void test_big_pipeline_8x8(void)
{
    check_big_pipeline(8, 8 * 1024 * 1024);
}

static void test_big_pipeline_100x1(void)
{
    check_big_pipeline(100, 1024 * 1024);
}

/* Empty requests (blank lines, *0, *-1) are skipped, as in Redis. */
static void test_empty_requests(void)
{
    test_server_t srv;
    START_SERVER(&srv, NULL);
    int fd = CONNECT(srv.port);
    EXPECT_REPLY(fd, "\r\n\n  \r\n*0\r\n*-1\r\nPING\r\n", "+PONG\r\n");
    close(fd);
    STOP_SERVER(&srv);
}

/* ==== Protocol errors ===================================================== */

#define ERR_MBULK "-ERR Protocol error: invalid multibulk length\r\n"
#define ERR_BULK  "-ERR Protocol error: invalid bulk length\r\n"
#define ERR_CRLF  "-ERR Protocol error: expected CRLF after bulk data\r\n"
#define ERR_QUOTE "-ERR Protocol error: unbalanced quotes in request\r\n"

typedef struct malformed_case {
    int source;
    const char *request; /* may hold a NUL: its length is request_len */
    size_t request_len;
    const char *reply; /* the replies to what came before, then the error */
} malformed_case_t;

#define MALFORMED(source, request, reply)                                                          \
    {                                                                                              \
        source, request, sizeof(request) - 1, reply                                                \
    }

static const malformed_case_t malformed_cases[] = {
    MALFORMED(REDIS, "*x\r\n", ERR_MBULK),
    MALFORMED(REDIS, "*12a\r\n", ERR_MBULK),
    MALFORMED(REDIS, "*+1\r\n", ERR_MBULK),
    MALFORMED(REDIS, "*01\r\n", ERR_MBULK),
    MALFORMED(REDIS, "*99999999999999999999999\r\n", ERR_MBULK), /* overflows */
    MALFORMED(OURS, "*1048577\r\n", ERR_MBULK),                  /* over RESP_ARRAY_MAX */
    MALFORMED(OURS, "*1\r\r", ERR_MBULK),                        /* CR without LF */
    MALFORMED(REDIS, "*1\r\n$x\r\n", ERR_BULK),
    MALFORMED(REDIS, "*1\r\n$-1\r\n", ERR_BULK), /* negative */
    MALFORMED(REDIS, "*1\r\n$-5\r\n", ERR_BULK),
    MALFORMED(REDIS, "*1\r\n$-0\r\n", ERR_BULK),
    MALFORMED(REDIS, "*1\r\n$01\r\n", ERR_BULK),
    MALFORMED(REDIS, "*1\r\n$+1\r\n", ERR_BULK),
    MALFORMED(REDIS, "*1\r\n$ 1\r\n", ERR_BULK),
    MALFORMED(OURS, "*1\r\n$3\0\r\n", ERR_BULK),                      /* a NUL in the length */
    MALFORMED(REDIS, "*1\r\n$99999999999999999999999\r\n", ERR_BULK), /* overflows */
    MALFORMED(OURS, "*1\r\n$8388609\r\n", ERR_BULK), /* over RESP_BULK_MAX, 8 MiB */
    MALFORMED(REDIS, "*1\r\nx\r\n", "-ERR Protocol error: expected '$', got 'x'\r\n"),
    MALFORMED(REDIS, "*2\r\n$4\r\nECHO\r\n:1\r\n",
              "-ERR Protocol error: expected '$', got ':'\r\n"),
    MALFORMED(REDIS, "*1\r\n\r\n", "-ERR Protocol error: expected '$', got ' '\r\n"),
    MALFORMED(OURS, "*1\r\n$4\r\nPINGxx\r\n", ERR_CRLF), /* no CRLF after the data */
    MALFORMED(OURS, "*1\r\n$4\r\nPING\rX", ERR_CRLF),
    MALFORMED(REDIS, "PING \"abc\r\n", ERR_QUOTE),
    MALFORMED(REDIS, "ECHO 'it''s'\r\n", ERR_QUOTE),
    MALFORMED(REDIS, "ECHO \"a\"b\r\n", ERR_QUOTE),
    /* What came before the error is answered, what came after is not. */
    MALFORMED(REDIS, "PING\r\n*x\r\nSET after 1\r\n", "+PONG\r\n" ERR_MBULK),
    MALFORMED(REDIS, "*1\r\n$4\r\nPING\r\n*1\r\n$x\r\nSET after 1\r\n", "+PONG\r\n" ERR_BULK),
};

#define MALFORMED_CASES (sizeof malformed_cases / sizeof malformed_cases[0])

/* Sends request on a fresh connection and expects reply, then the close;
 * the bystander, connected all along, must still be served. */
static CU_BOOL expect_protocol_error(int port, int bystander, const char *request, size_t len,
                                     const char *reply)
{
    int fd = CONNECT(port);
    CU_BOOL ok = EXPECT_REPLY_BIN(fd, request, len, reply, strlen(reply));
    ok = EXPECT_CLOSED(fd) && ok;
    close(fd);
    ok = EXPECT_REPLY(bystander, "PING\r\n", "+PONG\r\n") && ok;
    return ok;
}

static void test_malformed(void)
{
    test_server_t srv;
    START_SERVER(&srv, NULL);
    int bystander = CONNECT(srv.port);
    EXPECT_REPLY(bystander, "PING\r\n", "+PONG\r\n");

    for (size_t i = 0; i < MALFORMED_CASES; i++) {
        const malformed_case_t *m = &malformed_cases[i];
        if (!expect_protocol_error(srv.port, bystander, m->request, m->request_len, m->reply)) {
            char shown[128];
            expect_escape(m->request, m->request_len, shown, sizeof shown);
            fprintf(stderr, "  (malformed case %zu: \"%s\")\n", i, shown);
        }
    }

    /* An inline line longer than 64 KiB, with no newline in sight. */
    size_t big = 64 * 1024 + 1;
    char *line = malloc(big);
    CU_ASSERT_PTR_NOT_NULL_FATAL(line);
    memset(line, 'a', big);
    expect_protocol_error(srv.port, bystander, line, big,
                          "-ERR Protocol error: too big inline request\r\n");
    free(line);

    /* Nothing after an error ran. */
    EXPECT_REPLY(bystander, "EXISTS after\r\n", ":0\r\n");
    close(bystander);
    STOP_SERVER(&srv);
}

/* The limits themselves are allowed: a request may declare 1,048,576
 * arguments and an 8 MiB bulk (the server waits for the rest). */
static void test_limits_allowed(void)
{
    static const char *const requests[] = {
        "*1048576\r\n$4\r\nPING\r\n",
        "*1\r\n$8388608\r\nabc",
        "*2\r\n$1\r\n",
    };
    test_server_t srv;
    START_SERVER(&srv, NULL);
    for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++) {
        int fd = CONNECT(srv.port);
        CU_ASSERT_EQUAL(client_send_str(fd, requests[i]), 0);
        EXPECT_SILENT(fd, 200);
        close(fd);
    }
    STOP_SERVER(&srv);
}

/* ==== Registration ======================================================== */

static CU_TestInfo tests[] = {
    {"100 pipelined commands", test_pipeline_100},
    {"one byte per write", test_split_writes},
    {"binary keys and values", test_binary_values},
    {"1 MiB value", test_large_value},
    {"8 GETs of an 8 MiB value in one write", test_big_pipeline_8x8},
    {"100 GETs of a 1 MiB value in one write", test_big_pipeline_100x1},
    {"empty requests", test_empty_requests},
    {"malformed requests", test_malformed},
    {"limits themselves are allowed", test_limits_allowed},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"protocol", NULL, NULL, NULL, expect_teardown, tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
