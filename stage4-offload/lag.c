#include "lag.h"

#include "log.h"

#include <stdlib.h>
#include <string.h>

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
        if (lag->tick_longest != NULL)
            log_warn("event loop stalled for %llu ms: every client waited; longest command "
                     "since the last tick: '%s' %llu ms on the loop thread (%llu commands, "
                     "%llu ms)",
                     (unsigned long long)lag->current_ms, lag->tick_longest,
                     (unsigned long long)(lag->tick_longest_ns / 1000000),
                     (unsigned long long)lag->tick_commands,
                     (unsigned long long)(lag->tick_total_ns / 1000000));
        else
            log_warn("event loop stalled for %llu ms: every client waited; no command ran "
                     "since the last tick",
                     (unsigned long long)lag->current_ms);
    }
    lag->tick_longest = NULL;
    lag->tick_longest_ns = 0;
    lag->tick_commands = 0;
    lag->tick_total_ns = 0;
}

void lag_start(lag_t *lag, uv_loop_t *loop)
{
    uv_timer_init(loop, &lag->timer);
    lag->timer.data = lag;
    lag->last_tick_ns = uv_hrtime();
    uv_timer_start(&lag->timer, lag_timer_cb, LAG_INTERVAL_MS, LAG_INTERVAL_MS);
}

void lag_command_done(lag_t *lag, const char *name, uint64_t ns)
{
    lag_command_t *cmd = NULL;
    for (int i = 0; i < lag->command_count && cmd == NULL; i++)
        if (lag->commands[i].name == name)
            cmd = &lag->commands[i];
    if (cmd == NULL && lag->command_count < LAG_COMMANDS_MAX) {
        cmd = &lag->commands[lag->command_count++];
        cmd->name = name;
    }
    if (cmd != NULL) {
        cmd->calls++;
        cmd->total_ns += ns;
        if (ns > cmd->max_ns)
            cmd->max_ns = ns;
    }
    lag->tick_commands++;
    lag->tick_total_ns += ns;
    if (lag->tick_longest == NULL || ns > lag->tick_longest_ns) {
        lag->tick_longest = name;
        lag->tick_longest_ns = ns;
    }
}

/* qsort() order for lag_info(): the longest single hold first. */
static int longest_first(const void *a, const void *b)
{
    const lag_command_t *x = a, *y = b;
    return (x->max_ns < y->max_ns) - (x->max_ns > y->max_ns);
}

void lag_info(const lag_t *lag, buf_t *out)
{
    lag_command_t sorted[LAG_COMMANDS_MAX];

    buf_printf(out, "loop_lag_ms:%llu\r\n", (unsigned long long)lag->current_ms);
    buf_printf(out, "loop_lag_max_ms:%llu\r\n", (unsigned long long)lag->max_ms);
    buf_printf(out, "loop_stalls:%llu\r\n", (unsigned long long)lag->stalls);
    memcpy(sorted, lag->commands, sizeof sorted);
    qsort(sorted, (size_t)lag->command_count, sizeof sorted[0], longest_first);
    if (lag->command_count > 0) {
        buf_printf(out, "loop_longest_cmd:%s\r\n", sorted[0].name);
        buf_printf(out, "loop_longest_cmd_us:%llu\r\n",
                   (unsigned long long)(sorted[0].max_ns / 1000));
    }
    for (int i = 0; i < lag->command_count; i++)
        buf_printf(out, "loop_cmd_%s:calls=%llu,usec=%llu,usec_max=%llu\r\n", sorted[i].name,
                   (unsigned long long)sorted[i].calls,
                   (unsigned long long)(sorted[i].total_ns / 1000),
                   (unsigned long long)(sorted[i].max_ns / 1000));
}
