#ifndef WLOCK_H
#define WLOCK_H

#include <pthread.h>
#include <stdatomic.h>

/*
 * A watched mutex: a pthread mutex that reports, instead of hanging, the two
 * ways an event-loop program gets a lock wrong.
 *
 *   DEADLOCK    the thread asking already holds the lock. On a loop thread
 *               this means it was kept across a callback: only a later
 *               callback on this same thread, now blocked, could release it.
 *               No thread can ever go on: always an error (-EDEADLK).
 *   STALL       the thread waited longer than the bound: someone holds the
 *               lock during slow work, and the waiter (the loop, and every
 *               client with it) waits behind it. The holder may be a trap
 *               (slow work done under the lock) or just slow and making
 *               progress (a big copy): the mode says what a stall does.
 *
 * It is an error-checking mutex taken with pthread_mutex_timedlock(). Each
 * holder says who it is, so a report can name both sides.
 */

typedef enum wlock_mode {
    WLOCK_STALL_WAITS = 0, /* a stall is reported, then the wait goes on */
    WLOCK_STALL_FAILS,     /* a stall is reported and the wait fails (-ETIMEDOUT) */
    WLOCK_UNWATCHED,       /* a plain mutex: no bound, no owner, no report; a
                            * deadlock hangs, as it would without a watchdog */
} wlock_mode_t;

/* Stall reports of one lock: at most one per this many milliseconds (or per
 * bound, if longer); the ones left out are counted in the next. */
#define WLOCK_REPORT_EVERY_MS 1000

typedef struct wlock {
    pthread_mutex_t mu;
    _Atomic(const char *) holder; /* who holds it, for reports; NULL when free */
    const char *name;             /* e.g. "the store lock" */
    int wait_max_ms;
    wlock_mode_t mode;
    atomic_llong stalls;         /* waits that passed the bound */
    atomic_llong last_report_ms; /* CLOCK_MONOTONIC, of the last stall report */
    atomic_llong reports_left_out;
} wlock_t;

/* Prepares l. name is a string literal naming the lock in reports;
 * wait_max_ms (> 0) is the bound on a wait, after which it is a stall.
 * Returns 0 or a negative errno. */
int wlock_init(wlock_t *l, const char *name, wlock_mode_t mode, int wait_max_ms);
void wlock_destroy(wlock_t *l);

/*
 * Takes the lock on behalf of who, a string literal such as "the loop thread
 * (running a command)" (another thread may read it while reporting).
 *
 * Returns 0 once the lock is taken. A wait past the bound is counted as a
 * stall and reported at warn level in plain words, naming the lock, who
 * waits, for how long, and who holds it; in WLOCK_STALL_WAITS the wait then
 * goes on, reported again while it lasts (rate-limited, see
 * WLOCK_REPORT_EVERY_MS), and a waiter whose report was logged says when it
 * got the lock. Returns -EDEADLK when this thread already holds the lock,
 * -ETIMEDOUT after a stall in WLOCK_STALL_FAILS, each reported at error
 * level. WLOCK_UNWATCHED returns 0 or blocks for ever.
 */
int wlock_lock(wlock_t *l, const char *who);

void wlock_unlock(wlock_t *l);

/* Waits that passed the bound so far (0 in WLOCK_UNWATCHED). Any thread. */
long long wlock_stalls(wlock_t *l);

#endif /* WLOCK_H */
