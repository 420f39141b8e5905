#ifndef CMD_JOB_H
#define CMD_JOB_H

#include "buf.h"
#include "cmd.h"
#include "resp.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

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

#endif /* CMD_JOB_H */
