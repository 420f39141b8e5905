#ifndef READER_H
#define READER_H

#include "resp.h"

#include <stddef.h>
#include <stdint.h>

/*
 * A cursor over a file's bytes for a strict loader (the dump's): it reads
 * the literals, decimal numbers and bulk strings that RESP is made of, and
 * when something else is there it says where and what, in one message:
 *
 *     dump.resp: corrupt at byte 43: expected "\r\n" (after the length of
 *     the key), found "x\r\nab" then the end of the file
 *
 * Bytes in, messages out: the caller reads the file and decides what a
 * failure means. Every reader_ function that fails writes that message to
 * the reader's err and returns -EBADMSG.
 */

typedef struct reader {
    const char *path;     /* for messages */
    const char *data;     /* the file's bytes */
    size_t len;           /* parsing stops here: the end of the file, or of a part of it */
    const char *end_name; /* what len is, for messages: "the end of the file" */
    size_t off;           /* the next byte to read */
    char *err;            /* where a failure's message goes; may be NULL */
    size_t errlen;
    int ran_out; /* set by a failure that met the end: a valid prefix, cut short */
} reader_t;

/* Writes p[0..n) to out[0..outlen) quoted, as C source would spell it:
 * printable ASCII as itself, \r \n \" \\ escaped, any other byte as \xHH.
 * At most max bytes, then "...". A corrupt file can hold any bytes: none
 * of them reaches a message raw. */
void reader_quote(const char *p, size_t n, size_t max, char *out, size_t outlen);

/* What the reader holds at off, for "found ...": the next bytes, quoted,
 * and where they are the last ones, that the end follows. */
void reader_describe(const reader_t *r, size_t off, char *out, size_t outlen);

/* Writes "<path>: corrupt at byte <at>: <message>" and returns -EBADMSG.
 * A failure at or past len sets ran_out. */
int reader_corrupt(reader_t *r, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Consumes lit[0..n) or fails at the first byte that differs; context
 * says what lit is ("the header"). */
int reader_expect(reader_t *r, const char *lit, size_t n, const char *context);

/* 1 when the reader's next bytes are lit[0..n); consumes nothing. */
int reader_next_is(const reader_t *r, const char *lit, size_t n);

/* Reads a decimal number as a server writes it: one or more digits, no
 * leading zero unless the number is 0, at most max. name says what the
 * number is ("the key count"). */
int reader_number(reader_t *r, const char *name, uint64_t max, uint64_t *out);

/* Reads one bulk string, "$<len>\r\n<len bytes>\r\n", and points *p at
 * its bytes inside the reader's data; name says what it holds ("the
 * key"). */
int reader_bulk(reader_t *r, const char *name, const char **p, size_t *n);

/* Reads one command as a client sends it, "*<n>\r\n" then n bulk
 * strings, 1 <= n <= max, and points (*argv)[0..n) into the reader's
 * data; *argc = n. *argv grows as needed (*cap entries; free() it when
 * done; out of memory is fatal, alloc.h). The replayer of the append-only
 * file reads with it (aof.h); the dump's loader reads the same bulk
 * strings, but only its own SETs. */
int reader_command(reader_t *r, resp_arg_t **argv, size_t *cap, size_t max, size_t *argc);

#endif /* READER_H */
