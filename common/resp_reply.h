#ifndef RESP_REPLY_H
#define RESP_REPLY_H

#include "buf.h"

#include <stddef.h>

/*
 * The RESP2 reply encoder: each function appends one reply (or an array's
 * header) to out, which grows as needed. No I/O: the stage decides when
 * out's bytes are written.
 */

/* +text\r\n. text must not contain CR or LF. */
void resp_add_simple(buf_t *out, const char *text);

/* -message\r\n. The message carries its own code ("ERR ...", "WRONGTYPE ...");
 * any CR or LF inside becomes a space, as in Redis, so the reply can never
 * break the protocol. */
void resp_add_error(buf_t *out, const char *message);
void resp_add_errorf(buf_t *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* :value\r\n */
void resp_add_int(buf_t *out, long long value);

/* $len\r\n<bytes>\r\n: binary safe. */
void resp_add_bulk(buf_t *out, const void *data, size_t len);

/* $-1\r\n: the null bulk string (a missing key). */
void resp_add_null(buf_t *out);

/* *count\r\n: the header of an array; the caller appends count elements. */
void resp_add_array(buf_t *out, size_t count);

#endif /* RESP_REPLY_H */
