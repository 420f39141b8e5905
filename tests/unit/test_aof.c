/* Unit tests of common/aof.c's records and file calls: aof_add_command()
 * byte for byte, what cmd_call() logs for each command, aof_open(),
 * aof_write(), aof_sync(), aof_close() and aof_fail() on a real file, and
 * the INFO lines. Replaying a file has a file of its own
 * (test_aof_replay.c), over aof_fixture.c. */

#include "aof_fixture.h"

#include "aof.h"
#include "harness.h"

#include "buf.h"
#include "opts.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ==== Records ============================================================= */

static void test_add_commands(void)
{
    buf_t out = BUF_INIT;
    aof_add_command(&out, ARGV(A("SET"), A("k"), A("v")));
    BUF_IS(&out, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");

    buf_clear(&out);
    aof_add_command(&out, ARGV(A("DEL"), A("k1"), A("k2"), A("key3")));
    BUF_IS(&out, "*4\r\n$3\r\nDEL\r\n$2\r\nk1\r\n$2\r\nk2\r\n$4\r\nkey3\r\n");

    buf_clear(&out);
    aof_add_command(&out, ARGV(A("INCR"), A("counter")));
    BUF_IS(&out, "*2\r\n$4\r\nINCR\r\n$7\r\ncounter\r\n");

    /* Appends: what was there stays in front. */
    buf_clear(&out);
    buf_append_str(&out, "before");
    aof_add_command(&out, ARGV(A("INCR"), A("n")));
    aof_add_command(&out, ARGV(A("DEL"), A("n")));
    BUF_IS(&out, "before*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n*2\r\n$3\r\nDEL\r\n$1\r\nn\r\n");
    buf_free(&out);
}

static void test_add_empty_and_binary(void)
{
    buf_t out = BUF_INIT, want = BUF_INIT;
    aof_add_command(&out, ARGV(A("SET"), A(""), A("")));
    BUF_IS(&out, "*3\r\n$3\r\nSET\r\n$0\r\n\r\n$0\r\n\r\n");

    /* NUL, CR LF and a whole record inside the data: the lengths carry them. */
    buf_clear(&out);
    aof_add_command(&out, ARGV(A("SET"), A("a\0b"), A("x\r\ny\0")));
    BUF_IS(&out, "*3\r\n$3\r\nSET\r\n$3\r\na\0b\r\n$5\r\nx\r\ny\0\r\n");
    buf_clear(&out);
    aof_add_command(&out, ARGV(A("SET"), A("\0"), A("*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n")));
    BUF_IS(&out, "*3\r\n$3\r\nSET\r\n$1\r\n\0\r\n$20\r\n*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n\r\n");
    buf_clear(&out);
    aof_add_command(&out, ARGV(A("DEL"), A("\r\n"), A("\xff")));
    BUF_IS(&out, "*3\r\n$3\r\nDEL\r\n$2\r\n\r\n\r\n$1\r\n\xff\r\n");

    /* A value of every byte, 100000 of them: the fixture's encoder agrees. */
    size_t big = 100000;
    char *blob = malloc(big);
    CU_ASSERT_PTR_NOT_NULL_FATAL(blob);
    for (size_t i = 0; i < big; i++)
        blob[i] = (char)(i * 7 + 3);
    resp_arg_t argv[] = {A("SET"), A("big"), {blob, big}};
    buf_clear(&out);
    aof_add_command(&out, 3, argv);
    rec_append(&want, 3, argv);
    CU_ASSERT(aof_bytes_are("big record", out.data, out.len, want.data, want.len));
    CU_ASSERT_EQUAL(memcmp(out.data, "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$100000\r\n", 31), 0);
    free(blob);
    buf_free(&want);
    buf_free(&out);
}

/* ==== What the commands log =============================================== */

static void test_log_set(void)
{
    store_t *s = store_new();
    buf_t out = BUF_INIT, log = BUF_INIT;
    aof_run(s, &out, &log, ARGV(A("SET"), A("k"), A("v")));
    BUF_IS(&out, "+OK\r\n");
    BUF_IS(&log, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");

    /* Binary bytes, and the name as the client spelled it: replay looks
     * names up as a request does, whatever their case. */
    buf_clear(&log);
    aof_run(s, &out, &log, ARGV(A("sEt"), A("a\0b"), A("x\r\ny\0")));
    BUF_IS(&out, "+OK\r\n");
    BUF_IS(&log, "*3\r\n$3\r\nsEt\r\n$3\r\na\0b\r\n$5\r\nx\r\ny\0\r\n");
    VALUE_IS(s, "a\0b", "x\r\ny\0");

    /* Overwriting with the same value still logs: the command changed nothing
     * visible, but it is a write that succeeded. */
    buf_clear(&log);
    aof_run(s, &out, &log, ARGV(A("SET"), A("k"), A("v")));
    BUF_IS(&log, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");

    /* A SET that fails (an option we do not take) changes nothing, logs nothing. */
    buf_clear(&log);
    aof_run(s, &out, &log, ARGV(A("SET"), A("k"), A("w"), A("NX")));
    BUF_IS(&out, "-ERR syntax error\r\n");
    BUF_IS(&log, "");
    VALUE_IS(s, "k", "v");
    buf_free(&log);
    buf_free(&out);
    store_free(s);
}

static void test_log_del(void)
{
    store_t *s = store_new();
    buf_t out = BUF_INIT, log = BUF_INIT;

    /* Nothing deleted, nothing logged. */
    aof_run(s, &out, &log, ARGV(A("DEL"), A("missing")));
    BUF_IS(&out, ":0\r\n");
    BUF_IS(&log, "");
    aof_run(s, &out, &log, ARGV(A("DEL"), A("m1"), A("m2")));
    BUF_IS(&out, ":0\r\n");
    BUF_IS(&log, "");

    /* Two keys, one there: the whole DEL, the missing key included (a no-op
     * again when replayed). */
    aof_run(s, &out, NULL, ARGV(A("SET"), A("a"), A("1")));
    aof_run(s, &out, &log, ARGV(A("DEL"), A("missing"), A("a")));
    BUF_IS(&out, ":1\r\n");
    BUF_IS(&log, "*3\r\n$3\r\nDEL\r\n$7\r\nmissing\r\n$1\r\na\r\n");
    ABSENT(s, "a");

    /* The same key twice: deleted once, logged as sent. */
    buf_clear(&log);
    aof_run(s, &out, NULL, ARGV(A("SET"), A("b\0"), A("1")));
    aof_run(s, &out, &log, ARGV(A("DEL"), A("b\0"), A("b\0")));
    BUF_IS(&out, ":1\r\n");
    BUF_IS(&log, "*3\r\n$3\r\nDEL\r\n$2\r\nb\0\r\n$2\r\nb\0\r\n");
    buf_free(&log);
    buf_free(&out);
    store_free(s);
}

static void test_log_incr(void)
{
    store_t *s = store_new();
    buf_t out = BUF_INIT, log = BUF_INIT;

    /* INCR logs itself, not the SET of its result. */
    aof_run(s, &out, &log, ARGV(A("INCR"), A("n")));
    BUF_IS(&out, ":1\r\n");
    aof_run(s, &out, &log, ARGV(A("INCR"), A("n")));
    BUF_IS(&out, ":2\r\n");
    BUF_IS(&log, "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n");

    /* Failed INCRs change nothing and log nothing. */
    buf_clear(&log);
    aof_run(s, &out, NULL, ARGV(A("SET"), A("s"), A("abc")));
    aof_run(s, &out, &log, ARGV(A("INCR"), A("s")));
    BUF_IS(&out, "-ERR value is not an integer or out of range\r\n");
    BUF_IS(&log, "");
    VALUE_IS(s, "s", "abc");
    aof_run(s, &out, NULL, ARGV(A("SET"), A("max"), A("9223372036854775807")));
    aof_run(s, &out, &log, ARGV(A("INCR"), A("max")));
    BUF_IS(&out, "-ERR increment or decrement would overflow\r\n");
    BUF_IS(&log, "");
    VALUE_IS(s, "max", "9223372036854775807");
    buf_free(&log);
    buf_free(&out);
    store_free(s);
}

/* Commands that change nothing log nothing, whatever they answer. */
static void test_log_reads(void)
{
    store_t *s = store_new();
    buf_t out = BUF_INIT, log = BUF_INIT;
    aof_run(s, &out, NULL, ARGV(A("SET"), A("k"), A("v")));
    aof_run(s, &out, &log, ARGV(A("GET"), A("k")));
    BUF_IS(&out, "$1\r\nv\r\n");
    aof_run(s, &out, &log, ARGV(A("GET"), A("missing")));
    BUF_IS(&out, "$-1\r\n");
    aof_run(s, &out, &log, ARGV(A("EXISTS"), A("k"), A("missing")));
    BUF_IS(&out, ":1\r\n");
    aof_run(s, &out, &log, ARGV(A("DBSIZE")));
    BUF_IS(&out, ":1\r\n");
    aof_run(s, &out, &log, ARGV(A("PING")));
    BUF_IS(&out, "+PONG\r\n");
    aof_run(s, &out, &log, ARGV(A("ECHO"), A("*1\r\n$4\r\nPING\r\n")));
    aof_run(s, &out, &log, ARGV(A("COMMAND")));
    BUF_IS(&log, "");
    buf_free(&log);
    buf_free(&out);
    store_free(s);
}

/* With no log buffer the writes work as before. */
static void test_log_null(void)
{
    store_t *s = store_new();
    buf_t out = BUF_INIT;
    aof_run(s, &out, NULL, ARGV(A("SET"), A("k"), A("v")));
    BUF_IS(&out, "+OK\r\n");
    aof_run(s, &out, NULL, ARGV(A("INCR"), A("n")));
    BUF_IS(&out, ":1\r\n");
    aof_run(s, &out, NULL, ARGV(A("DEL"), A("k"), A("x")));
    BUF_IS(&out, ":1\r\n");
    ABSENT(s, "k");
    VALUE_IS(s, "n", "1");
    buf_free(&out);
    store_free(s);
}

/* ==== The file ============================================================ */

static const char rec1[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
static const char rec2[] = "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n";

static void test_open_write_close(void)
{
    aof_t a;
    mode_t old = umask(0); /* so that the mode seen is the one asked for */
    int rc = aof_open(&a, aof_path, 0);
    umask(old);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT(a.fd >= 0);
    CU_ASSERT_STRING_EQUAL(a.path, aof_path);
    CU_ASSERT_EQUAL(a.delay_ms, 0);
    CU_ASSERT(fcntl(a.fd, F_GETFD) & FD_CLOEXEC); /* a stage's children do not inherit it */
    struct stat st;
    CU_ASSERT_EQUAL_FATAL(stat(aof_path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0644);
    CU_ASSERT_EQUAL(st.st_size, 0);

    CU_ASSERT_EQUAL(aof_write(&a, rec1, sizeof rec1 - 1), 0);
    CU_ASSERT_EQUAL(aof_file_size(aof_path), (long long)sizeof rec1 - 1);
    CU_ASSERT_EQUAL(aof_write(&a, rec2, sizeof rec2 - 1), 0);
    CU_ASSERT_EQUAL(aof_write(&a, "", 0), 0);
    CU_ASSERT_EQUAL(aof_sync(&a), 0);
    CU_ASSERT_EQUAL(aof_file_size(aof_path), (long long)(sizeof rec1 - 1 + sizeof rec2 - 1));
    aof_close(&a);
    CU_ASSERT_EQUAL(a.fd, -1);

    buf_t file = BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(read_raw(aof_path, &file), 0);
    BUF_IS(&file, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n");
    buf_free(&file);
}

/* Reopened, the file grows at its end, whoever wrote what was there. */
static void test_reopen_appends(void)
{
    write_raw(aof_path, "written by hand\n", 16);
    aof_t a;
    CU_ASSERT_EQUAL_FATAL(aof_open(&a, aof_path, 0), 0);
    CU_ASSERT_EQUAL(aof_write(&a, rec1, sizeof rec1 - 1), 0);
    aof_close(&a);
    CU_ASSERT_EQUAL_FATAL(aof_open(&a, aof_path, 0), 0);
    CU_ASSERT_EQUAL(lseek(a.fd, 0, SEEK_SET), 0); /* O_APPEND: the offset does not matter */
    CU_ASSERT_EQUAL(aof_write(&a, rec2, sizeof rec2 - 1), 0);
    aof_close(&a);

    buf_t file = BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(read_raw(aof_path, &file), 0);
    BUF_IS(&file, "written by hand\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
                  "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n");

    /* A big write goes out whole. */
    size_t big = 3 * 1024 * 1024;
    char *blob = malloc(big);
    CU_ASSERT_PTR_NOT_NULL_FATAL(blob);
    memset(blob, 'x', big);
    long long before = aof_file_size(aof_path);
    CU_ASSERT_EQUAL_FATAL(aof_open(&a, aof_path, 0), 0);
    CU_ASSERT_EQUAL(aof_write(&a, blob, big), 0);
    CU_ASSERT_EQUAL(aof_sync(&a), 0);
    aof_close(&a);
    CU_ASSERT_EQUAL(aof_file_size(aof_path), before + (long long)big);
    free(blob);
    buf_free(&file);
}

static void test_open_fails(void)
{
    char path[400];
    snprintf(path, sizeof path, "%s/no-such-dir/appendonly.aof", aof_dir);
    aof_t a;
    CU_ASSERT_EQUAL(aof_open(&a, path, 0), -ENOENT);
    CU_ASSERT(a.fd < 0);
    aof_close(&a); /* safe on a file that was never opened */
    CU_ASSERT_EQUAL(aof_open(&a, aof_dir, 0), -EISDIR);
    aof_close(&a);

    /* Closed twice, or used after closing: errors, never a crash. */
    aof_t never = {.fd = -1, .path = aof_path};
    aof_close(&never);
    CU_ASSERT_EQUAL(never.fd, -1);
    CU_ASSERT_EQUAL_FATAL(aof_open(&a, aof_path, 0), 0);
    aof_close(&a);
    aof_close(&a);
    CU_ASSERT_EQUAL(aof_write(&a, rec1, sizeof rec1 - 1), -EBADF);
    CU_ASSERT_EQUAL(aof_sync(&a), -EBADF);
}

/* delay_ms is an emulated slow disk: every sync takes at least that long.
 * No upper bound: a loaded machine may take longer. */
static void test_sync_delay(void)
{
    aof_t a;
    CU_ASSERT_EQUAL_FATAL(aof_open(&a, aof_path, 200), 0);
    CU_ASSERT_EQUAL(a.delay_ms, 200);
    CU_ASSERT_EQUAL(aof_write(&a, rec1, sizeof rec1 - 1), 0);
    long long t0 = harness_now_ms();
    CU_ASSERT_EQUAL(aof_sync(&a), 0);
    long long took = harness_now_ms() - t0;
    CU_ASSERT(took >= 150);
    /* A sync with nothing new to write waits too. */
    t0 = harness_now_ms();
    CU_ASSERT_EQUAL(aof_sync(&a), 0);
    CU_ASSERT(harness_now_ms() - t0 >= 150);
    aof_close(&a);

    /* Over a second: the whole seconds count too. */
    CU_ASSERT_EQUAL_FATAL(aof_open(&a, aof_path, 1100), 0);
    t0 = harness_now_ms();
    CU_ASSERT_EQUAL(aof_sync(&a), 0);
    CU_ASSERT(harness_now_ms() - t0 >= 1050);
    aof_close(&a);
    CU_ASSERT_EQUAL(aof_file_size(aof_path), (long long)sizeof rec1 - 1);
}

/* aof_fail() logs what failed and exits with AOF_EXIT_STATUS. */
static void test_fail_exits(void)
{
    char logpath[400];
    snprintf(logpath, sizeof logpath, "%s/stderr.txt", aof_dir);
    fflush(NULL);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
            _exit(99);
        aof_t a = {.fd = -1, .path = "/some/appendonly.aof"};
        aof_fail(&a, "fdatasync", -EIO);
    }
    int status = 0;
    CU_ASSERT_EQUAL_FATAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT(WIFEXITED(status));
    CU_ASSERT_EQUAL(WEXITSTATUS(status), AOF_EXIT_STATUS);
    CU_ASSERT_EQUAL(AOF_EXIT_STATUS, 4);
    buf_t text = BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(read_raw(logpath, &text), 0);
    buf_append(&text, "", 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(text.data, " error: /some/appendonly.aof: fdatasync failed: "
                                             "Input/output error; writes it covered may not be "
                                             "on disk, and none of them is answered: exiting\n"));
    if (strstr(text.data, "fdatasync failed") == NULL)
        fprintf(stderr, "\n    stderr was: \"%s\"\n", text.data);
    buf_free(&text);
}

/* ==== INFO ================================================================ */

static void test_info_lines(void)
{
    buf_t out = BUF_INIT;
    aof_stats_t st = {"always", 100, 90, 80, 3, 12345};
    aof_info(&out, &st);
    BUF_IS(&out, "aof_enabled:1\r\n"
                 "aof_fsync:always\r\n"
                 "aof_appended_offset:100\r\n"
                 "aof_written_offset:90\r\n"
                 "aof_synced_offset:80\r\n"
                 "aof_fsyncs:3\r\n"
                 "aof_fsync_max_us:12345\r\n");

    /* Appends after what is there; zeros and the largest numbers in full. */
    buf_clear(&out);
    buf_append_str(&out, "# Persistence\r\n");
    aof_stats_t zero = {"no", 0, 0, 0, 0, 0};
    aof_info(&out, &zero);
    aof_stats_t max = {"everysec", UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX};
    aof_info(&out, &max);
    BUF_IS(&out, "# Persistence\r\n"
                 "aof_enabled:1\r\naof_fsync:no\r\naof_appended_offset:0\r\n"
                 "aof_written_offset:0\r\naof_synced_offset:0\r\naof_fsyncs:0\r\n"
                 "aof_fsync_max_us:0\r\n"
                 "aof_enabled:1\r\naof_fsync:everysec\r\n"
                 "aof_appended_offset:18446744073709551615\r\n"
                 "aof_written_offset:18446744073709551615\r\n"
                 "aof_synced_offset:18446744073709551615\r\n"
                 "aof_fsyncs:18446744073709551615\r\n"
                 "aof_fsync_max_us:18446744073709551615\r\n");
    buf_free(&out);
}

static void test_fsync_name(void)
{
    CU_ASSERT_STRING_EQUAL(aof_fsync_name(OPTS_APPENDFSYNC_ALWAYS), "always");
    CU_ASSERT_STRING_EQUAL(aof_fsync_name(OPTS_APPENDFSYNC_EVERYSEC), "everysec");
    CU_ASSERT_STRING_EQUAL(aof_fsync_name(OPTS_APPENDFSYNC_NO), "no");
    CU_ASSERT_EQUAL(OPTS_APPENDFSYNC_EVERYSEC, 0); /* the default, for a zeroed opts_t */
}

/* ==== Suites ============================================================== */

static CU_TestInfo record_tests[] = {
    {"SET, DEL, INCR byte-exact", test_add_commands},
    {"empty and binary arguments", test_add_empty_and_binary},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo log_tests[] = {
    {"SET logs its record", test_log_set},
    {"DEL logs only when it deleted", test_log_del},
    {"INCR logs, a failed one does not", test_log_incr},
    {"reads log nothing", test_log_reads},
    {"no log buffer", test_log_null},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo file_tests[] = {
    {"open, write, sync, close", test_open_write_close},
    {"reopened, appends at the end", test_reopen_appends},
    {"open fails, close is safe", test_open_fails},
    {"sync waits delay_ms", test_sync_delay},
    {"aof_fail exits 4", test_fail_exits},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo info_tests[] = {
    {"INFO lines byte-exact", test_info_lines},
    {"fsync names", test_fsync_name},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"records", NULL, NULL, NULL, NULL, record_tests},
    {"cmd_call log", NULL, NULL, NULL, NULL, log_tests},
    {"file", NULL, NULL, aof_fixture_setup, aof_fixture_teardown, file_tests},
    {"info", NULL, NULL, NULL, NULL, info_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
