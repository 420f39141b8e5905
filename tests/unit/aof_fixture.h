#ifndef AOF_FIXTURE_H
#define AOF_FIXTURE_H

#include "dump_fixture.h" /* write_raw(), read_raw(): the same files, read and written raw */

/*
 * What the unit tests of the append-only file share (test_aof.c,
 * test_aof_replay.c, test_aof_reader.c): a fresh directory per test with
 * the log's path in it, whole files written, read and measured without
 * common/'s code, records made by hand in the format (not by
 * aof_add_command(), so that a change to the encoder shows up as a failing
 * test), and requests run the way a stage runs them, with a log buffer.
 */

#include "buf.h"
#include "resp.h"
#include "store.h"

#include <CUnit/CUnit.h>
#include <stddef.h>

/* One argument from a string literal, NUL bytes included. */
#define A(s)                                                                                       \
    {                                                                                              \
        s, sizeof(s) - 1                                                                           \
    }

/* argc and argv from arguments made with A(): ARGV(A("SET"), A("k"), A("v")). */
#define ARGV(...)                                                                                  \
    sizeof((const resp_arg_t[]){__VA_ARGS__}) / sizeof(resp_arg_t), (const resp_arg_t[])           \
    {                                                                                              \
        __VA_ARGS__                                                                                \
    }

/* A literal as data and length, NUL bytes included: f(D("a\0b")). */
#define D(s) s, sizeof(s) - 1

/* The start of the reader's messages (reader.h), as the expectations of
 * test_aof_replay.c and test_aof_reader.c spell them. */
#define EXP_DOLLAR(n) "expected \"$\" (the start of argument " n "), found "
#define EXP_CRLF(n)   "expected \"\\r\\n\" (after the " n "), found "
#define EXP_STAR      "expected \"*\" (the start of a command), found "

/* The test's directory, and aof_dir/appendonly.aof, the log the tests use. */
extern char aof_dir[256];
extern char aof_path[320];

/* For CU_SuiteInfo's per-test set-up and tear-down: create the directory
 * (a run that cannot aborts), and remove it with everything in it. */
void aof_fixture_setup(void);
void aof_fixture_teardown(void);

/* The size of the file at p as stat() sees it, or -1 when there is none. */
long long aof_file_size(const char *p);

/* Appends one record as the format says: "*<argc>\r\n", then
 * "$<len>\r\n<bytes>\r\n" for each argument. */
void rec_append(buf_t *out, size_t argc, const resp_arg_t *argv);

/* Runs one request as a stage does: cmd_lookup(), then cmd_call() with
 * log (which may be NULL). out is cleared first; log is not, so that the
 * records of several requests follow each other. */
void aof_run(store_t *s, buf_t *out, buf_t *log, size_t argc, const resp_arg_t *argv);

/* 1 when p[0..n) is exactly want[0..wlen); otherwise prints both, escaped,
 * labelled with what, and returns 0. */
int aof_bytes_are(const char *what, const char *p, size_t n, const char *want, size_t wlen);

#define BUF_IS(b, lit) CU_ASSERT(aof_bytes_are(#b, (b)->data, (b)->len, lit, sizeof(lit) - 1))

/* 1 when s holds key[0..klen) with the value val[0..vlen) exactly, 0
 * (reported) when it holds another value, -1 when it holds no such key. */
int aof_value_is(const store_t *s, const char *key, size_t klen, const char *val, size_t vlen);

#define VALUE_IS(s, key, val)                                                                      \
    CU_ASSERT(aof_value_is(s, key, sizeof(key) - 1, val, sizeof(val) - 1) == 1)

#define ABSENT(s, key) CU_ASSERT(aof_value_is(s, key, sizeof(key) - 1, NULL, 0) == -1)

/* Stores are compared with dump_fixture.h's stores_equal(). */

#endif /* AOF_FIXTURE_H */
