#ifndef TEST_PARALLEL_H
#define TEST_PARALLEL_H

#include <stddef.h>
#include <sys/types.h>

/*
 * DIGESTs sent on several connections at once. Whether the server ran them
 * in parallel is asked of the server itself (stage 4's INFO counts busy
 * workers; for stage 1, proc_threads_running() counts running threads),
 * not read off these times: the times depend on what else the machine is
 * doing, and are printed for the reader, not asserted.
 */

/*
 * Sends "DIGEST key rounds" on each of fds[0..n) at once and returns the
 * milliseconds until every reply (a 16-digit bulk string) has arrived, or
 * -1.
 */
long long parallel_digest_ms(const int *fds, int n, const char *key, long long rounds);

/*
 * The rounds that make one "DIGEST key rounds" on fd (key holds vlen
 * bytes) take about target_ms on this machine and build, within
 * DIGEST_MAX_WORK and at least 1; or -1 when a DIGEST failed. Doubles the
 * rounds until a DIGEST takes a quarter of the target, then scales by the
 * fastest of three runs: a busy moment elsewhere only makes a run slower.
 */
long long parallel_calibrate_rounds(int fd, const char *key, size_t vlen, long long target_ms);

/*
 * Work for clients that are gone (issue 11, defect 9). Sets the key
 * "departed" to PARALLEL_DEPARTED_VLEN bytes, then n new clients on port
 * (at most PARALLEL_DEPARTED_MAX) each send a DIGEST of it as long as
 * DIGEST_MAX_WORK allows (seconds of a core each, more under a sanitizer)
 * and reset (SO_LINGER 0) while it runs. Fills *r:
 *   running    the server's (pid's) threads running or ready to run just
 *              before the resets (proc_threads_running()): the DIGESTs
 *              were under way, however busy the machine;
 *   before_ms  its CPU time over PARALLEL_WINDOW_MS / 2 while they ran
 *              (for the reader: it depends on what else the machine does);
 *   after_ms   its CPU time over PARALLEL_WINDOW_MS starting
 *              PARALLEL_SETTLE_MS after the resets: near zero when the
 *              server stopped the work nobody waits for, a busy core or
 *              more when it did not.
 * Returns 0, or a negative errno when a client could not connect, send or
 * set the key.
 */
#define PARALLEL_DEPARTED_MAX  16
#define PARALLEL_DEPARTED_VLEN 1024
#define PARALLEL_SETTLE_MS     200
#define PARALLEL_WINDOW_MS     1000

typedef struct parallel_departed {
    int running;
    long long before_ms;
    long long after_ms;
} parallel_departed_t;

int parallel_departed_digests(int port, pid_t pid, int n, parallel_departed_t *r);

#endif /* TEST_PARALLEL_H */
