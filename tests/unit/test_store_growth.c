/*
 * Unit tests of the store's growth: incremental resizes under many keys,
 * deletes during a resize from either table, and reads that write nothing
 * mid-resize. White-box: store_fixture.h includes store.c itself.
 */

#include "store_fixture.h"

#include "harness.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ==== Growth ============================================================== */

#define MANY 200000

static void test_many_keys(void)
{
    store_t *s = store_new();
    size_t resizes = 0, crowded = 0;
    for (size_t i = 0; i < MANY; i++) {
        int was_resizing = resizing(s);
        set_i(s, i);
        resizes += !was_resizing && resizing(s);
        /* Never a crowded table: growth keeps up. */
        crowded += store_count(s) > (resizing(s) ? s->t[1].size : s->t[0].size);
    }
    CU_ASSERT_EQUAL(crowded, 0);
    CU_ASSERT_EQUAL(store_count(s), MANY);
    /* 16 buckets to at least 200,000 takes 14 doublings at the least. */
    CU_ASSERT(resizes >= 14);
    CU_ASSERT_EQUAL(check_tables(s), 0);
    size_t bad = 0;
    for (size_t i = 0; i < MANY; i++)
        bad += has_i(s, i) != 1;
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(has_i(s, MANY), 0);

    /* Delete everything: every key goes once, and the table shrinks. */
    size_t max_size = s->t[0].size;
    bad = 0;
    for (size_t i = 0; i < MANY; i++)
        bad += del_i(s, i) != 0;
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(store_count(s), 0);
    CU_ASSERT_EQUAL(check_tables(s), 0);
    CU_ASSERT(s->t[0].size + s->t[1].size <= max_size / 64);
    bad = 0;
    for (size_t i = 0; i < MANY; i++)
        bad += has_i(s, i) != 0;
    CU_ASSERT_EQUAL(bad, 0);
    store_free(s);
}

static size_t nonempty_buckets(const table_t *t)
{
    size_t n = 0;
    for (size_t b = 0; b < t->size; b++)
        n += t->buckets[b] != NULL;
    return n;
}

/* Each write during a resize moves only a few buckets. */
static void test_growth_is_incremental(void)
{
    store_t *s = store_new();
    size_t i = 0;
    while (s->t[0].size < 65536 || !resizing(s))
        set_i(s, i++);
    /* A resize of a 64 Ki-bucket table has just started. The next writes
     * each move a few buckets, not the whole table. */
    CU_ASSERT(s->rehash_next <= STORE_REHASH_MAX_SCAN);
    size_t too_much = 0;
    for (int w = 0; w < 100; w++) {
        size_t next = s->rehash_next, left = nonempty_buckets(&s->t[0]);
        if (w % 2)
            set_i(s, i++);
        else
            CU_ASSERT_EQUAL(del_i(s, SIZE_MAX), -ENOENT); /* a write that changes nothing */
        CU_ASSERT_FATAL(resizing(s));
        too_much += s->rehash_next - next > STORE_REHASH_MAX_SCAN;
        too_much += left - nonempty_buckets(&s->t[0]) > STORE_REHASH_STEP;
    }
    CU_ASSERT_EQUAL(too_much, 0);
    CU_ASSERT(s->t[0].used > 60000);
    /* ... and it ends after a bounded number of writes. */
    size_t writes = 0;
    while (resizing(s) && writes < 65536) {
        set_i(s, i++);
        writes++;
    }
    CU_ASSERT(!resizing(s));
    CU_ASSERT(writes <= 65536 / STORE_REHASH_STEP);
    CU_ASSERT_EQUAL(check_tables(s), 0);
    size_t bad = 0;
    for (size_t j = 0; j < i; j++)
        bad += has_i(s, j) != 1;
    CU_ASSERT_EQUAL(bad, 0);
    store_free(s);
}

/* Deletes interleaved with inserts, checked against a model: nothing lost,
 * nothing deleted comes back, and many of the deletes hit a resize. */
static void test_deletes_during_growth(void)
{
    enum { N = 60000 };
    unsigned char *present = calloc(N, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(present);
    store_t *s = store_new();
    size_t deletes_mid_resize = 0, bad = 0, expected = 0;

    for (size_t i = 0; i < N; i++) {
        set_i(s, i);
        expected += !present[i];
        present[i] = 1;
        if (i % 3 == 0) {
            /* Delete an older key: present or not, the answer must match. */
            size_t victim = (i * 7919) % (i + 1);
            deletes_mid_resize += resizing(s);
            int rc = del_i(s, victim);
            bad += rc != (present[victim] ? 0 : -ENOENT);
            expected -= present[victim];
            present[victim] = 0;
        }
        if (i % 5 == 4) {
            /* Bring back a key that may have been deleted. */
            size_t back = i / 2;
            set_i(s, back);
            expected += !present[back];
            present[back] = 1;
        }
        bad += store_count(s) != expected;
        if (i % 4000 == 0 || (resizing(s) && i % 1009 == 0)) {
            for (size_t j = 0; j < N; j++)
                bad += has_i(s, j) != present[j];
            bad += check_tables(s);
        }
    }
    for (size_t j = 0; j < N; j++)
        bad += has_i(s, j) != present[j];
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(check_tables(s), 0);
    CU_ASSERT(deletes_mid_resize > 1000);
    store_free(s);
    free(present);
}

/* Returns an entry of table t (buckets from `from` on), or NULL. */
static const entry_t *some_entry(const table_t *t, size_t from)
{
    for (size_t b = from; b < t->size; b++)
        if (t->buckets[b] != NULL)
            return t->buckets[b];
    return NULL;
}

/* During a resize a key may live in either table: deleting it must work
 * from both, and the resize must not bring it back. */
static void test_delete_from_both_tables_mid_resize(void)
{
    store_t *s = store_new();
    size_t n = 0;
    while (s->t[0].size < 1024 || !resizing(s))
        set_i(s, n++);
    set_i(s, n++); /* a few buckets moved, a few keys in t[1] */
    CU_ASSERT_FATAL(resizing(s));

    const entry_t *old = some_entry(&s->t[0], s->rehash_next);
    const entry_t *moved = some_entry(&s->t[1], 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(old);
    CU_ASSERT_PTR_NOT_NULL_FATAL(moved);
    size_t old_i = key_index(old->data, old->klen);
    size_t moved_i = key_index(moved->data, moved->klen);
    CU_ASSERT_FATAL(old_i < n && moved_i < n && old_i != moved_i);

    CU_ASSERT_EQUAL(del_i(s, old_i), 0);
    CU_ASSERT_EQUAL(del_i(s, moved_i), 0);
    CU_ASSERT_FATAL(resizing(s));
    CU_ASSERT_EQUAL(has_i(s, old_i), 0);
    CU_ASSERT_EQUAL(has_i(s, moved_i), 0);
    CU_ASSERT_EQUAL(store_count(s), n - 2);
    CU_ASSERT_EQUAL(check_tables(s), 0);

    /* Finish the resize with writes that touch other keys. */
    while (resizing(s))
        CU_ASSERT_EQUAL(del_i(s, SIZE_MAX), -ENOENT);
    CU_ASSERT_EQUAL(has_i(s, old_i), 0);
    CU_ASSERT_EQUAL(has_i(s, moved_i), 0);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += has_i(s, i) != (i != old_i && i != moved_i);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(store_count(s), n - 2);
    CU_ASSERT_EQUAL(check_tables(s), 0);
    store_free(s);
}

/* ==== Readers do not write ============================================== */

static int record_cb(const char *key, size_t klen, const char *val, size_t vlen, void *arg)
{
    (void)klen;
    (void)val;
    (void)vlen;
    const char ***cursor = arg;
    *(*cursor)++ = key;
    return 0;
}

static void test_reads_are_pure_mid_resize(void)
{
    store_t *s = store_new();
    size_t n = 0;
    while (s->t[0].size < 4096 || !resizing(s))
        set_i(s, n++);
    set_i(s, n++);
    CU_ASSERT_FATAL(resizing(s));

    /* Snapshot everything a write could change. */
    store_t before = *s;
    size_t bytes0 = s->t[0].size * sizeof(entry_t *), bytes1 = s->t[1].size * sizeof(entry_t *);
    entry_t **buckets0 = malloc(bytes0), **buckets1 = malloc(bytes1);
    const char **order_before = malloc(n * sizeof *order_before);
    const char **order_after = malloc(n * sizeof *order_after);
    CU_ASSERT_FATAL(buckets0 && buckets1 && order_before && order_after);
    memcpy(buckets0, s->t[0].buckets, bytes0);
    memcpy(buckets1, s->t[1].buckets, bytes1);
    const char **cursor = order_before;
    store_foreach(s, record_cb, &cursor);

    /* Read every key, present or not, many times over. */
    size_t bad = 0;
    for (int round = 0; round < 3; round++)
        for (size_t i = 0; i < 2 * n; i++)
            bad += has_i(s, i) != (i < n);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(store_count(s), n);

    CU_ASSERT_EQUAL(memcmp(&before, s, sizeof before), 0);
    CU_ASSERT_EQUAL(memcmp(buckets0, s->t[0].buckets, bytes0), 0);
    CU_ASSERT_EQUAL(memcmp(buckets1, s->t[1].buckets, bytes1), 0);
    cursor = order_after;
    store_foreach(s, record_cb, &cursor);
    CU_ASSERT_EQUAL((size_t)(cursor - order_after), n);
    CU_ASSERT_EQUAL(memcmp(order_before, order_after, n * sizeof *order_before), 0);

    free(buckets0);
    free(buckets1);
    free(order_before);
    free(order_after);
    store_free(s);
}

/* ==== Suites ============================================================== */

static CU_TestInfo growth_tests[] = {
    {"200,000 keys", test_many_keys},
    {"growth is incremental", test_growth_is_incremental},
    {"deletes during growth", test_deletes_during_growth},
    {"delete from both tables mid-resize", test_delete_from_both_tables_mid_resize},
    {"reads are pure mid-resize", test_reads_are_pure_mid_resize},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"growth", NULL, NULL, NULL, NULL, growth_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
