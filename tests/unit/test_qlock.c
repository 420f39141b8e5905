/*
 * Tests of stage 4's callback-queue lock (stage4-offload/qlock.c).
 *
 * The lock is single-threaded by design, so these tests need no threads:
 * each waiter's callback records that it ran, in which order, and whether
 * the lock was held at the time. A callback is a grant: it never releases
 * the lock (qlock.h); the test releases it afterwards, as stage 4 does from
 * the owner's own callback.
 */
#include "harness.h"
#include "qlock.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== Recording waiters ==================================================== */

#define ORDER_MAX 64

typedef struct recorder {
    qlock_t *lock;
    int order[ORDER_MAX]; /* ids of the callbacks, in the order they ran */
    int count;
    int held_every_time; /* the lock was held in every callback */
} recorder_t;

typedef struct waiter {
    qlock_waiter_t w;
    recorder_t *r;
    int id;
    int try_rc; /* qlock_trylock() from inside the callback */
    int ran;
} waiter_t;

static void recorder_init(recorder_t *r, qlock_t *l)
{
    memset(r, 0, sizeof *r);
    r->lock = l;
    r->held_every_time = 1;
}

static void record_cb(void *arg)
{
    waiter_t *w = arg;
    recorder_t *r = w->r;

    w->ran++;
    if (!qlock_held(r->lock))
        r->held_every_time = 0;
    if (r->count < ORDER_MAX)
        r->order[r->count] = w->id;
    r->count++;
    w->try_rc = qlock_trylock(r->lock); /* the lock is ours: never taken twice */
}

static void waiter_init(waiter_t *w, recorder_t *r, int id)
{
    memset(w, 0, sizeof *w);
    w->r = r;
    w->id = id;
}

static void lock_as(qlock_t *l, waiter_t *w)
{
    qlock_lock(l, &w->w, record_cb, w);
}

/* A new lock l, taken by the test, with r recording its waiters. */
static void held_lock_init(qlock_t *l, recorder_t *r)
{
    qlock_init(l);
    recorder_init(r, l);
    CU_ASSERT_EQUAL_FATAL(qlock_trylock(l), 0);
}

/* Queues w[0..n) on the held lock l, with ids 0..n-1, in that order. */
static void queue_waiters(qlock_t *l, recorder_t *r, waiter_t *w, int n)
{
    for (int i = 0; i < n; i++) {
        waiter_init(&w[i], r, i);
        lock_as(l, &w[i]);
    }
}

/* ==== Taking the lock ======================================================= */

/* On a free lock the callback runs before qlock_lock() returns, with the
 * lock held; it stays held until the owner releases it. */
static void test_free_lock_runs_at_once(void)
{
    qlock_t l;
    recorder_t r;
    waiter_t a;

    qlock_init(&l);
    CU_ASSERT_FALSE(qlock_held(&l));
    recorder_init(&r, &l);
    waiter_init(&a, &r, 1);
    lock_as(&l, &a);
    CU_ASSERT_EQUAL(a.ran, 1);
    CU_ASSERT_EQUAL(a.try_rc, -EBUSY);
    CU_ASSERT(r.held_every_time);
    CU_ASSERT(qlock_held(&l));
    qlock_unlock(&l);
    CU_ASSERT_FALSE(qlock_held(&l));
}

/* While the lock is held, waiters queue and none runs. Each unlock hands
 * the lock to exactly one waiter, first come first served, and the lock
 * stays held, by that waiter's owner, until it releases in turn: the next
 * waiter has not run meanwhile. */
static void test_one_waiter_per_unlock(void)
{
    enum { N = 5 };
    qlock_t l;
    recorder_t r;
    waiter_t w[N];

    held_lock_init(&l, &r);
    queue_waiters(&l, &r, w, N);
    CU_ASSERT_EQUAL(r.count, 0);

    for (int i = 0; i < N; i++) {
        qlock_unlock(&l); /* the previous owner is done */
        CU_ASSERT_EQUAL(r.count, i + 1);
        CU_ASSERT_EQUAL(w[i].ran, 1);
        CU_ASSERT(qlock_held(&l));
        if (i + 1 < N)
            CU_ASSERT_EQUAL(w[i + 1].ran, 0);
        CU_ASSERT_EQUAL(qlock_trylock(&l), -EBUSY);
    }
    qlock_unlock(&l); /* the last owner is done: nobody waits */
    CU_ASSERT_FALSE(qlock_held(&l));
    for (int i = 0; i < N && i < r.count; i++)
        CU_ASSERT_EQUAL(r.order[i], i);
    CU_ASSERT(r.held_every_time);
}

/* ==== A long queue ========================================================= */

#define LONG_QUEUE 100000

typedef struct deep {
    qlock_t lock;
    qlock_waiter_t *waiters;
    int next_expected; /* FIFO check */
    int out_of_order;
    int ran;
    int ran_per_unlock_max;
    int ran_this_unlock;
} deep_t;

static deep_t deep;

static void deep_cb(void *arg)
{
    int id = (int)(intptr_t)arg;

    if (id != deep.next_expected)
        deep.out_of_order++;
    deep.next_expected = id + 1;
    deep.ran++;
    deep.ran_this_unlock++;
}

/* A hundred thousand waiters get the lock in order, one per unlock, each
 * unlock doing constant work: a queue behind a SAVE costs each writer one
 * grant, not a walk of the queue. */
static void test_long_queue(void)
{
    memset(&deep, 0, sizeof deep);
    deep.waiters = calloc(LONG_QUEUE, sizeof *deep.waiters);
    CU_ASSERT_PTR_NOT_NULL_FATAL(deep.waiters);
    qlock_init(&deep.lock);

    CU_ASSERT_EQUAL_FATAL(qlock_trylock(&deep.lock), 0);
    for (int i = 0; i < LONG_QUEUE; i++)
        qlock_lock(&deep.lock, &deep.waiters[i], deep_cb, (void *)(intptr_t)i);
    CU_ASSERT_EQUAL(deep.ran, 0);

    for (int i = 0; i <= LONG_QUEUE; i++) {
        deep.ran_this_unlock = 0;
        qlock_unlock(&deep.lock);
        if (deep.ran_this_unlock > deep.ran_per_unlock_max)
            deep.ran_per_unlock_max = deep.ran_this_unlock;
    }
    CU_ASSERT_EQUAL(deep.ran, LONG_QUEUE);
    CU_ASSERT_EQUAL(deep.ran_per_unlock_max, 1);
    CU_ASSERT_EQUAL(deep.out_of_order, 0);
    CU_ASSERT_FALSE(qlock_held(&deep.lock));
    free(deep.waiters);
}

/* ==== trylock ============================================================== */

/* trylock takes a free lock and refuses a held one. */
static void test_trylock_free_and_held(void)
{
    qlock_t l;
    qlock_init(&l);
    CU_ASSERT_EQUAL(qlock_trylock(&l), 0);
    CU_ASSERT(qlock_held(&l));
    CU_ASSERT_EQUAL(qlock_trylock(&l), -EBUSY);
    CU_ASSERT(qlock_held(&l));
    qlock_unlock(&l);
    CU_ASSERT_FALSE(qlock_held(&l));
    CU_ASSERT_EQUAL(qlock_trylock(&l), 0);
    qlock_unlock(&l);
}

/* trylock does not jump the queue: between two owners (the lock is free
 * for no instant, it passes straight on) and while others wait, it is
 * refused; once the last owner releases with nobody behind, it succeeds. */
static void test_trylock_refused_while_others_wait(void)
{
    enum { N = 3 };
    qlock_t l;
    recorder_t r;
    waiter_t w[N];

    held_lock_init(&l, &r);
    queue_waiters(&l, &r, w, N);
    for (int i = 0; i < N; i++) {
        qlock_unlock(&l);
        CU_ASSERT_EQUAL(qlock_trylock(&l), -EBUSY);
    }
    CU_ASSERT_EQUAL(r.count, N);
    qlock_unlock(&l);
    CU_ASSERT_EQUAL(qlock_trylock(&l), 0);
    qlock_unlock(&l);
    CU_ASSERT_FALSE(qlock_held(&l));
}

/* ==== cancel ================================================================ */

/* Releases l until nobody waits and it is free. */
static void drain(qlock_t *l)
{
    while (qlock_held(l))
        qlock_unlock(l);
}

/* Cancelling the first, a middle and the last waiter removes exactly those:
 * they never run, the others run in order, and a waiter queued afterwards
 * goes behind the last one left (the tail was kept right). */
static void test_cancel_first_middle_last(void)
{
    enum { N = 5 };
    qlock_t l;
    recorder_t r;
    waiter_t w[N + 1];

    held_lock_init(&l, &r);
    queue_waiters(&l, &r, w, N);
    CU_ASSERT_EQUAL(qlock_cancel(&l, &w[0].w), 0);       /* first */
    CU_ASSERT_EQUAL(qlock_cancel(&l, &w[2].w), 0);       /* middle */
    CU_ASSERT_EQUAL(qlock_cancel(&l, &w[4].w), 0);       /* last */
    CU_ASSERT_EQUAL(qlock_cancel(&l, &w[2].w), -ENOENT); /* not waiting any more */
    waiter_init(&w[N], &r, N);
    lock_as(&l, &w[N]); /* behind 3, the last one left */

    drain(&l);
    CU_ASSERT_EQUAL(r.count, 3);
    CU_ASSERT_EQUAL(r.order[0], 1);
    CU_ASSERT_EQUAL(r.order[1], 3);
    CU_ASSERT_EQUAL(r.order[2], N);
    CU_ASSERT_EQUAL(w[0].ran + w[2].ran + w[4].ran, 0);
}

/* A waiter that never queued, or whose callback already ran, is not
 * waiting: -ENOENT, and the queue is untouched. */
static void test_cancel_absent(void)
{
    qlock_t l;
    recorder_t r;
    waiter_t a, b, stranger;

    qlock_init(&l);
    recorder_init(&r, &l);
    waiter_init(&stranger, &r, 99);
    CU_ASSERT_EQUAL(qlock_cancel(&l, &stranger.w), -ENOENT); /* empty queue */

    CU_ASSERT_EQUAL_FATAL(qlock_trylock(&l), 0);
    waiter_init(&a, &r, 1);
    waiter_init(&b, &r, 2);
    lock_as(&l, &a);
    lock_as(&l, &b);
    CU_ASSERT_EQUAL(qlock_cancel(&l, &stranger.w), -ENOENT); /* not in it */
    qlock_unlock(&l);
    CU_ASSERT_EQUAL(r.count, 1);
    CU_ASSERT_EQUAL(qlock_cancel(&l, &a.w), -ENOENT); /* already ran */
    drain(&l);
    CU_ASSERT_EQUAL(r.count, 2);
    CU_ASSERT_EQUAL(stranger.ran, 0);
}

/* Cancelling the only waiter empties the queue: the unlock hands over to
 * nobody, and the lock is free again for trylock and lock alike. */
static void test_cancel_only_waiter(void)
{
    qlock_t l;
    recorder_t r;
    waiter_t a, b;

    held_lock_init(&l, &r);
    waiter_init(&a, &r, 1);
    lock_as(&l, &a);
    CU_ASSERT_EQUAL(qlock_cancel(&l, &a.w), 0);
    qlock_unlock(&l);
    CU_ASSERT_EQUAL(a.ran, 0);
    CU_ASSERT_FALSE(qlock_held(&l));

    /* Nobody waits, so both ways of taking the lock work at once. */
    CU_ASSERT_EQUAL(qlock_trylock(&l), 0);
    qlock_unlock(&l);
    waiter_init(&b, &r, 2);
    lock_as(&l, &b);
    CU_ASSERT_EQUAL(b.ran, 1);
    qlock_unlock(&l);
    CU_ASSERT_EQUAL(a.ran, 0);
}

/* A waiter's callback may cancel another waiter behind it (its client went
 * away meanwhile): that one never runs, the rest of the queue still does. */
typedef struct canceller {
    waiter_t base;
    waiter_t *victim;
    int cancel_rc;
} canceller_t;

static void cancel_cb(void *arg)
{
    canceller_t *c = arg;
    c->cancel_rc = qlock_cancel(c->base.r->lock, &c->victim->w);
    record_cb(&c->base);
}

static void test_cancel_from_a_callback(void)
{
    qlock_t l;
    recorder_t r;
    canceller_t first;
    waiter_t second, third;

    held_lock_init(&l, &r);
    waiter_init(&first.base, &r, 1);
    first.victim = &second;
    waiter_init(&second, &r, 2);
    waiter_init(&third, &r, 3);
    qlock_lock(&l, &first.base.w, cancel_cb, &first);
    lock_as(&l, &second);
    lock_as(&l, &third);

    qlock_unlock(&l); /* to first, which cancels second */
    CU_ASSERT_EQUAL(first.cancel_rc, 0);
    qlock_unlock(&l); /* first's owner is done: to third */
    CU_ASSERT_EQUAL(second.ran, 0);
    CU_ASSERT_EQUAL(third.ran, 1);
    CU_ASSERT_EQUAL(r.count, 2);
    qlock_unlock(&l);
    CU_ASSERT_FALSE(qlock_held(&l));
}

/* ==== Registration ========================================================== */

static CU_TestInfo lock_tests[] = {
    {"a free lock runs the callback at once", test_free_lock_runs_at_once},
    {"one waiter per unlock, in FIFO order", test_one_waiter_per_unlock},
    {"100,000 waiters, one grant each", test_long_queue},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo trylock_tests[] = {
    {"free and held", test_trylock_free_and_held},
    {"refused while others wait", test_trylock_refused_while_others_wait},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo cancel_tests[] = {
    {"first, middle and last", test_cancel_first_middle_last},
    {"absent waiter is -ENOENT", test_cancel_absent},
    {"the only waiter", test_cancel_only_waiter},
    {"from another waiter's callback", test_cancel_from_a_callback},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"lock", NULL, NULL, NULL, NULL, lock_tests},
    {"trylock", NULL, NULL, NULL, NULL, trylock_tests},
    {"cancel", NULL, NULL, NULL, NULL, cancel_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
