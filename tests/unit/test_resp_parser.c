/*
 * Unit tests of common/resp.c's request parser beyond the table: the
 * limits on counts, bulk and inline lengths, large inputs in pieces, a
 * caller whose buffer moves, busy and trim, and errors that stick.
 */

#include "resp_fixture.h"

#include "alloc.h"
#include "buf.h"
#include "harness.h"
#include "resp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ==== Parser tests ======================================================= */

/* A case too large for the table: its input and its expected requests are
 * built at run time. */
typedef struct big_case {
    parse_case_t c;
    buf_t in;
    buf_t reqs;
} big_case_t;

static void big_free(big_case_t *b)
{
    buf_free(&b->in);
    buf_free(&b->reqs);
}

static void big_done(big_case_t *b, const char *name, resp_status_t status, size_t consumed,
                     const char *error)
{
    b->c = (parse_case_t){name,         b->in.data,  b->in.len, status,
                          b->reqs.data, b->reqs.len, consumed,  error};
}

static void test_count_limit(void)
{
    /* RESP_ARRAY_MAX arguments, each one byte: fine. */
    big_case_t b = {0};
    buf_printf(&b.in, "*%d\r\n", RESP_ARRAY_MAX);
    for (int i = 0; i < RESP_ARRAY_MAX; i++) {
        char arg[8] = "$1\r\nx\r\n";
        arg[4] = (char)('a' + i % 26);
        buf_append(&b.in, arg, 7);
    }
    buf_append(&b.reqs, b.in.data, b.in.len);
    big_done(&b, "RESP_ARRAY_MAX arguments", RESP_INCOMPLETE, b.in.len, NULL);
    check_case_sampled(&b.c, 0, 3, 2);
    big_free(&b);

    /* One more is refused as soon as the count line ends. */
    static const parse_case_t over = {
        "RESP_ARRAY_MAX + 1", B("*1048577\r\n$1\r\nx\r\n"), RESP_ERROR, B(""), 0, ERR_MBULK};
    check_case_everyway(&over);
}

/* A declared count is not an allocation: the argument arrays grow with the
 * arguments that arrive. (White-box: looks at the private argv_cap.) */
static void test_count_does_not_allocate(void)
{
    resp_parser_t p;
    size_t consumed;
    resp_parser_init(&p);
    CU_ASSERT_EQUAL(resp_parse(&p, B("*1048576\r\n"), &consumed), RESP_INCOMPLETE);
    CU_ASSERT_EQUAL(consumed, 0);
    CU_ASSERT(p.argv_cap == 0 && p.argv == NULL && p.arg_off == NULL);
    CU_ASSERT_EQUAL(resp_parse(&p, B("*1048576\r\n$1\r\na\r\n$1\r\nb\r\n"), &consumed),
                    RESP_INCOMPLETE);
    CU_ASSERT(p.argv_cap >= 2 && p.argv_cap <= 16);
    resp_parser_free(&p);
}

static void test_bulk_limit(void)
{
    big_case_t b = {0};
    buf_printf(&b.in, "*2\r\n$3\r\nSET\r\n$%d\r\n", RESP_BULK_MAX);
    buf_reserve(&b.in, RESP_BULK_MAX + 2);
    for (size_t i = 0; i < RESP_BULK_MAX; i++)
        b.in.data[b.in.len + i] = (char)(i * 7 + i / 251);
    b.in.len += RESP_BULK_MAX;
    buf_append(&b.in, "\r\n", 2);
    buf_append(&b.reqs, b.in.data, b.in.len);
    big_done(&b, "RESP_BULK_MAX bytes", RESP_INCOMPLETE, b.in.len, NULL);
    check_case_sampled(&b.c, 0, 24, 12);
    big_free(&b);

    static const parse_case_t over = {
        "RESP_BULK_MAX + 1", B("*2\r\n$3\r\nSET\r\n$8388609\r\n"), RESP_ERROR, B(""), 0, ERR_BULK};
    check_case_everyway(&over);
}

/* One inline argument of len bytes, ended by end. */
static void inline_case(big_case_t *b, size_t len, const char *end, size_t end_len)
{
    buf_init(&b->in);
    buf_init(&b->reqs);
    buf_reserve(&b->in, len + end_len);
    memset(b->in.data, 'a', len);
    b->in.len = len;
    buf_append(&b->in, end, end_len);
}

static void test_inline_limit(void)
{
    big_case_t b;

    /* RESP_INLINE_MAX bytes before the CRLF, or before a LF: fine, however
     * the CR and the LF arrive. */
    inline_case(&b, RESP_INLINE_MAX, B("\r\n"));
    buf_printf(&b.reqs, "*1\r\n$%d\r\n", RESP_INLINE_MAX);
    buf_append(&b.reqs, b.in.data, RESP_INLINE_MAX);
    buf_append(&b.reqs, "\r\n", 2);
    big_done(&b, "RESP_INLINE_MAX bytes and CRLF", RESP_INCOMPLETE, b.in.len, NULL);
    check_case_sampled(&b.c, 1, 24, 64);
    b.in.len--;
    big_done(&b, "RESP_INLINE_MAX bytes and CR", RESP_INCOMPLETE, 0, NULL);
    b.c.reqs_len = 0;
    check_case_sampled(&b.c, 1, 24, 64);
    b.in.data[b.in.len - 1] = '\n';
    big_done(&b, "RESP_INLINE_MAX bytes and LF", RESP_INCOMPLETE, b.in.len, NULL);
    check_case_sampled(&b.c, 1, 24, 64);
    b.in.len--;
    big_done(&b, "RESP_INLINE_MAX bytes, no newline yet", RESP_INCOMPLETE, 0, NULL);
    b.c.reqs_len = 0;
    check_case_sampled(&b.c, 1, 24, 64);
    big_free(&b);

    /* One byte more is refused, with or without its newline. */
    static const struct {
        const char *name;
        const char *end;
        size_t end_len;
    } over[] = {
        {"RESP_INLINE_MAX + 1 bytes and CRLF", B("a\r\n")},
        {"RESP_INLINE_MAX + 1 bytes and LF", B("a\n")},
        {"RESP_INLINE_MAX + 1 bytes, no newline", B("a")},
        {"RESP_INLINE_MAX bytes, CR, CR, LF", B("\r\r\n")},
        {"RESP_INLINE_MAX bytes, CR, byte", B("\rb")},
        {"RESP_INLINE_MAX + 100 bytes, no newline", B("0123456789012345678901234567890123456789"
                                                      "012345678901234567890123456789012345678"
                                                      "901234567890123456789")},
    };
    for (size_t i = 0; i < sizeof over / sizeof over[0]; i++) {
        inline_case(&b, RESP_INLINE_MAX, over[i].end, over[i].end_len);
        big_done(&b, over[i].name, RESP_ERROR, 0, ERR_BIG);
        check_case_sampled(&b.c, 1, 24, 64);
        big_free(&b);
    }
}

/* A 1 MiB bulk arriving in small pieces: each piece costs O(1), so this
 * finishes in moments; a parser that rescanned from the start would take
 * hours and trip the harness's time limit. */
static void test_large_bulk_in_pieces(void)
{
    big_case_t b = {0};
    const size_t size = 1024 * 1024;
    buf_printf(&b.in, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%zu\r\n", size);
    buf_reserve(&b.in, size + 2);
    for (size_t i = 0; i < size; i++)
        b.in.data[b.in.len + i] = (char)(i % 251);
    b.in.len += size;
    buf_append(&b.in, "\r\n", 2);
    buf_append(&b.reqs, b.in.data, b.in.len);
    big_done(&b, "1 MiB bulk", RESP_INCOMPLETE, b.in.len, NULL);

    CU_ASSERT(check_feed(&b.c, (schedule_t){SCHED_STEP, 1, 0}, 0));
    CU_ASSERT(check_feed(&b.c, (schedule_t){SCHED_STEP, 3, 0}, 0));
    CU_ASSERT(check_feed(&b.c, (schedule_t){SCHED_RANDOM, 64, 99}, 0));
    CU_ASSERT(check_feed(&b.c, (schedule_t){SCHED_RANDOM, 1500, 4242}, 0));
    big_free(&b);
}

/*
 * A caller as a server is: a buf_t that receives bytes, is parsed, and
 * drops what was consumed; here the buffer also moves to a new address
 * before every call. Multibulk arguments must point into the buffer as it
 * is at the call, inline ones into the parser's own space.
 */
static void test_moving_buffer(void)
{
    static const char stream[] = "SET \"a b\" c\r\n"
                                 "*3\r\n$3\r\nSET\r\n$5\r\nkey\0\n\r\n$0\r\n\r\n"
                                 "\r\n"
                                 "*2\r\n$4\r\nECHO\r\n$11\r\nhello world\r\n";
    static const char *const want[][3] = {
        {"SET", "a b", "c"},
        {"SET", "key\0\n", ""},
        {"ECHO", "hello world", NULL},
    };
    static const size_t want_len[][3] = {{3, 3, 1}, {3, 5, 0}, {4, 11, 0}};
    static const size_t want_argc[] = {3, 3, 2};

    for (size_t piece = 1; piece <= 7; piece++) {
        resp_parser_t p;
        buf_t in = BUF_INIT;
        size_t sent = 0, got = 0;
        resp_parser_init(&p);
        while (sent < sizeof stream - 1) {
            size_t n = sizeof stream - 1 - sent < piece ? sizeof stream - 1 - sent : piece;
            buf_append(&in, stream + sent, n);
            sent += n;
            for (;;) {
                /* Move the bytes to a new address: the old one is freed. */
                char *moved = xmemdup(in.data, in.len);
                free(in.data);
                in.data = moved;
                in.cap = in.len;

                size_t consumed;
                resp_status_t st = resp_parse(&p, in.data, in.len, &consumed);
                CU_ASSERT_NOT_EQUAL_FATAL(st, RESP_ERROR);
                if (st == RESP_COMPLETE) {
                    CU_ASSERT_FATAL(got < 3);
                    CU_ASSERT_EQUAL(p.argc, want_argc[got]);
                    for (size_t i = 0; i < p.argc && i < 3; i++) {
                        CU_ASSERT_EQUAL(p.argv[i].len, want_len[got][i]);
                        CU_ASSERT(memcmp(p.argv[i].ptr, want[got][i], want_len[got][i]) == 0);
                        uintptr_t arg = (uintptr_t)p.argv[i].ptr, at = (uintptr_t)in.data;
                        int inside = arg >= at && arg <= at + in.len;
                        CU_ASSERT_EQUAL(inside, got != 0); /* the first one is inline */
                    }
                    got++;
                }
                buf_consume(&in, consumed);
                if (st != RESP_COMPLETE)
                    break;
            }
        }
        CU_ASSERT_EQUAL(got, 3);
        CU_ASSERT_EQUAL(in.len, 0);
        CU_ASSERT(!resp_parser_busy(&p));
        buf_free(&in);
        resp_parser_free(&p);
    }
}

static void test_busy_and_trim(void)
{
    resp_parser_t p;
    size_t consumed;
    resp_parser_init(&p);
    CU_ASSERT(!resp_parser_busy(&p));

    /* Nothing, and only empty requests, leave it idle. */
    CU_ASSERT_EQUAL(resp_parse(&p, NULL, 0, &consumed), RESP_INCOMPLETE);
    CU_ASSERT_EQUAL(consumed, 0);
    CU_ASSERT(!resp_parser_busy(&p));
    CU_ASSERT_EQUAL(resp_parse(&p, B("\r\n*0\r\n  \n"), &consumed), RESP_INCOMPLETE);
    CU_ASSERT_EQUAL(consumed, 9);
    CU_ASSERT(!resp_parser_busy(&p));

    /* Part of a request makes it busy, even a blank part. */
    CU_ASSERT_EQUAL(resp_parse(&p, B("  "), &consumed), RESP_INCOMPLETE);
    CU_ASSERT(resp_parser_busy(&p));
    CU_ASSERT_EQUAL(resp_parse(&p, B("  PI"), &consumed), RESP_INCOMPLETE);
    CU_ASSERT(resp_parser_busy(&p));
    CU_ASSERT_EQUAL(resp_parse(&p, B("  PING\r\n"), &consumed), RESP_COMPLETE);
    CU_ASSERT_EQUAL(consumed, 8);
    CU_ASSERT(!resp_parser_busy(&p));
    CU_ASSERT(p.scratch != NULL);

    /* Trimmed, it holds no memory (white-box), and works as before. */
    resp_parser_trim(&p);
    CU_ASSERT(p.argv == NULL && p.arg_off == NULL && p.scratch == NULL);
    CU_ASSERT(p.argv_cap == 0 && p.scratch_cap == 0 && p.argc == 0);
    CU_ASSERT_EQUAL(resp_parse(&p, B("*1\r\n"), &consumed), RESP_INCOMPLETE);
    CU_ASSERT(resp_parser_busy(&p));
    CU_ASSERT_EQUAL(resp_parse(&p, B("*1\r\n$4\r\nPING\r\n"), &consumed), RESP_COMPLETE);
    CU_ASSERT_EQUAL(consumed, 14);
    CU_ASSERT(!resp_parser_busy(&p));
    CU_ASSERT_EQUAL(p.argc, 1);
    resp_parser_trim(&p);
    CU_ASSERT(p.argv == NULL && p.arg_off == NULL);

    resp_parser_free(&p);
    /* Freed, it is as new. */
    CU_ASSERT(p.argv == NULL && p.scratch == NULL && !resp_parser_busy(&p));
}

/* An error sticks until the parser is reset. */
static void test_error_sticks(void)
{
    resp_parser_t p;
    size_t consumed = 99;
    resp_parser_init(&p);
    CU_ASSERT_EQUAL(resp_parse(&p, B("PING\r\n*1\r\n$x"), &consumed), RESP_COMPLETE);
    CU_ASSERT_EQUAL(consumed, 6);
    CU_ASSERT_EQUAL(resp_parse(&p, B("*1\r\n$x"), &consumed), RESP_ERROR);
    CU_ASSERT_EQUAL(consumed, 0);
    CU_ASSERT_STRING_EQUAL(p.error, ERR_BULK);
    consumed = 99;
    CU_ASSERT_EQUAL(resp_parse(&p, B("PING\r\n"), &consumed), RESP_ERROR);
    CU_ASSERT_EQUAL(consumed, 0);
    CU_ASSERT_STRING_EQUAL(p.error, ERR_BULK);
    resp_parser_free(&p);

    resp_parser_init(&p);
    CU_ASSERT_EQUAL(resp_parse(&p, B("PING\r\n"), &consumed), RESP_COMPLETE);
    resp_parser_free(&p);
}

/* ==== Registration ======================================================== */

static CU_TestInfo parser_tests[] = {
    {"array count limit", test_count_limit},
    {"declared count does not allocate", test_count_does_not_allocate},
    {"bulk length limit", test_bulk_limit},
    {"inline length limit", test_inline_limit},
    {"1 MiB bulk in small pieces", test_large_bulk_in_pieces},
    {"caller moves its buffer", test_moving_buffer},
    {"busy and trim", test_busy_and_trim},
    {"errors stick", test_error_sticks},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"resp parser", NULL, NULL, NULL, NULL, parser_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
