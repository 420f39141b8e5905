#include "exec.h"

#include "log.h"
#include "offload.h"

#include <errno.h>

#define QUERY_BUF_MAX (64 * 1024 * 1024) /* a partial request may not grow past this */

/* One batch: the most a connection executes in one callback. */
#define BATCH_REQUESTS    1000         /* one callback executes at most this many requests */
#define BATCH_REPLY_BYTES (256 * 1024) /* ... or builds this many bytes of replies */

/* ==== Writes ============================================================= */

/* A write is applied and its record added to the append-only file's
 * buffer under store_mu, in the store's order, and that is all that runs
 * here: the write and the fsync happen in the thread pool, for every write
 * of this turn at once (append.c). With appendfsync always, the reply waits
 * for that sync; the loop does not. */
static void run_write_command(conn_t *c, const cmd_t *cmd)
{
    server_t *srv = c->srv;

    offload_lock_store(srv, "the loop thread (running a command)");
    cmd_call(cmd, c->parser.argc, c->parser.argv, srv->store, &srv->env, &c->out,
             append_log(&srv->append));
    offload_unlock_store(srv);
    append_queue(&srv->append, c); /* never blocks: the reply is held instead */
}

/* ==== Fast commands ====================================================== */

/* Runs a fast command under store_mu. With --lock-strategy queue, a write
 * first needs the queue lock: while a SAVE holds it, the connection waits
 * in line (the loop does not). */
static enum exec_result run_fast_command(conn_t *c, const cmd_t *cmd)
{
    server_t *srv = c->srv;

    if (cmd->flags & CMD_WRITE) {
        int rc = offload_write_lock(c);
        if (rc == -EBUSY)
            return EXEC_BLOCKED;
        if (rc != 0) {
            resp_add_error(&c->out, "ERR out of memory");
            return EXEC_DONE;
        }
    }
    if (cmd->flags & CMD_WRITE) {
        run_write_command(c, cmd);
    } else if (cmd->flags & CMD_READ) {
        offload_lock_store(srv, "the loop thread (running a command)");
        cmd_call(cmd, c->parser.argc, c->parser.argv, srv->store, &srv->env, &c->out, NULL);
        offload_unlock_store(srv);
    } else {
        cmd_call(cmd, c->parser.argc, c->parser.argv, srv->store, &srv->env, &c->out, NULL);
    }
    return (cmd->flags & CMD_CLOSE) ? EXEC_CLOSE : EXEC_DONE;
}

/* ==== Requests =========================================================== */

/* Executes the request in c->parser: fast commands here, slow ones in the
 * thread pool; and tells the lag monitor how long it held the loop thread. */
static enum exec_result execute_request(conn_t *c)
{
    const cmd_t *cmd = cmd_lookup(c->parser.argc, c->parser.argv, &c->out);
    uint64_t start = uv_hrtime();
    enum exec_result result;

    if (cmd == NULL)
        return EXEC_DONE; /* unknown command or wrong arity: the error is in c->out */
    if (cmd->flags & CMD_SLOW)
        result = offload_slow_command(c, cmd);
    else
        result = run_fast_command(c, cmd);
    lag_command_done(&c->srv->lag, cmd->name, uv_hrtime() - start);
    return result;
}

/* What a request's outcome means for the rest of the input. */
static enum input_result input_after(enum exec_result exec)
{
    switch (exec) {
    case EXEC_DONE:
        return INPUT_OK;
    case EXEC_CLOSE:
        return INPUT_CLOSE_AFTER_REPLY;
    case EXEC_QUEUED:  /* the reply comes with the job */
    case EXEC_BLOCKED: /* the request waits in c->in */
        break;
    }
    return INPUT_WAIT;
}

/* Parses and executes the complete requests in c->in, appending the
 * replies to c->out, one batch at most: BATCH_REQUESTS requests or
 * BATCH_REPLY_BYTES of replies, so that one client's long pipeline cannot
 * hold the loop. Says whether the connection goes on, has requests left,
 * waits, closes once the replies are written (QUIT, protocol error), or
 * must close at once (a request larger than QUERY_BUF_MAX). A connection
 * that took the queue lock for its writes lets go of it at the end. */
enum input_result exec_input(conn_t *c)
{
    size_t done = 0;
    int executed = 0;
    enum input_result result = INPUT_OK;

    while (result == INPUT_OK) {
        if (executed == BATCH_REQUESTS || c->out.len >= BATCH_REPLY_BYTES) {
            result = INPUT_MORE;
            break;
        }
        executed++;
        size_t used;
        resp_status_t st = resp_parse(&c->parser, c->in.data + done, c->in.len - done, &used);
        done += used;
        if (st == RESP_INCOMPLETE)
            break;
        if (st == RESP_ERROR) {
            resp_add_error(&c->out, c->parser.error);
            result = INPUT_CLOSE_AFTER_REPLY;
        } else {
            enum exec_result exec = execute_request(c);
            if (exec == EXEC_BLOCKED)
                done -= used; /* not executed: parsed again once the wait is over */
            result = input_after(exec);
        }
    }
    offload_write_unlock(c);
    buf_consume(&c->in, done);
    if (result == INPUT_OK && c->in.len > QUERY_BUF_MAX) {
        log_warn("closing a client: request larger than %d bytes", QUERY_BUF_MAX);
        result = INPUT_CLOSE_NOW;
    }
    return result;
}
