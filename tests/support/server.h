#ifndef TEST_SERVER_H
#define TEST_SERVER_H

#include <sys/types.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1 /* the server under test is built the same way */
#else
#define SANITIZED 0
#endif

/*
 * Starting and stopping the server under test.
 *
 * The server is started as a child process with "--port 0" (any free port)
 * and found by its first line on stdout, "listening on 127.0.0.1:PORT".
 * Its stderr is inherited, so its log and any sanitizer report show up in
 * the test's output.
 */

typedef struct test_server {
    pid_t pid;
    int port;
} test_server_t;

/*
 * Starts binary with "--port 0", then the NULL-terminated extra_args (may
 * be NULL). Waits up to 10 s for the listening line. Returns 0 and fills s,
 * or a negative errno (the child is killed and reaped on failure).
 */
int server_start(test_server_t *s, const char *binary, const char *const *extra_args);

/* What server_start_limited() imposes on the server's process. */
typedef struct server_fd_limits {
    int nofile;    /* RLIMIT_NOFILE, soft and hard */
    int inherited; /* descriptors on /dev/null left open across exec, as a
                    * supervisor or a careless parent might leave them */
} server_fd_limits_t;

/* server_start(), with the server's descriptors limited by lim. */
int server_start_limited(test_server_t *s, const char *binary, const char *const *extra_args,
                         const server_fd_limits_t *lim);

/*
 * Sends sig (SIGTERM for a graceful stop) and waits up to timeout_ms for
 * the process to end. Returns its exit code (0..255), 128 + the signal
 * number when a signal killed it, or -ETIMEDOUT when it did not end in time
 * (it is then killed with SIGKILL and reaped).
 */
int server_stop(test_server_t *s, int sig, int timeout_ms);

/* Waits up to timeout_ms for the server to exit on its own; same results
 * as server_stop(). */
int server_wait(test_server_t *s, int timeout_ms);

/*
 * For a server that must refuse to start: runs binary with "--port 0" and
 * extra_args like server_start(), and waits up to timeout_ms for it to
 * exit; its stdout goes to /dev/null. Returns its exit code (0..255),
 * 128 + the signal number, or -ETIMEDOUT when it is still running at the
 * deadline (it is then killed and reaped), as a server that started does.
 */
int server_run_to_exit(const char *binary, const char *const *extra_args, int timeout_ms);

/*
 * Kills (SIGKILL) and reaps every server started by server_start() that
 * has not been stopped or waited for: what a test left running when an
 * assertion ended it early. Returns how many there were. Servers also die
 * with the test process (PR_SET_PDEATHSIG), so none outlives a run.
 */
int server_kill_leftovers(void);

/* The server binary under test: the first non-option argument of the suite
 * binary, or $TEST_SERVER. Fails the whole run with a message when neither
 * is given. */
const char *server_binary(void);

#endif /* TEST_SERVER_H */
