#include "keyset.h"

#include "expect.h"

#include "buf.h"
#include "dump.h"

#include <stdio.h>
#include <string.h>

/* Writes key number i and its value into key[0..64) and value[0..128). */
static void keyset_entry(const keyset_t *ks, long long i, char key[64], char value[128])
{
    snprintf(key, 64, "%s%lld", ks->key_prefix, i);
    snprintf(value, 128, "%s%lld", ks->value_prefix, i);
}

CU_BOOL keyset_set_at(const char *file, unsigned line, int fd, const keyset_t *ks, int batch)
{
    long long end = ks->first + ks->count;
    for (long long i = ks->first; i < end; i += batch) {
        buf_t req = BUF_INIT, exp = BUF_INIT;
        for (long long j = i; j < i + batch && j < end; j++) {
            char key[64], value[128];
            keyset_entry(ks, j, key, value);
            buf_printf(&req, "SET %s \"%s\"\r\n", key, value);
            buf_append_str(&exp, "+OK\r\n");
        }
        CU_BOOL ok = expect_reply_at(file, line, fd, req.data, req.len, exp.data, exp.len);
        buf_free(&req);
        buf_free(&exp);
        if (!ok)
            return CU_FALSE;
    }
    return CU_TRUE;
}

long long keyset_missing(const store_t *s, const keyset_t *ks)
{
    long long missing = 0;
    for (long long i = ks->first; i < ks->first + ks->count; i++) {
        char key[64], value[128];
        const char *v;
        size_t vlen;
        keyset_entry(ks, i, key, value);
        missing += store_get(s, key, strlen(key), &v, &vlen) != 0 || vlen != strlen(value) ||
                   memcmp(v, value, vlen) != 0;
    }
    return missing;
}

long long keyset_missing_in_dump(const char *path, const keyset_t *ks)
{
    char err[256] = "";
    store_t *s = NULL;
    if (dump_load(path, &s, err, sizeof err) != 0) {
        fprintf(stderr, "the dump does not load: %s\n", err);
        return -1;
    }
    long long missing = keyset_missing(s, ks);
    store_free(s);
    return missing;
}
