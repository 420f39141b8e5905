#include "aof_fixture.h"

#include "harness.h"

#include "cmd.h"
#include "file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ==== A fresh directory per test ======================================== */

char aof_dir[256];
char aof_path[320];

void aof_fixture_setup(void)
{
    if (harness_tmpdir_create(aof_dir, sizeof aof_dir) != 0) {
        perror("harness_tmpdir_create");
        abort(); /* no directory, no test worth running */
    }
    snprintf(aof_path, sizeof aof_path, "%s/appendonly.aof", aof_dir);
}

void aof_fixture_teardown(void)
{
    harness_tmpdir_remove(aof_dir);
}

/* ==== Files =============================================================== */

long long aof_file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (long long)st.st_size : -1;
}

/* ==== Records and requests =============================================== */

void rec_append(buf_t *out, size_t argc, const resp_arg_t *argv)
{
    buf_printf(out, "*%zu\r\n", argc);
    for (size_t i = 0; i < argc; i++) {
        buf_printf(out, "$%zu\r\n", argv[i].len);
        buf_append(out, argv[i].ptr, argv[i].len);
        buf_append(out, "\r\n", 2);
    }
}

void aof_run(store_t *s, buf_t *out, buf_t *log, size_t argc, const resp_arg_t *argv)
{
    static const cmd_env_t env = {.stage = "test-stage", .bind = "127.0.0.1"};
    buf_clear(out);
    const cmd_t *c = cmd_lookup(argc, argv, out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c); /* the tests run only commands that exist */
    cmd_call(c, argc, argv, s, &env, out, log);
}

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

int aof_bytes_are(const char *what, const char *p, size_t n, const char *want, size_t wlen)
{
    if (n == wlen && (n == 0 || memcmp(p, want, n) == 0))
        return 1;
    fprintf(stderr, "\n    %s differs:\n", what);
    print_escaped("got: ", p, n);
    print_escaped("want:", want, wlen);
    return 0;
}

int aof_value_is(const store_t *s, const char *key, size_t klen, const char *val, size_t vlen)
{
    const char *got;
    size_t glen;
    if (store_get(s, key, klen, &got, &glen) != 0)
        return -1;
    return aof_bytes_are("value", got, glen, val, vlen);
}
