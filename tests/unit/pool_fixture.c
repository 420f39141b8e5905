/* The fixture of pool_fixture.h: items that record themselves, a gate,
 * and bounded waits for the fixture's counters and the pool's stats. */

#include "pool_fixture.h"

#include "harness.h"
#include "pool.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define GATE_WAIT_MS 10000 /* a blocking item gives up after this, so nothing hangs */

/* ==== The fixture ========================================================= */

static void deadline_in(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

void fixture_init(fixture_t *f)
{
    memset(f, 0, sizeof *f);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&f->cond, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&f->mu, NULL);
}

void fixture_destroy(fixture_t *f)
{
    CU_ASSERT_FALSE(f->gate_timed_out);
    pthread_cond_destroy(&f->cond);
    pthread_mutex_destroy(&f->mu);
}

void serve_cb(void *arg_item, void *arg)
{
    item_t *item = arg_item;
    fixture_t *f = arg;
    struct timespec deadline;

    deadline_in(&deadline, GATE_WAIT_MS);
    pthread_mutex_lock(&f->mu);
    f->active++;
    if (f->active > f->max_active)
        f->max_active = f->active;
    f->entered++;
    if (f->order_len < ORDER_MAX)
        f->order[f->order_len++] = item->id;
    pthread_cond_broadcast(&f->cond);
    while (item->blocks && !f->gate_open) {
        if (pthread_cond_timedwait(&f->cond, &f->mu, &deadline) == ETIMEDOUT) {
            f->gate_timed_out = 1;
            break;
        }
    }
    f->active--;
    f->served++;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->mu);
}

void open_gate(fixture_t *f)
{
    pthread_mutex_lock(&f->mu);
    f->gate_open = 1;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->mu);
}

int wait_count(fixture_t *f, const int *counter, int n, int ms)
{
    struct timespec deadline;
    deadline_in(&deadline, ms);
    pthread_mutex_lock(&f->mu);
    int rc = 0;
    while (*counter < n && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&f->cond, &f->mu, &deadline);
    int reached = *counter >= n;
    pthread_mutex_unlock(&f->mu);
    return reached;
}

int read_count(fixture_t *f, const int *counter)
{
    pthread_mutex_lock(&f->mu);
    int n = *counter;
    pthread_mutex_unlock(&f->mu);
    return n;
}

int stats_reach(pool_t *p, int busy, int queued, int ms)
{
    long long deadline = harness_now_ms() + ms;
    int b, q;
    for (;;) {
        pool_stats(p, &b, &q);
        if (b == busy && q == queued)
            return 1;
        if (harness_now_ms() >= deadline) {
            fprintf(stderr, "pool_stats: busy %d queued %d, expected %d and %d\n", b, q, busy,
                    queued);
            return 0;
        }
        poll(NULL, 0, 1);
    }
}
