/*
 * Tests of stage 4's watched lock (stage4-offload/wlock.c): the two misuses
 * it must turn from a hang into an error and a report.
 *
 * The reports go to stderr through common/log.c; each test that checks one
 * sends stderr to a temporary file for its duration and reads it back.
 */
#include "harness.h"
#include "wlock.h"

#include <errno.h>
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
    CU_ASSERT_FATAL(wlock_init(&l, "the test lock", 100) == 0);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT(wlock_lock(&l, "the test") == 0);
        wlock_unlock(&l);
    }
    wlock_destroy(&l);
}

/* The same thread asks again: an ordinary mutex would hang forever. */
static void test_relock_is_a_deadlock(void)
{
    wlock_t l;
    harness_capture_t cap;
    CU_ASSERT_FATAL(wlock_init(&l, "the test lock", 2000) == 0);
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
    wlock_destroy(&l);
}

/* Another thread holds it past the bound: the waiter gives up and says who
 * kept it. */
static void test_long_hold_is_a_stall(void)
{
    wlock_t l;
    holder_t h;
    pthread_t tid;
    harness_capture_t cap;
    CU_ASSERT_FATAL(wlock_init(&l, "the test lock", 200) == 0);
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
    free(log);

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
    CU_ASSERT_FATAL(wlock_init(&l, "the test lock", 5000) == 0);
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

static CU_TestInfo tests[] = {
    {"lock and unlock", test_lock_unlock},
    {"relock by the holder is a deadlock", test_relock_is_a_deadlock},
    {"a hold past the bound is a stall", test_long_hold_is_a_stall},
    {"a short hold is only a wait", test_short_hold_is_fine},
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
