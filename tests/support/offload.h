#ifndef TEST_OFFLOAD_H
#define TEST_OFFLOAD_H

#include "server.h" /* SANITIZED */

#include <stddef.h>

/*
 * What the stage 4 suites (tests/suites/stage4_*.c) share: the server's
 * numbers they assert, what the sanitizers change about them, and timing
 * checks made in attempts on a machine that may be busy.
 */

#if defined(__SANITIZE_THREAD__)
#define TSAN_THREADS 1 /* TSan runs a helper thread in every threaded process */
/* TSan sleeps atexit_sleep_ms (1 s by default) in _exit() while other
 * threads are alive, to catch their last races: a watchdog's exit comes
 * that much later. */
#define EXIT_SLACK_MS 1000
#else
#define TSAN_THREADS  0
#define EXIT_SLACK_MS 0
#endif

#define MIB              (1024 * 1024)
#define JOBS_MAX         64 /* stage4-offload/server.c */
#define WATCHDOG_EXIT    3  /* the watchdog's exit status */
#define SANITIZER_EXIT   86 /* ASAN_OPTIONS / TSAN_OPTIONS exitcode (Makefile) */
#define FAST_MS          50 /* a PING that waits for nothing */
#define TIMING_ATTEMPTS  3  /* a timing check passes when one attempt of three does */
#define DIGEST_VALUE_LEN (64 * 1024)
#define LONG_DIGEST      65536 /* rounds of DIGEST_VALUE_LEN: 4 GB hashed, seconds */

/* parallel_calibrate_rounds(), which must succeed: a test whose
 * calibration fails ends here. */
long long offload_calibrate_rounds(int fd, const char *key, size_t vlen, long long target_ms);

/* Milliseconds for a PING on fd, or -1 when it was not answered. */
long long offload_ping_ms(int fd);

/* The outcome of a timing check made in attempts: it passes when one
 * attempt met the bounds; when none did, it fails if at least one attempt
 * ran on a quiet machine (counted), and is reported as not checked if the
 * machine was busy through all of them (see lag_probe.h). */
void offload_timing_verdict(int good, int counted, const char *what);

#endif /* TEST_OFFLOAD_H */
