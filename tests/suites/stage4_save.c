/*
 * stage4-offload: SAVE while writers write. Both fixes for the lock
 * pitfalls (--lock-strategy copy and queue) keep every SAVE a consistent
 * snapshot while writers go on, and the loop never stalls meanwhile.
 */

#include "harness.h"
#include "support/client.h"
#include "support/expect.h"
#include "support/fixture.h"
#include "support/keyset.h"
#include "support/lag_probe.h"
#include "support/offload.h"
#include "support/server.h"
#include "support/writers.h"

#include "buf.h"
#include "digest.h"
#include "dump.h"
#include "store.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ==== SAVE while writers write ==================================================== */

/* The store stays small enough that fix 1's copy on the loop thread is
 * short: it is O(keys), and a sanitizer makes it ten times slower. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PREFILL         500
#define WRITER_PAUSE_MS 8
#else
#define PREFILL         5000
#define WRITER_PAUSE_MS 2
#endif
#define WRITERS 4
#define SAVES   5

/* The keys written before the writers start: p0 = pv0, p1 = pv1, ... */
static const keyset_t prefill = {"p", "pv", 0, PREFILL};

/* The worse of two latencies, where -1 (no answer) is worst. */
static long long worse(long long a, long long b)
{
    return a < 0 || b < 0 ? -1 : a > b ? a : b;
}

/* Checks the last dump: every prefilled key, the writers' keys as one
 * instant's snapshot (writers_check_snapshot()), the hot key, and nothing
 * else. Returns the number of problems. */
static long long check_dump(const char *dbfile, writers_t *writers)
{
    store_t *s = NULL;
    char err[256] = "";
    int rc = dump_load(dbfile, &s, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "dump_load(%s): %s %s\n", dbfile, strerror(-rc), err);
        return 1;
    }
    size_t expected_count = PREFILL;
    long long wrong = keyset_missing(s, &prefill);
    wrong += writers_check_snapshot(writers, s, NULL, &expected_count);
    const char *v;
    size_t vlen;
    expected_count += store_get(s, "hot", 3, &v, &vlen) == 0;
    if (store_count(s) != expected_count) /* nothing else in it */
        wrong++;
    store_free(s);
    return wrong;
}

/* Writers SET distinct keys in a steady stream while another client SAVEs
 * again and again: every SET is acknowledged, every key is in the store
 * afterwards, the last dump is a consistent snapshot with the right
 * values, and the loop never stalls (a PING during each SAVE is fast). */
static void save_while_writing(const char *strategy)
{
    char name[64];
    snprintf(name, sizeof name, "save-%s.resp", strategy);
    const char *dbfile = fixture_path(name);
    test_server_t srv;
    START_SERVER(&srv, ARGS("--threads", "4", "--lock-strategy", strategy, "--dbfile", dbfile));
    int saver = CONNECT(srv.port);
    int pinger = CONNECT(srv.port);
    char hex[17], digest[32];
    digest_hex(digest_fnv1a("pv1", 3, 100), hex);
    snprintf(digest, sizeof digest, "$16\r\n%s\r\n", hex);

    KEYSET_SET(saver, &prefill, 500);
    EXPECT_REPLY(saver, "SET hot start\r\n", "+OK\r\n");

    static writers_t writers;
    CU_ASSERT_EQUAL_FATAL(writers_start(&writers, srv.port, WRITERS, WRITER_PAUSE_MS, "hot"), 0);
    poll(NULL, 0, 50);
    /* Rounds of SAVEs until one passes the timing checks: other load on
     * the machine can delay a PING or a tick now and then, a SAVE that
     * blocks the loop does it every time. */
    int saved = 0, rounds = 0, good = 0, counted = 0;
    while (rounds < TIMING_ATTEMPTS && !good) {
        lag_probe_t probe;
        CU_ASSERT_EQUAL_FATAL(lag_probe_start(&probe), 0);
        long long stalls = INFO_FIELD(pinger, "loop_stalls");
        long long worst_ping = 0;
        for (int i = 0; i < SAVES; i++) {
            CU_ASSERT_EQUAL(client_send_str(saver, "SAVE\r\n"), 0);
            worst_ping = worse(worst_ping, offload_ping_ms(pinger)); /* while the SAVE runs */
            EXPECT_REPLY(pinger, "DIGEST p1 100\r\n", digest);       /* a worker reads the store */
            /* ...and a key the writers are changing: any of their values. */
            buf_t reply = BUF_INIT;
            CU_ASSERT_EQUAL(client_roundtrip(pinger, "DIGEST hot 200000\r\n", &reply), 0);
            CU_ASSERT(reply.len == 23 && memcmp(reply.data, "$16\r\n", 5) == 0);
            buf_free(&reply);
            saved += EXPECT_READ(saver, "+OK\r\n");
            poll(NULL, 0, 30);
        }
        rounds++;
        long long new_stalls = INFO_FIELD(pinger, "loop_stalls") - stalls;
        long long late = lag_probe_stop(&probe);
        fprintf(stderr, "(slowest PING during a SAVE %lld ms, %lld stalls; probe %lld ms) ",
                worst_ping, new_stalls, late);
        counted += lag_probe_quiet(late);
        good = worst_ping >= 0 && worst_ping < FAST_MS && new_stalls == 0;
    }
    poll(NULL, 0, 30);
    writers_stop(&writers);
    long long sets = writers_sets(&writers), errors = writers_errors(&writers);
    for (int t = 0; t < WRITERS; t++)
        CU_ASSERT(atomic_load(&writers.w[t].sets) > 0);
    fprintf(stderr, "(%lld SETs, %d SAVEs, loop lag up to %lld ms) ", sets, saved,
            INFO_FIELD(pinger, "loop_lag_max_ms"));
    CU_ASSERT_EQUAL(errors, 0);
    CU_ASSERT_EQUAL(saved, SAVES * rounds);
    offload_timing_verdict(good, counted, "PING and loop lag during SAVEs");

    CU_ASSERT_EQUAL(INFO_FIELD(pinger, "keys"), PREFILL + sets + 1); /* + hot */
    CU_ASSERT_EQUAL(writers_check_store(&writers, pinger), 0);
    CU_ASSERT_EQUAL(check_dump(dbfile, &writers), 0);

    close(saver);
    close(pinger);
    STOP_SERVER(&srv);
}

static void test_save_while_writing_copy(void)
{
    save_while_writing("copy");
}

static void test_save_while_writing_queue(void)
{
    save_while_writing("queue");
}

/* ==== Registration ================================================================== */

static CU_TestInfo tests[] = {
    {"SAVE while writing, copy", test_save_while_writing_copy},
    {"SAVE while writing, queue", test_save_while_writing_queue},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"stage4-offload: SAVE while writers write", NULL, NULL, fixture_setup, fixture_teardown,
     tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
