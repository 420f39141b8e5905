/*
 * Tests of stage 4's watched lock (stage4-offload/wlock.c): the two misuses
 * it must turn from a hang into a report, and what each mode then does: a
 * deadlock is always an error; a stall is an error in WLOCK_STALL_FAILS and
 * a report followed by more waiting in WLOCK_STALL_WAITS; WLOCK_UNWATCHED is
 * a plain mutex.
 *
 * The reports go to stderr through common/log.c; each test that checks one
 * sends stderr to a temporary file for its duration and reads it back.
 */
#include "harness.h"
#include "wlock.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ==== Helpers ============================================================= */

/* A thread that takes the lock, says so, and holds it until told to let go. */
typedef struct holder {
    wlock_t *lock;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int locked;
    int release;
} holder_t;

/* Counts the occurrences of needle in text. */
static int count_of(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void *holder_main(void *arg)
{
    holder_t *h = arg;
    CU_ASSERT(wlock_lock(h->lock, "the holder thread (in the test)") == 0);
    pthread_mutex_lock(&h->mu);
    h->locked = 1;
    pthread_cond_broadcast(&h->cond);
    while (!h->release)
        pthread_cond_wait(&h->cond, &h->mu);
    pthread_mutex_unlock(&h->mu);
    wlock_unlock(h->lock);
    return NULL;
}

static void holder_start(holder_t *h, wlock_t *lock, pthread_t *tid)
{
    memset(h, 0, sizeof *h);
    h->lock = lock;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cond, NULL);
    CU_ASSERT_FATAL(pthread_create(tid, NULL, holder_main, h) == 0);
    pthread_mutex_lock(&h->mu);
    while (!h->locked)
        pthread_cond_wait(&h->cond, &h->mu);
    pthread_mutex_unlock(&h->mu);
}

/* Tells the holder to let go: its thread unlocks soon after. */
static void holder_release(holder_t *h)
{
    pthread_mutex_lock(&h->mu);
    h->release = 1;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->mu);
}

/* Tells the holder to let go (again, if it was told already) and waits for
 * its thread to end. */
static void holder_finish(holder_t *h, pthread_t tid)
{
    holder_release(h);
    pthread_join(tid, NULL);
    pthread_cond_destroy(&h->cond);
    pthread_mutex_destroy(&h->mu);
}

/* ==== Tests =============================================================== */

static void test_lock_unlock(void)
{
    wlock_t l;
    CU_ASSERT_FATAL(wlock_init(&l, "the test lock", WLOCK_STALL_WAITS, 100) == 0);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT(wlock_lock(&l, "the test") == 0);
        wlock_unlock(&l);
    }
    wlock_destroy(&l);
}

/* The same thread asks again: an ordinary mutex would hang forever. In
 * either watched mode this is an error: no thread can ever go on. */
static void relock_is_a_deadlock(wlock_mode_t mode)
{
    wlock_t l;
    harness_capture_t cap;
    CU_ASSERT_FATAL(wlock_init(&l, "the test lock", mode, 2000) == 0);
    CU_ASSERT_FATAL(wlock_lock(&l, "SAVE (taken before the callback)") == 0);

    CU_ASSERT_EQUAL_FATAL(harness_capture_start(&cap, stderr), 0);
    long long start = harness_now_ms();
    int rc = wlock_lock(&l, "the loop thread (running SET)");
    long long took = harness_now_ms() - start;
    char *log = harness_capture_stop(&cap);

    CU_ASSERT_EQUAL(rc, -EDEADLK);
    CU_ASSERT(took < 1000); /* reported at once, not after the 2 s bound */
    CU_ASSERT_PTR_NOT_NULL_FATAL(log);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "DEADLOCK on the test lock"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "the loop thread (running SET) needs it"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "already holds it for SAVE (taken before the callback)"));
    free(log);

    wlock_unlock(&l); /* the first hold is still valid */
    CU_ASSERT(wlock_lock(&l, "the test") == 0);
    wlock_unlock(&l);
    CU_ASSERT_EQUAL(wlock_stalls(&l), 0); /* a deadlock is not a stall */
    wlock_destroy(&l);
}

static void test_relock_is_a_deadlock(void)
{
    relock_is_a_deadlock(WLOCK_STALL_WAITS);
}

static void test_relock_is_a_deadlock_strict(void)
{
    relock_is_a_deadlock(WLOCK_STALL_FAILS);
}

/* WLOCK_STALL_FAILS: another thread holds it past the bound, and the
 * waiter gives up and says who kept it. */
static void test_long_hold_fails(void)
{
    wlock_t l;
    holder_t h;
    pthread_t tid;
    harness_capture_t cap;
    CU_ASSERT_FATAL(wlock_init(&l, "the test lock", WLOCK_STALL_FAILS, 200) == 0);
    holder_start(&h, &l, &tid);

    CU_ASSERT_EQUAL_FATAL(harness_capture_start(&cap, stderr), 0);
    long long start = harness_now_ms();
    int rc = wlock_lock(&l, "the loop thread (running GET)");
    long long took = harness_now_ms() - start;
    char *log = harness_capture_stop(&cap);

    CU_ASSERT_EQUAL(rc, -ETIMEDOUT);
    CU_ASSERT(took >= 150); /* it did wait for the bound... */
    CU_ASSERT(took < 5000); /* ...and not for ever */
    CU_ASSERT_PTR_NOT_NULL_FATAL(log);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "STALL on the test lock"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "the loop thread (running GET) waited 200 ms"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "still held by the holder thread (in the test)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "error: "));
    free(log);
    CU_ASSERT_EQUAL(wlock_stalls(&l), 1);

    holder_finish(&h, tid);
    CU_ASSERT(wlock_lock(&l, "the test, after the holder let go") == 0);
    wlock_unlock(&l);
    wlock_destroy(&l);
}

/* A short hold by another thread is just a wait, not a report. */
static void test_short_hold_is_fine(void)
{
    wlock_t l;
    holder_t h;
    pthread_t tid;
    harness_capture_t cap;
    CU_ASSERT_FATAL(wlock_init(&l, "the test lock", WLOCK_STALL_WAITS, 5000) == 0);
    holder_start(&h, &l, &tid);

    CU_ASSERT_EQUAL_FATAL(harness_capture_start(&cap, stderr), 0);
    /* Told from this thread, the holder lets go while the waiter below waits. */
    holder_release(&h);
    int rc = wlock_lock(&l, "the test");
    char *log = harness_capture_stop(&cap);

    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(log);
    CU_ASSERT_STRING_EQUAL(log, "");
    free(log);
    wlock_unlock(&l);
    holder_finish(&h, tid);
    wlock_destroy(&l);
}

/* A thread that waits for the lock, then lets go at once. */
static void *waiter_main(void *arg)
{
    wlock_t *l = arg;
    CU_ASSERT(wlock_lock(l, "a waiter thread (in the test)") == 0);
    wlock_unlock(l);
    return NULL;
}

/* WLOCK_STALL_WAITS: a holder that keeps the lock for many bounds, as a
 * slow but live one does. Each waiter counts one stall and waits on until
 * it gets the lock; the reports are rate-limited, so four waiters retrying
 * every 20 ms for 300 ms make one STALL line (two if the machine stretched
 * the 300 ms past WLOCK_REPORT_EVERY_MS), not sixty, and the waiter that
 * reported says when it got the lock. */
#define STALL_WAITERS 4
static void test_long_hold_waits(void)
{
    wlock_t l;
    holder_t h;
    pthread_t tid, waiters[STALL_WAITERS];
    harness_capture_t cap;
    CU_ASSERT_FATAL(wlock_init(&l, "the test lock", WLOCK_STALL_WAITS, 20) == 0);
    holder_start(&h, &l, &tid);

    CU_ASSERT_EQUAL_FATAL(harness_capture_start(&cap, stderr), 0);
    long long start = harness_now_ms();
    for (int i = 0; i < STALL_WAITERS; i++)
        CU_ASSERT_FATAL(pthread_create(&waiters[i], NULL, waiter_main, &l) == 0);
    poll(NULL, 0, 300);
    holder_release(&h);
    for (int i = 0; i < STALL_WAITERS; i++)
        pthread_join(waiters[i], NULL);
    long long took = harness_now_ms() - start;
    char *log = harness_capture_stop(&cap);

    CU_ASSERT(took >= 250); /* they waited for the holder... */
    CU_ASSERT(took < 5000); /* ...which let them go */
    CU_ASSERT_EQUAL(wlock_stalls(&l), STALL_WAITERS);
    CU_ASSERT_PTR_NOT_NULL_FATAL(log);
    int reports = count_of(log, "STALL on the test lock");
    CU_ASSERT(reports >= 1 && reports <= 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "warn: watchdog: STALL on the test lock: a waiter thread "
                                       "(in the test) waited 20 ms for it"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "still held by the holder thread (in the test)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "Still waiting"));
    CU_ASSERT_EQUAL(count_of(log, "got the test lock after waiting"), reports);
    CU_ASSERT(strstr(log, "error") == NULL);
    if (reports < 1 || reports > 2)
        fprintf(stderr, "\n    the log:\n%s", log);
    free(log);

    holder_finish(&h, tid);
    wlock_destroy(&l);
}

/* WLOCK_UNWATCHED: a plain mutex. A hold of fifteen bounds is no stall: no
 * report, no count, the waiter just waits. (A relock would hang: the stage
 * 4 suite shows that on a server, which the test can kill.) */
static void test_unwatched_only_waits(void)
{
    wlock_t l;
    holder_t h;
    pthread_t tid, waiter;
    harness_capture_t cap;
    CU_ASSERT_FATAL(wlock_init(&l, "the test lock", WLOCK_UNWATCHED, 20) == 0);
    holder_start(&h, &l, &tid);

    CU_ASSERT_EQUAL_FATAL(harness_capture_start(&cap, stderr), 0);
    CU_ASSERT_FATAL(pthread_create(&waiter, NULL, waiter_main, &l) == 0);
    poll(NULL, 0, 300);
    holder_release(&h);
    pthread_join(waiter, NULL);
    char *log = harness_capture_stop(&cap);

    CU_ASSERT_PTR_NOT_NULL_FATAL(log);
    CU_ASSERT_STRING_EQUAL(log, "");
    free(log);
    CU_ASSERT_EQUAL(wlock_stalls(&l), 0);
    holder_finish(&h, tid);
    CU_ASSERT(wlock_lock(&l, "the test") == 0);
    wlock_unlock(&l);
    wlock_destroy(&l);
}

static void test_bad_bound(void)
{
    wlock_t l;
    CU_ASSERT_EQUAL(wlock_init(&l, "the test lock", WLOCK_STALL_WAITS, 0), -EINVAL);
}

static CU_TestInfo tests[] = {
    {"lock and unlock", test_lock_unlock},
    {"relock by the holder is a deadlock", test_relock_is_a_deadlock},
    {"relock is a deadlock when stalls fail too", test_relock_is_a_deadlock_strict},
    {"a stall fails when stalls fail", test_long_hold_fails},
    {"a stall is reported and waited out", test_long_hold_waits},
    {"a short hold is only a wait", test_short_hold_is_fine},
    {"unwatched: a plain mutex", test_unwatched_only_waits},
    {"a bound of 0 is refused", test_bad_bound},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"wlock", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
