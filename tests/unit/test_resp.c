/*
 * Unit tests of common/resp.c's request parser against a table, byte-exact
 * however the input is split. Every row is fed whole, in every two-way
 * split and one byte at a time (resp_fixture.c). The limits and the
 * parser's own state are tested in test_resp_parser.c, the reply encoder in
 * test_resp_reply.c.
 */

#include "resp_fixture.h"

#include "harness.h"
#include "resp.h"

#include <stddef.h>

/* ==== The table ========================================================== */

static const parse_case_t cases[] = {
    /* ---- multibulk ---- */
    {"ping", B(PING_MB), RESP_INCOMPLETE, B(PING_MB), 14, NULL},
    {"empty bulk", B("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"), RESP_INCOMPLETE,
     B("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"), 26, NULL},
    {"binary bulk with NUL and CRLF", B("*2\r\n$4\r\nECHO\r\n$6\r\na\0\r\nb\n\r\n"),
     RESP_INCOMPLETE, B("*2\r\n$4\r\nECHO\r\n$6\r\na\0\r\nb\n\r\n"), 26, NULL},
    {"bulk holding a request", B("*2\r\n$4\r\nECHO\r\n$14\r\n" PING_MB "\r\n"), RESP_INCOMPLETE,
     B("*2\r\n$4\r\nECHO\r\n$14\r\n" PING_MB "\r\n"), 35, NULL},
    {"two-digit length", B("*1\r\n$10\r\n0123456789\r\n"), RESP_INCOMPLETE,
     B("*1\r\n$10\r\n0123456789\r\n"), 21, NULL},
    {"twelve arguments",
     B("*12\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n$1\r\ng\r\n$"
       "1\r\nh\r\n$1\r\ni\r\n$1\r\nj\r\n$1\r\nk\r\n$1\r\nl\r\n"),
     RESP_INCOMPLETE,
     B("*12\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n$1\r\ng\r\n$"
       "1\r\nh\r\n$1\r\ni\r\n$1\r\nj\r\n$1\r\nk\r\n$1\r\nl\r\n"),
     89, NULL},
    {"*0 is skipped", B("*0\r\n"), RESP_INCOMPLETE, B(""), 4, NULL},
    {"*-1 is skipped", B("*-1\r\n"), RESP_INCOMPLETE, B(""), 5, NULL},
    {"LLONG_MIN count is skipped", B("*-9223372036854775808\r\nPING\r\n"), RESP_INCOMPLETE,
     B(PING_MB), 29, NULL},
    {"20-character count is skipped", B("*-1000000000000000000\r\n"), RESP_INCOMPLETE, B(""), 23,
     NULL},
    {"empty arrays then a request", B("*0\r\n*-1\r\n" PING_MB), RESP_INCOMPLETE, B(PING_MB), 23,
     NULL},
    {"half a request", B("*2\r\n$3\r\nfoo\r\n$3\r\nba"), RESP_INCOMPLETE, B(""), 0, NULL},
    {"a request and half another", B(PING_MB "*1\r\n$4\r\nPI"), RESP_INCOMPLETE, B(PING_MB), 14,
     NULL},
    {"final LF missing", B("*1\r\n$4\r\nPING\r"), RESP_INCOMPLETE, B(""), 0, NULL},
    {"largest count waits for its arguments", B("*1048576\r\n"), RESP_INCOMPLETE, B(""), 0, NULL},
    {"largest bulk waits for its data", B("*1\r\n$8388608\r\n"), RESP_INCOMPLETE, B(""), 0, NULL},

    /* ---- inline ---- */
    {"inline CRLF", B("PING\r\n"), RESP_INCOMPLETE, B(PING_MB), 6, NULL},
    {"inline LF", B("PING\n"), RESP_INCOMPLETE, B(PING_MB), 5, NULL},
    {"inline without newline", B("PING"), RESP_INCOMPLETE, B(""), 0, NULL},
    {"blank lines are skipped", B("\r\n\n   \r\n\t\v\f\r\nPING\r\n"), RESP_INCOMPLETE, B(PING_MB),
     19, NULL},
    {"blank line without newline", B("  "), RESP_INCOMPLETE, B(""), 0, NULL},
    {"trailing blank lines", B("PING\r\n\r\n\n"), RESP_INCOMPLETE, B(PING_MB), 9, NULL},
    {"quoted arguments", B("SET \"a b\" 'c d'\r\n"), RESP_INCOMPLETE,
     B("*3\r\n$3\r\nSET\r\n$3\r\na b\r\n$3\r\nc d\r\n"), 17, NULL},
    {"quote starting mid-token", B("a\"b c\" d\r\n"), RESP_INCOMPLETE,
     B("*2\r\n$4\r\nab c\r\n$1\r\nd\r\n"), 10, NULL},
    {"double-quote escapes", B("\"a\\x41\\x4g\\q\\n\\t\\b\\a\\r\\\\\\\"\"\r\n"), RESP_INCOMPLETE,
     B("*1\r\n$13\r\naAx4gq\n\t\b\a\r\\\"\r\n"), 29, NULL},
    {"hex escapes, NUL included", B("\"\\x00\\xfF\"\r\n"), RESP_INCOMPLETE,
     B("*1\r\n$2\r\n\0\xff\r\n"), 12, NULL},
    {"incomplete hex escapes", B("\"\\x4\" \"\\x\"\r\n"), RESP_INCOMPLETE,
     B("*2\r\n$2\r\nx4\r\n$1\r\nx\r\n"), 12, NULL},
    {"invalid hex escapes", B("\"\\xZZ\\xaB\"\r\n"), RESP_INCOMPLETE, B("*1\r\n$4\r\nxZZ\xab\r\n"),
     12, NULL},
    {"single-quote escapes", B("'a\\b\\'c' 'x\"y'\r\n"), RESP_INCOMPLETE,
     B("*2\r\n$5\r\na\\b'c\r\n$3\r\nx\"y\r\n"), 16, NULL},
    {"empty quotes", B("\"\" ''\r\n"), RESP_INCOMPLETE, B("*2\r\n$0\r\n\r\n$0\r\n\r\n"), 7, NULL},
    {"only empty quotes between blanks", B("  \"\"  \r\n"), RESP_INCOMPLETE, B("*1\r\n$0\r\n\r\n"),
     8, NULL},
    {"closing quote then \\v", B("\"a\"\vb\r\n"), RESP_INCOMPLETE,
     B("*2\r\n$1\r\na\r\n$1\r\nb\r\n"), 7, NULL},
    {"\\v and \\f inside a token", B("a\vb\fc\r\n"), RESP_INCOMPLETE, B("*1\r\n$5\r\na\vb\fc\r\n"),
     7, NULL},
    {"\\v and \\f before a token", B("\v\fPING\v\r\n"), RESP_INCOMPLETE,
     B("*1\r\n$5\r\nPING\v\r\n"), 9, NULL},
    {"CR inside a line", B("a\rb\r\r\n"), RESP_INCOMPLETE, B("*2\r\n$1\r\na\r\n$1\r\nb\r\n"), 6,
     NULL},
    {"tab separates", B("a\tb\r\n"), RESP_INCOMPLETE, B("*2\r\n$1\r\na\r\n$1\r\nb\r\n"), 5, NULL},
    {"escaped quote after a bare part", B("x\"\\\"\"\r\n"), RESP_INCOMPLETE,
     B("*1\r\n$2\r\nx\"\r\n"), 7, NULL},
    {"NUL is an ordinary byte inline", B("ECHO a\0b\r\n"), RESP_INCOMPLETE,
     B("*2\r\n$4\r\nECHO\r\n$3\r\na\0b\r\n"), 10, NULL},

    /* ---- pipelines ---- */
    {"mixed pipeline",
     B("PING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n\r\nSET a b\n*0\r\nGET a\r\n" PING_MB),
     RESP_INCOMPLETE,
     B(PING_MB "*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\n*2\r\n$"
               "3\r\nGET\r\n$1\r\na\r\n" PING_MB),
     63, NULL},
    {"eight pipelined",
     B(PING_MB "PING\r\n" PING_MB "PING\r\n" PING_MB "PING\r\n" PING_MB "PING\r\n"),
     RESP_INCOMPLETE, B(PING_MB PING_MB PING_MB PING_MB PING_MB PING_MB PING_MB PING_MB), 80, NULL},

    /* ---- malformed counts ---- */
    {"empty count", B("*\r\n"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"count -0", B("*-0\r\n"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"count with leading zero", B("*01\r\n"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"count with '+'", B("*+1\r\n"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"count with leading blank", B("* 1\r\n"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"count with trailing blank", B("*1 \r\n"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"count not a number", B("*x\r\n"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"count '-'", B("*-\r\n"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"count below LLONG_MIN", B("*-9223372036854775809\r\n"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"count above LLONG_MAX", B("*9223372036854775808\r\n"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"count one past the limit", B("*1048577\r\n"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"count of 21 digits, no CR yet", B("*123456789012345678901"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"negative count of 21 characters, no CR yet", B("*-12345678901234567890"), RESP_ERROR, B(""),
     0, ERR_MBULK},
    {"count's CR without LF", B("*1\rX"), RESP_ERROR, B(""), 0, ERR_MBULK},
    /* Stricter than Redis: a count that can no longer become a number is
     * refused before its CR arrives. */
    {"leading zero, no CR yet", B("*01"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"count -0, no CR yet", B("*-0"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"count with a blank, no CR yet", B("*1 "), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"count '--', no CR yet", B("*--"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"count ended by LF alone", B("*1\n"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"count with NUL", B("*1\0"), RESP_ERROR, B(""), 0, ERR_MBULK},

    /* ---- malformed bulk headers ---- */
    {"'X' for '$'", B("*1\r\nX\r\n"), RESP_ERROR, B(""), 0, ERR_DOLLAR("X")},
    {"CR for '$'", B("*1\r\n\r\n"), RESP_ERROR, B(""), 0, ERR_DOLLAR(" ")},
    {"LF for '$'", B("*1\r\n\n"), RESP_ERROR, B(""), 0, ERR_DOLLAR(" ")},
    {"NUL for '$'", B("*1\r\n\0"), RESP_ERROR, B(""), 0, ERR_DOLLAR(" ")},
    {"high byte for '$'", B("*1\r\n\xff"), RESP_ERROR, B(""), 0, ERR_DOLLAR("\xff")},
    {"'*' for '$'", B("*2\r\n$3\r\nfoo\r\n*1\r\n"), RESP_ERROR, B(""), 0, ERR_DOLLAR("*")},
    {"bulk length -1", B("*1\r\n$-1\r\n"), RESP_ERROR, B(""), 0, ERR_BULK},
    {"bulk length '-', no CR yet", B("*1\r\n$-"), RESP_ERROR, B(""), 0, ERR_BULK},
    {"empty bulk length", B("*1\r\n$\r\n"), RESP_ERROR, B(""), 0, ERR_BULK},
    {"bulk length with leading zero", B("*1\r\n$01\r\n"), RESP_ERROR, B(""), 0, ERR_BULK},
    {"bulk length one past the limit", B("*1\r\n$8388609\r\n"), RESP_ERROR, B(""), 0, ERR_BULK},
    {"bulk length not a number", B("*1\r\n$1x\r\n"), RESP_ERROR, B(""), 0, ERR_BULK},
    {"bulk length with leading zero, no CR yet", B("*1\r\n$00"), RESP_ERROR, B(""), 0, ERR_BULK},
    {"bulk length with '+', no CR yet", B("*1\r\n$+"), RESP_ERROR, B(""), 0, ERR_BULK},
    {"bulk length's CR without LF", B("*1\r\n$1\rX"), RESP_ERROR, B(""), 0, ERR_BULK},
    {"bulk length overflowing", B("*1\r\n$99999999999999999999\r\n"), RESP_ERROR, B(""), 0,
     ERR_BULK},
    {"bulk length of 21 digits, no CR yet", B("*1\r\n$100000000000000000000"), RESP_ERROR, B(""), 0,
     ERR_BULK},

    /* ---- malformed bulk data ---- */
    {"bulk data too long", B("*1\r\n$4\r\nPINGxx"), RESP_ERROR, B(""), 0, ERR_CRLF},
    {"bulk data's CR without LF", B("*1\r\n$4\r\nPING\rx"), RESP_ERROR, B(""), 0, ERR_CRLF},
    {"bulk data ended by LF alone", B("*1\r\n$4\r\nPING\n"), RESP_ERROR, B(""), 0, ERR_CRLF},
    {"empty bulk then junk", B("*1\r\n$0\r\nX"), RESP_ERROR, B(""), 0, ERR_CRLF},

    /* ---- malformed inline ---- */
    {"unterminated double quote", B("\"abc\r\n"), RESP_ERROR, B(""), 0, ERR_QUOTE},
    {"unterminated single quote", B("'abc\r\n"), RESP_ERROR, B(""), 0, ERR_QUOTE},
    {"double quote closed mid-token", B("\"a\"b\r\n"), RESP_ERROR, B(""), 0, ERR_QUOTE},
    {"single quote closed mid-token", B("'a'b\r\n"), RESP_ERROR, B(""), 0, ERR_QUOTE},
    {"backslash ending a quoted line", B("\"abc\\\r\n"), RESP_ERROR, B(""), 0, ERR_QUOTE},
    {"bare, quoted, bare", B("a\"b\"c\r\n"), RESP_ERROR, B(""), 0, ERR_QUOTE},
    {"NUL after a closing quote", B("\"a\"\0\r\n"), RESP_ERROR, B(""), 0, ERR_QUOTE},

    /* ---- errors after good requests ---- */
    {"requests then a bad header", B("PING\r\n" PING_MB "*1\r\nY"), RESP_ERROR, B(PING_MB PING_MB),
     20, ERR_DOLLAR("Y")},
    {"empty array then a bad count", B("*0\r\n*x"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"blank line, request, bad length", B("\r\n" PING_MB "*2\r\n$-"), RESP_ERROR, B(PING_MB), 16,
     ERR_BULK},
    {"request then unbalanced quotes", B("PING\nGET \"k\r\n"), RESP_ERROR, B(PING_MB), 5,
     ERR_QUOTE},
};

/* ==== Parser tests ======================================================= */

static void test_table(void)
{
    size_t errors = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_case_everyway(&cases[i]);
        errors += cases[i].status == RESP_ERROR;
    }
    /* The table must keep covering the malformed inputs. */
    CU_ASSERT(errors >= 20);
}

/* ==== Registration ======================================================== */

static CU_TestInfo parser_tests[] = {
    {"table, every split", test_table},
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
