/* Unit tests of common/cmd_job.c: DEBUG SLEEP, DIGEST and SAVE as jobs in
 * steps, their errors, and cancelling a running one. */

#include "cmd_fixture.h"
#include "cmd_job.h"
#include "digest.h"
#include "dump.h"
#include "harness.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ==== The reply table =================================================== */

static const reply_case_t reply_cases[] = {
    /* DEBUG */
    {REDIS, {B("DEBUG")}, B("-ERR wrong number of arguments for 'debug' command\r\n")},
    {REDIS, {B("DEBUG"), B("sleep"), B("0")}, B("+OK\r\n")},
    {REDIS, {B("debug"), B("SLEEP"), B("0.01")}, B("+OK\r\n")},
    {REDIS,
     {B("DEBUG"), B("foo")},
     B("-ERR unknown subcommand or wrong number of arguments for 'foo'. Try DEBUG HELP.\r\n")},
    {REDIS,
     {B("DEBUG"), B("sleep")},
     B("-ERR unknown subcommand or wrong number of arguments for 'sleep'. Try DEBUG HELP.\r\n")},
    {REDIS,
     {B("debug"), B("Sleep"), B("0"), B("1")},
     B("-ERR unknown subcommand or wrong number of arguments for 'Sleep'. Try DEBUG HELP.\r\n")},
    {REDIS,
     {B("DEBUG"), B("x\r\ny")},
     B("-ERR unknown subcommand or wrong number of arguments for 'x  y'. Try DEBUG HELP.\r\n")},
    {REDIS,
     {B("DEBUG"), B(X128 "zz")},
     B("-ERR unknown subcommand or wrong number of arguments for '" X128 "'. Try DEBUG HELP.\r\n")},
    {OURS, {B("DEBUG"), B("SLEEP"), B("abc")}, B("-ERR value is not a valid float\r\n")},
    {OURS, {B("DEBUG"), B("SLEEP"), B("")}, B("-ERR value is not a valid float\r\n")},
    {OURS, {B("DEBUG"), B("SLEEP"), B("1x")}, B("-ERR value is not a valid float\r\n")},
    {OURS, {B("DEBUG"), B("SLEEP"), B("nan")}, B("-ERR value is not a valid float\r\n")},
    {OURS,
     {B("DEBUG"), B("SLEEP"), B("-1")},
     B("-ERR DEBUG SLEEP seconds out of range (0 to 3600)\r\n")},
    {OURS,
     {B("DEBUG"), B("SLEEP"), B("3600.5")},
     B("-ERR DEBUG SLEEP seconds out of range (0 to 3600)\r\n")},

    /* DIGEST: FNV-1a 64 of "foobar" is 85944171f73967e8 (the FNV test vectors) */
    {OURS, {B("SET"), B("dk"), B("foobar")}, B("+OK\r\n")},
    {OURS, {B("DIGEST"), B("dk"), B("1")}, B("$16\r\n85944171f73967e8\r\n")},
    {OURS, {B("DIGEST"), B("nokey"), B("1")}, B("$-1\r\n")},
    {OURS, {B("SET"), B("de"), B("")}, B("+OK\r\n")},
    {OURS, {B("digest"), B("de"), B("3")}, B("$16\r\ncbf29ce484222325\r\n")},
    {OURS, {B("DIGEST"), B("dk"), B("abc")}, B("-ERR value is not an integer or out of range\r\n")},
    {OURS, {B("DIGEST"), B("dk"), B("01")}, B("-ERR value is not an integer or out of range\r\n")},
    {OURS, {B("DIGEST"), B("dk"), B("0")}, B("-ERR rounds must be between 1 and 100000000\r\n")},
    {OURS, {B("DIGEST"), B("dk"), B("-5")}, B("-ERR rounds must be between 1 and 100000000\r\n")},
    {OURS,
     {B("DIGEST"), B("dk"), B("100000001")},
     B("-ERR rounds must be between 1 and 100000000\r\n")},
    {OURS, {B("DIGEST"), B("nokey"), B("0")}, B("-ERR rounds must be between 1 and 100000000\r\n")},
    {OURS, {B("SET"), B("d43"), B(X10 X10 X10 X10 "xxx")}, B("+OK\r\n")},
    {OURS,
     {B("DIGEST"), B("d43"), B("100000000")},
     B("-ERR DIGEST work too large (rounds x value length > 4294967296)\r\n")},
    {OURS, {B("DIGEST")}, B("-ERR wrong number of arguments for 'digest' command\r\n")},
    {OURS, {B("DIGEST"), B("dk")}, B("-ERR wrong number of arguments for 'digest' command\r\n")},
    {OURS,
     {B("DIGEST"), B("dk"), B("1"), B("2")},
     B("-ERR wrong number of arguments for 'digest' command\r\n")},

    /* SAVE */
    {OURS, {B("SAVE")}, B("-ERR no dump file configured: start the server with --dbfile PATH\r\n")},
    {REDIS, {B("SAVE"), B("x")}, B("-ERR wrong number of arguments for 'save' command\r\n")},
};

static void test_job_table(void)
{
    cmd_env_t env = fixture_env();
    fixture_run_cases(reply_cases, sizeof reply_cases / sizeof reply_cases[0], &env);
}

/* ==== DEBUG SLEEP ======================================================= */

static void test_debug_sleep_sleeps(void)
{
    store_t *s = store_new();
    cmd_env_t env = fixture_env();
    buf_t out = BUF_INIT;
    int64_t start = harness_now_ms();
    RUN(s, &env, &out, "DEBUG", "SLEEP", "0.2");
    int64_t elapsed = harness_now_ms() - start;
    REPLY_IS(&out, "+OK\r\n");
    CU_ASSERT(elapsed >= 150);
    CU_ASSERT(elapsed < 5000);

    start = harness_now_ms();
    RUN(s, &env, &out, "DEBUG", "SLEEP", "0");
    REPLY_IS(&out, "+OK\r\n");
    CU_ASSERT(harness_now_ms() - start < 100);
    buf_free(&out);
    store_free(s);
}

static volatile sig_atomic_t usr1_seen;

static void on_usr1(int sig)
{
    (void)sig;
    usr1_seen = 1;
}

/* A signal that interrupts nanosleep() must not cut the sleep short. */
static void test_debug_sleep_eintr(void)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1; /* no SA_RESTART: nanosleep() returns EINTR */
    sigaction(SIGUSR1, &sa, &old);
    usr1_seen = 0;

    buf_t out = BUF_INIT;
    resp_arg_t argv[3] = {{"DEBUG", 5}, {"sleep", 5}, {"0.3", 3}};
    cmd_env_t env = fixture_env();
    const cmd_t *c = cmd_lookup(3, argv, &out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    cmd_job_t job;
    CU_ASSERT_EQUAL_FATAL(cmd_job_init(&job, c, 3, argv, &env, &out), 0);
    CU_ASSERT_EQUAL(job.kind, CMD_JOB_SLEEP);
    CU_ASSERT_EQUAL(job.sleep_us, 300000);

    pid_t parent = getpid();
    pid_t child = fork();
    CU_ASSERT_FATAL(child >= 0);
    if (child == 0) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        for (int i = 0; i < 3; i++) {
            nanosleep(&ts, NULL);
            kill(parent, SIGUSR1);
        }
        _exit(0);
    }
    int64_t start = harness_now_ms();
    cmd_job_run(&job, NULL, NULL);
    int64_t elapsed = harness_now_ms() - start;
    waitpid(child, NULL, 0);
    sigaction(SIGUSR1, &old, NULL);

    CU_ASSERT(usr1_seen);
    CU_ASSERT(elapsed >= 250);
    cmd_job_reply(&job, &out);
    REPLY_IS(&out, "+OK\r\n");
    buf_free(&out);
}

/* ==== DIGEST ============================================================ */

static void test_digest_matches_digest_fnv1a(void)
{
    store_t *s = store_new();
    cmd_env_t env = fixture_env();
    buf_t out = BUF_INIT;
    static const char value[] = "the quick brown fox\0with a NUL";
    store_set(s, "k", 1, value, sizeof value - 1);

    static const char *const rounds[] = {"1", "2", "1000"};
    for (size_t i = 0; i < 3; i++) {
        char hex[17], expected[64];
        digest_hex(digest_fnv1a(value, sizeof value - 1, atoll(rounds[i])), hex);
        int n = snprintf(expected, sizeof expected, "$16\r\n%s\r\n", hex);
        fixture_run_strs(s, &env, &out, 3, (const char *const[]){"DIGEST", "k", rounds[i]});
        CU_ASSERT(fixture_reply_is(&out, expected, (size_t)n));
    }
    buf_free(&out);
    store_free(s);
}

/* The job copies what it needs: the request's bytes and the store may
 * change after init and after read. */
static void test_digest_job_copies(void)
{
    store_t *s = store_new();
    cmd_env_t env = fixture_env();
    buf_t out = BUF_INIT;
    store_set(s, "key", 3, "foobar", 6);

    char name[] = "DIGEST", key[] = "key", rounds[] = "1";
    resp_arg_t argv[3] = {{name, 6}, {key, 3}, {rounds, 1}};
    const cmd_t *c = cmd_lookup(3, argv, &out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    cmd_job_t job;
    CU_ASSERT_EQUAL_FATAL(cmd_job_init(&job, c, 3, argv, &env, &out), 0);
    memset(key, 'z', 3);
    memset(rounds, '9', 1);
    cmd_job_read(&job, s);
    CU_ASSERT(job.found);
    store_set(s, "key", 3, "changed", 7);
    store_del(s, "key", 3);
    cmd_job_run(&job, NULL, NULL);
    cmd_job_reply(&job, &out);
    REPLY_IS(&out, "$16\r\n85944171f73967e8\r\n");
    CU_ASSERT_PTR_NULL(job.key);
    CU_ASSERT_PTR_NULL(job.data.data);
    buf_free(&out);
    store_free(s);
}

/* The work limit is rounds x max(1, length) <= 2^32: check both sides of it
 * without running the (long) hash, and a job dropped after read. */
static void test_digest_work_limit(void)
{
    store_t *s = store_new();
    cmd_env_t env = fixture_env();
    buf_t out = BUF_INIT;
    char value[43];
    memset(value, 'v', sizeof value);
    store_set(s, "k42", 3, value, 42);
    store_set(s, "k43", 3, value, 43);
    store_set(s, "k0", 2, "", 0);

    static const struct {
        const char *key, *rounds;
        int too_big;
    } cases[] = {
        {"k42", "100000000", 0}, /* 4.2e9 <= 4294967296 */
        {"k43", "100000000", 1}, /* 4.3e9 > 4294967296 */
        {"k43", "99882960", 0},  /* 43 x 99882960 = 4294967280 */
        {"k43", "99882961", 1},  /* 43 x 99882961 = 4294967323 */
        {"k0", "100000000", 0},  /* empty: counts as one byte */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        resp_arg_t argv[3] = {{"DIGEST", 6},
                              {cases[i].key, strlen(cases[i].key)},
                              {cases[i].rounds, strlen(cases[i].rounds)}};
        const cmd_t *c = cmd_lookup(3, argv, &out);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        cmd_job_t job;
        CU_ASSERT_EQUAL_FATAL(cmd_job_init(&job, c, 3, argv, &env, &out), 0);
        cmd_job_read(&job, s);
        CU_ASSERT(job.found);
        CU_ASSERT_EQUAL(job.err != 0, cases[i].too_big);
        if (cases[i].too_big) {
            cmd_job_run(&job, NULL, NULL); /* must not hash */
            buf_clear(&out);
            cmd_job_reply(&job, &out);
            REPLY_IS(&out, "-ERR DIGEST work too large (rounds x value length > 4294967296)\r\n");
        } else {
            CU_ASSERT_EQUAL(job.data.len, strcmp(cases[i].key, "k0") == 0 ? 0 : 42 + (i == 2));
            cmd_job_discard(&job); /* the client went away: no run, no reply */
            CU_ASSERT_PTR_NULL(job.key);
        }
    }
    buf_free(&out);
    store_free(s);
}

/* ==== Cancelling a running job ========================================= */

/* A cancel callback that says "stop" once it has been asked `after` times,
 * and counts the calls. */
typedef struct cancel_probe {
    int calls;
    int after;
} cancel_probe_t;

static int cancel_after_cb(void *arg)
{
    cancel_probe_t *p = arg;
    return ++p->calls > p->after;
}

/* Sets up a slow job from strings, reads it from s; fails the test if the
 * command does not become a job. */
static void job_from_strs(cmd_job_t *job, store_t *s, size_t argc, const char *const *strs)
{
    resp_arg_t argv[MAX_ARGS];
    buf_t out = BUF_INIT;
    cmd_env_t env = fixture_env();
    for (size_t i = 0; i < argc; i++)
        argv[i] = (resp_arg_t){strs[i], strlen(strs[i])};
    const cmd_t *c = cmd_lookup(argc, argv, &out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL_FATAL(cmd_job_init(job, c, argc, argv, &env, &out), 0);
    cmd_job_read(job, s);
    buf_free(&out);
}

/* DEBUG SLEEP 3600 asks at least every CMD_CANCEL_POLL_MS and stops at
 * the first "stop": here after 5 asks, so within about 50 ms, not an hour. */
static void test_sleep_cancelled(void)
{
    store_t *s = store_new();
    cmd_job_t job;
    job_from_strs(&job, s, 3, (const char *const[]){"DEBUG", "SLEEP", "3600"});
    cancel_probe_t probe = {0, 5};
    int64_t start = harness_now_ms();
    cmd_job_run(&job, cancel_after_cb, &probe);
    int64_t elapsed = harness_now_ms() - start;
    CU_ASSERT_EQUAL(job.err, -ECANCELED);
    CU_ASSERT_EQUAL(probe.calls, 6);
    CU_ASSERT(elapsed >= 5 * CMD_CANCEL_POLL_MS - 5);
    CU_ASSERT(elapsed < 2000);
    buf_t out = BUF_INIT;
    cmd_job_reply(&job, &out);
    REPLY_IS(&out, "-ERR command cancelled before it finished (server shutting down)\r\n");
    buf_free(&out);
    store_free(s);
}

/* A DIGEST asks between slices, for many rounds of a short value and for
 * one round of a long one, and a cancelled one replies with an error. */
static void test_digest_cancelled(void)
{
    store_t *s = store_new();
    static char big[1 << 20];
    memset(big, 'x', sizeof big);
    store_set(s, "short", 5, "v", 1);
    store_set(s, "long", 4, big, sizeof big);

    static const char *const cases[][3] = {
        {"DIGEST", "short", "100000000"},
        {"DIGEST", "long", "1"},
    };
    for (size_t i = 0; i < 2; i++) {
        cmd_job_t job;
        job_from_strs(&job, s, 3, cases[i]);
        cancel_probe_t probe = {0, 2};
        cmd_job_run(&job, cancel_after_cb, &probe);
        CU_ASSERT_EQUAL(job.err, -ECANCELED);
        CU_ASSERT_EQUAL(probe.calls, 3);
        buf_t out = BUF_INIT;
        cmd_job_reply(&job, &out);
        CU_ASSERT(out.len > 0 && out.data[0] == '-');
        buf_free(&out);
    }
    store_free(s);
}

/* A callback that never says stop changes nothing: same digest as
 * digest_fnv1a() over a value longer than one slice, several rounds. */
static void test_digest_sliced_equals_whole(void)
{
    store_t *s = store_new();
    static char value[200 * 1024 + 7];
    for (size_t i = 0; i < sizeof value; i++)
        value[i] = (char)(i * 31 + 7);
    store_set(s, "k", 1, value, sizeof value);
    cmd_job_t job;
    job_from_strs(&job, s, 3, (const char *const[]){"DIGEST", "k", "3"});
    cancel_probe_t probe = {0, 1 << 30};
    cmd_job_run(&job, cancel_after_cb, &probe);
    CU_ASSERT_EQUAL(job.err, 0);
    CU_ASSERT(probe.calls >= 3 * 3); /* at least one ask per 64 KiB hashed */
    CU_ASSERT_EQUAL(job.digest, digest_fnv1a(value, sizeof value, 3));
    cmd_job_discard(&job);
    store_free(s);
}

/* ==== SAVE ============================================================== */

static char tmpdir[256];

static void make_tmpdir(void)
{
    CU_ASSERT_EQUAL_FATAL(harness_tmpdir_create(tmpdir, sizeof tmpdir), 0);
}

static void test_save_round_trip(void)
{
    make_tmpdir();
    char path[320];
    snprintf(path, sizeof path, "%s/dump.resp", tmpdir);

    store_t *s = store_new();
    store_set(s, "k1", 2, "v1", 2);
    store_set(s, "bin\0key", 7, "a\0b\r\nc", 6);
    store_set(s, "empty", 5, "", 0);
    cmd_env_t env = fixture_env();
    env.dbfile = path;
    buf_t out = BUF_INIT;

    RUN(s, &env, &out, "SAVE");
    REPLY_IS(&out, "+OK\r\n");

    store_t *loaded = NULL;
    char err[256] = "";
    CU_ASSERT_EQUAL_FATAL(dump_load(path, &loaded, err, sizeof err), 0);
    CU_ASSERT_EQUAL(store_count(loaded), 3);
    const char *val;
    size_t vlen;
    CU_ASSERT(store_get(loaded, "k1", 2, &val, &vlen) == 0 && vlen == 2 &&
              memcmp(val, "v1", 2) == 0);
    CU_ASSERT(store_get(loaded, "bin\0key", 7, &val, &vlen) == 0 && vlen == 6 &&
              memcmp(val, "a\0b\r\nc", 6) == 0);
    CU_ASSERT(store_get(loaded, "empty", 5, &val, &vlen) == 0 && vlen == 0);
    store_free(loaded);

    /* An empty store saves an empty file, which loads as an empty store. */
    store_t *empty = store_new();
    RUN(empty, &env, &out, "save");
    REPLY_IS(&out, "+OK\r\n");
    CU_ASSERT_EQUAL_FATAL(dump_load(path, &loaded, err, sizeof err), 0);
    CU_ASSERT_EQUAL(store_count(loaded), 0);
    store_free(loaded);
    store_free(empty);

    harness_tmpdir_remove(tmpdir);
    buf_free(&out);
    store_free(s);
}

static void test_save_failure(void)
{
    make_tmpdir();
    char path[320];
    snprintf(path, sizeof path, "%s/missing-dir/dump.resp", tmpdir);
    store_t *s = store_new();
    store_set(s, "k", 1, "v", 1);
    cmd_env_t env = fixture_env();
    env.dbfile = path;
    buf_t out = BUF_INIT;

    RUN(s, &env, &out, "SAVE");
    char expected[128];
    int n = snprintf(expected, sizeof expected, "-ERR SAVE failed: %s\r\n", strerror(ENOENT));
    CU_ASSERT(fixture_reply_is(&out, expected, (size_t)n));

    harness_tmpdir_remove(tmpdir);
    buf_free(&out);
    store_free(s);
}

/* A SAVE dropped after its read step frees the serialised copy. */
static void test_save_discard(void)
{
    store_t *s = store_new();
    store_set(s, "k", 1, "v", 1);
    cmd_env_t env = fixture_env();
    env.dbfile = "/nonexistent/never-written";
    buf_t out = BUF_INIT;
    resp_arg_t argv[1] = {{"SAVE", 4}};
    const cmd_t *c = cmd_lookup(1, argv, &out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    cmd_job_t job;
    CU_ASSERT_EQUAL_FATAL(cmd_job_init(&job, c, 1, argv, &env, &out), 0);
    CU_ASSERT_EQUAL(job.kind, CMD_JOB_SAVE);
    CU_ASSERT_STRING_EQUAL(job.dbfile, "/nonexistent/never-written");
    cmd_job_read(&job, s);
    CU_ASSERT(job.data.len > 0);
    cmd_job_discard(&job);
    CU_ASSERT_PTR_NULL(job.data.data);
    CU_ASSERT_EQUAL(out.len, 0);
    buf_free(&out);
    store_free(s);
}

/* ==== Suites ============================================================ */

static CU_TestInfo job_tests[] = {
    {"slow commands reply table", test_job_table},
    {"DEBUG SLEEP sleeps", test_debug_sleep_sleeps},
    {"DEBUG SLEEP resumes after EINTR", test_debug_sleep_eintr},
    {"DIGEST equals digest_fnv1a", test_digest_matches_digest_fnv1a},
    {"DIGEST job copies its inputs", test_digest_job_copies},
    {"DIGEST work limit", test_digest_work_limit},
    {"DEBUG SLEEP cancelled", test_sleep_cancelled},
    {"DIGEST cancelled", test_digest_cancelled},
    {"DIGEST in slices equals whole", test_digest_sliced_equals_whole},
    {"SAVE round trip", test_save_round_trip},
    {"SAVE failure", test_save_failure},
    {"SAVE discarded", test_save_discard},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"slow commands", NULL, NULL, NULL, NULL, job_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
