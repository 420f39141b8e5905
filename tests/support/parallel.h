#ifndef TEST_PARALLEL_H
#define TEST_PARALLEL_H

#include <stddef.h>

/*
 * DIGESTs in parallel, and the control that goes with them. A suite that
 * expects a server to run several DIGESTs at once compares their time with
 * one DIGEST's; but other work on the machine makes parallelism look absent
 * (or present by luck). The control measures what this machine can run in
 * parallel right now: the server's hashing, on threads of the test process,
 * without the server.
 */

/* The number of CPUs this process may run on. */
int parallel_cpus(void);

/*
 * Sends "DIGEST key rounds" on each of fds[0..n) at once and returns the
 * milliseconds until every reply (a 16-digit bulk string) has arrived, or
 * -1.
 */
long long parallel_digest_ms(const int *fds, int n, const char *key, long long rounds);

/*
 * The milliseconds n threads of this process take to hash data[0..len)
 * `rounds` times each, at once: the server's DIGEST work without the
 * server. Returns -1 when a thread could not be started.
 */
long long parallel_hash_ms(const char *data, size_t len, int n, long long rounds);

/*
 * The control: returns 1 when n hashing threads (parallel_hash_ms()) take
 * less than max_tenths / 10 times one thread's time right now, else 0. The
 * two times go to *one_ms and *n_ms when these are not NULL.
 */
int parallel_machine_runs(const char *data, size_t len, int n, long long rounds, int max_tenths,
                          long long *one_ms, long long *n_ms);

#endif /* TEST_PARALLEL_H */
