#ifndef QLOCK_H
#define QLOCK_H

/*
 * A callback-queue lock: the event loop's answer to a mutex that must be
 * held across a callback (C's analogue of tokio::sync::Mutex).
 *
 * A pthread mutex blocks the thread that waits for it; on the loop thread
 * that is every client at once, and if the holder needs the loop to finish
 * (its release is in an after-work callback), it is a deadlock. A qlock
 * never blocks: qlock_lock() runs the caller's callback when the lock is
 * free, right away if it is free now, otherwise later, from the
 * qlock_unlock() of the holder before it, in first-come order. Waiting
 * costs a queued callback, not a thread.
 *
 * Loop thread only: there is no atomic and no mutex inside. The waiter
 * struct is the caller's (no allocation), and must stay valid until its
 * callback has run or qlock_cancel() has removed it.
 */

typedef void (*qlock_cb)(void *arg);

typedef struct qlock_waiter {
    struct qlock_waiter *next;
    qlock_cb cb;
    void *arg;
} qlock_waiter_t;

typedef struct qlock {
    int held;
    int handing_over;     /* qlock_unlock() is running waiters' callbacks */
    qlock_waiter_t *head; /* waiters in arrival order */
    qlock_waiter_t *tail;
} qlock_t;

void qlock_init(qlock_t *l);

/* Runs cb(arg) with the lock held as soon as the lock is free: before
 * returning when it is free now, else from a later qlock_unlock(). The
 * callback's owner must call qlock_unlock() once done. */
void qlock_lock(qlock_t *l, qlock_waiter_t *w, qlock_cb cb, void *arg);

/* Takes the lock if it is free and nobody waits. Returns 0 with the lock
 * held, or -EBUSY. */
int qlock_trylock(qlock_t *l);

/* Releases the lock. When someone waits, the lock passes straight to the
 * first waiter, whose callback runs before this returns; and so on down the
 * queue for as long as each callback releases the lock before returning.
 * (A loop, not recursion: a thousand writers queued behind a SAVE do not
 * make the stack a thousand callbacks deep.) */
void qlock_unlock(qlock_t *l);

/* Withdraws a waiter whose callback has not run (its client went away).
 * Returns 0, or -ENOENT when w is not waiting. */
int qlock_cancel(qlock_t *l, qlock_waiter_t *w);

/* True while someone holds the lock. */
int qlock_held(const qlock_t *l);

#endif /* QLOCK_H */
