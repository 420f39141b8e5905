/*
 * Tests of stage 2's worker pool (stage2-pool/pool.c).
 *
 * Every item the tests submit records itself in a fixture under a mutex:
 * how many workers are inside serve() at once, the highest that number
 * reached, the order items were served in. Blocking items wait on a gate
 * the test opens, so the test decides when workers are busy and when they
 * are free. Every wait is bounded: a gate that is never opened, or a pool
 * that never serves, fails the test instead of hanging it.
 */
#include "harness.h"
#include "pool.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WAIT_MS      5000 /* the bound on every wait for the pool */
#define ORDER_MAX    1024
#define GATE_WAIT_MS 10000 /* a blocking item gives up after this, so nothing hangs */

/* ==== The fixture ========================================================= */

typedef struct fixture {
    pthread_mutex_t mu;
    pthread_cond_t cond; /* signalled on every change below */
    int gate_open;
    int gate_timed_out; /* a blocking item waited GATE_WAIT_MS in vain */
    int active;         /* items inside serve() now */
    int max_active;
    int entered; /* items that have entered serve() */
    int served;  /* items that have left it */
    int order[ORDER_MAX];
    int order_len;
} fixture_t;

typedef struct item {
    int id;
    int blocks; /* waits for the gate before it returns */
} item_t;

static void deadline_in(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void fixture_init(fixture_t *f)
{
    memset(f, 0, sizeof *f);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&f->cond, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&f->mu, NULL);
}

static void fixture_destroy(fixture_t *f)
{
    CU_ASSERT_FALSE(f->gate_timed_out);
    pthread_cond_destroy(&f->cond);
    pthread_mutex_destroy(&f->mu);
}

/* The pool's serve callback. */
static void serve_cb(void *arg_item, void *arg)
{
    item_t *item = arg_item;
    fixture_t *f = arg;
    struct timespec deadline;

    deadline_in(&deadline, GATE_WAIT_MS);
    pthread_mutex_lock(&f->mu);
    f->active++;
    if (f->active > f->max_active)
        f->max_active = f->active;
    f->entered++;
    if (f->order_len < ORDER_MAX)
        f->order[f->order_len++] = item->id;
    pthread_cond_broadcast(&f->cond);
    while (item->blocks && !f->gate_open) {
        if (pthread_cond_timedwait(&f->cond, &f->mu, &deadline) == ETIMEDOUT) {
            f->gate_timed_out = 1;
            break;
        }
    }
    f->active--;
    f->served++;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->mu);
}

static void open_gate(fixture_t *f)
{
    pthread_mutex_lock(&f->mu);
    f->gate_open = 1;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->mu);
}

/* Waits until *counter (a field of f) reaches n. Returns 1 when it did
 * within ms, 0 otherwise. */
static int wait_count(fixture_t *f, const int *counter, int n, int ms)
{
    struct timespec deadline;
    deadline_in(&deadline, ms);
    pthread_mutex_lock(&f->mu);
    int rc = 0;
    while (*counter < n && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&f->cond, &f->mu, &deadline);
    int reached = *counter >= n;
    pthread_mutex_unlock(&f->mu);
    return reached;
}

static int read_count(fixture_t *f, const int *counter)
{
    pthread_mutex_lock(&f->mu);
    int n = *counter;
    pthread_mutex_unlock(&f->mu);
    return n;
}

/* Polls pool_stats() until it shows busy and queued, for at most ms. A
 * worker counts itself out just after serve() returns, so the numbers
 * settle a moment after the fixture's. Returns 1 when they were seen. */
static int stats_reach(pool_t *p, int busy, int queued, int ms)
{
    long long deadline = harness_now_ms() + ms;
    int b, q;
    for (;;) {
        pool_stats(p, &b, &q);
        if (b == busy && q == queued)
            return 1;
        if (harness_now_ms() >= deadline) {
            fprintf(stderr, "pool_stats: busy %d queued %d, expected %d and %d\n", b, q, busy,
                    queued);
            return 0;
        }
        poll(NULL, 0, 1);
    }
}

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

/* ==== Concurrency ========================================================== */

#define CONC_THREADS 3
#define CONC_ITEMS   8

/* With every item blocking, exactly `threads` items are inside serve() at
 * once, never more, and the rest wait in the queue. */
static void test_serves_up_to_n_at_once(void)
{
    fixture_t f;
    item_t items[CONC_ITEMS];
    pool_t *p = NULL;

    fixture_init(&f);
    CU_ASSERT_EQUAL_FATAL(pool_start(&p, CONC_THREADS, 16, serve_cb, &f), 0);
    for (int i = 0; i < CONC_ITEMS; i++) {
        items[i] = (item_t){.id = i, .blocks = 1};
        CU_ASSERT_EQUAL(pool_submit(p, &items[i]), 0);
    }

    /* All the workers take an item... */
    CU_ASSERT(wait_count(&f, &f.entered, CONC_THREADS, WAIT_MS));
    /* ...and no more than that: give an extra worker time to show up. */
    poll(NULL, 0, 100);
    CU_ASSERT_EQUAL(read_count(&f, &f.entered), CONC_THREADS);
    CU_ASSERT_EQUAL(read_count(&f, &f.active), CONC_THREADS);
    CU_ASSERT(stats_reach(p, CONC_THREADS, CONC_ITEMS - CONC_THREADS, WAIT_MS));

    open_gate(&f);
    CU_ASSERT(wait_count(&f, &f.served, CONC_ITEMS, WAIT_MS));
    CU_ASSERT_EQUAL(read_count(&f, &f.max_active), CONC_THREADS);
    CU_ASSERT(stats_reach(p, 0, 0, WAIT_MS));

    pool_stop(p);
    CU_ASSERT_EQUAL(f.served, CONC_ITEMS);
    fixture_destroy(&f);
}

/* A pool of one serves its queue first come, first served. */
static void test_one_worker_serves_in_order(void)
{
    enum { N = 20 };
    fixture_t f;
    item_t items[N];
    pool_t *p = NULL;

    fixture_init(&f);
    CU_ASSERT_EQUAL_FATAL(pool_start(&p, 1, N, serve_cb, &f), 0);
    for (int i = 0; i < N; i++) {
        items[i] = (item_t){.id = i, .blocks = i == 0};
        CU_ASSERT_EQUAL(pool_submit(p, &items[i]), 0);
    }
    CU_ASSERT(wait_count(&f, &f.entered, 1, WAIT_MS));
    CU_ASSERT(stats_reach(p, 1, N - 1, WAIT_MS));
    open_gate(&f);
    CU_ASSERT(wait_count(&f, &f.served, N, WAIT_MS));
    pool_stop(p);

    CU_ASSERT_EQUAL(f.order_len, N);
    CU_ASSERT_EQUAL(f.max_active, 1);
    for (int i = 0; i < f.order_len; i++)
        CU_ASSERT_EQUAL(f.order[i], i);
    fixture_destroy(&f);
}

/* ==== A full queue ========================================================== */

typedef struct submitter {
    pool_t *pool;
    item_t *item;
    fixture_t *f;
    int rc;
    int returned;
} submitter_t;

static void *submitter_main(void *arg)
{
    submitter_t *s = arg;
    int rc = pool_submit(s->pool, s->item);
    pthread_mutex_lock(&s->f->mu);
    s->rc = rc;
    s->returned = 1;
    pthread_cond_broadcast(&s->f->cond);
    pthread_mutex_unlock(&s->f->mu);
    return NULL;
}

/* One worker busy, two items queued in a queue of two: a third submit
 * returns -EAGAIN at once instead of waiting for room. It runs in a helper
 * thread so that a submit that blocks fails the test instead of hanging
 * it. */
static void test_full_queue_returns_eagain(void)
{
    fixture_t f;
    item_t items[5];
    pool_t *p = NULL;
    pthread_t tid;

    fixture_init(&f);
    for (int i = 0; i < 5; i++)
        items[i] = (item_t){.id = i, .blocks = i == 0};
    CU_ASSERT_EQUAL_FATAL(pool_start(&p, 1, 2, serve_cb, &f), 0);
    CU_ASSERT_EQUAL(pool_submit(p, &items[0]), 0);
    CU_ASSERT(wait_count(&f, &f.entered, 1, WAIT_MS)); /* out of the queue */
    CU_ASSERT_EQUAL(pool_submit(p, &items[1]), 0);
    CU_ASSERT_EQUAL(pool_submit(p, &items[2]), 0);
    CU_ASSERT(stats_reach(p, 1, 2, WAIT_MS));

    submitter_t s = {.pool = p, .item = &items[3], .f = &f};
    long long t0 = harness_now_ms();
    CU_ASSERT_EQUAL_FATAL(pthread_create(&tid, NULL, submitter_main, &s), 0);
    int returned = wait_count(&f, &s.returned, 1, 2000);
    long long took = harness_now_ms() - t0;
    CU_ASSERT(returned);
    if (!returned)
        open_gate(&f); /* a blocked submit gets its room this way */
    pthread_join(tid, NULL);
    CU_ASSERT_EQUAL(s.rc, -EAGAIN);
    CU_ASSERT(took < 1000);
    /* Still full, still refused; nothing queued behind the refusals. */
    CU_ASSERT_EQUAL(pool_submit(p, &items[3]), -EAGAIN);
    CU_ASSERT(stats_reach(p, 1, 2, WAIT_MS));

    /* Once the queue drains, there is room again. */
    open_gate(&f);
    CU_ASSERT(wait_count(&f, &f.served, 3, WAIT_MS));
    CU_ASSERT(stats_reach(p, 0, 0, WAIT_MS));
    CU_ASSERT_EQUAL(pool_submit(p, &items[4]), 0);
    CU_ASSERT(wait_count(&f, &f.served, 4, WAIT_MS));
    pool_stop(p);

    CU_ASSERT_EQUAL(f.served, 4); /* items[3] was never taken */
    for (int i = 0; i < f.order_len; i++)
        CU_ASSERT_NOT_EQUAL(f.order[i], 3);
    fixture_destroy(&f);
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

static CU_TestInfo concurrency_tests[] = {
    {"serves up to N items at once", test_serves_up_to_n_at_once},
    {"one worker serves in order", test_one_worker_serves_in_order},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo queue_tests[] = {
    {"full queue returns -EAGAIN", test_full_queue_returns_eagain},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo stop_tests[] = {
    {"stop serves the queue, then joins", test_stop_serves_queue_then_joins},
    {"stop an idle pool", test_stop_idle_pool},
    {"submit after stop begins is refused", test_submit_after_stop_refused},
    {"bad arguments are refused", test_bad_arguments},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"concurrency", NULL, NULL, NULL, NULL, concurrency_tests},
    {"queue", NULL, NULL, NULL, NULL, queue_tests},
    {"stop", NULL, NULL, NULL, NULL, stop_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
