#include "lag.h"

#include "log.h"

#define LAG_INTERVAL_MS 10  /* how often the lag monitor ticks */
#define STALL_MS        100 /* a tick this late counts as a stall */

/* Ticks every LAG_INTERVAL_MS. A tick that comes late means the loop was
 * busy: a callback ran long, and every client waited that long. */
static void lag_timer_cb(uv_timer_t *timer)
{
    lag_t *lag = timer->data;
    uint64_t now = uv_hrtime();
    uint64_t elapsed_ms = (now - lag->last_tick_ns) / 1000000;

    lag->last_tick_ns = now;
    lag->current_ms = elapsed_ms > LAG_INTERVAL_MS ? elapsed_ms - LAG_INTERVAL_MS : 0;
    if (lag->current_ms > lag->max_ms)
        lag->max_ms = lag->current_ms;
    if (lag->current_ms > STALL_MS) {
        lag->stalls++;
        log_warn("event loop stalled for %llu ms: every client waited",
                 (unsigned long long)lag->current_ms);
    }
}

void lag_start(lag_t *lag, uv_loop_t *loop)
{
    uv_timer_init(loop, &lag->timer);
    lag->timer.data = lag;
    lag->last_tick_ns = uv_hrtime();
    uv_timer_start(&lag->timer, lag_timer_cb, LAG_INTERVAL_MS, LAG_INTERVAL_MS);
}

void lag_info(const lag_t *lag, buf_t *out)
{
    buf_printf(out, "loop_lag_ms:%llu\r\n", (unsigned long long)lag->current_ms);
    buf_printf(out, "loop_lag_max_ms:%llu\r\n", (unsigned long long)lag->max_ms);
    buf_printf(out, "loop_stalls:%llu\r\n", (unsigned long long)lag->stalls);
}
