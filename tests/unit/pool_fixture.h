#ifndef POOL_FIXTURE_H
#define POOL_FIXTURE_H

/*
 * What the unit tests of stage 2's worker pool share (test_pool.c,
 * test_pool_queue.c, test_pool_stop.c).
 *
 * Every item the tests submit records itself in a fixture under a mutex:
 * how many workers are inside serve() at once, the highest that number
 * reached, the order items were served in. Blocking items wait on a gate
 * the test opens, so the test decides when workers are busy and when they
 * are free. Every wait is bounded: a gate that is never opened, or a pool
 * that never serves, fails the test instead of hanging it.
 */

#include "pool.h"

#include <pthread.h>

#define WAIT_MS   5000 /* the bound on every wait for the pool */
#define ORDER_MAX 1024

typedef struct fixture {
    pthread_mutex_t mu;
    pthread_cond_t cond; /* signalled on every change below */
    int gate_open;
    int gate_timed_out; /* a blocking item waited GATE_WAIT_MS in vain */
    int active;         /* items inside serve() now */
    int max_active;
    int entered; /* items that have entered serve() */
    int served;  /* items that have left it */
    int order[ORDER_MAX];
    int order_len;
} fixture_t;

typedef struct item {
    int id;
    int blocks; /* waits for the gate before it returns */
} item_t;

/* Initialises f: everything zero, the gate closed. */
void fixture_init(fixture_t *f);

/* Checks that no blocking item gave up waiting at the gate, and destroys
 * f's mutex and condition variable. */
void fixture_destroy(fixture_t *f);

/* The pool's serve callback: arg_item is an item_t, arg the fixture. */
void serve_cb(void *arg_item, void *arg);

/* Opens the gate: blocking items, those waiting and those to come, return. */
void open_gate(fixture_t *f);

/* Waits until *counter (a field of f) reaches n. Returns 1 when it did
 * within ms, 0 otherwise. */
int wait_count(fixture_t *f, const int *counter, int n, int ms);

/* *counter (a field of f), read under f's mutex. */
int read_count(fixture_t *f, const int *counter);

/* Polls pool_stats() until it shows busy and queued, for at most ms. A
 * worker counts itself out just after serve() returns, so the numbers
 * settle a moment after the fixture's. Returns 1 when they were seen. */
int stats_reach(pool_t *p, int busy, int queued, int ms);

#endif /* POOL_FIXTURE_H */
