/* Unit tests of common/config.c (CONFIG GET) and common/glob.c, whose
 * patterns CONFIG GET takes. */

#include "cmd_fixture.h"
#include "glob.h"
#include "harness.h"

#include <string.h>

/* ==== glob_match ======================================================== */

static int glob(const char *pattern, const char *name)
{
    return glob_match(pattern, strlen(pattern), name, strlen(name));
}

/* The rules one by one; CONFIG GET's table below checks them against
 * Redis's own answers. */
static void test_glob_rules(void)
{
    CU_ASSERT(glob("", ""));
    CU_ASSERT(!glob("", "a"));
    CU_ASSERT(glob("*", ""));
    CU_ASSERT(glob("*", "anything"));
    CU_ASSERT(glob("a*c", "abbbc"));
    CU_ASSERT(!glob("a*c", "abbbd"));
    CU_ASSERT(glob("?", "x"));
    CU_ASSERT(!glob("?", ""));
    CU_ASSERT(glob("SaVe", "save")); /* case-insensitive */
    CU_ASSERT(glob("[abc]x", "bx"));
    CU_ASSERT(!glob("[^abc]x", "bx"));
    CU_ASSERT(glob("[a-c]", "B"));
    CU_ASSERT(glob("[c-a]", "b")); /* ends in either order */
    CU_ASSERT(glob("\\*", "*"));
    CU_ASSERT(!glob("\\*", "x"));
    CU_ASSERT(glob("ab[c", "abc")); /* an unterminated set runs to the end */
    /* A NUL is a byte like any other here: the caller cuts C strings. */
    CU_ASSERT(glob_match("a?c", 3, "a\0c", 3));
}

/* Many stars against a long name that does not match: linear, not
 * exponential (this would take years with naive backtracking). */
static void test_glob_many_stars(void)
{
    char pattern[61], name[201];
    for (int i = 0; i < 60; i += 2) {
        pattern[i] = '*';
        pattern[i + 1] = 'a';
    }
    pattern[60] = '\0';
    memset(name, 'a', 200);
    name[199] = 'b';
    name[200] = '\0';
    int64_t start = harness_now_ms();
    CU_ASSERT(!glob(pattern, name));
    CU_ASSERT(harness_now_ms() - start < 1000);
}

/* ==== CONFIG GET ======================================================== */

static const reply_case_t reply_cases[] = {
    /* CONFIG */
    {REDIS, {B("CONFIG")}, B("-ERR wrong number of arguments for 'config' command\r\n")},
    {REDIS,
     {B("CONFIG"), B("GET")},
     B("-ERR wrong number of arguments for 'config|get' command\r\n")},
    {REDIS, {B("CONFIG"), B("FOO")}, B("-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n")},
    {REDIS,
     {B("config"), B("foo"), B("bar")},
     B("-ERR unknown subcommand 'foo'. Try CONFIG HELP.\r\n")},
    {REDIS,
     {B("Config"), B("set\r\nx")},
     B("-ERR unknown subcommand 'set  x'. Try CONFIG HELP.\r\n")},
    {REDIS, {B("CONFIG"), B("ab\0cd")}, B("-ERR unknown subcommand 'ab'. Try CONFIG HELP.\r\n")},
    {REDIS,
     {B("CONFIG"), B(X128 "yyy")},
     B("-ERR unknown subcommand '" X128 "'. Try CONFIG HELP.\r\n")},
    {REDIS, {B("CONFIG"), B("GET"), B("save")}, B("*2\r\n$4\r\nsave\r\n$0\r\n\r\n")},
    {REDIS, {B("CONFIG"), B("GET"), B("appendonly")}, B("*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n")},
    {REDIS, {B("config"), B("get"), B("SAVE")}, B("*2\r\n$4\r\nSAVE\r\n$0\r\n\r\n")},
    {REDIS, {B("CONFIG"), B("GET"), B("save"), B("SAVE")}, B("*2\r\n$4\r\nsave\r\n$0\r\n\r\n")},
    {REDIS,
     {B("CONFIG"), B("GET"), B("maxclients")},
     B("*2\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n")},
    {REDIS, {B("CONFIG"), B("GET"), B("port")}, B("*2\r\n$4\r\nport\r\n$1\r\n0\r\n")},
    {REDIS, {B("CONFIG"), B("GET"), B("bind")}, B("*2\r\n$4\r\nbind\r\n$9\r\n127.0.0.1\r\n")},
    {REDIS, {B("CONFIG"), B("GET"), B("databases")}, B("*2\r\n$9\r\ndatabases\r\n$1\r\n1\r\n")},
    {REDIS, {B("CONFIG"), B("GET"), B("sav?")}, B("*2\r\n$4\r\nsave\r\n$0\r\n\r\n")},
    {REDIS, {B("CONFIG"), B("GET"), B("S?V?")}, B("*2\r\n$4\r\nsave\r\n$0\r\n\r\n")},
    {REDIS,
     {B("CONFIG"), B("GET"), B("appendonl[xyz]")},
     B("*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n")},
    {REDIS,
     {B("CONFIG"), B("GET"), B("appendonl[a-z]")},
     B("*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n")},
    {REDIS,
     {B("CONFIG"), B("GET"), B("appendonl[z-a]")},
     B("*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n")},
    {REDIS, {B("CONFIG"), B("GET"), B("appendonl[^y]")}, B("*0\r\n")},
    {REDIS,
     {B("CONFIG"), B("GET"), B("appendonl[^x]")},
     B("*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n")},
    {REDIS, {B("CONFIG"), B("GET"), B("datab*")}, B("*2\r\n$9\r\ndatabases\r\n$1\r\n1\r\n")},
    {REDIS, {B("CONFIG"), B("GET"), B("databa\\ses")}, B("*0\r\n")},
    {REDIS, {B("CONFIG"), B("GET"), B("databa\\s?s")}, B("*2\r\n$9\r\ndatabases\r\n$1\r\n1\r\n")},
    {REDIS, {B("CONFIG"), B("GET"), B("sav*\0zz")}, B("*2\r\n$4\r\nsave\r\n$0\r\n\r\n")},
    {REDIS, {B("CONFIG"), B("GET"), B("save\0")}, B("*0\r\n")},
    {REDIS, {B("CONFIG"), B("GET"), B("SAV*")}, B("*2\r\n$4\r\nsave\r\n$0\r\n\r\n")},
    {REDIS, {B("CONFIG"), B("GET"), B("AppendOnly")}, B("*2\r\n$10\r\nAppendOnly\r\n$2\r\nno\r\n")},
    {REDIS, {B("CONFIG"), B("GET"), B("[S]ave")}, B("*2\r\n$4\r\nsave\r\n$0\r\n\r\n")},
    {REDIS, {B("CONFIG"), B("GET"), B("sav[e")}, B("*2\r\n$4\r\nsave\r\n$0\r\n\r\n")},
    {REDIS, {B("CONFIG"), B("GET"), B("sa[ve")}, B("*0\r\n")},
    {REDIS, {B("CONFIG"), B("GET"), B("save[")}, B("*0\r\n")},
    {REDIS, {B("CONFIG"), B("GET"), B("sav[^")}, B("*2\r\n$4\r\nsave\r\n$0\r\n\r\n")},
    {REDIS, {B("CONFIG"), B("GET"), B("s**v?")}, B("*2\r\n$4\r\nsave\r\n$0\r\n\r\n")},
    {REDIS, {B("CONFIG"), B("GET"), B("sav\\?")}, B("*0\r\n")},
    {REDIS, {B("CONFIG"), B("GET"), B("\\sav?")}, B("*2\r\n$4\r\nsave\r\n$0\r\n\r\n")},
    {REDIS, {B("CONFIG"), B("GET"), B("sav[\\e]")}, B("*2\r\n$4\r\nsave\r\n$0\r\n\r\n")},
    {REDIS, {B("CONFIG"), B("GET"), B("sav[\\E]")}, B("*0\r\n")},
    {REDIS, {B("CONFIG"), B("GET"), B("sav[\\E-F]")}, B("*0\r\n")},
    {REDIS, {B("CONFIG"), B("GET"), B("nosuchparam")}, B("*0\r\n")},
    {REDIS, {B("CONFIG"), B("GET"), B("nosuch*")}, B("*0\r\n")},
    {OURS,
     {B("CONFIG"), B("GET"), B("*")},
     B("*14\r\n$4\r\nsave\r\n$0\r\n\r\n$10\r\nappendonly\r\n$2\r\nno\r\n"
       "$10\r\nmaxclients\r\n$5\r\n10000\r\n$4\r\nport\r\n$1\r\n0\r\n"
       "$4\r\nbind\r\n$9\r\n127.0.0.1\r\n$9\r\ndatabases\r\n$1\r\n1\r\n"
       "$10\r\ndbfilename\r\n$0\r\n\r\n")},
    {OURS,
     {B("CONFIG"), B("GET"), B("*a*"), B("save")},
     B("*10\r\n$4\r\nsave\r\n$0\r\n\r\n$10\r\nappendonly\r\n$2\r\nno\r\n"
       "$10\r\nmaxclients\r\n$5\r\n10000\r\n$9\r\ndatabases\r\n$1\r\n1\r\n"
       "$10\r\ndbfilename\r\n$0\r\n\r\n")},
    {OURS,
     {B("CONFIG"), B("GET"), B("appendonly"), B("save"), B("APPENDONLY")},
     B("*4\r\n$4\r\nsave\r\n$0\r\n\r\n$10\r\nappendonly\r\n$2\r\nno\r\n")},
    {OURS,
     {B("CONFIG"), B("GET"), B("[bp]*")},
     B("*4\r\n$4\r\nport\r\n$1\r\n0\r\n$4\r\nbind\r\n$9\r\n127.0.0.1\r\n")},
    {OURS, {B("CONFIG"), B("GET"), B("dbfilename")}, B("*2\r\n$10\r\ndbfilename\r\n$0\r\n\r\n")},
};

static void test_config_table(void)
{
    cmd_env_t env = fixture_env();
    fixture_run_cases(reply_cases, sizeof reply_cases / sizeof reply_cases[0], &env);
}

/* ==== Suites ============================================================ */

static CU_TestInfo glob_tests[] = {
    {"glob rules", test_glob_rules},
    {"glob with many stars", test_glob_many_stars},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo config_tests[] = {
    {"CONFIG GET reply table", test_config_table},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"glob", NULL, NULL, NULL, NULL, glob_tests},
    {"CONFIG GET", NULL, NULL, NULL, NULL, config_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
