/*
 * Unit tests of stage 2's worker pool (stage2-pool/pool.c): stopping.
 * pool_stop() serves what is queued and joins its workers, pool_submit()
 * refuses once a stop has begun, and bad arguments are refused.
 */

#include "pool_fixture.h"

#include "harness.h"
#include "pool.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== Threads of the process ============================================== */

/* The number of threads in this process, from /proc/self/status. */
static int thread_count(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    fclose(f);
    return n;
}

/* Polls until the process has n threads; returns 1 when it does within ms. */
static int threads_reach(int n, int ms)
{
    long long deadline = harness_now_ms() + ms;
    int now;
    while ((now = thread_count()) != n && harness_now_ms() < deadline)
        poll(NULL, 0, 1);
    if (now != n)
        fprintf(stderr, "threads: %d, expected %d\n", now, n);
    return now == n;
}

static void *noop_main(void *arg)
{
    return arg;
}

/* TSan starts a helper thread of its own with the process's first extra
 * thread; start and join one first, so that thread counts compare like
 * with like. */
static void settle_thread_count(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, noop_main, NULL) == 0)
        pthread_join(t, NULL);
}

/* ==== pool_stop() in a thread of its own ==================================== */

/* pool_stop() waits for the items; a test runs it in a helper thread to
 * watch what happens meanwhile. */
typedef struct stopper {
    pthread_t tid;
    pool_t *pool;
    fixture_t *f;
    int returned;         /* pool_stop() has returned (under f->mu) */
    int served_at_return; /* f->served when it did */
} stopper_t;

static void *stopper_main(void *arg)
{
    stopper_t *s = arg;
    pool_stop(s->pool);
    pthread_mutex_lock(&s->f->mu);
    s->returned = 1;
    s->served_at_return = s->f->served;
    pthread_cond_broadcast(&s->f->cond);
    pthread_mutex_unlock(&s->f->mu);
    return NULL;
}

static int stopper_start(stopper_t *s, pool_t *p, fixture_t *f)
{
    memset(s, 0, sizeof *s);
    s->pool = p;
    s->f = f;
    return pthread_create(&s->tid, NULL, stopper_main, s);
}

/* Waits up to ms for pool_stop() to return, then joins the helper. When
 * it did not return, the gate is opened so that the helper can end. */
static int stopper_join(stopper_t *s, int ms)
{
    int returned = wait_count(s->f, &s->returned, 1, ms);
    if (!returned)
        open_gate(s->f);
    pthread_join(s->tid, NULL);
    return returned;
}

/* ==== Stopping =============================================================== */

#define STOP_THREADS 2
#define STOP_QUICK   30

/* pool_stop() lets the busy workers finish, serves every item still
 * queued, and returns only once every worker has exited. */
static void test_stop_serves_queue_then_joins(void)
{
    fixture_t f;
    item_t items[STOP_THREADS + STOP_QUICK];
    const int total = STOP_THREADS + STOP_QUICK;
    pool_t *p = NULL;
    stopper_t stopper;

    settle_thread_count();
    int before = thread_count();
    CU_ASSERT_FATAL(before > 0);
    fixture_init(&f);
    CU_ASSERT_EQUAL_FATAL(pool_start(&p, STOP_THREADS, 64, serve_cb, &f), 0);
    CU_ASSERT(threads_reach(before + STOP_THREADS, WAIT_MS));

    for (int i = 0; i < total; i++) {
        items[i] = (item_t){.id = i, .blocks = i < STOP_THREADS};
        CU_ASSERT_EQUAL(pool_submit(p, &items[i]), 0);
    }
    CU_ASSERT(wait_count(&f, &f.entered, STOP_THREADS, WAIT_MS));
    CU_ASSERT(stats_reach(p, STOP_THREADS, STOP_QUICK, WAIT_MS));

    CU_ASSERT_EQUAL_FATAL(stopper_start(&stopper, p, &f), 0);
    poll(NULL, 0, 100);
    /* Both workers are still inside their items: pool_stop() waits. */
    CU_ASSERT_EQUAL(read_count(&f, &stopper.returned), 0);
    CU_ASSERT_EQUAL(read_count(&f, &f.served), 0);

    open_gate(&f);
    CU_ASSERT(stopper_join(&stopper, WAIT_MS));
    CU_ASSERT_EQUAL(stopper.served_at_return, total);
    CU_ASSERT_EQUAL(f.served, total);
    CU_ASSERT_EQUAL(f.max_active, STOP_THREADS);
    /* The workers are gone (the helper too, joined above). */
    CU_ASSERT(threads_reach(before, WAIT_MS));
    fixture_destroy(&f);
}

/* pool_stop() on an idle pool wakes the sleeping workers and returns. */
static void test_stop_idle_pool(void)
{
    fixture_t f;
    pool_t *p = NULL;

    settle_thread_count();
    int before = thread_count();
    fixture_init(&f);
    CU_ASSERT_EQUAL_FATAL(pool_start(&p, 4, 4, serve_cb, &f), 0);
    CU_ASSERT(threads_reach(before + 4, WAIT_MS));
    CU_ASSERT(stats_reach(p, 0, 0, WAIT_MS));
    long long t0 = harness_now_ms();
    pool_stop(p);
    CU_ASSERT(harness_now_ms() - t0 < 1000);
    CU_ASSERT(threads_reach(before, WAIT_MS));
    CU_ASSERT_EQUAL(f.served, 0);
    fixture_destroy(&f);
}

/* Bad arguments are refused, not obeyed: no pool without a worker or a
 * queue slot, and no NULL item (NULL is how a worker learns to stop). */
static void test_bad_arguments(void)
{
    fixture_t f;
    pool_t *p = NULL;

    fixture_init(&f);
    CU_ASSERT_EQUAL(pool_start(&p, 0, 4, serve_cb, &f), -EINVAL);
    CU_ASSERT_EQUAL(pool_start(&p, 4, 0, serve_cb, &f), -EINVAL);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_EQUAL_FATAL(pool_start(&p, 1, 4, serve_cb, &f), 0);
    CU_ASSERT_EQUAL(pool_submit(p, NULL), -EINVAL);
    int busy = -1, queued = -1;
    pool_stats(p, &busy, &queued);
    CU_ASSERT_EQUAL(busy, 0);
    CU_ASSERT_EQUAL(queued, 0);
    pool_stop(p);
    CU_ASSERT_EQUAL(f.served, 0);
    fixture_destroy(&f);
}

#define REFUSE_MAX 1000

/* Once pool_stop() has begun, pool_submit() refuses with -ESHUTDOWN; what
 * it accepted before is still served. The pool stays valid throughout:
 * pool_stop() cannot return while the only worker waits at the gate. */
static void test_submit_after_stop_refused(void)
{
    fixture_t f;
    item_t blocker = {.id = 0, .blocks = 1};
    item_t *quick = calloc(REFUSE_MAX, sizeof *quick);
    pool_t *p = NULL;
    stopper_t stopper;

    CU_ASSERT_PTR_NOT_NULL_FATAL(quick);
    fixture_init(&f);
    CU_ASSERT_EQUAL_FATAL(pool_start(&p, 1, REFUSE_MAX, serve_cb, &f), 0);
    CU_ASSERT_EQUAL(pool_submit(p, &blocker), 0);
    CU_ASSERT(wait_count(&f, &f.entered, 1, WAIT_MS));
    CU_ASSERT_EQUAL_FATAL(stopper_start(&stopper, p, &f), 0);

    /* Submit until the stop shows; every accepted item must be served. */
    int accepted = 0, rc = 0;
    long long deadline = harness_now_ms() + WAIT_MS;
    while (accepted < REFUSE_MAX && harness_now_ms() < deadline) {
        quick[accepted] = (item_t){.id = 1 + accepted};
        rc = pool_submit(p, &quick[accepted]);
        if (rc != 0)
            break;
        accepted++;
        poll(NULL, 0, 1);
    }
    CU_ASSERT_EQUAL(rc, -ESHUTDOWN);
    CU_ASSERT_EQUAL(pool_submit(p, &quick[REFUSE_MAX - 1]), -ESHUTDOWN);
    CU_ASSERT(stats_reach(p, 1, accepted, WAIT_MS));
    CU_ASSERT_EQUAL(read_count(&f, &stopper.returned), 0);

    open_gate(&f);
    CU_ASSERT(stopper_join(&stopper, WAIT_MS));
    CU_ASSERT_EQUAL(f.served, 1 + accepted);
    CU_ASSERT_EQUAL(stopper.served_at_return, 1 + accepted);
    fixture_destroy(&f);
    free(quick);
}

/* ==== Registration ========================================================== */

static CU_TestInfo stop_tests[] = {
    {"stop serves the queue, then joins", test_stop_serves_queue_then_joins},
    {"stop an idle pool", test_stop_idle_pool},
    {"submit after stop begins is refused", test_submit_after_stop_refused},
    {"bad arguments are refused", test_bad_arguments},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"stop", NULL, NULL, NULL, NULL, stop_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
