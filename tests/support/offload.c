#include "offload.h"

#include "expect.h"
#include "harness.h"
#include "parallel.h"

#include <CUnit/CUnit.h>
#include <stdio.h>

long long offload_calibrate_rounds(int fd, const char *key, size_t vlen, long long target_ms)
{
    long long rounds = parallel_calibrate_rounds(fd, key, vlen, target_ms);
    CU_ASSERT_FATAL(rounds > 0);
    return rounds;
}

long long offload_ping_ms(int fd)
{
    long long t0 = harness_now_ms();
    if (!EXPECT_REPLY(fd, "PING\r\n", "+PONG\r\n"))
        return -1;
    return harness_now_ms() - t0;
}

void offload_timing_verdict(int good, int counted, const char *what)
{
    if (!good && counted == 0) {
        fprintf(stderr, "(%s not checked: the machine was busy through every attempt) ", what);
        return;
    }
    CU_ASSERT(good);
    if (!good)
        fprintf(stderr, "%s: no attempt met the bounds, %d on a quiet machine\n", what, counted);
}
