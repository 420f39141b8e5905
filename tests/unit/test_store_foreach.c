/*
 * Unit tests of store_foreach(): every entry exactly once, mid-resize too,
 * and a callback that stops the walk early. White-box: store_fixture.h
 * includes store.c itself.
 */

#include "store_fixture.h"

#include "harness.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ==== Iteration =========================================================== */

typedef struct visits {
    unsigned *seen; /* per key index */
    size_t limit;   /* indexes at or above are errors */
    size_t total;
    size_t bad;
} visits_t;

static int count_cb(const char *key, size_t klen, const char *val, size_t vlen, void *arg)
{
    visits_t *v = arg;
    size_t i = key_index(key, klen);
    v->total++;
    /* set_i() gives "key:<i>" the value "v\0<i>". */
    if (i >= v->limit || vlen != klen - 2 || memcmp(val, "v\0", 2) != 0 ||
        memcmp(val + 2, key + 4, klen - 4) != 0) {
        v->bad++;
        return 0;
    }
    v->seen[i]++;
    return 0;
}

/* Every entry exactly once, after every single insert, so that every stage
 * of every resize up to 4 Ki buckets is covered. */
static void test_foreach_exactly_once(void)
{
    enum { N = 5000 };
    store_t *s = store_new();
    visits_t v = {calloc(N, sizeof(unsigned)), N, 0, 0};
    unsigned *present = calloc(N, sizeof(unsigned));
    CU_ASSERT_FATAL(v.seen != NULL && present != NULL);
    size_t mid_resize = 0, wrong = 0;

    for (size_t n = 1; n <= N; n++) {
        set_i(s, n - 1);
        present[n - 1] = 1;
        if (n % 7 == 0) { /* holes too */
            del_i(s, n - 4);
            present[n - 4] = 0;
        }
        memset(v.seen, 0, N * sizeof(unsigned));
        v.total = 0;
        mid_resize += resizing(s);
        CU_ASSERT_EQUAL(store_foreach(s, count_cb, &v), 0);
        wrong += v.total != store_count(s);
        wrong += memcmp(v.seen, present, N * sizeof(unsigned)) != 0;
    }
    CU_ASSERT_EQUAL(wrong, 0);
    CU_ASSERT_EQUAL(v.bad, 0);
    CU_ASSERT(mid_resize > 500);
    free(v.seen);
    free(present);
    store_free(s);
}

static void test_foreach_large_mid_resize(void)
{
    store_t *s = store_new();
    size_t n = 0;
    while (s->t[0].size < 131072 || !resizing(s))
        set_i(s, n++);
    for (int i = 0; i < 1000; i++)
        set_i(s, n++); /* part way through */
    CU_ASSERT_FATAL(resizing(s));
    CU_ASSERT(s->t[0].used > 0 && s->t[1].used > 0);

    visits_t v = {calloc(n, sizeof(unsigned)), n, 0, 0};
    CU_ASSERT_PTR_NOT_NULL_FATAL(v.seen);
    CU_ASSERT_EQUAL(store_foreach(s, count_cb, &v), 0);
    CU_ASSERT_EQUAL(v.total, n);
    CU_ASSERT_EQUAL(v.bad, 0);
    size_t wrong = 0;
    for (size_t i = 0; i < n; i++)
        wrong += v.seen[i] != 1;
    CU_ASSERT_EQUAL(wrong, 0);
    free(v.seen);
    store_free(s);
}

typedef struct stopper {
    size_t calls;
    size_t stop_at;
    int ret;
} stopper_t;

static int stop_cb(const char *key, size_t klen, const char *val, size_t vlen, void *arg)
{
    (void)key;
    (void)klen;
    (void)val;
    (void)vlen;
    stopper_t *st = arg;
    return ++st->calls == st->stop_at ? st->ret : 0;
}

static void test_foreach_early_stop(void)
{
    store_t *s = store_new();
    stopper_t st = {0, 1, 42};
    CU_ASSERT_EQUAL(store_foreach(s, stop_cb, &st), 0); /* empty: no calls */
    CU_ASSERT_EQUAL(st.calls, 0);

    for (size_t i = 0; i < 1000; i++)
        set_i(s, i);
    st = (stopper_t){0, 5, 42};
    CU_ASSERT_EQUAL(store_foreach(s, stop_cb, &st), 42);
    CU_ASSERT_EQUAL(st.calls, 5);
    st = (stopper_t){0, 1, -7};
    CU_ASSERT_EQUAL(store_foreach(s, stop_cb, &st), -7);
    CU_ASSERT_EQUAL(st.calls, 1);
    st = (stopper_t){0, 1000, 3}; /* stop at the very last entry */
    CU_ASSERT_EQUAL(store_foreach(s, stop_cb, &st), 3);
    CU_ASSERT_EQUAL(st.calls, 1000);
    st = (stopper_t){0, 0, 9}; /* never stops */
    CU_ASSERT_EQUAL(store_foreach(s, stop_cb, &st), 0);
    CU_ASSERT_EQUAL(st.calls, 1000);
    store_free(s);
}

/* ==== Suites ============================================================== */

static CU_TestInfo foreach_tests[] = {
    {"every entry exactly once", test_foreach_exactly_once},
    {"large store mid-resize", test_foreach_large_mid_resize},
    {"early stop", test_foreach_early_stop},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"foreach", NULL, NULL, NULL, NULL, foreach_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
