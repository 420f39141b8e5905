/*
 * Unit tests of the store's basics: set, get, replace and delete, binary
 * and empty keys and values, and counts. White-box: store_fixture.h
 * includes store.c itself. Growth is tested in test_store_growth.c,
 * iteration in test_store_foreach.c, the hash in test_store_hash.c.
 */

#include "store_fixture.h"

#include "harness.h"

#include <errno.h>
#include <stddef.h>

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

/* ==== Suites ============================================================== */

static CU_TestInfo basic_tests[] = {
    {"set, get, replace, del", test_set_get_replace_del},
    {"binary keys and values", test_binary_keys_and_values},
    {"empty key and empty value", test_empty_key_and_value},
    {"counts", test_counts},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"basic", NULL, NULL, NULL, NULL, basic_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
