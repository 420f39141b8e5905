/* Unit tests of common/opts.c: defaults, both value spellings, every error
 * message, --help and --version, and that the parser never exits. */

#include "harness.h"
#include "opts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ==== Helpers =========================================================== */

static const opts_stage_t stage1 = {
    .name = "stage1-threads",
    .summary = "one thread per connection",
    .default_port = 7001,
    .extra = 0,
    .default_threads = 0,
    .threads_help = NULL,
};

static const opts_stage_t stage2 = {
    .name = "stage2-pool",
    .summary = "a fixed pool of worker threads",
    .default_port = 7002,
    .extra = OPTS_THREADS,
    .default_threads = 4,
    .threads_help = "worker threads in the pool",
};

static const opts_stage_t stage4 = {
    .name = "stage4-offload",
    .summary = "an event loop that offloads slow commands",
    .default_port = 7004,
    .extra = OPTS_THREADS | OPTS_PITFALL | OPTS_LOCK_STRATEGY | OPTS_WATCHDOG,
    .default_threads = 2,
    .threads_help = "threads that run slow commands",
};

#define CAPTURE_MAX 8192

/* What one opts_parse() call returned and printed. */
typedef struct parse_result {
    int rc;
    opts_t o;
    char out[CAPTURE_MAX]; /* stdout */
    char err[CAPTURE_MAX]; /* stderr */
} parse_result_t;

/* Ends a capture, keeping at most CAPTURE_MAX - 1 bytes of it in text. */
static void capture_into(harness_capture_t *c, char text[CAPTURE_MAX])
{
    char *got = harness_capture_stop(c);
    CU_ASSERT_PTR_NOT_NULL(got);
    snprintf(text, CAPTURE_MAX, "%s", got != NULL ? got : "");
    free(got);
}

/* Runs opts_parse() on "prog args..." with stdout and stderr captured. */
static void parse(parse_result_t *r, const opts_stage_t *stage, int argc, const char *const *args)
{
    char *argv[32];
    CU_ASSERT_FATAL(argc + 1 < 32);
    argv[0] = (char *)stage->name;
    for (int i = 0; i < argc; i++)
        argv[i + 1] = (char *)args[i];
    argv[argc + 1] = NULL;

    harness_capture_t out, err;
    CU_ASSERT_EQUAL_FATAL(harness_capture_start(&out, stdout), 0);
    CU_ASSERT_EQUAL_FATAL(harness_capture_start(&err, stderr), 0);
    memset(&r->o, 0xa5, sizeof r->o); /* the parser must set every field */
    r->rc = opts_parse(&r->o, stage, argc + 1, argv);
    capture_into(&err, r->err);
    capture_into(&out, r->out);
}

#define PARSE(r, stage, ...)                                                                       \
    parse(r, stage, (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)),           \
          (const char *const[]){__VA_ARGS__})

static parse_result_t r; /* large: not on the stack */

/* Checks a parse that failed with exactly this one-line message. */
static void expect_error(const opts_stage_t *stage, const char *message)
{
    char expected[512];
    snprintf(expected, sizeof expected, "%s: %s\nTry '%s --help'.\n", stage->name, message,
             stage->name);
    CU_ASSERT_EQUAL(r.rc, -EINVAL);
    CU_ASSERT_STRING_EQUAL(r.out, "");
    if (strcmp(r.err, expected) != 0)
        fprintf(stderr, "\n    expected stderr: %s    got stderr:      %s", expected, r.err);
    CU_ASSERT_STRING_EQUAL(r.err, expected);
}

/* ==== Values ============================================================ */

static void test_defaults(void)
{
    parse(&r, &stage1, 0, NULL);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_STRING_EQUAL(r.o.bind, "127.0.0.1");
    CU_ASSERT_EQUAL(r.o.port, 7001);
    CU_ASSERT_EQUAL(r.o.max_clients, 10000);
    CU_ASSERT_PTR_NULL(r.o.dbfile);
    CU_ASSERT_EQUAL(r.o.log_level, LOGL_INFO);
    CU_ASSERT_EQUAL(r.o.pitfall, OPTS_PITFALL_NONE);
    CU_ASSERT_EQUAL(r.o.lock_strategy, OPTS_LOCK_COPY);
    CU_ASSERT_EQUAL(r.o.watchdog, OPTS_WATCHDOG_WARN);
    CU_ASSERT_EQUAL(r.o.watchdog_ms, 1000);
    CU_ASSERT_STRING_EQUAL(r.out, "");
    CU_ASSERT_STRING_EQUAL(r.err, "");

    parse(&r, &stage2, 0, NULL);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(r.o.port, 7002);
    CU_ASSERT_EQUAL(r.o.threads, 4);

    parse(&r, &stage4, 0, NULL);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(r.o.port, 7004);
    CU_ASSERT_EQUAL(r.o.threads, 2);
}

static void test_every_option(void)
{
    PARSE(&r, &stage4, "--port", "0", "--bind", "0.0.0.0", "--threads", "16", "--max-clients", "50",
          "--dbfile", "/tmp/x.resp", "--log-level", "debug", "--pitfall", "lock-during-work",
          "--lock-strategy", "queue", "--watchdog", "exit", "--watchdog-ms", "50");
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(r.o.port, 0);
    CU_ASSERT_STRING_EQUAL(r.o.bind, "0.0.0.0");
    CU_ASSERT_EQUAL(r.o.threads, 16);
    CU_ASSERT_EQUAL(r.o.max_clients, 50);
    CU_ASSERT_STRING_EQUAL(r.o.dbfile, "/tmp/x.resp");
    CU_ASSERT_EQUAL(r.o.log_level, LOGL_DEBUG);
    CU_ASSERT_EQUAL(r.o.pitfall, OPTS_PITFALL_LOCK_DURING_WORK);
    CU_ASSERT_EQUAL(r.o.lock_strategy, OPTS_LOCK_QUEUE);
    CU_ASSERT_EQUAL(r.o.watchdog, OPTS_WATCHDOG_EXIT);
    CU_ASSERT_EQUAL(r.o.watchdog_ms, 50);
    CU_ASSERT_STRING_EQUAL(r.err, "");

    PARSE(&r, &stage4, "--port=65535", "--bind=10.1.2.3", "--threads=1024", "--max-clients=1000000",
          "--dbfile=dump.resp", "--log-level=error", "--pitfall=mutex-across-callback",
          "--lock-strategy=copy", "--watchdog=off", "--watchdog-ms=60000");
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(r.o.port, 65535);
    CU_ASSERT_STRING_EQUAL(r.o.bind, "10.1.2.3");
    CU_ASSERT_EQUAL(r.o.threads, 1024);
    CU_ASSERT_EQUAL(r.o.max_clients, 1000000);
    CU_ASSERT_STRING_EQUAL(r.o.dbfile, "dump.resp");
    CU_ASSERT_EQUAL(r.o.log_level, LOGL_ERROR);
    CU_ASSERT_EQUAL(r.o.pitfall, OPTS_PITFALL_MUTEX_ACROSS_CALLBACK);
    CU_ASSERT_EQUAL(r.o.lock_strategy, OPTS_LOCK_COPY);
    CU_ASSERT_EQUAL(r.o.watchdog, OPTS_WATCHDOG_OFF);
    CU_ASSERT_EQUAL(r.o.watchdog_ms, 60000);

    PARSE(&r, &stage4, "--watchdog", "off", "--watchdog", "warn", "--watchdog-ms", "1");
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(r.o.watchdog, OPTS_WATCHDOG_WARN);
    CU_ASSERT_EQUAL(r.o.watchdog_ms, 1);

    /* The smallest values, and the last of a repeated option wins. */
    PARSE(&r, &stage2, "--threads", "1", "--max-clients", "1", "--port", "1", "--port=2",
          "--log-level", "warn");
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(r.o.threads, 1);
    CU_ASSERT_EQUAL(r.o.max_clients, 1);
    CU_ASSERT_EQUAL(r.o.port, 2);
    CU_ASSERT_EQUAL(r.o.log_level, LOGL_WARN);

    /* After '=' anything is the value, even text that looks like an option. */
    PARSE(&r, &stage1, "--dbfile=--odd-name", "--log-level=info");
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_STRING_EQUAL(r.o.dbfile, "--odd-name");
    CU_ASSERT_EQUAL(r.o.log_level, LOGL_INFO);
}

/* ==== Errors ============================================================ */

static void test_bad_numbers(void)
{
    static const char *const bad_ports[] = {"65536", "-1",   "12x", "",    " 12",
                                            "+12",   "0x10", "1e3", "abc", "99999999999999999999"};
    char message[256];
    for (size_t i = 0; i < sizeof bad_ports / sizeof bad_ports[0]; i++) {
        PARSE(&r, &stage1, "--port", bad_ports[i]);
        snprintf(message, sizeof message,
                 "invalid value '%s' for --port: expected an integer from 0 to 65535",
                 bad_ports[i]);
        expect_error(&stage1, message);
    }

    PARSE(&r, &stage1, "--port=7001x");
    expect_error(&stage1, "invalid value '7001x' for --port: expected an integer from 0 to 65535");

    PARSE(&r, &stage2, "--threads", "0");
    expect_error(&stage2, "invalid value '0' for --threads: expected an integer from 1 to 1024");
    PARSE(&r, &stage2, "--threads=1025");
    expect_error(&stage2, "invalid value '1025' for --threads: expected an integer from 1 to 1024");
    PARSE(&r, &stage2, "--threads", "4 ");
    expect_error(&stage2, "invalid value '4 ' for --threads: expected an integer from 1 to 1024");

    PARSE(&r, &stage1, "--max-clients", "0");
    expect_error(&stage1,
                 "invalid value '0' for --max-clients: expected an integer from 1 to 1000000");
    static const char *const bad_bounds[] = {"0", "-5", "60001", "1s", "", "2.5"};
    for (size_t i = 0; i < sizeof bad_bounds / sizeof bad_bounds[0]; i++) {
        PARSE(&r, &stage4, "--watchdog-ms", bad_bounds[i]);
        snprintf(message, sizeof message,
                 "invalid value '%s' for --watchdog-ms: expected an integer from 1 to 60000 "
                 "(milliseconds)",
                 bad_bounds[i]);
        expect_error(&stage4, message);
    }

    PARSE(&r, &stage1, "--max-clients", "1000001");
    expect_error(
        &stage1,
        "invalid value '1000001' for --max-clients: expected an integer from 1 to 1000000");
}

static void test_bad_words(void)
{
    static const char *const bad_binds[] = {"1.2.3", "localhost", "::1", "1.2.3.256", ""};
    char message[256];
    for (size_t i = 0; i < sizeof bad_binds / sizeof bad_binds[0]; i++) {
        PARSE(&r, &stage1, "--bind", bad_binds[i]);
        snprintf(message, sizeof message,
                 "invalid value '%s' for --bind: expected an IPv4 address such as 127.0.0.1",
                 bad_binds[i]);
        expect_error(&stage1, message);
    }

    PARSE(&r, &stage1, "--log-level", "verbose");
    expect_error(&stage1,
                 "invalid value 'verbose' for --log-level: expected debug, info, warn or error");
    PARSE(&r, &stage1, "--log-level=INFO");
    expect_error(&stage1,
                 "invalid value 'INFO' for --log-level: expected debug, info, warn or error");

    PARSE(&r, &stage4, "--pitfall", "deadlock");
    expect_error(&stage4, "invalid value 'deadlock' for --pitfall: expected mutex-across-callback "
                          "or lock-during-work");
    PARSE(&r, &stage4, "--lock-strategy=lock");
    expect_error(&stage4, "invalid value 'lock' for --lock-strategy: expected copy or queue");
    PARSE(&r, &stage4, "--watchdog", "abort");
    expect_error(&stage4, "invalid value 'abort' for --watchdog: expected warn, exit or off");
    PARSE(&r, &stage4, "--watchdog=WARN");
    expect_error(&stage4, "invalid value 'WARN' for --watchdog: expected warn, exit or off");
    PARSE(&r, &stage4, "--watchdog", "--watchdog-ms", "5");
    expect_error(&stage4, "option '--watchdog' requires a value");

    PARSE(&r, &stage1, "--dbfile=");
    expect_error(&stage1, "invalid value '' for --dbfile: expected a file path");
}

static void test_unsupported_options(void)
{
    PARSE(&r, &stage1, "--threads", "4");
    expect_error(&stage1, "this stage does not support --threads");
    PARSE(&r, &stage2, "--pitfall=lock-during-work");
    expect_error(&stage2, "this stage does not support --pitfall");
    PARSE(&r, &stage2, "--lock-strategy", "copy");
    expect_error(&stage2, "this stage does not support --lock-strategy");
    PARSE(&r, &stage2, "--watchdog", "off");
    expect_error(&stage2, "this stage does not support --watchdog");
    PARSE(&r, &stage1, "--watchdog-ms=10");
    expect_error(&stage1, "this stage does not support --watchdog-ms");
    /* Checked before the value: a missing value is not the first problem. */
    PARSE(&r, &stage1, "--threads");
    expect_error(&stage1, "this stage does not support --threads");
}

static void test_bad_syntax(void)
{
    PARSE(&r, &stage1, "--foo");
    expect_error(&stage1, "unknown option '--foo'");
    PARSE(&r, &stage1, "--foo=bar");
    expect_error(&stage1, "unknown option '--foo'");
    PARSE(&r, &stage1, "--Port", "1");
    expect_error(&stage1, "unknown option '--Port'");
    PARSE(&r, &stage1, "--por", "1");
    expect_error(&stage1, "unknown option '--por'");
    PARSE(&r, &stage1, "-p", "1");
    expect_error(&stage1, "unexpected argument '-p'");
    PARSE(&r, &stage1, "port");
    expect_error(&stage1, "unexpected argument 'port'");
    PARSE(&r, &stage1, "--");
    expect_error(&stage1, "unexpected argument '--'");

    PARSE(&r, &stage1, "--port");
    expect_error(&stage1, "option '--port' requires a value");
    PARSE(&r, &stage1, "--port", "7005", "--dbfile");
    expect_error(&stage1, "option '--dbfile' requires a value");
    PARSE(&r, &stage1, "--dbfile", "--port", "7005");
    expect_error(&stage1, "option '--dbfile' requires a value");

    PARSE(&r, &stage1, "--help=yes");
    expect_error(&stage1, "option '--help' takes no value (got 'yes')");
    PARSE(&r, &stage1, "--version=");
    expect_error(&stage1, "option '--version' takes no value (got '')");

    /* The first problem is the one reported. */
    PARSE(&r, &stage1, "--port", "x", "--bind", "y");
    expect_error(&stage1, "invalid value 'x' for --port: expected an integer from 0 to 65535");
}

/* ==== --help and --version ============================================== */

static void test_version(void)
{
    PARSE(&r, &stage2, "--version");
    CU_ASSERT_EQUAL(r.rc, 1);
    CU_ASSERT_STRING_EQUAL(r.out, "stage2-pool (staged-ports) 1.0\n");
    CU_ASSERT_STRING_EQUAL(r.err, "");

    /* Options before it are parsed; --version stops the parse. */
    PARSE(&r, &stage1, "--port", "1", "--version", "--port", "x");
    CU_ASSERT_EQUAL(r.rc, 1);
    CU_ASSERT_STRING_EQUAL(r.out, "stage1-threads (staged-ports) 1.0\n");
    CU_ASSERT_STRING_EQUAL(r.err, "");
}

static int has_line_starting(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *line = text; line != NULL && *line != '\0';) {
        if (strncmp(line, prefix, n) == 0)
            return 1;
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    return 0;
}

static void test_help(void)
{
    PARSE(&r, &stage1, "--help");
    CU_ASSERT_EQUAL(r.rc, 1);
    CU_ASSERT_STRING_EQUAL(r.err, "");
    CU_ASSERT(has_line_starting(r.out, "Usage: stage1-threads [OPTIONS]"));
    CU_ASSERT(has_line_starting(r.out, "one thread per connection"));
    static const char *const common[] = {"--port N",      "--bind ADDR",       "--max-clients N",
                                         "--dbfile PATH", "--log-level LEVEL", "--help",
                                         "--version"};
    char prefix[64];
    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++) {
        snprintf(prefix, sizeof prefix, "  %s ", common[i]);
        CU_ASSERT(has_line_starting(r.out, prefix));
    }
    CU_ASSERT(strstr(r.out, "--threads") == NULL);
    CU_ASSERT(strstr(r.out, "--pitfall") == NULL);
    CU_ASSERT(strstr(r.out, "--lock-strategy") == NULL);
    CU_ASSERT(strstr(r.out, "--watchdog") == NULL);
    CU_ASSERT(strstr(r.out, "(default 7001)") != NULL);
    CU_ASSERT(strstr(r.out, "(default 127.0.0.1)") != NULL);
    CU_ASSERT(strstr(r.out, "(default 10000)") != NULL);
    CU_ASSERT(strstr(r.out, "(default info)") != NULL);

    PARSE(&r, &stage2, "--help");
    CU_ASSERT_EQUAL(r.rc, 1);
    CU_ASSERT(has_line_starting(r.out, "Usage: stage2-pool [OPTIONS]"));
    CU_ASSERT(has_line_starting(r.out, "  --threads N "));
    CU_ASSERT(strstr(r.out, "worker threads in the pool, 1 to 1024 (default 4)") != NULL);
    CU_ASSERT(strstr(r.out, "(default 7002)") != NULL);
    CU_ASSERT(strstr(r.out, "--pitfall") == NULL);
    CU_ASSERT(strstr(r.out, "--lock-strategy") == NULL);

    PARSE(&r, &stage4, "--log-level", "debug", "--help");
    CU_ASSERT_EQUAL(r.rc, 1);
    CU_ASSERT(has_line_starting(r.out, "  --threads N "));
    CU_ASSERT(has_line_starting(r.out, "  --pitfall NAME "));
    CU_ASSERT(has_line_starting(r.out, "  --lock-strategy S "));
    CU_ASSERT(strstr(r.out, "mutex-across-callback or lock-during-work") != NULL);
    CU_ASSERT(strstr(r.out, "copy or queue (default copy)") != NULL);
    CU_ASSERT(has_line_starting(r.out, "  --watchdog MODE "));
    CU_ASSERT(has_line_starting(r.out, "  --watchdog-ms N "));
    CU_ASSERT(strstr(r.out, "warn (report, wait on) or exit; off: no watchdog (default warn)") !=
              NULL);
    CU_ASSERT(strstr(r.out, "1 to 60000 (default 1000)") != NULL);
    CU_ASSERT(strstr(r.out, "(default 2)") != NULL);
    CU_ASSERT(strstr(r.out, "(default 7004)") != NULL);
    CU_ASSERT_STRING_EQUAL(r.err, "");
}

/* ==== Suites ============================================================ */

static CU_TestInfo value_tests[] = {
    {"defaults", test_defaults},
    {"every option, both spellings", test_every_option},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo error_tests[] = {
    {"bad numbers", test_bad_numbers},
    {"bad words", test_bad_words},
    {"options the stage does not offer", test_unsupported_options},
    {"bad syntax", test_bad_syntax},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo info_tests[] = {
    {"--version", test_version},
    {"--help", test_help},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"opts values", NULL, NULL, NULL, NULL, value_tests},
    {"opts errors", NULL, NULL, NULL, NULL, error_tests},
    {"opts help", NULL, NULL, NULL, NULL, info_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
