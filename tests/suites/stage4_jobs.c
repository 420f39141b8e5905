/*
 * stage4-offload: the pool's size and the bound on jobs. --threads sizes
 * libuv's pool; at most JOBS_MAX slow commands are in flight, the rest
 * wait for a slot, and the jobs of clients gone are cancelled.
 */

#include "harness.h"
#include "support/client.h"
#include "support/expect.h"
#include "support/fixture.h"
#include "support/offload.h"
#include "support/payload.h"
#include "support/server.h"

#include "buf.h"

#include <poll.h>
#include <stdio.h>
#include <unistd.h>

/* ==== The pool's size and the bound on jobs ===================================== */

/* --threads sets the size of libuv's pool, which starts with the first
 * slow command: one loop thread before, one plus the workers after. */
static void test_threads_option(void)
{
    test_server_t srv;
    START_SERVER(&srv, ARGS("--threads", "3"));
    int fd = CONNECT(srv.port);
    CU_ASSERT_EQUAL(INFO_FIELD(fd, "threadpool_size"), 3);
    CU_ASSERT_EQUAL(INFO_FIELD(fd, "thread_count"), 1);
    EXPECT_REPLY(fd, "DEBUG SLEEP 0\r\n", "+OK\r\n");
    long long threads = INFO_FIELD(fd, "thread_count");
    CU_ASSERT_EQUAL(threads, 1 + 3 + TSAN_THREADS);
    if (threads != 1 + 3 + TSAN_THREADS)
        fprintf(stderr, "thread_count %lld with --threads 3\n", threads);
    close(fd);
    STOP_SERVER(&srv);
}

#define BOUND_CLIENTS 80

/* More slow commands than JOBS_MAX at once: the excess waits for a slot,
 * jobs_in_flight never passes 64, and every client gets its reply. */
static void test_jobs_in_flight_bounded(void)
{
    int fds[BOUND_CLIENTS];
    test_server_t srv;
    START_SERVER(&srv, ARGS("--threads", "4"));
    CONNECT_MANY(srv.port, fds, BOUND_CLIENTS, 1);
    int watcher = CONNECT(srv.port);

    for (int i = 0; i < BOUND_CLIENTS; i++)
        CU_ASSERT_EQUAL(client_send_str(fds[i], "DEBUG SLEEP 0.1\r\n"), 0);
    long long most = 0, now = 0;
    long long deadline = harness_now_ms() + 15000;
    do {
        now = INFO_FIELD(watcher, "jobs_in_flight");
        most = now > most ? now : most;
        poll(NULL, 0, 5);
    } while (now > 0 && harness_now_ms() < deadline);
    CU_ASSERT_EQUAL(now, 0);
    CU_ASSERT_EQUAL(most, JOBS_MAX);
    if (most != JOBS_MAX)
        fprintf(stderr, "jobs_in_flight peaked at %lld\n", most);
    for (int i = 0; i < BOUND_CLIENTS; i++)
        if (!EXPECT_READ(fds[i], "+OK\r\n"))
            break;

    client_close_all(fds, BOUND_CLIENTS);
    close(watcher);
    STOP_SERVER(&srv);
}

#define SLOT_HOLDERS 64
#define SLOT_WAITERS 70

/* While every job slot is taken, a slow command whose arguments are wrong
 * is answered at once: its arguments are checked when it arrives, so it
 * never waits for a slot, let alone takes one. */
static void test_slot_waiters_with_bad_arguments(void)
{
    int holders[SLOT_HOLDERS], waiters[SLOT_WAITERS];
    test_server_t srv;
    START_SERVER(&srv, ARGS("--threads", "64"));
    CONNECT_MANY(srv.port, holders, SLOT_HOLDERS, 1);
    CONNECT_MANY(srv.port, waiters, SLOT_WAITERS, 1);
    int watcher = CONNECT(srv.port);

    for (int i = 0; i < SLOT_HOLDERS; i++)
        CU_ASSERT_EQUAL(client_send_str(holders[i], "DEBUG SLEEP 2\r\n"), 0);
    EXPECT_INFO_REACHES(watcher, "jobs_in_flight", JOBS_MAX, 5000);
    for (int i = 0; i < SLOT_WAITERS; i++)
        CU_ASSERT_EQUAL(client_send_str(waiters[i], "DEBUG SLEEP soon\r\n"), 0);

    long long start = harness_now_ms();
    int answered = 0;
    for (int i = 0; i < SLOT_WAITERS; i++) {
        buf_t reply = BUF_INIT;
        if (client_read_reply(waiters[i], &reply, 3000) == 0 && reply.len > 0 &&
            reply.data[0] == '-')
            answered++;
        buf_free(&reply);
    }
    long long waited = harness_now_ms() - start;
    CU_ASSERT_EQUAL(answered, SLOT_WAITERS);
    if (answered != SLOT_WAITERS)
        fprintf(stderr, "%d of %d slot waiters answered\n", answered, SLOT_WAITERS);
    CU_ASSERT(waited < 1500); /* not after the 2 s sleeps that hold the slots */
    if (waited >= 1500)
        fprintf(stderr, "errors took %lld ms: they waited for a slot\n", waited);
    EXPECT_INFO_REACHES(watcher, "jobs_in_flight", JOBS_MAX, 1000);
    EXPECT_REPLY(watcher, "PING\r\n", "+PONG\r\n");
    for (int i = 0; i < SLOT_HOLDERS; i++)
        if (!EXPECT_READ(holders[i], "+OK\r\n"))
            break;

    client_close_all(holders, SLOT_HOLDERS);
    client_close_all(waiters, SLOT_WAITERS);
    close(watcher);
    STOP_SERVER(&srv);
}

#define GONE_CLIENTS   12    /* with --threads 2: two jobs running, ten queued */
#define LONG_DIGEST    65536 /* rounds of DIGEST_VALUE_LEN: 4 GB hashed, seconds */
#define GONE_CANCEL_MS 3000  /* for every job of a client gone to end */

/* Clients that reset while their long DIGESTs run or wait in the pool's
 * queue: the server, still watching their sockets while their jobs are in
 * flight, sees the reset and cancels the work for nobody, the queued jobs
 * before they start and the running ones within their next look at the
 * cancel flag. Soon no job is in flight, no worker busy, and it serves. */
static void test_gone_clients_jobs_cancelled(void)
{
    int fds[GONE_CLIENTS];
    test_server_t srv;
    START_SERVER(&srv, ARGS("--threads", "2"));
    int watcher = CONNECT(srv.port);
    payload_set(watcher, "big", DIGEST_VALUE_LEN, 'g');
    CONNECT_MANY(srv.port, fds, GONE_CLIENTS, 1);
    char request[64];
    snprintf(request, sizeof request, "DIGEST big %d\r\n", LONG_DIGEST);
    for (int i = 0; i < GONE_CLIENTS; i++)
        CU_ASSERT_EQUAL(client_send_str(fds[i], request), 0);
    EXPECT_INFO_REACHES(watcher, "jobs_in_flight", GONE_CLIENTS, 5000);
    EXPECT_INFO_REACHES(watcher, "workers_busy", 2, 5000);

    for (int i = 0; i < GONE_CLIENTS; i++) {
        client_reset(fds[i]);
        fds[i] = -1;
    }
    EXPECT_INFO_REACHES(watcher, "jobs_in_flight", 0, GONE_CANCEL_MS);
    EXPECT_INFO_REACHES(watcher, "workers_busy", 0, 1000);
    EXPECT_INFO_REACHES(watcher, "connected_clients", 1, 1000);
    char digest[32];
    payload_digest_of_fill(digest, DIGEST_VALUE_LEN, 'g', 1);
    EXPECT_REPLY(watcher, "DIGEST big 1\r\n", digest);
    close(watcher);
    STOP_SERVER(&srv);
}

/* ==== Registration ================================================================== */

static CU_TestInfo tests[] = {
    {"--threads sets the pool size", test_threads_option},
    {"jobs in flight are bounded", test_jobs_in_flight_bounded},
    {"bad arguments do not wait for a slot", test_slot_waiters_with_bad_arguments},
    {"jobs of clients gone are cancelled", test_gone_clients_jobs_cancelled},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"stage4-offload: the pool and the bound on jobs", NULL, NULL, fixture_setup, fixture_teardown,
     tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
