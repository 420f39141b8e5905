/*
 * The conformance suite, persistence: the dump across a restart, SAVE
 * while clients write, damaged dumps and a second server refused, stale
 * temporary files removed.
 *
 * The conformance suite is what every stage must do, whatever its
 * concurrency model: it runs against the server binary named on the
 * command line (see tests/stages.mk) and tests only behaviour common to
 * all four stages, one topic per file (conformance_commands.c,
 * _protocol.c, _clients.c, _persistence.c, _shutdown.c).
 *
 * Every test starts its own server with --port 0 and ends by stopping it
 * with SIGTERM, asserting a clean exit 0.
 */

#include "harness.h"
#include "support/client.h"
#include "support/expect.h"
#include "support/fixture.h"
#include "support/keyset.h"
#include "support/payload.h"
#include "support/server.h"
#include "support/server_log.h"
#include "support/writers.h"

#include "buf.h"
#include "dump.h"
#include "file.h"
#include "resp.h"
#include "store.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ==== Persistence ========================================================= */

/* The keys of the restart test: plain, binary, empty and large values.
 * sets gets +OK for each; gets then gets their values back. */
#define PERSIST_LARGE (200 * 1024)

static void persist_commands(buf_t *sets, buf_t *set_replies, buf_t *gets, buf_t *get_replies)
{
    static char large[PERSIST_LARGE];
    static const struct {
        const char *key, *value;
        size_t klen, vlen;
    } keys[] = {
        {"plain", "value", 5, 5},
        {"bin\0\r\nkey", "v\0\r\n*1\r\n", 9, 8},
        {"empty", "", 5, 0},
        {"large", large, 5, sizeof large},
    };
    payload_fill(large, sizeof large, 11);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        payload_command(sets, "SET", keys[i].key, keys[i].klen, keys[i].value, keys[i].vlen);
        buf_append_str(set_replies, "+OK\r\n");
        payload_command(gets, "GET", keys[i].key, keys[i].klen, NULL, 0);
        payload_bulk(get_replies, keys[i].value, keys[i].vlen);
    }
}

/* Keys set before a SIGTERM are there after a restart. */
static void test_restart_keeps_keys(void)
{
    buf_t sets = BUF_INIT, set_replies = BUF_INIT, gets = BUF_INIT, get_replies = BUF_INIT;
    persist_commands(&sets, &set_replies, &gets, &get_replies);
    test_server_t srv;

    START_SERVER(&srv, ARGS("--dbfile", fixture_dbfile()));
    int fd = CONNECT(srv.port);
    EXPECT_REPLY(fd, "DBSIZE\r\n", ":0\r\n"); /* no file yet: an empty start */
    EXPECT_REPLY_BIN(fd, sets.data, sets.len, set_replies.data, set_replies.len);
    close(fd);
    STOP_SERVER(&srv);

    START_SERVER(&srv, ARGS("--dbfile", fixture_dbfile()));
    fd = CONNECT(srv.port);
    EXPECT_REPLY(fd, "DBSIZE\r\n", ":4\r\n");
    EXPECT_REPLY_BIN(fd, gets.data, gets.len, get_replies.data, get_replies.len);
    close(fd);
    STOP_SERVER(&srv);
    buf_free(&sets);
    buf_free(&set_replies);
    buf_free(&gets);
    buf_free(&get_replies);
}

#define SAVE_PRELOAD 20000 /* keys written before SAVE */
#define SAVE_WRITERS 4

/* The keys written before SAVE: pre:N = "preloaded value number N". */
static const keyset_t preload = {"pre:", "preloaded value number ", 0, SAVE_PRELOAD};

/* SAVE while four clients write: every write answered, SAVE answered +OK,
 * and the dump is one instant's snapshot that holds at least everything
 * written before SAVE began. */
static void test_save_during_writes(void)
{
    static writers_t writers;
    test_server_t srv;
    START_SERVER(&srv, ARGS("--dbfile", fixture_dbfile()));
    int fd = CONNECT(srv.port);

    KEYSET_SET(fd, &preload, 1000);

    long long before[SAVE_WRITERS] = {0}, after[SAVE_WRITERS];
    CU_ASSERT_EQUAL_FATAL(writers_start(&writers, srv.port, SAVE_WRITERS, 0, NULL), 0);
    /* Every writer is writing before SAVE starts, and still after. */
    CU_ASSERT_EQUAL(writers_progress(&writers, before, 10000), 0);
    for (int i = 0; i < SAVE_WRITERS; i++)
        before[i] = atomic_load(&writers.w[i].sets);
    buf_t reply = BUF_INIT;
    CU_ASSERT_EQUAL(client_send_str(fd, "SAVE\r\n"), 0);
    CU_ASSERT_EQUAL(client_read_reply(fd, &reply, 20000), 0);
    CU_ASSERT(reply.len == 5 && memcmp(reply.data, "+OK\r\n", 5) == 0);
    buf_free(&reply);
    for (int i = 0; i < SAVE_WRITERS; i++)
        after[i] = atomic_load(&writers.w[i].sets);
    CU_ASSERT_EQUAL(writers_progress(&writers, after, 10000), 0);
    writers_stop(&writers);
    CU_ASSERT_EQUAL(writers_errors(&writers), 0);

    /* The dump as SAVE left it: the server is still running. */
    char err[256] = "";
    store_t *s = NULL;
    int rc = dump_load(fixture_dbfile(), &s, err, sizeof err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    size_t found = 0;
    CU_ASSERT_EQUAL(keyset_missing(s, &preload), 0);
    CU_ASSERT_EQUAL(writers_check_snapshot(&writers, s, before, &found), 0);
    store_free(s);
    close(fd);
    STOP_SERVER(&srv);
}

static void write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(data, 1, len, f), len);
    CU_ASSERT_EQUAL(fclose(f), 0);
}

static int file_equals(const char *path, const char *data, size_t len)
{
    char got[256];
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 0;
    size_t n = fread(got, 1, sizeof got, f);
    fclose(f);
    return n == len && memcmp(got, data, len) == 0;
}

/* A corrupt dump makes the server refuse to start, quickly, and leaves the
 * file alone. */
static void test_corrupt_dump_refused(void)
{
    static const char *const dumps[] = {
        DUMP_HEADER "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nabc",         /* truncated */
        DUMP_HEADER "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*x\r\n", /* a protocol error */
        DUMP_HEADER "*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n",                  /* not SET */
        "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n", /* no header: the format before it */
    };
    for (size_t i = 0; i < sizeof dumps / sizeof dumps[0]; i++) {
        write_file(fixture_dbfile(), dumps[i], strlen(dumps[i]));
        long long t0 = harness_now_ms();
        int rc = server_run_to_exit(server_binary(), ARGS("--dbfile", fixture_dbfile()), 5000);
        CU_ASSERT(rc > 0 && rc < 128); /* exited non-zero by itself: not killed, not hung */
        CU_ASSERT(harness_now_ms() - t0 < 3000);
        CU_ASSERT(file_equals(fixture_dbfile(), dumps[i], strlen(dumps[i])));
    }
}

/* Reads the whole file at path into out (cleared first). Returns 0 or -1. */
static int read_whole(const char *path, buf_t *out)
{
    buf_clear(out);
    return file_read_all(path, out) == 0 ? 0 : -1;
}

#define DUMP_KEYS 20
#define FLIP_LEN  4096 /* the value of "flip": a pattern found nowhere else */

/* Has the server write a dump of DUMP_KEYS keys "key:N" plus "flip", the
 * way a shutdown writes it, and reads the file into out. */
static void make_dump(buf_t *out)
{
    static char flip[FLIP_LEN];
    payload_fill(flip, sizeof flip, 23);
    buf_t req = BUF_INIT, exp = BUF_INIT;
    for (int i = 0; i < DUMP_KEYS; i++) {
        buf_printf(&req, "SET key:%d value:%d\r\n", i, i);
        buf_append_str(&exp, "+OK\r\n");
    }
    payload_command(&req, "SET", "flip", 4, flip, sizeof flip);
    buf_append_str(&exp, "+OK\r\n");

    test_server_t srv;
    START_SERVER(&srv, ARGS("--dbfile", fixture_dbfile()));
    int fd = CONNECT(srv.port);
    EXPECT_REPLY_BIN(fd, req.data, req.len, exp.data, exp.len);
    close(fd);
    STOP_SERVER(&srv);
    CU_ASSERT_EQUAL_FATAL(read_whole(fixture_dbfile(), out), 0);
    buf_free(&req);
    buf_free(&exp);
}

/* The offset just past each whole RESP command of data[0..len) (the dump
 * is made of them, whatever its format): how many, at most max. */
static size_t command_ends(const char *data, size_t len, size_t *ends, size_t max)
{
    resp_parser_t p;
    resp_parser_init(&p);
    size_t off = 0, n = 0;
    while (off < len && n < max) {
        size_t consumed = 0;
        if (resp_parse(&p, data + off, len - off, &consumed) != RESP_COMPLETE)
            break;
        off += consumed;
        ends[n++] = off;
    }
    resp_parser_free(&p);
    return n;
}

/* Writes data[0..len) as the dump and starts a server on it, which must
 * refuse: exit non-zero by itself within 3 s, say why naming the file, and
 * leave the file as it was. what names the case when it does not. */
static void expect_dump_refused(const char *what, const void *data, size_t len)
{
    char log_path[320];
    snprintf(log_path, sizeof log_path, "%s/server.log", fixture_dir());
    write_file(fixture_dbfile(), data, len);
    long long t0 = harness_now_ms();
    int rc = server_run_to_exit_logged(server_binary(), ARGS("--dbfile", fixture_dbfile()), 3000,
                                       log_path);
    long long ms = harness_now_ms() - t0;
    CU_ASSERT(rc > 0 && rc < 128); /* exited non-zero by itself: not killed, not hung */
    CU_ASSERT(ms < 3000);
    CU_ASSERT_EQUAL(server_log_contains(log_path, "refusing to start"), 1);
    CU_ASSERT_EQUAL(server_log_contains(log_path, fixture_dbfile()), 1);
    buf_t after = BUF_INIT;
    CU_ASSERT_EQUAL(read_whole(fixture_dbfile(), &after), 0);
    CU_ASSERT(after.len == len && (len == 0 || memcmp(after.data, data, len) == 0));
    if (rc <= 0 || rc >= 128 || server_log_contains(log_path, "refusing to start") != 1) {
        fprintf(stderr, "\n    %s: the server exited with %d after %lld ms\n", what, rc, ms);
        server_log_print(log_path);
    }
    buf_free(&after);
}

/* A dump the server wrote, then damaged the ways a crash, a disk or a
 * person damages one: each is refused whole. */
static void test_damaged_dump_refused(void)
{
    buf_t good = BUF_INIT, bad = BUF_INIT;
    make_dump(&good);

    /* Cut at a command boundary half way through, and inside the last. */
    size_t ends[DUMP_KEYS + 8];
    size_t n = command_ends(good.data, good.len, ends, sizeof ends / sizeof ends[0]);
    CU_ASSERT_FATAL(n >= DUMP_KEYS + 1);
    expect_dump_refused("cut at a command boundary", good.data, ends[n / 2 - 1]);
    expect_dump_refused("cut inside the last command", good.data, good.len - 3);
    expect_dump_refused("an empty file", "", 0);

    /* One byte flipped in a value, and in a key. */
    static char flip[FLIP_LEN];
    payload_fill(flip, sizeof flip, 23);
    const char *at = memmem(good.data, good.len, flip, sizeof flip);
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    buf_clear(&bad);
    buf_append(&bad, good.data, good.len);
    bad.data[at - good.data + FLIP_LEN / 2] ^= 0x20;
    expect_dump_refused("a byte flipped in a value", bad.data, bad.len);
    at = memmem(good.data, good.len, "key:17\r\n", 8);
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    buf_clear(&bad);
    buf_append(&bad, good.data, good.len);
    bad.data[at - good.data + 1] ^= 0x20; /* key:17 becomes kEy:17 */
    expect_dump_refused("a byte flipped in a key", bad.data, bad.len);

    /* A SET appended, inline and as a multibulk command. */
    static const struct {
        const char *what, *text;
    } appended[] = {
        {"an inline SET appended", "SET extra 1\r\n"},
        {"a SET appended", "*3\r\n$3\r\nSET\r\n$5\r\nextra\r\n$1\r\n1\r\n"},
    };
    for (size_t i = 0; i < sizeof appended / sizeof appended[0]; i++) {
        buf_clear(&bad);
        buf_append(&bad, good.data, good.len);
        buf_append_str(&bad, appended[i].text);
        expect_dump_refused(appended[i].what, bad.data, bad.len);
    }

    /* And the undamaged dump still loads, every key intact. */
    write_file(fixture_dbfile(), good.data, good.len);
    test_server_t srv;
    START_SERVER(&srv, ARGS("--dbfile", fixture_dbfile()));
    int fd = CONNECT(srv.port);
    char dbsize[32];
    snprintf(dbsize, sizeof dbsize, ":%d\r\n", DUMP_KEYS + 1);
    EXPECT_REPLY(fd, "DBSIZE\r\n", dbsize);
    EXPECT_REPLY(fd, "GET key:17\r\n", "$8\r\nvalue:17\r\n");
    buf_t get = BUF_INIT, reply = BUF_INIT;
    payload_command(&get, "GET", "flip", 4, NULL, 0);
    payload_bulk(&reply, flip, sizeof flip);
    EXPECT_REPLY_BIN(fd, get.data, get.len, reply.data, reply.len);
    close(fd);
    STOP_SERVER(&srv);
    buf_free(&get);
    buf_free(&reply);
    buf_free(&bad);
    buf_free(&good);
}

/* A second server on the same --dbfile is refused, and neither deletes
 * what the first one's SAVE is writing nor stops the first one. */
static void test_second_server_refused(void)
{
    char log_path[320], tmp[340];
    snprintf(log_path, sizeof log_path, "%s/second.log", fixture_dir());
    snprintf(tmp, sizeof tmp, "%s.tmp-Sav1ng",
             fixture_dbfile()); /* as a SAVE in progress names it */

    test_server_t srv;
    START_SERVER(&srv, ARGS("--dbfile", fixture_dbfile()));
    int fd = CONNECT(srv.port);
    EXPECT_REPLY(fd, "SET k v\r\nSAVE\r\n", "+OK\r\n+OK\r\n");
    write_file(tmp, "half a dump", 11);

    for (int attempt = 0; attempt < 2; attempt++) { /* a refusal leaves the lock in place */
        int rc = server_run_to_exit_logged(server_binary(), ARGS("--dbfile", fixture_dbfile()),
                                           3000, log_path);
        CU_ASSERT(rc > 0 && rc < 128);
        CU_ASSERT_EQUAL(server_log_contains(log_path, "refusing to start"), 1);
        CU_ASSERT_EQUAL(server_log_contains(log_path, "in use by another server"), 1);
        CU_ASSERT_EQUAL(server_log_contains(log_path, fixture_dbfile()), 1);
        if (rc <= 0 || rc >= 128) {
            fprintf(stderr, "\n    the second server exited with %d\n", rc);
            server_log_print(log_path);
        }
        struct stat st;
        CU_ASSERT_EQUAL(stat(tmp, &st), 0); /* the first server's SAVE is untouched */
    }
    unlink(tmp);

    EXPECT_REPLY(fd, "GET k\r\n", "$1\r\nv\r\n");
    EXPECT_REPLY(fd, "SET k2 v2\r\nSAVE\r\n", "+OK\r\n+OK\r\n");
    close(fd);
    STOP_SERVER(&srv);
    store_t *s = NULL;
    char err[256] = "";
    CU_ASSERT_EQUAL_FATAL(dump_load(fixture_dbfile(), &s, err, sizeof err), 0);
    CU_ASSERT_EQUAL(store_count(s), 2);
    store_free(s);
}

/* What a SAVE cut short by a crash leaves, <dbfile>.tmp-XXXXXX, is
 * removed at start; every other file is kept. */
static void test_stale_temporaries_removed(void)
{
    static const char *const stale[] = {"dump.resp.tmp-Ab12Cd", "dump.resp.tmp-000000"};
    static const char *const kept[] = {
        "dump.resp.tmp-keep",    /* not six characters */
        "dump.resp.tmp-Ab12Cd7", /* seven */
        "dump.resp.tmp-Ab1.Cd",  /* not mkstemp's alphabet */
        "other.resp.tmp-Ab12Cd", /* another dump's */
        "xdump.resp.tmp-Ab12Cd", "dump.resp.bak",
    };
    char p[400], log_path[320];
    for (size_t i = 0; i < sizeof stale / sizeof stale[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", fixture_dir(), stale[i]);
        write_file(p, "*3\r\n$3\r\nSET\r\n", 13);
    }
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", fixture_dir(), kept[i]);
        write_file(p, "keep me", 7);
    }
    snprintf(p, sizeof p, "%s/dump.resp.tmp-Dir123",
             fixture_dir()); /* a directory is not a SAVE's */
    CU_ASSERT_EQUAL_FATAL(mkdir(p, 0700), 0);
    snprintf(log_path, sizeof log_path, "%s/server.log", fixture_dir());

    test_server_t srv;
    START_SERVER_LOGGED(&srv, ARGS("--dbfile", fixture_dbfile()), log_path);
    int fd = CONNECT(srv.port);
    EXPECT_REPLY(fd, "DBSIZE\r\n", ":0\r\n"); /* no dump yet: an empty start */
    close(fd);
    STOP_SERVER(&srv);

    struct stat st;
    for (size_t i = 0; i < sizeof stale / sizeof stale[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", fixture_dir(), stale[i]);
        CU_ASSERT_NOT_EQUAL(stat(p, &st), 0);
        CU_ASSERT_EQUAL(server_log_contains(log_path, stale[i]), 1);
    }
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", fixture_dir(), kept[i]);
        CU_ASSERT_EQUAL(stat(p, &st), 0);
    }
    snprintf(p, sizeof p, "%s/dump.resp.tmp-Dir123", fixture_dir());
    CU_ASSERT(stat(p, &st) == 0 && S_ISDIR(st.st_mode));
    rmdir(p);
}

/* ==== Registration ======================================================== */

static CU_TestInfo tests[] = {
    {"restart keeps the keys", test_restart_keeps_keys},
    {"SAVE during writes", test_save_during_writes},
    {"corrupt dump refused", test_corrupt_dump_refused},
    {"damaged dump refused", test_damaged_dump_refused},
    {"second server on the dump refused", test_second_server_refused},
    {"stale temporary files removed", test_stale_temporaries_removed},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"persistence", NULL, NULL, fixture_setup, fixture_teardown, tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
