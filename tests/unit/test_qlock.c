/*
 * Tests of stage 4's callback-queue lock (stage4-offload/qlock.c).
 *
 * The lock is single-threaded by design, so these tests need no threads:
 * each waiter's callback records that it ran, in which order, whether the
 * lock was held at the time, and what the test told it to do next (release
 * the lock at once, or keep it).
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
    int keep;      /* keep the lock when the callback returns */
    int try_after; /* after releasing, try the lock and record the result */
    int try_rc;
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
    if (!w->keep) {
        qlock_unlock(r->lock);
        if (w->try_after) {
            w->try_rc = qlock_trylock(r->lock);
            if (w->try_rc == 0)
                qlock_unlock(r->lock);
        }
    }
}

static void waiter_init(waiter_t *w, recorder_t *r, int id, int keep)
{
    memset(w, 0, sizeof *w);
    w->r = r;
    w->id = id;
    w->keep = keep;
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

/* Queues w[0..n) on the held lock l, with ids 0..n-1, in that order; w[i]
 * keeps the lock when keeps[i] says so (keeps NULL: none keeps it). */
static void queue_waiters(qlock_t *l, recorder_t *r, waiter_t *w, int n, const int *keeps)
{
    for (int i = 0; i < n; i++) {
        waiter_init(&w[i], r, i, keeps != NULL && keeps[i]);
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
    waiter_init(&a, &r, 1, 1);
    lock_as(&l, &a);
    CU_ASSERT_EQUAL(a.ran, 1);
    CU_ASSERT(r.held_every_time);
    CU_ASSERT(qlock_held(&l));
    qlock_unlock(&l);
    CU_ASSERT_FALSE(qlock_held(&l));

    /* A callback that releases at once leaves the lock free. */
    waiter_init(&a, &r, 2, 0);
    lock_as(&l, &a);
    CU_ASSERT_EQUAL(a.ran, 1);
    CU_ASSERT_FALSE(qlock_held(&l));
    CU_ASSERT_EQUAL(qlock_trylock(&l), 0);
    qlock_unlock(&l);
}

/* While the lock is held, waiters queue; none runs until the unlock, then
 * all do, first come first served, each with the lock held. */
static void test_waiters_run_in_order(void)
{
    enum { N = 5 };
    qlock_t l;
    recorder_t r;
    waiter_t w[N];

    held_lock_init(&l, &r);
    queue_waiters(&l, &r, w, N, NULL);
    CU_ASSERT_EQUAL(r.count, 0);
    CU_ASSERT(qlock_held(&l));

    qlock_unlock(&l);
    CU_ASSERT_EQUAL(r.count, N);
    for (int i = 0; i < N && i < r.count; i++) {
        CU_ASSERT_EQUAL(r.order[i], i);
        CU_ASSERT_EQUAL(w[i].ran, 1);
    }
    CU_ASSERT(r.held_every_time);
    CU_ASSERT_FALSE(qlock_held(&l));
}

/* A callback that keeps the lock stops the hand-over: the waiters behind it
 * run only when its owner releases, and again stop at the next keeper. */
static void test_keeper_stops_hand_over(void)
{
    enum { N = 6 };
    static const int keeps[N] = {0, 1, 0, 0, 1, 0};
    qlock_t l;
    recorder_t r;
    waiter_t w[N];

    held_lock_init(&l, &r);
    queue_waiters(&l, &r, w, N, keeps);

    qlock_unlock(&l); /* 0 releases, 1 keeps */
    CU_ASSERT_EQUAL(r.count, 2);
    CU_ASSERT(qlock_held(&l));
    CU_ASSERT_EQUAL(w[2].ran, 0);
    CU_ASSERT_EQUAL(qlock_trylock(&l), -EBUSY);

    qlock_unlock(&l); /* 1's owner is done: 2 and 3 release, 4 keeps */
    CU_ASSERT_EQUAL(r.count, 5);
    CU_ASSERT(qlock_held(&l));
    CU_ASSERT_EQUAL(w[5].ran, 0);

    qlock_unlock(&l); /* 4's owner is done: 5 releases */
    CU_ASSERT_EQUAL(r.count, N);
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
    uintptr_t frame_min, frame_max; /* the callbacks' frame addresses */
} deep_t;

static deep_t deep;

static void deep_cb(void *arg)
{
    int id = (int)(intptr_t)arg;
    uintptr_t frame = (uintptr_t)__builtin_frame_address(0);

    if (id != deep.next_expected)
        deep.out_of_order++;
    deep.next_expected = id + 1;
    deep.ran++;
    if (deep.frame_min == 0 || frame < deep.frame_min)
        deep.frame_min = frame;
    if (frame > deep.frame_max)
        deep.frame_max = frame;
    qlock_unlock(&deep.lock);
}

/* A hundred thousand waiters that each release at once are handed the lock
 * one after another from the one qlock_unlock() call, in order, and the
 * stack does not grow with the queue: every callback runs at the same depth
 * (recursion would put each one a frame deeper, megabytes in all). */
static void test_long_queue_without_recursion(void)
{
    memset(&deep, 0, sizeof deep);
    deep.waiters = calloc(LONG_QUEUE, sizeof *deep.waiters);
    CU_ASSERT_PTR_NOT_NULL_FATAL(deep.waiters);
    qlock_init(&deep.lock);

    CU_ASSERT_EQUAL_FATAL(qlock_trylock(&deep.lock), 0);
    for (int i = 0; i < LONG_QUEUE; i++)
        qlock_lock(&deep.lock, &deep.waiters[i], deep_cb, (void *)(intptr_t)i);
    CU_ASSERT_EQUAL(deep.ran, 0);

    qlock_unlock(&deep.lock);
    CU_ASSERT_EQUAL(deep.ran, LONG_QUEUE);
    CU_ASSERT_EQUAL(deep.out_of_order, 0);
    CU_ASSERT_FALSE(qlock_held(&deep.lock));
    uintptr_t spread = deep.frame_max - deep.frame_min;
    CU_ASSERT(spread < 4096);
    if (spread >= 4096)
        fprintf(stderr, "callbacks ran across %zu bytes of stack\n", (size_t)spread);
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

/* A callback that releases the lock and tries it again while others wait
 * is refused: trylock does not jump the queue. The last waiter, with nobody
 * behind it, gets it. */
static void test_trylock_refused_while_others_wait(void)
{
    enum { N = 3 };
    qlock_t l;
    recorder_t r;
    waiter_t w[N];

    held_lock_init(&l, &r);
    queue_waiters(&l, &r, w, N, NULL);
    for (int i = 0; i < N; i++)
        w[i].try_after = 1; /* read when the callback runs, after the unlock */
    qlock_unlock(&l);
    CU_ASSERT_EQUAL(r.count, N);
    CU_ASSERT_EQUAL(w[0].try_rc, -EBUSY);
    CU_ASSERT_EQUAL(w[1].try_rc, -EBUSY);
    CU_ASSERT_EQUAL(w[2].try_rc, 0);
    CU_ASSERT_FALSE(qlock_held(&l));
}

/* ==== cancel ================================================================ */

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
    queue_waiters(&l, &r, w, N, NULL);
    CU_ASSERT_EQUAL(qlock_cancel(&l, &w[0].w), 0);       /* first */
    CU_ASSERT_EQUAL(qlock_cancel(&l, &w[2].w), 0);       /* middle */
    CU_ASSERT_EQUAL(qlock_cancel(&l, &w[4].w), 0);       /* last */
    CU_ASSERT_EQUAL(qlock_cancel(&l, &w[2].w), -ENOENT); /* not waiting any more */
    waiter_init(&w[N], &r, N, 0);
    lock_as(&l, &w[N]); /* behind 3, the last one left */

    qlock_unlock(&l);
    CU_ASSERT_EQUAL(r.count, 3);
    CU_ASSERT_EQUAL(r.order[0], 1);
    CU_ASSERT_EQUAL(r.order[1], 3);
    CU_ASSERT_EQUAL(r.order[2], N);
    CU_ASSERT_EQUAL(w[0].ran + w[2].ran + w[4].ran, 0);
    CU_ASSERT_FALSE(qlock_held(&l));
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
    waiter_init(&stranger, &r, 99, 0);
    CU_ASSERT_EQUAL(qlock_cancel(&l, &stranger.w), -ENOENT); /* empty queue */

    CU_ASSERT_EQUAL_FATAL(qlock_trylock(&l), 0);
    waiter_init(&a, &r, 1, 0);
    waiter_init(&b, &r, 2, 0);
    lock_as(&l, &a);
    lock_as(&l, &b);
    CU_ASSERT_EQUAL(qlock_cancel(&l, &stranger.w), -ENOENT); /* not in it */
    qlock_unlock(&l);
    CU_ASSERT_EQUAL(r.count, 2);
    CU_ASSERT_EQUAL(qlock_cancel(&l, &a.w), -ENOENT); /* already ran */
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
    waiter_init(&a, &r, 1, 0);
    lock_as(&l, &a);
    CU_ASSERT_EQUAL(qlock_cancel(&l, &a.w), 0);
    qlock_unlock(&l);
    CU_ASSERT_EQUAL(a.ran, 0);
    CU_ASSERT_FALSE(qlock_held(&l));

    /* Nobody waits, so both ways of taking the lock work at once. */
    CU_ASSERT_EQUAL(qlock_trylock(&l), 0);
    qlock_unlock(&l);
    waiter_init(&b, &r, 2, 1);
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
    waiter_init(&first.base, &r, 1, 0);
    first.victim = &second;
    waiter_init(&second, &r, 2, 0);
    waiter_init(&third, &r, 3, 0);
    qlock_lock(&l, &first.base.w, cancel_cb, &first);
    lock_as(&l, &second);
    lock_as(&l, &third);

    qlock_unlock(&l);
    CU_ASSERT_EQUAL(first.cancel_rc, 0);
    CU_ASSERT_EQUAL(second.ran, 0);
    CU_ASSERT_EQUAL(third.ran, 1);
    CU_ASSERT_EQUAL(r.count, 2);
    CU_ASSERT_FALSE(qlock_held(&l));
}

/* ==== Registration ========================================================== */

static CU_TestInfo lock_tests[] = {
    {"a free lock runs the callback at once", test_free_lock_runs_at_once},
    {"waiters run in FIFO order", test_waiters_run_in_order},
    {"a callback that keeps the lock stops the hand-over", test_keeper_stops_hand_over},
    {"100,000 waiters without recursion", test_long_queue_without_recursion},
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
