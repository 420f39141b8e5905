/*
 * stage4-offload: shutdown with jobs queued and running. SIGTERM cancels
 * the queued jobs, abandons the running ones, writes the dump and exits
 * promptly; no client is told a result its command did not get.
 */

#include "harness.h"
#include "support/client.h"
#include "support/expect.h"
#include "support/fixture.h"
#include "support/keyset.h"
#include "support/offload.h"
#include "support/payload.h"
#include "support/server.h"

#include "buf.h"
#include "dump.h"
#include "store.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ==== Shutdown ================================================================== */

/* Reads one reply, or nothing when the server closes first. Returns the
 * reply's bytes in out (empty when none came); 0 when the connection then
 * closed within timeout_ms, or a negative errno. */
static int reply_then_closed(int fd, buf_t *out, int timeout_ms)
{
    int rc = client_read_reply(fd, out, timeout_ms);
    if (rc == -EPIPE || rc == -ECONNRESET)
        return out->len == 0 ? 0 : rc; /* closed without a (whole) reply */
    if (rc != 0)
        return rc;
    return client_wait_closed(fd, timeout_ms);
}

#define CANCELLED "-ERR command cancelled before it finished (server shutting down)\r\n"

/* True when what a client got at shutdown is no lie: the reply expected
 * (a job that finished), the cancel error, or nothing before the close. */
static int honest_end(int fd, const char *expected)
{
    buf_t reply = BUF_INIT;
    int rc = reply_then_closed(fd, &reply, 2000);
    buf_append(&reply, "", 1);
    int ok = rc == 0 && (reply.len == 1 || strcmp(reply.data, CANCELLED) == 0 ||
                         (expected != NULL && strcmp(reply.data, expected) == 0));
    if (!ok)
        fprintf(stderr, "at shutdown, a client got \"%s\" (%s)\n", reply.data, strerror(-rc));
    buf_free(&reply);
    return ok;
}

#define CANCEL_CLIENTS 6    /* with --threads 2: two jobs running, four queued */
#define SHUTDOWN_MS    2000 /* whatever is running */

/* SIGTERM while a DEBUG SLEEP 3600 and a long DIGEST run and four more
 * DIGESTs wait in the pool's queue: the queued ones never run, the running
 * ones are abandoned, the dump is written and the server exits within
 * 2 s; each client gets the cancel error or a bare close, never a result. */
static void test_shutdown_cancels_jobs(void)
{
    const char *dbfile = fixture_path("cancel.resp");
    int fds[CANCEL_CLIENTS];
    test_server_t srv;
    START_SERVER(&srv, ARGS("--threads", "2", "--dbfile", dbfile));
    int watcher = CONNECT(srv.port);
    payload_set(watcher, "big", DIGEST_VALUE_LEN, 'c');
    EXPECT_REPLY(watcher, "SET kept 1\r\n", "+OK\r\n");
    CONNECT_MANY(srv.port, fds, CANCEL_CLIENTS, 1);
    char request[64];
    snprintf(request, sizeof request, "DIGEST big %d\r\n", LONG_DIGEST);
    CU_ASSERT_EQUAL(client_send_str(fds[0], "DEBUG SLEEP 3600\r\n"), 0);
    for (int i = 1; i < CANCEL_CLIENTS; i++)
        CU_ASSERT_EQUAL(client_send_str(fds[i], request), 0);
    EXPECT_INFO_REACHES(watcher, "jobs_in_flight", CANCEL_CLIENTS, 5000);
    EXPECT_INFO_REACHES(watcher, "workers_busy", 2, 5000);

    long long t0 = harness_now_ms();
    CU_ASSERT_EQUAL(server_stop(&srv, SIGTERM, 10000), 0);
    long long took = harness_now_ms() - t0;
    fprintf(stderr, "(exit %lld ms after SIGTERM) ", took);
    CU_ASSERT(took < SHUTDOWN_MS + EXIT_SLACK_MS);
    int honest = 0;
    for (int i = 0; i < CANCEL_CLIENTS; i++)
        honest += honest_end(fds[i], NULL);
    CU_ASSERT_EQUAL(honest, CANCEL_CLIENTS);

    store_t *st = NULL;
    char err[256] = "";
    CU_ASSERT_EQUAL(dump_load(dbfile, &st, err, sizeof err), 0);
    if (st != NULL) {
        CU_ASSERT_EQUAL(store_count(st), 2); /* big and kept */
        store_free(st);
    }
    client_close_all(fds, CANCEL_CLIENTS);
    close(watcher);
}

#define SHUTDOWN_CLIENTS 6

/* SIGTERM with two jobs running and four queued: the queued ones are
 * cancelled, the running ones stop early (or finish, if they were about
 * to), and the server exits 0 at once. Each client gets its reply, the
 * cancel error or none, then the close. */
static void test_shutdown_with_jobs(void)
{
    int fds[SHUTDOWN_CLIENTS];
    test_server_t srv;
    START_SERVER(&srv, ARGS("--threads", "2"));
    CONNECT_MANY(srv.port, fds, SHUTDOWN_CLIENTS, 1);
    int watcher = CONNECT(srv.port);
    for (int i = 0; i < SHUTDOWN_CLIENTS; i++)
        CU_ASSERT_EQUAL(client_send_str(fds[i], "DEBUG SLEEP 1\r\n"), 0);
    EXPECT_INFO_REACHES(watcher, "jobs_in_flight", SHUTDOWN_CLIENTS, 5000);

    long long t0 = harness_now_ms();
    CU_ASSERT_EQUAL(server_stop(&srv, SIGTERM, 5000), 0);
    long long took = harness_now_ms() - t0;
    CU_ASSERT(took < 3000 + EXIT_SLACK_MS);
    int honest = 0;
    for (int i = 0; i < SHUTDOWN_CLIENTS; i++)
        honest += honest_end(fds[i], "+OK\r\n");
    CU_ASSERT_EQUAL(honest, SHUTDOWN_CLIENTS);
    client_close_all(fds, SHUTDOWN_CLIENTS);
    close(watcher);
}

/* --lock-strategy queue: a SAVE still waiting for the queue lock when
 * SIGTERM comes is dropped with the other queued jobs; it must not write a
 * dump of a store it never read (an empty file over the good one). A
 * client that does not read its replies keeps the shutdown going for its
 * grace period, long enough to look at the file in between. */
static void test_shutdown_with_save_waiting_for_lock(void)
{
    const char *dbfile = fixture_path("queued-save.resp");
    test_server_t srv;
    START_SERVER(&srv, ARGS("--threads", "1", "--lock-strategy", "queue", "--dbfile", dbfile));
    int s = CONNECT(srv.port);
    KEYSET_SET(s, (&(keyset_t){"k", "v", 0, 10}), 1);
    payload_set(s, "big", MIB, 'b');
    EXPECT_REPLY(s, "SAVE\r\n", "+OK\r\n");

    int slow_reader = CONNECT(srv.port); /* never reads: draining, 5 s */
    buf_t gets = BUF_INIT;
    for (int i = 0; i < 16; i++)
        buf_append_str(&gets, "GET big\r\n");
    CU_ASSERT_EQUAL(client_send(slow_reader, gets.data, gets.len), 0);
    buf_free(&gets);
    int sleeper = CONNECT(srv.port);
    CU_ASSERT_EQUAL(client_send_str(sleeper, "DEBUG SLEEP 0.5\r\n"), 0); /* the only worker */
    EXPECT_INFO_REACHES(s, "jobs_in_flight", 1, 5000);
    int saver1 = CONNECT(srv.port);
    CU_ASSERT_EQUAL(client_send_str(saver1, "SAVE\r\n"), 0); /* queue lock, then the pool queue */
    EXPECT_INFO_REACHES(s, "jobs_in_flight", 2, 5000);
    int saver2 = CONNECT(srv.port);
    CU_ASSERT_EQUAL(client_send_str(saver2, "SAVE\r\n"), 0); /* waits for the queue lock */
    EXPECT_INFO_REACHES(s, "jobs_in_flight", 3, 5000);

    CU_ASSERT_EQUAL(kill(srv.pid, SIGTERM), 0);
    poll(NULL, 0, 1500); /* the sleep is over, any job has run; still draining */
    store_t *st = NULL;
    char err[256] = "";
    int rc = dump_load(dbfile, &st, err, sizeof err);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc == 0) {
        CU_ASSERT_EQUAL(store_count(st), 11);
        if (store_count(st) != 11)
            fprintf(stderr, "the dump holds %zu keys during shutdown, not 11\n", store_count(st));
        store_free(st);
    }
    buf_t reply = BUF_INIT;
    client_read_reply(saver2, &reply, 100);
    if (reply.len > 0)
        fprintf(stderr, "(the waiting SAVE got \"%.*s\") ", (int)reply.len - 2, reply.data);
    buf_free(&reply);

    CU_ASSERT_EQUAL(server_wait(&srv, 10000), 0);
    rc = dump_load(dbfile, &st, err, sizeof err);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc == 0) {
        CU_ASSERT_EQUAL(store_count(st), 11); /* the save on the way out */
        store_free(st);
    }
    close(s);
    close(slow_reader);
    close(sleeper);
    close(saver1);
    close(saver2);
}

/* ==== Registration ================================================================== */

static CU_TestInfo tests[] = {
    {"shutdown with jobs queued and running", test_shutdown_with_jobs},
    {"shutdown cancels jobs: within 2 s, dump written", test_shutdown_cancels_jobs},
    {"shutdown with a SAVE waiting for the lock", test_shutdown_with_save_waiting_for_lock},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"stage4-offload: shutdown", NULL, NULL, fixture_setup, fixture_teardown, tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
