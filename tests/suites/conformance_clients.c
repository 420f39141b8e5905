/*
 * The conformance suite, clients: many clients at once, clients that reset
 * mid-request or with replies pending, --max-clients, and the memory idle
 * connections give back.
 *
 * The conformance suite is what every stage must do, whatever its
 * concurrency model: it runs against the server binary named on the
 * command line (see tests/stages.mk) and tests only behaviour common to
 * all four stages, one topic per file (conformance_commands.c,
 * _protocol.c, _clients.c, _persistence.c, _shutdown.c).
 *
 * Every test starts its own server with --port 0 and ends by stopping it
 * with SIGTERM, asserting a clean exit 0.
 */

#include "harness.h"
#include "support/client.h"
#include "support/expect.h"
#include "support/hiredis_client.h"
#include "support/payload.h"
#include "support/proc.h"
#include "support/server.h"

#include "buf.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    payload_fill(value, len, 3);

    test_server_t srv;
    START_SERVER(&srv, NULL);
    int other = CONNECT(srv.port);
    buf_t req = BUF_INIT;
    payload_command(&req, "SET", "big", 3, value, len);
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
    payload_fill(value, BIG_VALUE, 5);

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
        payload_command(&req, "SET", key, (size_t)klen, value, BIG_VALUE);
        EXPECT_REPLY_BIN(fds[i], req.data, req.len, "+OK\r\n", 5);
        buf_clear(&req);
        payload_command(&req, "GET", key, (size_t)klen, NULL, 0);
        buf_t exp = BUF_INIT;
        payload_bulk(&exp, value, BIG_VALUE);
        EXPECT_REPLY_BIN(fds[i], req.data, req.len, exp.data, exp.len);
        buf_free(&exp);
        buf_clear(&req);
        payload_command(&req, "DEL", key, (size_t)klen, NULL, 0);
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

/* ==== Registration ======================================================== */

static CU_TestInfo tests[] = {
    {"50 hiredis clients", test_hiredis_concurrent},
    {"reset mid-request", test_reset_mid_request},
    {"reset with replies pending", test_reset_with_replies_pending},
    {"--max-clients", test_max_clients},
    {"idle connections give back big buffers", test_idle_connections_release_buffers},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"clients", NULL, NULL, NULL, expect_teardown, tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
