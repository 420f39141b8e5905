/*
 * Unit tests of common/num.c: Redis's rules for integers (string2ll) and
 * doubles, byte-exact, overflow at both ends.
 */

#include "harness.h"
#include "num.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <string.h>

/* Texts with explicit lengths, so that NULs and unterminated slices can be
 * tested too. */
#define TXT(s) s, sizeof(s) - 1

typedef struct ll_case {
    const char *text;
    size_t len;
    int rc;
    long long value;
} ll_case_t;

static const ll_case_t ll_cases[] = {
    {TXT("0"), 0, 0},
    {TXT("1"), 0, 1},
    {TXT("-1"), 0, -1},
    {TXT("9"), 0, 9},
    {TXT("10"), 0, 10},
    {TXT("1048576"), 0, 1048576},
    {TXT("-1048576"), 0, -1048576},
    {TXT("9223372036854775807"), 0, LLONG_MAX},
    {TXT("-9223372036854775807"), 0, -LLONG_MAX},
    {TXT("-9223372036854775808"), 0, LLONG_MIN},
    /* overflow at both ends */
    {TXT("9223372036854775808"), -EINVAL, 0},
    {TXT("9223372036854775809"), -EINVAL, 0},
    {TXT("-9223372036854775809"), -EINVAL, 0},
    {TXT("18446744073709551615"), -EINVAL, 0},
    {TXT("18446744073709551616"), -EINVAL, 0},
    {TXT("99999999999999999999"), -EINVAL, 0},
    {TXT("-9999999999999999999"), -EINVAL, 0},
    /* more than NUM_LL_MAX_DIGITS characters, even when the value fits */
    {TXT("123456789012345678901"), -EINVAL, 0},
    {TXT("-123456789012345678901"), -EINVAL, 0},
    /* signs, zeros, blanks, junk */
    {TXT(""), -EINVAL, 0},
    {TXT("-"), -EINVAL, 0},
    {TXT("-0"), -EINVAL, 0},
    {TXT("00"), -EINVAL, 0},
    {TXT("01"), -EINVAL, 0},
    {TXT("-01"), -EINVAL, 0},
    {TXT("+1"), -EINVAL, 0},
    {TXT("+0"), -EINVAL, 0},
    {TXT("--1"), -EINVAL, 0},
    {TXT("1-"), -EINVAL, 0},
    {TXT(" 1"), -EINVAL, 0},
    {TXT("1 "), -EINVAL, 0},
    {TXT("\t1"), -EINVAL, 0},
    {TXT("1\r"), -EINVAL, 0},
    {TXT("1a"), -EINVAL, 0},
    {TXT("a1"), -EINVAL, 0},
    {TXT("1.0"), -EINVAL, 0},
    {TXT("1e3"), -EINVAL, 0},
    {TXT("0x10"), -EINVAL, 0},
    {TXT("1\0"), -EINVAL, 0},
    {TXT("\0"
         "1"),
     -EINVAL, 0},
};

static void test_ll_table(void)
{
    for (size_t i = 0; i < sizeof ll_cases / sizeof ll_cases[0]; i++) {
        const ll_case_t *c = &ll_cases[i];
        long long value = 12345;
        int rc = num_parse_ll(c->text, c->len, &value);
        CU_ASSERT_EQUAL(rc, c->rc);
        if (rc == 0 && c->rc == 0)
            CU_ASSERT_EQUAL(value, c->value);
        if (rc != c->rc || (rc == 0 && value != c->value))
            fprintf(stderr, "\n  num_parse_ll case %zu (\"%.*s\"): rc %d value %lld\n", i,
                    (int)c->len, c->text, rc, value);
    }
}

/* Only len bytes are read: the text need not end where the number does. */
static void test_ll_slice(void)
{
    long long value = 0;
    CU_ASSERT_EQUAL(num_parse_ll("123456", 3, &value), 0);
    CU_ASSERT_EQUAL(value, 123);
    CU_ASSERT_EQUAL(num_parse_ll("-5x", 2, &value), 0);
    CU_ASSERT_EQUAL(value, -5);
    CU_ASSERT_EQUAL(num_parse_ll("0123", 1, &value), 0);
    CU_ASSERT_EQUAL(value, 0);
    CU_ASSERT_EQUAL(num_parse_ll("12", 0, &value), -EINVAL);
    /* 20 characters is the most: LLONG_MIN needs them all. */
    const char *min = "-92233720368547758080";
    CU_ASSERT_EQUAL(num_parse_ll(min, 20, &value), 0);
    CU_ASSERT_EQUAL(value, LLONG_MIN);
    CU_ASSERT_EQUAL(num_parse_ll(min, 21, &value), -EINVAL);
}

/* Every value round-trips through its decimal text, around both ends and
 * around each power of ten. */
static void test_ll_round_trip(void)
{
    long long values[96];
    size_t n = 0;
    values[n++] = LLONG_MIN;
    values[n++] = LLONG_MIN + 1;
    values[n++] = LLONG_MAX;
    values[n++] = LLONG_MAX - 1;
    for (long long p = 1; n + 4 <= sizeof values / sizeof values[0]; p *= 10) {
        values[n++] = p;
        values[n++] = p - 1;
        values[n++] = -p;
        values[n++] = -(p - 1);
        if (p > LLONG_MAX / 10)
            break;
    }
    for (size_t i = 0; i < n; i++) {
        char text[32];
        int len = snprintf(text, sizeof text, "%lld", values[i]);
        long long value = 0;
        CU_ASSERT_EQUAL(num_parse_ll(text, (size_t)len, &value), 0);
        CU_ASSERT_EQUAL(value, values[i]);
    }
}

typedef struct double_case {
    const char *text;
    size_t len;
    int rc;
    double value;
} double_case_t;

static const double_case_t double_cases[] = {
    {TXT("0"), 0, 0.0},
    {TXT("1"), 0, 1.0},
    {TXT("1.5"), 0, 1.5},
    {TXT("-1.5"), 0, -1.5},
    {TXT("+1.5"), 0, 1.5}, /* strtod's syntax takes a '+' */
    {TXT(".5"), 0, 0.5},
    {TXT("5."), 0, 5.0},
    {TXT("1e3"), 0, 1000.0},
    {TXT("1E-3"), 0, 0.001},
    {TXT("-0"), 0, -0.0},
    {TXT("0x10"), 0, 16.0},
    {TXT("01.25"), 0, 1.25},
    {TXT("1.7976931348623157e308"), 0, DBL_MAX},
    {TXT("-1.7976931348623157e308"), 0, -DBL_MAX},
    {TXT("4e-320"), 0, 4e-320}, /* subnormal: kept, as in Redis */
    /* overflow, and underflow to zero */
    {TXT("1e309"), -EINVAL, 0},
    {TXT("-1e309"), -EINVAL, 0},
    {TXT("1e-400"), -EINVAL, 0},
    {TXT("-1e-400"), -EINVAL, 0},
    /* not finite */
    {TXT("inf"), -EINVAL, 0},
    {TXT("-inf"), -EINVAL, 0},
    {TXT("+inf"), -EINVAL, 0},
    {TXT("infinity"), -EINVAL, 0},
    {TXT("nan"), -EINVAL, 0},
    {TXT("-nan"), -EINVAL, 0},
    {TXT("NaN"), -EINVAL, 0},
    /* blanks, junk, empty */
    {TXT(""), -EINVAL, 0},
    {TXT(" 1"), -EINVAL, 0},
    {TXT("\t1"), -EINVAL, 0},
    {TXT("\n1"), -EINVAL, 0},
    {TXT("\v1"), -EINVAL, 0},
    {TXT("\f1"), -EINVAL, 0},
    {TXT("\r1"), -EINVAL, 0},
    {TXT("1 "), -EINVAL, 0},
    {TXT("1\n"), -EINVAL, 0},
    {TXT("1x"), -EINVAL, 0},
    {TXT("1.2.3"), -EINVAL, 0},
    {TXT("-"), -EINVAL, 0},
    {TXT("."), -EINVAL, 0},
    {TXT("e5"), -EINVAL, 0},
    {TXT("abc"), -EINVAL, 0},
    {TXT("1\0"), -EINVAL, 0},
    {TXT("1\0"
         "5"),
     -EINVAL, 0},
};

static void test_double_table(void)
{
    for (size_t i = 0; i < sizeof double_cases / sizeof double_cases[0]; i++) {
        const double_case_t *c = &double_cases[i];
        double value = 12345.0;
        int rc = num_parse_double(c->text, c->len, &value);
        CU_ASSERT_EQUAL(rc, c->rc);
        if (rc == 0 && c->rc == 0) {
            /* Exact: strtod() rounds the same text the same way. */
            CU_ASSERT(memcmp(&value, &c->value, sizeof value) == 0);
        }
        if (rc != c->rc || (rc == 0 && value != c->value))
            fprintf(stderr, "\n  num_parse_double case %zu (\"%.*s\"): rc %d value %g\n", i,
                    (int)c->len, c->text, rc, value);
    }
}

static void test_double_length(void)
{
    char text[80];
    double value = 0;

    /* 64 bytes is the most: "1" then 63 zeros is still fine... */
    memset(text, '0', sizeof text);
    text[0] = '1';
    CU_ASSERT_EQUAL(num_parse_double(text, 64, &value), 0);
    CU_ASSERT_EQUAL(value, 1e63);
    /* ...65 is too many, whatever they say. */
    CU_ASSERT_EQUAL(num_parse_double(text, 65, &value), -EINVAL);
    memset(text, '0', sizeof text);
    text[1] = '.';
    CU_ASSERT_EQUAL(num_parse_double(text, 64, &value), 0);
    CU_ASSERT_EQUAL(value, 0.0);
    CU_ASSERT_EQUAL(num_parse_double(text, 65, &value), -EINVAL);

    /* Only len bytes are read. */
    CU_ASSERT_EQUAL(num_parse_double("2.5xyz", 3, &value), 0);
    CU_ASSERT_EQUAL(value, 2.5);
    CU_ASSERT_EQUAL(num_parse_double("2.5e", 3, &value), 0);
    CU_ASSERT_EQUAL(value, 2.5);
    CU_ASSERT_EQUAL(num_parse_double("3.75", 1, &value), 0);
    CU_ASSERT_EQUAL(value, 3.0);
}

static CU_TestInfo ll_tests[] = {
    {"table", test_ll_table},
    {"slice", test_ll_slice},
    {"round trip", test_ll_round_trip},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo double_tests[] = {
    {"table", test_double_table},
    {"length", test_double_length},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"num_parse_ll", NULL, NULL, NULL, NULL, ll_tests},
    {"num_parse_double", NULL, NULL, NULL, NULL, double_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
