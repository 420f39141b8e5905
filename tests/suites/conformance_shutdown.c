/*
 * The conformance suite, shutdown: SIGTERM ends the server cleanly and
 * within a bound whatever runs: idle, busy and non-reading clients, a long
 * DEBUG SLEEP or DIGEST.
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
#include "support/fixture.h"
#include "support/keyset.h"
#include "support/parallel.h"
#include "support/payload.h"
#include "support/server.h"

#include "buf.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
    payload_command(&req, "SET", "big", 3, value, len);
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

/* The keys each test sets before its SIGTERM: stop:N = value-N. */
static const keyset_t stop_keys = {"stop:", "value-", 0, STOP_KEYS};

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
    CU_ASSERT_EQUAL(keyset_missing_in_dump(fixture_dbfile(), &stop_keys), 0);
}

/* SIGTERM during DEBUG SLEEP 3600: the sleep ends at once. */
static void test_shutdown_cuts_sleep(void)
{
    test_server_t srv;
    START_SERVER(&srv, ARGS("--dbfile", fixture_dbfile()));
    int fd = CONNECT(srv.port);
    KEYSET_SET(fd, &stop_keys, STOP_KEYS);
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
    payload_fill(value, STOP_DIGEST_VLEN, 5);

    test_server_t srv;
    START_SERVER(&srv, ARGS("--dbfile", fixture_dbfile()));
    int fd = CONNECT(srv.port);
    KEYSET_SET(fd, &stop_keys, STOP_KEYS);
    buf_t req = BUF_INIT;
    payload_command(&req, "SET", "slow", 4, value, STOP_DIGEST_VLEN);
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

static CU_TestInfo tests[] = {
    {"idle clients", test_shutdown_idle_clients},
    {"cuts DEBUG SLEEP 3600 short", test_shutdown_cuts_sleep},
    {"cuts a long DIGEST short", test_shutdown_cuts_digest},
    {"with a busy client", test_shutdown_busy_client},
    {"with a client that does not read", test_shutdown_client_not_reading},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"shutdown", NULL, NULL, fixture_setup, fixture_teardown, tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
