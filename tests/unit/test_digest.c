#include "digest.h"
#include "harness.h"

#include <stdint.h>
#include <string.h>

/* ==== Plain FNV-1a 64 (rounds == 1) ====================================== */

static void test_known_vectors(void)
{
    /* The reference values of the FNV test suite. */
    CU_ASSERT_EQUAL(digest_fnv1a("", 0, 1), 0xcbf29ce484222325ULL);
    CU_ASSERT_EQUAL(digest_fnv1a("a", 1, 1), 0xaf63dc4c8601ec8cULL);
    CU_ASSERT_EQUAL(digest_fnv1a("foo", 3, 1), 0xdcb27518fed9d577ULL);
    CU_ASSERT_EQUAL(digest_fnv1a("foobar", 6, 1), 0x85944171f73967e8ULL);
    CU_ASSERT_EQUAL(digest_fnv1a("chongo was here!\n", 17, 1), 0x46810940eff5f915ULL);
}

static void test_binary_data(void)
{
    /* A NUL byte is data like any other, not the end of the input. */
    CU_ASSERT_EQUAL(digest_fnv1a("\0", 1, 1), 0xaf63bd4c8601b7dfULL);
    CU_ASSERT_EQUAL(digest_fnv1a("a\0b", 3, 1), 0xe5d29919042666b2ULL);
    CU_ASSERT_NOT_EQUAL(digest_fnv1a("a\0b", 3, 1), digest_fnv1a("a", 1, 1));
}

/* ==== Iterated ============================================================ */

static void test_two_rounds_is_data_twice(void)
{
    CU_ASSERT_EQUAL(digest_fnv1a("foobar", 6, 2), digest_fnv1a("foobarfoobar", 12, 1));
    CU_ASSERT_EQUAL(digest_fnv1a("a", 1, 2), digest_fnv1a("aa", 2, 1));
    CU_ASSERT_NOT_EQUAL(digest_fnv1a("foobar", 6, 2), digest_fnv1a("foobar", 6, 1));
}

static void test_many_rounds_is_data_repeated(void)
{
    const char unit[] = "x\0y\r\n"; /* 5 bytes, NUL and CRLF included */
    const size_t unit_len = sizeof unit - 1;
    enum { ROUNDS = 37 };
    char repeated[ROUNDS * 5];
    for (int i = 0; i < ROUNDS; i++)
        memcpy(repeated + (size_t)i * unit_len, unit, unit_len);
    CU_ASSERT_EQUAL(digest_fnv1a(unit, unit_len, ROUNDS),
                    digest_fnv1a(repeated, sizeof repeated, 1));
}

static void test_empty_data_any_rounds(void)
{
    /* No bytes, no multiplications: the offset basis, however many rounds. */
    CU_ASSERT_EQUAL(digest_fnv1a("", 0, 1000), 0xcbf29ce484222325ULL);
}

/* ==== Hex ================================================================= */

static void test_hex(void)
{
    char out[17];
    memset(out, 'z', sizeof out);
    digest_hex(0xcbf29ce484222325ULL, out);
    CU_ASSERT_STRING_EQUAL(out, "cbf29ce484222325");

    digest_hex(0, out);
    CU_ASSERT_STRING_EQUAL(out, "0000000000000000"); /* zero-padded to 16 */

    digest_hex(0x1ULL, out);
    CU_ASSERT_STRING_EQUAL(out, "0000000000000001");

    digest_hex(UINT64_MAX, out);
    CU_ASSERT_STRING_EQUAL(out, "ffffffffffffffff");

    digest_hex(0x0123456789abcdefULL, out);
    CU_ASSERT_STRING_EQUAL(out, "0123456789abcdef"); /* lowercase, most significant first */
    CU_ASSERT_EQUAL(out[16], '\0');
}

static CU_TestInfo fnv_tests[] = {
    {"known vectors", test_known_vectors},
    {"binary data", test_binary_data},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo rounds_tests[] = {
    {"two rounds is the data twice", test_two_rounds_is_data_twice},
    {"many rounds is the data repeated", test_many_rounds_is_data_repeated},
    {"empty data", test_empty_data_any_rounds},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo hex_tests[] = {
    {"hex formatting", test_hex},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"fnv1a", NULL, NULL, NULL, NULL, fnv_tests},
    {"rounds", NULL, NULL, NULL, NULL, rounds_tests},
    {"hex", NULL, NULL, NULL, NULL, hex_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
