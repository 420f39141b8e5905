#ifndef TEST_EXPECT_H
#define TEST_EXPECT_H

#include "server.h"

#include <CUnit/CUnit.h>
#include <stddef.h>
#include <string.h> /* strlen(), for the macros */

/*
 * CUnit assertions about a server, for the suites in tests/suites/.
 *
 * Each macro reports a failure at the line that used it, with the bytes
 * that were expected and those that arrived (escaped) on stderr, and
 * evaluates to CU_TRUE when the expectation held, so a test can stop early
 * when going on makes no sense. Every wait is bounded.
 */

/* How long a server gets to exit after SIGTERM in a clean stop. */
#define EXPECT_STOP_TIMEOUT_MS 5000

/* A NULL-terminated argument list for START_SERVER: ARGS("--threads", "2"). */
#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Starts the server under test with "--port 0" and args (NULL or ARGS(...)).
 * A test whose server does not start ends here. */
#define START_SERVER(s, args) expect_server_start_at(__FILE__, __LINE__, (s), (args))

/* Stops the server with SIGTERM and asserts a clean exit (0) in time. */
#define STOP_SERVER(s) expect_clean_stop_at(__FILE__, __LINE__, (s))

/* Connects to 127.0.0.1:port and returns the socket. A test that cannot
 * connect ends here. */
#define CONNECT(port) expect_connect_at(__FILE__, __LINE__, (port))

/* Sends request and asserts that the replies to it are exactly expected
 * (one reply or several, for a pipeline). Text requests and replies. */
#define EXPECT_REPLY(fd, request, expected)                                                        \
    expect_reply_at(__FILE__, __LINE__, (fd), (request), strlen(request), (expected),              \
                    strlen(expected))

/* The same with explicit lengths, for binary bytes. */
#define EXPECT_REPLY_BIN(fd, request, request_len, expected, expected_len)                         \
    expect_reply_at(__FILE__, __LINE__, (fd), (request), (request_len), (expected), (expected_len))

/* Reads replies, sending nothing, and asserts they are exactly expected. */
#define EXPECT_READ(fd, expected)                                                                  \
    expect_reply_at(__FILE__, __LINE__, (fd), NULL, 0, (expected), strlen(expected))

/* Asserts that the server closes the connection, sending nothing more. */
#define EXPECT_CLOSED(fd) expect_closed_at(__FILE__, __LINE__, (fd))

/* Asserts that nothing arrives on fd for ms milliseconds (and that the
 * connection stays open). */
#define EXPECT_SILENT(fd, ms) expect_silent_at(__FILE__, __LINE__, (fd), (ms))

/* Sends INFO and returns the number after "field:" in the reply; a test
 * whose INFO lacks the field ends here. */
#define INFO_FIELD(fd, field) expect_info_field_at(__FILE__, __LINE__, (fd), (field))

/* Waits (polling INFO on fd) until INFO's field equals value, for things
 * the server does asynchronously (accepting, queueing, noticing a close);
 * asserts that it does within timeout_ms. */
#define EXPECT_INFO_REACHES(fd, field, value, timeout_ms)                                          \
    expect_info_reaches_at(__FILE__, __LINE__, (fd), (field), (value), (timeout_ms))

/* Connects n clients into fds[0..n) (closed with client_close_all()); with
 * ping, each one's PING must be answered, so the server serves it. A
 * failure leaves -1 in the fds not connected. */
#define CONNECT_MANY(port, fds, n, ping)                                                           \
    expect_connect_many_at(__FILE__, __LINE__, (port), (fds), (n), (ping))

/* For CU_SuiteInfo's per-test tear-down: kills any server a failed test
 * left running, so that the next test starts from a clean slate. */
void expect_teardown(void);

/* Writes p[0..len) to out[0..cap) as a C string with escapes (\r, \n,
 * \xNN), cut with "..." when it does not fit. */
void expect_escape(const char *p, size_t len, char *out, size_t cap);

void expect_server_start_at(const char *file, unsigned line, test_server_t *s,
                            const char *const *args);
CU_BOOL expect_clean_stop_at(const char *file, unsigned line, test_server_t *s);
int expect_connect_at(const char *file, unsigned line, int port);
CU_BOOL expect_reply_at(const char *file, unsigned line, int fd, const char *request,
                        size_t request_len, const char *expected, size_t expected_len);
CU_BOOL expect_closed_at(const char *file, unsigned line, int fd);
CU_BOOL expect_silent_at(const char *file, unsigned line, int fd, int ms);
long long expect_info_field_at(const char *file, unsigned line, int fd, const char *field);
CU_BOOL expect_info_reaches_at(const char *file, unsigned line, int fd, const char *field,
                               long long value, int timeout_ms);
void expect_connect_many_at(const char *file, unsigned line, int port, int *fds, int n, int ping);

#endif /* TEST_EXPECT_H */
