#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 1024

/* Set once at start-up, read by every thread afterwards: the name is a
 * pointer to a string that outlives the process's threads (argv[0] or a
 * literal), the level an atomic so that a late log_init() is not a race. */
static const char *log_name = "staged-ports";
static atomic_int log_min_level = LOGL_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_init(const char *name, log_level_t level)
{
    log_name = name;
    atomic_store(&log_min_level, (int)level);
}

int log_level_parse(const char *text, log_level_t *level)
{
    for (int i = LOGL_DEBUG; i <= LOGL_ERROR; i++) {
        if (strcmp(text, level_names[i]) == 0) {
            *level = (log_level_t)i;
            return 0;
        }
    }
    return -EINVAL;
}

log_level_t log_get_level(void)
{
    return (log_level_t)atomic_load(&log_min_level);
}

/* Writes one line: the prefix, fmt's text, then suffix (may be ""). */
static void log_vwrite(log_level_t level, const char *suffix, const char *fmt, va_list ap)
{
    char line[LOG_LINE_MAX];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);

    int n =
        snprintf(line, sizeof line, "%s[%ld] %02d:%02d:%02d.%03ld %s: ", log_name, (long)getpid(),
                 tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000), level_names[level]);
    if (n < 0 || (size_t)n >= sizeof line)
        n = 0;

    int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    if (m < 0)
        m = 0;
    size_t len = (size_t)n + (size_t)m;
    if (len < sizeof line) {
        int k = snprintf(line + len, sizeof line - len, "%s", suffix);
        len += k > 0 ? (size_t)k : 0;
    }

    if (len > sizeof line - 2) /* truncated: keep room for the newline */
        len = sizeof line - 2;
    line[len++] = '\n';

    /* One write(2) per line; stderr is unbuffered anyway, and a failed or
     * short write to stderr has nowhere better to be reported. */
    ssize_t rc;
    do {
        rc = write(STDERR_FILENO, line, len);
    } while (rc < 0 && errno == EINTR);
}

void log_write(log_level_t level, const char *fmt, ...)
{
    if ((int)level < atomic_load(&log_min_level))
        return;
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, "", fmt, ap);
    va_end(ap);
}

/* ==== Rate-limited messages ============================================== */

void log_write_limited(log_limit_t *limit, int64_t now_ms, log_level_t level, const char *fmt, ...)
{
    if ((int)level < atomic_load(&log_min_level))
        return;

    /* Whoever moves next_ms on writes; everyone else only counts. A count
     * added just after the winner took it goes with the next line. */
    int64_t next = atomic_load(&limit->next_ms);
    if (now_ms < next ||
        !atomic_compare_exchange_strong(&limit->next_ms, &next, now_ms + limit->interval_ms)) {
        atomic_fetch_add(&limit->suppressed, 1);
        return;
    }
    unsigned long dropped = atomic_exchange(&limit->suppressed, 0);

    char suffix[96] = "";
    if (dropped > 0) {
        long long since_ms = (long long)(now_ms - (next - limit->interval_ms));
        snprintf(suffix, sizeof suffix, " (%lu similar messages suppressed in the last %lld ms)",
                 dropped, since_ms);
    }
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, suffix, fmt, ap);
    va_end(ap);
}

int64_t log_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
