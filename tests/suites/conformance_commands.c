/*
 * The conformance suite, commands: every command's replies and errors,
 * byte for byte, and QUIT, INFO and DIGEST in particular.
 *
 * The conformance suite is what every stage must do, whatever its
 * concurrency model: it runs against the server binary named on the
 * command line (see tests/stages.mk) and tests only behaviour common to
 * all four stages, one topic per file (conformance_commands.c,
 * _protocol.c, _clients.c, _persistence.c, _shutdown.c).
 *
 * Every test starts its own server with --port 0 and ends by stopping it
 * with SIGTERM, asserting a clean exit 0. Replies are checked against
 * common/cmd.h's contract; the rows marked REDIS are byte-identical to
 * what redis-server 7.0.15 sends for the same request.
 */

#include "harness.h"
#include "support/client.h"
#include "support/expect.h"
#include "support/payload.h"
#include "support/server.h"

#include "buf.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ==== Commands: every reply and error, byte for byte ===================== */

enum { REDIS, OURS }; /* whether redis-server 7.0.15 sends the same bytes */

typedef struct command_case {
    int source;
    const char *request; /* inline form, without CRLF; no quotes, no escapes */
    const char *reply;
} command_case_t;

#define WRONG_ARGS(name) "-ERR wrong number of arguments for '" name "' command\r\n"
#define NOT_INTEGER      "-ERR value is not an integer or out of range\r\n"

/* Run in order on one connection of a fresh server: later rows depend on
 * the keys earlier rows set. */
static const command_case_t command_cases[] = {
    {REDIS, "PING", "+PONG\r\n"},
    {REDIS, "ping", "+PONG\r\n"},
    {REDIS, "PiNg", "+PONG\r\n"},
    {REDIS, "PING hello", "$5\r\nhello\r\n"},
    {REDIS, "PING a b", WRONG_ARGS("ping")},
    {REDIS, "ECHO hi", "$2\r\nhi\r\n"},
    {REDIS, "ECHO", WRONG_ARGS("echo")},
    {REDIS, "ECHO a b", WRONG_ARGS("echo")},
    {REDIS, "DBSIZE", ":0\r\n"},
    {REDIS, "DBSIZE x", WRONG_ARGS("dbsize")},
    {REDIS, "GET k", "$-1\r\n"},
    {REDIS, "SET k v", "+OK\r\n"},
    {REDIS, "GET k", "$1\r\nv\r\n"},
    {REDIS, "GET K", "$-1\r\n"}, /* keys are case-sensitive */
    {REDIS, "set k value2", "+OK\r\n"},
    {REDIS, "get k", "$6\r\nvalue2\r\n"},
    {REDIS, "SET k", WRONG_ARGS("set")},
    {REDIS, "SET k v x", "-ERR syntax error\r\n"},
    {REDIS, "GET", WRONG_ARGS("get")},
    {REDIS, "GET a b", WRONG_ARGS("get")},
    {REDIS, "EXISTS k", ":1\r\n"},
    {REDIS, "EXISTS k k nokey", ":2\r\n"},
    {REDIS, "EXISTS", WRONG_ARGS("exists")},
    {REDIS, "SET a 1", "+OK\r\n"},
    {REDIS, "DEL nokey", ":0\r\n"},
    {REDIS, "DEL k a nokey", ":2\r\n"},
    {REDIS, "EXISTS k a", ":0\r\n"},
    {REDIS, "DEL", WRONG_ARGS("del")},
    {REDIS, "INCR n", ":1\r\n"},
    {REDIS, "INCR n", ":2\r\n"},
    {REDIS, "GET n", "$1\r\n2\r\n"},
    {REDIS, "SET n -5", "+OK\r\n"},
    {REDIS, "INCR n", ":-4\r\n"},
    {REDIS, "SET s abc", "+OK\r\n"},
    {REDIS, "INCR s", NOT_INTEGER},
    {REDIS, "SET s 01", "+OK\r\n"},
    {REDIS, "INCR s", NOT_INTEGER},
    {REDIS, "SET s 1.5", "+OK\r\n"},
    {REDIS, "INCR s", NOT_INTEGER},
    {REDIS, "SET s 9223372036854775808", "+OK\r\n"},
    {REDIS, "INCR s", NOT_INTEGER},
    {REDIS, "GET s", "$19\r\n9223372036854775808\r\n"},
    {REDIS, "SET m 9223372036854775807", "+OK\r\n"},
    {REDIS, "INCR m", "-ERR increment or decrement would overflow\r\n"},
    {REDIS, "GET m", "$19\r\n9223372036854775807\r\n"},
    {REDIS, "SET m -9223372036854775808", "+OK\r\n"},
    {REDIS, "INCR m", ":-9223372036854775807\r\n"},
    {REDIS, "INCR", WRONG_ARGS("incr")},
    {REDIS, "INCR a b", WRONG_ARGS("incr")},
    {REDIS, "DBSIZE", ":3\r\n"},
    {REDIS, "CONFIG GET save", "*2\r\n$4\r\nsave\r\n$0\r\n\r\n"},
    {REDIS, "CONFIG GET appendonly", "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n"},
    {REDIS, "config get SAVE", "*2\r\n$4\r\nSAVE\r\n$0\r\n\r\n"},
    {REDIS, "CONFIG GET appendon*", "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n"},
    {REDIS, "CONFIG GET s?ve", "*2\r\n$4\r\nsave\r\n$0\r\n\r\n"},
    {REDIS, "CONFIG GET nosuch", "*0\r\n"},
    {REDIS, "CONFIG GET nosuch*", "*0\r\n"},
    {REDIS, "CONFIG", WRONG_ARGS("config")},
    {REDIS, "CONFIG GET", WRONG_ARGS("config|get")},
    {REDIS, "CONFIG FOO", "-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n"},
    {OURS, "COMMAND", "*0\r\n"},
    {REDIS, "FOO", "-ERR unknown command 'FOO', with args beginning with: \r\n"},
    {REDIS, "FOO bar baz",
     "-ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' \r\n"},
    {REDIS, "DEBUG SLEEP 0", "+OK\r\n"},
    {REDIS, "debug sleep 0.01", "+OK\r\n"},
    {REDIS, "DEBUG", WRONG_ARGS("debug")},
    {REDIS, "DEBUG FOO",
     "-ERR unknown subcommand or wrong number of arguments for 'FOO'. Try DEBUG HELP.\r\n"},
    {OURS, "DEBUG SLEEP x", "-ERR value is not a valid float\r\n"},
    {OURS, "DIGEST nokey 1", "$-1\r\n"},
    {OURS, "DIGEST n", WRONG_ARGS("digest")},
    {OURS, "DIGEST n x", NOT_INTEGER},
    {OURS, "DIGEST n 0", "-ERR rounds must be between 1 and 100000000\r\n"},
    {OURS, "SAVE", "-ERR no dump file configured: start the server with --dbfile PATH\r\n"},
    {REDIS, "SAVE x", WRONG_ARGS("save")},
    {REDIS, "PING", "+PONG\r\n"}, /* still served after all those errors */
};

#define COMMAND_CASES (sizeof command_cases / sizeof command_cases[0])

/* Turns an inline request ("SET k v") into the same request in RESP
 * multibulk form. */
static void inline_to_multibulk(const char *line, buf_t *out)
{
    const char *argv[8];
    size_t lens[8];
    size_t argc = 0;
    for (const char *p = line; *p != '\0' && argc < 8;) {
        size_t n = strcspn(p, " ");
        argv[argc] = p;
        lens[argc++] = n;
        p += n;
        p += strspn(p, " ");
    }
    client_format_command(out, argc, argv, lens);
}

static void run_command_cases(int multibulk)
{
    test_server_t srv;
    START_SERVER(&srv, NULL);
    int fd = CONNECT(srv.port);

    for (size_t i = 0; i < COMMAND_CASES; i++) {
        buf_t req = BUF_INIT;
        if (multibulk)
            inline_to_multibulk(command_cases[i].request, &req);
        else
            buf_printf(&req, "%s\r\n", command_cases[i].request);
        CU_BOOL ok = EXPECT_REPLY_BIN(fd, req.data, req.len, command_cases[i].reply,
                                      strlen(command_cases[i].reply));
        buf_free(&req);
        if (!ok)
            break; /* the rows after it depend on it */
    }
    close(fd);
    STOP_SERVER(&srv);
}

static void test_commands_inline(void)
{
    run_command_cases(0);
}

static void test_commands_multibulk(void)
{
    run_command_cases(1);
}

/* QUIT answers +OK, then the server closes the connection without running
 * anything sent after it. */
static void test_quit(void)
{
    test_server_t srv;
    START_SERVER(&srv, NULL);

    int fd = CONNECT(srv.port);
    EXPECT_REPLY(fd, "QUIT\r\n", "+OK\r\n");
    EXPECT_CLOSED(fd);
    close(fd);

    fd = CONNECT(srv.port);
    EXPECT_REPLY(fd, "*1\r\n$4\r\nquit\r\n*3\r\n$3\r\nSET\r\n$5\r\nafter\r\n$1\r\n1\r\n",
                 "+OK\r\n");
    EXPECT_CLOSED(fd);
    close(fd);

    fd = CONNECT(srv.port);
    EXPECT_REPLY(fd, "GET after\r\n", "$-1\r\n");
    close(fd);
    STOP_SERVER(&srv);
}

/* The stage's name, as INFO reports it: the binary's file name. */
static const char *stage_name(void)
{
    static char copy[256];
    snprintf(copy, sizeof copy, "%s", server_binary());
    return basename(copy);
}

/* INFO is one bulk string with the stage's name and the client count. */
static void test_info(void)
{
    test_server_t srv;
    START_SERVER(&srv, NULL);
    int a = CONNECT(srv.port);
    EXPECT_REPLY(a, "SET somekey 1\r\n", "+OK\r\n");

    buf_t reply = BUF_INIT, stage = BUF_INIT;
    CU_ASSERT_EQUAL_FATAL(client_roundtrip(a, "INFO\r\n", &reply), 0);
    /* One bulk string whose lines all end in CRLF. */
    CU_ASSERT(reply.len > 4 && reply.data[0] == '$');
    CU_ASSERT(reply.len > 4 && memcmp(reply.data + reply.len - 4, "\r\n\r\n", 4) == 0);
    buf_append(&reply, "", 1);
    buf_printf(&stage, "\r\nstage:%s\r\n", stage_name());
    buf_append(&stage, "", 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(reply.data, stage.data));
    CU_ASSERT_PTR_NOT_NULL(strstr(reply.data, "\r\nconnected_clients:1\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(reply.data, "\r\nkeys:1\r\n"));
    buf_free(&reply);
    buf_free(&stage);

    int b = CONNECT(srv.port);
    EXPECT_REPLY(b, "PING\r\n", "+PONG\r\n");
    CU_ASSERT_EQUAL(INFO_FIELD(a, "connected_clients"), 2);
    close(b);
    /* The server notices b's departure in its own time. */
    EXPECT_INFO_REACHES(a, "connected_clients", 1, 3000);
    close(a);
    STOP_SERVER(&srv);
}

/* DIGEST of a set key is the FNV-1a of common/digest.h, binary safe. */
static void test_digest(void)
{
    static const char value[] = "hello\0world\r\n";
    test_server_t srv;
    START_SERVER(&srv, NULL);
    int fd = CONNECT(srv.port);

    buf_t req = BUF_INIT, exp = BUF_INIT;
    payload_command(&req, "SET", "d", 1, value, sizeof value - 1);
    payload_command(&req, "DIGEST", "d", 1, "1", 1);
    payload_command(&req, "DIGEST", "d", 1, "1000", 4);
    buf_append_str(&exp, "+OK\r\n");
    payload_digest(&exp, value, sizeof value - 1, 1);
    payload_digest(&exp, value, sizeof value - 1, 1000);
    EXPECT_REPLY_BIN(fd, req.data, req.len, exp.data, exp.len);
    buf_free(&req);
    buf_free(&exp);

    /* An empty value hashes to the offset basis whatever the rounds. */
    EXPECT_REPLY(fd, "SET e \"\"\r\nDIGEST e 5\r\n", "+OK\r\n$16\r\ncbf29ce484222325\r\n");
    EXPECT_REPLY(fd, "DIGEST missing 1\r\n", "$-1\r\n");
    close(fd);
    STOP_SERVER(&srv);
}

/* ==== Registration ======================================================== */

static CU_TestInfo tests[] = {
    {"every command, inline", test_commands_inline},
    {"every command, multibulk", test_commands_multibulk},
    {"QUIT", test_quit},
    {"INFO", test_info},
    {"DIGEST", test_digest},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"commands", NULL, NULL, NULL, expect_teardown, tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
