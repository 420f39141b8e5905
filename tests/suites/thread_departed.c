/*
 * What the two thread stages (1 and 2) share about departed clients: a
 * client that resets in the middle of a long DIGEST takes its work with it.
 * The thread serving it sees the hang-up from the DIGEST's cancel callback
 * (poll() with POLLRDHUP) and stops. Run against both.
 */

#include "harness.h"
#include "support/client.h"
#include "support/expect.h"
#include "support/parallel.h"
#include "support/server.h"

#include <stdio.h>
#include <unistd.h>

/* ==== Work for clients that are gone ====================================== */

#define DEPARTED_CLIENTS 4

/* Clients that reset in the middle of long DIGESTs: the worker serving
 * each of them sees the hang-up from the DIGEST's cancel callback and
 * stops hashing, so the server's CPU use falls to nothing at once instead
 * of burning a core per departed client for seconds, and it goes on
 * serving. */
static void test_departed_digests_stop(void)
{
    parallel_departed_t r = {0};
    test_server_t srv;
    START_SERVER(&srv, NULL);
    CU_ASSERT_EQUAL_FATAL(parallel_departed_digests(srv.port, srv.pid, DEPARTED_CLIENTS, &r), 0);
    fprintf(stderr,
            "(server: %d threads running and %lld ms of CPU in %d ms during the DIGESTs, "
            "%lld ms of CPU in %d ms after the resets) ",
            r.running, r.before_ms, PARALLEL_WINDOW_MS / 2, r.after_ms, PARALLEL_WINDOW_MS);
    CU_ASSERT(r.running >= 1);                       /* the DIGESTs were hashing */
    CU_ASSERT(r.after_ms < PARALLEL_WINDOW_MS / 10); /* and nothing is now */

    int fd = CONNECT(srv.port);
    EXPECT_REPLY(fd, "PING\r\n", "+PONG\r\n");
    close(fd);
    STOP_SERVER(&srv);
}

/* ==== Registration ======================================================== */

static CU_TestInfo tests[] = {
    {"work for departed clients stops", test_departed_digests_stop},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"thread stages: departed clients", NULL, NULL, NULL, expect_teardown, tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
