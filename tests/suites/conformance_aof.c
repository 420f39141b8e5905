/*
 * The conformance suite, the append-only file (issue 14): what every
 * stage's --appendonly does, whatever its concurrency model. Acknowledged
 * writes survive a SIGKILL; under appendfsync always each reply follows
 * the fdatasync that covers it (a SIGKILL keeps the page cache, so the
 * first test alone would pass without any fsync: INFO's counters show the
 * sync); everysec catches up within its bound with few fsyncs; the file
 * is replayed at start as the source of truth, a cut-off last command is
 * truncated away, a corrupt file is refused.
 *
 * The conformance suite runs against the server binary named on the
 * command line (see tests/stages.mk), one topic per file. Every test
 * starts its own servers with --port 0 in a fresh directory.
 */

#include "harness.h"
#include "support/aof.h"
#include "support/client.h"
#include "support/expect.h"
#include "support/fixture.h"
#include "support/keyset.h"
#include "support/server.h"
#include "support/server_log.h"

#include "buf.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ==== Durability ========================================================== */

#define DURABLE_KEYS 300
#define DURABLE_MS   20000 /* the whole test: writes, kill, restart, check */

/* One client gets +OK for each of DURABLE_KEYS sequential SETs under
 * always; SIGKILL; a server restarted on the same file has every one. */
static void test_always_survives_sigkill(void)
{
    static const keyset_t ks = {"durable:", "acknowledged-", 0, DURABLE_KEYS};
    const char *aof = aoft_file();
    test_server_t srv;
    long long t0 = harness_now_ms();

    START_SERVER(&srv, ARGS("--appendonly", aof, "--appendfsync", "always"));
    int fd = CONNECT(srv.port);
    CU_ASSERT_FATAL(KEYSET_SET(fd, &ks, 1)); /* one at a time: each OK before the next */
    close(fd);
    CU_ASSERT_EQUAL(server_stop(&srv, SIGKILL, 5000), 128 + SIGKILL);

    START_SERVER_LOGGED(&srv, ARGS("--appendonly", aof, "--appendfsync", "always"), aoft_log());
    fd = CONNECT(srv.port);
    char dbsize[32];
    snprintf(dbsize, sizeof dbsize, ":%d\r\n", DURABLE_KEYS);
    EXPECT_REPLY(fd, "DBSIZE\r\n", dbsize);
    CU_ASSERT_EQUAL(aoft_keyset_missing(fd, &ks), 0);
    char line[64];
    snprintf(line, sizeof line, "replayed %d commands", DURABLE_KEYS);
    CU_ASSERT_EQUAL(server_log_contains(aoft_log(), line), 1);
    close(fd);
    STOP_SERVER(&srv);
    long long took = harness_now_ms() - t0;
    fprintf(stderr, "(%d SETs, kill, replay: %lld ms) ", DURABLE_KEYS, took);
    CU_ASSERT(took < DURABLE_MS);
}

#define SYNCED_SETS 50

/* Under always, after each OK: at least one more fdatasync has returned,
 * the synced offset has reached the appended one, and the appended offset
 * grew by exactly the SET's record. At the end the file is as long as
 * INFO says was written. */
static void test_always_syncs_before_reply(void)
{
    const char *aof = aoft_file();
    test_server_t srv;
    START_SERVER(&srv, ARGS("--appendonly", aof, "--appendfsync", "always"));
    int fd = CONNECT(srv.port);
    aoft_stats_t before, after;
    AOFT_STATS(fd, &before);
    CU_ASSERT_EQUAL(before.enabled, 1);
    CU_ASSERT_STRING_EQUAL(before.fsync, "always");
    CU_ASSERT_EQUAL(before.appended, 0);

    int bad = 0;
    for (int i = 0; i < SYNCED_SETS && bad < 3; i++) {
        char key[32], value[32];
        snprintf(key, sizeof key, "synced:%d", i);
        snprintf(value, sizeof value, "value-%d", i);
        buf_t req = BUF_INIT;
        size_t len = aoft_record(&req, 3, (const char *const[]){"SET", key, value});
        CU_BOOL ok = EXPECT_REPLY_BIN(fd, req.data, req.len, "+OK\r\n", 5);
        buf_free(&req);
        AOFT_STATS(fd, &after);
        int good = ok && after.fsyncs >= before.fsyncs + 1 && after.synced >= after.appended &&
                   after.appended == before.appended + (long long)len;
        if (!good) {
            bad++;
            fprintf(stderr,
                    "\n    SET %d (%zu bytes) answered with fsyncs %lld -> %lld, appended %lld -> "
                    "%lld, written %lld, synced %lld\n",
                    i, len, before.fsyncs, after.fsyncs, before.appended, after.appended,
                    after.written, after.synced);
        }
        CU_ASSERT(good);
        before = after;
    }
    CU_ASSERT_EQUAL(after.written, after.appended);
    CU_ASSERT_EQUAL(aoft_file_size(aof), after.written);
    close(fd);
    STOP_SERVER(&srv);
}

/* On a slow disk (--appendfsync-delay-ms) every stage holds a write's
 * reply for its sync, and INFO's longest fsync includes the delay. */
static void test_always_slow_disk_delays_reply(void)
{
    test_server_t srv;
    START_SERVER(&srv, ARGS("--appendonly", aoft_file(), "--appendfsync", "always",
                            "--appendfsync-delay-ms", AOFT_DELAY_ARG));
    int fd = CONNECT(srv.port);
    long long t0 = harness_now_ms();
    EXPECT_REPLY(fd, "SET slow disk\r\n", "+OK\r\n");
    long long took = harness_now_ms() - t0;
    CU_ASSERT(took >= AOFT_HELD_MS); /* a lower bound: no busy machine makes it fast */
    CU_ASSERT(INFO_FIELD(fd, "aof_fsync_max_us") >= AOFT_DELAY_MS * 1000LL);
    EXPECT_REPLY(fd, "GET slow\r\n", "$4\r\ndisk\r\n");
    close(fd);
    STOP_SERVER(&srv);
}

/* appendfsync no: the server never syncs while it runs (the kernel writes
 * the file back), yet every record is written. */
static void test_no_never_syncs(void)
{
    static const keyset_t ks = {"nosync:", "v", 0, 100};
    test_server_t srv;
    START_SERVER(&srv, ARGS("--appendonly", aoft_file(), "--appendfsync", "no"));
    int fd = CONNECT(srv.port);
    CU_ASSERT_FATAL(KEYSET_SET(fd, &ks, 10));
    poll(NULL, 0, 1500); /* longer than everysec's period */
    aoft_stats_t st;
    AOFT_STATS(fd, &st);
    CU_ASSERT_STRING_EQUAL(st.fsync, "no");
    CU_ASSERT_EQUAL(st.fsyncs, 0);
    CU_ASSERT_EQUAL(st.appended, aoft_keyset_bytes(&ks));
    CU_ASSERT_EQUAL(st.written, st.appended);
    CU_ASSERT_EQUAL(aoft_file_size(aoft_file()), st.written);
    close(fd);
    STOP_SERVER(&srv);
}

/* Only writes that changed the store are logged: not a read, a DEL that
 * deleted nothing, an INCR that failed; a DEL that deleted is. */
static void test_only_changes_logged(void)
{
    test_server_t srv;
    START_SERVER(&srv, ARGS("--appendonly", aoft_file(), "--appendfsync", "no"));
    int fd = CONNECT(srv.port);
    EXPECT_REPLY(fd, "SET k text\r\n", "+OK\r\n");
    aoft_stats_t before, after;
    AOFT_STATS(fd, &before);
    EXPECT_REPLY(fd, "GET k\r\nDEL nosuch\r\nINCR k\r\nEXISTS k\r\n",
                 "$4\r\ntext\r\n:0\r\n-ERR value is not an integer or out of range\r\n:1\r\n");
    AOFT_STATS(fd, &after);
    CU_ASSERT_EQUAL(after.appended, before.appended);
    EXPECT_REPLY(fd, "DEL k nosuch\r\n", ":1\r\n");
    AOFT_STATS(fd, &after);
    CU_ASSERT(after.appended > before.appended);
    close(fd);
    STOP_SERVER(&srv);
}

#define EVERYSEC_SETS     500
#define EVERYSEC_BOUND_MS 3000

/* The default is everysec: after a fast, pipelined burst of SETs, the
 * synced offset catches up with the appended one within the bound (INFO
 * polled every 100 ms), with far fewer fsyncs than SETs. */
static void test_everysec_bound(void)
{
    static const keyset_t ks = {"burst:", "b", 0, EVERYSEC_SETS};
    const char *aof = aoft_file();
    test_server_t srv;
    START_SERVER(&srv, ARGS("--appendonly", aof)); /* the default: everysec */
    int fd = CONNECT(srv.port);
    aoft_stats_t st;
    AOFT_STATS(fd, &st);
    CU_ASSERT_STRING_EQUAL(st.fsync, "everysec");

    CU_ASSERT_FATAL(KEYSET_SET(fd, &ks, 100));
    long long t0 = harness_now_ms(), waited = 0;
    for (;;) {
        AOFT_STATS(fd, &st);
        waited = harness_now_ms() - t0;
        if (st.synced >= st.appended || waited > EVERYSEC_BOUND_MS)
            break;
        poll(NULL, 0, 100);
    }
    fprintf(stderr, "(synced %lld of %lld bytes after %lld ms, %lld fsyncs) ", st.synced,
            st.appended, waited, st.fsyncs);
    CU_ASSERT_EQUAL(st.appended, aoft_keyset_bytes(&ks));
    CU_ASSERT(st.synced >= st.appended);
    CU_ASSERT(waited <= EVERYSEC_BOUND_MS);
    CU_ASSERT(st.fsyncs < EVERYSEC_SETS / 4);
    close(fd);
    STOP_SERVER(&srv);
}

/* SIGTERM right after writes under everysec: the shutdown writes and syncs
 * everything, so a restart has every key, and the file holds exactly
 * their records. */
static void test_sigterm_everysec_keeps_all(void)
{
    static const keyset_t ks = {"term:", "before the signal ", 0, 200};
    const char *aof = aoft_file();
    test_server_t srv;
    START_SERVER(&srv, ARGS("--appendonly", aof, "--appendfsync", "everysec"));
    int fd = CONNECT(srv.port);
    CU_ASSERT_FATAL(KEYSET_SET(fd, &ks, 50));
    STOP_SERVER(&srv); /* at once: no second has passed */
    close(fd);
    CU_ASSERT_EQUAL(aoft_file_size(aof), aoft_keyset_bytes(&ks));

    START_SERVER(&srv, ARGS("--appendonly", aof, "--appendfsync", "everysec"));
    fd = CONNECT(srv.port);
    EXPECT_REPLY(fd, "DBSIZE\r\n", ":200\r\n");
    CU_ASSERT_EQUAL(aoft_keyset_missing(fd, &ks), 0);
    close(fd);
    STOP_SERVER(&srv);
}

/* ==== Replay ============================================================== */

/* The records of test_replay_hand_written, as a client would send them. */
static size_t replay_file(buf_t *b)
{
    static const char *const cmds[][4] = {
        {"SET", "a", "1"}, {"SET", "b", "two"},  {"SET", "c", "x"}, {"DEL", "b"},
        {"INCR", "n"},     {"INCR", "n"},        {"INCR", "a"},     {"SET", "c", "replaced"},
        {"DEL", "c", "a"}, {"SET", "a", "last"},
    };
    size_t n = sizeof cmds / sizeof cmds[0];
    for (size_t i = 0; i < n; i++) {
        size_t argc = cmds[i][2] == NULL ? 2 : 3;
        aoft_record(b, argc, cmds[i]);
    }
    return n;
}

/* A hand-written file of SET, DEL and INCR records is replayed at start:
 * the store holds exactly what they leave, the log says how many were
 * replayed, and new writes go on at the end of the file. */
static void test_replay_hand_written(void)
{
    const char *aof = aoft_file();
    buf_t file = BUF_INIT;
    size_t n = replay_file(&file);
    aoft_write_file(aof, file.data, file.len);

    test_server_t srv;
    START_SERVER_LOGGED(&srv, ARGS("--appendonly", aof), aoft_log());
    int fd = CONNECT(srv.port);
    EXPECT_REPLY(fd, "DBSIZE\r\n", ":2\r\n");
    EXPECT_REPLY(fd, "GET a\r\nGET n\r\nGET b\r\nGET c\r\n",
                 "$4\r\nlast\r\n$1\r\n2\r\n$-1\r\n$-1\r\n");
    char line[600];
    snprintf(line, sizeof line, "replayed %zu commands from %s (%zu bytes)", n, aof, file.len);
    CU_ASSERT_EQUAL(server_log_contains(aoft_log(), line), 1);
    if (server_log_contains(aoft_log(), line) != 1) {
        fprintf(stderr, "\n    no line \"%s\"\n", line);
        server_log_print(aoft_log());
    }
    aoft_stats_t st;
    AOFT_STATS(fd, &st);
    CU_ASSERT_EQUAL(st.appended, (long long)file.len); /* appends go on at the end */
    EXPECT_REPLY(fd, "INCR n\r\n", ":3\r\n");
    close(fd);
    STOP_SERVER(&srv);

    START_SERVER(&srv, ARGS("--appendonly", aof));
    fd = CONNECT(srv.port);
    EXPECT_REPLY(fd, "DBSIZE\r\nGET n\r\nGET a\r\n", ":2\r\n$1\r\n3\r\n$4\r\nlast\r\n");
    close(fd);
    STOP_SERVER(&srv);
    buf_free(&file);
}

#define CUT_KEYS 5

/* A file whose last command a crash cut short: the server starts, says so,
 * truncates the file to the last whole command, and has the keys before
 * it. Several places to cut: after its first byte, inside its length
 * lines, inside its value, before its last LF. */
static void test_cut_off_last_command(void)
{
    static const keyset_t ks = {"whole:", "v", 0, CUT_KEYS};
    const char *aof = aoft_file();
    buf_t good = BUF_INIT, last = BUF_INIT;
    for (int i = 0; i < CUT_KEYS; i++) {
        char key[32], value[32];
        snprintf(key, sizeof key, "whole:%d", i);
        snprintf(value, sizeof value, "v%d", i);
        aoft_record(&good, 3, (const char *const[]){"SET", key, value});
    }
    aoft_record(&last, 3, (const char *const[]){"SET", "cut", "a value cut short"});
    const size_t cuts[] = {1, 4, 15, last.len - 8, last.len - 1};

    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
        buf_t file = BUF_INIT;
        buf_append(&file, good.data, good.len);
        buf_append(&file, last.data, cuts[c]);
        aoft_write_file(aof, file.data, file.len);

        test_server_t srv;
        START_SERVER_LOGGED(&srv, ARGS("--appendonly", aof), aoft_log());
        int fd = CONNECT(srv.port);
        char dbsize[32], line[600];
        snprintf(dbsize, sizeof dbsize, ":%d\r\n", CUT_KEYS);
        EXPECT_REPLY(fd, "DBSIZE\r\n", dbsize);
        EXPECT_REPLY(fd, "EXISTS cut\r\n", ":0\r\n");
        CU_ASSERT_EQUAL(aoft_keyset_missing(fd, &ks), 0);
        CU_ASSERT_EQUAL(aoft_file_size(aof), (long long)good.len);
        snprintf(line, sizeof line,
                 "%s: the last command was cut off (%zu bytes at byte %zu, a crash during a "
                 "write?): truncated the file to %zu bytes",
                 aof, cuts[c], good.len, good.len);
        int found = server_log_contains(aoft_log(), line);
        CU_ASSERT_EQUAL(found, 1);
        if (found != 1) {
            fprintf(stderr, "\n    cut after %zu bytes: no line \"%s\"\n", cuts[c], line);
            server_log_print(aoft_log());
        }
        /* Appends go on after the whole commands. */
        EXPECT_REPLY(fd, "SET after cut\r\n", "+OK\r\n");
        close(fd);
        STOP_SERVER(&srv);
        buf_t rec = BUF_INIT;
        size_t after = aoft_record(&rec, 3, (const char *const[]){"SET", "after", "cut"});
        CU_ASSERT_EQUAL(aoft_file_size(aof), (long long)(good.len + after));
        buf_free(&rec);
        buf_free(&file);
    }
    buf_free(&good);
    buf_free(&last);
}

/* A file damaged in the middle: the server exits with status 1 without
 * ever listening, says where ("corrupt at byte O"), and leaves the file as
 * it was. Damage: a bad byte where a command starts, a command that is not
 * a write, an INCR that fails when replayed. */
static void test_corrupt_file_refused(void)
{
    const char *aof = aoft_file();
    buf_t head = BUF_INIT;
    for (int i = 0; i < 3; i++) {
        char key[32];
        snprintf(key, sizeof key, "k%d", i);
        aoft_record(&head, 3, (const char *const[]){"SET", key, "text"});
    }
    static const char tail[] = "*3\r\n$3\r\nSET\r\n$4\r\nnext\r\n$1\r\n1\r\n";
    static const struct {
        const char *what, *damage;
    } cases[] = {
        {"a bad byte", "X"},
        {"not a write", "*1\r\n$4\r\nPING\r\n"},
        {"a failing INCR", "*2\r\n$4\r\nINCR\r\n$2\r\nk0\r\n"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        buf_t file = BUF_INIT;
        buf_append(&file, head.data, head.len);
        buf_append_str(&file, cases[c].damage);
        buf_append_str(&file, tail + (c == 0)); /* the bad byte replaces the '*' */
        aoft_write_file(aof, file.data, file.len);

        long long t0 = harness_now_ms();
        int rc =
            server_run_to_exit_logged(server_binary(), ARGS("--appendonly", aof), 3000, aoft_log());
        long long ms = harness_now_ms() - t0;
        char at[64];
        snprintf(at, sizeof at, "corrupt at byte %zu", head.len);
        int said = aoft_log_wait_line(aoft_log(), aof, at, 0);
        CU_ASSERT_EQUAL(rc, 1);
        CU_ASSERT(ms < 3000);
        CU_ASSERT_EQUAL(said, 1);
        if (rc != 1 || said != 1) {
            fprintf(stderr, "\n    %s: exit %d after %lld ms; expected a line with \"%s\"\n",
                    cases[c].what, rc, ms, at);
            server_log_print(aoft_log());
        }
        /* It never listens: server_start() sees it exit before the line. */
        test_server_t srv;
        CU_ASSERT_EQUAL(server_start_logged(&srv, server_binary(), ARGS("--appendonly", aof),
                                            fixture_path("again.log")),
                        -EPIPE);
        CU_ASSERT_EQUAL(aoft_file_size(aof), (long long)file.len); /* not truncated */
        buf_free(&file);
    }
    buf_free(&head);
}

/* ==== The source of truth ================================================= */

/* With --appendonly, the dump is not loaded: a missing or an empty AOF
 * next to a dump of keys means an empty store. */
static void test_aof_is_source_of_truth(void)
{
    static const keyset_t ks = {"dumped:", "in the dump ", 0, 10};
    const char *aof = aoft_file();
    for (int empty = 0; empty < 2; empty++) {
        /* A dump of the keys, written at exit (the AOF server below
         * rewrites it empty, so each case makes it again). */
        test_server_t srv;
        START_SERVER(&srv, ARGS("--dbfile", fixture_dbfile()));
        int fd = CONNECT(srv.port);
        CU_ASSERT_FATAL(KEYSET_SET(fd, &ks, 10));
        EXPECT_REPLY(fd, "DBSIZE\r\n", ":10\r\n");
        close(fd);
        STOP_SERVER(&srv);

        if (empty)
            aoft_write_file(aof, "", 0);
        else
            unlink(aof);
        START_SERVER(&srv, ARGS("--dbfile", fixture_dbfile(), "--appendonly", aof));
        fd = CONNECT(srv.port);
        if (!EXPECT_REPLY(fd, "DBSIZE\r\n", ":0\r\n"))
            fprintf(stderr, "\n    the dump was loaded next to %s AOF\n",
                    empty ? "an empty" : "a missing");
        close(fd);
        STOP_SERVER(&srv);
    }
}

/* Without --appendonly, INFO says the file is off. */
static void test_disabled_info(void)
{
    test_server_t srv;
    START_SERVER(&srv, NULL);
    int fd = CONNECT(srv.port);
    EXPECT_REPLY(fd, "SET k v\r\n", "+OK\r\n");
    CU_ASSERT_EQUAL(INFO_FIELD(fd, "aof_enabled"), 0);
    close(fd);
    STOP_SERVER(&srv);
}

/* ==== Registration ======================================================== */

static CU_TestInfo tests[] = {
    {"always: acknowledged SETs survive SIGKILL", test_always_survives_sigkill},
    {"always: each reply follows its fsync", test_always_syncs_before_reply},
    {"always on a slow disk: the reply waits", test_always_slow_disk_delays_reply},
    {"no: never synced while running", test_no_never_syncs},
    {"only changes are logged", test_only_changes_logged},
    {"everysec: synced within the bound, few fsyncs", test_everysec_bound},
    {"everysec: SIGTERM right after writes keeps them", test_sigterm_everysec_keeps_all},
    {"replay of a hand-written file", test_replay_hand_written},
    {"a cut-off last command is truncated", test_cut_off_last_command},
    {"a corrupt file is refused", test_corrupt_file_refused},
    {"the AOF, not the dump, is loaded", test_aof_is_source_of_truth},
    {"without --appendonly: aof_enabled:0", test_disabled_info},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"aof", NULL, NULL, fixture_setup, fixture_teardown, tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
