#ifndef CMD_FIXTURE_H
#define CMD_FIXTURE_H

/*
 * What the unit tests of the commands share (test_cmd.c, test_config.c,
 * test_info.c, test_cmd_job.c): requests run the way a stage runs them,
 * replies compared byte for byte, and tables of request/reply cases.
 */

#include "buf.h"
#include "cmd.h"
#include "resp.h"
#include "store.h"

#include <CUnit/CUnit.h>
#include <stddef.h>

#define MAX_ARGS 40

typedef struct bytes {
    const char *p;
    size_t n;
} bytes_t;

/* A string literal with its length, so that literals may hold NUL bytes. */
#define B(s)                                                                                       \
    {                                                                                              \
        s, sizeof(s) - 1                                                                           \
    }

#define X10  "xxxxxxxxxx"
#define X100 X10 X10 X10 X10 X10 X10 X10 X10 X10 X10
#define X128 X100 X10 X10 "xxxxxxxx"

/* The environment every test starts from: stage "test-stage", port 0,
 * maxclients 10000, no dump file, started now, and a stage INFO hook that
 * adds "test_hook:42". */
cmd_env_t fixture_env(void);

/* Runs one request the way a stage does, slow commands through all four
 * job steps, and appends the reply to out. */
void fixture_run(size_t argc, const resp_arg_t *argv, store_t *s, const cmd_env_t *env, buf_t *out);

/* Clears out, then runs a request given as NUL-terminated strings. */
void fixture_run_strs(store_t *s, const cmd_env_t *env, buf_t *out, size_t argc,
                      const char *const *strs);

#define RUN(s, env, out, ...)                                                                      \
    fixture_run_strs(s, env, out, sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *),    \
                     (const char *const[]){__VA_ARGS__})

/* True when out holds exactly expected[0..len); otherwise prints both,
 * escaped, and returns 0. */
int fixture_reply_is(const buf_t *out, const char *expected, size_t len);

#define REPLY_IS(out, lit) CU_ASSERT(fixture_reply_is(out, lit, sizeof(lit) - 1))

/*
 * A request and the exact bytes of its reply. REDIS marks a case checked
 * against redis-server 7.0.15 (started with --port 0 --bind 127.0.0.1
 * --databases 1 --save '' --appendonly no --enable-debug-command yes): the
 * REDIS cases of each table, sent in order to a fresh server, got these
 * bytes exactly. OURS marks commands or answers Redis does not have.
 */
enum { OURS = 0, REDIS = 1 };

typedef struct reply_case {
    int redis;
    bytes_t argv[MAX_ARGS]; /* up to the first {NULL, 0} */
    bytes_t reply;
} reply_case_t;

/* The number of arguments of a case. */
size_t fixture_case_argc(const reply_case_t *rc);

/* Runs the cases in order against one fresh store (later cases see what
 * earlier ones wrote) with env, failing the test on every reply that
 * differs, with the case's index and arguments. */
void fixture_run_cases(const reply_case_t *cases, size_t count, const cmd_env_t *env);

#endif /* CMD_FIXTURE_H */
