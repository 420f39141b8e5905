#ifndef TEST_CLIENT_H
#define TEST_CLIENT_H

#include "buf.h"

#include <stddef.h>

/*
 * A raw-socket client for byte-exact tests: it sends exactly the bytes it
 * is given and reads replies as bytes, so nothing between the test and the
 * server rewrites either side. Every wait is bounded.
 */

#define CLIENT_TIMEOUT_MS 5000

/* Connects to 127.0.0.1:port. Returns the socket or a negative errno. */
int client_connect(int port);

/* Sends all of p[0..len). Returns 0 or a negative errno. */
int client_send(int fd, const void *p, size_t len);
int client_send_str(int fd, const char *s);

/*
 * Reads exactly len bytes within timeout_ms. Returns 0, -ETIMEDOUT,
 * -ECONNRESET, -EPIPE when the peer closed first, or another negative errno.
 */
int client_recv_exact(int fd, void *p, size_t len, int timeout_ms);

/*
 * Reads one complete RESP reply (any type, nested arrays included) and
 * appends its raw bytes to out. Returns 0 or a negative errno as above.
 */
int client_read_reply(int fd, buf_t *out, int timeout_ms);

/* Returns 0 when the peer closes (EOF or reset) within timeout_ms having
 * sent nothing more, -EPROTO when more bytes arrive, -ETIMEDOUT otherwise. */
int client_wait_closed(int fd, int timeout_ms);

/* Returns 1 when a byte is ready to read within timeout_ms, 0 otherwise. */
int client_readable(int fd, int timeout_ms);

/* Sends request and reads one reply: a convenience for tests. Returns 0 or
 * a negative errno; the reply's raw bytes are appended to reply. */
int client_roundtrip(int fd, const char *request, buf_t *reply);

/* Closes every fd in fds[0..n) that is >= 0 and sets it to -1. */
void client_close_all(int *fds, int n);

/* Closes fd with SO_LINGER {1, 0}, so the peer gets a reset (RST), not an
 * orderly FIN: a client that crashed or was killed. */
void client_reset(int fd);

/* Appends argv[0..argc) to out as one RESP multibulk request. lens[i] is
 * the length of argv[i]; lens may be NULL for NUL-terminated arguments. */
void client_format_command(buf_t *out, size_t argc, const char *const *argv, const size_t *lens);

/*
 * Sends INFO and reads the number after "field:" in the reply. Returns 0
 * and sets *value, -ENOENT when the reply has no such field, or the
 * negative errno of the round trip.
 */
int client_info_field(int fd, const char *field, long long *value);

/* In text, an INFO reply as a C string: where the value of field starts
 * (just after "field:" at the start of a line; it ends at the line's \r),
 * or NULL when text has no such line. */
const char *client_info_find(const char *text, const char *field);

/* Sends INFO and copies the text after "field:" (to the end of its line)
 * to out[0..cap) as a C string. Returns 0, -ENOENT when the reply has no
 * such field, -ENOSPC when it does not fit, or the negative errno of the
 * round trip. */
int client_info_string(int fd, const char *field, char *out, size_t cap);

/* What became of clients that connected at once, as client_census() saw. */
typedef struct client_census {
    int served;  /* PING answered +PONG */
    int refused; /* an error reply, then the close */
    int silent;  /* closed with no reply at all */
    int other;   /* anything else (a timeout, a wrong reply) */
} client_census_t;

/* Connects n clients to port, all open at once, then sends PING on each
 * and sorts the answers into census. Returns 0, or the negative errno of
 * the first connect() that failed. */
int client_census(int port, int n, client_census_t *census);

/* Connections a test may open: want, or fewer when the open file limit is
 * lower (with a margin for the test's other files and sockets), saying so
 * on stderr. Raises this process's soft limit to the hard one first. */
int client_fd_budget(int want);

#endif /* TEST_CLIENT_H */
