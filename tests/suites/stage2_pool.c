/*
 * stage2-pool: a fixed pool of workers, each serving one connection to
 * its end, fed by a bounded queue.
 *
 * The gain over stage 1: the thread count is fixed, however many clients
 * connect. The characteristic failure: idle clients hold every worker, so
 * a new client waits, unanswered, until one of them leaves; and once the
 * queue is full too, new clients are refused.
 */

#include "harness.h"
#include "support/client.h"
#include "support/expect.h"
#include "support/fixture.h"
#include "support/parallel.h"
#include "support/server.h"
#include "support/server_log.h"

#include "log.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define QUEUE_CAPACITY 256 /* stage2-pool/server.c */
#define BUSY_REPLY     "-ERR server busy: every worker is taken and the queue is full\r\n"

/* With both workers held by idle clients, a third client's PING waits
 * until one of them leaves, then is answered promptly. */
static void test_idle_clients_starve_a_new_one(void)
{
    int held[2];
    test_server_t srv;
    START_SERVER(&srv, ARGS("--threads", "2"));
    CONNECT_MANY(srv.port, held, 2, 1);

    int fd = CONNECT(srv.port);
    CU_ASSERT_EQUAL(client_send_str(fd, "PING\r\n"), 0);
    EXPECT_SILENT(fd, 300);

    close(held[0]);
    held[0] = -1;
    long long t0 = harness_now_ms();
    EXPECT_READ(fd, "+PONG\r\n");
    CU_ASSERT(harness_now_ms() - t0 < 2000);
    EXPECT_REPLY(fd, "PING\r\n", "+PONG\r\n");

    close(fd);
    client_close_all(held, 2);
    STOP_SERVER(&srv);
}

/* INFO counts the busy workers and the clients waiting in the queue. */
static void test_info_pool_stats(void)
{
    int queued[2];
    test_server_t srv;
    START_SERVER(&srv, ARGS("--threads", "2"));
    int a = CONNECT(srv.port);
    CU_ASSERT_EQUAL(INFO_FIELD(a, "pool_workers"), 2);
    CU_ASSERT_EQUAL(INFO_FIELD(a, "pool_workers_busy"), 1);
    CU_ASSERT_EQUAL(INFO_FIELD(a, "pool_queued_clients"), 0);
    CU_ASSERT_EQUAL(INFO_FIELD(a, "pool_queue_capacity"), QUEUE_CAPACITY);

    int b = CONNECT(srv.port);
    EXPECT_REPLY(b, "PING\r\n", "+PONG\r\n");
    CU_ASSERT_EQUAL(INFO_FIELD(a, "pool_workers_busy"), 2);

    CONNECT_MANY(srv.port, queued, 2, 0);
    EXPECT_INFO_REACHES(a, "pool_queued_clients", 2, 3000);
    CU_ASSERT_EQUAL(INFO_FIELD(a, "pool_workers_busy"), 2);
    CU_ASSERT_EQUAL(INFO_FIELD(a, "connected_clients"), 4);

    /* b leaves: its worker takes the first queued client. */
    close(b);
    EXPECT_INFO_REACHES(a, "pool_queued_clients", 1, 3000);
    CU_ASSERT_EQUAL(INFO_FIELD(a, "pool_workers_busy"), 2);
    EXPECT_REPLY(queued[0], "PING\r\n", "+PONG\r\n");

    client_close_all(queued, 2);
    close(a);
    STOP_SERVER(&srv);
}

#define IDLE_CLIENTS 20

/* The pool does not grow: 20 idle clients add no thread. */
static void test_pool_does_not_grow(void)
{
    int fds[IDLE_CLIENTS];
    test_server_t srv;
    START_SERVER(&srv, ARGS("--threads", "2"));
    int fd = CONNECT(srv.port);

    long long before = INFO_FIELD(fd, "thread_count");
    CONNECT_MANY(srv.port, fds, IDLE_CLIENTS, 0);
    /* fd holds a worker, the first idle client the other: 19 wait. */
    EXPECT_INFO_REACHES(fd, "pool_queued_clients", IDLE_CLIENTS - 1, 3000);
    CU_ASSERT_EQUAL(INFO_FIELD(fd, "thread_count"), before);

    client_close_all(fds, IDLE_CLIENTS);
    close(fd);
    STOP_SERVER(&srv);
}

/* Both workers held and the queue full: the next client is refused with
 * an error and closed, rather than left waiting. SIGTERM then ends the
 * server promptly, queued clients and all. */
static void test_queue_full_refusal(void)
{
    static int queued[QUEUE_CAPACITY];
    int held[2];
    test_server_t srv;
    START_SERVER(&srv, ARGS("--threads", "2"));
    CONNECT_MANY(srv.port, held, 2, 1);
    /* The server accepts in order, so these fill the queue before the
     * next connection is accepted. */
    CONNECT_MANY(srv.port, queued, QUEUE_CAPACITY, 0);

    int fd = CONNECT(srv.port);
    EXPECT_READ(fd, BUSY_REPLY);
    EXPECT_CLOSED(fd);
    close(fd);
    /* The held clients are still served. */
    EXPECT_REPLY(held[0], "PING\r\n", "+PONG\r\n");

    long long t0 = harness_now_ms();
    STOP_SERVER(&srv);
    CU_ASSERT(harness_now_ms() - t0 < 3000);
    client_close_all(queued, QUEUE_CAPACITY);
    client_close_all(held, 2);
}

/* Connects one client and expects it refused as busy. Returns 1 when it
 * was, 0 otherwise. */
static int refused_as_busy(int port)
{
    char reply[sizeof BUSY_REPLY - 1];
    int fd = client_connect(port);
    if (fd < 0)
        return 0;
    int rc = client_recv_exact(fd, reply, sizeof reply, CLIENT_TIMEOUT_MS);
    close(fd);
    return rc == 0 && memcmp(reply, BUSY_REPLY, sizeof reply) == 0;
}

#define REFUSALS 3000

/* Thousands of clients refused in a burst cost the log a handful of lines
 * (at most one per LOG_LIMIT_MS), and together they count every refusal. */
static void test_refusals_rate_limited(void)
{
    static int queued[QUEUE_CAPACITY];
    const char *log_path = fixture_path("server.log");
    test_server_t srv;
    START_SERVER_LOGGED(&srv, ARGS("--threads", "1"), log_path);
    int held = CONNECT(srv.port);
    EXPECT_REPLY(held, "PING\r\n", "+PONG\r\n");
    CONNECT_MANY(srv.port, queued, QUEUE_CAPACITY, 0);
    EXPECT_INFO_REACHES(held, "pool_queued_clients", QUEUE_CAPACITY, 5000);

    long long t0 = harness_now_ms();
    int refused = 0, tries = 0;
    while (tries < REFUSALS && harness_now_ms() - t0 < 15000) {
        refused += refused_as_busy(srv.port);
        tries++;
    }
    CU_ASSERT_EQUAL(refused, tries);
    /* One more after a quiet interval: its line reports the last ones. */
    poll(NULL, 0, LOG_LIMIT_MS + 100);
    refused += refused_as_busy(srv.port);
    long long elapsed_ms = harness_now_ms() - t0;
    EXPECT_REPLY(held, "PING\r\n", "+PONG\r\n");
    STOP_SERVER(&srv);
    client_close_all(queued, QUEUE_CAPACITY);
    close(held);

    char *text = server_log_read(log_path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    long long lines = 0, suppressed = 0;
    for (const char *p = text; (p = strstr(p, "refusing a client: ")) != NULL; p++) {
        lines++;
        const char *eol = strchr(p, '\n');
        const char *count = strstr(p, " (");
        unsigned long n;
        if (count != NULL && (eol == NULL || count < eol) &&
            sscanf(count, " (%lu similar messages suppressed", &n) == 1)
            suppressed += (long long)n;
    }
    CU_ASSERT(lines >= 2);
    CU_ASSERT(lines <= elapsed_ms / LOG_LIMIT_MS + 2);
    CU_ASSERT(suppressed > 0);
    CU_ASSERT_EQUAL(lines + suppressed, refused);
    if (lines > elapsed_ms / LOG_LIMIT_MS + 2 || lines + suppressed != refused) {
        fprintf(stderr, "%d refusals in %lld ms: %lld log lines, %lld counted as suppressed\n",
                refused, elapsed_ms, lines, suppressed);
        if (lines < 20)
            server_log_print(log_path);
    }
    free(text);
}

/* SIGTERM with clients waiting in the queue, each with a request sent:
 * a prompt, clean exit, and every connection closed. */
static void test_shutdown_with_queued_clients(void)
{
    int held[2], queued[10];
    test_server_t srv;
    START_SERVER(&srv, ARGS("--threads", "2"));
    CONNECT_MANY(srv.port, held, 2, 1);
    CONNECT_MANY(srv.port, queued, 10, 0);
    for (int i = 0; i < 10; i++)
        CU_ASSERT_EQUAL(client_send_str(queued[i], "PING\r\n"), 0);
    EXPECT_SILENT(queued[9], 100);

    long long t0 = harness_now_ms();
    STOP_SERVER(&srv);
    CU_ASSERT(harness_now_ms() - t0 < 3000);
    client_close_all(queued, 10);
    client_close_all(held, 2);
}

/* ==== Registration ======================================================== */

static CU_TestInfo tests[] = {
    {"idle clients starve a new one", test_idle_clients_starve_a_new_one},
    {"INFO pool statistics", test_info_pool_stats},
    {"the pool does not grow", test_pool_does_not_grow},
    {"queue full: refused", test_queue_full_refusal},
    {"refusals: a handful of log lines", test_refusals_rate_limited},
    {"shutdown with queued clients", test_shutdown_with_queued_clients},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"stage2-pool", NULL, NULL, fixture_setup, fixture_teardown, tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
