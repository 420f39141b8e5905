/* Unit tests of dump_write_file(): the dump replaced in one rename, or
 * left as it was when anything fails, with no temporary file left. */

#include "dump_fixture.h"

#include "dump.h"
#include "harness.h"

#include "buf.h"
#include "store.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ==== Writing the file ==================================================== */

static void test_write_replaces(void)
{
    write_raw(tmp_dump, "old contents", 12);
    CU_ASSERT_EQUAL_FATAL(dump_write_file(tmp_dump, "new", 3), 0);
    buf_t got = BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(read_raw(tmp_dump, &got), 0);
    CU_ASSERT_EQUAL(got.len, 3);
    CU_ASSERT_EQUAL(memcmp(got.data, "new", 3), 0);
    CU_ASSERT_EQUAL_FATAL(dump_write_file(tmp_dump, "", 0), 0);
    CU_ASSERT_EQUAL_FATAL(read_raw(tmp_dump, &got), 0);
    CU_ASSERT_EQUAL(got.len, 0);
    int tmp_left;
    CU_ASSERT_EQUAL(dir_entries(&tmp_left), 1);
    CU_ASSERT_FALSE(tmp_left);
    buf_free(&got);
}

static void test_write_relative_path(void)
{
    /* No '/' in the path: the directory to fsync is the current one. */
    char cwd[4096];
    CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof cwd));
    CU_ASSERT_EQUAL_FATAL(chdir(tmp_dir), 0);
    int rc = dump_write_file("dump.resp", "abc", 3);
    CU_ASSERT_EQUAL_FATAL(chdir(cwd), 0);
    CU_ASSERT_EQUAL(rc, 0);
    buf_t got = BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(read_raw(tmp_dump, &got), 0);
    CU_ASSERT_EQUAL(got.len, 3);
    buf_free(&got);
}

static void test_write_missing_directory(void)
{
    char p[320];
    snprintf(p, sizeof p, "%s/no/such/dir/dump.resp", tmp_dir);
    CU_ASSERT_EQUAL(dump_write_file(p, "data", 4), -ENOENT);
    store_t *s = store_new();
    store_set(s, "k", 1, "v", 1);
    CU_ASSERT_EQUAL(dump_save(s, p), -ENOENT);
    store_free(s);
    int tmp_left;
    CU_ASSERT_EQUAL(dir_entries(&tmp_left), 0); /* nothing created anywhere */
}

/* rename() fails (path is a directory) after the temporary file was
 * written: the temporary file must go, the directory must stay. */
static void test_write_rename_fails(void)
{
    CU_ASSERT_EQUAL_FATAL(mkdir(tmp_dump, 0700), 0);
    int rc = dump_write_file(tmp_dump, "data", 4);
    CU_ASSERT(rc == -EISDIR || rc == -EEXIST || rc == -ENOTEMPTY);
    struct stat st;
    CU_ASSERT_EQUAL(stat(tmp_dump, &st), 0);
    CU_ASSERT(S_ISDIR(st.st_mode));
    int tmp_left;
    CU_ASSERT_EQUAL(dir_entries(&tmp_left), 1);
    CU_ASSERT_FALSE(tmp_left);
}

/*
 * A write that fails half way: the old dump must survive intact and no
 * temporary file may be left. The tests run as root, so permissions cannot
 * make the write fail; a file size limit can. The limit applies to the
 * whole process, hence the child.
 */
static void test_write_fails_atomically(void)
{
    buf_t old = BUF_INIT, body = BUF_INIT;
    append_set(&body, "old", 3, "dump", 4);
    make_file(&old, body.data, body.len, 1);
    write_raw(tmp_dump, old.data, old.len);

    size_t big = 4 * 1024 * 1024;
    char *payload = malloc(big);
    CU_ASSERT_PTR_NOT_NULL_FATAL(payload);
    memset(payload, 'x', big);

    fflush(NULL);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        /* The old file (and the mkstemp'd one) fit; 4 MB does not. */
        struct rlimit lim = {64 * 1024, 64 * 1024};
        signal(SIGXFSZ, SIG_IGN);
        if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
            _exit(200);
        int rc = dump_write_file(tmp_dump, payload, big);
        _exit(rc < 0 && -rc < 200 ? -rc : 201);
    }
    int status = 0;
    CU_ASSERT_EQUAL_FATAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT(WIFEXITED(status));
    CU_ASSERT_EQUAL(WEXITSTATUS(status), EFBIG);
    free(payload);

    buf_t got = BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(read_raw(tmp_dump, &got), 0);
    CU_ASSERT_EQUAL(got.len, old.len);
    CU_ASSERT_EQUAL(memcmp(got.data, old.data, old.len), 0);
    int tmp_left;
    CU_ASSERT_EQUAL(dir_entries(&tmp_left), 1);
    CU_ASSERT_FALSE(tmp_left);

    /* The old dump still loads. */
    store_t *loaded = NULL;
    char err[256] = "";
    CU_ASSERT_EQUAL_FATAL(dump_load(tmp_dump, &loaded, err, sizeof err), 0);
    CU_ASSERT_EQUAL(store_count(loaded), 1);
    store_free(loaded);
    buf_free(&got);
    buf_free(&old);
    buf_free(&body);
}

/* ==== Suites ============================================================== */

static CU_TestInfo write_tests[] = {
    {"replaces the file", test_write_replaces},
    {"relative path", test_write_relative_path},
    {"missing directory", test_write_missing_directory},
    {"rename fails", test_write_rename_fails},
    {"failed write leaves the old dump", test_write_fails_atomically},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"write", NULL, NULL, dump_fixture_setup, dump_fixture_teardown, write_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
