#ifndef LAG_H
#define LAG_H

/*
 * The loop-lag monitor: a timer that should fire every LAG_INTERVAL_MS,
 * and the record of how late it fired. A tick that comes late means the
 * loop was busy in a callback that ran long, and every client waited that
 * long. Carried unchanged from stage 3 to stage 4: the same ruler for both.
 */

#include "buf.h"

#include <stdint.h>
#include <uv.h>

typedef struct lag {
    uv_timer_t timer;
    uint64_t last_tick_ns;
    uint64_t current_ms; /* how late the last tick was */
    uint64_t max_ms;     /* the latest any tick has been */
    uint64_t stalls;     /* ticks more than STALL_MS late */
} lag_t;

/* Starts ticking on loop. The timer is one of the loop's handles: shutdown
 * closes it with the others. */
void lag_start(lag_t *lag, uv_loop_t *loop);

/* Appends INFO's loop_lag_ms, loop_lag_max_ms and loop_stalls lines. */
void lag_info(const lag_t *lag, buf_t *out);

#endif /* LAG_H */
