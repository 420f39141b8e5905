/*
 * The command table, lookup, and the commands on keys and the connection.
 * CONFIG GET lives in config.c, INFO in info.c, the slow commands (DEBUG
 * SLEEP, DIGEST, SAVE) in cmd_job.c.
 */

#include "cmd.h"

#include "aof.h"
#include "arg.h"
#include "config.h"
#include "info.h"
#include "num.h"

#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

/* ==== Keys: GET SET DEL EXISTS INCR DBSIZE ============================== */

/* A write changed the store: its record goes to the append-only file. */
static void record_write(const cmd_ctx_t *ctx)
{
    if (ctx->log != NULL)
        aof_add_command(ctx->log, ctx->argc, ctx->argv);
}

static void get_command(const cmd_ctx_t *ctx)
{
    const resp_arg_t *key = &ctx->argv[1];
    const char *val;
    size_t vlen;
    if (store_get(ctx->store, key->ptr, key->len, &val, &vlen) == 0)
        resp_add_bulk(ctx->out, val, vlen);
    else
        resp_add_null(ctx->out);
}

static void set_command(const cmd_ctx_t *ctx)
{
    const resp_arg_t *argv = ctx->argv;
    /* We take no options; Redis answers an option it does not know so. */
    if (ctx->argc > 3) {
        resp_add_error(ctx->out, "ERR syntax error");
        return;
    }
    store_set(ctx->store, argv[1].ptr, argv[1].len, argv[2].ptr, argv[2].len);
    record_write(ctx);
    resp_add_simple(ctx->out, "OK");
}

static void del_command(const cmd_ctx_t *ctx)
{
    long long deleted = 0;
    for (size_t i = 1; i < ctx->argc; i++)
        if (store_del(ctx->store, ctx->argv[i].ptr, ctx->argv[i].len) == 0)
            deleted++;
    if (deleted > 0) /* replayed, the keys that were not there are no-ops again */
        record_write(ctx);
    resp_add_int(ctx->out, deleted);
}

static void exists_command(const cmd_ctx_t *ctx)
{
    long long found = 0; /* a key named twice counts twice, as in Redis */
    const char *val;
    size_t vlen;
    for (size_t i = 1; i < ctx->argc; i++)
        if (store_get(ctx->store, ctx->argv[i].ptr, ctx->argv[i].len, &val, &vlen) == 0)
            found++;
    resp_add_int(ctx->out, found);
}

static void incr_command(const cmd_ctx_t *ctx)
{
    const resp_arg_t *key = &ctx->argv[1];
    long long value = 0;
    const char *val;
    size_t vlen;
    if (store_get(ctx->store, key->ptr, key->len, &val, &vlen) == 0 &&
        num_parse_ll(val, vlen, &value) != 0) {
        resp_add_error(ctx->out, "ERR value is not an integer or out of range");
        return;
    }
    if (value == LLONG_MAX) {
        resp_add_error(ctx->out, "ERR increment or decrement would overflow");
        return;
    }
    value++;
    char text[NUM_LL_MAX_DIGITS + 1];
    int n = snprintf(text, sizeof text, "%lld", value);
    store_set(ctx->store, key->ptr, key->len, text, (size_t)n);
    record_write(ctx);
    resp_add_int(ctx->out, value);
}

static void dbsize_command(const cmd_ctx_t *ctx)
{
    resp_add_int(ctx->out, (long long)store_count(ctx->store));
}

/* ==== Connection: PING ECHO QUIT COMMAND ================================ */

static void ping_command(const cmd_ctx_t *ctx)
{
    if (ctx->argc > 2)
        resp_add_error(ctx->out, "ERR wrong number of arguments for 'ping' command");
    else if (ctx->argc == 2)
        resp_add_bulk(ctx->out, ctx->argv[1].ptr, ctx->argv[1].len);
    else
        resp_add_simple(ctx->out, "PONG");
}

static void echo_command(const cmd_ctx_t *ctx)
{
    resp_add_bulk(ctx->out, ctx->argv[1].ptr, ctx->argv[1].len);
}

/* The stage closes the connection after the reply: CMD_CLOSE. */
static void quit_command(const cmd_ctx_t *ctx)
{
    resp_add_simple(ctx->out, "OK");
}

/* Clients such as redis-cli ask for the command table on connect; an empty
 * one tells them nothing and makes them fall back to plain behaviour. */
static void command_command(const cmd_ctx_t *ctx)
{
    resp_add_array(ctx->out, 0);
}

/* ==== The command table ================================================= */

/* A table entry: the name lookup matches (lowercase) and its length, which
 * is compared first so that most entries are rejected by one integer
 * comparison; the command; and for a container command such as CONFIG its
 * subcommands. A container's own arity demands a subcommand (-2), so the
 * container itself is never returned. */
typedef struct cmd_entry {
    const char *match;
    size_t len;
    cmd_t cmd;
    const struct cmd_entry *subs;
} cmd_entry_t;

#define ENTRY(name, arity, flags, fn)                                                              \
    {                                                                                              \
        name, sizeof(name) - 1, {name, arity, flags, fn, CMD_JOB_NONE}, NULL                       \
    }

/* A slow command: no function, the job it runs as (cmd_job.h). */
#define JOB(name, arity, flags, job)                                                               \
    {                                                                                              \
        name, sizeof(name) - 1, {name, arity, (flags) | CMD_SLOW, NULL, job}, NULL                 \
    }

/* A subcommand is named "container|sub" in errors, as in Redis. */
#define SUBENTRY(container, name, arity, flags, fn)                                                \
    {                                                                                              \
        name, sizeof(name) - 1, {container "|" name, arity, flags, fn, CMD_JOB_NONE}, NULL         \
    }

#define CONTAINER(name, subs)                                                                      \
    {                                                                                              \
        name, sizeof(name) - 1, {name, -2, 0, NULL, CMD_JOB_NONE}, subs                            \
    }

#define END_OF_TABLE                                                                               \
    {                                                                                              \
        NULL, 0, {NULL, 0, 0, NULL, CMD_JOB_NONE}, NULL                                            \
    }

static const cmd_entry_t config_subcommands[] = {
    SUBENTRY("config", "get", -3, 0, config_get_command),
    END_OF_TABLE,
};

static const cmd_entry_t cmd_table[] = {
    ENTRY("get", 2, CMD_READ, get_command),        /* GET key */
    ENTRY("set", -3, CMD_WRITE, set_command),      /* SET key value */
    ENTRY("del", -2, CMD_WRITE, del_command),      /* DEL key [key ...] */
    ENTRY("exists", -2, CMD_READ, exists_command), /* EXISTS key [key ...] */
    ENTRY("incr", 2, CMD_WRITE, incr_command),     /* INCR key */
    ENTRY("dbsize", 1, CMD_READ, dbsize_command),  /* DBSIZE */
    ENTRY("ping", -1, 0, ping_command),            /* PING [message] */
    ENTRY("echo", 2, 0, echo_command),             /* ECHO message */
    ENTRY("quit", -1, CMD_CLOSE, quit_command),    /* QUIT */
    ENTRY("command", -1, 0, command_command),      /* COMMAND [...] */
    ENTRY("info", -1, CMD_READ, info_command),     /* INFO [section ...] */
    CONTAINER("config", config_subcommands),       /* CONFIG GET pattern [pattern ...] */
    JOB("debug", -2, 0, CMD_JOB_SLEEP),            /* DEBUG SLEEP seconds */
    JOB("digest", 3, CMD_READ, CMD_JOB_DIGEST),    /* DIGEST key rounds */
    JOB("save", 1, CMD_READ, CMD_JOB_SAVE),        /* SAVE */
    END_OF_TABLE,
};

/* ==== Lookup ============================================================ */

/*
 * A linear walk, on purpose: with fifteen entries and the length compared
 * first, a lookup costs about fifteen integer comparisons and one short
 * byte comparison, which is noise next to the read(2) that brought the
 * request. A hash table would only pay off for a table Redis's size.
 */
static const cmd_entry_t *table_find(const cmd_entry_t *table, const resp_arg_t *name)
{
    for (const cmd_entry_t *e = table; e->match != NULL; e++)
        if (e->len == name->len && arg_ieq(name, e->match, e->len))
            return e;
    return NULL;
}

static void add_unknown_command(size_t argc, const resp_arg_t *argv, buf_t *out)
{
    /* Redis quotes arguments while the quoted text is shorter than 128
     * characters, each cut to what is left of the 128: the text ends at
     * most 3 characters past 128 ("'x' "). */
    char args[ARG_QUOTE_MAX + 4] = "";
    size_t len = 0;
    for (size_t i = 1; i < argc && len < ARG_QUOTE_MAX; i++) {
        int n = snprintf(args + len, sizeof args - len, "'%.*s' ",
                         arg_quote_len(&argv[i], ARG_QUOTE_MAX - len), arg_ptr(&argv[i]));
        assert(n >= 0 && (size_t)n < sizeof args - len);
        len += (size_t)n;
    }
    resp_add_errorf(out, "ERR unknown command '%.*s', with args beginning with: %s",
                    arg_quote_len(&argv[0], ARG_QUOTE_MAX), arg_ptr(&argv[0]), args);
}

static void add_unknown_subcommand(const cmd_entry_t *container, const resp_arg_t *sub, buf_t *out)
{
    char upper[16];
    size_t i;
    for (i = 0; container->match[i] != '\0' && i + 1 < sizeof upper; i++) {
        char c = container->match[i];
        upper[i] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
    }
    upper[i] = '\0';
    resp_add_errorf(out, "ERR unknown subcommand '%.*s'. Try %s HELP.",
                    arg_quote_len(sub, ARG_QUOTE_MAX), arg_ptr(sub), upper);
}

int cmd_arity_ok(const cmd_t *c, size_t argc)
{
    if (c->arity >= 0)
        return argc == (size_t)c->arity;
    return argc >= (size_t)-c->arity;
}

/* The entry argv names: a subcommand's when argv[0] is a container and
 * argc allows one. NULL when there is none; then *container is the
 * container whose subcommand was not found, or NULL. */
static const cmd_entry_t *find_entry(size_t argc, const resp_arg_t *argv,
                                     const cmd_entry_t **container)
{
    const cmd_entry_t *e = table_find(cmd_table, &argv[0]);
    *container = NULL;
    if (e == NULL || e->subs == NULL || argc < 2)
        return e;
    *container = e;
    return table_find(e->subs, &argv[1]);
}

const cmd_t *cmd_find(size_t argc, const resp_arg_t *argv)
{
    assert(argc >= 1);
    const cmd_entry_t *container;
    const cmd_entry_t *e = find_entry(argc, argv, &container);
    return e != NULL ? &e->cmd : NULL;
}

const cmd_t *cmd_lookup(size_t argc, const resp_arg_t *argv, buf_t *out)
{
    assert(argc >= 1);
    const cmd_entry_t *container;
    const cmd_entry_t *e = find_entry(argc, argv, &container);
    if (e == NULL) {
        if (container != NULL)
            add_unknown_subcommand(container, &argv[1], out);
        else
            add_unknown_command(argc, argv, out);
        return NULL;
    }
    if (!cmd_arity_ok(&e->cmd, argc)) {
        resp_add_errorf(out, "ERR wrong number of arguments for '%s' command", e->cmd.name);
        return NULL;
    }
    return &e->cmd;
}

void cmd_call(const cmd_t *c, size_t argc, const resp_arg_t *argv, store_t *s, const cmd_env_t *env,
              buf_t *out, buf_t *log)
{
    assert(c->fn != NULL && !(c->flags & CMD_SLOW));
    cmd_ctx_t ctx = {argc, argv, s, env, out, log};
    c->fn(&ctx);
}
