/* Unit tests of common/cmd.c: the command table, lookup, and the replies of
 * the key and connection commands and of unknown commands, byte for byte.
 * CONFIG GET, INFO and the slow commands have their own files. */

#include "cmd_fixture.h"
#include "harness.h"

#include <stdio.h>
#include <string.h>

#define A10  "aaaaaaaaaa"
#define A100 A10 A10 A10 A10 A10 A10 A10 A10 A10 A10
#define A124 A100 A10 A10 "aaaa"
#define AB5  B("ab"), B("ab"), B("ab"), B("ab"), B("ab")

/* ==== The reply table =================================================== */

/* Each case is one request and the exact bytes of its reply, run in order
 * against one store (see reply_case_t in cmd_fixture.h). */
static const reply_case_t reply_cases[] = {
    /* PING, ECHO */
    {REDIS, {B("PING")}, B("+PONG\r\n")},
    {REDIS, {B("ping"), B("hello")}, B("$5\r\nhello\r\n")},
    {REDIS,
     {B("PING"), B("a"), B("b")},
     B("-ERR wrong number of arguments for 'ping' command\r\n")},
    {REDIS, {B("ECHO"), B("hi\0x")}, B("$4\r\nhi\0x\r\n")},
    {REDIS, {B("ECHO"), B("")}, B("$0\r\n\r\n")},
    {REDIS, {B("ECHO")}, B("-ERR wrong number of arguments for 'echo' command\r\n")},
    {REDIS,
     {B("ECHO"), B("a"), B("b")},
     B("-ERR wrong number of arguments for 'echo' command\r\n")},

    /* GET, SET */
    {REDIS, {B("GET"), B("k")}, B("$-1\r\n")},
    {REDIS, {B("SET"), B("k"), B("v1")}, B("+OK\r\n")},
    {REDIS, {B("get"), B("k")}, B("$2\r\nv1\r\n")},
    {REDIS, {B("SET"), B("k"), B("v2")}, B("+OK\r\n")},
    {REDIS, {B("GeT"), B("k")}, B("$2\r\nv2\r\n")},
    {REDIS, {B("SET"), B("bin\0key"), B("a\0b\r\nc")}, B("+OK\r\n")},
    {REDIS, {B("GET"), B("bin\0key")}, B("$6\r\na\0b\r\nc\r\n")},
    {REDIS, {B("GET"), B("bin")}, B("$-1\r\n")},
    {REDIS, {B("SET"), B("empty"), B("")}, B("+OK\r\n")},
    {REDIS, {B("GET"), B("empty")}, B("$0\r\n\r\n")},
    {REDIS, {B("SET"), B("k"), B("v"), B("x")}, B("-ERR syntax error\r\n")},
    {OURS, {B("SET"), B("k"), B("v"), B("EX"), B("10")}, B("-ERR syntax error\r\n")},
    {REDIS, {B("GET"), B("k")}, B("$2\r\nv2\r\n")},
    {REDIS, {B("GET")}, B("-ERR wrong number of arguments for 'get' command\r\n")},
    {REDIS, {B("GET"), B("a"), B("b")}, B("-ERR wrong number of arguments for 'get' command\r\n")},
    {REDIS, {B("SET")}, B("-ERR wrong number of arguments for 'set' command\r\n")},
    {REDIS, {B("SET"), B("k")}, B("-ERR wrong number of arguments for 'set' command\r\n")},

    /* DBSIZE, EXISTS, DEL */
    {REDIS, {B("DBSIZE")}, B(":3\r\n")},
    {REDIS, {B("DBSIZE"), B("x")}, B("-ERR wrong number of arguments for 'dbsize' command\r\n")},
    {REDIS, {B("EXISTS"), B("k")}, B(":1\r\n")},
    {REDIS, {B("EXISTS"), B("nokey")}, B(":0\r\n")},
    {REDIS, {B("EXISTS"), B("k"), B("k"), B("nokey"), B("empty"), B("k")}, B(":4\r\n")},
    {REDIS, {B("EXISTS")}, B("-ERR wrong number of arguments for 'exists' command\r\n")},
    {REDIS, {B("SET"), B("d1"), B("1")}, B("+OK\r\n")},
    {REDIS, {B("SET"), B("d2"), B("2")}, B("+OK\r\n")},
    {REDIS, {B("DEL"), B("d1"), B("d1"), B("nokey"), B("d2"), B("empty")}, B(":3\r\n")},
    {REDIS, {B("DEL"), B("d1")}, B(":0\r\n")},
    {REDIS, {B("EXISTS"), B("d1"), B("d2"), B("empty")}, B(":0\r\n")},
    {REDIS, {B("DBSIZE")}, B(":2\r\n")},
    {REDIS, {B("DEL")}, B("-ERR wrong number of arguments for 'del' command\r\n")},

    /* INCR: Redis's string2ll rules, overflow */
    {REDIS, {B("INCR"), B("n")}, B(":1\r\n")},
    {REDIS, {B("INCR"), B("n")}, B(":2\r\n")},
    {REDIS, {B("GET"), B("n")}, B("$1\r\n2\r\n")},
    {REDIS, {B("SET"), B("n"), B("-1")}, B("+OK\r\n")},
    {REDIS, {B("INCR"), B("n")}, B(":0\r\n")},
    {REDIS, {B("GET"), B("n")}, B("$1\r\n0\r\n")},
    {REDIS, {B("SET"), B("n"), B("01")}, B("+OK\r\n")},
    {REDIS, {B("INCR"), B("n")}, B("-ERR value is not an integer or out of range\r\n")},
    {REDIS, {B("SET"), B("n"), B(" 1")}, B("+OK\r\n")},
    {REDIS, {B("INCR"), B("n")}, B("-ERR value is not an integer or out of range\r\n")},
    {REDIS, {B("SET"), B("n"), B("1 ")}, B("+OK\r\n")},
    {REDIS, {B("INCR"), B("n")}, B("-ERR value is not an integer or out of range\r\n")},
    {REDIS, {B("SET"), B("n"), B("+1")}, B("+OK\r\n")},
    {REDIS, {B("INCR"), B("n")}, B("-ERR value is not an integer or out of range\r\n")},
    {REDIS, {B("SET"), B("n"), B("-0")}, B("+OK\r\n")},
    {REDIS, {B("INCR"), B("n")}, B("-ERR value is not an integer or out of range\r\n")},
    {REDIS, {B("SET"), B("n"), B("1.5")}, B("+OK\r\n")},
    {REDIS, {B("INCR"), B("n")}, B("-ERR value is not an integer or out of range\r\n")},
    {REDIS, {B("SET"), B("n"), B("")}, B("+OK\r\n")},
    {REDIS, {B("INCR"), B("n")}, B("-ERR value is not an integer or out of range\r\n")},
    {REDIS, {B("SET"), B("n"), B("9223372036854775808")}, B("+OK\r\n")},
    {REDIS, {B("INCR"), B("n")}, B("-ERR value is not an integer or out of range\r\n")},
    {REDIS, {B("SET"), B("n"), B("9223372036854775806")}, B("+OK\r\n")},
    {REDIS, {B("INCR"), B("n")}, B(":9223372036854775807\r\n")},
    {REDIS, {B("INCR"), B("n")}, B("-ERR increment or decrement would overflow\r\n")},
    {REDIS, {B("GET"), B("n")}, B("$19\r\n9223372036854775807\r\n")},
    {REDIS, {B("SET"), B("n"), B("-9223372036854775808")}, B("+OK\r\n")},
    {REDIS, {B("INCR"), B("n")}, B(":-9223372036854775807\r\n")},
    {REDIS, {B("SET"), B("n"), B("-10")}, B("+OK\r\n")},
    {REDIS, {B("INCR"), B("n")}, B(":-9\r\n")},
    {REDIS, {B("SET"), B("n"), B("0")}, B("+OK\r\n")},
    {REDIS, {B("incr"), B("n")}, B(":1\r\n")},
    {REDIS, {B("INCR")}, B("-ERR wrong number of arguments for 'incr' command\r\n")},
    {REDIS,
     {B("INCR"), B("a"), B("b")},
     B("-ERR wrong number of arguments for 'incr' command\r\n")},

    /* QUIT: the stage closes the connection after the reply */
    {REDIS, {B("QUIT")}, B("+OK\r\n")},
    {REDIS, {B("quit"), B("now"), B("please")}, B("+OK\r\n")},

    /* COMMAND */
    {OURS, {B("COMMAND")}, B("*0\r\n")},
    {OURS, {B("command"), B("docs")}, B("*0\r\n")},

    /* Unknown commands: Redis quotes the name and the arguments while the
     * quoted text is shorter than 128 characters, each cut short to fit,
     * a NUL ends a string and CR/LF become spaces. */
    {REDIS, {B("foo")}, B("-ERR unknown command 'foo', with args beginning with: \r\n")},
    {REDIS, {B("")}, B("-ERR unknown command '', with args beginning with: \r\n")},
    {REDIS,
     {B("foo"), B("a"), B("b")},
     B("-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n")},
    {REDIS, {B("foo"), B("")}, B("-ERR unknown command 'foo', with args beginning with: '' \r\n")},
    {REDIS,
     {B("FOO\r\nX"), B("a\rb"), B("c\nd")},
     B("-ERR unknown command 'FOO  X', with args beginning with: 'a b' 'c d' \r\n")},
    {REDIS, {B(X128 "tail")}, B("-ERR unknown command '" X128 "', with args beginning with: \r\n")},
    {REDIS,
     {B("foo"), B(X128 "tail"), B("next")},
     B("-ERR unknown command 'foo', with args beginning with: '" X128 "' \r\n")},
    {REDIS,
     {B("foo"), B(A124 "aa"), B("b"), B("c")},
     B("-ERR unknown command 'foo', with args beginning with: '" A124 "aa' \r\n")},
    {REDIS,
     {B("foo"), B(A124 "a"), B("b"), B("c")},
     B("-ERR unknown command 'foo', with args beginning with: '" A124 "a' \r\n")},
    {REDIS,
     {B("foo"), B(A124), B("bbb"), B("c")},
     B("-ERR unknown command 'foo', with args beginning with: '" A124 "' 'b' \r\n")},
    {REDIS,
     {B("foo"), B("ab\0cd"), B("e")},
     B("-ERR unknown command 'foo', with args beginning with: 'ab' 'e' \r\n")},
    {REDIS,
     {B("fo\0o"), B("x")},
     B("-ERR unknown command 'fo', with args beginning with: 'x' \r\n")},
    {REDIS,
     {B("get\0"), B("x")},
     B("-ERR unknown command 'get', with args beginning with: 'x' \r\n")},
    {REDIS,
     {B("gets"), B("x")},
     B("-ERR unknown command 'gets', with args beginning with: 'x' \r\n")},
    {REDIS, {B("ge"), B("x")}, B("-ERR unknown command 'ge', with args beginning with: 'x' \r\n")},
    {REDIS,
     {B("foo"), AB5, AB5, AB5, AB5, AB5, AB5},
     B("-ERR unknown command 'foo', with args beginning with: 'ab' 'ab' 'ab' 'ab' 'ab' 'ab' 'ab' "
       "'ab' 'ab' 'ab' 'ab' 'ab' 'ab' 'ab' 'ab' 'ab' 'ab' 'ab' 'ab' 'ab' 'ab' 'ab' 'ab' 'ab' 'ab' "
       "'ab' \r\n")},
};

#define REPLY_CASE_COUNT (sizeof reply_cases / sizeof reply_cases[0])

static void test_reply_table(void)
{
    cmd_env_t env = fixture_env();
    fixture_run_cases(reply_cases, REPLY_CASE_COUNT, &env);
}

/* The AB5 macro above must expand to five arguments each: 30 in all, more
 * than the 26 that fit in the quoted text. */
static void test_table_self_check(void)
{
    const reply_case_t *last = &reply_cases[REPLY_CASE_COUNT - 1];
    CU_ASSERT_EQUAL(fixture_case_argc(last), 31);
}

/* ==== The table and lookup ============================================== */

static void test_lookup_flags(void)
{
    static const struct {
        const char *name;
        const char *arg; /* a second argument, or NULL */
        unsigned flags;
        int has_fn;
    } expected[] = {
        {"ping", NULL, 0, 1},
        {"echo", "x", 0, 1},
        {"get", "k", CMD_READ, 1},
        {"set", "k", CMD_WRITE, 1}, /* arity -3: checked below with a value */
        {"del", "k", CMD_WRITE, 1},
        {"exists", "k", CMD_READ, 1},
        {"incr", "k", CMD_WRITE, 1},
        {"dbsize", NULL, CMD_READ, 1},
        {"quit", NULL, CMD_CLOSE, 1},
        {"command", NULL, 0, 1},
        {"info", NULL, CMD_READ, 1},
        {"debug", "sleep", CMD_SLOW, 0},
        {"save", NULL, CMD_READ | CMD_SLOW, 0},
    };
    buf_t out = BUF_INIT;
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        resp_arg_t argv[3] = {{expected[i].name, strlen(expected[i].name)}, {"k", 1}, {"v", 1}};
        size_t argc = expected[i].arg != NULL ? 2 : 1;
        if (expected[i].arg != NULL)
            argv[1] = (resp_arg_t){expected[i].arg, strlen(expected[i].arg)};
        if (strcmp(expected[i].name, "set") == 0)
            argc = 3;
        const cmd_t *c = cmd_lookup(argc, argv, &out);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        CU_ASSERT_STRING_EQUAL(c->name, expected[i].name);
        CU_ASSERT_EQUAL(c->flags, expected[i].flags);
        CU_ASSERT_EQUAL(c->fn != NULL, expected[i].has_fn);
        CU_ASSERT_EQUAL(c->job != CMD_JOB_NONE, !expected[i].has_fn);
        CU_ASSERT_EQUAL(out.len, 0);
    }

    resp_arg_t digest[3] = {{"DIGEST", 6}, {"k", 1}, {"1", 1}};
    const cmd_t *c = cmd_lookup(3, digest, &out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(c->flags, CMD_READ | CMD_SLOW);
    CU_ASSERT_PTR_NULL(c->fn);
    CU_ASSERT_EQUAL(c->job, CMD_JOB_DIGEST);

    resp_arg_t config[3] = {{"CoNfIg", 6}, {"GeT", 3}, {"*", 1}};
    c = cmd_lookup(3, config, &out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_STRING_EQUAL(c->name, "config|get");
    CU_ASSERT_EQUAL(c->flags & (CMD_WRITE | CMD_SLOW | CMD_CLOSE), 0);
    CU_ASSERT_PTR_NOT_NULL(c->fn);
    CU_ASSERT_EQUAL(out.len, 0);

    /* Every name in any case: the same entry. */
    resp_arg_t upper[2] = {{"EXISTS", 6}, {"k", 1}};
    resp_arg_t lower[2] = {{"exists", 6}, {"k", 1}};
    CU_ASSERT_PTR_EQUAL(cmd_lookup(2, upper, &out), cmd_lookup(2, lower, &out));
    buf_free(&out);
}

/* ==== Suites ============================================================ */

static CU_TestInfo table_tests[] = {
    {"reply table", test_reply_table},
    {"table self-check", test_table_self_check},
    {"lookup flags", test_lookup_flags},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"cmd table", NULL, NULL, NULL, NULL, table_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
