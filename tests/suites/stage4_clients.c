/*
 * stage4-offload: clients that do not read, and too many clients. As in
 * stage 3, a client that never reads is cut off without holding up anyone
 * else, and a server out of descriptors refuses clients with an error,
 * never dropping one without a word.
 */

#include "harness.h"
#include "support/bigreply.h"
#include "support/client.h"
#include "support/expect.h"
#include "support/fixture.h"
#include "support/lag_probe.h"
#include "support/offload.h"
#include "support/payload.h"
#include "support/server.h"

#include <stdio.h>
#include <unistd.h>

/* ==== Clients that do not read, and too many clients ============================ */

/* A value of BATCH_REPLY_BYTES: one reply per batch. Not larger: one
 * reply cannot be split, and under TSan one 1 MiB reply alone held the
 * loop 80 to 130 ms here (measured: user time in building it). */
#define NONREADER_VALUE  (256 * 1024)
#define NONREADER_GETS   4000        /* 1000 MiB of replies if nobody stopped it */
#define NONREADER_CUT_MS 15000       /* OUTPUT_STUCK_MS (5 s), and room for a slow machine */
#define NONREADER_PEAK   (16 * 1024) /* KiB: OUTPUT_PAUSE_BYTES, a reply or two, and slack */
#define NONREADER_PING   100         /* ms, for a PING beside it */

/* As in stage 3: a client that pipelines GETs of a 256 KiB value and never
 * reads gets nothing more executed once 1 MiB of replies is unsent, and is
 * cut off once they have not moved for OUTPUT_STUCK_MS; everyone else is
 * served at once meanwhile. */
static void test_nonreader_cut_off(void)
{
    test_server_t srv;
    START_SERVER(&srv, NULL);
    int other = CONNECT(srv.port);
    payload_set(other, "big", NONREADER_VALUE, 'x');

    bigreply_nonreader_t r;
    CU_ASSERT_EQUAL_FATAL(bigreply_nonreader_run(srv.pid, srv.port, other, "big", NONREADER_GETS,
                                                 NONREADER_CUT_MS, &r),
                          0);
    fprintf(stderr, "(cut off after %lld ms, peak RSS %+lld KiB, slowest PING %lld ms) ", r.cut_ms,
            r.peak_growth_kb, r.worst_ping_ms);
    CU_ASSERT(r.cut_off);
    CU_ASSERT(r.worst_ping_ms >= 0);
    if (r.worst_ping_ms >= NONREADER_PING && !lag_probe_quiet(r.probe_late_ms))
        fprintf(stderr, "(PING not checked: the machine was busy) ");
    else
        CU_ASSERT(r.worst_ping_ms < NONREADER_PING);
    CU_ASSERT(r.peak_growth_kb < (SANITIZED ? 3 : 1) * NONREADER_PEAK);
    close(other);
    STOP_SERVER(&srv);
}

#define FD_LIMIT           128 /* the server's RLIMIT_NOFILE */
#define FD_LIMIT_INHERITED 40  /* descriptors it inherits, open before its own */
#define FD_LIMIT_CLIENTS   150

/* As in stage 3: few descriptors, some taken by what the server
 * inherited, and more clients than fit: each is served or refused with an
 * error, none closed without a word (libuv's own answer to EMFILE). */
static void test_fd_limit_refuses(void)
{
    const server_fd_limits_t lim = {FD_LIMIT, FD_LIMIT_INHERITED};
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

/* ==== Registration ================================================================== */

static CU_TestInfo tests[] = {
    {"a client that never reads is cut off", test_nonreader_cut_off},
    {"out of descriptors: refused, never dropped", test_fd_limit_refuses},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"stage4-offload: clients that do not read, too many clients", NULL, NULL, fixture_setup,
     fixture_teardown, tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
