#ifndef STORE_FIXTURE_H
#define STORE_FIXTURE_H

/*
 * What the unit tests of the store share (test_store.c,
 * test_store_growth.c, test_store_foreach.c): keys "key:<i>" with values
 * that carry a NUL, and a check of the tables' invariants.
 *
 * The tests include store.c itself rather than linking it, so that they
 * can see the tables: "a delete while a resize is in progress" is only a
 * test if it can check that a resize is in progress. This header does the
 * including, so a test file includes it instead of store.c and is built
 * without common/store.c on the command line (the Makefile links
 * libcommon.a, from which store.o is then never pulled in). The store's
 * internals are static, so the helpers that look at them cannot live in a
 * fixture linked beside the test, as cmd_fixture.c and dump_fixture.c do:
 * they are defined here, static inline so that a test file that does not
 * use one of them compiles without a warning.
 */
#include "store.c"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== Helpers ============================================================= */

/* "key:<i>" */
static inline size_t make_key(char *out, size_t outlen, size_t i)
{
    return (size_t)snprintf(out, outlen, "key:%zu", i);
}

/* "v\0<i>": every value carries a NUL byte inside. */
static inline size_t make_val(char *out, size_t outlen, size_t i)
{
    int n = snprintf(out, outlen, "v_%zu", i);
    out[1] = '\0';
    return (size_t)n;
}

static inline void set_i(store_t *s, size_t i)
{
    char k[32], v[32];
    size_t klen = make_key(k, sizeof k, i), vlen = make_val(v, sizeof v, i);
    store_set(s, k, klen, v, vlen);
}

static inline int del_i(store_t *s, size_t i)
{
    char k[32];
    size_t klen = make_key(k, sizeof k, i);
    return store_del(s, k, klen);
}

/* 1 when key i is there with the value set_i() gives it, 0 when it is
 * missing, -1 when it is there with the wrong value. */
static inline int has_i(const store_t *s, size_t i)
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
static inline size_t key_index(const char *key, size_t klen)
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
static inline size_t check_tables(const store_t *s)
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

#endif /* STORE_FIXTURE_H */
