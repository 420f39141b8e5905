#include "reader.h"

#include "alloc.h"
#include "file.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define SHOW_MAX 16 /* bytes of the file a message quotes */

void reader_quote(const char *p, size_t n, size_t max, char *out, size_t outlen)
{
    size_t o = 0;
    out[o++] = '"';
    for (size_t i = 0; i < n && i < max && o + 8 < outlen; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\r' || c == '\n' || c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = c == '\r' ? 'r' : c == '\n' ? 'n' : (char)c;
        } else if (c >= 0x20 && c < 0x7f) {
            out[o++] = (char)c;
        } else {
            o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
        }
    }
    out[o++] = '"';
    if (n > max && o + 4 < outlen) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

void reader_describe(const reader_t *r, size_t off, char *out, size_t outlen)
{
    if (off >= r->len) {
        snprintf(out, outlen, "%s", r->end_name);
        return;
    }
    reader_quote(r->data + off, r->len - off, SHOW_MAX, out, outlen);
    if (r->len - off <= SHOW_MAX) {
        size_t used = strlen(out);
        snprintf(out + used, outlen - used, " then %s", r->end_name);
    }
}

int reader_corrupt(reader_t *r, size_t at, const char *fmt, ...)
{
    if (at >= r->len)
        r->ran_out = 1;
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    file_set_err(r->err, r->errlen, "%s: corrupt at byte %zu: %s", r->path, at, msg);
    return -EBADMSG;
}

int reader_expect(reader_t *r, const char *lit, size_t n, const char *context)
{
    size_t i = 0;
    while (i < n && r->off + i < r->len && r->data[r->off + i] == lit[i])
        i++;
    if (i == n) {
        r->off += n;
        return 0;
    }
    char want[128], found[160];
    reader_quote(lit, n, SIZE_MAX, want, sizeof want);
    reader_describe(r, r->off + i, found, sizeof found);
    return reader_corrupt(r, r->off + i, "expected %s (%s), found %s", want, context, found);
}

int reader_next_is(const reader_t *r, const char *lit, size_t n)
{
    return r->len - r->off >= n && memcmp(r->data + r->off, lit, n) == 0;
}

int reader_number(reader_t *r, const char *name, uint64_t max, uint64_t *out)
{
    size_t start = r->off, i = start;
    uint64_t v = 0;
    int too_big = 0;
    while (i < r->len && r->data[i] >= '0' && r->data[i] <= '9') {
        unsigned d = (unsigned)(r->data[i] - '0');
        if (d > max || v > (max - d) / 10) /* d > max: max - d would wrap */
            too_big = 1;
        else
            v = v * 10 + d;
        i++;
    }
    char found[160];
    reader_describe(r, start, found, sizeof found);
    if (i == start || (i - start > 1 && r->data[start] == '0'))
        return reader_corrupt(r, start, "expected %s in decimal digits, found %s", name, found);
    if (too_big)
        return reader_corrupt(r, start, "expected %s, at most %" PRIu64 ", found %s", name, max,
                              found);
    r->off = i;
    *out = v;
    return 0;
}

int reader_bulk(reader_t *r, const char *name, const char **p, size_t *n)
{
    char context[96];
    snprintf(context, sizeof context, "the start of %s", name);
    int rc = reader_expect(r, "$", 1, context);
    uint64_t len = 0;
    snprintf(context, sizeof context, "the length of %s", name);
    if (rc == 0)
        rc = reader_number(r, context, SIZE_MAX / 2, &len);
    snprintf(context, sizeof context, "after the length of %s", name);
    if (rc == 0)
        rc = reader_expect(r, "\r\n", 2, context);
    if (rc != 0)
        return rc;
    size_t left = r->len - r->off;
    if (left < len) {
        char found[160];
        r->ran_out = 1; /* the bytes so far are a valid prefix */
        if (left == 0)
            snprintf(found, sizeof found, "%s", r->end_name);
        else
            snprintf(found, sizeof found, "only %zu before %s", left, r->end_name);
        return reader_corrupt(r, r->off, "expected the %" PRIu64 " byte(s) of %s, found %s", len,
                              name, found);
    }
    *p = r->data + r->off;
    *n = (size_t)len;
    r->off += (size_t)len;
    snprintf(context, sizeof context, "after the %" PRIu64 " byte(s) of %s", len, name);
    return reader_expect(r, "\r\n", 2, context);
}

int reader_command(reader_t *r, resp_arg_t **argv, size_t *cap, size_t max, size_t *argc)
{
    uint64_t n = 0;
    int rc = reader_expect(r, "*", 1, "the start of a command");
    if (rc == 0)
        rc = reader_number(r, "the number of arguments", max, &n);
    if (rc == 0 && n == 0)
        rc = reader_corrupt(r, r->off - 1, "expected a command of at least one argument, found 0");
    if (rc == 0)
        rc = reader_expect(r, "\r\n", 2, "after the number of arguments");
    if (rc == 0 && n > *cap) {
        *argv = xrealloc(*argv, (size_t)n * sizeof **argv);
        *cap = (size_t)n;
    }
    for (uint64_t i = 0; rc == 0 && i < n; i++) {
        char name[48];
        snprintf(name, sizeof name, "argument %" PRIu64 " of %" PRIu64, i + 1, n);
        rc = reader_bulk(r, name, &(*argv)[i].ptr, &(*argv)[i].len);
    }
    if (rc == 0)
        *argc = (size_t)n;
    return rc;
}
