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

typedef void (*cmd_fn)(size_t argc, const resp_arg_t *argv, store_t *s, const cmd_env_t *env,
                       buf_t *out);

struct cmd {
    const char *name; /* lowercase, as Redis names it in errors */
    int arity;        /* argc including the name; negative means "at least -arity" */
    unsigned flags;   /* enum cmd_flags */
    cmd_fn fn;        /* NULL for CMD_SLOW commands, which run as jobs */
};

/*
 * Looks up argv[0] (case-insensitively) and checks the number of arguments.
 * Returns the command, or NULL after appending to out the error Redis
 * sends for an unknown command or a wrong number of arguments. argc >= 1.
 */
const cmd_t *cmd_lookup(size_t argc, const resp_arg_t *argv, buf_t *out);

/*
 * Runs a command that is not CMD_SLOW and appends its reply to out. When
 * the command's flags say it reads or writes the store, the caller holds
 * whatever protects the store for the duration of the call.
 */
void cmd_call(const cmd_t *c, size_t argc, const resp_arg_t *argv, store_t *s, const cmd_env_t *env,
              buf_t *out);

/* ==== Slow commands as jobs ============================================= */

/*
 * DEBUG SLEEP, DIGEST and SAVE run in steps, so that each stage can choose
 * the thread each step runs on and the lock each step holds:
 *
 *   cmd_job_init()   parse the arguments          no store access
 *   cmd_job_read()   copy what the job needs      reads the store: short
 *   cmd_job_run()    sleep, hash or write a file  touches nothing shared: slow
 *   cmd_job_reply()  append the reply             no store access
 *
 * A running job can be abandoned: cmd_job_run() asks the stage's
 * cmd_cancel_cb at least every CMD_CANCEL_POLL_MS whether to go on (the
 * server is shutting down, the client has gone). How the stage knows is its
 * own business (an atomic flag, a poll() of the socket): common/ never sees
 * a thread or a socket.
 *
 * Stage 1 runs them all in the connection's thread, holding the store lock
 * only for cmd_job_read(). Stage 3 runs them all on the loop thread: the
 * stall is the lesson. Stage 4 sends cmd_job_run() to a worker thread.
 */

typedef enum cmd_job_kind { CMD_JOB_SLEEP, CMD_JOB_DIGEST, CMD_JOB_SAVE } cmd_job_kind_t;

typedef struct cmd_job {
    cmd_job_kind_t kind;
    const char *dbfile; /* SAVE: where to write (owned by the env) */
    int64_t sleep_us;   /* DEBUG SLEEP */
    char *key;          /* DIGEST: a copy of the key */
    size_t klen;
    long long rounds; /* DIGEST */
    buf_t data;       /* DIGEST: a copy of the value; SAVE: the serialised store */
    int found;        /* DIGEST: the key exists */
    uint64_t digest;  /* DIGEST result */
    int err;          /* 0, or the negative errno the slow step failed with */
} cmd_job_t;

/*
 * Parses the arguments of a CMD_SLOW command. Returns 0 when the job is
 * ready, or -EINVAL after appending the error reply to out (for example a
 * SAVE with no dbfile configured). The job copies what it keeps: it does not
 * point into argv afterwards. Touches no store.
 */
int cmd_job_init(cmd_job_t *job, const cmd_t *c, size_t argc, const resp_arg_t *argv,
                 const cmd_env_t *env, buf_t *out);

/* Copies from the store what the job needs. Reads the store: hold its lock. */
void cmd_job_read(cmd_job_t *job, const store_t *s);

#define CMD_CANCEL_POLL_MS 10 /* a running job asks at least this often */

/* Returns non-zero when the job should stop. Called on the job's thread,
 * with arg as given to cmd_job_run(); must be cheap and must not block. */
typedef int (*cmd_cancel_cb)(void *arg);

/*
 * The slow part. Touches no store and nothing shared: any thread, no lock.
 * While it sleeps or hashes it calls cancelled(arg) at least every
 * CMD_CANCEL_POLL_MS (cancelled may be NULL: never give up); when that
 * returns non-zero it stops early with job->err = -ECANCELED, and
 * cmd_job_reply() answers with an error, never with a result it does not
 * have. SAVE is not abandoned: it writes a temporary file and renames it,
 * and stopping half-way would only leave the old dump in place.
 */
void cmd_job_run(cmd_job_t *job, cmd_cancel_cb cancelled, void *arg);

/* Appends the job's reply to out and releases what the job holds. */
void cmd_job_reply(cmd_job_t *job, buf_t *out);

/* Releases what the job holds without replying (its client went away). */
void cmd_job_discard(cmd_job_t *job);

#endif /* CMD_H */
