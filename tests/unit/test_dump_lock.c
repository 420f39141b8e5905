/* Unit tests of common/dump_lock.c: the lock that keeps a second server
 * off a dump, the stale temporary files removed at start, and dump_open(),
 * what a server does with its dump at start. */

#include "dump_fixture.h"

#include "dump.h"
#include "dump_lock.h"
#include "harness.h"

#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ==== The lock ============================================================ */

static void lock_file_path(char *out, size_t outlen)
{
    snprintf(out, outlen, "%s.lock", tmp_dump);
}

/* The message a second server gets while process pid holds the lock. */
static void want_busy(char *out, size_t outlen, long pid)
{
    char lp[330];
    lock_file_path(lp, sizeof lp);
    snprintf(out, outlen,
             "%s is in use by another server (process %ld holds %s): stop it first, or use "
             "another dump file",
             tmp_dump, pid, lp);
}

/* flock locks belong to open files: a second dump_lock() in the same
 * process conflicts with the first, as a second server would. */
static void test_lock_refuses_second(void)
{
    dump_lock_t a = DUMP_LOCK_INIT, b = DUMP_LOCK_INIT;
    char err[1024] = "", want[1024];
    CU_ASSERT_EQUAL_FATAL(dump_lock(&a, tmp_dump, err, sizeof err), 0);
    CU_ASSERT(a.fd >= 0);
    CU_ASSERT_EQUAL(dump_lock(&b, tmp_dump, err, sizeof err), -EBUSY);
    CU_ASSERT_EQUAL(b.fd, -1);
    want_busy(want, sizeof want, (long)getpid());
    CU_ASSERT_STRING_EQUAL(err, want);

    /* Another dump in the same directory has a lock of its own. */
    char other[400];
    snprintf(other, sizeof other, "%s/other.resp", tmp_dir);
    CU_ASSERT_EQUAL(dump_lock(&b, other, err, sizeof err), 0);
    dump_unlock(&b);

    /* Released, it can be taken again; the lock file stays. */
    dump_unlock(&a);
    CU_ASSERT_EQUAL(a.fd, -1);
    dump_unlock(&a); /* a second time: nothing */
    char lp[400];
    struct stat st;
    lock_file_path(lp, sizeof lp);
    CU_ASSERT_EQUAL(stat(lp, &st), 0);
    CU_ASSERT_EQUAL(dump_lock(&b, tmp_dump, err, sizeof err), 0);
    dump_unlock(&b);
}

/* Why the lock is not on the dump itself: a save replaces the dump's
 * inode. The lock holds across saves. */
static void test_lock_survives_saves(void)
{
    dump_lock_t a = DUMP_LOCK_INIT, b = DUMP_LOCK_INIT;
    char err[512] = "";
    store_t *s = awkward_store(10);
    CU_ASSERT_EQUAL_FATAL(dump_lock(&a, tmp_dump, err, sizeof err), 0);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(dump_save(s, tmp_dump), 0);
        CU_ASSERT_EQUAL(dump_lock(&b, tmp_dump, err, sizeof err), -EBUSY);
    }
    dump_unlock(&a);
    store_free(s);
}

/* Another process: refused while the holder lives, free once it is gone,
 * however it ended (here _exit() with the lock still held, as a crash). */
static void test_lock_other_process(void)
{
    int ready[2], go[2];
    CU_ASSERT_EQUAL_FATAL(pipe(ready), 0);
    CU_ASSERT_EQUAL_FATAL(pipe(go), 0);
    fflush(NULL);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        close(go[1]); /* so that the parent's close is an EOF here */
        dump_lock_t held = DUMP_LOCK_INIT;
        char c = dump_lock(&held, tmp_dump, NULL, 0) == 0 ? 'y' : 'n';
        if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) < 0)
            _exit(2);
        _exit(0); /* no dump_unlock(): the kernel releases it */
    }
    close(ready[1]);
    close(go[0]);
    char c = 0;
    CU_ASSERT_EQUAL_FATAL(read(ready[0], &c, 1), 1);
    CU_ASSERT_EQUAL(c, 'y');

    dump_lock_t mine = DUMP_LOCK_INIT;
    char err[1024] = "", want[1024];
    CU_ASSERT_EQUAL(dump_lock(&mine, tmp_dump, err, sizeof err), -EBUSY);
    want_busy(want, sizeof want, (long)pid);
    CU_ASSERT_STRING_EQUAL(err, want);

    close(go[1]); /* the child exits */
    int status = 0;
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    close(ready[0]);
    CU_ASSERT_EQUAL(dump_lock(&mine, tmp_dump, err, sizeof err), 0);
    dump_unlock(&mine);
}

static void test_lock_cannot_open(void)
{
    char p[400], want[1200];
    snprintf(p, sizeof p, "%s/no/such/dir/dump.resp", tmp_dir);
    dump_lock_t lock = DUMP_LOCK_INIT;
    char err[512] = "";
    CU_ASSERT_EQUAL(dump_lock(&lock, p, err, sizeof err), -ENOENT);
    CU_ASSERT_EQUAL(lock.fd, -1);
    snprintf(want, sizeof want, "%s: cannot open its lock file %s.lock: %s", p, p,
             strerror(ENOENT));
    CU_ASSERT_STRING_EQUAL(err, want);
}

/* ==== Stale temporary files =============================================== */

static void touch(const char *name)
{
    char p[400];
    snprintf(p, sizeof p, "%s/%s", tmp_dir, name);
    write_raw(p, "x", 1);
}

static int exists(const char *name)
{
    char p[400];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", tmp_dir, name);
    return lstat(p, &st) == 0;
}

/* Only names "dump.resp.tmp-" + six letters or digits, only regular files. */
static void test_stale_removes_only_matching(void)
{
    static const char *const stale[] = {"dump.resp.tmp-Ab12Cd", "dump.resp.tmp-000000",
                                        "dump.resp.tmp-zzzzzz"};
    static const char *const kept[] = {
        "dump.resp",
        "dump.resp.tmp-",
        "dump.resp.tmp-Ab12C",
        "dump.resp.tmp-Ab12Cd7",
        "dump.resp.tmp-Ab-2Cd",
        "dump.resp.tmp-Ab12C\xc3\xa9",
        "dump.resp.tmpAb12Cd",
        "dump.resp.tmp-Ab12Cd.bak",
        "dump.resp.bak",
        "xdump.resp.tmp-Ab12Cd",
        "ump.resp.tmp-Ab12Cd",
        "other.resp.tmp-Ab12Cd",
    };
    for (size_t i = 0; i < sizeof stale / sizeof stale[0]; i++)
        touch(stale[i]);
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
        touch(kept[i]);
    /* A real one, named by mkostemp() as dump_write_file() names them. */
    char real[400];
    snprintf(real, sizeof real, "%s.tmp-XXXXXX", tmp_dump);
    int fd = mkostemp(real, O_CLOEXEC);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    /* A directory and a symbolic link with a matching name: not a save's. */
    char p[400], target[400];
    snprintf(p, sizeof p, "%s/dump.resp.tmp-Dir123", tmp_dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/dump.resp.tmp-Link12", tmp_dir);
    snprintf(target, sizeof target, "%s/dump.resp.bak", tmp_dir);
    CU_ASSERT_EQUAL_FATAL(symlink(target, p), 0);

    dump_lock_t lock = DUMP_LOCK_INIT;
    char err[512] = "";
    CU_ASSERT_EQUAL_FATAL(dump_lock(&lock, tmp_dump, err, sizeof err), 0);
    CU_ASSERT_EQUAL(dump_remove_stale(&lock, tmp_dump, err, sizeof err), 4);
    for (size_t i = 0; i < sizeof stale / sizeof stale[0]; i++)
        CU_ASSERT_FALSE(exists(stale[i]));
    struct stat st;
    CU_ASSERT_NOT_EQUAL(lstat(real, &st), 0);
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
        CU_ASSERT(exists(kept[i]));
        if (!exists(kept[i]))
            fprintf(stderr, "\n    removed: %s\n", kept[i]);
    }
    CU_ASSERT(exists("dump.resp.tmp-Dir123"));
    CU_ASSERT(exists("dump.resp.tmp-Link12"));
    CU_ASSERT(exists("dump.resp.lock"));
    /* Nothing left to remove the second time. */
    CU_ASSERT_EQUAL(dump_remove_stale(&lock, tmp_dump, err, sizeof err), 0);
    dump_unlock(&lock);
    snprintf(p, sizeof p, "%s/dump.resp.tmp-Dir123", tmp_dir);
    rmdir(p);
}

/* A relative path: the current directory is searched. */
static void test_stale_relative_path(void)
{
    touch("dump.resp.tmp-Rel123");
    char cwd[4096];
    CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof cwd));
    CU_ASSERT_EQUAL_FATAL(chdir(tmp_dir), 0);
    dump_lock_t lock = DUMP_LOCK_INIT;
    int rc = dump_lock(&lock, "dump.resp", NULL, 0);
    int removed = rc == 0 ? dump_remove_stale(&lock, "dump.resp", NULL, 0) : rc;
    dump_unlock(&lock);
    CU_ASSERT_EQUAL_FATAL(chdir(cwd), 0);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(removed, 1);
    CU_ASSERT_FALSE(exists("dump.resp.tmp-Rel123"));
}

/* ==== dump_open(): what a server does at start ============================ */

static void test_open_loads_and_cleans(void)
{
    store_t *s = awkward_store(100);
    CU_ASSERT_EQUAL_FATAL(dump_save(s, tmp_dump), 0);
    touch("dump.resp.tmp-Crash1");

    dump_lock_t lock = DUMP_LOCK_INIT, second = DUMP_LOCK_INIT;
    store_t *loaded = NULL;
    char err[512] = "";
    CU_ASSERT_EQUAL_FATAL(dump_open(tmp_dump, &lock, &loaded, err, sizeof err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(loaded);
    CU_ASSERT(stores_equal(s, loaded));
    CU_ASSERT_FALSE(exists("dump.resp.tmp-Crash1"));
    CU_ASSERT_EQUAL(dump_lock(&second, tmp_dump, err, sizeof err), -EBUSY); /* still held */
    dump_unlock(&lock);
    store_free(loaded);
    store_free(s);
}

static void test_open_no_dump_yet(void)
{
    dump_lock_t lock = DUMP_LOCK_INIT, second = DUMP_LOCK_INIT;
    store_t *loaded = (store_t *)&loaded;
    char err[512] = "";
    CU_ASSERT_EQUAL(dump_open(tmp_dump, &lock, &loaded, err, sizeof err), 0);
    CU_ASSERT_PTR_NULL(loaded);
    CU_ASSERT(lock.fd >= 0);
    CU_ASSERT_EQUAL(dump_lock(&second, tmp_dump, err, sizeof err), -EBUSY);
    dump_unlock(&lock);
}

/* The second server: refused, and the first one's SAVE in progress (its
 * temporary file) is left alone. */
static void test_open_while_locked(void)
{
    store_t *s = awkward_store(10);
    CU_ASSERT_EQUAL_FATAL(dump_save(s, tmp_dump), 0);
    dump_lock_t first = DUMP_LOCK_INIT, second = DUMP_LOCK_INIT;
    char err[1024] = "", want[1024];
    CU_ASSERT_EQUAL_FATAL(dump_lock(&first, tmp_dump, err, sizeof err), 0);
    touch("dump.resp.tmp-Saving");

    store_t *loaded = (store_t *)&loaded;
    CU_ASSERT_EQUAL(dump_open(tmp_dump, &second, &loaded, err, sizeof err), -EBUSY);
    want_busy(want, sizeof want, (long)getpid());
    CU_ASSERT_STRING_EQUAL(err, want);
    CU_ASSERT_PTR_EQUAL(loaded, (store_t *)&loaded);
    CU_ASSERT_EQUAL(second.fd, -1);
    CU_ASSERT(exists("dump.resp.tmp-Saving"));
    dump_unlock(&first);
    store_free(s);
}

/* A damaged dump: refused, and the lock released with it. */
static void test_open_corrupt(void)
{
    write_raw(tmp_dump, "", 0);
    dump_lock_t lock = DUMP_LOCK_INIT;
    store_t *loaded = (store_t *)&loaded;
    char err[1024] = "", want[1024];
    CU_ASSERT_EQUAL(dump_open(tmp_dump, &lock, &loaded, err, sizeof err), -EBADMSG);
    snprintf(want, sizeof want, "%s: corrupt at byte 0: " WANT_HEADER ", found the end of the file",
             tmp_dump);
    CU_ASSERT_STRING_EQUAL(err, want);
    CU_ASSERT_PTR_EQUAL(loaded, (store_t *)&loaded);
    CU_ASSERT_EQUAL(lock.fd, -1);
    CU_ASSERT_EQUAL(dump_lock(&lock, tmp_dump, err, sizeof err), 0);
    dump_unlock(&lock);
}

/* ==== Suites ============================================================== */

static CU_TestInfo lock_tests[] = {
    {"refuses a second holder", test_lock_refuses_second},
    {"survives saves", test_lock_survives_saves},
    {"another process", test_lock_other_process},
    {"cannot open", test_lock_cannot_open},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo stale_tests[] = {
    {"removes only matching files", test_stale_removes_only_matching},
    {"relative path", test_stale_relative_path},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo open_tests[] = {
    {"loads and cleans", test_open_loads_and_cleans},
    {"no dump yet", test_open_no_dump_yet},
    {"while another holds the lock", test_open_while_locked},
    {"corrupt dump", test_open_corrupt},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"lock", NULL, NULL, dump_fixture_setup, dump_fixture_teardown, lock_tests},
    {"stale temporary files", NULL, NULL, dump_fixture_setup, dump_fixture_teardown, stale_tests},
    {"open", NULL, NULL, dump_fixture_setup, dump_fixture_teardown, open_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
