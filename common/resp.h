#ifndef RESP_H
#define RESP_H

#include "buf.h"

#include <stddef.h>

/*
 * RESP2, the Redis protocol: an incremental request parser (the reply
 * encoder is resp_reply.h, included below). No I/O: bytes come in from the
 * caller, replies are appended to a buf_t, and all state between calls
 * lives in the resp_parser_t the caller owns. That is what lets every
 * stage, whatever its concurrency model, share this file unchanged.
 */

/* ==== Limits ============================================================ */

#define RESP_INLINE_MAX (64 * 1024)       /* longest inline request line, CRLF excluded */
#define RESP_BULK_MAX   (8 * 1024 * 1024) /* largest bulk argument, in bytes */
#define RESP_ARRAY_MAX  (1024 * 1024)     /* most arguments in one multibulk request */

/* ==== Request parser ==================================================== */

typedef enum resp_status {
    RESP_COMPLETE,   /* one request parsed: its arguments are in argc/argv */
    RESP_INCOMPLETE, /* the bytes so far are a valid prefix: feed more */
    RESP_ERROR,      /* protocol error: reply with `error`, then close */
} resp_status_t;

typedef struct resp_arg {
    const char *ptr;
    size_t len;
} resp_arg_t;

typedef struct resp_parser {
    /* Valid after RESP_COMPLETE until the next resp_parse() call, or until
     * the caller changes the bytes it passed in: argv[i].ptr points into
     * the caller's buffer (multibulk requests) or into the parser's own
     * scratch space (inline requests, which may need unescaping).
     * argc >= 1: empty requests are skipped, never returned. */
    size_t argc;
    resp_arg_t *argv;

    /* Valid after RESP_ERROR: the error to send, without the leading '-'
     * and the CRLF, in Redis 7's exact words where Redis has them, e.g.
     * "ERR Protocol error: invalid bulk length". */
    const char *error;

    /* Private: where parsing of the current request stands. Offsets are
     * relative to the first byte of the current request, so the caller may
     * move its buffer between calls. */
    int state;
    size_t pos;           /* the next byte to look at */
    size_t line_start;    /* the first byte of the length being read */
    long long array_left; /* bulk arguments of a multibulk request still to come */
    size_t argv_cap;      /* capacity of argv and arg_off */
    size_t *arg_off;      /* where argv[i] starts: in the request or in scratch */
    char *scratch;        /* an inline request's unescaped arguments, or an error's text */
    size_t scratch_cap;
} resp_parser_t;

/* Prepares p. A parser holds no memory until it parses a request. */
void resp_parser_init(resp_parser_t *p);

/* Releases everything p holds; p must be initialised again before reuse. */
void resp_parser_free(resp_parser_t *p);

/*
 * Releases the argument arrays and scratch space p keeps between requests,
 * so that an idle connection holds no parser memory. Only valid when no
 * request is half parsed (the last resp_parse() returned RESP_COMPLETE, or
 * RESP_INCOMPLETE with nothing left over).
 */
void resp_parser_trim(resp_parser_t *p);

/*
 * Parses the next request.
 *
 * buf[0..len) must start at the first unconsumed byte: the first byte of
 * the request that is being parsed, with every byte that an earlier call
 * already saw (the caller may move them, never change them), followed by
 * whatever arrived since.
 *
 * Returns RESP_COMPLETE with the request in p->argc/argv, RESP_INCOMPLETE
 * when more bytes are needed, or RESP_ERROR with p->error set. In every case
 * *consumed is the number of bytes at the start of buf that the caller may
 * drop: a whole request after RESP_COMPLETE, skipped empty lines and empty
 * arrays after RESP_INCOMPLETE, 0 after RESP_ERROR. After RESP_ERROR the
 * parser must be reset (resp_parser_free() and init) before another use.
 *
 * The result does not depend on how the input is split across calls: one
 * byte at a time gives the same requests and errors as all at once.
 */
resp_status_t resp_parse(resp_parser_t *p, const char *buf, size_t len, size_t *consumed);

/* True when the parser is in the middle of a request. */
int resp_parser_busy(const resp_parser_t *p);

/* The reply encoder is its own module; whoever parses requests also
 * answers them, so it comes with this header. */
#include "resp_reply.h"

#endif /* RESP_H */
