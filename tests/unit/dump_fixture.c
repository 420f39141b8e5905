#include "dump_fixture.h"

#include "harness.h"

#include "crc64.h"
#include "file.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== A fresh directory per test ======================================== */

char tmp_dir[256];
char tmp_dump[320];

void dump_fixture_setup(void)
{
    if (harness_tmpdir_create(tmp_dir, sizeof tmp_dir) != 0) {
        perror("harness_tmpdir_create");
        abort(); /* no directory, no test worth running */
    }
    snprintf(tmp_dump, sizeof tmp_dump, "%s/dump.resp", tmp_dir);
}

void dump_fixture_teardown(void)
{
    harness_tmpdir_remove(tmp_dir);
}

/* ==== Helpers ============================================================= */

void write_raw(const char *p, const void *data, size_t len)
{
    FILE *f = fopen(p, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(data, 1, len, f), len);
    CU_ASSERT_EQUAL(fclose(f), 0);
}

int read_raw(const char *p, buf_t *out)
{
    buf_clear(out);
    return file_read_all(p, out) == 0 ? 0 : -1;
}

size_t dir_entries(int *tmp_left)
{
    DIR *d = opendir(tmp_dir);
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

int stores_equal(const store_t *a, const store_t *b)
{
    compare_t c = {b, 0};
    store_foreach(a, compare_cb, &c);
    return c.bad == 0 && store_count(a) == store_count(b);
}

void append_set(buf_t *out, const char *key, size_t klen, const char *val, size_t vlen)
{
    buf_printf(out, "*3\r\n$3\r\nSET\r\n$%zu\r\n", klen);
    buf_append(out, key, klen);
    buf_printf(out, "\r\n$%zu\r\n", vlen);
    buf_append(out, val, vlen);
    buf_append(out, "\r\n", 2);
}

void append_trailer(buf_t *out, size_t keys, uint64_t crc)
{
    char text[96];
    int n =
        snprintf(text, sizeof text, "staged-ports dump end keys=%zu crc64=%016" PRIx64, keys, crc);
    buf_printf(out, "*2\r\n$4\r\nECHO\r\n$%d\r\n%s\r\n", n, text);
}

void make_file(buf_t *out, const void *body, size_t blen, size_t keys)
{
    buf_clear(out);
    buf_append(out, DUMP_V1_HEADER, sizeof DUMP_V1_HEADER - 1);
    buf_append(out, body, blen);
    append_trailer(out, keys, crc64(out->data, out->len));
}

void two_sets(buf_t *body)
{
    buf_clear(body);
    append_set(body, "k1", 2, "v1", 2);
    append_set(body, "k2\0", 3, "value", 5);
}

long check_file_format(const char *data, size_t len)
{
    static const char head[] = "*3\r\n$3\r\nSET\r\n";
    static const char trailer_head[] = "*2\r\n$4\r\nECHO\r\n";
    if (len < sizeof DUMP_V1_HEADER - 1 ||
        memcmp(data, DUMP_V1_HEADER, sizeof DUMP_V1_HEADER - 1) != 0)
        return -1;
    size_t off = sizeof DUMP_V1_HEADER - 1;
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

store_t *awkward_store(size_t plain)
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
