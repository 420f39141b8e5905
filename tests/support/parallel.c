#include "parallel.h"

#include "client.h"
#include "harness.h"
#include "proc.h"

#include "buf.h"
#include "digest.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

long long parallel_digest_ms(const int *fds, int n, const char *key, long long rounds)
{
    char request[96];
    snprintf(request, sizeof request, "DIGEST %s %lld\r\n", key, rounds);
    long long t0 = harness_now_ms();
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
    return harness_now_ms() - t0;
}

long long parallel_calibrate_rounds(int fd, const char *key, size_t vlen, long long target_ms)
{
    long long max_rounds = DIGEST_MAX_WORK / (long long)(vlen > 0 ? vlen : 1);
    long long rounds = 16, ms;
    while ((ms = parallel_digest_ms(&fd, 1, key, rounds)) >= 0 && ms < target_ms / 4 &&
           rounds * 2 <= max_rounds)
        rounds *= 2;
    if (ms < 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        long long again = parallel_digest_ms(&fd, 1, key, rounds);
        if (again >= 0 && again < ms)
            ms = again;
    }
    rounds = rounds * target_ms / (ms > 0 ? ms : 1);
    return rounds > max_rounds ? max_rounds : rounds < 1 ? 1 : rounds;
}

/* pid's CPU time over the next ms milliseconds, or a negative errno. */
static long long cpu_over_ms(pid_t pid, int ms)
{
    long long start = proc_cpu_ms(pid);
    poll(NULL, 0, ms);
    long long end = proc_cpu_ms(pid);
    return start < 0 ? start : end < 0 ? end : end - start;
}

/* Sets "departed" to PARALLEL_DEPARTED_VLEN bytes through a connection
 * of its own. Returns 0 or a negative errno. */
static int set_departed_key(int port)
{
    char value[PARALLEL_DEPARTED_VLEN];
    memset(value, 'd', sizeof value);
    const char *argv[] = {"SET", "departed", value};
    size_t lens[] = {3, 8, sizeof value};
    buf_t req = BUF_INIT, reply = BUF_INIT;
    client_format_command(&req, 3, argv, lens);

    int fd = client_connect(port);
    int rc = fd < 0 ? fd : client_send(fd, req.data, req.len);
    if (rc == 0)
        rc = client_read_reply(fd, &reply, CLIENT_TIMEOUT_MS);
    if (rc == 0 && (reply.len != 5 || memcmp(reply.data, "+OK\r\n", 5) != 0))
        rc = -EPROTO;
    if (fd >= 0)
        close(fd);
    buf_free(&req);
    buf_free(&reply);
    return rc;
}

int parallel_departed_digests(int port, pid_t pid, int n, parallel_departed_t *r)
{
    int fds[PARALLEL_DEPARTED_MAX];
    char request[96];

    if (n < 1 || n > PARALLEL_DEPARTED_MAX)
        return -EINVAL;
    int rc = set_departed_key(port);
    if (rc != 0)
        return rc;
    snprintf(request, sizeof request, "DIGEST departed %lld\r\n",
             DIGEST_MAX_WORK / PARALLEL_DEPARTED_VLEN);
    for (int i = 0; i < n; i++)
        fds[i] = -1;
    for (int i = 0; i < n && rc == 0; i++) {
        fds[i] = client_connect(port);
        rc = fds[i] < 0 ? fds[i] : client_send_str(fds[i], request);
    }
    if (rc == 0) {
        poll(NULL, 0, 100); /* every DIGEST under way */
        r->before_ms = cpu_over_ms(pid, PARALLEL_WINDOW_MS / 2);
        r->running = proc_threads_running(pid);
    }
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0)
            client_reset(fds[i]);
    if (rc != 0)
        return rc;
    poll(NULL, 0, PARALLEL_SETTLE_MS);
    r->after_ms = cpu_over_ms(pid, PARALLEL_WINDOW_MS);
    if (r->running < 0)
        return r->running;
    return r->before_ms < 0 ? (int)r->before_ms : r->after_ms < 0 ? (int)r->after_ms : 0;
}
