#include "cmd.h"

#include "alloc.h"
#include "digest.h"
#include "dump.h"
#include "num.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CMD_VERSION "1.0"

/* Redis quotes at most this many characters of a client's argument in an
 * error message (its "%.128s"). */
#define QUOTE_MAX 128

/* ==== Helpers =========================================================== */

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* True when the argument equals the lowercase name[0..len), ignoring ASCII
 * case. Binary safe: a NUL in the argument never equals a letter. */
static int arg_ieq(const resp_arg_t *a, const char *name, size_t len)
{
    if (a->len != len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (ascii_lower(a->ptr[i]) != name[i])
            return 0;
    return 1;
}

static int arg_is(const resp_arg_t *a, const char *name)
{
    return arg_ieq(a, name, strlen(name));
}

/* The precision that makes "%.*s" print an argument as Redis's "%.Ns" prints
 * its NUL-terminated copy: at most max bytes, never past the argument's end
 * (our arguments are not NUL-terminated), and stopping at a NUL inside. */
static int quote_len(const resp_arg_t *a, size_t max)
{
    return (int)(a->len < max ? a->len : max);
}

static const char *arg_ptr(const resp_arg_t *a)
{
    return a->ptr != NULL ? a->ptr : "";
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ==== Keys: GET SET DEL EXISTS INCR DBSIZE ============================== */

static void get_command(size_t argc, const resp_arg_t *argv, store_t *s, const cmd_env_t *env,
                        buf_t *out)
{
    (void)argc;
    (void)env;
    const char *val;
    size_t vlen;
    if (store_get(s, argv[1].ptr, argv[1].len, &val, &vlen) == 0)
        resp_add_bulk(out, val, vlen);
    else
        resp_add_null(out);
}

static void set_command(size_t argc, const resp_arg_t *argv, store_t *s, const cmd_env_t *env,
                        buf_t *out)
{
    (void)env;
    /* We take no options; Redis answers an option it does not know so. */
    if (argc > 3) {
        resp_add_error(out, "ERR syntax error");
        return;
    }
    store_set(s, argv[1].ptr, argv[1].len, argv[2].ptr, argv[2].len);
    resp_add_simple(out, "OK");
}

static void del_command(size_t argc, const resp_arg_t *argv, store_t *s, const cmd_env_t *env,
                        buf_t *out)
{
    (void)env;
    long long deleted = 0;
    for (size_t i = 1; i < argc; i++)
        if (store_del(s, argv[i].ptr, argv[i].len) == 0)
            deleted++;
    resp_add_int(out, deleted);
}

static void exists_command(size_t argc, const resp_arg_t *argv, store_t *s, const cmd_env_t *env,
                           buf_t *out)
{
    (void)env;
    long long found = 0; /* a key named twice counts twice, as in Redis */
    const char *val;
    size_t vlen;
    for (size_t i = 1; i < argc; i++)
        if (store_get(s, argv[i].ptr, argv[i].len, &val, &vlen) == 0)
            found++;
    resp_add_int(out, found);
}

static void incr_command(size_t argc, const resp_arg_t *argv, store_t *s, const cmd_env_t *env,
                         buf_t *out)
{
    (void)argc;
    (void)env;
    long long value = 0;
    const char *val;
    size_t vlen;
    if (store_get(s, argv[1].ptr, argv[1].len, &val, &vlen) == 0 &&
        num_parse_ll(val, vlen, &value) != 0) {
        resp_add_error(out, "ERR value is not an integer or out of range");
        return;
    }
    if (value == LLONG_MAX) {
        resp_add_error(out, "ERR increment or decrement would overflow");
        return;
    }
    value++;
    char text[NUM_LL_MAX_DIGITS + 1];
    int n = snprintf(text, sizeof text, "%lld", value);
    store_set(s, argv[1].ptr, argv[1].len, text, (size_t)n);
    resp_add_int(out, value);
}

static void dbsize_command(size_t argc, const resp_arg_t *argv, store_t *s, const cmd_env_t *env,
                           buf_t *out)
{
    (void)argc;
    (void)argv;
    (void)env;
    resp_add_int(out, (long long)store_count(s));
}

/* ==== Connection: PING ECHO QUIT COMMAND ================================ */

static void ping_command(size_t argc, const resp_arg_t *argv, store_t *s, const cmd_env_t *env,
                         buf_t *out)
{
    (void)s;
    (void)env;
    if (argc > 2)
        resp_add_error(out, "ERR wrong number of arguments for 'ping' command");
    else if (argc == 2)
        resp_add_bulk(out, argv[1].ptr, argv[1].len);
    else
        resp_add_simple(out, "PONG");
}

static void echo_command(size_t argc, const resp_arg_t *argv, store_t *s, const cmd_env_t *env,
                         buf_t *out)
{
    (void)argc;
    (void)s;
    (void)env;
    resp_add_bulk(out, argv[1].ptr, argv[1].len);
}

/* The stage closes the connection after the reply: CMD_CLOSE. */
static void quit_command(size_t argc, const resp_arg_t *argv, store_t *s, const cmd_env_t *env,
                         buf_t *out)
{
    (void)argc;
    (void)argv;
    (void)s;
    (void)env;
    resp_add_simple(out, "OK");
}

/* Clients such as redis-cli ask for the command table on connect; an empty
 * one tells them nothing and makes them fall back to plain behaviour. */
static void command_command(size_t argc, const resp_arg_t *argv, store_t *s, const cmd_env_t *env,
                            buf_t *out)
{
    (void)argc;
    (void)argv;
    (void)s;
    (void)env;
    resp_add_array(out, 0);
}

/* ==== CONFIG GET ======================================================== */

/*
 * Glob matching with Redis's rules, case-insensitive: '*' any run of
 * characters, '?' one character, "[abc]", "[^abc]", "[a-z]" (ends in either
 * order) one character of a set, '\x' the character x. An unterminated set
 * runs to the end of the pattern. Inside a set an escaped character is
 * compared exactly, as Redis does.
 *
 * The walk keeps only the position of the last '*' and retries from there,
 * so a long pattern costs O(pattern x name), never exponential time.
 */

/* Matches the one-character element at p[0..plen) (plen >= 1, not '*')
 * against c. Returns whether it matched and sets *used to its length. */
static int glob_element(const char *p, size_t plen, char c, size_t *used)
{
    if (p[0] == '?') {
        *used = 1;
        return 1;
    }
    if (p[0] == '\\' && plen >= 2) {
        *used = 2;
        return ascii_lower(p[1]) == ascii_lower(c);
    }
    if (p[0] != '[') {
        *used = 1;
        return ascii_lower(p[0]) == ascii_lower(c);
    }

    size_t i = 1;
    int negate = i < plen && p[i] == '^';
    if (negate)
        i++;
    int match = 0;
    while (i < plen && p[i] != ']') {
        if (p[i] == '\\' && plen - i >= 2) {
            match |= p[i + 1] == c;
            i += 2;
        } else if (plen - i >= 3 && p[i + 1] == '-') {
            char lo = ascii_lower(p[i]), hi = ascii_lower(p[i + 2]), lc = ascii_lower(c);
            if (p[i] > p[i + 2]) { /* "[z-a]" is "[a-z]" */
                lo = ascii_lower(p[i + 2]);
                hi = ascii_lower(p[i]);
            }
            match |= lc >= lo && lc <= hi;
            i += 3;
        } else {
            match |= ascii_lower(p[i]) == ascii_lower(c);
            i++;
        }
    }
    *used = i < plen ? i + 1 : plen; /* past the ']', if there is one */
    return negate ? !match : match;
}

static int glob_match(const char *p, size_t plen, const char *s, size_t slen)
{
    size_t pi = 0, si = 0;
    size_t star_p = SIZE_MAX, star_s = 0; /* where to retry after the last '*' */
    while (si < slen) {
        size_t used;
        if (pi < plen && p[pi] == '*') {
            star_p = ++pi;
            star_s = si;
        } else if (pi < plen && glob_element(p + pi, plen - pi, s[si], &used)) {
            pi += used;
            si++;
        } else if (star_p != SIZE_MAX) {
            pi = star_p; /* let the last '*' swallow one more character */
            si = ++star_s;
        } else {
            return 0;
        }
    }
    while (pi < plen && p[pi] == '*')
        pi++;
    return pi == plen;
}

/* The parameters CONFIG GET knows, in the order it replies with them.
 * save and appendonly are there for redis-benchmark, which asks for both. */
enum config_param {
    CONF_SAVE,
    CONF_APPENDONLY,
    CONF_MAXCLIENTS,
    CONF_PORT,
    CONF_BIND,
    CONF_DATABASES,
    CONF_DBFILENAME,
    CONF_COUNT
};

static const char *const config_names[CONF_COUNT] = {
    "save", "appendonly", "maxclients", "port", "bind", "databases", "dbfilename",
};

static void config_add_value(enum config_param i, const cmd_env_t *env, buf_t *out)
{
    char number[NUM_LL_MAX_DIGITS + 1];
    const char *text = "";
    switch (i) {
    case CONF_SAVE:
        text = ""; /* no snapshots on a timer: SAVE only */
        break;
    case CONF_APPENDONLY:
        text = "no";
        break;
    case CONF_MAXCLIENTS:
        snprintf(number, sizeof number, "%d", env->max_clients);
        text = number;
        break;
    case CONF_PORT:
        snprintf(number, sizeof number, "%d", env->port);
        text = number;
        break;
    case CONF_BIND:
        text = env->bind != NULL ? env->bind : "";
        break;
    case CONF_DATABASES:
        text = "1";
        break;
    case CONF_DBFILENAME:
        text = env->dbfile != NULL ? env->dbfile : "";
        break;
    case CONF_COUNT:
        assert(0);
        break;
    }
    resp_add_bulk(out, text, strlen(text));
}

/*
 * Marks in shown[] the parameters pattern selects, remembering for each the
 * name to reply with. Like Redis: a pattern without glob characters is an
 * exact (case-insensitive) name and the reply spells it as the client did; a
 * glob replies with our own spelling; Redis reads a glob as a C string, so
 * it ends at a NUL. A parameter already selected keeps its first name.
 */
static void config_select(const resp_arg_t *pattern, resp_arg_t shown[CONF_COUNT])
{
    const char *nul = memchr(arg_ptr(pattern), '\0', pattern->len);
    size_t glob_len = nul != NULL ? (size_t)(nul - pattern->ptr) : pattern->len;
    int is_glob = 0;
    for (size_t i = 0; i < glob_len && !is_glob; i++)
        is_glob = pattern->ptr[i] == '*' || pattern->ptr[i] == '?' || pattern->ptr[i] == '[';

    for (int i = 0; i < CONF_COUNT; i++) {
        const char *name = config_names[i];
        size_t len = strlen(name);
        if (shown[i].ptr != NULL)
            continue;
        if (is_glob && glob_match(pattern->ptr, glob_len, name, len))
            shown[i] = (resp_arg_t){name, len};
        else if (!is_glob && arg_ieq(pattern, name, len))
            shown[i] = *pattern;
    }
}

static void config_get_command(size_t argc, const resp_arg_t *argv, store_t *s,
                               const cmd_env_t *env, buf_t *out)
{
    (void)s;
    resp_arg_t shown[CONF_COUNT] = {{NULL, 0}};
    for (size_t i = 2; i < argc; i++)
        config_select(&argv[i], shown);

    size_t count = 0;
    for (int i = 0; i < CONF_COUNT; i++)
        count += shown[i].ptr != NULL;
    resp_add_array(out, 2 * count);
    for (int i = 0; i < CONF_COUNT; i++) {
        if (shown[i].ptr == NULL)
            continue;
        resp_add_bulk(out, shown[i].ptr, shown[i].len);
        config_add_value((enum config_param)i, env, out);
    }
}

/* ==== INFO ============================================================== */

/* Reads "Name:   value" from /proc/self/status. Returns 0, or -ENOENT when
 * the file or the field is not there. */
static int proc_status_field(const char *field, long long *value)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -ENOENT;
    char line[256];
    size_t flen = strlen(field);
    int rc = -ENOENT;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
            rc = sscanf(line + flen + 1, "%lld", value) == 1 ? 0 : -ENOENT;
            break;
        }
    }
    fclose(f);
    return rc;
}

static void info_server(buf_t *b, const store_t *s, const cmd_env_t *env)
{
    (void)s;
    buf_printf(b, "staged_ports_version:%s\r\n", CMD_VERSION);
    buf_printf(b, "stage:%s\r\n", env->stage != NULL ? env->stage : "");
    buf_printf(b, "process_id:%ld\r\n", (long)getpid());
    buf_printf(b, "tcp_port:%d\r\n", env->port);
    buf_printf(b, "uptime_in_seconds:%lld\r\n", (long long)((now_ms() - env->start_ms) / 1000));
}

static void info_clients(buf_t *b, const store_t *s, const cmd_env_t *env)
{
    (void)s;
    buf_printf(b, "maxclients:%d\r\n", env->max_clients);
}

static void info_threads(buf_t *b, const store_t *s, const cmd_env_t *env)
{
    (void)s;
    (void)env;
    long long threads = 0;
    proc_status_field("Threads", &threads);
    buf_printf(b, "thread_count:%lld\r\n", threads);
}

static void info_memory(buf_t *b, const store_t *s, const cmd_env_t *env)
{
    (void)s;
    (void)env;
    long long rss_kb = 0;
    proc_status_field("VmRSS", &rss_kb);
    buf_printf(b, "used_memory_rss:%lld\r\n", rss_kb * 1024);
}

static void info_stage(buf_t *b, const store_t *s, const cmd_env_t *env)
{
    (void)s;
    if (env->info != NULL)
        env->info(b, env->info_arg);
}

static void info_keyspace(buf_t *b, const store_t *s, const cmd_env_t *env)
{
    (void)env;
    buf_printf(b, "keys:%zu\r\n", store_count(s));
}

static const struct info_section {
    const char *name;  /* lowercase, as INFO takes it */
    const char *title; /* the "# Title" line */
    void (*add)(buf_t *b, const store_t *s, const cmd_env_t *env);
} info_sections[] = {
    {"server", "Server", info_server},       /* who we are, since when */
    {"clients", "Clients", info_clients},    /* the connection limit */
    {"threads", "Threads", info_threads},    /* what the concurrency model costs */
    {"memory", "Memory", info_memory},       /* resident set size */
    {"stage", "Stage", info_stage},          /* the stage's own counters */
    {"keyspace", "Keyspace", info_keyspace}, /* how many keys */
};

#define INFO_SECTION_COUNT (sizeof info_sections / sizeof info_sections[0])

/* Like Redis 7: each argument names a section, or all of them; sections come
 * out in their own order whatever the order asked; unknown names add nothing. */
static void info_command(size_t argc, const resp_arg_t *argv, store_t *s, const cmd_env_t *env,
                         buf_t *out)
{
    int wanted[INFO_SECTION_COUNT] = {0};
    for (size_t i = 0; i < INFO_SECTION_COUNT; i++)
        wanted[i] = argc == 1;
    for (size_t a = 1; a < argc; a++) {
        int every = arg_is(&argv[a], "all") || arg_is(&argv[a], "everything") ||
                    arg_is(&argv[a], "default");
        for (size_t i = 0; i < INFO_SECTION_COUNT; i++)
            if (every || arg_is(&argv[a], info_sections[i].name))
                wanted[i] = 1;
    }

    buf_t text = BUF_INIT;
    int first = 1;
    for (size_t i = 0; i < INFO_SECTION_COUNT; i++) {
        if (!wanted[i])
            continue;
        if (!first)
            buf_append(&text, "\r\n", 2); /* a blank line between sections */
        first = 0;
        buf_printf(&text, "# %s\r\n", info_sections[i].title);
        info_sections[i].add(&text, s, env);
    }
    resp_add_bulk(out, text.data != NULL ? text.data : "", text.len);
    buf_free(&text);
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
        name, sizeof(name) - 1, {name, arity, flags, fn}, NULL                                     \
    }

/* A subcommand is named "container|sub" in errors, as in Redis. */
#define SUBENTRY(container, name, arity, flags, fn)                                                \
    {                                                                                              \
        name, sizeof(name) - 1, {container "|" name, arity, flags, fn}, NULL                       \
    }

#define CONTAINER(name, subs)                                                                      \
    {                                                                                              \
        name, sizeof(name) - 1, {name, -2, 0, NULL}, subs                                          \
    }

#define END_OF_TABLE                                                                               \
    {                                                                                              \
        NULL, 0, {NULL, 0, 0, NULL}, NULL                                                          \
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
    ENTRY("debug", -2, CMD_SLOW, NULL),            /* DEBUG SLEEP seconds */
    ENTRY("digest", 3, CMD_READ | CMD_SLOW, NULL), /* DIGEST key rounds */
    ENTRY("save", 1, CMD_READ | CMD_SLOW, NULL),   /* SAVE */
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
    char args[QUOTE_MAX + 4] = "";
    size_t len = 0;
    for (size_t i = 1; i < argc && len < QUOTE_MAX; i++) {
        int n = snprintf(args + len, sizeof args - len, "'%.*s' ",
                         quote_len(&argv[i], QUOTE_MAX - len), arg_ptr(&argv[i]));
        assert(n >= 0 && (size_t)n < sizeof args - len);
        len += (size_t)n;
    }
    resp_add_errorf(out, "ERR unknown command '%.*s', with args beginning with: %s",
                    quote_len(&argv[0], QUOTE_MAX), arg_ptr(&argv[0]), args);
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
    resp_add_errorf(out, "ERR unknown subcommand '%.*s'. Try %s HELP.", quote_len(sub, QUOTE_MAX),
                    arg_ptr(sub), upper);
}

static int arity_ok(const cmd_t *c, size_t argc)
{
    if (c->arity >= 0)
        return argc == (size_t)c->arity;
    return argc >= (size_t)-c->arity;
}

const cmd_t *cmd_lookup(size_t argc, const resp_arg_t *argv, buf_t *out)
{
    assert(argc >= 1);
    const cmd_entry_t *e = table_find(cmd_table, &argv[0]);
    if (e == NULL) {
        add_unknown_command(argc, argv, out);
        return NULL;
    }
    if (e->subs != NULL && argc >= 2) {
        const cmd_entry_t *sub = table_find(e->subs, &argv[1]);
        if (sub == NULL) {
            add_unknown_subcommand(e, &argv[1], out);
            return NULL;
        }
        e = sub;
    }
    if (!arity_ok(&e->cmd, argc)) {
        resp_add_errorf(out, "ERR wrong number of arguments for '%s' command", e->cmd.name);
        return NULL;
    }
    return &e->cmd;
}

void cmd_call(const cmd_t *c, size_t argc, const resp_arg_t *argv, store_t *s, const cmd_env_t *env,
              buf_t *out)
{
    assert(c->fn != NULL && !(c->flags & CMD_SLOW));
    c->fn(argc, argv, s, env, out);
}

/* ==== Slow commands as jobs ============================================= */

#define SLEEP_MAX_SECONDS 3600

static int job_init_sleep(cmd_job_t *job, size_t argc, const resp_arg_t *argv, buf_t *out)
{
    if (argc != 3 || !arg_is(&argv[1], "sleep")) {
        /* Redis's DEBUG answers any subcommand it cannot run so. */
        resp_add_errorf(out,
                        "ERR unknown subcommand or wrong number of arguments for '%.*s'. "
                        "Try DEBUG HELP.",
                        quote_len(&argv[1], QUOTE_MAX), arg_ptr(&argv[1]));
        return -EINVAL;
    }
    double seconds;
    if (num_parse_double(argv[2].ptr, argv[2].len, &seconds) != 0) {
        resp_add_error(out, "ERR value is not a valid float");
        return -EINVAL;
    }
    if (!(seconds >= 0 && seconds <= SLEEP_MAX_SECONDS)) {
        resp_add_error(out, "ERR DEBUG SLEEP seconds out of range (0 to 3600)");
        return -EINVAL;
    }
    job->kind = CMD_JOB_SLEEP;
    job->sleep_us = (int64_t)(seconds * 1e6);
    return 0;
}

static int job_init_digest(cmd_job_t *job, const resp_arg_t *argv, buf_t *out)
{
    long long rounds;
    if (num_parse_ll(argv[2].ptr, argv[2].len, &rounds) != 0) {
        resp_add_error(out, "ERR value is not an integer or out of range");
        return -EINVAL;
    }
    if (rounds < 1 || rounds > DIGEST_MAX_ROUNDS) {
        resp_add_errorf(out, "ERR rounds must be between 1 and %lld", DIGEST_MAX_ROUNDS);
        return -EINVAL;
    }
    job->kind = CMD_JOB_DIGEST;
    job->key = xmemdup(argv[1].ptr, argv[1].len);
    job->klen = argv[1].len;
    job->rounds = rounds;
    return 0;
}

static int job_init_save(cmd_job_t *job, const cmd_env_t *env, buf_t *out)
{
    if (env->dbfile == NULL) {
        resp_add_error(out, "ERR no dump file configured: start the server with --dbfile PATH");
        return -EINVAL;
    }
    job->kind = CMD_JOB_SAVE;
    job->dbfile = env->dbfile;
    return 0;
}

int cmd_job_init(cmd_job_t *job, const cmd_t *c, size_t argc, const resp_arg_t *argv,
                 const cmd_env_t *env, buf_t *out)
{
    assert(c->flags & CMD_SLOW);
    memset(job, 0, sizeof *job);
    buf_init(&job->data);
    if (strcmp(c->name, "debug") == 0)
        return job_init_sleep(job, argc, argv, out);
    if (strcmp(c->name, "digest") == 0)
        return job_init_digest(job, argv, out);
    assert(strcmp(c->name, "save") == 0);
    return job_init_save(job, env, out);
}

void cmd_job_read(cmd_job_t *job, const store_t *s)
{
    const char *val;
    size_t vlen;
    switch (job->kind) {
    case CMD_JOB_SLEEP:
        break;
    case CMD_JOB_DIGEST:
        job->found = store_get(s, job->key, job->klen, &val, &vlen) == 0;
        if (!job->found)
            break;
        /* Checked here, where the length is known, so that a job too big to
         * run never copies its value: -E2BIG makes cmd_job_run() skip it and
         * cmd_job_reply() refuse it. An empty value counts as one byte. */
        if ((vlen > 0 ? (long long)vlen : 1) > DIGEST_MAX_WORK / job->rounds) {
            job->err = -E2BIG;
            break;
        }
        buf_append(&job->data, val, vlen);
        break;
    case CMD_JOB_SAVE:
        dump_serialize(s, &job->data);
        break;
    }
}

/* A slice of work between two calls of the cancel callback: at least a
 * few hundred microseconds of hashing even under a sanitizer, well under
 * CMD_CANCEL_POLL_MS on any machine this runs on. */
#define DIGEST_SLICE_BYTES (64 * 1024)

static int is_cancelled(cmd_cancel_cb cancelled, void *arg)
{
    return cancelled != NULL && cancelled(arg);
}

/* Sleeps the whole time even when signals interrupt nanosleep(), in slices
 * of CMD_CANCEL_POLL_MS so that a cancel is seen in time. */
static int sleep_cancellable(int64_t us, cmd_cancel_cb cancelled, void *arg)
{
    const int64_t slice_us = CMD_CANCEL_POLL_MS * 1000;
    while (us > 0) {
        if (is_cancelled(cancelled, arg))
            return -ECANCELED;
        int64_t step = us < slice_us ? us : slice_us;
        struct timespec req = {(time_t)(step / 1000000), (long)(step % 1000000) * 1000};
        struct timespec rem;
        while (nanosleep(&req, &rem) != 0 && errno == EINTR)
            req = rem;
        us -= step;
    }
    return 0;
}

/* digest_fnv1a(), in slices of DIGEST_SLICE_BYTES with a cancel check
 * between them, so that neither many rounds of a short value nor one round
 * of a long one runs for long unasked. */
static int digest_cancellable(cmd_job_t *job, const char *data, cmd_cancel_cb cancelled, void *arg)
{
    uint64_t h = DIGEST_FNV_INIT;
    size_t unchecked = 0; /* bytes hashed since the last cancel check */
    for (long long r = 0; r < job->rounds; r++) {
        size_t off = 0;
        do { /* once even for an empty value: a round always costs something */
            size_t n =
                job->data.len - off < DIGEST_SLICE_BYTES ? job->data.len - off : DIGEST_SLICE_BYTES;
            h = digest_fnv1a_update(h, data + off, n);
            off += n;
            unchecked += n + 1;
            if (unchecked >= DIGEST_SLICE_BYTES) {
                unchecked = 0;
                if (is_cancelled(cancelled, arg))
                    return -ECANCELED;
            }
        } while (off < job->data.len);
    }
    job->digest = h;
    return 0;
}

void cmd_job_run(cmd_job_t *job, cmd_cancel_cb cancelled, void *arg)
{
    const char *data = job->data.data != NULL ? job->data.data : "";
    switch (job->kind) {
    case CMD_JOB_SLEEP:
        job->err = sleep_cancellable(job->sleep_us, cancelled, arg);
        break;
    case CMD_JOB_DIGEST:
        if (job->found && job->err == 0)
            job->err = digest_cancellable(job, data, cancelled, arg);
        break;
    case CMD_JOB_SAVE:
        job->err = dump_write_file(job->dbfile, data, job->data.len);
        break;
    }
}

void cmd_job_reply(cmd_job_t *job, buf_t *out)
{
    char hex[17];
    if (job->err == -ECANCELED) {
        resp_add_error(out, "ERR command cancelled before it finished (server shutting down)");
        cmd_job_discard(job);
        return;
    }
    switch (job->kind) {
    case CMD_JOB_SLEEP:
        resp_add_simple(out, "OK");
        break;
    case CMD_JOB_DIGEST:
        if (!job->found) {
            resp_add_null(out);
        } else if (job->err != 0) {
            resp_add_errorf(out, "ERR DIGEST work too large (rounds x value length > %lld)",
                            DIGEST_MAX_WORK);
        } else {
            digest_hex(job->digest, hex);
            resp_add_bulk(out, hex, 16);
        }
        break;
    case CMD_JOB_SAVE:
        /* glibc's strerror() is thread-safe for every errno it knows. */
        if (job->err != 0)
            resp_add_errorf(out, "ERR SAVE failed: %s", strerror(-job->err));
        else
            resp_add_simple(out, "OK");
        break;
    }
    cmd_job_discard(job);
}

void cmd_job_discard(cmd_job_t *job)
{
    free(job->key);
    job->key = NULL;
    buf_free(&job->data);
}
