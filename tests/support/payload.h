#ifndef TEST_PAYLOAD_H
#define TEST_PAYLOAD_H

#include "buf.h"

#include <CUnit/CUnit.h>
#include <stddef.h>

/*
 * Building requests and the replies expected to them, byte for byte, for
 * the suites: binary-safe bulks and commands, values that a shifted or
 * truncated copy cannot pass for, and DIGEST replies computed here with
 * common/digest.h.
 */

/* Appends "$len\r\n<p>\r\n": the bulk reply for p[0..len). */
void payload_bulk(buf_t *b, const void *p, size_t len);

/* Appends one multibulk request made of two or three binary arguments
 * (a2 NULL for two). */
void payload_command(buf_t *b, const char *name, const void *a1, size_t l1, const void *a2,
                     size_t l2);

/* Fills p[0..len) with bytes that cover every value, NUL, CR and LF
 * included, in an order that a shifted or truncated copy does not repeat. */
void payload_fill(char *p, size_t len, unsigned seed);

/* Appends the DIGEST reply for value[0..len) hashed `rounds` times. */
void payload_digest(buf_t *b, const void *value, size_t len, long long rounds);

/* Writes "$16\r\n<hex>\r\n", the DIGEST reply for len bytes of fill hashed
 * `rounds` times, to out as a C string. */
void payload_digest_of_fill(char out[32], size_t len, char fill, long long rounds);

/* SETs key to len bytes of fill on fd and asserts the +OK. Returns CU_TRUE
 * when it came. */
CU_BOOL payload_set(int fd, const char *key, size_t len, char fill);

/* SET key to value[0..len) (binary safe), expecting +OK. */
CU_BOOL payload_set_bytes(int fd, const char *key, const char *value, size_t len);

#endif /* TEST_PAYLOAD_H */
