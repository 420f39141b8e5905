#ifndef LOG_H
#define LOG_H

#include <stdatomic.h>
#include <stdint.h>

/*
 * Logging to stderr, one line per message:
 *
 *     stage3-eventloop[4242] 11:02:03.456 warn: loop stalled for 503 ms
 *
 * Safe to call from any thread: each message is formatted into one buffer
 * and written with a single write(2), so lines from different threads never
 * interleave. Library code in common/ reports through here and never prints
 * anything else.
 */

typedef enum log_level {
    LOGL_DEBUG = 0,
    LOGL_INFO = 1,
    LOGL_WARN = 2,
    LOGL_ERROR = 3,
} log_level_t;

/* Sets the name that prefixes every line and the lowest level written.
 * Before the first call the name is "staged-ports" and the level info. */
void log_init(const char *name, log_level_t level);

/* Parses "debug", "info", "warn" or "error". Returns 0 or -EINVAL. */
int log_level_parse(const char *text, log_level_t *level);

/* Returns the lowest level that is written. */
log_level_t log_get_level(void);

void log_write(log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_write(LOGL_DEBUG, __VA_ARGS__)
#define log_info(...)  log_write(LOGL_INFO, __VA_ARGS__)
#define log_warn(...)  log_write(LOGL_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOGL_ERROR, __VA_ARGS__)

/* ==== Rate-limited messages ============================================== */

/*
 * For a warning that a client can cause at will, such as refusing it: one
 * line per interval at most, however often it happens, so that a flood of
 * clients cannot flood the log. Each call site owns one log_limit_t:
 *
 *     static log_limit_t busy_warnings = LOG_LIMIT_INIT(LOG_LIMIT_MS);
 *     log_warn_limited(&busy_warnings, "refusing a client: ...");
 *
 * The first message is written. The next ones, until interval_ms have
 * passed since it, are counted and dropped; the first message after that
 * is written with the count of the dropped ones:
 *
 *     ... warn: refusing a client: ... (4213 similar messages suppressed in the last 1000 ms)
 *
 * The count of the last interval of a burst is reported with the next
 * message, if there ever is one (the kernel's printk_ratelimit() does the
 * same). Any thread may use the same log_limit_t: its fields are C11
 * atomics, and of several threads that try at once, one writes.
 */

#define LOG_LIMIT_MS 1000 /* the interval the stages use */

typedef struct log_limit {
    int64_t interval_ms;
    _Atomic int64_t next_ms; /* no line before this time */
    atomic_ulong suppressed; /* messages dropped since the last line */
} log_limit_t;

#define LOG_LIMIT_INIT(interval)                                                                   \
    {                                                                                              \
        .interval_ms = (interval)                                                                  \
    }

/* Like log_write(), under limit, now_ms being the time on a monotonic
 * clock in milliseconds (log_now_ms(), or a test's own clock). A message
 * below the log level is neither written nor counted. */
void log_write_limited(log_limit_t *limit, int64_t now_ms, log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Milliseconds on CLOCK_MONOTONIC: the clock the macros below pass. */
int64_t log_now_ms(void);

#define log_warn_limited(limit, ...)                                                               \
    log_write_limited((limit), log_now_ms(), LOGL_WARN, __VA_ARGS__)

#endif /* LOG_H */
