#ifndef TEST_PARALLEL_H
#define TEST_PARALLEL_H

#include <stddef.h>

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

#endif /* TEST_PARALLEL_H */
