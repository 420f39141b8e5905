/*
 * Unit tests of stage 2's worker pool (stage2-pool/pool.c): a full queue.
 * pool_submit() refuses at once when the queue has no room, and accepts
 * again once it drains.
 */

#include "pool_fixture.h"

#include "harness.h"
#include "pool.h"

#include <errno.h>
#include <pthread.h>

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

/* ==== Registration ========================================================== */

static CU_TestInfo queue_tests[] = {
    {"full queue returns -EAGAIN", test_full_queue_returns_eagain},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"queue", NULL, NULL, NULL, NULL, queue_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
