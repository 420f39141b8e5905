#ifndef TEST_SERVER_LOG_H
#define TEST_SERVER_LOG_H

#include "server.h"

#include <stddef.h>

/*
 * Servers whose stderr goes to a file instead of the test's output: for
 * tests that read what the server says (a watchdog's report, a warning)
 * and then wait for it to exit with server_wait().
 */

/*
 * Starts binary like server_start(), with its stderr written to log_path
 * (created or truncated). Returns 0 and fills s, or a negative errno; on
 * failure the reason is in the log, which server_log_print() shows.
 */
int server_start_logged(test_server_t *s, const char *binary, const char *const *extra_args,
                        const char *log_path);

/*
 * For a server that must refuse to start: server_run_to_exit() with its
 * stderr written to log_path (created or truncated), so the test can read
 * why it refused. Same results as server_run_to_exit().
 */
int server_run_to_exit_logged(const char *binary, const char *const *extra_args, int timeout_ms,
                              const char *log_path);

/* Returns the log's whole text (free() it), or NULL when it cannot be
 * read. */
char *server_log_read(const char *log_path);

/* Returns 1 when the file at log_path contains needle, 0 when it does not,
 * or a negative errno when it cannot be read. */
int server_log_contains(const char *log_path, const char *needle);

/* Copies the log to the test's stderr, framed, so a failure shows what the
 * server said. */
void server_log_print(const char *log_path);

#endif /* TEST_SERVER_LOG_H */
