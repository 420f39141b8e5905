/* Unit tests of the reply encoder, common/resp_reply.c: each resp_add_*()
 * byte for byte, and a round trip through the parser. */

#include "resp_fixture.h"

#include "alloc.h"
#include "buf.h"
#include "harness.h"
#include "resp.h"
#include "resp_reply.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ==== Encoder tests ====================================================== */

static buf_t out;

static int encoder_setup(void)
{
    buf_init(&out);
    return 0;
}

static int encoder_teardown(void)
{
    buf_free(&out);
    return 0;
}

/* Checks that out holds exactly want[0..len), then empties it. */
static void expect_out(const char *want, size_t len)
{
    CU_ASSERT_EQUAL(out.len, len);
    CU_ASSERT(out.len == len && memcmp(out.data, want, len) == 0);
    if (out.len != len || memcmp(out.data, want, len) != 0) {
        print_bytes("encoded", out.data, out.len);
        print_bytes("wanted", want, len);
    }
    buf_clear(&out);
}

static void test_add_simple(void)
{
    resp_add_simple(&out, "OK");
    expect_out(B("+OK\r\n"));
    resp_add_simple(&out, "");
    expect_out(B("+\r\n"));
    resp_add_simple(&out, "PONG");
    resp_add_simple(&out, "QUEUED");
    expect_out(B("+PONG\r\n+QUEUED\r\n"));
}

static void test_add_error(void)
{
    resp_add_error(&out, "ERR unknown command");
    expect_out(B("-ERR unknown command\r\n"));
    resp_add_error(&out, "");
    expect_out(B("-\r\n"));
    /* CR and LF inside become spaces; what was in the buffer before is
     * left alone. */
    resp_add_simple(&out, "OK");
    resp_add_error(&out, "ERR bad\r\nthing\n\r");
    expect_out(B("+OK\r\n-ERR bad  thing  \r\n"));
    resp_add_error(&out, "WRONGTYPE Operation against a key holding the wrong kind of value");
    expect_out(B("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"));
}

static void test_add_errorf(void)
{
    resp_add_errorf(&out, "ERR unknown command '%s', with args beginning with: %s", "foo", "");
    expect_out(B("-ERR unknown command 'foo', with args beginning with: \r\n"));
    resp_add_errorf(&out, "ERR %s", "a\r\nb");
    expect_out(B("-ERR a  b\r\n"));
    resp_add_errorf(&out, "%s", "");
    expect_out(B("-\r\n"));

    /* Long messages are not cut short. */
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    resp_add_simple(&out, "OK");
    resp_add_errorf(&out, "ERR %s%d", big, 42);
    CU_ASSERT_EQUAL(out.len, 5 + 1 + 4 + (sizeof big - 1) + 2 + 2);
    CU_ASSERT(memcmp(out.data, "+OK\r\n-ERR xx", 12) == 0);
    CU_ASSERT(memcmp(out.data + out.len - 6, "xx42\r\n", 6) == 0);
    buf_clear(&out);
}

static void test_add_int(void)
{
    resp_add_int(&out, 0);
    expect_out(B(":0\r\n"));
    resp_add_int(&out, -1);
    expect_out(B(":-1\r\n"));
    resp_add_int(&out, 1048576);
    expect_out(B(":1048576\r\n"));
    resp_add_int(&out, LLONG_MAX);
    expect_out(B(":9223372036854775807\r\n"));
    resp_add_int(&out, LLONG_MIN);
    expect_out(B(":-9223372036854775808\r\n"));
}

static void test_add_bulk(void)
{
    resp_add_bulk(&out, "bar", 3);
    expect_out(B("$3\r\nbar\r\n"));
    resp_add_bulk(&out, "", 0);
    expect_out(B("$0\r\n\r\n"));
    resp_add_bulk(&out, NULL, 0);
    expect_out(B("$0\r\n\r\n"));
    resp_add_bulk(&out, "a\0\r\nb", 5);
    expect_out(B("$5\r\na\0\r\nb\r\n"));

    /* Large values: the length is written in full, the bytes unchanged. */
    size_t n = 200000;
    char *value = xmalloc(n);
    for (size_t i = 0; i < n; i++)
        value[i] = (char)(i % 253);
    resp_add_bulk(&out, value, n);
    CU_ASSERT_EQUAL(out.len, 9 + n + 2);
    CU_ASSERT(memcmp(out.data, "$200000\r\n", 9) == 0);
    CU_ASSERT(memcmp(out.data + 9, value, n) == 0);
    CU_ASSERT(memcmp(out.data + 9 + n, "\r\n", 2) == 0);
    buf_clear(&out);
    free(value);
}

static void test_add_null_and_array(void)
{
    resp_add_null(&out);
    expect_out(B("$-1\r\n"));
    resp_add_array(&out, 0);
    expect_out(B("*0\r\n"));
    resp_add_array(&out, 2);
    resp_add_bulk(&out, "a", 1);
    resp_add_null(&out);
    expect_out(B("*2\r\n$1\r\na\r\n$-1\r\n"));
    resp_add_array(&out, 1048576);
    expect_out(B("*1048576\r\n"));
}

/* What the encoder writes, the parser reads back. */
static void test_round_trip(void)
{
    static const char value[] = "a\0\r\n\"b'";
    resp_add_array(&out, 3);
    resp_add_bulk(&out, "SET", 3);
    resp_add_bulk(&out, "k", 1);
    resp_add_bulk(&out, value, sizeof value - 1);

    resp_parser_t p;
    size_t consumed;
    resp_parser_init(&p);
    CU_ASSERT_EQUAL_FATAL(resp_parse(&p, out.data, out.len, &consumed), RESP_COMPLETE);
    CU_ASSERT_EQUAL(consumed, out.len);
    CU_ASSERT_EQUAL_FATAL(p.argc, 3);
    CU_ASSERT_EQUAL(p.argv[2].len, sizeof value - 1);
    CU_ASSERT(memcmp(p.argv[2].ptr, value, sizeof value - 1) == 0);
    resp_parser_free(&p);
    buf_clear(&out);
}

/* ==== Registration ======================================================== */

static CU_TestInfo encoder_tests[] = {
    {"simple", test_add_simple},     {"error", test_add_error},
    {"errorf", test_add_errorf},     {"int", test_add_int},
    {"bulk", test_add_bulk},         {"null and array", test_add_null_and_array},
    {"round trip", test_round_trip}, CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"resp encoder", encoder_setup, encoder_teardown, NULL, NULL, encoder_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
