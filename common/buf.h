#ifndef BUF_H
#define BUF_H

#include <stdarg.h>
#include <stddef.h>

/*
 * A growable byte buffer: how bytes travel between the layers.
 *
 * data[0..len) holds the bytes; data is NULL until the first append. The
 * struct is small and needs no set-up beyond zeroing (BUF_INIT or
 * buf_init()), so an idle connection can hold an empty one for free.
 * Appends grow the buffer geometrically; running out of memory is fatal
 * (see alloc.h), so appends cannot fail.
 */

typedef struct buf {
    char *data;
    size_t len;
    size_t cap;
} buf_t;

#define BUF_INIT                                                                                   \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void buf_init(buf_t *b);

/* Releases the memory; b is empty and reusable afterwards. */
void buf_free(buf_t *b);

/* Makes room for at least extra more bytes without a further allocation. */
void buf_reserve(buf_t *b, size_t extra);

void buf_append(buf_t *b, const void *p, size_t n);
void buf_append_str(buf_t *b, const char *s);
/* Appends printf-style formatted text, whatever its length. */
void buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(buf_t *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Drops the first n bytes (n <= len), keeping the rest in order. */
void buf_consume(buf_t *b, size_t n);

/* Gives back the memory beyond len (all of it when the buffer is empty). */
void buf_shrink(buf_t *b);

/* Empties the buffer but keeps its memory for reuse. */
void buf_clear(buf_t *b);

/* Hands the memory over to the caller, who frees it with free(); b is left
 * empty. Returns NULL when b has never held a byte. */
char *buf_detach(buf_t *b, size_t *len);

#endif /* BUF_H */
