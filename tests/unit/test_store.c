/*
 * Tests of the store.
 *
 * This file includes store.c itself rather than linking it, so that the
 * tests can see the tables: "a delete while a resize is in progress" is
 * only a test if it can check that a resize is in progress. Build it
 * without common/store.c on the command line (the Makefile links
 * libcommon.a, from which store.o is then never pulled in).
 */
#include "store.c"

#include "harness.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== Helpers ============================================================= */

/* "key:<i>" */
static size_t make_key(char *out, size_t outlen, size_t i)
{
    return (size_t)snprintf(out, outlen, "key:%zu", i);
}

/* "v\0<i>": every value carries a NUL byte inside. */
static size_t make_val(char *out, size_t outlen, size_t i)
{
    int n = snprintf(out, outlen, "v_%zu", i);
    out[1] = '\0';
    return (size_t)n;
}

static void set_i(store_t *s, size_t i)
{
    char k[32], v[32];
    size_t klen = make_key(k, sizeof k, i), vlen = make_val(v, sizeof v, i);
    store_set(s, k, klen, v, vlen);
}

static int del_i(store_t *s, size_t i)
{
    char k[32];
    size_t klen = make_key(k, sizeof k, i);
    return store_del(s, k, klen);
}

/* 1 when key i is there with the value set_i() gives it, 0 when it is
 * missing, -1 when it is there with the wrong value. */
static int has_i(const store_t *s, size_t i)
{
    char k[32], v[32];
    size_t klen = make_key(k, sizeof k, i), vlen = make_val(v, sizeof v, i);
    const char *got;
    size_t glen;
    if (store_get(s, k, klen, &got, &glen) != 0)
        return 0;
    return glen == vlen && memcmp(got, v, vlen) == 0 ? 1 : -1;
}

/* Returns the index of a "key:<i>" key, or SIZE_MAX. */
static size_t key_index(const char *key, size_t klen)
{
    char copy[32];
    if (klen < 5 || klen >= sizeof copy || memcmp(key, "key:", 4) != 0)
        return SIZE_MAX;
    memcpy(copy, key, klen);
    copy[klen] = '\0';
    char *end;
    unsigned long long i = strtoull(copy + 4, &end, 10);
    return *end == '\0' ? (size_t)i : SIZE_MAX;
}

/*
 * Checks the tables against what they must be at every point: sizes are
 * powers of two, every entry sits in the bucket its hash names, the counts
 * match the chains, and during a resize the buckets of t[0] that were
 * already moved are empty. Returns the number of problems found.
 */
static size_t check_tables(const store_t *s)
{
    size_t problems = 0;
    for (int i = 0; i < 2; i++) {
        const table_t *t = &s->t[i];
        if (t->size == 0) {
            problems += t->buckets != NULL || t->used != 0 || i == 0;
            continue;
        }
        problems += (t->size & (t->size - 1)) != 0;
        size_t n = 0;
        for (size_t b = 0; b < t->size; b++) {
            for (const entry_t *e = t->buckets[b]; e != NULL; e = e->next) {
                n++;
                problems += e->hash != key_hash(s, e->data, e->klen);
                problems += (e->hash & (t->size - 1)) != b;
                problems += i == 0 && resizing(s) && b < s->rehash_next;
            }
        }
        problems += n != t->used;
    }
    return problems;
}

/* ==== Basics ============================================================== */

static void test_set_get_replace_del(void)
{
    store_t *s = store_new();
    const char *v = NULL;
    size_t vlen = 0;

    CU_ASSERT_EQUAL(store_get(s, "a", 1, &v, &vlen), -ENOENT);
    store_set(s, "a", 1, "one", 3);
    CU_ASSERT_EQUAL_FATAL(store_get(s, "a", 1, &v, &vlen), 0);
    CU_ASSERT_EQUAL(vlen, 3);
    CU_ASSERT_NSTRING_EQUAL(v, "one", 3);

    /* Replace with a longer, a same-sized and a shorter value. */
    store_set(s, "a", 1, "eleven", 6);
    CU_ASSERT_EQUAL_FATAL(store_get(s, "a", 1, &v, &vlen), 0);
    CU_ASSERT_EQUAL(vlen, 6);
    CU_ASSERT_NSTRING_EQUAL(v, "eleven", 6);
    store_set(s, "a", 1, "twelve", 6);
    CU_ASSERT_EQUAL_FATAL(store_get(s, "a", 1, &v, &vlen), 0);
    CU_ASSERT_NSTRING_EQUAL(v, "twelve", 6);
    store_set(s, "a", 1, "2", 1);
    CU_ASSERT_EQUAL_FATAL(store_get(s, "a", 1, &v, &vlen), 0);
    CU_ASSERT_EQUAL(vlen, 1);
    CU_ASSERT_EQUAL(v[0], '2');
    CU_ASSERT_EQUAL(store_count(s), 1);

    /* A prefix and an extension of a key are other keys. */
    CU_ASSERT_EQUAL(store_get(s, "ab", 2, &v, &vlen), -ENOENT);
    store_set(s, "ab", 2, "x", 1);
    CU_ASSERT_EQUAL(store_count(s), 2);

    CU_ASSERT_EQUAL(store_del(s, "a", 1), 0);
    CU_ASSERT_EQUAL(store_get(s, "a", 1, &v, &vlen), -ENOENT);
    CU_ASSERT_EQUAL(store_del(s, "a", 1), -ENOENT);
    CU_ASSERT_EQUAL_FATAL(store_get(s, "ab", 2, &v, &vlen), 0);
    CU_ASSERT_NSTRING_EQUAL(v, "x", 1);
    CU_ASSERT_EQUAL(store_count(s), 1);

    /* A deleted key can come back. */
    store_set(s, "a", 1, "again", 5);
    CU_ASSERT_EQUAL_FATAL(store_get(s, "a", 1, &v, &vlen), 0);
    CU_ASSERT_NSTRING_EQUAL(v, "again", 5);
    CU_ASSERT_EQUAL(check_tables(s), 0);
    store_free(s);
}

static void test_binary_keys_and_values(void)
{
    store_t *s = store_new();
    const char *v = NULL;
    size_t vlen = 0;
    static const char nuls[4] = {'1', '\0', '\0', '1'}; /* a value with NULs inside */

    store_set(s, "a\0b", 3, nuls, sizeof nuls);
    store_set(s, "a\0c", 3, "2", 1);
    store_set(s, "a", 1, "3", 1);
    store_set(s, "\0", 1, "\0", 1);
    store_set(s, "\xff\xfe\r\n", 4, "\r\n$3\r\n", 6);
    CU_ASSERT_EQUAL(store_count(s), 5);

    CU_ASSERT_EQUAL_FATAL(store_get(s, "a\0b", 3, &v, &vlen), 0);
    CU_ASSERT_EQUAL(vlen, 4);
    CU_ASSERT_EQUAL(memcmp(v, nuls, sizeof nuls), 0);
    CU_ASSERT_EQUAL_FATAL(store_get(s, "a\0c", 3, &v, &vlen), 0);
    CU_ASSERT_EQUAL(vlen, 1);
    CU_ASSERT_EQUAL(v[0], '2');
    CU_ASSERT_EQUAL_FATAL(store_get(s, "a", 1, &v, &vlen), 0);
    CU_ASSERT_EQUAL(v[0], '3');
    CU_ASSERT_EQUAL_FATAL(store_get(s, "\0", 1, &v, &vlen), 0);
    CU_ASSERT_EQUAL(vlen, 1);
    CU_ASSERT_EQUAL(v[0], '\0');
    CU_ASSERT_EQUAL_FATAL(store_get(s, "\xff\xfe\r\n", 4, &v, &vlen), 0);
    CU_ASSERT_EQUAL(memcmp(v, "\r\n$3\r\n", 6), 0);
    CU_ASSERT_EQUAL(store_get(s, "a\0", 2, &v, &vlen), -ENOENT);

    CU_ASSERT_EQUAL(store_del(s, "a\0b", 3), 0);
    CU_ASSERT_EQUAL(store_get(s, "a\0b", 3, &v, &vlen), -ENOENT);
    CU_ASSERT_EQUAL(store_get(s, "a\0c", 3, &v, &vlen), 0);
    CU_ASSERT_EQUAL(store_get(s, "a", 1, &v, &vlen), 0);
    store_free(s);
}

static void test_empty_key_and_value(void)
{
    store_t *s = store_new();
    const char *v = NULL;
    size_t vlen = 0;

    store_set(s, "", 0, "empty key", 9);
    store_set(s, "k", 1, "", 0);
    CU_ASSERT_EQUAL(store_count(s), 2);

    CU_ASSERT_EQUAL_FATAL(store_get(s, "", 0, &v, &vlen), 0);
    CU_ASSERT_EQUAL(vlen, 9);
    CU_ASSERT_NSTRING_EQUAL(v, "empty key", 9);
    CU_ASSERT_EQUAL(store_get(s, "\0", 1, &v, &vlen), -ENOENT); /* not the empty key */

    vlen = 123;
    CU_ASSERT_EQUAL_FATAL(store_get(s, "k", 1, &v, &vlen), 0);
    CU_ASSERT_EQUAL(vlen, 0);
    CU_ASSERT_PTR_NOT_NULL(v);

    /* An empty value replaced by a non-empty one and back. */
    store_set(s, "k", 1, "full", 4);
    CU_ASSERT_EQUAL_FATAL(store_get(s, "k", 1, &v, &vlen), 0);
    CU_ASSERT_EQUAL(vlen, 4);
    store_set(s, "k", 1, "", 0);
    CU_ASSERT_EQUAL_FATAL(store_get(s, "k", 1, &v, &vlen), 0);
    CU_ASSERT_EQUAL(vlen, 0);

    /* Empty key with an empty value. */
    store_set(s, "", 0, "", 0);
    CU_ASSERT_EQUAL_FATAL(store_get(s, "", 0, &v, &vlen), 0);
    CU_ASSERT_EQUAL(vlen, 0);
    CU_ASSERT_EQUAL(store_count(s), 2);
    CU_ASSERT_EQUAL(store_del(s, "", 0), 0);
    CU_ASSERT_EQUAL(store_get(s, "", 0, &v, &vlen), -ENOENT);
    CU_ASSERT_EQUAL(store_count(s), 1);
    store_free(s);
}

static void test_counts(void)
{
    store_t *s = store_new();
    CU_ASSERT_EQUAL(store_count(s), 0);
    for (size_t i = 0; i < 100; i++) {
        set_i(s, i);
        CU_ASSERT_EQUAL(store_count(s), i + 1);
    }
    for (size_t i = 0; i < 100; i++)
        set_i(s, i); /* replacing adds nothing */
    CU_ASSERT_EQUAL(store_count(s), 100);
    CU_ASSERT_EQUAL(del_i(s, 1000), -ENOENT); /* deleting nothing removes nothing */
    CU_ASSERT_EQUAL(store_count(s), 100);
    for (size_t i = 0; i < 100; i += 2)
        CU_ASSERT_EQUAL(del_i(s, i), 0);
    CU_ASSERT_EQUAL(store_count(s), 50);
    for (size_t i = 0; i < 100; i++)
        CU_ASSERT_EQUAL(has_i(s, i), i % 2 ? 1 : 0);
    store_free(s);
    store_free(NULL); /* allowed, like free(NULL) */
}

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

/* ==== Hash ================================================================ */

static void test_siphash_vectors(void)
{
    /* From the SipHash paper and its reference test vectors: key
     * 00 01 .. 0f, message 00 01 .. (len - 1). */
    unsigned char key[16], msg[64];
    for (int i = 0; i < 16; i++)
        key[i] = (unsigned char)i;
    for (int i = 0; i < 64; i++)
        msg[i] = (unsigned char)i;
    uint64_t k0 = load_le(key, 8), k1 = load_le(key + 8, 8);
    CU_ASSERT_EQUAL(siphash24(k0, k1, msg, 0), 0x726fdb47dd0e0e31ULL);
    CU_ASSERT_EQUAL(siphash24(k0, k1, msg, 8), 0x93f5f5799a932462ULL);
    CU_ASSERT_EQUAL(siphash24(k0, k1, msg, 15), 0xa129ca6149be45e5ULL);
    CU_ASSERT_EQUAL(siphash24(k0, k1, msg, 63), 0x958a324ceb064572ULL);
}

static void test_seed_is_random(void)
{
    store_t *s = store_new();
    store_t *t = store_new();
    /* Zero would mean the seed was never read; the chance that a random
     * 128-bit seed is zero, or that two stores draw the same, is nil. */
    CU_ASSERT(s->seed[0] != 0 || s->seed[1] != 0);
    CU_ASSERT_NOT_EQUAL(key_hash(s, "a", 1), siphash24(0, 0, "a", 1));
    CU_ASSERT(s->seed[0] != t->seed[0] || s->seed[1] != t->seed[1]);
    store_free(t);
    store_free(s);
}

/* ==== Suites ============================================================== */

static CU_TestInfo basic_tests[] = {
    {"set, get, replace, del", test_set_get_replace_del},
    {"binary keys and values", test_binary_keys_and_values},
    {"empty key and empty value", test_empty_key_and_value},
    {"counts", test_counts},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo growth_tests[] = {
    {"200,000 keys", test_many_keys},
    {"growth is incremental", test_growth_is_incremental},
    {"deletes during growth", test_deletes_during_growth},
    {"delete from both tables mid-resize", test_delete_from_both_tables_mid_resize},
    {"reads are pure mid-resize", test_reads_are_pure_mid_resize},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo foreach_tests[] = {
    {"every entry exactly once", test_foreach_exactly_once},
    {"large store mid-resize", test_foreach_large_mid_resize},
    {"early stop", test_foreach_early_stop},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo hash_tests[] = {
    {"SipHash-2-4 vectors", test_siphash_vectors},
    {"seed is random", test_seed_is_random},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"basic", NULL, NULL, NULL, NULL, basic_tests},
    {"growth", NULL, NULL, NULL, NULL, growth_tests},
    {"foreach", NULL, NULL, NULL, NULL, foreach_tests},
    {"hash", NULL, NULL, NULL, NULL, hash_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
