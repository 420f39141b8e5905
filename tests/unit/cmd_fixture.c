#include "cmd_fixture.h"

#include "cmd_job.h"
#include "harness.h"

#include <stdio.h>
#include <string.h>

static void stage_info(buf_t *out, void *arg)
{
    buf_printf(out, "test_hook:%d\r\n", *(int *)arg);
}

static int hook_value = 42;

cmd_env_t fixture_env(void)
{
    cmd_env_t env = {
        .stage = "test-stage",
        .bind = "127.0.0.1",
        .port = 0,
        .max_clients = 10000,
        .dbfile = NULL,
        .start_ms = harness_now_ms(),
        .info = stage_info,
        .info_arg = &hook_value,
    };
    return env;
}

/* Prints bytes with C escapes, for failure messages. */
static void print_escaped(const char *label, const char *p, size_t n)
{
    fprintf(stderr, "    %s \"", label);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\r')
            fputs("\\r", stderr);
        else if (c == '\n')
            fputs("\\n", stderr);
        else if (c < 32 || c >= 127 || c == '"' || c == '\\')
            fprintf(stderr, "\\x%02x", c);
        else
            fputc(c, stderr);
    }
    fputs("\"\n", stderr);
}

void fixture_run(size_t argc, const resp_arg_t *argv, store_t *s, const cmd_env_t *env, buf_t *out)
{
    const cmd_t *c = cmd_lookup(argc, argv, out);
    if (c == NULL)
        return;
    if (!(c->flags & CMD_SLOW)) {
        cmd_call(c, argc, argv, s, env, out, NULL);
        return;
    }
    cmd_job_t job;
    if (cmd_job_init(&job, c, argc, argv, env, out) != 0)
        return;
    cmd_job_read(&job, s);
    cmd_job_run(&job, NULL, NULL);
    cmd_job_reply(&job, out);
}

void fixture_run_strs(store_t *s, const cmd_env_t *env, buf_t *out, size_t argc,
                      const char *const *strs)
{
    resp_arg_t argv[MAX_ARGS];
    CU_ASSERT_FATAL(argc <= MAX_ARGS);
    for (size_t i = 0; i < argc; i++)
        argv[i] = (resp_arg_t){strs[i], strlen(strs[i])};
    buf_clear(out);
    fixture_run(argc, argv, s, env, out);
}

int fixture_reply_is(const buf_t *out, const char *expected, size_t len)
{
    if (out->len == len && memcmp(out->data, expected, len) == 0)
        return 1;
    fprintf(stderr, "\n  reply mismatch:\n");
    print_escaped("expected", expected, len);
    print_escaped("got     ", out->data != NULL ? out->data : "", out->len);
    return 0;
}

size_t fixture_case_argc(const reply_case_t *rc)
{
    size_t argc = 0;
    while (argc < MAX_ARGS && rc->argv[argc].p != NULL)
        argc++;
    return argc;
}

void fixture_run_cases(const reply_case_t *cases, size_t count, const cmd_env_t *env)
{
    store_t *s = store_new();
    buf_t out = BUF_INIT;
    for (size_t i = 0; i < count; i++) {
        const reply_case_t *rc = &cases[i];
        resp_arg_t argv[MAX_ARGS];
        size_t argc = fixture_case_argc(rc);
        for (size_t a = 0; a < argc; a++)
            argv[a] = (resp_arg_t){rc->argv[a].p, rc->argv[a].n};
        buf_clear(&out);
        fixture_run(argc, argv, s, env, &out);
        if (!fixture_reply_is(&out, rc->reply.p, rc->reply.n)) {
            fprintf(stderr, "    in case %zu:", i);
            for (size_t a = 0; a < argc; a++)
                print_escaped("", argv[a].ptr, argv[a].len);
            CU_FAIL("reply differs from the table");
        } else {
            CU_PASS("reply matches");
        }
    }
    buf_free(&out);
    store_free(s);
}
