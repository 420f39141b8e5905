#ifndef LOG_H
#define LOG_H

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

#endif /* LOG_H */
