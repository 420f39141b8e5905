/*
 * The conformance suite: what every stage must do, whatever its
 * concurrency model. It runs against the server binary named on the
 * command line (see tests/stages.mk) and tests only behaviour common to
 * all four stages: replies byte for byte, the protocol's corner cases,
 * many clients at once, persistence and a clean shutdown.
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
#include "support/hiredis_client.h"
#include "support/lag_probe.h"
#include "support/parallel.h"
#include "support/proc.h"
#include "support/server.h"
#include "support/server_log.h"
#include "support/writers.h"

#include "buf.h"
#include "digest.h"
#include "dump.h"
#include "resp.h"
#include "store.h"

#include <errno.h>
#include <libgen.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* ==== Small helpers ====================================================== */

/* The stage's name, as INFO reports it: the binary's file name. */
static const char *stage_name(void)
{
    static char copy[256];
    snprintf(copy, sizeof copy, "%s", server_binary());
    return basename(copy);
}

/* Appends "$len\r\n<p>\r\n": the bulk reply for p[0..len). */
static void add_bulk(buf_t *b, const void *p, size_t len)
{
    buf_printf(b, "$%zu\r\n", len);
    buf_append(b, p, len);
    buf_append(b, "\r\n", 2);
}

/* Appends one multibulk request made of two or three binary arguments. */
static void add_command(buf_t *b, const char *name, const void *a1, size_t l1, const void *a2,
                        size_t l2)
{
    const char *argv[3] = {name, a1, a2};
    size_t lens[3] = {strlen(name), l1, l2};
    client_format_command(b, a2 != NULL ? 3 : 2, argv, lens);
}

/* Fills p[0..len) with bytes that cover every value, NUL, CR and LF
 * included, in an order that a shifted or truncated copy does not repeat. */
static void fill_pattern(char *p, size_t len, unsigned seed)
{
    unsigned x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (char)(x >> 16);
    }
}

/* The DIGEST reply for value[0..len) hashed `rounds` times. */
static void add_digest_reply(buf_t *b, const void *value, size_t len, long long rounds)
{
    char hex[17];
    digest_hex(digest_fnv1a(value, len, rounds), hex);
    add_bulk(b, hex, 16);
}

/* ==== Commands: every reply and error, byte for byte ===================== */

enum { REDIS, OURS }; /* whether redis-server 7.0.15 sends the same bytes */

typedef struct command_case {
    int source;
    const char *request; /* inline form, without CRLF; no quotes, no escapes */
    const char *reply;
} command_case_t;

#define WRONG_ARGS(name) "-ERR wrong number of arguments for '" name "' command\r\n"
#define NOT_INTEGER      "-ERR value is not an integer or out of range\r\n"

/* Run in order on one connection of a fresh server: later rows depend on
 * the keys earlier rows set. */
static const command_case_t command_cases[] = {
    {REDIS, "PING", "+PONG\r\n"},
    {REDIS, "ping", "+PONG\r\n"},
    {REDIS, "PiNg", "+PONG\r\n"},
    {REDIS, "PING hello", "$5\r\nhello\r\n"},
    {REDIS, "PING a b", WRONG_ARGS("ping")},
    {REDIS, "ECHO hi", "$2\r\nhi\r\n"},
    {REDIS, "ECHO", WRONG_ARGS("echo")},
    {REDIS, "ECHO a b", WRONG_ARGS("echo")},
    {REDIS, "DBSIZE", ":0\r\n"},
    {REDIS, "DBSIZE x", WRONG_ARGS("dbsize")},
    {REDIS, "GET k", "$-1\r\n"},
    {REDIS, "SET k v", "+OK\r\n"},
    {REDIS, "GET k", "$1\r\nv\r\n"},
    {REDIS, "GET K", "$-1\r\n"}, /* keys are case-sensitive */
    {REDIS, "set k value2", "+OK\r\n"},
    {REDIS, "get k", "$6\r\nvalue2\r\n"},
    {REDIS, "SET k", WRONG_ARGS("set")},
    {REDIS, "SET k v x", "-ERR syntax error\r\n"},
    {REDIS, "GET", WRONG_ARGS("get")},
    {REDIS, "GET a b", WRONG_ARGS("get")},
    {REDIS, "EXISTS k", ":1\r\n"},
    {REDIS, "EXISTS k k nokey", ":2\r\n"},
    {REDIS, "EXISTS", WRONG_ARGS("exists")},
    {REDIS, "SET a 1", "+OK\r\n"},
    {REDIS, "DEL nokey", ":0\r\n"},
    {REDIS, "DEL k a nokey", ":2\r\n"},
    {REDIS, "EXISTS k a", ":0\r\n"},
    {REDIS, "DEL", WRONG_ARGS("del")},
    {REDIS, "INCR n", ":1\r\n"},
    {REDIS, "INCR n", ":2\r\n"},
    {REDIS, "GET n", "$1\r\n2\r\n"},
    {REDIS, "SET n -5", "+OK\r\n"},
    {REDIS, "INCR n", ":-4\r\n"},
    {REDIS, "SET s abc", "+OK\r\n"},
    {REDIS, "INCR s", NOT_INTEGER},
    {REDIS, "SET s 01", "+OK\r\n"},
    {REDIS, "INCR s", NOT_INTEGER},
    {REDIS, "SET s 1.5", "+OK\r\n"},
    {REDIS, "INCR s", NOT_INTEGER},
    {REDIS, "SET s 9223372036854775808", "+OK\r\n"},
    {REDIS, "INCR s", NOT_INTEGER},
    {REDIS, "GET s", "$19\r\n9223372036854775808\r\n"},
    {REDIS, "SET m 9223372036854775807", "+OK\r\n"},
    {REDIS, "INCR m", "-ERR increment or decrement would overflow\r\n"},
    {REDIS, "GET m", "$19\r\n9223372036854775807\r\n"},
    {REDIS, "SET m -9223372036854775808", "+OK\r\n"},
    {REDIS, "INCR m", ":-9223372036854775807\r\n"},
    {REDIS, "INCR", WRONG_ARGS("incr")},
    {REDIS, "INCR a b", WRONG_ARGS("incr")},
    {REDIS, "DBSIZE", ":3\r\n"},
    {REDIS, "CONFIG GET save", "*2\r\n$4\r\nsave\r\n$0\r\n\r\n"},
    {REDIS, "CONFIG GET appendonly", "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n"},
    {REDIS, "config get SAVE", "*2\r\n$4\r\nSAVE\r\n$0\r\n\r\n"},
    {REDIS, "CONFIG GET appendon*", "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n"},
    {REDIS, "CONFIG GET s?ve", "*2\r\n$4\r\nsave\r\n$0\r\n\r\n"},
    {REDIS, "CONFIG GET nosuch", "*0\r\n"},
    {REDIS, "CONFIG GET nosuch*", "*0\r\n"},
    {REDIS, "CONFIG", WRONG_ARGS("config")},
    {REDIS, "CONFIG GET", WRONG_ARGS("config|get")},
    {REDIS, "CONFIG FOO", "-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n"},
    {OURS, "COMMAND", "*0\r\n"},
    {REDIS, "FOO", "-ERR unknown command 'FOO', with args beginning with: \r\n"},
    {REDIS, "FOO bar baz",
     "-ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' \r\n"},
    {REDIS, "DEBUG SLEEP 0", "+OK\r\n"},
    {REDIS, "debug sleep 0.01", "+OK\r\n"},
    {REDIS, "DEBUG", WRONG_ARGS("debug")},
    {REDIS, "DEBUG FOO",
     "-ERR unknown subcommand or wrong number of arguments for 'FOO'. Try DEBUG HELP.\r\n"},
    {OURS, "DEBUG SLEEP x", "-ERR value is not a valid float\r\n"},
    {OURS, "DIGEST nokey 1", "$-1\r\n"},
    {OURS, "DIGEST n", WRONG_ARGS("digest")},
    {OURS, "DIGEST n x", NOT_INTEGER},
    {OURS, "DIGEST n 0", "-ERR rounds must be between 1 and 100000000\r\n"},
    {OURS, "SAVE", "-ERR no dump file configured: start the server with --dbfile PATH\r\n"},
    {REDIS, "SAVE x", WRONG_ARGS("save")},
    {REDIS, "PING", "+PONG\r\n"}, /* still served after all those errors */
};

#define COMMAND_CASES (sizeof command_cases / sizeof command_cases[0])

/* Turns an inline request ("SET k v") into the same request in RESP
 * multibulk form. */
static void inline_to_multibulk(const char *line, buf_t *out)
{
    const char *argv[8];
    size_t lens[8];
    size_t argc = 0;
    for (const char *p = line; *p != '\0' && argc < 8;) {
        size_t n = strcspn(p, " ");
        argv[argc] = p;
        lens[argc++] = n;
        p += n;
        p += strspn(p, " ");
    }
    client_format_command(out, argc, argv, lens);
}

static void run_command_cases(int multibulk)
{
    test_server_t srv;
    START_SERVER(&srv, NULL);
    int fd = CONNECT(srv.port);

    for (size_t i = 0; i < COMMAND_CASES; i++) {
        buf_t req = BUF_INIT;
        if (multibulk)
            inline_to_multibulk(command_cases[i].request, &req);
        else
            buf_printf(&req, "%s\r\n", command_cases[i].request);
        CU_BOOL ok = EXPECT_REPLY_BIN(fd, req.data, req.len, command_cases[i].reply,
                                      strlen(command_cases[i].reply));
        buf_free(&req);
        if (!ok)
            break; /* the rows after it depend on it */
    }
    close(fd);
    STOP_SERVER(&srv);
}

static void test_commands_inline(void)
{
    run_command_cases(0);
}

static void test_commands_multibulk(void)
{
    run_command_cases(1);
}

/* QUIT answers +OK, then the server closes the connection without running
 * anything sent after it. */
static void test_quit(void)
{
    test_server_t srv;
    START_SERVER(&srv, NULL);

    int fd = CONNECT(srv.port);
    EXPECT_REPLY(fd, "QUIT\r\n", "+OK\r\n");
    EXPECT_CLOSED(fd);
    close(fd);

    fd = CONNECT(srv.port);
    EXPECT_REPLY(fd, "*1\r\n$4\r\nquit\r\n*3\r\n$3\r\nSET\r\n$5\r\nafter\r\n$1\r\n1\r\n",
                 "+OK\r\n");
    EXPECT_CLOSED(fd);
    close(fd);

    fd = CONNECT(srv.port);
    EXPECT_REPLY(fd, "GET after\r\n", "$-1\r\n");
    close(fd);
    STOP_SERVER(&srv);
}

/* INFO is one bulk string with the stage's name and the client count. */
static void test_info(void)
{
    test_server_t srv;
    START_SERVER(&srv, NULL);
    int a = CONNECT(srv.port);
    EXPECT_REPLY(a, "SET somekey 1\r\n", "+OK\r\n");

    buf_t reply = BUF_INIT, stage = BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(client_roundtrip(a, "INFO\r\n", &reply), 0);
    /* One bulk string whose lines all end in CRLF. */
    CU_ASSERT(reply.len > 4 && reply.data[0] == '$');
    CU_ASSERT(reply.len > 4 && memcmp(reply.data + reply.len - 4, "\r\n\r\n", 4) == 0);
    buf_append(&reply, "", 1);
    buf_printf(&stage, "\r\nstage:%s\r\n", stage_name());
    buf_append(&stage, "", 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(reply.data, stage.data));
    CU_ASSERT_PTR_NOT_NULL(strstr(reply.data, "\r\nconnected_clients:1\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(reply.data, "\r\nkeys:1\r\n"));
    buf_free(&reply);
    buf_free(&stage);

    int b = CONNECT(srv.port);
    EXPECT_REPLY(b, "PING\r\n", "+PONG\r\n");
    CU_ASSERT_EQUAL(INFO_FIELD(a, "connected_clients"), 2);
    close(b);
    /* The server notices b's departure in its own time. */
    EXPECT_INFO_REACHES(a, "connected_clients", 1, 3000);
    close(a);
    STOP_SERVER(&srv);
}

/* DIGEST of a set key is the FNV-1a of common/digest.h, binary safe. */
static void test_digest(void)
{
    static const char value[] = "hello\0world\r\n";
    test_server_t srv;
    START_SERVER(&srv, NULL);
    int fd = CONNECT(srv.port);

    buf_t req = BUF_INIT, exp = BUF_INIT;
    add_command(&req, "SET", "d", 1, value, sizeof value - 1);
    add_command(&req, "DIGEST", "d", 1, "1", 1);
    add_command(&req, "DIGEST", "d", 1, "1000", 4);
    buf_append_str(&exp, "+OK\r\n");
    add_digest_reply(&exp, value, sizeof value - 1, 1);
    add_digest_reply(&exp, value, sizeof value - 1, 1000);
    EXPECT_REPLY_BIN(fd, req.data, req.len, exp.data, exp.len);
    buf_free(&req);
    buf_free(&exp);

    /* An empty value hashes to the offset basis whatever the rounds. */
    EXPECT_REPLY(fd, "SET e \"\"\r\nDIGEST e 5\r\n", "+OK\r\n$16\r\ncbf29ce484222325\r\n");
    EXPECT_REPLY(fd, "DIGEST missing 1\r\n", "$-1\r\n");
    close(fd);
    STOP_SERVER(&srv);
}

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
            add_command(&req, "GET", key, strlen(key), NULL, 0);
            add_bulk(&exp, val, strlen(val));
            break;
        case 2:
            buf_printf(&req, "INCR counter\r\n");
            buf_printf(&exp, ":%lld\r\n", ++counter);
            break;
        default:
            snprintf(val, sizeof val, "e:%d", i);
            add_command(&req, "ECHO", val, strlen(val), NULL, 0);
            add_bulk(&exp, val, strlen(val));
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
    add_command(&req, "SET", key, sizeof key - 1, value, sizeof value);
    add_command(&req, "GET", key, sizeof key - 1, NULL, 0);
    add_command(&req, "EXISTS", key, sizeof key - 1, NULL, 0);
    add_command(&req, "GET", "bin", 3, NULL, 0); /* the key does not stop at its NUL */
    add_command(&req, "ECHO", value, sizeof value, NULL, 0);
    add_command(&req, "DIGEST", key, sizeof key - 1, "3", 1);
    add_command(&req, "SET", "\0", 1, "", 0);
    add_command(&req, "GET", "\0", 1, NULL, 0);
    buf_append_str(&exp, "+OK\r\n");
    add_bulk(&exp, value, sizeof value);
    buf_append_str(&exp, ":1\r\n$-1\r\n");
    add_bulk(&exp, value, sizeof value);
    add_digest_reply(&exp, value, sizeof value, 3);
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
    fill_pattern(value, len, 7);

    test_server_t srv;
    START_SERVER(&srv, NULL);
    int fd = CONNECT(srv.port);

    buf_t req = BUF_INIT, exp = BUF_INIT;
    add_command(&req, "SET", "large", 5, value, len);
    EXPECT_REPLY_BIN(fd, req.data, req.len, "+OK\r\n", 5);
    add_bulk(&exp, value, len);
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
    if (worst >= BIG_PING_MS && !lag_probe_quiet(late))
        fprintf(stderr, "(a PING took %lld ms, not checked: the machine was busy) ", worst);
    else
        CU_ASSERT(worst < BIG_PING_MS);
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

/* ==== Many clients ======================================================== */

#define HC_CLIENTS 50
#define HC_OPS     2000
#define HC_BATCH   100 /* commands pipelined per round trip */
#define HC_KEYS    8   /* keys of its own each client cycles through */
#define HC_INCRS   ((HC_OPS + 2) / 3)

typedef struct hc_client {
    pthread_t tid;
    int port;
    int id;
    char last[HC_KEYS][32]; /* the last value this client set for each key */
    long long incrs;        /* INCR replies received */
    char error[200];        /* the first thing that went wrong, or "" */
} hc_client_t;

static void hc_key(const hc_client_t *hc, int k, char *key, size_t cap)
{
    snprintf(key, cap, "client:%d:key:%d", hc->id, k);
}

/* Op i: INCR the shared counter, SET one of its own keys, or GET the key
 * the previous op set and check it holds what this client set. */
static void hc_append(hc_client_t *hc, redisContext *c, int i)
{
    char key[64];
    int k = (i / 3) % HC_KEYS;
    hc_key(hc, k, key, sizeof key);
    switch (i % 3) {
    case 0:
        redisAppendCommand(c, "INCR shared:counter");
        break;
    case 1:
        snprintf(hc->last[k], sizeof hc->last[k], "v:%d:%d", hc->id, i);
        redisAppendCommand(c, "SET %s %s", key, hc->last[k]);
        break;
    default:
        redisAppendCommand(c, "GET %s", key);
        break;
    }
}

static int hc_check(hc_client_t *hc, const redisReply *r, int i, long long *last_incr)
{
    char expected[32];
    switch (i % 3) {
    case 0:
        /* The counter only grows, and this client sees it grow. */
        if (r->type != REDIS_REPLY_INTEGER || r->integer <= *last_incr)
            return snprintf(hc->error, sizeof hc->error, "op %d: bad INCR reply", i);
        *last_incr = r->integer;
        hc->incrs++;
        return 0;
    case 1:
        if (!hiredis_reply_is_status(r, "OK"))
            return snprintf(hc->error, sizeof hc->error, "op %d: SET did not reply +OK", i);
        return 0;
    default:
        /* What op i - 1 set: hc->last[] may already hold a later value
         * appended in the same batch. */
        snprintf(expected, sizeof expected, "v:%d:%d", hc->id, i - 1);
        if (!hiredis_reply_is_bulk(r, expected, strlen(expected)))
            return snprintf(hc->error, sizeof hc->error, "op %d: GET did not return %s", i,
                            expected);
        return 0;
    }
}

static void *hc_main(void *arg)
{
    hc_client_t *hc = arg;
    long long last_incr = 0;
    redisContext *c = hiredis_client_connect(hc->port, 30000);
    if (c == NULL) {
        snprintf(hc->error, sizeof hc->error, "cannot connect");
        return NULL;
    }
    for (int start = 0; start < HC_OPS && hc->error[0] == '\0'; start += HC_BATCH) {
        for (int i = start; i < start + HC_BATCH; i++)
            hc_append(hc, c, i);
        for (int i = start; i < start + HC_BATCH && hc->error[0] == '\0'; i++) {
            redisReply *r = NULL;
            if (redisGetReply(c, (void **)&r) != REDIS_OK || r == NULL) {
                snprintf(hc->error, sizeof hc->error, "op %d: %s", i, c->errstr);
                break;
            }
            hc_check(hc, r, i, &last_incr);
            freeReplyObject(r);
        }
    }
    redisFree(c);
    return NULL;
}

/* 50 hiredis clients at once: no lost update, no crossed reply. */
static void test_hiredis_concurrent(void)
{
    static hc_client_t clients[HC_CLIENTS];
    test_server_t srv;
    START_SERVER(&srv, NULL);

    memset(clients, 0, sizeof clients);
    int started = 0;
    for (int i = 0; i < HC_CLIENTS; i++) {
        clients[i].port = srv.port;
        clients[i].id = i;
        if (pthread_create(&clients[i].tid, NULL, hc_main, &clients[i]) != 0)
            break;
        started++;
    }
    CU_ASSERT_EQUAL(started, HC_CLIENTS);
    for (int i = 0; i < started; i++) {
        pthread_join(clients[i].tid, NULL);
        CU_ASSERT_STRING_EQUAL(clients[i].error, "");
        if (clients[i].error[0] != '\0')
            fprintf(stderr, "client %d: %s\n", i, clients[i].error);
        CU_ASSERT_EQUAL(clients[i].incrs, HC_INCRS);
    }

    /* The final state, through a connection of its own. */
    redisContext *c = hiredis_client_connect(srv.port, 10000);
    CU_ASSERT_PTR_NOT_NULL(c);
    if (c != NULL) {
        redisReply *r = redisCommand(c, "GET shared:counter");
        char expected[32];
        snprintf(expected, sizeof expected, "%d", HC_CLIENTS * HC_INCRS);
        CU_ASSERT(hiredis_reply_is_bulk(r, expected, strlen(expected)));
        freeReplyObject(r);
        int lost = 0;
        for (int i = 0; i < started; i++) {
            for (int k = 0; k < HC_KEYS; k++) {
                char key[64];
                hc_key(&clients[i], k, key, sizeof key);
                r = redisCommand(c, "GET %s", key);
                lost += !hiredis_reply_is_bulk(r, clients[i].last[k], strlen(clients[i].last[k]));
                freeReplyObject(r);
            }
        }
        CU_ASSERT_EQUAL(lost, 0);
        redisFree(c);
    }
    STOP_SERVER(&srv);
}

/* A client that resets in the middle of a request harms nobody else. */
static void test_reset_mid_request(void)
{
    test_server_t srv;
    START_SERVER(&srv, NULL);
    int other = CONNECT(srv.port);
    EXPECT_REPLY(other, "PING\r\n", "+PONG\r\n");

    int fd = CONNECT(srv.port);
    CU_ASSERT_EQUAL(client_send_str(fd, "*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$10\r\nabc"), 0);
    poll(NULL, 0, 50); /* let the server read the half request */
    client_reset(fd);

    EXPECT_REPLY(other, "PING\r\n", "+PONG\r\n");
    EXPECT_REPLY(other, "EXISTS half\r\n", ":0\r\n");
    EXPECT_INFO_REACHES(other, "connected_clients", 1, 3000);
    close(other);
    STOP_SERVER(&srv);
}

/* A client that resets while megabytes of its replies are still to be
 * written: the server's write fails, and that is all. */
static void test_reset_with_replies_pending(void)
{
    const size_t len = 1024 * 1024;
    char *value = malloc(len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(value);
    fill_pattern(value, len, 3);

    test_server_t srv;
    START_SERVER(&srv, NULL);
    int other = CONNECT(srv.port);
    buf_t req = BUF_INIT;
    add_command(&req, "SET", "big", 3, value, len);
    EXPECT_REPLY_BIN(other, req.data, req.len, "+OK\r\n", 5);
    buf_free(&req);
    free(value);

    /* 32 MiB of replies, far more than the socket buffers hold. */
    int fd = CONNECT(srv.port);
    for (int i = 0; i < 32; i++)
        buf_append_str(&req, "GET big\r\n");
    CU_ASSERT_EQUAL(client_send(fd, req.data, req.len), 0);
    buf_free(&req);
    poll(NULL, 0, 100); /* the server is now stuck writing */
    client_reset(fd);

    /* A reset during a slow command: its reply has nowhere to go. */
    fd = CONNECT(srv.port);
    CU_ASSERT_EQUAL(client_send_str(fd, "DEBUG SLEEP 0.2\r\nPING\r\n"), 0);
    poll(NULL, 0, 50);
    client_reset(fd);

    /* A plain close with two slow requests pending: the first reply draws
     * a reset from the closed socket, so the second one meets EPIPE. */
    fd = CONNECT(srv.port);
    CU_ASSERT_EQUAL(client_send_str(fd, "DEBUG SLEEP 0.1\r\n"), 0);
    poll(NULL, 0, 50);
    CU_ASSERT_EQUAL(client_send_str(fd, "DEBUG SLEEP 0.1\r\n"), 0);
    close(fd);
    poll(NULL, 0, 250);

    EXPECT_REPLY(other, "PING\r\n", "+PONG\r\n");
    EXPECT_INFO_REACHES(other, "connected_clients", 1, 3000);
    close(other);
    STOP_SERVER(&srv);
}

/* Connects one client after another until one is served (its PING gets
 * +PONG), for up to timeout_ms. Returns the served client's fd, or -1. */
static int connect_until_served(int port, int timeout_ms)
{
    long long deadline = harness_now_ms() + timeout_ms;
    while (harness_now_ms() < deadline) {
        int fd = client_connect(port);
        buf_t reply = BUF_INIT;
        if (fd >= 0 && client_roundtrip(fd, "PING\r\n", &reply) == 0 && reply.len == 7 &&
            memcmp(reply.data, "+PONG\r\n", 7) == 0) {
            buf_free(&reply);
            return fd;
        }
        buf_free(&reply);
        if (fd >= 0)
            close(fd);
        poll(NULL, 0, 20);
    }
    return -1;
}

static void test_max_clients(void)
{
    test_server_t srv;
    START_SERVER(&srv, ARGS("--max-clients", "2"));
    int a = CONNECT(srv.port);
    EXPECT_REPLY(a, "PING\r\n", "+PONG\r\n");
    int b = CONNECT(srv.port);
    EXPECT_REPLY(b, "PING\r\n", "+PONG\r\n");

    int c = CONNECT(srv.port);
    EXPECT_READ(c, "-ERR max number of clients reached\r\n");
    EXPECT_CLOSED(c);
    close(c);
    EXPECT_REPLY(a, "PING\r\n", "+PONG\r\n");

    close(a);
    int d = connect_until_served(srv.port, 3000);
    CU_ASSERT(d >= 0);
    EXPECT_REPLY(b, "PING\r\n", "+PONG\r\n");
    if (d >= 0)
        close(d);
    close(b);
    STOP_SERVER(&srv);
}

/* 8 connections (stage 2's default pool serves them all at once), each
 * sending one 8 MiB value and reading it back: 64 MiB in each direction
 * that a server keeping every connection's largest buffers holds for as
 * long as the connections stay open. */
#define BIG_CLIENTS     8
#define BIG_VALUE       (8 * 1024 * 1024)
#define BIG_HELD_MAX_KB (BIG_CLIENTS * (BIG_VALUE / 1024) / 3)

/* The server's child, not this process, gets a small ASan quarantine: with
 * the default one (256 MB) the freed buffers stay mapped and resident, and
 * RSS could not tell a buffer kept from one given back. Ignored by every
 * other build. */
static char *asan_small_quarantine(void)
{
    const char *old = getenv("ASAN_OPTIONS");
    char *saved = old != NULL ? strdup(old) : NULL;
    char options[1024];
    snprintf(options, sizeof options, "%s%squarantine_size_mb=8", old != NULL ? old : "",
             old != NULL && old[0] != '\0' ? ":" : "");
    setenv("ASAN_OPTIONS", options, 1);
    return saved;
}

static void asan_restore(char *saved)
{
    if (saved != NULL)
        setenv("ASAN_OPTIONS", saved, 1);
    else
        unsetenv("ASAN_OPTIONS");
    free(saved);
}

/* Connections that each once sent and received a big value, now idle with
 * their keys deleted, give the memory back: the server's resident memory
 * falls to a fraction of what those values took. */
static void test_idle_connections_release_buffers(void)
{
    int fds[BIG_CLIENTS];
    char *value = malloc(BIG_VALUE);
    CU_ASSERT_PTR_NOT_NULL_FATAL(value);
    fill_pattern(value, BIG_VALUE, 5);

    test_server_t srv;
    char *saved = asan_small_quarantine();
    START_SERVER(&srv, NULL);
    asan_restore(saved);
    CONNECT_MANY(srv.port, fds, BIG_CLIENTS, 1);
    long long before_kb = proc_rss_kb(srv.pid);
    CU_ASSERT_FATAL(before_kb > 0);

    for (int i = 0; i < BIG_CLIENTS && fds[i] >= 0; i++) {
        char key[16];
        int klen = snprintf(key, sizeof key, "big:%d", i);
        buf_t req = BUF_INIT;
        add_command(&req, "SET", key, (size_t)klen, value, BIG_VALUE);
        EXPECT_REPLY_BIN(fds[i], req.data, req.len, "+OK\r\n", 5);
        buf_clear(&req);
        add_command(&req, "GET", key, (size_t)klen, NULL, 0);
        buf_t exp = BUF_INIT;
        add_bulk(&exp, value, BIG_VALUE);
        EXPECT_REPLY_BIN(fds[i], req.data, req.len, exp.data, exp.len);
        buf_free(&exp);
        buf_clear(&req);
        add_command(&req, "DEL", key, (size_t)klen, NULL, 0);
        EXPECT_REPLY_BIN(fds[i], req.data, req.len, ":1\r\n", 4);
        buf_free(&req);
    }
    free(value);

    /* Every reply is in, so every buffer was released; the kernel's count
     * may lag a little behind the unmapping. */
    long long held_kb = 0;
    long long deadline = harness_now_ms() + 3000;
    do {
        held_kb = proc_rss_kb(srv.pid) - before_kb;
        if (held_kb < BIG_HELD_MAX_KB)
            break;
        poll(NULL, 0, 50);
    } while (harness_now_ms() < deadline);
    CU_ASSERT(held_kb < BIG_HELD_MAX_KB);
    if (held_kb >= BIG_HELD_MAX_KB)
        fprintf(stderr, "%d idle connections hold %lld KiB after a %d KiB SET and GET each\n",
                BIG_CLIENTS, held_kb, BIG_VALUE / 1024);
    EXPECT_REPLY(fds[0], "DBSIZE\r\n", ":0\r\n");

    client_close_all(fds, BIG_CLIENTS);
    STOP_SERVER(&srv);
}

/* ==== Persistence ========================================================= */

static char dir[256];
static char dbfile[300]; /* dir/dump.resp */

static void persistence_setup(void)
{
    if (harness_tmpdir_create(dir, sizeof dir) != 0) {
        perror("harness_tmpdir_create");
        abort(); /* no directory, no test worth running */
    }
    snprintf(dbfile, sizeof dbfile, "%s/dump.resp", dir);
}

static void persistence_teardown(void)
{
    expect_teardown();
    harness_tmpdir_remove(dir);
}

/* The keys of the restart test: plain, binary, empty and large values.
 * sets gets +OK for each; gets then gets their values back. */
#define PERSIST_LARGE (200 * 1024)

static void persist_commands(buf_t *sets, buf_t *set_replies, buf_t *gets, buf_t *get_replies)
{
    static char large[PERSIST_LARGE];
    static const struct {
        const char *key, *value;
        size_t klen, vlen;
    } keys[] = {
        {"plain", "value", 5, 5},
        {"bin\0\r\nkey", "v\0\r\n*1\r\n", 9, 8},
        {"empty", "", 5, 0},
        {"large", large, 5, sizeof large},
    };
    fill_pattern(large, sizeof large, 11);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        add_command(sets, "SET", keys[i].key, keys[i].klen, keys[i].value, keys[i].vlen);
        buf_append_str(set_replies, "+OK\r\n");
        add_command(gets, "GET", keys[i].key, keys[i].klen, NULL, 0);
        add_bulk(get_replies, keys[i].value, keys[i].vlen);
    }
}

/* Keys set before a SIGTERM are there after a restart. */
static void test_restart_keeps_keys(void)
{
    buf_t sets = BUF_INIT, set_replies = BUF_INIT, gets = BUF_INIT, get_replies = BUF_INIT;
    persist_commands(&sets, &set_replies, &gets, &get_replies);
    test_server_t srv;

    START_SERVER(&srv, ARGS("--dbfile", dbfile));
    int fd = CONNECT(srv.port);
    EXPECT_REPLY(fd, "DBSIZE\r\n", ":0\r\n"); /* no file yet: an empty start */
    EXPECT_REPLY_BIN(fd, sets.data, sets.len, set_replies.data, set_replies.len);
    close(fd);
    STOP_SERVER(&srv);

    START_SERVER(&srv, ARGS("--dbfile", dbfile));
    fd = CONNECT(srv.port);
    EXPECT_REPLY(fd, "DBSIZE\r\n", ":4\r\n");
    EXPECT_REPLY_BIN(fd, gets.data, gets.len, get_replies.data, get_replies.len);
    close(fd);
    STOP_SERVER(&srv);
    buf_free(&sets);
    buf_free(&set_replies);
    buf_free(&gets);
    buf_free(&get_replies);
}

#define SAVE_PRELOAD 20000 /* keys written before SAVE */
#define SAVE_WRITERS 4

/* The preloaded keys missing from, or wrong in, s. */
static long long check_preload(const store_t *s)
{
    long long wrong = 0;
    for (int i = 0; i < SAVE_PRELOAD; i++) {
        char key[64], val[64];
        const char *v;
        size_t vlen;
        snprintf(key, sizeof key, "pre:%d", i);
        snprintf(val, sizeof val, "preloaded value number %d", i);
        wrong += store_get(s, key, strlen(key), &v, &vlen) != 0 || vlen != strlen(val) ||
                 memcmp(v, val, vlen) != 0;
    }
    return wrong;
}

/* SAVE while four clients write: every write answered, SAVE answered +OK,
 * and the dump is one instant's snapshot that holds at least everything
 * written before SAVE began. */
static void test_save_during_writes(void)
{
    static writers_t writers;
    test_server_t srv;
    START_SERVER(&srv, ARGS("--dbfile", dbfile));
    int fd = CONNECT(srv.port);

    for (int start = 0; start < SAVE_PRELOAD; start += 1000) {
        buf_t req = BUF_INIT, exp = BUF_INIT;
        for (int i = start; i < start + 1000; i++) {
            buf_printf(&req, "SET pre:%d \"preloaded value number %d\"\r\n", i, i);
            buf_append_str(&exp, "+OK\r\n");
        }
        EXPECT_REPLY_BIN(fd, req.data, req.len, exp.data, exp.len);
        buf_free(&req);
        buf_free(&exp);
    }

    long long before[SAVE_WRITERS] = {0}, after[SAVE_WRITERS];
    CU_ASSERT_EQUAL_FATAL(writers_start(&writers, srv.port, SAVE_WRITERS, 0, NULL), 0);
    /* Every writer is writing before SAVE starts, and still after. */
    CU_ASSERT_EQUAL(writers_progress(&writers, before, 10000), 0);
    for (int i = 0; i < SAVE_WRITERS; i++)
        before[i] = atomic_load(&writers.w[i].sets);
    buf_t reply = BUF_INIT;
    CU_ASSERT_EQUAL(client_send_str(fd, "SAVE\r\n"), 0);
    CU_ASSERT_EQUAL(client_read_reply(fd, &reply, 20000), 0);
    CU_ASSERT(reply.len == 5 && memcmp(reply.data, "+OK\r\n", 5) == 0);
    buf_free(&reply);
    for (int i = 0; i < SAVE_WRITERS; i++)
        after[i] = atomic_load(&writers.w[i].sets);
    CU_ASSERT_EQUAL(writers_progress(&writers, after, 10000), 0);
    writers_stop(&writers);
    CU_ASSERT_EQUAL(writers_errors(&writers), 0);

    /* The dump as SAVE left it: the server is still running. */
    char err[256] = "";
    store_t *s = NULL;
    int rc = dump_load(dbfile, &s, err, sizeof err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    size_t found = 0;
    CU_ASSERT_EQUAL(check_preload(s), 0);
    CU_ASSERT_EQUAL(writers_check_snapshot(&writers, s, before, &found), 0);
    store_free(s);
    close(fd);
    STOP_SERVER(&srv);
}

static void write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(data, 1, len, f), len);
    CU_ASSERT_EQUAL(fclose(f), 0);
}

static int file_equals(const char *path, const char *data, size_t len)
{
    char got[256];
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 0;
    size_t n = fread(got, 1, sizeof got, f);
    fclose(f);
    return n == len && memcmp(got, data, len) == 0;
}

/* A corrupt dump makes the server refuse to start, quickly, and leaves the
 * file alone. */
static void test_corrupt_dump_refused(void)
{
    static const char *const dumps[] = {
        DUMP_HEADER "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nabc",         /* truncated */
        DUMP_HEADER "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*x\r\n", /* a protocol error */
        DUMP_HEADER "*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n",                  /* not SET */
        "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n", /* no header: the format before it */
    };
    for (size_t i = 0; i < sizeof dumps / sizeof dumps[0]; i++) {
        write_file(dbfile, dumps[i], strlen(dumps[i]));
        long long t0 = harness_now_ms();
        int rc = server_run_to_exit(server_binary(), ARGS("--dbfile", dbfile), 5000);
        CU_ASSERT(rc > 0 && rc < 128); /* exited non-zero by itself: not killed, not hung */
        CU_ASSERT(harness_now_ms() - t0 < 3000);
        CU_ASSERT(file_equals(dbfile, dumps[i], strlen(dumps[i])));
    }
}

/* Reads the whole file at path into out (cleared first). Returns 0 or -1. */
static int read_whole(const char *path, buf_t *out)
{
    buf_clear(out);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(out, chunk, n);
    int rc = ferror(f) ? -1 : 0;
    fclose(f);
    return rc;
}

#define DUMP_KEYS 20
#define FLIP_LEN  4096 /* the value of "flip": a pattern found nowhere else */

/* Has the server write a dump of DUMP_KEYS keys "key:N" plus "flip", the
 * way a shutdown writes it, and reads the file into out. */
static void make_dump(buf_t *out)
{
    static char flip[FLIP_LEN];
    fill_pattern(flip, sizeof flip, 23);
    buf_t req = BUF_INIT, exp = BUF_INIT;
    for (int i = 0; i < DUMP_KEYS; i++) {
        buf_printf(&req, "SET key:%d value:%d\r\n", i, i);
        buf_append_str(&exp, "+OK\r\n");
    }
    add_command(&req, "SET", "flip", 4, flip, sizeof flip);
    buf_append_str(&exp, "+OK\r\n");

    test_server_t srv;
    START_SERVER(&srv, ARGS("--dbfile", dbfile));
    int fd = CONNECT(srv.port);
    EXPECT_REPLY_BIN(fd, req.data, req.len, exp.data, exp.len);
    close(fd);
    STOP_SERVER(&srv);
    CU_ASSERT_EQUAL_FATAL(read_whole(dbfile, out), 0);
    buf_free(&req);
    buf_free(&exp);
}

/* The offset just past each whole RESP command of data[0..len) (the dump
 * is made of them, whatever its format): how many, at most max. */
static size_t command_ends(const char *data, size_t len, size_t *ends, size_t max)
{
    resp_parser_t p;
    resp_parser_init(&p);
    size_t off = 0, n = 0;
    while (off < len && n < max) {
        size_t consumed = 0;
        if (resp_parse(&p, data + off, len - off, &consumed) != RESP_COMPLETE)
            break;
        off += consumed;
        ends[n++] = off;
    }
    resp_parser_free(&p);
    return n;
}

/* Writes data[0..len) as the dump and starts a server on it, which must
 * refuse: exit non-zero by itself within 3 s, say why naming the file, and
 * leave the file as it was. what names the case when it does not. */
static void expect_dump_refused(const char *what, const void *data, size_t len)
{
    char log_path[320];
    snprintf(log_path, sizeof log_path, "%s/server.log", dir);
    write_file(dbfile, data, len);
    long long t0 = harness_now_ms();
    int rc = server_run_to_exit_logged(server_binary(), ARGS("--dbfile", dbfile), 3000, log_path);
    long long ms = harness_now_ms() - t0;
    CU_ASSERT(rc > 0 && rc < 128); /* exited non-zero by itself: not killed, not hung */
    CU_ASSERT(ms < 3000);
    CU_ASSERT_EQUAL(server_log_contains(log_path, "refusing to start"), 1);
    CU_ASSERT_EQUAL(server_log_contains(log_path, dbfile), 1);
    buf_t after = BUF_INIT;
    CU_ASSERT_EQUAL(read_whole(dbfile, &after), 0);
    CU_ASSERT(after.len == len && (len == 0 || memcmp(after.data, data, len) == 0));
    if (rc <= 0 || rc >= 128 || server_log_contains(log_path, "refusing to start") != 1) {
        fprintf(stderr, "\n    %s: the server exited with %d after %lld ms\n", what, rc, ms);
        server_log_print(log_path);
    }
    buf_free(&after);
}

/* A dump the server wrote, then damaged the ways a crash, a disk or a
 * person damages one: each is refused whole. */
static void test_damaged_dump_refused(void)
{
    buf_t good = BUF_INIT, bad = BUF_INIT;
    make_dump(&good);

    /* Cut at a command boundary half way through, and inside the last. */
    size_t ends[DUMP_KEYS + 8];
    size_t n = command_ends(good.data, good.len, ends, sizeof ends / sizeof ends[0]);
    CU_ASSERT_FATAL(n >= DUMP_KEYS + 1);
    expect_dump_refused("cut at a command boundary", good.data, ends[n / 2 - 1]);
    expect_dump_refused("cut inside the last command", good.data, good.len - 3);
    expect_dump_refused("an empty file", "", 0);

    /* One byte flipped in a value, and in a key. */
    static char flip[FLIP_LEN];
    fill_pattern(flip, sizeof flip, 23);
    const char *at = memmem(good.data, good.len, flip, sizeof flip);
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    buf_clear(&bad);
    buf_append(&bad, good.data, good.len);
    bad.data[at - good.data + FLIP_LEN / 2] ^= 0x20;
    expect_dump_refused("a byte flipped in a value", bad.data, bad.len);
    at = memmem(good.data, good.len, "key:17\r\n", 8);
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    buf_clear(&bad);
    buf_append(&bad, good.data, good.len);
    bad.data[at - good.data + 1] ^= 0x20; /* key:17 becomes kEy:17 */
    expect_dump_refused("a byte flipped in a key", bad.data, bad.len);

    /* A SET appended, inline and as a multibulk command. */
    static const struct {
        const char *what, *text;
    } appended[] = {
        {"an inline SET appended", "SET extra 1\r\n"},
        {"a SET appended", "*3\r\n$3\r\nSET\r\n$5\r\nextra\r\n$1\r\n1\r\n"},
    };
    for (size_t i = 0; i < sizeof appended / sizeof appended[0]; i++) {
        buf_clear(&bad);
        buf_append(&bad, good.data, good.len);
        buf_append_str(&bad, appended[i].text);
        expect_dump_refused(appended[i].what, bad.data, bad.len);
    }

    /* And the undamaged dump still loads, every key intact. */
    write_file(dbfile, good.data, good.len);
    test_server_t srv;
    START_SERVER(&srv, ARGS("--dbfile", dbfile));
    int fd = CONNECT(srv.port);
    char dbsize[32];
    snprintf(dbsize, sizeof dbsize, ":%d\r\n", DUMP_KEYS + 1);
    EXPECT_REPLY(fd, "DBSIZE\r\n", dbsize);
    EXPECT_REPLY(fd, "GET key:17\r\n", "$8\r\nvalue:17\r\n");
    buf_t get = BUF_INIT, reply = BUF_INIT;
    add_command(&get, "GET", "flip", 4, NULL, 0);
    add_bulk(&reply, flip, sizeof flip);
    EXPECT_REPLY_BIN(fd, get.data, get.len, reply.data, reply.len);
    close(fd);
    STOP_SERVER(&srv);
    buf_free(&get);
    buf_free(&reply);
    buf_free(&bad);
    buf_free(&good);
}

/* A second server on the same --dbfile is refused, and neither deletes
 * what the first one's SAVE is writing nor stops the first one. */
static void test_second_server_refused(void)
{
    char log_path[320], tmp[340];
    snprintf(log_path, sizeof log_path, "%s/second.log", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp-Sav1ng", dbfile); /* as a SAVE in progress names it */

    test_server_t srv;
    START_SERVER(&srv, ARGS("--dbfile", dbfile));
    int fd = CONNECT(srv.port);
    EXPECT_REPLY(fd, "SET k v\r\nSAVE\r\n", "+OK\r\n+OK\r\n");
    write_file(tmp, "half a dump", 11);

    for (int attempt = 0; attempt < 2; attempt++) { /* a refusal leaves the lock in place */
        int rc =
            server_run_to_exit_logged(server_binary(), ARGS("--dbfile", dbfile), 3000, log_path);
        CU_ASSERT(rc > 0 && rc < 128);
        CU_ASSERT_EQUAL(server_log_contains(log_path, "refusing to start"), 1);
        CU_ASSERT_EQUAL(server_log_contains(log_path, "in use by another server"), 1);
        CU_ASSERT_EQUAL(server_log_contains(log_path, dbfile), 1);
        if (rc <= 0 || rc >= 128) {
            fprintf(stderr, "\n    the second server exited with %d\n", rc);
            server_log_print(log_path);
        }
        struct stat st;
        CU_ASSERT_EQUAL(stat(tmp, &st), 0); /* the first server's SAVE is untouched */
    }
    unlink(tmp);

    EXPECT_REPLY(fd, "GET k\r\n", "$1\r\nv\r\n");
    EXPECT_REPLY(fd, "SET k2 v2\r\nSAVE\r\n", "+OK\r\n+OK\r\n");
    close(fd);
    STOP_SERVER(&srv);
    store_t *s = NULL;
    char err[256] = "";
    CU_ASSERT_EQUAL_FATAL(dump_load(dbfile, &s, err, sizeof err), 0);
    CU_ASSERT_EQUAL(store_count(s), 2);
    store_free(s);
}

/* What a SAVE cut short by a crash leaves, <dbfile>.tmp-XXXXXX, is
 * removed at start; every other file is kept. */
static void test_stale_temporaries_removed(void)
{
    static const char *const stale[] = {"dump.resp.tmp-Ab12Cd", "dump.resp.tmp-000000"};
    static const char *const kept[] = {
        "dump.resp.tmp-keep",    /* not six characters */
        "dump.resp.tmp-Ab12Cd7", /* seven */
        "dump.resp.tmp-Ab1.Cd",  /* not mkstemp's alphabet */
        "other.resp.tmp-Ab12Cd", /* another dump's */
        "xdump.resp.tmp-Ab12Cd", "dump.resp.bak",
    };
    char p[400], log_path[320];
    for (size_t i = 0; i < sizeof stale / sizeof stale[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, stale[i]);
        write_file(p, "*3\r\n$3\r\nSET\r\n", 13);
    }
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, kept[i]);
        write_file(p, "keep me", 7);
    }
    snprintf(p, sizeof p, "%s/dump.resp.tmp-Dir123", dir); /* a directory is not a SAVE's */
    CU_ASSERT_EQUAL_FATAL(mkdir(p, 0700), 0);
    snprintf(log_path, sizeof log_path, "%s/server.log", dir);

    test_server_t srv;
    CU_ASSERT_EQUAL_FATAL(
        server_start_logged(&srv, server_binary(), ARGS("--dbfile", dbfile), log_path), 0);
    int fd = CONNECT(srv.port);
    EXPECT_REPLY(fd, "DBSIZE\r\n", ":0\r\n"); /* no dump yet: an empty start */
    close(fd);
    STOP_SERVER(&srv);

    struct stat st;
    for (size_t i = 0; i < sizeof stale / sizeof stale[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, stale[i]);
        CU_ASSERT_NOT_EQUAL(stat(p, &st), 0);
        CU_ASSERT_EQUAL(server_log_contains(log_path, stale[i]), 1);
    }
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, kept[i]);
        CU_ASSERT_EQUAL(stat(p, &st), 0);
    }
    snprintf(p, sizeof p, "%s/dump.resp.tmp-Dir123", dir);
    CU_ASSERT(stat(p, &st) == 0 && S_ISDIR(st.st_mode));
    rmdir(p);
}

/* ==== Shutdown ============================================================ */

/* Whatever runs, the server exits this soon after SIGTERM (issue 11). */
#define STOP_BOUND_MS 2000

/* SIGTERM with idle clients connected: a prompt, clean exit. */
static void test_shutdown_idle_clients(void)
{
    int fds[5];
    test_server_t srv;
    START_SERVER(&srv, NULL);
    CONNECT_MANY(srv.port, fds, 5, 1);
    int half = CONNECT(srv.port); /* and one with half a request */
    CU_ASSERT_EQUAL(client_send_str(half, "*2\r\n$4\r\nECHO\r\n"), 0);
    poll(NULL, 0, 50);

    long long t0 = harness_now_ms();
    STOP_SERVER(&srv);
    /* Idle clients wake at once: no waiting for a grace period. */
    CU_ASSERT(harness_now_ms() - t0 < STOP_BOUND_MS);
    for (int i = 0; i < 5; i++)
        EXPECT_CLOSED(fds[i]);
    client_close_all(fds, 5);
    close(half);
}

/* SIGTERM while the server cannot write to a client that does not read
 * its replies: that client is cut off after a grace period (1 s), the
 * others are not held up by it, and the exit is clean and within
 * STOP_BOUND_MS. */
static void test_shutdown_client_not_reading(void)
{
    const size_t len = 1024 * 1024;
    char *value = malloc(len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(value);
    memset(value, 'n', len);

    test_server_t srv;
    START_SERVER(&srv, NULL);
    int fd = CONNECT(srv.port);
    buf_t req = BUF_INIT;
    add_command(&req, "SET", "big", 3, value, len);
    EXPECT_REPLY_BIN(fd, req.data, req.len, "+OK\r\n", 5);
    buf_clear(&req);
    free(value);
    /* 32 MiB of replies, far more than the socket buffers hold. */
    for (int i = 0; i < 32; i++)
        buf_append_str(&req, "GET big\r\n");
    CU_ASSERT_EQUAL(client_send(fd, req.data, req.len), 0);
    buf_free(&req);
    int idle = CONNECT(srv.port);
    EXPECT_REPLY(idle, "PING\r\n", "+PONG\r\n");
    poll(NULL, 0, 100); /* the server is now stuck writing */

    long long t0 = harness_now_ms();
    kill(srv.pid, SIGTERM);
    EXPECT_CLOSED(idle); /* at once, not after the grace period */
    CU_ASSERT_EQUAL(server_wait(&srv, 10000), 0);
    long long stop_ms = harness_now_ms() - t0;
    CU_ASSERT(stop_ms < STOP_BOUND_MS);
    if (stop_ms >= STOP_BOUND_MS)
        fprintf(stderr, "the server took %lld ms to stop with a client that does not read\n",
                stop_ms);
    close(idle);
    close(fd);
}

/* A client that sends requests faster than the server serves them (DEBUG
 * SLEEP 0.02 every 5 ms, at most 8 unanswered), reading the replies as
 * they come, until the server goes away: the server always has more of its
 * input to read, and never more than 8 x 20 ms of work. */
#define BUSY_OUTSTANDING 8
#define CANCELLED_REPLY  "-ERR command cancelled before it finished (server shutting down)\r\n"

typedef struct busy_client {
    pthread_t tid;
    int fd;
    atomic_llong replies; /* whole replies received */
    int cancelled;        /* shutdown has cut a sleep short: only errors from now on */
    size_t pos;           /* bytes of the current reply received */
    int wrong_reply;      /* a byte that belongs to neither reply */
} busy_client_t;

/* Takes the next byte of the replies: "+OK\r\n" for each sleep that ran to
 * its end and, once shutdown has cut one short, CANCELLED_REPLY for it and
 * for every one after it. Never +OK after an error: that would be a sleep
 * the server claims to have run during its shutdown. */
static void busy_reply_byte(busy_client_t *b, char c)
{
    if (b->pos == 0 && c == '-')
        b->cancelled = 1;
    const char *expected = b->cancelled ? CANCELLED_REPLY : "+OK\r\n";
    b->wrong_reply |= c != expected[b->pos];
    if (expected[++b->pos] == '\0') {
        b->pos = 0;
        atomic_fetch_add(&b->replies, 1);
    }
}

static void *busy_main(void *arg)
{
    busy_client_t *b = arg;
    long long sent = 0;
    long long deadline = harness_now_ms() + 20000;

    while (harness_now_ms() < deadline && !b->wrong_reply) {
        if (sent - atomic_load(&b->replies) < BUSY_OUTSTANDING) {
            if (client_send_str(b->fd, "DEBUG SLEEP 0.02\r\n") != 0)
                break; /* the server is gone */
            sent++;
        }
        if (!client_readable(b->fd, 5))
            continue;
        char in[4096];
        ssize_t n = recv(b->fd, in, sizeof in, 0);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            busy_reply_byte(b, in[i]);
    }
    return NULL;
}

/* SIGTERM while a client keeps sending requests: the server stops reading
 * more of them, answers what it has read (the sleeps it cuts short with an
 * error), and exits 0 promptly. */
static void test_shutdown_busy_client(void)
{
    static busy_client_t busy;
    test_server_t srv;
    START_SERVER(&srv, NULL);

    memset(&busy, 0, sizeof busy);
    busy.fd = CONNECT(srv.port);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&busy.tid, NULL, busy_main, &busy), 0);
    long long deadline = harness_now_ms() + 5000;
    while (atomic_load(&busy.replies) < 10 && harness_now_ms() < deadline)
        poll(NULL, 0, 1);
    CU_ASSERT(atomic_load(&busy.replies) >= 10);

    long long t0 = harness_now_ms();
    STOP_SERVER(&srv);
    long long stop_ms = harness_now_ms() - t0;
    CU_ASSERT(stop_ms < STOP_BOUND_MS);
    if (stop_ms >= STOP_BOUND_MS)
        fprintf(stderr, "the server took %lld ms to stop with a busy client\n", stop_ms);
    pthread_join(busy.tid, NULL);
    close(busy.fd);
    CU_ASSERT_FALSE(busy.wrong_reply);
}

/* ==== Shutdown while a slow command runs ================================== */

/* A supervisor sends SIGTERM and SIGKILLs what has not exited a few
 * seconds later: whatever runs, the server must stop within STOP_BOUND_MS,
 * write its dump, and tell the client of a command it cut short nothing
 * false (an error reply, or a closed connection; never +OK or a digest). */
#define STOP_KEYS 100

/* SETs stop:0 .. stop:STOP_KEYS-1 on fd, every one answered +OK. */
static void set_stop_keys(int fd)
{
    buf_t req = BUF_INIT, exp = BUF_INIT;
    for (int i = 0; i < STOP_KEYS; i++) {
        buf_printf(&req, "SET stop:%d value-%d\r\n", i, i);
        buf_append_str(&exp, "+OK\r\n");
    }
    EXPECT_REPLY_BIN(fd, req.data, req.len, exp.data, exp.len);
    buf_free(&req);
    buf_free(&exp);
}

/* The stop keys missing from, or wrong in, the dump file; -1 when it does
 * not load. */
static long long missing_stop_keys(void)
{
    char err[256] = "";
    store_t *s = NULL;
    if (dump_load(dbfile, &s, err, sizeof err) != 0) {
        fprintf(stderr, "the dump does not load: %s\n", err);
        return -1;
    }
    long long missing = 0;
    for (int i = 0; i < STOP_KEYS; i++) {
        char key[32], val[32];
        const char *v;
        size_t vlen;
        snprintf(key, sizeof key, "stop:%d", i);
        snprintf(val, sizeof val, "value-%d", i);
        missing += store_get(s, key, strlen(key), &v, &vlen) != 0 || vlen != strlen(val) ||
                   memcmp(v, val, vlen) != 0;
    }
    store_free(s);
    return missing;
}

/* SIGTERM while fd's slow command runs: the server exits 0 within
 * STOP_BOUND_MS, fd gets an error reply or a closed connection, and the
 * stop keys are in the dump. */
static void expect_stop_cuts_short(test_server_t *srv, int fd)
{
    long long t0 = harness_now_ms();
    CU_ASSERT_EQUAL_FATAL(kill(srv->pid, SIGTERM), 0);
    int rc = server_wait(srv, EXPECT_STOP_TIMEOUT_MS);
    long long stop_ms = harness_now_ms() - t0;
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT(stop_ms < STOP_BOUND_MS);
    if (stop_ms >= STOP_BOUND_MS)
        fprintf(stderr, "the server took %lld ms to stop (exit %d)\n", stop_ms, rc);

    buf_t reply = BUF_INIT;
    rc = client_read_reply(fd, &reply, 1000);
    CU_ASSERT((rc == 0 && reply.data[0] == '-') || rc == -EPIPE || rc == -ECONNRESET);
    if (rc == 0 && reply.data[0] != '-') {
        char shown[128];
        expect_escape(reply.data, reply.len, shown, sizeof shown);
        fprintf(stderr, "the cut-short command was answered \"%s\"\n", shown);
    }
    buf_free(&reply);
    CU_ASSERT_EQUAL(missing_stop_keys(), 0);
}

/* SIGTERM during DEBUG SLEEP 3600: the sleep ends at once. */
static void test_shutdown_cuts_sleep(void)
{
    test_server_t srv;
    START_SERVER(&srv, ARGS("--dbfile", dbfile));
    int fd = CONNECT(srv.port);
    set_stop_keys(fd);
    int sleeper = CONNECT(srv.port);
    EXPECT_REPLY(sleeper, "PING\r\n", "+PONG\r\n");
    CU_ASSERT_EQUAL(client_send_str(sleeper, "DEBUG SLEEP 3600\r\n"), 0);
    poll(NULL, 0, 200); /* well into the sleep */

    expect_stop_cuts_short(&srv, sleeper);
    close(sleeper);
    close(fd);
}

#define STOP_DIGEST_VLEN (64 * 1024)
#define STOP_DIGEST_MS   4000 /* what the DIGEST would take if left alone */

/* SIGTERM during a DIGEST that would hash for seconds: it is abandoned. */
static void test_shutdown_cuts_digest(void)
{
    char *value = malloc(STOP_DIGEST_VLEN);
    CU_ASSERT_PTR_NOT_NULL_FATAL(value);
    fill_pattern(value, STOP_DIGEST_VLEN, 5);

    test_server_t srv;
    START_SERVER(&srv, ARGS("--dbfile", dbfile));
    int fd = CONNECT(srv.port);
    set_stop_keys(fd);
    buf_t req = BUF_INIT;
    add_command(&req, "SET", "slow", 4, value, STOP_DIGEST_VLEN);
    EXPECT_REPLY_BIN(fd, req.data, req.len, "+OK\r\n", 5);
    buf_free(&req);
    free(value);
    long long rounds = parallel_calibrate_rounds(fd, "slow", STOP_DIGEST_VLEN, STOP_DIGEST_MS);
    CU_ASSERT_FATAL(rounds > 0);

    int hasher = CONNECT(srv.port);
    char request[64];
    snprintf(request, sizeof request, "DIGEST slow %lld\r\n", rounds);
    CU_ASSERT_EQUAL(client_send_str(hasher, request), 0);
    poll(NULL, 0, 200); /* well into the hashing */

    expect_stop_cuts_short(&srv, hasher);
    close(hasher);
    close(fd);
}

/* ==== Registration ======================================================== */

static CU_TestInfo command_tests[] = {
    {"every command, inline", test_commands_inline},
    {"every command, multibulk", test_commands_multibulk},
    {"QUIT", test_quit},
    {"INFO", test_info},
    {"DIGEST", test_digest},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo protocol_tests[] = {
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

static CU_TestInfo client_tests[] = {
    {"50 hiredis clients", test_hiredis_concurrent},
    {"reset mid-request", test_reset_mid_request},
    {"reset with replies pending", test_reset_with_replies_pending},
    {"--max-clients", test_max_clients},
    {"idle connections give back big buffers", test_idle_connections_release_buffers},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo persistence_tests[] = {
    {"restart keeps the keys", test_restart_keeps_keys},
    {"SAVE during writes", test_save_during_writes},
    {"corrupt dump refused", test_corrupt_dump_refused},
    {"damaged dump refused", test_damaged_dump_refused},
    {"second server on the dump refused", test_second_server_refused},
    {"stale temporary files removed", test_stale_temporaries_removed},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo shutdown_tests[] = {
    {"idle clients", test_shutdown_idle_clients},
    {"cuts DEBUG SLEEP 3600 short", test_shutdown_cuts_sleep},
    {"cuts a long DIGEST short", test_shutdown_cuts_digest},
    {"with a busy client", test_shutdown_busy_client},
    {"with a client that does not read", test_shutdown_client_not_reading},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"commands", NULL, NULL, NULL, expect_teardown, command_tests},
    {"protocol", NULL, NULL, NULL, expect_teardown, protocol_tests},
    {"clients", NULL, NULL, NULL, expect_teardown, client_tests},
    {"persistence", NULL, NULL, persistence_setup, persistence_teardown, persistence_tests},
    {"shutdown", NULL, NULL, persistence_setup, persistence_teardown, shutdown_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
