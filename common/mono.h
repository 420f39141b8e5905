#ifndef MONO_H
#define MONO_H

#include <stdint.h>

/*
 * The monotonic clock (CLOCK_MONOTONIC): for durations and uptime, never
 * for dates. It does not jump when the wall clock is set.
 */

/* Milliseconds since an arbitrary point fixed at boot. */
int64_t mono_now_ms(void);

#endif /* MONO_H */
