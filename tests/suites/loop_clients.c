/*
 * What the two loop stages (3 and 4) share about their clients: one that
 * never reads its replies is paused, then cut off, without holding up
 * anyone else; and out of descriptors, a client is refused with an error,
 * never dropped without a word (libuv's own answer to EMFILE). Run against
 * both, so the two ports keep the same behaviour.
 */

#include "harness.h"
#include "support/bigreply.h"
#include "support/client.h"
#include "support/expect.h"
#include "support/lag_probe.h"
#include "support/payload.h"
#include "support/proc.h"
#include "support/server.h"

#include <stdio.h>
#include <unistd.h>

/* The server's resident memory in KiB (a test that cannot read it ends). */
static long long server_rss_kb(const test_server_t *s)
{
    long long kb = proc_rss_kb(s->pid);
    CU_ASSERT_FATAL(kb > 0);
    return kb;
}

/* ==== Clients that do not read ================================================= */

/* A value of BATCH_REPLY_BYTES: one reply per batch. Not larger: one
 * reply cannot be split, and under TSan one 1 MiB reply alone held the
 * loop 80 to 130 ms here (measured: user time in building it). */
#define NONREADER_VALUE  (256 * 1024)
#define NONREADER_GETS   4000        /* 1000 MiB of replies if nobody stopped it */
#define NONREADER_CUT_MS 15000       /* OUTPUT_STUCK_MS (5 s), and room for a slow machine */
#define NONREADER_PEAK   (16 * 1024) /* KiB: OUTPUT_PAUSE_BYTES, a reply or two, and slack */

/* A client that pipelines GETs of a 256 KiB value and never reads: the
 * server stops executing its requests once 1 MiB of replies is unsent
 * (instead of building a gigabyte, or 64 MiB in one callback), cuts it off
 * once they have not moved for OUTPUT_STUCK_MS, serves everyone else at
 * once meanwhile, and gives the memory back. */
static void test_nonreader_cut_off(void)
{
    test_server_t srv;
    START_SERVER(&srv, NULL);
    int other = CONNECT(srv.port);
    payload_set(other, "big", NONREADER_VALUE, 'x');
    long long rss_before = server_rss_kb(&srv);

    bigreply_nonreader_t r;
    CU_ASSERT_EQUAL_FATAL(bigreply_nonreader_run(srv.pid, srv.port, other, "big", NONREADER_GETS,
                                                 NONREADER_CUT_MS, &r),
                          0);
    fprintf(stderr, "(cut off after %lld ms, peak RSS %+lld KiB) ", r.cut_ms, r.peak_growth_kb);
    CU_ASSERT(r.cut_off);
    CU_ASSERT(r.worst_ping_ms >= 0);
    lag_probe_expect_fast(r.worst_ping_ms, 100, r.probe_late_ms,
                          "the slowest PING beside a non-reader");
    CU_ASSERT(r.peak_growth_kb < (SANITIZED ? 3 : 1) * NONREADER_PEAK);

    long long grown = server_rss_kb(&srv) - rss_before;
    long long bound = SANITIZED ? 320 * 1024 : 32 * 1024; /* ASan keeps freed memory a while */
    fprintf(stderr, "(RSS %+lld KiB after the cut) ", grown);
    CU_ASSERT(grown < bound);

    close(other);
    STOP_SERVER(&srv);
}

/* ==== Running out of descriptors =============================================== */

#define FD_LIMIT           128 /* the server's RLIMIT_NOFILE */
#define FD_LIMIT_INHERITED 40  /* descriptors it inherits, open before its own */
#define FD_LIMIT_CLIENTS   150

/* Few descriptors, some taken by what the server inherited, and more
 * clients than fit: each is served or refused with "-ERR max number of
 * clients reached", none closed without a word (what libuv does itself
 * when accept() fails with EMFILE). */
static void test_fd_limit_refuses(void)
{
    const server_fd_limits_t lim = {FD_LIMIT, FD_LIMIT_INHERITED};
    client_fd_budget(FD_LIMIT_CLIENTS);
    test_server_t srv;
    CU_ASSERT_EQUAL_FATAL(server_start_limited(&srv, server_binary(), NULL, &lim), 0);
    client_census_t census;
    CU_ASSERT_EQUAL(client_census(srv.port, FD_LIMIT_CLIENTS, &census), 0);
    fprintf(stderr, "(%d served, %d refused, %d closed silently, %d other) ", census.served,
            census.refused, census.silent, census.other);
    CU_ASSERT_EQUAL(census.silent, 0);
    CU_ASSERT_EQUAL(census.served + census.refused, FD_LIMIT_CLIENTS);
    CU_ASSERT(census.served > 0);
    STOP_SERVER(&srv);
}

/* ==== Registration ============================================================ */

static CU_TestInfo tests[] = {
    {"a client that never reads is cut off", test_nonreader_cut_off},
    {"out of descriptors: refused, never dropped", test_fd_limit_refuses},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"loop stages: clients that do not read, too many clients", NULL, NULL, NULL, expect_teardown,
     tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
