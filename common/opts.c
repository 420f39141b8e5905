#include "opts.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPTS_VERSION "1.0"

/* ==== The options ======================================================= */

typedef enum opt_id {
    OPT_PORT,
    OPT_BIND,
    OPT_THREADS,
    OPT_MAX_CLIENTS,
    OPT_DBFILE,
    OPT_APPENDONLY,
    OPT_APPENDFSYNC,
    OPT_APPENDFSYNC_DELAY_MS,
    OPT_LOG_LEVEL,
    OPT_PITFALL,
    OPT_LOCK_STRATEGY,
    OPT_WATCHDOG,
    OPT_WATCHDOG_MS,
    OPT_HELP,
    OPT_VERSION,
} opt_id_t;

typedef struct opt_def {
    const char *name; /* without the leading "--" */
    opt_id_t id;
    const char *arg; /* the value's placeholder in --help; NULL for a flag */
    unsigned extra;  /* the opts_extra bit a stage must offer; 0 for all */
} opt_def_t;

static const opt_def_t opt_defs[] = {
    {"port", OPT_PORT, "N", 0},
    {"bind", OPT_BIND, "ADDR", 0},
    {"threads", OPT_THREADS, "N", OPTS_THREADS},
    {"max-clients", OPT_MAX_CLIENTS, "N", 0},
    {"dbfile", OPT_DBFILE, "PATH", 0},
    {"appendonly", OPT_APPENDONLY, "PATH", 0},
    {"appendfsync", OPT_APPENDFSYNC, "WHEN", 0},
    {"appendfsync-delay-ms", OPT_APPENDFSYNC_DELAY_MS, "N", 0},
    {"log-level", OPT_LOG_LEVEL, "LEVEL", 0},
    {"pitfall", OPT_PITFALL, "NAME", OPTS_PITFALL},
    {"lock-strategy", OPT_LOCK_STRATEGY, "S", OPTS_LOCK_STRATEGY},
    {"watchdog", OPT_WATCHDOG, "MODE", OPTS_WATCHDOG},
    {"watchdog-ms", OPT_WATCHDOG_MS, "N", OPTS_WATCHDOG},
    {"help", OPT_HELP, NULL, 0},
    {"version", OPT_VERSION, NULL, 0},
};

#define OPT_COUNT (sizeof opt_defs / sizeof opt_defs[0])

static const char *const pitfall_names[] = {
    [OPTS_PITFALL_MUTEX_ACROSS_CALLBACK] = "mutex-across-callback",
    [OPTS_PITFALL_LOCK_DURING_WORK] = "lock-during-work",
};

static const char *const lock_strategy_names[] = {
    [OPTS_LOCK_COPY] = "copy",
    [OPTS_LOCK_QUEUE] = "queue",
};

static const char *const appendfsync_names[] = {
    [OPTS_APPENDFSYNC_EVERYSEC] = "everysec",
    [OPTS_APPENDFSYNC_ALWAYS] = "always",
    [OPTS_APPENDFSYNC_NO] = "no",
};

static const char *const watchdog_names[] = {
    [OPTS_WATCHDOG_WARN] = "warn",
    [OPTS_WATCHDOG_EXIT] = "exit",
    [OPTS_WATCHDOG_OFF] = "off",
};

/* ==== Messages ========================================================== */

/* Every error is one line naming what was wrong, then the pointer to --help
 * that GNU tools print. Returns -EINVAL so callers can return it. */
static int fail(const opts_stage_t *stage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(const opts_stage_t *stage, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", stage->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help'.\n", stage->name);
    fflush(stderr);
    return -EINVAL;
}

static int bad_value(const opts_stage_t *stage, const opt_def_t *def, const char *value,
                     const char *expected)
{
    return fail(stage, "invalid value '%s' for --%s: expected %s", value, def->name, expected);
}

static void print_option(const char *name, const char *arg, const char *help)
{
    char left[32];
    snprintf(left, sizeof left, "--%s%s%s", name, arg != NULL ? " " : "", arg != NULL ? arg : "");
    printf("  %-20s %s\n", left, help);
}

static void print_help(const opts_stage_t *stage)
{
    char help[256];
    printf("Usage: %s [OPTIONS]\n", stage->name);
    if (stage->summary != NULL)
        printf("%s\n", stage->summary);
    printf("\nOptions:\n");

    snprintf(help, sizeof help, "TCP port to listen on, 0 for any free port (default %d)",
             stage->default_port);
    print_option("port", "N", help);
    print_option("bind", "ADDR", "IPv4 address to listen on (default " OPTS_DEFAULT_BIND ")");
    if (stage->extra & OPTS_THREADS) {
        snprintf(help, sizeof help, "%s, 1 to %d (default %d)",
                 stage->threads_help != NULL ? stage->threads_help : "worker threads",
                 OPTS_MAX_THREADS, stage->default_threads);
        print_option("threads", "N", help);
    }
    snprintf(help, sizeof help, "connections served at once, 1 to %d (default %d)",
             OPTS_MAX_CLIENTS_LIMIT, OPTS_DEFAULT_MAX_CLIENTS);
    print_option("max-clients", "N", help);
    print_option("dbfile", "PATH", "load at start, SAVE and shutdown write here (default: none)");
    print_option("appendonly", "PATH",
                 "log every write here, replay it at start instead of the dump (default: none)");
    print_option("appendfsync", "WHEN",
                 "when the log reaches the disk: always, everysec or no (default everysec)");
    snprintf(help, sizeof help,
             "sleep N ms after each fsync of the log: a slower disk, 0 to %d (default 0)",
             OPTS_MAX_APPENDFSYNC_DELAY_MS);
    print_option("appendfsync-delay-ms", "N", help);
    print_option("log-level", "LEVEL", "debug, info, warn or error (default info)");
    if (stage->extra & OPTS_PITFALL)
        print_option("pitfall", "NAME",
                     "build in a bug: mutex-across-callback or lock-during-work (default: none)");
    if (stage->extra & OPTS_LOCK_STRATEGY)
        print_option("lock-strategy", "S",
                     "how SAVE keeps writers out: copy or queue (default copy)");
    if (stage->extra & OPTS_WATCHDOG) {
        print_option("watchdog", "MODE",
                     "a stall: warn (report, wait on) or exit; off: no watchdog (default warn)");
        snprintf(help, sizeof help,
                 "the watchdog's bound on waiting for the store lock, 1 to %d (default %d)",
                 OPTS_MAX_WATCHDOG_MS, OPTS_DEFAULT_WATCHDOG_MS);
        print_option("watchdog-ms", "N", help);
    }
    print_option("help", NULL, "print this help and exit");
    print_option("version", NULL, "print the version and exit");
    printf("\nA value follows its option as \"--port 7001\" or \"--port=7001\".\n");
    fflush(stdout);
}

/* ==== Values ============================================================ */

/* Parses a whole decimal integer in [min, max]: no blanks, no sign but '-',
 * nothing after the digits. Returns 0 or -EINVAL. */
static int parse_int(const char *text, long min, long max, int *out)
{
    if (!(text[0] == '-' || (text[0] >= '0' && text[0] <= '9')))
        return -EINVAL;
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || errno == ERANGE || v < min || v > max)
        return -EINVAL;
    *out = (int)v;
    return 0;
}

static int parse_name(const char *text, const char *const *names, size_t count, int *out)
{
    for (size_t i = 0; i < count; i++) {
        if (names[i] != NULL && strcmp(text, names[i]) == 0) {
            *out = (int)i;
            return 0;
        }
    }
    return -EINVAL;
}

static int set_value(opts_t *o, const opts_stage_t *stage, const opt_def_t *def, const char *value)
{
    char expected[64];
    struct in_addr addr;
    int n;

    switch (def->id) {
    case OPT_PORT:
        if (parse_int(value, 0, 65535, &o->port) != 0)
            return bad_value(stage, def, value, "an integer from 0 to 65535");
        break;
    case OPT_BIND:
        if (inet_pton(AF_INET, value, &addr) != 1)
            return bad_value(stage, def, value, "an IPv4 address such as 127.0.0.1");
        o->bind = value;
        break;
    case OPT_THREADS:
        if (parse_int(value, 1, OPTS_MAX_THREADS, &o->threads) != 0) {
            snprintf(expected, sizeof expected, "an integer from 1 to %d", OPTS_MAX_THREADS);
            return bad_value(stage, def, value, expected);
        }
        break;
    case OPT_MAX_CLIENTS:
        if (parse_int(value, 1, OPTS_MAX_CLIENTS_LIMIT, &o->max_clients) != 0) {
            snprintf(expected, sizeof expected, "an integer from 1 to %d", OPTS_MAX_CLIENTS_LIMIT);
            return bad_value(stage, def, value, expected);
        }
        break;
    case OPT_DBFILE:
        if (value[0] == '\0')
            return bad_value(stage, def, value, "a file path");
        o->dbfile = value;
        break;
    case OPT_APPENDONLY:
        if (value[0] == '\0')
            return bad_value(stage, def, value, "a file path");
        o->appendonly = value;
        break;
    case OPT_APPENDFSYNC:
        if (parse_name(value, appendfsync_names,
                       sizeof appendfsync_names / sizeof appendfsync_names[0], &n) != 0)
            return bad_value(stage, def, value, "always, everysec or no");
        o->appendfsync = (opts_appendfsync_t)n;
        break;
    case OPT_APPENDFSYNC_DELAY_MS:
        if (parse_int(value, 0, OPTS_MAX_APPENDFSYNC_DELAY_MS, &o->appendfsync_delay_ms) != 0) {
            snprintf(expected, sizeof expected, "an integer from 0 to %d (milliseconds)",
                     OPTS_MAX_APPENDFSYNC_DELAY_MS);
            return bad_value(stage, def, value, expected);
        }
        break;
    case OPT_LOG_LEVEL:
        if (log_level_parse(value, &o->log_level) != 0)
            return bad_value(stage, def, value, "debug, info, warn or error");
        break;
    case OPT_PITFALL:
        if (parse_name(value, pitfall_names, sizeof pitfall_names / sizeof pitfall_names[0], &n) !=
            0)
            return bad_value(stage, def, value, "mutex-across-callback or lock-during-work");
        o->pitfall = (opts_pitfall_t)n;
        break;
    case OPT_LOCK_STRATEGY:
        if (parse_name(value, lock_strategy_names,
                       sizeof lock_strategy_names / sizeof lock_strategy_names[0], &n) != 0)
            return bad_value(stage, def, value, "copy or queue");
        o->lock_strategy = (opts_lock_strategy_t)n;
        break;
    case OPT_WATCHDOG:
        if (parse_name(value, watchdog_names, sizeof watchdog_names / sizeof watchdog_names[0],
                       &n) != 0)
            return bad_value(stage, def, value, "warn, exit or off");
        o->watchdog = (opts_watchdog_t)n;
        break;
    case OPT_WATCHDOG_MS:
        if (parse_int(value, 1, OPTS_MAX_WATCHDOG_MS, &o->watchdog_ms) != 0) {
            snprintf(expected, sizeof expected, "an integer from 1 to %d (milliseconds)",
                     OPTS_MAX_WATCHDOG_MS);
            return bad_value(stage, def, value, expected);
        }
        break;
    case OPT_HELP:
    case OPT_VERSION:
        break; /* flags: handled by the caller */
    }
    return 0;
}

/* ==== Parsing =========================================================== */

static const opt_def_t *find_option(const char *name, size_t len)
{
    for (size_t i = 0; i < OPT_COUNT; i++)
        if (strlen(opt_defs[i].name) == len && strncmp(opt_defs[i].name, name, len) == 0)
            return &opt_defs[i];
    return NULL;
}

static void set_defaults(opts_t *o, const opts_stage_t *stage)
{
    o->bind = OPTS_DEFAULT_BIND;
    o->port = stage->default_port;
    o->threads = stage->default_threads;
    o->max_clients = OPTS_DEFAULT_MAX_CLIENTS;
    o->dbfile = NULL;
    o->appendonly = NULL;
    o->appendfsync = OPTS_APPENDFSYNC_EVERYSEC;
    o->appendfsync_delay_ms = 0;
    o->log_level = LOGL_INFO;
    o->pitfall = OPTS_PITFALL_NONE;
    o->lock_strategy = OPTS_LOCK_COPY;
    o->watchdog = OPTS_WATCHDOG_WARN;
    o->watchdog_ms = OPTS_DEFAULT_WATCHDOG_MS;
}

int opts_parse(opts_t *o, const opts_stage_t *stage, int argc, char **argv)
{
    set_defaults(o, stage);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
            return fail(stage, "unexpected argument '%s'", arg);

        /* "--name=value" or "--name value" */
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t name_len = eq != NULL ? (size_t)(eq - name) : strlen(name);
        const opt_def_t *def = find_option(name, name_len);
        if (def == NULL)
            return fail(stage, "unknown option '--%.*s'", (int)name_len, name);
        if (def->extra != 0 && !(stage->extra & def->extra))
            return fail(stage, "this stage does not support --%s", def->name);

        if (def->arg == NULL) {
            if (eq != NULL)
                return fail(stage, "option '--%s' takes no value (got '%s')", def->name, eq + 1);
            if (def->id == OPT_HELP)
                print_help(stage);
            else
                printf("%s (staged-ports) %s\n", stage->name, OPTS_VERSION);
            fflush(stdout);
            return 1;
        }

        /* The next argument is the value unless it is another option:
         * "--dbfile --port 1" forgot the path rather than naming "--port".
         * (A value that starts with "--" can still be given with '='.) */
        const char *value;
        if (eq != NULL)
            value = eq + 1;
        else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
            value = argv[++i];
        else
            return fail(stage, "option '--%s' requires a value", def->name);
        int rc = set_value(o, stage, def, value);
        if (rc != 0)
            return rc;
    }
    return 0;
}
