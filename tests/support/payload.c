#include "payload.h"

#include "client.h"
#include "expect.h"

#include "digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void payload_bulk(buf_t *b, const void *p, size_t len)
{
    buf_printf(b, "$%zu\r\n", len);
    buf_append(b, p, len);
    buf_append(b, "\r\n", 2);
}

void payload_command(buf_t *b, const char *name, const void *a1, size_t l1, const void *a2,
                     size_t l2)
{
    const char *argv[3] = {name, a1, a2};
    size_t lens[3] = {strlen(name), l1, l2};
    client_format_command(b, a2 != NULL ? 3 : 2, argv, lens);
}

void payload_fill(char *p, size_t len, unsigned seed)
{
    unsigned x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (char)(x >> 16);
    }
}

void payload_digest(buf_t *b, const void *value, size_t len, long long rounds)
{
    char hex[17];
    digest_hex(digest_fnv1a(value, len, rounds), hex);
    payload_bulk(b, hex, 16);
}

void payload_digest_of_fill(char out[32], size_t len, char fill, long long rounds)
{
    char *value = malloc(len > 0 ? len : 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(value);
    memset(value, fill, len);
    char hex[17];
    digest_hex(digest_fnv1a(value, len, rounds), hex);
    snprintf(out, 32, "$16\r\n%s\r\n", hex);
    free(value);
}

CU_BOOL payload_set_bytes(int fd, const char *key, const char *value, size_t len)
{
    buf_t req = BUF_INIT;
    const char *argv[] = {"SET", key, value};
    size_t lens[] = {3, strlen(key), len};
    client_format_command(&req, 3, argv, lens);
    CU_BOOL ok = EXPECT_REPLY_BIN(fd, req.data, req.len, "+OK\r\n", 5);
    buf_free(&req);
    return ok;
}

CU_BOOL payload_set(int fd, const char *key, size_t len, char fill)
{
    char *value = malloc(len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(value);
    memset(value, fill, len);
    CU_BOOL ok = payload_set_bytes(fd, key, value, len);
    free(value);
    return ok;
}
