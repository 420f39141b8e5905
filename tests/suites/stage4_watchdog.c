/*
 * stage4-offload: the watchdog. The pitfall switches build the two lock
 * mistakes in on purpose (a mutex held across a callback, a lock held for
 * a whole job); the watchdog must report each within its bound, and end
 * the server at a deadlock. A slow lock holder that makes progress looks
 * like the second trap and is not one: it is reported and waited out.
 */

#include "harness.h"
#include "support/client.h"
#include "support/expect.h"
#include "support/fixture.h"
#include "support/keyset.h"
#include "support/offload.h"
#include "support/payload.h"
#include "support/server.h"
#include "support/server_log.h"

#include "buf.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

/* ==== The pitfalls, caught by the watchdog ========================================= */

#define PITFALL_VALUE_LEN 100

/* Waits for a server that must die of its watchdog. Returns its exit
 * status; prints its log when the status or the log is not as expected. */
static void expect_watchdog(test_server_t *s, const char *log, int timeout_ms,
                            const char *const *needles)
{
    long long t0 = harness_now_ms();
    int rc = server_wait(s, timeout_ms + EXIT_SLACK_MS);
    long long took = harness_now_ms() - t0;
    /* TSan may report the loop thread's second lock of store_mu itself;
     * then it exits with its own code first, which counts as caught. */
    int ok = rc == WATCHDOG_EXIT || (TSAN_THREADS && rc == SANITIZER_EXIT);
    CU_ASSERT(ok);
    int found = 1;
    for (int i = 0; needles[i] != NULL; i++) {
        int has = server_log_contains(log, needles[i]) == 1;
        if (!has)
            fprintf(stderr, "the server's log lacks \"%s\"\n", needles[i]);
        found = found && has;
    }
    if (rc == WATCHDOG_EXIT)
        CU_ASSERT(found);
    if (!ok || !found || rc != WATCHDOG_EXIT)
        fprintf(stderr, "server exited with %d after %lld ms\n", rc, took);
    if (!ok || (rc == WATCHDOG_EXIT && !found))
        server_log_print(log);
}

#define PITFALL_BOUND_MS "100" /* --watchdog-ms for the stall pitfall */

/* Under --pitfall <pitfall> and --watchdog <watchdog>, one client runs a
 * DIGEST of about digest_target_ms on the server s (started with its log
 * going to the file log); then another client's SET needs the store.
 * Returns the SET's client; *digester is the DIGEST's. */
static int pitfall_start_digest_then_set(test_server_t *s, const char *pitfall,
                                         const char *watchdog, const char *log,
                                         long long digest_target_ms, int *digester)
{
    START_SERVER_LOGGED(
        s, ARGS("--pitfall", pitfall, "--watchdog", watchdog, "--watchdog-ms", PITFALL_BOUND_MS),
        log);
    int a = CONNECT(s->port);
    int b = CONNECT(s->port);
    payload_set(a, "k", PITFALL_VALUE_LEN, 'p');
    long long rounds = offload_calibrate_rounds(a, "k", PITFALL_VALUE_LEN, digest_target_ms);

    char request[96];
    snprintf(request, sizeof request, "DIGEST k %lld\r\n", rounds);
    CU_ASSERT_EQUAL(client_send_str(a, request), 0);
    poll(NULL, 0, 200);
    CU_ASSERT_EQUAL(client_send_str(b, "SET a b\r\n"), 0);
    *digester = a;
    return b;
}

/* A pitfall that a DIGEST springs and the watchdog must end: the server
 * must exit 3 within 2 s, its report naming every one of needles. */
static void pitfall_digest_then_set(const char *pitfall, const char *watchdog, const char *log_name,
                                    long long digest_target_ms, const char *const *needles)
{
    const char *log = fixture_path(log_name);
    test_server_t srv;
    int a;
    int b = pitfall_start_digest_then_set(&srv, pitfall, watchdog, log, digest_target_ms, &a);
    expect_watchdog(&srv, log, 2000, needles);
    close(a);
    close(b);
}

/* --pitfall mutex-across-callback: the loop thread takes store_mu for a
 * DIGEST and would release it in after_work_cb; the next command on the
 * loop that needs the store asks for it again. The watchdog reports the
 * DEADLOCK and exits 3, at once: in warn mode (the default) as in exit
 * mode, since no thread can ever release that lock. */
static void test_pitfall_deadlock_digest(void)
{
    pitfall_digest_then_set("mutex-across-callback", "warn", "deadlock-digest.log", 1500,
                            ARGS("DEADLOCK", "after_work_cb", "DIGEST"));
}

static void test_pitfall_deadlock_digest_exit(void)
{
    pitfall_digest_then_set("mutex-across-callback", "exit", "deadlock-digest-exit.log", 1500,
                            ARGS("DEADLOCK", "after_work_cb", "DIGEST"));
}

/* The same trap with no watchdog (--watchdog off, a plain mutex): what a
 * reader meets without one. The loop thread blocks for ever on its own
 * lock, and the server stops answering anyone: a PING, answered in well
 * under FAST_MS otherwise, gets nothing in a second. The test kills it.
 * (TSan may see the second lock itself and end the process first: that
 * counts as the hang having been caught.) */
static void test_pitfall_deadlock_unwatched(void)
{
    const char *log = fixture_path("deadlock-off.log");
    test_server_t srv;
    int a;
    int b = pitfall_start_digest_then_set(&srv, "mutex-across-callback", "off", log, 1500, &a);
    int c = client_connect(srv.port); /* accepted by the kernel, whether or not the loop runs */
    CU_ASSERT(c >= 0);
    CU_ASSERT_EQUAL(client_send_str(c, "PING\r\n"), 0);
    int answered = client_readable(c, 1000);
    int rc = server_wait(&srv, 0); /* -ETIMEDOUT: still running, hung; now killed */
    int caught_by_tsan = TSAN_THREADS && rc == SANITIZER_EXIT;
    if (!caught_by_tsan) {
        CU_ASSERT_FALSE(answered);
        CU_ASSERT_EQUAL(rc, -ETIMEDOUT);
        CU_ASSERT_EQUAL(server_log_contains(log, "watchdog"), 0); /* nobody said a thing */
    }
    if (answered || (rc != -ETIMEDOUT && !caught_by_tsan)) {
        fprintf(stderr, "with --watchdog off: PING %s, server status %d\n",
                answered ? "answered" : "not answered", rc);
        server_log_print(log);
    }
    close(a);
    close(b);
    close(c);
}

/* The same trap in its natural setting: one worker, busy with a DEBUG
 * SLEEP; a SAVE takes store_mu on the loop thread and waits in the pool's
 * queue; a SET from a third client needs the store. DEADLOCK, naming SAVE. */
static void test_pitfall_deadlock_save(void)
{
    const char *log = fixture_path("deadlock-save.log");
    test_server_t srv;
    START_SERVER_LOGGED(&srv,
                        ARGS("--pitfall", "mutex-across-callback", "--threads", "1", "--dbfile",
                             fixture_path("deadlock.resp")),
                        log);
    int a = CONNECT(srv.port);
    int b = CONNECT(srv.port);
    int c = CONNECT(srv.port);
    EXPECT_REPLY(c, "SET k v\r\n", "+OK\r\n");

    CU_ASSERT_EQUAL(client_send_str(a, "DEBUG SLEEP 1\r\n"), 0);
    poll(NULL, 0, 100);
    CU_ASSERT_EQUAL(client_send_str(b, "SAVE\r\n"), 0);
    poll(NULL, 0, 100);
    CU_ASSERT_EQUAL(client_send_str(c, "SET a b\r\n"), 0);
    expect_watchdog(&srv, log, 2000, ARGS("DEADLOCK", "SAVE", "after_work_cb"));
    close(a);
    close(b);
    close(c);
}

/* --pitfall lock-during-work --watchdog exit: a worker holds store_mu for
 * a whole DIGEST of about 1.5 s; the loop thread's SET waits for it, and
 * the watchdog reports the STALL after the bound (100 ms) and exits 3. The
 * DIGEST must outlast the SET's wait by a wide margin whatever the
 * calibration's error (under TSan it was once off by half); the server
 * exits at the watchdog anyway, so the margin costs no time. */
static void test_pitfall_stall_exit(void)
{
    pitfall_digest_then_set("lock-during-work", "exit", "stall-exit.log", 1500,
                            ARGS("STALL", "work_cb"));
}

/* --pitfall lock-during-work --watchdog warn (the default): the same
 * stall is reported, and then waited out. The loop is stuck behind the
 * worker for the DIGEST's length, which is the pitfall's cost, but nothing
 * is lost: the DIGEST and the SET are answered, the server serves on, and
 * SIGTERM ends it with 0. */
static void test_pitfall_stall_warn(void)
{
    const char *log = fixture_path("stall-warn.log");
    test_server_t srv;
    int a;
    int b = pitfall_start_digest_then_set(&srv, "lock-during-work", "warn", log, 1000, &a);
    buf_t reply = BUF_INIT;
    CU_ASSERT_EQUAL(client_read_reply(a, &reply, 10000), 0);
    CU_ASSERT_EQUAL(reply.len, 23); /* the DIGEST's 16 hex digits */
    buf_free(&reply);
    EXPECT_READ(b, "+OK\r\n");
    EXPECT_REPLY(b, "GET a\r\n", "$1\r\nb\r\n");
    CU_ASSERT(INFO_FIELD(b, "lock_stalls") >= 1);
    int found = server_log_contains(log, "STALL on the store lock: the loop thread") == 1 &&
                server_log_contains(log, "Still waiting") == 1 &&
                server_log_contains(log, "work_cb") == 1;
    CU_ASSERT(found);
    close(a);
    close(b);
    int rc = server_stop(&srv, SIGTERM, 10000);
    CU_ASSERT_EQUAL(rc, 0);
    if (!found || rc != 0)
        server_log_print(log);
}

/* ==== A slow holder is not a trap ================================================ */

#define SLOW_HOLDER_BOUND_MS 25  /* --watchdog-ms: a short bound, so a small store passes it */
#define SLOW_SAVE_TARGET_MS  300 /* a SAVE this long copies for many bounds */
#define FILL_BATCH           5000
#define FILL_MAX_KEYS        1000000
#define SLOW_SLEEPERS        4   /* one per worker (--threads 4) */
#define SLOW_SLEEP_MS        100 /* ends while the copy runs, which starts at once */
#define SLOW_WAITERS         8   /* DIGESTs queued behind the sleeps */
#define DIGEST_SMALL_LEN     100

/* Grows the store, doubling it, until a SAVE takes target_ms from request
 * to reply, or to max_keys. Returns the number of keys. Most of a SAVE of
 * small keys is the copy on the loop thread (--lock-strategy copy), with
 * store_mu held; the test checks the copy's own length afterwards. */
static long long fill_until_save_takes(int fd, long long target_ms, long long max_keys)
{
    long long keys = 0, step = 20000;
    while (keys < max_keys) {
        long long last = keys + step < max_keys ? keys + step : max_keys;
        KEYSET_SET(fd, (&(keyset_t){"f", "v", keys, last - keys}), FILL_BATCH);
        keys = last;
        long long t0 = harness_now_ms();
        if (!EXPECT_REPLY(fd, "SAVE\r\n", "+OK\r\n") || harness_now_ms() - t0 >= target_ms)
            break;
        step = keys;
    }
    return keys;
}

/* The trap's look-alike that is not a trap: with the copy strategy, SAVE
 * copies the whole store on the loop thread, holding store_mu, and the
 * workers' DIGESTs wait for it longer than the bound. The holder is making
 * progress: the watchdog reports the STALL and waits on (--watchdog warn,
 * the default) instead of ending the process, which lost everything since
 * the last dump (issue 11, defect 1). SAVE completes, every DIGEST is
 * answered, and SIGTERM still ends the server with 0.
 *
 * The DIGESTs must reach a worker during the copy, while the loop (busy
 * copying) can start nothing: so they are queued first, behind a short
 * DEBUG SLEEP on each worker that ends well inside the copy. */
static void test_slow_holder_survives(void)
{
    char bound[16], sleep_request[64];
    snprintf(bound, sizeof bound, "%d", SLOW_HOLDER_BOUND_MS);
    snprintf(sleep_request, sizeof sleep_request, "DEBUG SLEEP %.3f\r\n", SLOW_SLEEP_MS / 1000.0);
    const char *log = fixture_path("slow-holder.log");
    test_server_t srv;
    START_SERVER_LOGGED(&srv,
                        ARGS("--threads", "4", "--watchdog-ms", bound, "--dbfile",
                             fixture_path("slow-holder.resp")),
                        log);
    int saver = CONNECT(srv.port);
    long long keys = fill_until_save_takes(saver, SLOW_SAVE_TARGET_MS, FILL_MAX_KEYS);
    payload_set(saver, "d", DIGEST_SMALL_LEN, 'd');

    int sleepers[SLOW_SLEEPERS], waiters[SLOW_WAITERS];
    CONNECT_MANY(srv.port, sleepers, SLOW_SLEEPERS, 1);
    CONNECT_MANY(srv.port, waiters, SLOW_WAITERS, 1);
    long long t0 = harness_now_ms();
    for (int i = 0; i < SLOW_SLEEPERS; i++)
        CU_ASSERT_EQUAL(client_send_str(sleepers[i], sleep_request), 0);
    for (int i = 0; i < SLOW_WAITERS; i++)
        CU_ASSERT_EQUAL(client_send_str(waiters[i], "DIGEST d 1\r\n"), 0);
    EXPECT_INFO_REACHES(saver, "jobs_in_flight", SLOW_SLEEPERS + SLOW_WAITERS, 5000);
    long long save_at_ms = harness_now_ms() - t0;
    CU_ASSERT_EQUAL(client_send_str(saver, "SAVE\r\n"), 0);
    if (!EXPECT_READ(saver, "+OK\r\n")) {
        fprintf(stderr, "SAVE was not answered; the server exited with %d\n",
                server_wait(&srv, 5000));
        server_log_print(log);
        client_close_all(sleepers, SLOW_SLEEPERS);
        client_close_all(waiters, SLOW_WAITERS);
        close(saver);
        return;
    }
    long long copy_ms = INFO_FIELD(saver, "last_save_copy_usec") / 1000;
    int answered = 0;
    for (int i = 0; i < SLOW_SLEEPERS; i++)
        answered += EXPECT_READ(sleepers[i], "+OK\r\n");
    for (int i = 0; i < SLOW_WAITERS; i++) {
        buf_t reply = BUF_INIT;
        answered += client_read_reply(waiters[i], &reply, 10000) == 0 && reply.len == 23;
        buf_free(&reply);
    }
    long long stalls = INFO_FIELD(saver, "lock_stalls");
    fprintf(stderr,
            "(%lld keys copied in %lld ms, SAVE sent %lld ms after the sleeps, %lld lock "
            "stalls) ",
            keys, copy_ms, save_at_ms, stalls);
    /* The set-up: the sleeps ended inside the copy, a few bounds before its
     * end, so the DIGESTs queued behind them met it. */
    CU_ASSERT(save_at_ms < SLOW_SLEEP_MS);
    CU_ASSERT(copy_ms >= SLOW_SLEEP_MS + 2 * SLOW_HOLDER_BOUND_MS);
    /* The point: reported, and survived. */
    CU_ASSERT_EQUAL(answered, SLOW_SLEEPERS + SLOW_WAITERS);
    EXPECT_REPLY(saver, "PING\r\n", "+PONG\r\n");
    CU_ASSERT_EQUAL(INFO_FIELD(saver, "keys"), keys + 1);
    CU_ASSERT(stalls >= 1);
    CU_ASSERT_EQUAL(server_log_contains(log, "STALL on the store lock"), 1);
    CU_ASSERT_EQUAL(server_log_contains(log, "copying the store for SAVE"), 1);
    client_close_all(sleepers, SLOW_SLEEPERS);
    client_close_all(waiters, SLOW_WAITERS);
    close(saver);
    int rc = server_stop(&srv, SIGTERM, 10000);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc != 0 || stalls < 1)
        server_log_print(log);
}

/* ==== Registration ================================================================== */

static CU_TestInfo tests[] = {
    {"pitfall: DEADLOCK with DIGEST", test_pitfall_deadlock_digest},
    {"pitfall: DEADLOCK with DIGEST, --watchdog exit", test_pitfall_deadlock_digest_exit},
    {"pitfall: a deadlock hangs with --watchdog off", test_pitfall_deadlock_unwatched},
    {"pitfall: DEADLOCK with SAVE", test_pitfall_deadlock_save},
    {"pitfall: STALL, --watchdog exit", test_pitfall_stall_exit},
    {"pitfall: STALL waited out, --watchdog warn", test_pitfall_stall_warn},
    {"a slow lock holder is not killed", test_slow_holder_survives},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"stage4-offload: the watchdog", NULL, NULL, fixture_setup, fixture_teardown, tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
