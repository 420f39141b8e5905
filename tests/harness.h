#ifndef HARNESS_H
#define HARNESS_H

#include <CUnit/CUnit.h>
#include <stddef.h>
#include <stdio.h>

/*
 * The one main() every CUnit binary in tests/ uses.
 *
 * Each test file declares its suites as a CU_SuiteInfo array and ends with
 *
 *     int main(int argc, char **argv) { return harness_main(argc, argv, suites); }
 *
 * harness_main() runs the suites in CUnit's basic mode and returns what a
 * test binary must return: 0 only when every suite set up and every
 * assertion passed (CU_basic_run_tests() itself returns 0 even when tests
 * fail). It also bounds each test: a test that runs longer than
 * HARNESS_TEST_TIMEOUT seconds (environment, default 60) is reported by name
 * and the binary exits 1, so no test can hang a run.
 *
 * Arguments: [-s SUITE] [-t TEST] run only the named suite or test; any
 * other arguments are left for the test file in harness_argc/harness_argv
 * (the conformance suite takes the path of the server binary there).
 */

int harness_main(int argc, char **argv, CU_SuiteInfo *suites);

/* Milliseconds on the monotonic clock: the one clock every test measures
 * waits and deadlines with. */
long long harness_now_ms(void);

/*
 * Creates a fresh directory for a test's files under $TMPDIR or /tmp and
 * writes its path to out[0..cap). Returns 0 or a negative errno.
 * harness_tmpdir_remove() deletes it and everything in it.
 */
int harness_tmpdir_create(char *out, size_t cap);
void harness_tmpdir_remove(const char *dir);

/*
 * What is written to stdout or stderr, by this process or by code that
 * writes to the file descriptor directly, between harness_capture_start()
 * and harness_capture_stop(). stop() restores the stream and returns the
 * text (free() it), or NULL when it could not be read back.
 */
typedef struct harness_capture {
    FILE *stream;
    int saved_fd;
    FILE *file;
} harness_capture_t;

int harness_capture_start(harness_capture_t *c, FILE *stream);
char *harness_capture_stop(harness_capture_t *c);

/* Arguments that harness_main() did not consume, argv[0] included. */
extern int harness_argc;
extern char **harness_argv;

#endif /* HARNESS_H */
