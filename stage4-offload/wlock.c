#include "wlock.h"

#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define NEVER_REPORTED (-1LL)

int wlock_init(wlock_t *l, const char *name, wlock_mode_t mode, int wait_max_ms)
{
    if (wait_max_ms <= 0)
        return -EINVAL;
    pthread_mutexattr_t attr;
    int rc = pthread_mutexattr_init(&attr);
    if (rc != 0)
        return -rc;
    /* Unwatched, it is the mutex a program without a watchdog would use;
     * NORMAL, not DEFAULT, so that a relock is defined to hang. */
    rc = pthread_mutexattr_settype(&attr, mode == WLOCK_UNWATCHED ? PTHREAD_MUTEX_NORMAL
                                                                  : PTHREAD_MUTEX_ERRORCHECK);
    if (rc == 0)
        rc = pthread_mutex_init(&l->mu, &attr);
    pthread_mutexattr_destroy(&attr);
    if (rc != 0)
        return -rc;
    atomic_init(&l->holder, NULL);
    l->name = name;
    l->wait_max_ms = wait_max_ms;
    l->mode = mode;
    atomic_init(&l->stalls, 0);
    atomic_init(&l->last_report_ms, NEVER_REPORTED);
    atomic_init(&l->reports_left_out, 0);
    return 0;
}

void wlock_destroy(wlock_t *l)
{
    pthread_mutex_destroy(&l->mu);
}

/* ==== Reports ============================================================ */

static long long monotonic_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static const char *holder_of(wlock_t *l)
{
    const char *holder = atomic_load(&l->holder);
    return holder != NULL ? holder : "someone who did not say";
}

/* A stall report is due when none was logged for WLOCK_REPORT_EVERY_MS (or
 * a bound, if longer): a dozen threads waiting behind one slow holder make
 * one line a second, not a dozen per bound. Sets *left_out to the reports
 * skipped since the last one. */
static int report_due(wlock_t *l, long long *left_out)
{
    long long every =
        l->wait_max_ms > WLOCK_REPORT_EVERY_MS ? l->wait_max_ms : WLOCK_REPORT_EVERY_MS;
    long long now = monotonic_ms();
    long long last = atomic_load(&l->last_report_ms);
    if ((last == NEVER_REPORTED || now - last >= every) &&
        atomic_compare_exchange_strong(&l->last_report_ms, &last, now)) {
        *left_out = atomic_exchange(&l->reports_left_out, 0);
        return 1;
    }
    atomic_fetch_add(&l->reports_left_out, 1);
    return 0;
}

static void report_stall(wlock_t *l, log_level_t level, const char *who, long long waited_ms,
                         const char *then, long long left_out)
{
    char more[96] = "";
    if (left_out > 0)
        snprintf(more, sizeof more, " (%lld more stall report(s) left out since the last one)",
                 left_out);
    log_write(level,
              "watchdog: STALL on %s: %s waited %lld ms for it, and it is still held by %s. "
              "A lock held during slow work makes every client of the loop wait with it.%s%s",
              l->name, who, waited_ms, holder_of(l), then, more);
}

/* ==== Taking the lock ==================================================== */

/* pthread_mutex_timedlock() wants an absolute CLOCK_REALTIME deadline. */
static struct timespec deadline_after(int ms)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

/* The lock was busy: waits for it a bound at a time, each bound that passes
 * being a stall. Returns 0, EDEADLK, ETIMEDOUT (WLOCK_STALL_FAILS) or
 * another error of pthread_mutex_timedlock(). */
static int wait_watched(wlock_t *l, const char *who)
{
    long long start_ms = monotonic_ms(); /* the clock only when the lock is busy */
    int reported = 0;

    for (long long bounds = 1;; bounds++) {
        struct timespec deadline = deadline_after(l->wait_max_ms);
        int rc = pthread_mutex_timedlock(&l->mu, &deadline);
        if (rc != ETIMEDOUT) {
            if (rc == 0 && reported)
                log_warn("watchdog: %s got %s after waiting %lld ms", who, l->name,
                         monotonic_ms() - start_ms);
            return rc;
        }
        long long waited_ms = bounds * l->wait_max_ms; /* at least */
        if (bounds == 1)
            atomic_fetch_add(&l->stalls, 1);
        if (l->mode == WLOCK_STALL_FAILS) {
            report_stall(l, LOGL_ERROR, who, waited_ms, "", 0);
            return ETIMEDOUT;
        }
        long long left_out;
        if (report_due(l, &left_out)) {
            report_stall(l, LOGL_WARN, who, waited_ms,
                         " Still waiting: a holder that is only slow lets go in the end.",
                         left_out);
            reported = 1;
        }
    }
}

int wlock_lock(wlock_t *l, const char *who)
{
    if (l->mode == WLOCK_UNWATCHED)
        return -pthread_mutex_lock(&l->mu);

    /* Free, the usual case: no deadline to compute. EBUSY comes back both
     * when another thread holds it and when this one does; the timed lock
     * tells the two apart (EDEADLK). */
    int rc = pthread_mutex_trylock(&l->mu);
    if (rc == EBUSY)
        rc = wait_watched(l, who);
    if (rc == 0) {
        atomic_store(&l->holder, who);
        return 0;
    }

    if (rc == EDEADLK) {
        log_error("watchdog: DEADLOCK on %s: %s needs it, but this same thread already holds "
                  "it for %s. The lock is held across a callback: only a callback that this "
                  "waiting thread would have to run can release it.",
                  l->name, who, holder_of(l));
    } else if (rc != ETIMEDOUT) { /* a stall was reported already */
        log_error("watchdog: taking %s failed: %s", l->name, strerror(rc));
    }
    return -rc;
}

void wlock_unlock(wlock_t *l)
{
    if (l->mode != WLOCK_UNWATCHED)
        atomic_store(&l->holder, NULL);
    pthread_mutex_unlock(&l->mu);
}

long long wlock_stalls(wlock_t *l)
{
    return atomic_load(&l->stalls);
}
