/* Unit tests of reader_command(), which reads each command of the
 * append-only file (aof_load(), test_aof_replay.c): commands read exactly,
 * every piece of one refused as a cut (ran_out), and what is not a command
 * refused with the message that says where and what. */

#include "aof_fixture.h"

#include "harness.h"
#include "reader.h"

#include "buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static reader_t reader_on(const char *data, size_t len, char *err, size_t errlen)
{
    reader_t r = {.path = "f.aof",
                  .data = data,
                  .len = len,
                  .end_name = "the end of the file",
                  .err = err,
                  .errlen = errlen};
    return r;
}

/* Commands the format allows, each followed by the start of another: read
 * exactly, and the arguments give the command back byte for byte. */
static void test_reader_commands(void)
{
    static const struct {
        const char *data;
        size_t len, cmd_len, argc;
    } cases[] = {
        {D("*1\r\n$4\r\nPING\r\n*1\r\n"), 14, 1},
        {D("*3\r\n$3\r\nSET\r\n$0\r\n\r\n$0\r\n\r\n*"), 25, 3},
        {D("*3\r\n$3\r\nSET\r\n$3\r\na\0b\r\n$7\r\n*1\r\n$1\r\r\n$"), 35, 3},
        {D("*2\r\n$4\r\nINCR\r\n$10\r\n0123456789\r\n\r\n"), 31, 2},
    };
    resp_arg_t *argv = NULL;
    size_t cap = 0;
    buf_t again = BUF_INIT;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256] = "";
        reader_t r = reader_on(cases[i].data, cases[i].len, err, sizeof err);
        size_t argc = 0;
        CU_ASSERT_EQUAL(reader_command(&r, &argv, &cap, 100, &argc), 0);
        CU_ASSERT_EQUAL(r.off, cases[i].cmd_len);
        CU_ASSERT_EQUAL(argc, cases[i].argc);
        CU_ASSERT(cap >= argc);
        CU_ASSERT_FALSE(r.ran_out);
        buf_clear(&again);
        rec_append(&again, argc, argv);
        CU_ASSERT(aof_bytes_are("command", again.data, again.len, cases[i].data, cases[i].cmd_len));
    }

    /* 300 arguments: argv grows, once. */
    buf_clear(&again);
    buf_printf(&again, "*300\r\n");
    for (int i = 0; i < 300; i++)
        buf_printf(&again, "$%d\r\n%.*s\r\n", i % 12, i % 12, "xxxxxxxxxxxx");
    reader_t r = reader_on(again.data, again.len, NULL, 0);
    size_t argc = 0;
    CU_ASSERT_EQUAL(reader_command(&r, &argv, &cap, 1000, &argc), 0);
    CU_ASSERT_EQUAL(argc, 300);
    CU_ASSERT_EQUAL(cap, 300);
    CU_ASSERT_EQUAL(r.off, again.len);
    CU_ASSERT_EQUAL(argv[299].len, 299 % 12);
    free(argv);
    buf_free(&again);
}

/* Every piece of a command fails as a cut; the whole of it reads. Each
 * piece is copied to a block of its exact size, so ASan sees a read past
 * the end. */
static void test_reader_every_split(void)
{
    static const char cmd[] = "*3\r\n$3\r\nSET\r\n$3\r\na\0b\r\n$4\r\n\r\n\r\n\r\n";
    size_t len = sizeof cmd - 1, bad = 0;
    resp_arg_t *argv = NULL;
    size_t cap = 0;
    for (size_t p = 0; p <= len; p++) {
        char *piece = malloc(p > 0 ? p : 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(piece);
        memcpy(piece, cmd, p);
        char err[256] = "";
        reader_t r = reader_on(piece, p, err, sizeof err);
        size_t argc = 77;
        int rc = reader_command(&r, &argv, &cap, 100, &argc);
        int ok;
        if (p < len)
            ok = rc == -EBADMSG && r.ran_out && argc == 77 &&
                 strstr(err, "the end of the file") != NULL;
        else
            ok = rc == 0 && !r.ran_out && argc == 3 && r.off == len &&
                 aof_bytes_are("key", argv[1].ptr, argv[1].len, D("a\0b")) &&
                 aof_bytes_are("value", argv[2].ptr, argv[2].len, D("\r\n\r\n"));
        if (!ok && bad++ == 0)
            fprintf(stderr, "\n    piece of %zu bytes: rc %d, ran_out %d, %s\n", p, rc, r.ran_out,
                    err);
        free(piece);
    }
    CU_ASSERT_EQUAL(bad, 0);
    free(argv);
}

/* What is not a command, with the message, and whether it is a cut. */
static void test_reader_refused(void)
{
    static const struct {
        const char *data;
        size_t len, max;
        int ran_out;
        const char *want; /* after "f.aof: corrupt at byte " */
    } cases[] = {
        {D(""), 9, 1, "0: " EXP_STAR "the end of the file"},
        {D("PING\r\n"), 9, 0, "0: " EXP_STAR "\"PING\\r\\n\" then the end of the file"},
        {D("*\r\n"), 9, 0,
         "1: expected the number of arguments in decimal digits, found \"\\r\\n\" then the end "
         "of the file"},
        {D("*-1\r\n"), 9, 0,
         "1: expected the number of arguments in decimal digits, found \"-1\\r\\n\" then the end "
         "of the file"},
        {D("*10\r\n"), 9, 0,
         "1: expected the number of arguments, at most 9, found \"10\\r\\n\" then the end of the "
         "file"},
        {D("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"), 2, 0,
         "1: expected the number of arguments, at most 2, found "
         "\"3\\r\\n$3\\r\\nSET\\r\\n$1\\r\\n\""
         "..."},
        {D("*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n"), 1, 0,
         "1: expected the number of arguments, at most 1, found \"2\\r\\n$4\\r\\nINCR\\r\\n$1\\r\""
         "..."},
        {D("*1\r\n$-1\r\n"), 9, 0,
         "5: expected the length of argument 1 of 1 in decimal digits, found \"-1\\r\\n\" then "
         "the end of the file"},
        {D("*1\r\n$01\r\nx\r\n"), 9, 0,
         "5: expected the length of argument 1 of 1 in decimal digits, found \"01\\r\\nx\\r\\n\" "
         "then the end of the file"},
        {D("*1\r\n$20000000000000000000\r\n"), 9, 0,
         "5: expected the length of argument 1 of 1, at most 9223372036854775807, found "
         "\"2000000000000000\"..."},
        {D("*1\r\n$1\r\nxy\r\n"), 9, 0,
         "9: " EXP_CRLF("1 byte(s) of argument 1 of 1") "\"y\\r\\n\" then the end of the file"},
        {D("*2\r\n$1\r\nx\r\n*1\r\n"), 9, 0,
         "11: " EXP_DOLLAR("2 of 2") "\"*1\\r\\n\" then the end of the file"},
        {D("*1\r\n$5\r\nab"), 9, 1,
         "8: expected the 5 byte(s) of argument 1 of 1, found only 2 before the end of the file"},
        {D("*1\r\n$5\r\n"), 9, 1,
         "8: expected the 5 byte(s) of argument 1 of 1, found the end of the file"},
        {D("*1\r\n$1\r\nx\r"), 9, 1,
         "10: " EXP_CRLF("1 byte(s) of argument 1 of 1") "the end of the file"},
    };
    resp_arg_t *argv = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[512] = "", want[512];
        reader_t r = reader_on(cases[i].data, cases[i].len, err, sizeof err);
        size_t argc = 77;
        CU_ASSERT_EQUAL(reader_command(&r, &argv, &cap, cases[i].max, &argc), -EBADMSG);
        CU_ASSERT_EQUAL(argc, 77);
        CU_ASSERT_EQUAL(r.ran_out, cases[i].ran_out);
        snprintf(want, sizeof want, "f.aof: corrupt at byte %s", cases[i].want);
        CU_ASSERT_STRING_EQUAL(err, want);
        if (strcmp(err, want) != 0 || r.ran_out != cases[i].ran_out)
            fprintf(stderr, "\n    case %zu: ran_out %d, message \"%s\"\n    wanted:  \"%s\"\n", i,
                    r.ran_out, err, want);
    }

    /* The reader's end_name says what its end is. */
    char err[256] = "";
    reader_t r = reader_on(D("*1\r\n$4\r\nPI"), err, sizeof err);
    r.end_name = "the end of the part";
    size_t argc;
    CU_ASSERT_EQUAL(reader_command(&r, &argv, &cap, 9, &argc), -EBADMSG);
    CU_ASSERT_STRING_EQUAL(err, "f.aof: corrupt at byte 8: expected the 4 byte(s) of argument 1 "
                                "of 1, found only 2 before the end of the part");
    free(argv);
}

/* ==== Suites ============================================================== */

static CU_TestInfo reader_tests[] = {
    {"commands read exactly", test_reader_commands},
    {"every split of a command", test_reader_every_split},
    {"not commands, with messages", test_reader_refused},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"reader_command", NULL, NULL, NULL, NULL, reader_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
