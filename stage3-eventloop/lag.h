#ifndef LAG_H
#define LAG_H

/*
 * The loop-lag monitor: a timer that should fire every LAG_INTERVAL_MS,
 * and the record of how late it fired. A tick that comes late means the
 * loop was busy in a callback that ran long, and every client waited that
 * long. Carried unchanged from stage 3 to stage 4: the same ruler for both.
 *
 * It also keeps the time each command held the loop thread (exec.c tells
 * it), so that a late tick can name what was running, and INFO can show
 * which commands held the loop longest: a fsync under SET shows up there
 * even when each one takes a fraction of a millisecond.
 */

#include "buf.h"

#include <stdint.h>
#include <uv.h>

#define LAG_COMMANDS_MAX 32 /* commands with their own line; more than the table has */

/* The loop-thread time of one command, by its name in the table. */
typedef struct lag_command {
    const char *name; /* the command table's own string: compared by address */
    uint64_t calls;
    uint64_t total_ns;
    uint64_t max_ns;
} lag_command_t;

typedef struct lag {
    uv_timer_t timer;
    uint64_t last_tick_ns;
    uint64_t current_ms; /* how late the last tick was */
    uint64_t max_ms;     /* the latest any tick has been */
    uint64_t stalls;     /* ticks more than STALL_MS late */

    lag_command_t commands[LAG_COMMANDS_MAX];
    int command_count;
    /* Since the last tick: the command that held the loop longest. */
    const char *tick_longest;
    uint64_t tick_longest_ns;
    uint64_t tick_commands;
    uint64_t tick_total_ns;
} lag_t;

/* Starts ticking on loop. The timer is one of the loop's handles: shutdown
 * closes it with the others. */
void lag_start(lag_t *lag, uv_loop_t *loop);

/* A command named name (cmd_t's name) held the loop thread for ns
 * nanoseconds: executing it, and whatever it blocked on. */
void lag_command_done(lag_t *lag, const char *name, uint64_t ns);

/* Appends INFO's loop_lag_ms, loop_lag_max_ms and loop_stalls lines, then
 * loop_longest_cmd, loop_longest_cmd_us and one loop_cmd_<name> line per
 * command seen, the longest-holding first. */
void lag_info(const lag_t *lag, buf_t *out);

#endif /* LAG_H */
