/* Unit tests of common/dump.c's format: dump_serialize() byte for byte,
 * the file dump_save() writes, and round trips through dump_load().
 * Corrupt files, writing the file and the lock have files of their own
 * (test_dump_corrupt.c, test_dump_write.c, test_dump_lock.c), over
 * dump_fixture.c. */

#include "dump_fixture.h"

#include "dump.h"
#include "harness.h"

#include "buf.h"
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ==== Serialising ========================================================= */

static void test_serialize_exact(void)
{
    store_t *s = store_new();
    buf_t out = BUF_INIT, want = BUF_INIT;

    /* The checksum was computed elsewhere (a bit-by-bit Python script). */
    store_set(s, "k\0y", 3, "hello\r\n", 7);
    dump_serialize(s, &out);
    static const char one[] = "*2\r\n$4\r\nECHO\r\n$20\r\nstaged-ports dump v1\r\n"
                              "*3\r\n$3\r\nSET\r\n$3\r\nk\0y\r\n$7\r\nhello\r\n\r\n"
                              "*2\r\n$4\r\nECHO\r\n$51\r\n"
                              "staged-ports dump end keys=1 crc64=b08f06aa22cbc56a\r\n";
    CU_ASSERT_EQUAL_FATAL(out.len, sizeof one - 1);
    CU_ASSERT_EQUAL(memcmp(out.data, one, sizeof one - 1), 0);

    /* Appends: what was in out stays in front, outside the checksum. */
    buf_clear(&out);
    buf_append_str(&out, "prefix");
    dump_serialize(s, &out);
    CU_ASSERT_EQUAL_FATAL(out.len, 6 + sizeof one - 1);
    CU_ASSERT_EQUAL(memcmp(out.data, "prefix", 6), 0);
    CU_ASSERT_EQUAL(memcmp(out.data + 6, one, sizeof one - 1), 0);

    /* Two keys, an empty key and an empty value: in either order. */
    store_del(s, "k\0y", 3);
    store_set(s, "", 0, "v", 1);
    store_set(s, "k", 1, "", 0);
    buf_clear(&out);
    dump_serialize(s, &out);
    static const char a[] = "*3\r\n$3\r\nSET\r\n$0\r\n\r\n$1\r\nv\r\n";
    static const char b[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n";
    append_set(&want, "", 0, "v", 1);
    CU_ASSERT_EQUAL(want.len, sizeof a - 1); /* the helper writes what we think */
    buf_t ab = BUF_INIT, ba = BUF_INIT, body = BUF_INIT;
    buf_append(&body, a, sizeof a - 1);
    buf_append(&body, b, sizeof b - 1);
    make_file(&ab, body.data, body.len, 2);
    buf_clear(&body);
    buf_append(&body, b, sizeof b - 1);
    buf_append(&body, a, sizeof a - 1);
    make_file(&ba, body.data, body.len, 2);
    CU_ASSERT((out.len == ab.len && memcmp(out.data, ab.data, ab.len) == 0) ||
              (out.len == ba.len && memcmp(out.data, ba.data, ba.len) == 0));

    buf_free(&ab);
    buf_free(&ba);
    buf_free(&body);
    buf_free(&out);
    buf_free(&want);
    store_free(s);
}

static void test_serialize_empty(void)
{
    store_t *s = store_new();
    buf_t out = BUF_INIT;
    dump_serialize(s, &out);
    /* Header and trailer only: an empty store is not an empty file, so a
     * file cut to 0 bytes cannot pass for one. */
    static const char empty[] = "*2\r\n$4\r\nECHO\r\n$20\r\nstaged-ports dump v1\r\n"
                                "*2\r\n$4\r\nECHO\r\n$51\r\n"
                                "staged-ports dump end keys=0 crc64=c65a84bdaf0f6b54\r\n";
    CU_ASSERT_EQUAL_FATAL(out.len, sizeof empty - 1);
    CU_ASSERT_EQUAL(memcmp(out.data, empty, sizeof empty - 1), 0);
    buf_free(&out);
    store_free(s);
}

static void test_file_format(void)
{
    store_t *s = awkward_store(1000);
    CU_ASSERT_EQUAL_FATAL(dump_save(s, tmp_dump), 0);
    buf_t file = BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(read_raw(tmp_dump, &file), 0);
    CU_ASSERT_EQUAL(check_file_format(file.data, file.len), (long)store_count(s));

    /* And the file holds exactly what dump_serialize() gives. */
    buf_t mem = BUF_INIT;
    dump_serialize(s, &mem);
    CU_ASSERT_EQUAL_FATAL(mem.len, file.len);
    CU_ASSERT_EQUAL(memcmp(mem.data, file.data, mem.len), 0);
    buf_free(&mem);
    buf_free(&file);
    store_free(s);
}

/* ==== Round trips ========================================================= */

static void test_round_trip(void)
{
    store_t *s = awkward_store(10000);
    CU_ASSERT_EQUAL_FATAL(dump_save(s, tmp_dump), 0);

    store_t *loaded = NULL;
    char err[256] = "";
    CU_ASSERT_EQUAL_FATAL(dump_load(tmp_dump, &loaded, err, sizeof err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(loaded);
    CU_ASSERT_EQUAL(store_count(loaded), 10000 + 6);
    CU_ASSERT(stores_equal(s, loaded));
    CU_ASSERT(stores_equal(loaded, s));

    /* Saving what was loaded gives a file that loads the same again. */
    CU_ASSERT_EQUAL_FATAL(dump_save(loaded, tmp_dump), 0);
    store_t *again = NULL;
    CU_ASSERT_EQUAL_FATAL(dump_load(tmp_dump, &again, err, sizeof err), 0);
    CU_ASSERT(stores_equal(s, again));

    int tmp_left;
    CU_ASSERT_EQUAL(dir_entries(&tmp_left), 1);
    CU_ASSERT_FALSE(tmp_left);
    store_free(again);
    store_free(loaded);
    store_free(s);
}

static void test_round_trip_empty(void)
{
    store_t *s = store_new();
    CU_ASSERT_EQUAL_FATAL(dump_save(s, tmp_dump), 0);
    buf_t file = BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(read_raw(tmp_dump, &file), 0);
    CU_ASSERT_EQUAL(check_file_format(file.data, file.len), 0);

    store_t *loaded = NULL;
    char err[256] = "";
    CU_ASSERT_EQUAL_FATAL(dump_load(tmp_dump, &loaded, err, sizeof err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(loaded);
    CU_ASSERT_EQUAL(store_count(loaded), 0);
    buf_free(&file);
    store_free(loaded);
    store_free(s);
}

static void test_load_missing_file(void)
{
    store_t *loaded = (store_t *)&loaded; /* must stay untouched */
    char err[256] = "";
    CU_ASSERT_EQUAL(dump_load(tmp_dump, &loaded, err, sizeof err), -ENOENT);
    CU_ASSERT_PTR_EQUAL(loaded, (store_t *)&loaded);
    char want[400];
    snprintf(want, sizeof want, "%s: %s", tmp_dump, strerror(ENOENT));
    CU_ASSERT_STRING_EQUAL(err, want);
}

/* A file made by the test's own helpers loads: they write the format the
 * corruption tests below then break one thing at a time. */
static void test_load_hand_made(void)
{
    buf_t body = BUF_INIT, file = BUF_INIT;
    two_sets(&body);
    make_file(&file, body.data, body.len, 2);
    write_raw(tmp_dump, file.data, file.len);
    store_t *loaded = NULL;
    char err[256] = "";
    CU_ASSERT_EQUAL_FATAL(dump_load(tmp_dump, &loaded, err, sizeof err), 0);
    CU_ASSERT_EQUAL(store_count(loaded), 2);
    const char *v = NULL;
    size_t vlen = 0;
    CU_ASSERT_EQUAL_FATAL(store_get(loaded, "k2\0", 3, &v, &vlen), 0);
    CU_ASSERT(vlen == 5 && memcmp(v, "value", 5) == 0);
    store_free(loaded);
    buf_free(&body);
    buf_free(&file);
}

/* ==== Suites ============================================================== */

static CU_TestInfo serialize_tests[] = {
    {"byte-exact", test_serialize_exact},
    {"empty store", test_serialize_empty},
    {"file is header, SETs, trailer", test_file_format},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo load_tests[] = {
    {"round trip", test_round_trip},
    {"round trip of an empty store", test_round_trip_empty},
    {"missing file", test_load_missing_file},
    {"hand-made file", test_load_hand_made},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"serialize", NULL, NULL, dump_fixture_setup, dump_fixture_teardown, serialize_tests},
    {"load", NULL, NULL, dump_fixture_setup, dump_fixture_teardown, load_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
