/*
 * Unit tests of stage 2's worker pool (stage2-pool/pool.c): concurrency.
 * No more than N items are served at once, and a pool of one serves in
 * order. The fixture is pool_fixture.c; a full queue is tested in
 * test_pool_queue.c, stopping in test_pool_stop.c.
 */

#include "pool_fixture.h"

#include "harness.h"
#include "pool.h"

#include <poll.h>

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

/* ==== Registration ========================================================== */

static CU_TestInfo concurrency_tests[] = {
    {"serves up to N items at once", test_serves_up_to_n_at_once},
    {"one worker serves in order", test_one_worker_serves_in_order},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"concurrency", NULL, NULL, NULL, NULL, concurrency_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
