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
 * its own, right away if it is free now, otherwise later, from the
 * qlock_unlock() of the holder before it, in first-come order. Waiting
 * costs a queued callback, not a thread.
 *
 * The callback is a grant, not the work: it runs on the releaser's stack,
 * so it only notes that the lock is its owner's now (stage 4 puts the
 * connection on its ready list, or hands a SAVE to the thread pool) and
 * returns. The owner does its work, and releases, from a callback of its
 * own. So one unlock hands the lock to one waiter, and no waiter's work
 * ever runs inside another's.
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
    int granting;         /* a waiter's callback is running (it may not release) */
    qlock_waiter_t *head; /* waiters in arrival order */
    qlock_waiter_t *tail;
} qlock_t;

void qlock_init(qlock_t *l);

/* Runs cb(arg) with the lock held as soon as the lock is free: before
 * returning when it is free now, else from the qlock_unlock() that hands it
 * over. The callback's owner must call qlock_unlock() once done, but never
 * from inside the callback itself (asserted). */
void qlock_lock(qlock_t *l, qlock_waiter_t *w, qlock_cb cb, void *arg);

/* Takes the lock if it is free and nobody waits. Returns 0 with the lock
 * held, or -EBUSY. */
int qlock_trylock(qlock_t *l);

/* Releases the lock. When someone waits, the lock passes straight to the
 * first waiter, whose callback runs before this returns; the lock stays
 * held, now by that waiter's owner. One waiter per call: the next one gets
 * the lock when its owner releases in turn. */
void qlock_unlock(qlock_t *l);

/* Withdraws a waiter whose callback has not run (its client went away).
 * Returns 0, or -ENOENT when w is not waiting. */
int qlock_cancel(qlock_t *l, qlock_waiter_t *w);

/* True while someone holds the lock. */
int qlock_held(const qlock_t *l);

#endif /* QLOCK_H */
