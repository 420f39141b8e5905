#ifndef TEST_FIXTURE_H
#define TEST_FIXTURE_H

#include "server.h"

/*
 * The per-test fixture of the suites whose tests write files: a fresh
 * directory for each test, the dump file's path in it, and a server
 * started with its log going to a file there.
 *
 * Use fixture_setup and fixture_teardown as a CU_SuiteInfo's per-test
 * set-up and tear-down:
 *
 *     {"persistence", NULL, NULL, fixture_setup, fixture_teardown, tests},
 */

/* Creates the test's directory; a run that cannot create one aborts. */
void fixture_setup(void);

/* Kills any server the test left running (expect_teardown()), then
 * removes the directory and everything in it. */
void fixture_teardown(void);

/* The test's directory, and <dir>/dump.resp in it (no such file yet). */
const char *fixture_dir(void);
const char *fixture_dbfile(void);

/* <dir>/name, in one of 8 static buffers used in turn: valid until the
 * eighth call after it. */
const char *fixture_path(const char *name);

/* Starts the server under test with "--port 0" and args (NULL or ARGS(...))
 * and its stderr written to log_path (created or truncated). When it does
 * not start, the log is printed and the test ends here. */
#define START_SERVER_LOGGED(s, args, log_path)                                                     \
    fixture_start_logged_at(__FILE__, __LINE__, (s), (args), (log_path))

void fixture_start_logged_at(const char *file, unsigned line, test_server_t *s,
                             const char *const *args, const char *log_path);

#endif /* TEST_FIXTURE_H */
