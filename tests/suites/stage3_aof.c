/*
 * stage3-eventloop and the append-only file (issue 14): the naive port.
 * The fdatasync under SET runs on the loop thread, so under appendfsync
 * always every client waits for every other client's disk write. The loop
 * accounts the time each command holds it (INFO's loop_longest_cmd and
 * loop_cmd_<name> lines), and the lag monitor's warning names the command
 * that was running: the fsync buried under SET shows up where a reader
 * looks. A slow disk is emulated with --appendfsync-delay-ms.
 */

#include "harness.h"
#include "support/aof.h"
#include "support/client.h"
#include "support/expect.h"
#include "support/fixture.h"
#include "support/lag_probe.h"
#include "support/offload.h"
#include "support/server.h"
#include "support/server_log.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define HELD_US       (AOFT_HELD_MS * 1000LL)
#define WARN_WAIT_MS  2000 /* for the lag monitor's next tick to notice */
#define STALL_WARNING "event loop stalled"

/* INFO's loop_longest_cmd is name, held the loop for at least HELD_US, and
 * its loop_cmd_<name> line agrees. */
static void expect_longest(int fd, const char *name)
{
    char longest[64] = "";
    CU_ASSERT_EQUAL(client_info_string(fd, "loop_longest_cmd", longest, sizeof longest), 0);
    CU_ASSERT_STRING_EQUAL(longest, name);
    long long us = INFO_FIELD(fd, "loop_longest_cmd_us");
    CU_ASSERT(us >= HELD_US);
    aoft_loop_cmd_t cmd = {0, 0, 0};
    CU_ASSERT_EQUAL(aoft_loop_cmd(fd, name, &cmd), 0);
    CU_ASSERT(cmd.calls >= 1 && cmd.usec_max >= HELD_US && cmd.usec >= cmd.usec_max);
    fprintf(stderr, "(loop_longest_cmd:%s %lld us; loop_cmd_%s: calls=%lld usec_max=%lld) ",
            longest, us, name, cmd.calls, cmd.usec_max);
}

/* The lag monitor's warning names the command: a line with the stall and
 * "'name'" in it. */
static void expect_warning_names(const char *name)
{
    char quoted[64];
    snprintf(quoted, sizeof quoted, "'%s'", name);
    int found = aoft_log_wait_line(aoft_log(), STALL_WARNING, quoted, WARN_WAIT_MS);
    CU_ASSERT_EQUAL(found, 1);
    if (!found) {
        fprintf(stderr, "\n    no \"%s\" line naming %s\n", STALL_WARNING, quoted);
        server_log_print(aoft_log());
    }
}

/* ==== The loop's accounting ================================================== */

/* DEBUG SLEEP 0.3 holds the loop thread: INFO names it the longest command
 * and the stall warning names it. */
static void test_debug_sleep_accounted(void)
{
    test_server_t srv;
    START_SERVER_LOGGED(&srv, NULL, aoft_log());
    int fd = CONNECT(srv.port);
    EXPECT_REPLY(fd, "PING\r\nDEBUG SLEEP 0.3\r\n", "+PONG\r\n+OK\r\n");
    expect_longest(fd, "debug");
    expect_warning_names("debug");
    close(fd);
    STOP_SERVER(&srv);
}

/* ==== The fsync on the loop thread =========================================== */

/* With appendfsync always on a slow disk, one client's SET holds every
 * client: another's PING sent meanwhile waits for the disk too. The
 * accounting and the warning name 'set'. */
static void test_fsync_stalls_everyone(void)
{
    const char *aof = aoft_file();
    test_server_t srv;
    START_SERVER_LOGGED(&srv,
                        ARGS("--appendonly", aof, "--appendfsync", "always",
                             "--appendfsync-delay-ms", AOFT_DELAY_ARG),
                        aoft_log());
    int a = CONNECT(srv.port);
    int b = CONNECT(srv.port);
    EXPECT_REPLY(b, "PING\r\n", "+PONG\r\n");

    int good = 0, counted = 0;
    for (int attempt = 0; attempt < TIMING_ATTEMPTS && !good; attempt++) {
        lag_probe_t probe;
        CU_ASSERT_EQUAL_FATAL(lag_probe_start(&probe), 0);
        char set[64];
        snprintf(set, sizeof set, "SET k%d v\r\n", attempt);
        long long t0 = harness_now_ms();
        CU_ASSERT_EQUAL(client_send_str(a, set), 0);
        poll(NULL, 0, 20); /* the loop is in A's fsync by now */
        long long ping = offload_ping_ms(b);
        EXPECT_READ(a, "+OK\r\n");
        long long set_ms = harness_now_ms() - t0;
        long long late = lag_probe_stop(&probe);
        fprintf(stderr, "(A's SET %lld ms, B's PING meanwhile %lld ms; probe %lld ms) ", set_ms,
                ping, late);
        CU_ASSERT(set_ms >= AOFT_HELD_MS); /* a lower bound: no busy machine makes it fast */
        /* Only a machine too busy for the server to read A's SET within
         * 20 ms could answer B first. */
        counted += lag_probe_quiet(late);
        good = ping >= AOFT_HELD_MS;
    }
    offload_timing_verdict(good, counted, "B's PING waits for A's fsync");

    expect_longest(a, "set");
    expect_warning_names("set");
    close(a);
    close(b);
    STOP_SERVER(&srv);
}

/* ==== Registration ============================================================ */

static CU_TestInfo tests[] = {
    {"DEBUG SLEEP: accounted and named", test_debug_sleep_accounted},
    {"always on a slow disk: every client waits", test_fsync_stalls_everyone},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"stage3-aof", NULL, NULL, fixture_setup, fixture_teardown, tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
