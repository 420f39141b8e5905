#include "dump.h"
#include "dump_lock.h"
#include "harness.h"

#include "buf.h"
#include "crc64.h"
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
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

/* The format, written out here rather than taken from dump.c, so that a
 * change to it shows up as a failing test. */
static const char header[] = "*2\r\n$4\r\nECHO\r\n$20\r\nstaged-ports dump v1\r\n";

/* Appends the trailer for `keys` keys and a checksum of crc. */
static void append_trailer(buf_t *out, size_t keys, uint64_t crc)
{
    char text[96];
    int n =
        snprintf(text, sizeof text, "staged-ports dump end keys=%zu crc64=%016" PRIx64, keys, crc);
    buf_printf(out, "*2\r\n$4\r\nECHO\r\n$%d\r\n%s\r\n", n, text);
}

/* A whole dump around body (SET commands, or whatever a test puts there):
 * the header, body, and a trailer that says `keys` keys and holds the
 * right checksum, so that only the parser can object to body. */
static void make_file(buf_t *out, const void *body, size_t blen, size_t keys)
{
    buf_clear(out);
    buf_append(out, header, sizeof header - 1);
    buf_append(out, body, blen);
    append_trailer(out, keys, crc64(out->data, out->len));
}

/* The body of most corruption tests: two keys, one with a NUL inside. */
static void two_sets(buf_t *body)
{
    buf_clear(body);
    append_set(body, "k1", 2, "v1", 2);
    append_set(body, "k2\0", 3, "value", 5);
}

/*
 * Checks, without dump.c's parser, that data[0..len) is the header, SET
 * commands, and a trailer whose key count and checksum are right. Returns
 * the number of SET commands, or -1.
 */
static long check_file_format(const char *data, size_t len)
{
    static const char head[] = "*3\r\n$3\r\nSET\r\n";
    static const char trailer_head[] = "*2\r\n$4\r\nECHO\r\n";
    if (len < sizeof header - 1 || memcmp(data, header, sizeof header - 1) != 0)
        return -1;
    size_t off = sizeof header - 1;
    long n = 0;
    while (off < len && len - off >= sizeof head - 1 &&
           memcmp(data + off, head, sizeof head - 1) == 0) {
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
    buf_t want = BUF_INIT;
    append_trailer(&want, (size_t)n, crc64(data, off));
    int ok = len - off == want.len && memcmp(data + off, want.data, want.len) == 0 &&
             memcmp(data + off, trailer_head, sizeof trailer_head - 1) == 0;
    buf_free(&want);
    return ok ? n : -1;
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

    /* The checksum was computed elsewhere (a bit-by-bit Python script). */
    store_set(s, "k\0y", 3, "hello\r\n", 7);
    dump_serialize(s, &out);
    static const char one[] = "*2\r\n$4\r\nECHO\r\n$20\r\nstaged-ports dump v1\r\n"
                              "*3\r\n$3\r\nSET\r\n$3\r\nk\0y\r\n$7\r\nhello\r\n\r\n"
                              "*2\r\n$4\r\nECHO\r\n$51\r\n"
                              "staged-ports dump end keys=1 crc64=b08f06aa22cbc56a\r\n";
    CU_ASSERT_EQUAL_FATAL(out.len, sizeof one - 1);
    CU_ASSERT_EQUAL(memcmp(out.data, one, sizeof one - 1), 0);

    /* Appends: what was in out stays in front, outside the checksum. */
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
    buf_t ab = BUF_INIT, ba = BUF_INIT, body = BUF_INIT;
    buf_append(&body, a, sizeof a - 1);
    buf_append(&body, b, sizeof b - 1);
    make_file(&ab, body.data, body.len, 2);
    buf_clear(&body);
    buf_append(&body, b, sizeof b - 1);
    buf_append(&body, a, sizeof a - 1);
    make_file(&ba, body.data, body.len, 2);
    CU_ASSERT((out.len == ab.len && memcmp(out.data, ab.data, ab.len) == 0) ||
              (out.len == ba.len && memcmp(out.data, ba.data, ba.len) == 0));

    buf_free(&ab);
    buf_free(&ba);
    buf_free(&body);
    buf_free(&out);
    buf_free(&want);
    store_free(s);
}

static void test_serialize_empty(void)
{
    store_t *s = store_new();
    buf_t out = BUF_INIT;
    dump_serialize(s, &out);
    /* Header and trailer only: an empty store is not an empty file, so a
     * file cut to 0 bytes cannot pass for one. */
    static const char empty[] = "*2\r\n$4\r\nECHO\r\n$20\r\nstaged-ports dump v1\r\n"
                                "*2\r\n$4\r\nECHO\r\n$51\r\n"
                                "staged-ports dump end keys=0 crc64=c65a84bdaf0f6b54\r\n";
    CU_ASSERT_EQUAL_FATAL(out.len, sizeof empty - 1);
    CU_ASSERT_EQUAL(memcmp(out.data, empty, sizeof empty - 1), 0);
    buf_free(&out);
    store_free(s);
}

static void test_file_format(void)
{
    store_t *s = awkward_store(1000);
    CU_ASSERT_EQUAL_FATAL(dump_save(s, path), 0);
    buf_t file = BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(read_raw(path, &file), 0);
    CU_ASSERT_EQUAL(check_file_format(file.data, file.len), (long)store_count(s));

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
    buf_t file = BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(read_raw(path, &file), 0);
    CU_ASSERT_EQUAL(check_file_format(file.data, file.len), 0);

    store_t *loaded = NULL;
    char err[256] = "";
    CU_ASSERT_EQUAL_FATAL(dump_load(path, &loaded, err, sizeof err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(loaded);
    CU_ASSERT_EQUAL(store_count(loaded), 0);
    buf_free(&file);
    store_free(loaded);
    store_free(s);
}

static void test_load_missing_file(void)
{
    store_t *loaded = (store_t *)&loaded; /* must stay untouched */
    char err[256] = "";
    CU_ASSERT_EQUAL(dump_load(path, &loaded, err, sizeof err), -ENOENT);
    CU_ASSERT_PTR_EQUAL(loaded, (store_t *)&loaded);
    char want[400];
    snprintf(want, sizeof want, "%s: %s", path, strerror(ENOENT));
    CU_ASSERT_STRING_EQUAL(err, want);
}

/* A file made by the test's own helpers loads: they write the format the
 * corruption tests below then break one thing at a time. */
static void test_load_hand_made(void)
{
    buf_t body = BUF_INIT, file = BUF_INIT;
    two_sets(&body);
    make_file(&file, body.data, body.len, 2);
    write_raw(path, file.data, file.len);
    store_t *loaded = NULL;
    char err[256] = "";
    CU_ASSERT_EQUAL_FATAL(dump_load(path, &loaded, err, sizeof err), 0);
    CU_ASSERT_EQUAL(store_count(loaded), 2);
    const char *v = NULL;
    size_t vlen = 0;
    CU_ASSERT_EQUAL_FATAL(store_get(loaded, "k2\0", 3, &v, &vlen), 0);
    CU_ASSERT(vlen == 5 && memcmp(v, "value", 5) == 0);
    store_free(loaded);
    buf_free(&body);
    buf_free(&file);
}

/* ==== Corrupt files ======================================================= */

/*
 * Writes data[0..len) as the dump, loads it, and checks that it is refused
 * whole with -EBADMSG and exactly the message "<path>: <want>". Returns 1
 * when it was.
 */
static int expect_refused_n(const void *data, size_t len, const char *want)
{
    write_raw(path, data, len);
    store_t *loaded = (store_t *)&loaded;
    char err[512] = "";
    int rc = dump_load(path, &loaded, err, sizeof err);
    CU_ASSERT_EQUAL(rc, -EBADMSG);
    CU_ASSERT_PTR_EQUAL(loaded, (store_t *)&loaded);
    if (want == NULL)
        return rc == -EBADMSG;
    char full[512];
    snprintf(full, sizeof full, "%s: %s", path, want);
    CU_ASSERT_STRING_EQUAL(err, full);
    if (strcmp(err, full) != 0)
        fprintf(stderr, "\n    message was: \"%s\"\n    wanted:      \"%s\"\n", err, full);
    return rc == -EBADMSG && strcmp(err, full) == 0;
}

static int expect_refused(const buf_t *file, const char *want)
{
    return expect_refused_n(file->data, file->len, want);
}

/* "expected a SET command or the trailer, found <found>" at byte at. */
static void want_command(char *out, size_t outlen, size_t at, const char *found)
{
    snprintf(out, outlen,
             "corrupt at byte %zu: expected a SET command (\"*3\\r\\n$3\\r\\nSET\\r\\n\"...) or "
             "the trailer (\"*2\\r\\n$4\\r\\nECHO\\r\\n\"...), found %s",
             at, found);
}

#define WANT_HEADER                                                                                \
    "expected \"*2\\r\\n$4\\r\\nECHO\\r\\n$20\\r\\nstaged-ports dump v1\\r\\n\" (the header: "     \
    "magic and format version 1)"

static void test_corrupt_header(void)
{
    buf_t body = BUF_INIT, file = BUF_INIT;
    expect_refused_n("", 0, "corrupt at byte 0: " WANT_HEADER ", found the end of the file");

    /* The format before the header existed: SET commands only. */
    two_sets(&body);
    expect_refused(&body, "corrupt at byte 1: " WANT_HEADER
                          ", found \"3\\r\\n$3\\r\\nSET\\r\\n$2\\r\\n\"...");

    /* Another version, another magic, a header cut short. */
    make_file(&file, body.data, body.len, 2);
    file.data[38] = '2';
    expect_refused(&file, "corrupt at byte 38: " WANT_HEADER
                          ", found \"2\\r\\n*3\\r\\n$3\\r\\nSET\\r\\n\"...");
    make_file(&file, body.data, body.len, 2);
    file.data[19] = 'S';
    expect_refused(&file, "corrupt at byte 19: " WANT_HEADER ", found \"Staged-ports dum\"...");
    expect_refused_n(header, 30, "corrupt at byte 30: " WANT_HEADER ", found the end of the file");
    buf_free(&body);
    buf_free(&file);
}

/* Cut anywhere, the file is refused, and at or before the cut. */
static void test_corrupt_truncated(void)
{
    buf_t body = BUF_INIT, file = BUF_INIT;
    two_sets(&body);
    make_file(&file, body.data, body.len, 2);
    int refused = 0;
    for (size_t cut = 0; cut < file.len; cut++) {
        write_raw(path, file.data, cut);
        store_t *loaded = NULL;
        char err[512] = "";
        if (dump_load(path, &loaded, err, sizeof err) != -EBADMSG) {
            store_free(loaded);
            continue;
        }
        size_t at = SIZE_MAX;
        char *p = strstr(err, "corrupt at byte ");
        if (p != NULL)
            at = strtoul(p + 16, NULL, 10);
        refused += at <= cut && strstr(err, "the end of the file") != NULL;
    }
    CU_ASSERT_EQUAL(refused, (int)file.len);

    /* At a command boundary, with no trailer: the loss is named. */
    char want[512];
    want_command(want, sizeof want, sizeof header - 1 + body.len, "the end of the file");
    expect_refused_n(file.data, sizeof header - 1 + body.len, want);
    /* Inside the trailer's text. */
    snprintf(want, sizeof want,
             "corrupt at byte %zu: expected the 51 byte(s) of the trailer's text, found only 10 "
             "before the end of the file",
             sizeof header - 1 + body.len + 19);
    expect_refused_n(file.data, sizeof header - 1 + body.len + 29, want);
    /* In the middle of a value. */
    snprintf(want, sizeof want,
             "corrupt at byte %zu: expected the 5 byte(s) of the value, found only 2 before the "
             "end of the file",
             sizeof header - 1 + body.len - 7);
    expect_refused_n(file.data, sizeof header - 1 + body.len - 5, want);
    buf_free(&body);
    buf_free(&file);
}

/* A flipped byte in a value or a key parses: the checksum catches it. */
static void test_corrupt_checksum(void)
{
    buf_t body = BUF_INIT, file = BUF_INIT;
    two_sets(&body);
    make_file(&file, body.data, body.len, 2);
    size_t trailer_at = sizeof header - 1 + body.len;
    uint64_t stated = crc64(file.data, trailer_at);
    static const char *const targets[] = {"value", "k1"};
    for (size_t i = 0; i < 2; i++) {
        make_file(&file, body.data, body.len, 2);
        char *at = memmem(file.data, file.len, targets[i], strlen(targets[i]));
        CU_ASSERT_PTR_NOT_NULL_FATAL(at);
        at[1] ^= 0x20; /* "vAlue", "K1" */
        char want[512];
        snprintf(want, sizeof want,
                 "checksum mismatch: the trailer at byte %zu says crc64 %016" PRIx64
                 ", the %zu bytes before it hash to %016" PRIx64,
                 trailer_at, stated, trailer_at, crc64(file.data, trailer_at));
        expect_refused(&file, want);
    }

    /* The trailer states another checksum. */
    make_file(&file, body.data, body.len, 2);
    char *hex = file.data + file.len - 2 - 16;
    hex[15] = hex[15] == '0' ? '1' : '0';
    char want[512];
    snprintf(want, sizeof want,
             "checksum mismatch: the trailer at byte %zu says crc64 %.16s, the %zu bytes before "
             "it hash to %016" PRIx64,
             trailer_at, hex, trailer_at, stated);
    expect_refused(&file, want);
    buf_free(&body);
    buf_free(&file);
}

/* Whatever single bit is flipped, wherever, the file is refused. */
static void test_corrupt_every_bit(void)
{
    buf_t body = BUF_INIT, file = BUF_INIT;
    two_sets(&body);
    make_file(&file, body.data, body.len, 2);
    int loaded_anyway = 0;
    for (size_t i = 0; i < file.len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            file.data[i] ^= (char)(1u << bit);
            write_raw(path, file.data, file.len);
            store_t *loaded = NULL;
            if (dump_load(path, &loaded, NULL, 0) != -EBADMSG) {
                loaded_anyway++;
                store_free(loaded);
            }
            file.data[i] ^= (char)(1u << bit);
        }
    }
    CU_ASSERT_EQUAL(loaded_anyway, 0);
    buf_free(&body);
    buf_free(&file);
}

static void test_corrupt_after_trailer(void)
{
    buf_t body = BUF_INIT, file = BUF_INIT;
    two_sets(&body);
    static const struct {
        const char *text, *found;
    } tails[] = {
        {"SET extra 1\r\n", "13 more byte(s): \"SET extra 1\\r\\n\" then the end of the file"},
        {"*3\r\n$3\r\nSET\r\n$5\r\nextra\r\n$1\r\n1\r\n",
         "31 more byte(s): \"*3\\r\\n$3\\r\\nSET\\r\\n$5\\r\"..."},
        {"\n", "1 more byte(s): \"\\n\" then the end of the file"},
        {"\0", "1 more byte(s): \"\\x00\" then the end of the file"},
    };
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        make_file(&file, body.data, body.len, 2);
        size_t end = file.len;
        buf_append(&file, tails[i].text, tails[i].text[0] != '\0' ? strlen(tails[i].text) : 1);
        char want[512];
        snprintf(want, sizeof want,
                 "corrupt at byte %zu: expected the end of the file after the trailer, found %s",
                 end, tails[i].found);
        expect_refused(&file, want);
    }
    /* And a second trailer. */
    make_file(&file, body.data, body.len, 2);
    size_t end = file.len;
    append_trailer(&file, 2, crc64(file.data, file.len));
    char want[512];
    snprintf(want, sizeof want,
             "corrupt at byte %zu: expected the end of the file after the trailer, found 72 more "
             "byte(s): \"*2\\r\\n$4\\r\\nECHO\\r\\n$5\"...",
             end);
    expect_refused(&file, want);
    buf_free(&body);
    buf_free(&file);
}

/* Only what the server writes: commands it accepts from a client, but
 * never writes itself, are refused even with a right checksum. */
static void test_corrupt_not_written_so(void)
{
    static const struct {
        const char *text;
        size_t len;
        const char *found;
    } bodies[] = {
        {"SET k v\r\n", 9, "\"SET k v\\r\\n*2\\r\\n$4\\r\"..."},
        {"*3\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\n1\r\n", 27, "\"*3\\r\\n$3\\r\\nset\\r\\n$1\\r\"..."},
        {"\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n", 29,
         "\"\\r\\n*3\\r\\n$3\\r\\nSET\\r\\n$\"..."},
        {"*2\r\n$3\r\nDEL\r\n$2\r\nk1\r\n", 21, "\"*2\\r\\n$3\\r\\nDEL\\r\\n$2\\r\"..."},
        {"*4\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\n$2\r\nEX\r\n", 35,
         "\"*4\\r\\n$3\\r\\nSET\\r\\n$1\\r\"..."},
        {"+OK\r\n", 5, "\"+OK\\r\\n*2\\r\\n$4\\r\\nECH\"..."},
        {"\x01\xfe\x7f\x00garbage", 11, "\"\\x01\\xfe\\x7f\\x00garbage*2\\r\\n$\"..."},
    };
    buf_t body = BUF_INIT, file = BUF_INIT;
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        two_sets(&body);
        size_t at = sizeof header - 1 + body.len;
        buf_append(&body, bodies[i].text, bodies[i].len);
        make_file(&file, body.data, body.len, 3);
        char want[512];
        want_command(want, sizeof want, at, bodies[i].found);
        expect_refused(&file, want);
    }
    buf_free(&body);
    buf_free(&file);
}

/* A SET whose parts are not as the server writes them. */
static void test_corrupt_set(void)
{
    static const struct {
        const char *text;
        size_t at; /* from the start of this SET */
        const char *want;
    } sets[] = {
        {"*3\r\n$3\r\nSET\r\n$abc\r\nk\r\n$1\r\nv\r\n", 14,
         "expected the length of the key in decimal digits, found "
         "\"abc\\r\\nk\\r\\n$1\\r\\nv\\r\\n*\"..."},
        {"*3\r\n$3\r\nSET\r\n$-1\r\n$1\r\nv\r\n", 14,
         "expected the length of the key in decimal digits, found "
         "\"-1\\r\\n$1\\r\\nv\\r\\n*2\\r\\n$\"..."},
        {"*3\r\n$3\r\nSET\r\n$01\r\nk\r\n$1\r\nv\r\n", 14,
         "expected the length of the key in decimal digits, found "
         "\"01\\r\\nk\\r\\n$1\\r\\nv\\r\\n*2\"..."},
        {"*3\r\n$3\r\nSET\r\n$99999999999999999999\r\n", 14,
         "expected the length of the key, at most 9223372036854775807, found "
         "\"9999999999999999\"..."},
        {"*3\r\n$3\r\nSET\r\n$1 \r\nk\r\n$1\r\nv\r\n", 15,
         "expected \"\\r\\n\" (after the length of the key), found \" "
         "\\r\\nk\\r\\n$1\\r\\nv\\r\\n*2\\r\"..."},
        {"*3\r\n$3\r\nSET\r\nk\r\n$1\r\nv\r\n", 13,
         "expected \"$\" (the start of the key), found \"k\\r\\n$1\\r\\nv\\r\\n*2\\r\\n$4\"..."},
        {"*3\r\n$3\r\nSET\r\n$1\r\nkk\r\n$1\r\nv\r\n", 18,
         "expected \"\\r\\n\" (after the 1 byte(s) of the key), found "
         "\"k\\r\\n$1\\r\\nv\\r\\n*2\\r\\n$4\"..."},
        {"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\n", 25,
         "expected \"\\r\\n\" (after the 1 byte(s) of the value), found "
         "\"\\n*2\\r\\n$4\\r\\nECHO\\r\\n$\"..."},
        {"*3\r\n$3\r\nSET\r\n$2\r\nk1\r\n$1\r\nx\r\n", 0,
         "expected a SET of a key not set before, found a second one"},
    };
    buf_t body = BUF_INIT, file = BUF_INIT;
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        two_sets(&body);
        size_t at = sizeof header - 1 + body.len + sets[i].at;
        buf_append_str(&body, sets[i].text);
        make_file(&file, body.data, body.len, 3);
        char want[512];
        snprintf(want, sizeof want, "corrupt at byte %zu: %s", at, sets[i].want);
        expect_refused(&file, want);
    }
    buf_free(&body);
    buf_free(&file);
}

static void test_corrupt_trailer(void)
{
    buf_t body = BUF_INIT, file = BUF_INIT;
    two_sets(&body);
    size_t trailer_at = sizeof header - 1 + body.len;
    size_t text_at = trailer_at + 19; /* after "*2\r\n$4\r\nECHO\r\n$51\r\n" */
    char want[512];

    /* A wrong key count: one key less, one more, the SETs of one key
     * removed from a file that still counts it. */
    make_file(&file, body.data, body.len, 3);
    snprintf(want, sizeof want,
             "corrupt at byte %zu: expected the key count 2 (the SET commands before the trailer), "
             "found 3",
             text_at + 27);
    expect_refused(&file, want);
    make_file(&file, body.data, body.len, 1);
    snprintf(want, sizeof want,
             "corrupt at byte %zu: expected the key count 2 (the SET commands before the trailer), "
             "found 1",
             text_at + 27);
    expect_refused(&file, want);

    /* The text not as written: uppercase hex, a leading zero, another
     * word, a short checksum, something after it. */
    static const struct {
        const char *text;
        size_t at;
        const char *want;
    } texts[] = {
        {"staged-ports dump end keys=2 crc64=ABCDEF0123456789", 35,
         "expected 16 lowercase hex digits (the checksum), found \"ABCDEF0123456789\" then the end "
         "of the trailer's text"},
        {"staged-ports dump end keys=02 crc64=0123456789abcdef", 27,
         "expected the key count in decimal digits, found \"02 crc64=0123456\"..."},
        {"staged-ports dump end count=2 crc64=0123456789abcdef", 22,
         "expected \"staged-ports dump end keys=\" (the trailer's text), found "
         "\"count=2 crc64=01\"..."},
        {"staged-ports dump end keys=2 crc64=0123", 39,
         "expected 16 lowercase hex digits (the checksum), found the end of the trailer's text"},
        {"staged-ports dump end keys=2 crc64=0123456789abcdef ", 51,
         "expected the end of the trailer's text, found \" \" then the end of the trailer's text"},
        {"staged-ports dump end keys=2 crc32=01234567", 32,
         "expected \" crc64=\" (after the key count), found \"32=01234567\" then the end of the "
         "trailer's text"},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        buf_clear(&file);
        buf_append(&file, header, sizeof header - 1);
        buf_append(&file, body.data, body.len);
        buf_printf(&file, "*2\r\n$4\r\nECHO\r\n$%zu\r\n%s\r\n", strlen(texts[i].text),
                   texts[i].text);
        size_t at = trailer_at + 15 + (strlen(texts[i].text) >= 10 ? 4 : 3) + texts[i].at;
        snprintf(want, sizeof want, "corrupt at byte %zu: %s", at, texts[i].want);
        expect_refused(&file, want);
    }
    buf_free(&body);
    buf_free(&file);
}

static void test_corrupt_message_fits(void)
{
    /* A tiny err buffer gets a NUL-terminated prefix, and NULL is allowed. */
    store_t *loaded = NULL;
    char err[8];
    memset(err, 'x', sizeof err);
    write_raw(path, "", 0);
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
    buf_t old = BUF_INIT, body = BUF_INIT;
    append_set(&body, "old", 3, "dump", 4);
    make_file(&old, body.data, body.len, 1);
    write_raw(path, old.data, old.len);

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
    CU_ASSERT_EQUAL(got.len, old.len);
    CU_ASSERT_EQUAL(memcmp(got.data, old.data, old.len), 0);
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
    buf_free(&old);
    buf_free(&body);
}

/* ==== The lock ============================================================ */

static void lock_file_path(char *out, size_t outlen)
{
    snprintf(out, outlen, "%s.lock", path);
}

/* The message a second server gets while process pid holds the lock. */
static void want_busy(char *out, size_t outlen, long pid)
{
    char lp[330];
    lock_file_path(lp, sizeof lp);
    snprintf(out, outlen,
             "%s is in use by another server (process %ld holds %s): stop it first, or use "
             "another dump file",
             path, pid, lp);
}

/* flock locks belong to open files: a second dump_lock() in the same
 * process conflicts with the first, as a second server would. */
static void test_lock_refuses_second(void)
{
    dump_lock_t a = DUMP_LOCK_INIT, b = DUMP_LOCK_INIT;
    char err[1024] = "", want[1024];
    CU_ASSERT_EQUAL_FATAL(dump_lock(&a, path, err, sizeof err), 0);
    CU_ASSERT(a.fd >= 0);
    CU_ASSERT_EQUAL(dump_lock(&b, path, err, sizeof err), -EBUSY);
    CU_ASSERT_EQUAL(b.fd, -1);
    want_busy(want, sizeof want, (long)getpid());
    CU_ASSERT_STRING_EQUAL(err, want);

    /* Another dump in the same directory has a lock of its own. */
    char other[400];
    snprintf(other, sizeof other, "%s/other.resp", dir);
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
    CU_ASSERT_EQUAL(dump_lock(&b, path, err, sizeof err), 0);
    dump_unlock(&b);
}

/* Why the lock is not on the dump itself: a save replaces the dump's
 * inode. The lock holds across saves. */
static void test_lock_survives_saves(void)
{
    dump_lock_t a = DUMP_LOCK_INIT, b = DUMP_LOCK_INIT;
    char err[512] = "";
    store_t *s = awkward_store(10);
    CU_ASSERT_EQUAL_FATAL(dump_lock(&a, path, err, sizeof err), 0);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(dump_save(s, path), 0);
        CU_ASSERT_EQUAL(dump_lock(&b, path, err, sizeof err), -EBUSY);
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
        char c = dump_lock(&held, path, NULL, 0) == 0 ? 'y' : 'n';
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
    CU_ASSERT_EQUAL(dump_lock(&mine, path, err, sizeof err), -EBUSY);
    want_busy(want, sizeof want, (long)pid);
    CU_ASSERT_STRING_EQUAL(err, want);

    close(go[1]); /* the child exits */
    int status = 0;
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    close(ready[0]);
    CU_ASSERT_EQUAL(dump_lock(&mine, path, err, sizeof err), 0);
    dump_unlock(&mine);
}

static void test_lock_cannot_open(void)
{
    char p[400], want[1200];
    snprintf(p, sizeof p, "%s/no/such/dir/dump.resp", dir);
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
    snprintf(p, sizeof p, "%s/%s", dir, name);
    write_raw(p, "x", 1);
}

static int exists(const char *name)
{
    char p[400];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
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
    snprintf(real, sizeof real, "%s.tmp-XXXXXX", path);
    int fd = mkostemp(real, O_CLOEXEC);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    /* A directory and a symbolic link with a matching name: not a save's. */
    char p[400], target[400];
    snprintf(p, sizeof p, "%s/dump.resp.tmp-Dir123", dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/dump.resp.tmp-Link12", dir);
    snprintf(target, sizeof target, "%s/dump.resp.bak", dir);
    CU_ASSERT_EQUAL_FATAL(symlink(target, p), 0);

    dump_lock_t lock = DUMP_LOCK_INIT;
    char err[512] = "";
    CU_ASSERT_EQUAL_FATAL(dump_lock(&lock, path, err, sizeof err), 0);
    CU_ASSERT_EQUAL(dump_remove_stale(&lock, path, err, sizeof err), 4);
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
    CU_ASSERT_EQUAL(dump_remove_stale(&lock, path, err, sizeof err), 0);
    dump_unlock(&lock);
    snprintf(p, sizeof p, "%s/dump.resp.tmp-Dir123", dir);
    rmdir(p);
}

/* A relative path: the current directory is searched. */
static void test_stale_relative_path(void)
{
    touch("dump.resp.tmp-Rel123");
    char cwd[4096];
    CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof cwd));
    CU_ASSERT_EQUAL_FATAL(chdir(dir), 0);
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
    CU_ASSERT_EQUAL_FATAL(dump_save(s, path), 0);
    touch("dump.resp.tmp-Crash1");

    dump_lock_t lock = DUMP_LOCK_INIT, second = DUMP_LOCK_INIT;
    store_t *loaded = NULL;
    char err[512] = "";
    CU_ASSERT_EQUAL_FATAL(dump_open(path, &lock, &loaded, err, sizeof err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(loaded);
    CU_ASSERT(stores_equal(s, loaded));
    CU_ASSERT_FALSE(exists("dump.resp.tmp-Crash1"));
    CU_ASSERT_EQUAL(dump_lock(&second, path, err, sizeof err), -EBUSY); /* still held */
    dump_unlock(&lock);
    store_free(loaded);
    store_free(s);
}

static void test_open_no_dump_yet(void)
{
    dump_lock_t lock = DUMP_LOCK_INIT, second = DUMP_LOCK_INIT;
    store_t *loaded = (store_t *)&loaded;
    char err[512] = "";
    CU_ASSERT_EQUAL(dump_open(path, &lock, &loaded, err, sizeof err), 0);
    CU_ASSERT_PTR_NULL(loaded);
    CU_ASSERT(lock.fd >= 0);
    CU_ASSERT_EQUAL(dump_lock(&second, path, err, sizeof err), -EBUSY);
    dump_unlock(&lock);
}

/* The second server: refused, and the first one's SAVE in progress (its
 * temporary file) is left alone. */
static void test_open_while_locked(void)
{
    store_t *s = awkward_store(10);
    CU_ASSERT_EQUAL_FATAL(dump_save(s, path), 0);
    dump_lock_t first = DUMP_LOCK_INIT, second = DUMP_LOCK_INIT;
    char err[1024] = "", want[1024];
    CU_ASSERT_EQUAL_FATAL(dump_lock(&first, path, err, sizeof err), 0);
    touch("dump.resp.tmp-Saving");

    store_t *loaded = (store_t *)&loaded;
    CU_ASSERT_EQUAL(dump_open(path, &second, &loaded, err, sizeof err), -EBUSY);
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
    write_raw(path, "", 0);
    dump_lock_t lock = DUMP_LOCK_INIT;
    store_t *loaded = (store_t *)&loaded;
    char err[1024] = "", want[1024];
    CU_ASSERT_EQUAL(dump_open(path, &lock, &loaded, err, sizeof err), -EBADMSG);
    snprintf(want, sizeof want, "%s: corrupt at byte 0: " WANT_HEADER ", found the end of the file",
             path);
    CU_ASSERT_STRING_EQUAL(err, want);
    CU_ASSERT_PTR_EQUAL(loaded, (store_t *)&loaded);
    CU_ASSERT_EQUAL(lock.fd, -1);
    CU_ASSERT_EQUAL(dump_lock(&lock, path, err, sizeof err), 0);
    dump_unlock(&lock);
}

/* ==== Suites ============================================================== */

static CU_TestInfo serialize_tests[] = {
    {"byte-exact", test_serialize_exact},
    {"empty store", test_serialize_empty},
    {"file is header, SETs, trailer", test_file_format},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo load_tests[] = {
    {"round trip", test_round_trip},
    {"round trip of an empty store", test_round_trip_empty},
    {"missing file", test_load_missing_file},
    {"hand-made file", test_load_hand_made},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo corrupt_tests[] = {
    {"header", test_corrupt_header},
    {"truncated anywhere", test_corrupt_truncated},
    {"checksum", test_corrupt_checksum},
    {"every single-bit flip", test_corrupt_every_bit},
    {"anything after the trailer", test_corrupt_after_trailer},
    {"commands the server never writes", test_corrupt_not_written_so},
    {"SET not as written", test_corrupt_set},
    {"trailer", test_corrupt_trailer},
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
    {"serialize", NULL, NULL, make_dir, remove_dir, serialize_tests},
    {"load", NULL, NULL, make_dir, remove_dir, load_tests},
    {"corrupt", NULL, NULL, make_dir, remove_dir, corrupt_tests},
    {"write", NULL, NULL, make_dir, remove_dir, write_tests},
    {"lock", NULL, NULL, make_dir, remove_dir, lock_tests},
    {"stale temporary files", NULL, NULL, make_dir, remove_dir, stale_tests},
    {"open", NULL, NULL, make_dir, remove_dir, open_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
