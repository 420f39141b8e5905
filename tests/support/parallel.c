#include "parallel.h"

#include "client.h"
#include "harness.h"

#include "buf.h"
#include "digest.h"

#include <stdio.h>
#include <string.h>

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
