#ifndef WLOCK_H
#define WLOCK_H

#include <pthread.h>

/*
 * A watched mutex: a pthread mutex that reports, instead of hanging, the two
 * ways an event-loop program gets a lock wrong.
 *
 *   -EDEADLK    the thread asking already holds the lock. On a loop thread
 *               this means it was kept across a callback: only a later
 *               callback on this same thread, now blocked, could release it.
 *   -ETIMEDOUT  the thread waited longer than the bound: someone holds the
 *               lock during slow work, and the waiter (the loop, and every
 *               client with it) waits behind it.
 *
 * It is an error-checking mutex taken with pthread_mutex_timedlock(). Each
 * holder says who it is, so a report can name both sides.
 */

typedef struct wlock {
    pthread_mutex_t mu;
    _Atomic(const char *) holder; /* who holds it, for reports; NULL when free */
    const char *name;             /* e.g. "the store lock" */
    int wait_max_ms;
} wlock_t;

/* Prepares l. name is a string literal naming the lock in reports;
 * wait_max_ms bounds every wait. Returns 0 or a negative errno. */
int wlock_init(wlock_t *l, const char *name, int wait_max_ms);
void wlock_destroy(wlock_t *l);

/*
 * Takes the lock on behalf of who, a string literal such as "the loop thread
 * (running a command)" (another thread may read it while reporting).
 * Returns 0; or -EDEADLK or -ETIMEDOUT after logging, at error level, a
 * report in plain words naming the lock, who asked and who holds it.
 */
int wlock_lock(wlock_t *l, const char *who);

void wlock_unlock(wlock_t *l);

#endif /* WLOCK_H */
