#include "parallel.h"

#include "client.h"

#include "alloc.h"
#include "buf.h"
#include "digest.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int parallel_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return (int)sysconf(_SC_NPROCESSORS_ONLN);
    return CPU_COUNT(&set);
}

long long parallel_digest_ms(const int *fds, int n, const char *key, long long rounds)
{
    char request[96];
    snprintf(request, sizeof request, "DIGEST %s %lld\r\n", key, rounds);
    long long t0 = client_now_ms();
    for (int i = 0; i < n; i++)
        if (client_send_str(fds[i], request) != 0)
            return -1;
    for (int i = 0; i < n; i++) {
        buf_t reply = BUF_INIT;
        int rc = client_read_reply(fds[i], &reply, 30000);
        int ok = rc == 0 && reply.len == 16 + 7 && memcmp(reply.data, "$16\r\n", 5) == 0;
        buf_free(&reply);
        if (!ok)
            return -1;
    }
    return client_now_ms() - t0;
}

/* ==== The control ========================================================== */

typedef struct hash_job {
    pthread_t tid;
    const char *data;
    size_t len;
    long long rounds;
    uint64_t result; /* kept, so that the work is not optimised away */
} hash_job_t;

static void *hash_main(void *arg)
{
    hash_job_t *job = arg;
    job->result = digest_fnv1a(job->data, job->len, job->rounds);
    return NULL;
}

long long parallel_hash_ms(const char *data, size_t len, int n, long long rounds)
{
    hash_job_t *jobs = xcalloc((size_t)n, sizeof *jobs);
    int started = 0;
    long long t0 = client_now_ms();
    for (; started < n; started++) {
        jobs[started] = (hash_job_t){.data = data, .len = len, .rounds = rounds};
        if (pthread_create(&jobs[started].tid, NULL, hash_main, &jobs[started]) != 0)
            break;
    }
    for (int i = 0; i < started; i++)
        pthread_join(jobs[i].tid, NULL);
    long long ms = started == n ? client_now_ms() - t0 : -1;
    free(jobs);
    return ms;
}

int parallel_machine_runs(const char *data, size_t len, int n, long long rounds, int max_tenths,
                          long long *one_ms, long long *n_ms)
{
    long long one = parallel_hash_ms(data, len, 1, rounds);
    long long many = parallel_hash_ms(data, len, n, rounds);
    if (one_ms != NULL)
        *one_ms = one;
    if (n_ms != NULL)
        *n_ms = many;
    return one > 0 && many > 0 && many < one * max_tenths / 10;
}
