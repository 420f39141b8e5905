/*
 * loadgen: the tour's open-loop load generator (bench/loadgen.c), run
 * against stage 3.
 *
 * The claim under test: loadgen charges a stall to every request that fell
 * due during it. Stage 3 runs DEBUG SLEEP on its only thread, so one
 * DEBUG SLEEP 0.5 freezes every client for 500 ms. At 1,000 requests/s,
 * some 500 of a 3 s run's 3,000 requests fall due in that half second:
 * 16%, waiting from 0 to 500 ms, so p90 is about 200 ms and p99 about
 * 470 ms. A closed loop with 10 connections would have sent only the 10
 * requests in flight when the stall began, 0.3% of the run: its p99 would
 * not move. And the converse: a generator that itself falls behind must say
 * so (exit 1), never pass its own delay off as the server's.
 *
 * The binary under test is the suite's argument (stage 3); loadgen is taken
 * from the same folder (build/VARIANT/bin/), or from $LOADGEN.
 */

#include "harness.h"
#include "support/client.h"
#include "support/server.h"

#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define RUN_TIMEOUT_MS 20000 /* any run here: its duration, the 2 s drain, set-up */
#define MS             1000  /* microseconds */

/* Never late by more than this: far below the 500 ms stall, so the
 * generator's own delay cannot pass for the server's. Loose enough for a
 * loaded 2-core machine and the sanitizers (a run on a busy machine was
 * late by up to 20 ms). */
#define LATE_BOUND_US (100 * MS)

/* ==== Running loadgen ======================================================== */

/* The fields of loadgen's last line, in order. */
typedef struct lg_result {
    int rc; /* exit status, or a negative errno */
    unsigned long long sent, completed, errors, p50, p90, p99, p999, max;
    unsigned long long late, max_late, connect_errors, err_replies, lost, unfinished, sessions;
} lg_result_t;

typedef struct lg_run {
    test_server_t proc; /* server_wait() reaps any child */
    int out_fd;
} lg_run_t;

static const char *loadgen_path(void)
{
    static char path[PATH_MAX];
    const char *env = getenv("LOADGEN");
    if (env != NULL && *env != '\0')
        return env;
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", server_binary());
    snprintf(path, sizeof(path), "%s/loadgen", dirname(dir));
    return path;
}

/* Starts loadgen with args (NULL-terminated, --port first if any) and its
 * stdout on a pipe. Returns 0 or a negative errno. */
static int loadgen_start(lg_run_t *run, const char *const *args)
{
    const char *argv[32];
    int argc = 0;
    argv[argc++] = loadgen_path();
    for (int i = 0; args[i] != NULL && argc < 31; i++)
        argv[argc++] = args[i];
    argv[argc] = NULL;

    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0)
        return -errno;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        return -errno;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* dies with the test */
        dup2(pipefd[1], STDOUT_FILENO);
        signal(SIGPIPE, SIG_DFL);
        alarm(0);
        execv(argv[0], (char *const *)argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(pipefd[1]);
    run->proc.pid = pid;
    run->proc.port = 0;
    run->out_fd = pipefd[0];
    return 0;
}

/* Parses the last line of out into r. Returns the number of fields read. */
static int parse_last_line(const char *out, lg_result_t *r)
{
    size_t len = strlen(out);
    while (len > 0 && out[len - 1] == '\n')
        len--;
    const char *line = out + len;
    while (line > out && line[-1] != '\n')
        line--;
    int n = sscanf(line,
                   "sent=%llu completed=%llu errors=%llu p50_us=%llu p90_us=%llu p99_us=%llu "
                   "p999_us=%llu max_us=%llu late=%llu max_late_us=%llu connect_errors=%llu "
                   "err_replies=%llu lost=%llu unfinished=%llu sessions=%llu",
                   &r->sent, &r->completed, &r->errors, &r->p50, &r->p90, &r->p99, &r->p999,
                   &r->max, &r->late, &r->max_late, &r->connect_errors, &r->err_replies, &r->lost,
                   &r->unfinished, &r->sessions);
    return n < 0 ? 0 : n; /* EOF: no line at all */
}

/* Reads loadgen's output to the end, reaps it, and parses its last line.
 * Returns the number of fields parsed (r->rc is its exit status). */
static int loadgen_finish(lg_run_t *run, lg_result_t *r)
{
    buf_t out = BUF_INIT;
    long long deadline = harness_now_ms() + RUN_TIMEOUT_MS;
    char chunk[4096];
    for (;;) {
        long long left = deadline - harness_now_ms();
        struct pollfd pfd = {.fd = run->out_fd, .events = POLLIN};
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            break;
        ssize_t n = read(run->out_fd, chunk, sizeof(chunk));
        if (n <= 0)
            break;
        buf_append(&out, chunk, (size_t)n);
    }
    close(run->out_fd);
    memset(r, 0, sizeof(*r));
    r->rc = server_wait(&run->proc, 5000);
    buf_append(&out, "", 1);
    fputs(out.data, stderr); /* the human lines, in the test's log */
    int n = parse_last_line(out.data, r);
    buf_free(&out);
    return n;
}

/* Runs loadgen to the end. Returns the number of fields parsed. */
static int loadgen_run(const char *const *args, lg_result_t *r)
{
    lg_run_t run;
    int rc = loadgen_start(&run, args);
    if (rc != 0) {
        memset(r, 0, sizeof(*r));
        r->rc = rc;
        return 0;
    }
    return loadgen_finish(&run, r);
}

/* The checks every run against a healthy server passes: each request
 * answered, none lost, and the generator never late by anything that
 * could pass for the server's latency. Exit 1 (over 1% late by more than
 * 1 ms) happens on a loaded machine and is allowed here; being late by
 * LATE_BOUND_US is not. */
static void expect_clean_run(const lg_result_t *r, int fields, int want_fields)
{
    CU_ASSERT_EQUAL(fields, want_fields);
    CU_ASSERT(r->rc == 0 || r->rc == 1);
    if (r->rc == 1)
        fprintf(stderr, "note: loadgen fell behind its schedule (a loaded machine)\n");
    CU_ASSERT(r->sent > 0);
    CU_ASSERT_EQUAL(r->completed, r->sent);
    CU_ASSERT_EQUAL(r->errors, 0);
    CU_ASSERT_EQUAL(r->unfinished, 0);
    CU_ASSERT_EQUAL(r->connect_errors, 0);
    CU_ASSERT(r->max_late < LATE_BOUND_US);
}

static int start_stage3(test_server_t *s, char *port, size_t cap)
{
    int rc = server_start(s, server_binary(), NULL);
    snprintf(port, cap, "%d", s->port);
    return rc;
}

/* ==== The stall ============================================================== */

/* 3 s at 1,000 requests/s on 10 connections; 1 s in, another client makes
 * stage 3 sleep 500 ms. */
static void test_stall_counts_for_every_request(void)
{
    test_server_t s;
    char port[16];
    CU_ASSERT_FATAL(start_stage3(&s, port, sizeof(port)) == 0);
    int fd = client_connect(s.port);
    CU_ASSERT_FATAL(fd >= 0);

    const char *args[] = {"--port",        port, "--rate", "1000", "--duration", "3",
                          "--connections", "10", NULL};
    lg_run_t run;
    CU_ASSERT_FATAL(loadgen_start(&run, args) == 0);
    poll(NULL, 0, 1000);
    buf_t reply = BUF_INIT;
    CU_ASSERT_EQUAL(client_roundtrip(fd, "DEBUG SLEEP 0.5\r\n", &reply), 0);
    lg_result_t r;
    int fields = loadgen_finish(&run, &r);

    buf_append(&reply, "", 1);
    CU_ASSERT_STRING_EQUAL(reply.data, "+OK\r\n");
    expect_clean_run(&r, fields, 14);
    CU_ASSERT(r.sent >= 2500 && r.sent <= 3500);
    /* ~16% of the requests fell due during the stall. */
    CU_ASSERT(r.p99 >= 200 * MS);
    CU_ASSERT(r.p90 >= 100 * MS);
    CU_ASSERT(r.max >= 400 * MS && r.max < 2000 * MS);
    buf_free(&reply);
    close(fd);
    CU_ASSERT_EQUAL(server_stop(&s, SIGTERM, 5000), 0);
}

/* The control: the same run without the sleep has a low p99. */
static void test_no_stall_low_tail(void)
{
    test_server_t s;
    char port[16];
    CU_ASSERT_FATAL(start_stage3(&s, port, sizeof(port)) == 0);
    const char *args[] = {"--port",        port, "--rate", "1000", "--duration", "3",
                          "--connections", "10", NULL};
    lg_result_t r;
    int fields = loadgen_run(args, &r);
    expect_clean_run(&r, fields, 14);
    CU_ASSERT(r.p99 < 100 * MS);
    CU_ASSERT_EQUAL(server_stop(&s, SIGTERM, 5000), 0);
}

/* ==== The generator's own delay ============================================== */

/* loadgen is stopped (SIGSTOP) for 300 ms of a 1.5 s run (from 0.5 s after
 * its start, well after its set-up even under TSan): about 20% of its
 * requests go out late by up to 300 ms. It must say so and exit 1, so a
 * saturated generator is never mistaken for a slow server. */
static void test_late_generator_exits_1(void)
{
    test_server_t s;
    char port[16];
    CU_ASSERT_FATAL(start_stage3(&s, port, sizeof(port)) == 0);
    const char *args[] = {"--port", port, "--rate", "1000", "--duration", "1.5", NULL};
    lg_run_t run;
    CU_ASSERT_FATAL(loadgen_start(&run, args) == 0);
    poll(NULL, 0, 500);
    kill(run.proc.pid, SIGSTOP);
    poll(NULL, 0, 300);
    kill(run.proc.pid, SIGCONT);
    lg_result_t r;
    int fields = loadgen_finish(&run, &r);
    CU_ASSERT_EQUAL(fields, 14);
    CU_ASSERT_EQUAL(r.rc, 1);
    CU_ASSERT(r.late * 100 > r.sent);
    CU_ASSERT(r.max_late >= 200 * MS);
    CU_ASSERT_EQUAL(r.completed, r.sent);
    CU_ASSERT_EQUAL(server_stop(&s, SIGTERM, 5000), 0);
}

/* ==== Modes and errors ======================================================= */

/* Bursts: every 100 ms, 20 requests at once on 20 of 50 connections. */
static void test_bursts(void)
{
    test_server_t s;
    char port[16];
    CU_ASSERT_FATAL(start_stage3(&s, port, sizeof(port)) == 0);
    const char *args[] = {"--port",     port, "--burst",       "20", "--every", "100",
                          "--duration", "1",  "--connections", "50", NULL};
    lg_result_t r;
    int fields = loadgen_run(args, &r);
    expect_clean_run(&r, fields, 14);
    CU_ASSERT_EQUAL(r.sent, 200); /* bursts at 0, 100, ... 900 ms */
    CU_ASSERT_EQUAL(server_stop(&s, SIGTERM, 5000), 0);
}

/* Sessions: connect, 3 requests one after the other, close. */
static void test_sessions(void)
{
    test_server_t s;
    char port[16];
    CU_ASSERT_FATAL(start_stage3(&s, port, sizeof(port)) == 0);
    const char *args[] = {
        "--port", port, "--sessions-rate", "200", "--requests-per-session", "3", "--duration",
        "1",      NULL};
    lg_result_t r;
    int fields = loadgen_run(args, &r);
    expect_clean_run(&r, fields, 15);
    CU_ASSERT(r.sessions >= 100 && r.sessions <= 300);
    CU_ASSERT_EQUAL(r.sent, 3 * r.sessions);
    CU_ASSERT_EQUAL(server_stop(&s, SIGTERM, 5000), 0);
}

/* An -ERR reply is completed and an error. */
static void test_error_replies(void)
{
    test_server_t s;
    char port[16];
    CU_ASSERT_FATAL(start_stage3(&s, port, sizeof(port)) == 0);
    const char *args[] = {"--port", port,        "--rate",          "200", "--duration",
                          "0.5",    "--command", "NOSUCHCOMMAND a", NULL};
    lg_result_t r;
    int fields = loadgen_run(args, &r);
    CU_ASSERT_EQUAL(fields, 14);
    CU_ASSERT(r.sent > 0);
    CU_ASSERT_EQUAL(r.completed, r.sent);
    CU_ASSERT_EQUAL(r.err_replies, r.sent);
    CU_ASSERT_EQUAL(r.errors, r.sent);
    CU_ASSERT_EQUAL(server_stop(&s, SIGTERM, 5000), 0);
}

/* The server goes away mid-run: its requests are lost, counted as errors,
 * and loadgen still ends on time with its last line. */
static void test_server_gone(void)
{
    test_server_t s;
    char port[16];
    CU_ASSERT_FATAL(start_stage3(&s, port, sizeof(port)) == 0);
    const char *args[] = {"--port", port, "--rate", "500", "--duration", "1", NULL};
    lg_run_t run;
    CU_ASSERT_FATAL(loadgen_start(&run, args) == 0);
    poll(NULL, 0, 400);
    CU_ASSERT_EQUAL(server_stop(&s, SIGKILL, 5000), 128 + SIGKILL);
    long long t0 = harness_now_ms();
    lg_result_t r;
    int fields = loadgen_finish(&run, &r);
    CU_ASSERT_EQUAL(fields, 14);
    CU_ASSERT(r.rc == 0 || r.rc == 1);
    CU_ASSERT(harness_now_ms() - t0 < 5000);
    CU_ASSERT(r.completed > 0 && r.completed < r.sent);
    CU_ASSERT(r.lost > 0);
    CU_ASSERT_EQUAL(r.errors, r.lost);
    CU_ASSERT_EQUAL(r.completed + r.lost + r.unfinished, r.sent);
}

/* Nothing listens: exit 3, with the last line all the same. */
static void test_no_server_exits_3(void)
{
    /* A port that was free a moment ago, and is closed now. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(addr);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
    CU_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)&addr, &len) == 0);
    close(fd);
    char port[16];
    snprintf(port, sizeof(port), "%d", ntohs(addr.sin_port));
    const char *args[] = {"--port", port, "--rate", "100", "--duration", "1", NULL};
    lg_result_t r;
    int fields = loadgen_run(args, &r);
    CU_ASSERT_EQUAL(r.rc, 3);
    CU_ASSERT_EQUAL(fields, 14);
    CU_ASSERT_EQUAL(r.sent, 0);
    CU_ASSERT_EQUAL(r.connect_errors, 10);
}

/* Bad command lines: exit 2, nothing run. */
static void test_usage_exits_2(void)
{
    const char *no_port[] = {"--rate", "100", NULL};
    const char *two_modes[] = {"--port", "1",       "--rate", "100", "--burst",
                               "1",      "--every", "10",     NULL};
    const char *no_mode[] = {"--port", "1", NULL};
    const char *big_burst[] = {"--port",        "1",  "--burst", "20", "--every", "10",
                               "--connections", "10", NULL};
    const char *bad_number[] = {"--port", "1", "--rate", "fast", NULL};
    const char *stray[] = {"--port", "1", "--rate", "10", "extra", NULL};
    const char *const *cases[] = {no_port, two_modes, no_mode, big_burst, bad_number, stray};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        lg_result_t r;
        int fields = loadgen_run(cases[i], &r);
        CU_ASSERT_EQUAL(r.rc, 2);
        CU_ASSERT_EQUAL(fields, 0);
    }
    const char *help[] = {"--help", NULL};
    lg_result_t r;
    loadgen_run(help, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
}

static CU_TestInfo stall_tests[] = {
    {"a 500 ms stall counts against every request due during it",
     test_stall_counts_for_every_request},
    {"without the stall the tail is low", test_no_stall_low_tail},
    {"a generator that falls behind exits 1", test_late_generator_exits_1},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo mode_tests[] = {
    {"bursts", test_bursts},
    {"sessions", test_sessions},
    {"-ERR replies", test_error_replies},
    {"the server goes away", test_server_gone},
    {"no server: exit 3", test_no_server_exits_3},
    {"usage: exit 2", test_usage_exits_2},
    CU_TEST_INFO_NULL,
};

static int suite_cleanup(void)
{
    server_kill_leftovers();
    return 0;
}

static CU_SuiteInfo suites[] = {
    {"loadgen: open loop", NULL, suite_cleanup, NULL, NULL, stall_tests},
    {"loadgen: modes and errors", NULL, suite_cleanup, NULL, NULL, mode_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
