#include "buf.h"

#include "alloc.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_MIN_CAP 64

void buf_init(buf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void buf_free(buf_t *b)
{
    free(b->data);
    buf_init(b);
}

void buf_reserve(buf_t *b, size_t extra)
{
    if (b->cap - b->len >= extra)
        return;
    size_t need = b->len + extra;
    size_t cap = b->cap ? b->cap : BUF_MIN_CAP;
    while (cap < need)
        cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}

void buf_append(buf_t *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void buf_append_str(buf_t *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_vprintf(buf_t *b, const char *fmt, va_list ap)
{
    va_list again;
    char small[128];

    /* Most callers format short lines: try a stack buffer first so that
     * only long lines pay for a second formatting pass. */
    va_copy(again, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    assert(n >= 0);
    if ((size_t)n < sizeof small) {
        buf_append(b, small, (size_t)n);
    } else {
        buf_reserve(b, (size_t)n + 1);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, again);
        b->len += (size_t)n;
    }
    va_end(again);
}

void buf_printf(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void buf_consume(buf_t *b, size_t n)
{
    assert(n <= b->len);
    if (n == 0)
        return; /* the parser consumes nothing while a big argument arrives */
    if (n == b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void buf_shrink(buf_t *b)
{
    if (b->len == 0) {
        buf_free(b);
    } else if (b->cap > b->len) {
        b->data = xrealloc(b->data, b->len);
        b->cap = b->len;
    }
}

void buf_clear(buf_t *b)
{
    b->len = 0;
}

char *buf_detach(buf_t *b, size_t *len)
{
    char *data = b->data;
    if (len != NULL)
        *len = b->len;
    buf_init(b);
    return data;
}
