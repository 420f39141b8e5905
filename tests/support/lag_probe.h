#ifndef TEST_LAG_PROBE_H
#define TEST_LAG_PROBE_H

#include <pthread.h>

/*
 * A control for timing assertions: a thread in the test process that asks
 * to wake every LAG_PROBE_TICK_MS and records how late it woke. When the
 * probe itself woke late, the machine was too busy (other processes, CPU
 * steal) for a latency measured meanwhile to say anything about the
 * server: the test counts that attempt as inconclusive instead of failing.
 * A server that stalls on its own does so while the probe is on time.
 */

#define LAG_PROBE_TICK_MS 5
#define LAG_PROBE_BUSY_MS 30 /* a probe this late means the machine was busy */

typedef struct lag_probe {
    pthread_t tid;
    int stop;          /* set by lag_probe_stop(), read atomically */
    long long late_ms; /* the worst lateness seen, written by the probe */
    int running;
} lag_probe_t;

/* Starts the probe. Returns 0 or a negative errno. */
int lag_probe_start(lag_probe_t *p);

/* Stops the probe and returns the worst lateness it saw, in ms (0 when it
 * never ran). */
long long lag_probe_stop(lag_probe_t *p);

/* True when the machine was quiet enough for timing: the probe was never
 * LAG_PROBE_BUSY_MS late. */
int lag_probe_quiet(long long late_ms);

/* Asserts that took_ms < bound_ms, unless the machine was too busy for a
 * latency to mean anything (the probe, running meanwhile, woke late by
 * probe_late_ms): then it only says so on stderr. */
void lag_probe_expect_fast(long long took_ms, long long bound_ms, long long probe_late_ms,
                           const char *what);

#endif /* TEST_LAG_PROBE_H */
