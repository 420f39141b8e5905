#include "harness.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <ftw.h>
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

int harness_tmpdir_create(char *out, size_t cap)
{
    const char *base = getenv("TMPDIR");
    if (base == NULL || *base == '\0')
        base = "/tmp";
    if ((size_t)snprintf(out, cap, "%s/staged-ports-XXXXXX", base) >= cap)
        return -ENAMETOOLONG;
    return mkdtemp(out) != NULL ? 0 : -errno;
}

static int remove_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void harness_tmpdir_remove(const char *dir)
{
    nftw(dir, remove_cb, 16, FTW_DEPTH | FTW_PHYS);
}

int harness_capture_start(harness_capture_t *c, FILE *stream)
{
    fflush(stream);
    c->stream = stream;
    c->file = tmpfile();
    if (c->file == NULL)
        return -errno;
    c->saved_fd = dup(fileno(stream));
    if (c->saved_fd < 0 || dup2(fileno(c->file), fileno(stream)) < 0) {
        int err = -errno;
        if (c->saved_fd >= 0)
            close(c->saved_fd);
        fclose(c->file);
        return err;
    }
    return 0;
}

char *harness_capture_stop(harness_capture_t *c)
{
    fflush(c->stream);
    dup2(c->saved_fd, fileno(c->stream));
    close(c->saved_fd);
    long size = ftell(c->file);
    char *text = size >= 0 ? malloc((size_t)size + 1) : NULL;
    rewind(c->file);
    if (text != NULL) {
        size_t n = fread(text, 1, (size_t)size, c->file);
        text[n] = '\0';
    }
    fclose(c->file);
    return text;
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
    unsigned asserts_failed = CU_get_number_of_failures();
    unsigned suites_failed = CU_get_number_of_suites_failed();
    unsigned tests_failed = CU_get_number_of_tests_failed();
    unsigned failed = asserts_failed + suites_failed + tests_failed;
    unsigned ran = CU_get_number_of_tests_run();
    if (rc != CUE_SUCCESS && rc != -1)
        fprintf(stderr, "harness: %s\n", CU_get_error_msg());
    CU_cleanup_registry();
    free(harness_argv);
    free(hooks);
    if (rc != CUE_SUCCESS || failed > 0 || ran == 0) {
        fprintf(stderr,
                "harness: FAILED (%u of %u test(s) failed, %u failed assertion(s), %u suite(s) "
                "whose set-up or teardown failed)\n",
                tests_failed, ran, asserts_failed, suites_failed);
        return 1;
    }
    return 0;
}
