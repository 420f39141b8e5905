#include "harness.h"

#include <CUnit/Basic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int harness_argc;
char **harness_argv;

static unsigned test_timeout_s = 60;

long long harness_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Each suite's own per-test set-up and tear-down, which the harness wraps
 * to arm and disarm the per-test alarm. (CUnit's basic mode replaces any
 * test start handler we could install, so the suite hooks are the place.) */
typedef struct suite_hooks {
    CU_pSuite suite;
    CU_SetUpFunc setup;
    CU_TearDownFunc teardown;
} suite_hooks_t;

static suite_hooks_t *hooks;
static size_t hooks_count;

static void timeout_handler(int sig)
{
    (void)sig;
    /* write(2) and _exit(2) only: we are in a signal handler. The test
     * pointer is read without a lock; the process is about to end. */
    CU_pTest test = CU_get_current_test();
    const char *name = test != NULL ? test->pName : "(set-up or tear-down)";
    static const char pre[] = "\nharness: test '";
    static const char post[] = "' exceeded its time limit (HARNESS_TEST_TIMEOUT); failing\n";
    ssize_t rc = write(STDERR_FILENO, pre, sizeof pre - 1);
    rc = write(STDERR_FILENO, name, strlen(name));
    rc = write(STDERR_FILENO, post, sizeof post - 1);
    (void)rc;
    _exit(1);
}

static const suite_hooks_t *current_hooks(void)
{
    CU_pSuite suite = CU_get_current_suite();
    for (size_t i = 0; i < hooks_count; i++)
        if (hooks[i].suite == suite)
            return &hooks[i];
    return NULL;
}

static void harness_setup(void)
{
    alarm(test_timeout_s);
    const suite_hooks_t *h = current_hooks();
    if (h != NULL && h->setup != NULL)
        h->setup();
}

static void harness_teardown(void)
{
    const suite_hooks_t *h = current_hooks();
    if (h != NULL && h->teardown != NULL)
        h->teardown();
    alarm(0);
}

static int wrap_suites(void)
{
    size_t n = 0;
    for (CU_pSuite s = CU_get_registry()->pSuite; s != NULL; s = s->pNext)
        n++;
    hooks = calloc(n ? n : 1, sizeof *hooks);
    if (hooks == NULL)
        return -1;
    for (CU_pSuite s = CU_get_registry()->pSuite; s != NULL; s = s->pNext) {
        hooks[hooks_count++] = (suite_hooks_t){s, s->pSetUpFunc, s->pTearDownFunc};
        s->pSetUpFunc = harness_setup;
        s->pTearDownFunc = harness_teardown;
    }
    return 0;
}

static int run(const char *suite_name, const char *test_name)
{
    CU_pSuite suite = NULL;
    if (suite_name != NULL || test_name != NULL) {
        for (suite = CU_get_registry()->pSuite; suite != NULL; suite = suite->pNext) {
            if (suite_name != NULL && strcmp(suite->pName, suite_name) != 0)
                continue;
            if (test_name == NULL)
                return CU_basic_run_suite(suite);
            CU_pTest test = CU_get_test_by_name(test_name, suite);
            if (test != NULL)
                return CU_basic_run_test(suite, test);
        }
        fprintf(stderr, "harness: no suite '%s' with test '%s'\n", suite_name ? suite_name : "*",
                test_name ? test_name : "*");
        return -1;
    }
    return CU_basic_run_tests();
}

int harness_main(int argc, char **argv, CU_SuiteInfo *suites)
{
    const char *suite_name = NULL, *test_name = NULL;
    const char *timeout = getenv("HARNESS_TEST_TIMEOUT");
    if (timeout != NULL && atoi(timeout) > 0)
        test_timeout_s = (unsigned)atoi(timeout);

    /* Keep the arguments that are not ours for the test file. */
    harness_argv = calloc((size_t)argc + 1, sizeof *harness_argv);
    if (harness_argv == NULL)
        return 1;
    harness_argv[harness_argc++] = argv[0];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
            suite_name = argv[++i];
        else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc)
            test_name = argv[++i];
        else
            harness_argv[harness_argc++] = argv[i];
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = timeout_handler;
    sigaction(SIGALRM, &sa, NULL);
    /* Tests talk to servers over sockets: a peer that has gone must show
     * up as EPIPE in the test, not kill the test binary. */
    signal(SIGPIPE, SIG_IGN);

    if (CU_initialize_registry() != CUE_SUCCESS) {
        fprintf(stderr, "harness: %s\n", CU_get_error_msg());
        free(harness_argv);
        return 1;
    }
    if (CU_register_suites(suites) != CUE_SUCCESS) {
        fprintf(stderr, "harness: %s\n", CU_get_error_msg());
        CU_cleanup_registry();
        free(harness_argv);
        return 1;
    }
    if (wrap_suites() != 0) {
        CU_cleanup_registry();
        free(harness_argv);
        return 1;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);

    int rc = run(suite_name, test_name);
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed() +
                      CU_get_number_of_tests_failed();
    unsigned ran = CU_get_number_of_tests_run();
    if (rc != CUE_SUCCESS && rc != -1)
        fprintf(stderr, "harness: %s\n", CU_get_error_msg());
    CU_cleanup_registry();
    free(harness_argv);
    free(hooks);
    if (rc != CUE_SUCCESS || failed > 0 || ran == 0) {
        fprintf(stderr, "harness: FAILED (%u failure(s), %u test(s) run)\n", failed, ran);
        return 1;
    }
    return 0;
}
