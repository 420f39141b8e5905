#ifndef CMD_H
#define CMD_H

#include "buf.h"
#include "resp.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

/*
 * The command table and the commands.
 *
 * A command takes parsed arguments and the store and appends its reply to
 * an output buffer. It never sees a socket, a thread or a loop: the stage
 * that calls it decides where it runs and which lock it holds, guided by
 * the flags below. Replies are byte-identical to Redis 7's for the same
 * request, errors included.
 */

enum cmd_flags {
    CMD_READ = 1 << 0,  /* reads the store: hold the store's lock */
    CMD_WRITE = 1 << 1, /* modifies the store: hold the store's lock */
    CMD_SLOW = 1 << 2,  /* may block or burn CPU for long: run it as a cmd_job_t */
    CMD_CLOSE = 1 << 3, /* the connection closes once the reply is written (QUIT) */
};

typedef struct cmd_env cmd_env_t;
typedef struct cmd cmd_t;

/* Appends stage-specific INFO lines, "name:value\r\n" each. */
typedef void (*cmd_info_cb)(buf_t *out, void *arg);

/* What commands may consult besides their arguments and the store. Set up
 * once by the stage; commands only read it. */
struct cmd_env {
    const char *stage;  /* "stage1-threads": reported by INFO */
    const char *bind;   /* listening address, for INFO and CONFIG GET */
    int port;           /* the port actually bound */
    int max_clients;    /* for CONFIG GET maxclients */
    const char *dbfile; /* where SAVE writes; NULL when there is none */
    int64_t start_ms;   /* start-up time (CLOCK_MONOTONIC), for uptime */
    cmd_info_cb info;   /* adds the stage's own INFO section; may be NULL */
    void *info_arg;
};

/* Everything one call of a command sees: its arguments, the store (held
 * as the command's flags say), the environment, and where its reply goes. */
typedef struct cmd_ctx {
    size_t argc; /* >= 1: argv[0] is the command's name */
    const resp_arg_t *argv;
    store_t *store;
    const cmd_env_t *env;
    buf_t *out;
    buf_t *log; /* a write that changed the store appends its record here (aof.h); may be NULL */
} cmd_ctx_t;

typedef void (*cmd_fn)(const cmd_ctx_t *ctx);

/* Which job a CMD_SLOW command runs as (cmd_job.h). */
typedef enum cmd_job_kind {
    CMD_JOB_NONE, /* not a slow command */
    CMD_JOB_SLEEP,
    CMD_JOB_DIGEST,
    CMD_JOB_SAVE
} cmd_job_kind_t;

struct cmd {
    const char *name;   /* lowercase, as Redis names it in errors */
    int arity;          /* argc including the name; negative means "at least -arity" */
    unsigned flags;     /* enum cmd_flags */
    cmd_fn fn;          /* NULL for CMD_SLOW commands, which run as jobs */
    cmd_job_kind_t job; /* CMD_SLOW commands: the job; CMD_JOB_NONE otherwise */
};

/*
 * Looks up argv[0] (case-insensitively) and checks the number of arguments.
 * Returns the command, or NULL after appending to out the error Redis
 * sends for an unknown command or a wrong number of arguments. argc >= 1.
 */
const cmd_t *cmd_lookup(size_t argc, const resp_arg_t *argv, buf_t *out);

/*
 * The command argv names (its subcommand where it has them), whatever the
 * number of arguments; NULL when there is none. For a caller that tells
 * the two errors apart without parsing a reply (the AOF's replay).
 */
const cmd_t *cmd_find(size_t argc, const resp_arg_t *argv);

/* Nonzero when argc (the name included) suits c's arity. */
int cmd_arity_ok(const cmd_t *c, size_t argc);

/*
 * Runs a command that is not CMD_SLOW and appends its reply to out. When
 * the command's flags say it reads or writes the store, the caller holds
 * whatever protects the store for the duration of the call. Slow commands
 * run as jobs instead: cmd_job.h.
 *
 * A write that changed the store also appends its record for the
 * append-only file to log (aof.h), when log is not NULL: the command
 * returns the bytes, and never learns when, where or whether they are
 * written and synced. That is the stage's business.
 */
void cmd_call(const cmd_t *c, size_t argc, const resp_arg_t *argv, store_t *s, const cmd_env_t *env,
              buf_t *out, buf_t *log);

#endif /* CMD_H */
