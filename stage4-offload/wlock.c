#include "wlock.h"

#include "log.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

int wlock_init(wlock_t *l, const char *name, int wait_max_ms)
{
    pthread_mutexattr_t attr;
    int rc = pthread_mutexattr_init(&attr);
    if (rc != 0)
        return -rc;
    rc = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
    if (rc == 0)
        rc = pthread_mutex_init(&l->mu, &attr);
    pthread_mutexattr_destroy(&attr);
    if (rc != 0)
        return -rc;
    atomic_init(&l->holder, NULL);
    l->name = name;
    l->wait_max_ms = wait_max_ms;
    return 0;
}

void wlock_destroy(wlock_t *l)
{
    pthread_mutex_destroy(&l->mu);
}

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

int wlock_lock(wlock_t *l, const char *who)
{
    /* Free, the usual case: no deadline to compute. EBUSY comes back both
     * when another thread holds it and when this one does; the timed lock
     * tells the two apart (EDEADLK). */
    int rc = pthread_mutex_trylock(&l->mu);
    if (rc == EBUSY) {
        struct timespec deadline = deadline_after(l->wait_max_ms);
        rc = pthread_mutex_timedlock(&l->mu, &deadline);
    }
    if (rc == 0) {
        atomic_store(&l->holder, who);
        return 0;
    }

    const char *holder = atomic_load(&l->holder);
    if (holder == NULL)
        holder = "someone who did not say";
    if (rc == EDEADLK) {
        log_error("watchdog: DEADLOCK on %s: %s needs it, but this same thread already holds "
                  "it for %s. The lock is held across a callback: only a callback that this "
                  "waiting thread would have to run can release it.",
                  l->name, who, holder);
    } else if (rc == ETIMEDOUT) {
        log_error("watchdog: STALL on %s: %s waited %d ms for it, and it is still held by %s. "
                  "A lock held during slow work makes every client of the loop wait with it.",
                  l->name, who, l->wait_max_ms, holder);
    } else {
        log_error("watchdog: taking %s failed: %s", l->name, strerror(rc));
    }
    return -rc;
}

void wlock_unlock(wlock_t *l)
{
    atomic_store(&l->holder, NULL);
    pthread_mutex_unlock(&l->mu);
}
