#include "lag_probe.h"

#include "harness.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *probe_main(void *arg)
{
    lag_probe_t *p = arg;
    long long worst = 0;
    long long next = now_ns();

    while (!__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) {
        next += LAG_PROBE_TICK_MS * 1000000LL;
        struct timespec ts = {(time_t)(next / 1000000000LL), (long)(next % 1000000000LL)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            ;
        long long late = now_ns() - next;
        if (late > worst)
            worst = late;
        if (late > LAG_PROBE_TICK_MS * 1000000LL)
            next = now_ns(); /* measure each delay once, not as a backlog */
    }
    __atomic_store_n(&p->late_ms, worst / 1000000, __ATOMIC_RELEASE);
    return NULL;
}

int lag_probe_start(lag_probe_t *p)
{
    memset(p, 0, sizeof *p);
    int rc = pthread_create(&p->tid, NULL, probe_main, p);
    if (rc != 0)
        return -rc;
    p->running = 1;
    return 0;
}

long long lag_probe_stop(lag_probe_t *p)
{
    if (!p->running)
        return 0;
    __atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
    pthread_join(p->tid, NULL);
    p->running = 0;
    return __atomic_load_n(&p->late_ms, __ATOMIC_ACQUIRE);
}

int lag_probe_quiet(long long late_ms)
{
    return late_ms < LAG_PROBE_BUSY_MS;
}

void lag_probe_expect_fast(long long took_ms, long long bound_ms, long long probe_late_ms,
                           const char *what)
{
    if (took_ms >= bound_ms && !lag_probe_quiet(probe_late_ms)) {
        fprintf(stderr, "(%s took %lld ms, not checked: the machine was busy) ", what, took_ms);
        return;
    }
    CU_ASSERT(took_ms < bound_ms);
    if (took_ms >= bound_ms)
        fprintf(stderr, "%s took %lld ms\n", what, took_ms);
}
