/* Unit tests of common/info.c: INFO's sections, their order and fields. */

#include "cmd_fixture.h"
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const reply_case_t reply_cases[] = {
    /* INFO with a section that does not exist */
    {REDIS, {B("INFO"), B("nosuch")}, B("$0\r\n\r\n")},
};

static void test_info_table(void)
{
    cmd_env_t env = fixture_env();
    fixture_run_cases(reply_cases, sizeof reply_cases / sizeof reply_cases[0], &env);
}

/* ==== INFO ============================================================== */

/* Returns the bulk payload of an INFO reply as a NUL-terminated copy. */
static char *info_payload(const buf_t *out)
{
    CU_ASSERT_FATAL(out->len >= 5 && out->data[0] == '$');
    char *end;
    long n = strtol(out->data + 1, &end, 10);
    CU_ASSERT_FATAL(n >= 0 && end[0] == '\r' && end[1] == '\n');
    const char *body = end + 2;
    CU_ASSERT_FATAL((size_t)(body - out->data) + (size_t)n + 2 == out->len);
    CU_ASSERT(memcmp(body + n, "\r\n", 2) == 0);
    char *text = malloc((size_t)n + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    memcpy(text, body, (size_t)n);
    text[n] = '\0';
    return text;
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static long long info_field(const char *text, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, "\r\n%s:", name);
    const char *p = strstr(text, key);
    if (p == NULL)
        return -1;
    return strtoll(p + strlen(key), NULL, 10);
}

static void test_info_all(void)
{
    store_t *s = store_new();
    store_set(s, "a", 1, "1", 1);
    store_set(s, "b", 1, "2", 1);
    cmd_env_t env = fixture_env();
    env.port = 7001;
    env.start_ms -= 3500; /* started 3.5 s ago */
    buf_t out = BUF_INIT;

    RUN(s, &env, &out, "INFO");
    char *text = info_payload(&out);
    const char *expected_order[] = {"# Server\r\n",          "\r\n\r\n# Clients\r\n",
                                    "\r\n\r\n# Threads\r\n", "\r\n\r\n# Memory\r\n",
                                    "\r\n\r\n# Stage\r\n",   "\r\n\r\n# Keyspace\r\n"};
    const char *at = text;
    CU_ASSERT(starts_with(text, "# Server\r\n"));
    for (size_t i = 0; i < sizeof expected_order / sizeof expected_order[0]; i++) {
        const char *p = strstr(at, expected_order[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        at = p + 1;
    }
    CU_ASSERT(strstr(text, "\r\nstaged_ports_version:1.0\r\n") != NULL);
    CU_ASSERT(strstr(text, "\r\nstage:test-stage\r\n") != NULL);
    CU_ASSERT_EQUAL(info_field(text, "process_id"), (long long)getpid());
    CU_ASSERT_EQUAL(info_field(text, "tcp_port"), 7001);
    CU_ASSERT_EQUAL(info_field(text, "uptime_in_seconds"), 3);
    CU_ASSERT_EQUAL(info_field(text, "maxclients"), 10000);
    CU_ASSERT(info_field(text, "thread_count") >= 1);
    CU_ASSERT(info_field(text, "used_memory_rss") > 1024 * 1024);
    CU_ASSERT(info_field(text, "used_memory_rss") % 1024 == 0);
    CU_ASSERT(strstr(text, "# Stage\r\ntest_hook:42\r\n\r\n# Keyspace\r\n") != NULL);
    CU_ASSERT(strstr(text, "# Keyspace\r\nkeys:2\r\n") != NULL);
    /* The last line ends the text: no blank line after it. */
    size_t len = strlen(text);
    CU_ASSERT(len > 4 && strcmp(text + len - 10, "\r\nkeys:2\r\n") == 0);
    /* No line is empty except the separators, every line is name:value. */
    CU_ASSERT(strstr(text, "\r\n\r\n\r\n") == NULL);
    free(text);

    /* ALL, everything and default give every section too. */
    const char *every[] = {"all", "EVERYTHING", "Default"};
    for (size_t i = 0; i < 3; i++) {
        fixture_run_strs(s, &env, &out, 2, (const char *const[]){"INFO", every[i]});
        text = info_payload(&out);
        CU_ASSERT(starts_with(text, "# Server\r\n"));
        CU_ASSERT(strstr(text, "\r\n\r\n# Keyspace\r\nkeys:2\r\n") != NULL);
        CU_ASSERT(strstr(text, "\r\n\r\n# Threads\r\n") != NULL);
        free(text);
    }

    /* No stage hook: the section is only its title. */
    env.info = NULL;
    RUN(s, &env, &out, "INFO", "stage");
    REPLY_IS(&out, "$9\r\n# Stage\r\n\r\n");

    buf_free(&out);
    store_free(s);
}

static void test_info_sections(void)
{
    store_t *s = store_new();
    cmd_env_t env = fixture_env();
    buf_t out = BUF_INIT;

    RUN(s, &env, &out, "INFO", "server");
    char *text = info_payload(&out);
    CU_ASSERT(starts_with(text, "# Server\r\nstaged_ports_version:1.0\r\nstage:test-stage\r\n"));
    CU_ASSERT(strstr(text, "# Clients") == NULL);
    CU_ASSERT(strstr(text, "keys:") == NULL);
    CU_ASSERT(strstr(text, "\r\n\r\n") == NULL);
    free(text);

    RUN(s, &env, &out, "info", "KEYSPACE");
    REPLY_IS(&out, "$20\r\n# Keyspace\r\nkeys:0\r\n\r\n");
    RUN(s, &env, &out, "INFO", "clients");
    REPLY_IS(&out, "$29\r\n# Clients\r\nmaxclients:10000\r\n\r\n");
    RUN(s, &env, &out, "INFO", "Stage");
    REPLY_IS(&out, "$23\r\n# Stage\r\ntest_hook:42\r\n\r\n");

    /* Several sections: in their own order, a blank line between. */
    RUN(s, &env, &out, "INFO", "keyspace", "nosuch", "clients");
    REPLY_IS(&out, "$51\r\n# Clients\r\nmaxclients:10000\r\n\r\n# Keyspace\r\nkeys:0\r\n\r\n");

    RUN(s, &env, &out, "INFO", "threads");
    text = info_payload(&out);
    CU_ASSERT(starts_with(text, "# Threads\r\nthread_count:"));
    CU_ASSERT(info_field(text, "thread_count") >= 1);
    free(text);

    RUN(s, &env, &out, "INFO", "memory");
    text = info_payload(&out);
    CU_ASSERT(starts_with(text, "# Memory\r\nused_memory_rss:"));
    CU_ASSERT(strstr(text, "# Server") == NULL);
    free(text);

    buf_free(&out);
    store_free(s);
}

/* ==== Suites ============================================================ */

static CU_TestInfo info_tests[] = {
    {"INFO reply table", test_info_table},
    {"INFO all sections", test_info_all},
    {"INFO one section", test_info_sections},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"INFO", NULL, NULL, NULL, NULL, info_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
