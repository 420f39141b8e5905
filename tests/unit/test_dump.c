#include "dump.h"
#include "harness.h"

#include "buf.h"
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ==== A fresh directory per test ======================================== */

static char dir[256];
static char path[320]; /* dir/dump.resp */

static void make_dir(void)
{
    if (harness_tmpdir_create(dir, sizeof dir) != 0) {
        perror("harness_tmpdir_create");
        abort(); /* no directory, no test worth running */
    }
    snprintf(path, sizeof path, "%s/dump.resp", dir);
}

static void remove_dir(void)
{
    harness_tmpdir_remove(dir);
}

/* ==== Helpers ============================================================= */

static void write_raw(const char *p, const void *data, size_t len)
{
    FILE *f = fopen(p, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(data, 1, len, f), len);
    CU_ASSERT_EQUAL(fclose(f), 0);
}

/* Reads the file at p into out (cleared first). Returns 0 or -1. */
static int read_raw(const char *p, buf_t *out)
{
    buf_clear(out);
    FILE *f = fopen(p, "rb");
    if (f == NULL)
        return -1;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(out, chunk, n);
    int rc = ferror(f) ? -1 : 0;
    fclose(f);
    return rc;
}

/* Number of entries in dir other than "." and "..", and whether any of
 * them is a leftover "dump.resp.tmp-*". */
static size_t dir_entries(int *tmp_left)
{
    DIR *d = opendir(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    size_t n = 0;
    *tmp_left = 0;
    const struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        n++;
        if (strncmp(de->d_name, "dump.resp.tmp-", 14) == 0)
            *tmp_left = 1;
    }
    closedir(d);
    return n;
}

typedef struct compare {
    const store_t *other;
    size_t bad;
} compare_t;

static int compare_cb(const char *key, size_t klen, const char *val, size_t vlen, void *arg)
{
    compare_t *c = arg;
    const char *got;
    size_t glen;
    if (store_get(c->other, key, klen, &got, &glen) != 0 || glen != vlen ||
        (vlen > 0 && memcmp(got, val, vlen) != 0))
        c->bad++;
    return 0;
}

/* 1 when a and b hold exactly the same entries. */
static int stores_equal(const store_t *a, const store_t *b)
{
    compare_t c = {b, 0};
    store_foreach(a, compare_cb, &c);
    return c.bad == 0 && store_count(a) == store_count(b);
}

/* One "SET key value" command as dump_serialize() writes it. */
static void append_set(buf_t *out, const char *key, size_t klen, const char *val, size_t vlen)
{
    buf_printf(out, "*3\r\n$3\r\nSET\r\n$%zu\r\n", klen);
    buf_append(out, key, klen);
    buf_printf(out, "\r\n$%zu\r\n", vlen);
    buf_append(out, val, vlen);
    buf_append(out, "\r\n", 2);
}

/*
 * Checks, without the RESP parser, that data[0..len) is nothing but
 * "*3\r\n$3\r\nSET\r\n$<n>\r\n<n bytes>\r\n$<m>\r\n<m bytes>\r\n" commands.
 * Returns the number of commands, or -1.
 */
static long count_set_commands(const char *data, size_t len)
{
    static const char head[] = "*3\r\n$3\r\nSET\r\n";
    size_t off = 0;
    long n = 0;
    while (off < len) {
        if (len - off < sizeof head - 1 || memcmp(data + off, head, sizeof head - 1) != 0)
            return -1;
        off += sizeof head - 1;
        for (int arg = 0; arg < 2; arg++) {
            if (off >= len || data[off++] != '$')
                return -1;
            size_t blen = 0, digits = 0;
            while (off < len && data[off] >= '0' && data[off] <= '9') {
                blen = blen * 10 + (size_t)(data[off++] - '0');
                digits++;
            }
            if (digits == 0 || len - off < 2 || memcmp(data + off, "\r\n", 2) != 0)
                return -1;
            off += 2;
            if (len - off < blen + 2 || memcmp(data + off + blen, "\r\n", 2) != 0)
                return -1;
            off += blen + 2;
        }
        n++;
    }
    return n;
}

/* The store the round trip tests use: plain keys and every awkward kind. */
static store_t *awkward_store(size_t plain)
{
    store_t *s = store_new();
    char k[32], v[64];
    for (size_t i = 0; i < plain; i++) {
        int kn = snprintf(k, sizeof k, "key:%zu", i);
        int vn = snprintf(v, sizeof v, "value\r\n%zu", i * 7);
        v[0] = (char)(i & 0xff); /* any byte, NUL included */
        store_set(s, k, (size_t)kn, v, (size_t)vn);
    }
    store_set(s, "", 0, "empty key", 9);
    store_set(s, "empty value", 11, "", 0);
    store_set(s, "\0", 1, "\0\0", 2);
    store_set(s, "a\0b", 3, "\r\n*3\r\n$3\r\nSET\r\n", 15); /* protocol inside data */
    store_set(s, "\xff\xfe\xfd", 3, "$-1\r\n", 5);
    size_t big = 300 * 1024;
    char *blob = malloc(big);
    CU_ASSERT_PTR_NOT_NULL_FATAL(blob);
    for (size_t i = 0; i < big; i++)
        blob[i] = (char)(i * 31 + 7);
    store_set(s, "big", 3, blob, big);
    free(blob);
    return s;
}

/* ==== Serialising ========================================================= */

static void test_serialize_exact(void)
{
    store_t *s = store_new();
    buf_t out = BUF_INIT, want = BUF_INIT;

    store_set(s, "k\0y", 3, "hello\r\n", 7);
    dump_serialize(s, &out);
    static const char one[] = "*3\r\n$3\r\nSET\r\n$3\r\nk\0y\r\n$7\r\nhello\r\n\r\n";
    CU_ASSERT_EQUAL_FATAL(out.len, sizeof one - 1);
    CU_ASSERT_EQUAL(memcmp(out.data, one, sizeof one - 1), 0);

    /* Appends: what was in out stays in front. */
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
    CU_ASSERT_EQUAL_FATAL(out.len, sizeof a - 1 + sizeof b - 1);
    int ab = memcmp(out.data, a, sizeof a - 1) == 0 &&
             memcmp(out.data + sizeof a - 1, b, sizeof b - 1) == 0;
    int ba = memcmp(out.data, b, sizeof b - 1) == 0 &&
             memcmp(out.data + sizeof b - 1, a, sizeof a - 1) == 0;
    CU_ASSERT(ab || ba);

    buf_free(&out);
    buf_free(&want);
    store_free(s);
}

static void test_serialize_empty(void)
{
    store_t *s = store_new();
    buf_t out = BUF_INIT;
    dump_serialize(s, &out);
    CU_ASSERT_EQUAL(out.len, 0);
    buf_free(&out);
    store_free(s);
}

static void test_file_is_set_commands(void)
{
    store_t *s = awkward_store(1000);
    CU_ASSERT_EQUAL_FATAL(dump_save(s, path), 0);
    buf_t file = BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(read_raw(path, &file), 0);
    CU_ASSERT_EQUAL(count_set_commands(file.data, file.len), (long)store_count(s));

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
    CU_ASSERT_EQUAL_FATAL(dump_save(s, path), 0);

    store_t *loaded = NULL;
    char err[256] = "";
    CU_ASSERT_EQUAL_FATAL(dump_load(path, &loaded, err, sizeof err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(loaded);
    CU_ASSERT_EQUAL(store_count(loaded), 10000 + 6);
    CU_ASSERT(stores_equal(s, loaded));
    CU_ASSERT(stores_equal(loaded, s));

    /* Saving what was loaded gives a file that loads the same again. */
    CU_ASSERT_EQUAL_FATAL(dump_save(loaded, path), 0);
    store_t *again = NULL;
    CU_ASSERT_EQUAL_FATAL(dump_load(path, &again, err, sizeof err), 0);
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
    CU_ASSERT_EQUAL_FATAL(dump_save(s, path), 0);
    struct stat st;
    CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_size, 0);

    store_t *loaded = NULL;
    char err[256] = "";
    CU_ASSERT_EQUAL_FATAL(dump_load(path, &loaded, err, sizeof err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(loaded);
    CU_ASSERT_EQUAL(store_count(loaded), 0);
    store_free(loaded);
    store_free(s);
}

static void test_load_missing_file(void)
{
    store_t *loaded = (store_t *)&loaded; /* must stay untouched */
    char err[256] = "";
    CU_ASSERT_EQUAL(dump_load(path, &loaded, err, sizeof err), -ENOENT);
    CU_ASSERT_PTR_EQUAL(loaded, (store_t *)&loaded);
}

/* Also accepted: what a person may write by hand. */
static void test_load_lenient_forms(void)
{
    static const char text[] = "*3\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\n1\r\n" /* lowercase */
                               "*3\r\n$3\r\nSeT\r\n$1\r\nb\r\n$1\r\n2\r\n"
                               "\r\n"                                       /* an empty line */
                               "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n3\r\n"; /* a replace */
    write_raw(path, text, sizeof text - 1);
    store_t *loaded = NULL;
    char err[256] = "";
    CU_ASSERT_EQUAL_FATAL(dump_load(path, &loaded, err, sizeof err), 0);
    CU_ASSERT_EQUAL(store_count(loaded), 2);
    const char *v = NULL;
    size_t vlen = 0;
    CU_ASSERT_EQUAL_FATAL(store_get(loaded, "a", 1, &v, &vlen), 0);
    CU_ASSERT_EQUAL(vlen, 1);
    CU_ASSERT_EQUAL(v[0], '3');
    store_free(loaded);
}

/* ==== Corrupt files ======================================================= */

/*
 * Writes prefix (valid SET commands) followed by tail to the dump, loads
 * it, and checks that it is refused whole with -EBADMSG and a message that
 * names the file, "at byte <prefix length>" and the given words.
 */
static void expect_corrupt(const char *tail, size_t tail_len, const char *words)
{
    buf_t file = BUF_INIT;
    append_set(&file, "k1", 2, "v1", 2);
    append_set(&file, "k2\0", 3, "v", 1); /* a NUL inside the key */
    size_t at = file.len;
    buf_append(&file, tail, tail_len);
    write_raw(path, file.data, file.len);

    store_t *loaded = (store_t *)&loaded;
    char err[256] = "";
    CU_ASSERT_EQUAL(dump_load(path, &loaded, err, sizeof err), -EBADMSG);
    CU_ASSERT_PTR_EQUAL(loaded, (store_t *)&loaded);

    char where[64];
    snprintf(where, sizeof where, "at byte %zu", at);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, where));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, words));
    if (strstr(err, where) == NULL || strstr(err, words) == NULL)
        fprintf(stderr, "\n    message was: \"%s\" (wanted \"%s\" and \"%s\")\n", err, where,
                words);
    buf_free(&file);
}

static void test_corrupt_truncated(void)
{
    static const char cmd[] = "*3\r\n$3\r\nSET\r\n$2\r\nk3\r\n$5\r\nhello\r\n";
    /* Cut anywhere inside the last command: after its first byte, in the
     * middle of a length, in the middle of the data, before the final LF. */
    for (size_t cut = 1; cut < sizeof cmd - 1; cut++)
        expect_corrupt(cmd, cut, "truncated command at end of file");
}

static void test_corrupt_not_set(void)
{
    static const char del[] = "*2\r\n$3\r\nDEL\r\n$2\r\nk1\r\n";
    expect_corrupt(del, sizeof del - 1, "expected SET key value, got DEL");
    static const char get[] = "*2\r\n$3\r\nget\r\n$2\r\nk1\r\n";
    expect_corrupt(get, sizeof get - 1, "expected SET key value, got get");
    /* A command with the name of SET and more, or a NUL inside. */
    static const char sets[] = "*3\r\n$4\r\nSETS\r\n$1\r\na\r\n$1\r\nb\r\n";
    expect_corrupt(sets, sizeof sets - 1, "expected SET key value, got SETS");
    static const char nul[] = "*3\r\n$3\r\nSE\0\r\n$1\r\na\r\n$1\r\nb\r\n";
    expect_corrupt(nul, sizeof nul - 1, "expected SET key value, got SE?");
}

static void test_corrupt_wrong_arity(void)
{
    static const char two[] = "*2\r\n$3\r\nSET\r\n$2\r\nk1\r\n";
    expect_corrupt(two, sizeof two - 1, "expected SET key value, got SET");
    static const char four[] = "*4\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\n$2\r\nEX\r\n";
    expect_corrupt(four, sizeof four - 1, "expected SET key value, got SET");
    static const char one[] = "*1\r\n$3\r\nset\r\n";
    expect_corrupt(one, sizeof one - 1, "expected SET key value, got set");
}

static void test_corrupt_garbage(void)
{
    /* Binary garbage, a reply rather than a request, text: each refused
     * at the offset where it starts, whatever the parser makes of it. */
    static const char bin[] = "\x01\xfe\x7f\x00garbage\xff\r\n";
    expect_corrupt(bin, sizeof bin - 1, "corrupt");
    static const char reply[] = "+OK\r\n";
    expect_corrupt(reply, sizeof reply - 1, "expected SET key value, got +OK");
    static const char text[] = "hello world\r\n";
    expect_corrupt(text, sizeof text - 1, "expected SET key value, got hello");
    static const char unterminated[] = "\xde\xad\xbe\xef";
    expect_corrupt(unterminated, sizeof unterminated - 1, "truncated command at end of file");
}

static void test_corrupt_protocol_errors(void)
{
    static const char bulk[] = "*3\r\n$3\r\nSET\r\n$abc\r\nk\r\n$1\r\nv\r\n";
    expect_corrupt(bulk, sizeof bulk - 1, "Protocol error: invalid bulk length");
    static const char neg[] = "*3\r\n$3\r\nSET\r\n$-5\r\nk\r\n$1\r\nv\r\n";
    expect_corrupt(neg, sizeof neg - 1, "Protocol error: invalid bulk length");
    static const char count[] = "*x\r\n";
    expect_corrupt(count, sizeof count - 1, "Protocol error: invalid multibulk length");
    /* The message carries no "ERR " from the reply the parser would send. */
    buf_t file = BUF_INIT;
    buf_append(&file, bulk, sizeof bulk - 1);
    write_raw(path, file.data, file.len);
    store_t *loaded = NULL;
    char err[256] = "";
    CU_ASSERT_EQUAL(dump_load(path, &loaded, err, sizeof err), -EBADMSG);
    CU_ASSERT_PTR_NULL(strstr(err, "ERR "));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "at byte 0:"));
    buf_free(&file);
}

static void test_corrupt_message_fits(void)
{
    /* A tiny err buffer gets a NUL-terminated prefix, and NULL is allowed. */
    static const char del[] = "*2\r\n$3\r\nDEL\r\n$2\r\nk1\r\n";
    write_raw(path, del, sizeof del - 1);
    store_t *loaded = NULL;
    char err[8];
    memset(err, 'x', sizeof err);
    CU_ASSERT_EQUAL(dump_load(path, &loaded, err, sizeof err), -EBADMSG);
    CU_ASSERT_EQUAL(err[sizeof err - 1], '\0');
    CU_ASSERT_EQUAL(dump_load(path, &loaded, NULL, 0), -EBADMSG);
    CU_ASSERT_PTR_NULL(loaded);
}

/* ==== Writing the file ==================================================== */

static void test_write_replaces(void)
{
    write_raw(path, "old contents", 12);
    CU_ASSERT_EQUAL_FATAL(dump_write_file(path, "new", 3), 0);
    buf_t got = BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(read_raw(path, &got), 0);
    CU_ASSERT_EQUAL(got.len, 3);
    CU_ASSERT_EQUAL(memcmp(got.data, "new", 3), 0);
    CU_ASSERT_EQUAL_FATAL(dump_write_file(path, "", 0), 0);
    CU_ASSERT_EQUAL_FATAL(read_raw(path, &got), 0);
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
    CU_ASSERT_EQUAL_FATAL(chdir(dir), 0);
    int rc = dump_write_file("dump.resp", "abc", 3);
    CU_ASSERT_EQUAL_FATAL(chdir(cwd), 0);
    CU_ASSERT_EQUAL(rc, 0);
    buf_t got = BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(read_raw(path, &got), 0);
    CU_ASSERT_EQUAL(got.len, 3);
    buf_free(&got);
}

static void test_write_missing_directory(void)
{
    char p[320];
    snprintf(p, sizeof p, "%s/no/such/dir/dump.resp", dir);
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
    CU_ASSERT_EQUAL_FATAL(mkdir(path, 0700), 0);
    int rc = dump_write_file(path, "data", 4);
    CU_ASSERT(rc == -EISDIR || rc == -EEXIST || rc == -ENOTEMPTY);
    struct stat st;
    CU_ASSERT_EQUAL(stat(path, &st), 0);
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
    static const char old[] = "*3\r\n$3\r\nSET\r\n$3\r\nold\r\n$4\r\ndump\r\n";
    write_raw(path, old, sizeof old - 1);

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
        int rc = dump_write_file(path, payload, big);
        _exit(rc < 0 && -rc < 200 ? -rc : 201);
    }
    int status = 0;
    CU_ASSERT_EQUAL_FATAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT(WIFEXITED(status));
    CU_ASSERT_EQUAL(WEXITSTATUS(status), EFBIG);
    free(payload);

    buf_t got = BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(read_raw(path, &got), 0);
    CU_ASSERT_EQUAL(got.len, sizeof old - 1);
    CU_ASSERT_EQUAL(memcmp(got.data, old, sizeof old - 1), 0);
    int tmp_left;
    CU_ASSERT_EQUAL(dir_entries(&tmp_left), 1);
    CU_ASSERT_FALSE(tmp_left);

    /* The old dump still loads. */
    store_t *loaded = NULL;
    char err[256] = "";
    CU_ASSERT_EQUAL_FATAL(dump_load(path, &loaded, err, sizeof err), 0);
    CU_ASSERT_EQUAL(store_count(loaded), 1);
    store_free(loaded);
    buf_free(&got);
}

/* ==== Suites ============================================================== */

static CU_TestInfo serialize_tests[] = {
    {"byte-exact", test_serialize_exact},
    {"empty store", test_serialize_empty},
    {"file is SET commands", test_file_is_set_commands},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo load_tests[] = {
    {"round trip", test_round_trip},
    {"round trip of an empty store", test_round_trip_empty},
    {"missing file", test_load_missing_file},
    {"lenient forms", test_load_lenient_forms},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo corrupt_tests[] = {
    {"truncated last command", test_corrupt_truncated},
    {"not SET", test_corrupt_not_set},
    {"SET with the wrong arity", test_corrupt_wrong_arity},
    {"garbage", test_corrupt_garbage},
    {"protocol errors", test_corrupt_protocol_errors},
    {"message fits", test_corrupt_message_fits},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo write_tests[] = {
    {"replaces the file", test_write_replaces},
    {"relative path", test_write_relative_path},
    {"missing directory", test_write_missing_directory},
    {"rename fails", test_write_rename_fails},
    {"failed write leaves the old dump", test_write_fails_atomically},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"serialize", NULL, NULL, make_dir, remove_dir, serialize_tests},
    {"load", NULL, NULL, make_dir, remove_dir, load_tests},
    {"corrupt", NULL, NULL, make_dir, remove_dir, corrupt_tests},
    {"write", NULL, NULL, make_dir, remove_dir, write_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
