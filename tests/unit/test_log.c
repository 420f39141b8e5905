/* Unit tests of common/log.c: the line format, the level, and rate-limited
 * messages under a clock the test sets, from one thread and from many. */

#include "harness.h"
#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ==== Helpers =========================================================== */

/* What the code between capture_begin() and capture_end() wrote to stderr.
 * An empty string when nothing was written. */
static harness_capture_t capture;
static char *captured;

static void capture_begin(void)
{
    CU_ASSERT_EQUAL_FATAL(harness_capture_start(&capture, stderr), 0);
}

static const char *capture_end(void)
{
    free(captured);
    captured = harness_capture_stop(&capture);
    CU_ASSERT_PTR_NOT_NULL_FATAL(captured);
    return captured;
}

/* How many lines text holds. */
static int count_lines(const char *text)
{
    int n = 0;
    for (const char *p = text; (p = strchr(p, '\n')) != NULL; p++)
        n++;
    return n;
}

/* Every test leaves the name and level as the harness found them. */
static void restore_log(void)
{
    log_init("staged-ports", LOGL_INFO);
    free(captured);
    captured = NULL;
}

/* ==== log_write ========================================================== */

/* name[pid] HH:MM:SS.mmm level: text, one line, newline-terminated. */
static void test_line_format(void)
{
    char expected[64];
    log_init("test-log", LOGL_INFO);
    capture_begin();
    log_warn("answer %d", 42);
    const char *text = capture_end();
    snprintf(expected, sizeof expected, "test-log[%ld] ", (long)getpid());
    CU_ASSERT_EQUAL(strncmp(text, expected, strlen(expected)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, " warn: answer 42\n"));
    CU_ASSERT_EQUAL(count_lines(text), 1);
    restore_log();
}

/* Below the level, nothing is written. */
static void test_level(void)
{
    log_init("test-log", LOGL_WARN);
    capture_begin();
    log_info("not shown");
    log_error("shown");
    const char *text = capture_end();
    CU_ASSERT_PTR_NULL(strstr(text, "not shown"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, " error: shown\n"));
    CU_ASSERT_EQUAL(count_lines(text), 1);
    restore_log();
}

/* ==== Rate-limited messages ============================================= */

/* The first message is written, the next ones within the interval are
 * not; the first one after it is, with how many were dropped. */
static void test_limited_burst(void)
{
    log_limit_t limit = LOG_LIMIT_INIT(1000);
    capture_begin();
    for (int i = 0; i < 100; i++) /* 100 messages at t = 5000..5099 ms */
        log_write_limited(&limit, 5000 + i, LOGL_WARN, "refused client %d", i);
    const char *text = capture_end();
    CU_ASSERT_EQUAL(count_lines(text), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, " warn: refused client 0\n"));

    capture_begin();
    log_write_limited(&limit, 5999, LOGL_WARN, "refused client %d", 100); /* still within */
    log_write_limited(&limit, 6000, LOGL_WARN, "refused client %d", 101); /* 1 s later */
    text = capture_end();
    CU_ASSERT_EQUAL(count_lines(text), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(
        text, " warn: refused client 101 (100 similar messages suppressed in the last 1000 ms)\n"));
    restore_log();
}

/* After a quiet interval the next message is written as it is: there is
 * nothing to count. */
static void test_limited_quiet(void)
{
    log_limit_t limit = LOG_LIMIT_INIT(1000);
    capture_begin();
    log_write_limited(&limit, 0, LOGL_WARN, "first");
    log_write_limited(&limit, 2500, LOGL_WARN, "second");
    log_write_limited(&limit, 3500, LOGL_WARN, "third");
    const char *text = capture_end();
    CU_ASSERT_EQUAL(count_lines(text), 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, " warn: first\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, " warn: second\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, " warn: third\n"));
    restore_log();
}

/* The interval counts from the last line written, and the count says how
 * long ago that was. */
static void test_limited_steady_flood(void)
{
    log_limit_t limit = LOG_LIMIT_INIT(1000);
    capture_begin();
    for (int t = 0; t < 3500; t++) /* one message a millisecond for 3.5 s */
        log_write_limited(&limit, t, LOGL_WARN, "flood");
    const char *text = capture_end();
    /* Lines at 0, 1000, 2000 and 3000 ms, each counting the 999 before it. */
    CU_ASSERT_EQUAL(count_lines(text), 4);
    const char *p = text;
    int counted = 0;
    while ((p = strstr(p, "(999 similar messages suppressed in the last 1000 ms)\n")) != NULL) {
        counted++;
        p++;
    }
    CU_ASSERT_EQUAL(counted, 3);
    restore_log();
}

/* A message below the level is neither written nor counted. */
static void test_limited_below_level(void)
{
    log_limit_t limit = LOG_LIMIT_INIT(1000);
    log_init("test-log", LOGL_ERROR);
    capture_begin();
    for (int i = 0; i < 10; i++)
        log_write_limited(&limit, i, LOGL_WARN, "hidden");
    log_init("test-log", LOGL_INFO);
    log_write_limited(&limit, 20, LOGL_WARN, "shown");
    log_write_limited(&limit, 1020, LOGL_WARN, "again");
    const char *text = capture_end();
    CU_ASSERT_PTR_NULL(strstr(text, "hidden"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, " warn: shown\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, " warn: again\n"));
    CU_ASSERT_EQUAL(count_lines(text), 2);
    restore_log();
}

/* Many threads on one limit at once: one line, and no message is lost
 * from the count. */
#define RACERS         4
#define RACER_MESSAGES 2000
static log_limit_t shared_limit = LOG_LIMIT_INIT(1000);

static void *racer_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < RACER_MESSAGES; i++)
        log_write_limited(&shared_limit, 100, LOGL_WARN, "racing");
    return NULL;
}

static void test_limited_threads(void)
{
    pthread_t tids[RACERS];
    capture_begin();
    int started = 0;
    for (int i = 0; i < RACERS; i++)
        started += pthread_create(&tids[i], NULL, racer_main, NULL) == 0;
    CU_ASSERT_EQUAL(started, RACERS);
    for (int i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    log_write_limited(&shared_limit, 1100, LOGL_WARN, "after");
    const char *text = capture_end();
    char expected[96];
    snprintf(expected, sizeof expected,
             " warn: after (%d similar messages suppressed in the last 1000 ms)\n",
             started * RACER_MESSAGES - 1);
    CU_ASSERT_EQUAL(count_lines(text), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, " warn: racing\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, expected));
    restore_log();
}

/* log_warn_limited() runs on the real clock: two messages in a row, well
 * within a minute of each other, are one line. */
static void test_limited_real_clock(void)
{
    log_limit_t limit = LOG_LIMIT_INIT(60 * 1000);
    capture_begin();
    log_warn_limited(&limit, "once %d", 1);
    log_warn_limited(&limit, "once %d", 2);
    const char *text = capture_end();
    CU_ASSERT_EQUAL(count_lines(text), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, " warn: once 1\n"));
    CU_ASSERT(log_now_ms() > 0);
    restore_log();
}

/* ==== Registration ======================================================= */

static CU_TestInfo write_tests[] = {
    {"line format", test_line_format},
    {"level", test_level},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo limited_tests[] = {
    {"a burst is one line, then a count", test_limited_burst},
    {"after a quiet interval, no count", test_limited_quiet},
    {"a steady flood: one line per interval", test_limited_steady_flood},
    {"below the level: not counted", test_limited_below_level},
    {"threads at once: one line, every message counted", test_limited_threads},
    {"the real clock", test_limited_real_clock},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"log_write", NULL, NULL, NULL, NULL, write_tests},
    {"log_write_limited", NULL, NULL, NULL, NULL, limited_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
