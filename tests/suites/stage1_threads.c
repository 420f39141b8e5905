/*
 * stage1-threads: what a thread per connection buys and costs.
 *
 * The cost: a thread for every client, idle or not. The gain: a client
 * that blocks (DEBUG SLEEP) or burns CPU (DIGEST) holds up nobody else,
 * and CPU-bound commands from different clients run in parallel.
 */

#include "harness.h"
#include "support/client.h"
#include "support/expect.h"
#include "support/fixture.h"
#include "support/parallel.h"
#include "support/proc.h"
#include "support/server.h"
#include "support/server_log.h"

#include "buf.h"
#include "digest.h"
#include "log.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define IDLE_CLIENTS 20

/* Every connection gets a thread of its own. */
static void test_threads_grow(void)
{
    int fds[IDLE_CLIENTS];
    test_server_t srv;
    START_SERVER(&srv, NULL);
    int fd = CONNECT(srv.port);

    long long before = INFO_FIELD(fd, "thread_count");
    CONNECT_MANY(srv.port, fds, IDLE_CLIENTS, 1);
    long long during = INFO_FIELD(fd, "thread_count");
    CU_ASSERT(during - before >= IDLE_CLIENTS);
    if (during - before < IDLE_CLIENTS)
        fprintf(stderr, "thread_count: %lld with no idle client, %lld with %d\n", before, during,
                IDLE_CLIENTS);

    client_close_all(fds, IDLE_CLIENTS);
    close(fd);
    STOP_SERVER(&srv);
}

/* A client in DEBUG SLEEP blocks its own thread only: another client's
 * PING, and its GET (which needs the store's lock), are answered at once. */
static void test_sleep_blocks_nobody_else(void)
{
    test_server_t srv;
    START_SERVER(&srv, NULL);
    int sleeper = CONNECT(srv.port);
    int other = CONNECT(srv.port);
    EXPECT_REPLY(sleeper, "PING\r\n", "+PONG\r\n");
    EXPECT_REPLY(other, "PING\r\n", "+PONG\r\n");

    long long t0 = harness_now_ms();
    CU_ASSERT_EQUAL(client_send_str(sleeper, "DEBUG SLEEP 0.5\r\n"), 0);
    poll(NULL, 0, 100); /* well into the sleep */

    long long t1 = harness_now_ms();
    EXPECT_REPLY(other, "PING\r\n", "+PONG\r\n");
    long long ping_ms = harness_now_ms() - t1;
    CU_ASSERT(ping_ms < 50);
    t1 = harness_now_ms();
    EXPECT_REPLY(other, "GET k\r\n", "$-1\r\n");
    long long get_ms = harness_now_ms() - t1;
    CU_ASSERT(get_ms < 50);
    if (ping_ms >= 50 || get_ms >= 50)
        fprintf(stderr, "PING took %lld ms, GET %lld ms during another client's DEBUG SLEEP\n",
                ping_ms, get_ms);
    /* The PING really overlapped the sleep. */
    CU_ASSERT_FALSE(client_readable(sleeper, 0));

    EXPECT_READ(sleeper, "+OK\r\n");
    CU_ASSERT(harness_now_ms() - t0 >= 450);
    close(sleeper);
    close(other);
    STOP_SERVER(&srv);
}

/* ==== DIGEST in parallel ================================================== */

#define DIGEST_VALUE_LEN (256 * 1024)
#define DIGEST_TARGET_MS 300

/* The most server threads seen running at once (proc_threads_running(),
 * sampled every 2 ms) until both fds have a reply to read, or -1. */
static int peak_running_until_replies(pid_t pid, const int fds[2])
{
    int peak = 0;
    long long deadline = harness_now_ms() + 30000;
    while (!(client_readable(fds[0], 0) && client_readable(fds[1], 0))) {
        if (harness_now_ms() > deadline)
            return -1;
        int running = proc_threads_running(pid);
        if (running > peak)
            peak = running;
        poll(NULL, 0, 2);
    }
    return peak;
}

/* Two DIGESTs from two clients run at once, each on its connection's
 * thread: sampled while they hash, the kernel shows two of the server's
 * threads running (or ready to run) at the same moment. A server that ran
 * them one after another (say, behind a lock) would show one, the other
 * asleep on the lock. That holds however busy the machine is, so it is
 * asserted on every run; how much faster two go than one is a measurement,
 * printed here and made in earnest by make tour. (Under TSan its own
 * background thread is sometimes counted too; the release run is the one
 * that would catch a serial server.) */
static void test_digests_run_in_parallel(void)
{
    char *value = malloc(DIGEST_VALUE_LEN);
    CU_ASSERT_PTR_NOT_NULL_FATAL(value);
    memset(value, 'v', DIGEST_VALUE_LEN);

    int fds[2];
    test_server_t srv;
    START_SERVER(&srv, NULL);
    CONNECT_MANY(srv.port, fds, 2, 1);
    buf_t req = BUF_INIT;
    const char *argv[] = {"SET", "big", value};
    size_t lens[] = {3, 3, DIGEST_VALUE_LEN};
    client_format_command(&req, 3, argv, lens);
    EXPECT_REPLY_BIN(fds[0], req.data, req.len, "+OK\r\n", 5);
    buf_free(&req);

    long long rounds = parallel_calibrate_rounds(fds[0], "big", DIGEST_VALUE_LEN, DIGEST_TARGET_MS);
    CU_ASSERT_FATAL(rounds > 0);
    long long one = parallel_digest_ms(fds, 1, "big", rounds);

    char request[96];
    snprintf(request, sizeof request, "DIGEST big %lld\r\n", rounds);
    long long t0 = harness_now_ms();
    CU_ASSERT_EQUAL(client_send_str(fds[0], request), 0);
    CU_ASSERT_EQUAL(client_send_str(fds[1], request), 0);
    int peak = peak_running_until_replies(srv.pid, fds);
    for (int i = 0; i < 2; i++) {
        buf_t reply = BUF_INIT;
        CU_ASSERT_EQUAL(client_read_reply(fds[i], &reply, 30000), 0);
        CU_ASSERT_EQUAL(reply.len, 16 + 7);
        buf_free(&reply);
    }
    long long two = harness_now_ms() - t0;
    fprintf(stderr,
            "(one DIGEST %lld ms, two at once %lld ms; server threads running at once: "
            "up to %d) ",
            one, two, peak);
    CU_ASSERT(peak >= 2);

    free(value);
    client_close_all(fds, 2);
    STOP_SERVER(&srv);
}

/* Out of file descriptors, the accept loop retries every 100 ms, and every
 * retry fails again for as long as a client waits: the log gets one line a
 * second, with a count, not ten. The client is served once descriptors are
 * free again. (Stage 2 shares this accept loop.) */
static void test_accept_errors_rate_limited(void)
{
    const char *log_path = fixture_path("server.log");
    test_server_t srv;
    START_SERVER_LOGGED(&srv, NULL, log_path);
    int fd = CONNECT(srv.port);
    EXPECT_REPLY(fd, "PING\r\n", "+PONG\r\n");

    /* No descriptor left for the next accept(). */
    struct rlimit old, tight;
    int next_fd = proc_lowest_free_fd(srv.pid);
    CU_ASSERT_FATAL(next_fd > 0);
    CU_ASSERT_EQUAL_FATAL(prlimit(srv.pid, RLIMIT_NOFILE, NULL, &old), 0);
    tight = old;
    tight.rlim_cur = (rlim_t)next_fd;
    CU_ASSERT_EQUAL_FATAL(prlimit(srv.pid, RLIMIT_NOFILE, &tight, NULL), 0);

    long long t0 = harness_now_ms();
    int waiting = CONNECT(srv.port); /* the kernel completes it; accept() fails */
    CU_ASSERT_EQUAL(client_send_str(waiting, "PING\r\n"), 0);
    EXPECT_SILENT(waiting, 2500);
    CU_ASSERT_EQUAL(prlimit(srv.pid, RLIMIT_NOFILE, &old, NULL), 0);
    EXPECT_READ(waiting, "+PONG\r\n");
    long long elapsed_ms = harness_now_ms() - t0;
    close(waiting);
    close(fd);
    STOP_SERVER(&srv);

    char *text = server_log_read(log_path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    int lines = 0, counted = 0;
    for (const char *p = text; (p = strstr(p, "accept: ")) != NULL; p++) {
        const char *eol = strchr(p, '\n');
        const char *count = strstr(p, "similar messages suppressed");
        lines++;
        counted += count != NULL && (eol == NULL || count < eol);
    }
    CU_ASSERT(lines >= 1);
    CU_ASSERT(lines <= elapsed_ms / LOG_LIMIT_MS + 2);
    CU_ASSERT(counted >= 1);
    if (lines > elapsed_ms / LOG_LIMIT_MS + 2 || counted < 1) {
        fprintf(stderr, "%d accept warnings in %lld ms, %d with a count\n", lines, elapsed_ms,
                counted);
        if (lines < 40)
            server_log_print(log_path);
    }
    free(text);
}

/* ==== Registration ======================================================== */

static CU_TestInfo tests[] = {
    {"a thread per connection", test_threads_grow},
    {"DEBUG SLEEP blocks nobody else", test_sleep_blocks_nobody_else},
    {"DIGESTs run in parallel", test_digests_run_in_parallel},
    {"accept errors: a line a second", test_accept_errors_rate_limited},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"stage1-threads", NULL, NULL, fixture_setup, fixture_teardown, tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
