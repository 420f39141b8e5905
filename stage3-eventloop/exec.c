#include "exec.h"

#include "cmd_job.h"
#include "log.h"

#include <stdatomic.h>

#define QUERY_BUF_MAX (64 * 1024 * 1024) /* a partial request may not grow past this */

/* One batch: the most a connection executes in one callback. */
#define BATCH_REQUESTS    1000         /* one callback executes at most this many requests */
#define BATCH_REPLY_BYTES (256 * 1024) /* ... or builds this many bytes of replies */

/* ==== Slow commands ====================================================== */

/* Asked by the running slow command at least every CMD_CANCEL_POLL_MS:
 * give up when a signal has asked the server to stop. While the command
 * runs, the loop is blocked in it and sees no signal, so the signal
 * handler itself sets the flag (see signal_handler()). */
static int job_cancelled_cb(void *arg)
{
    server_t *srv = arg;
    return atomic_load(&srv->stop_requested);
}

/* A slow command runs right here, on the loop thread: every other client
 * waits until it returns. That is this stage's lesson; stage 4 fixes it. */
static void run_slow_command(conn_t *c, const cmd_t *cmd)
{
    server_t *srv = c->srv;
    cmd_job_t job;

    if (cmd_job_init(&job, cmd, c->parser.argc, c->parser.argv, &srv->env, &c->out) != 0)
        return;
    cmd_job_read(&job, srv->store);
    cmd_job_run(&job, job_cancelled_cb, srv); /* sleeps, hashes or saves: the whole loop waits */
    cmd_job_reply(&job, &c->out);
}

/* ==== Writes ============================================================= */

/* A write is applied, its record written to the append-only file and
 * (appendfsync always) synced, all right here, before the reply: stage 2's
 * code, unchanged but for the lock it no longer needs. The fsync blocks
 * its caller, and its caller is the loop: every client waits for it. */
static void run_write_command(conn_t *c, const cmd_t *cmd)
{
    server_t *srv = c->srv;

    cmd_call(cmd, c->parser.argc, c->parser.argv, srv->store, &srv->env, &c->out,
             append_log(&srv->append));
    uint64_t end = append_write(&srv->append);
    append_sync(&srv->append, end); /* blocks the loop until the disk has it */
}

/* ==== Requests =========================================================== */

/* Executes the request in c->parser, appending its reply to c->out, and
 * tells the lag monitor how long it held the loop thread. Returns 1 when
 * the connection must close after the reply (QUIT). */
static int execute_request(conn_t *c)
{
    server_t *srv = c->srv;
    const cmd_t *cmd = cmd_lookup(c->parser.argc, c->parser.argv, &c->out);
    uint64_t start = uv_hrtime();

    if (cmd == NULL)
        return 0; /* unknown command or wrong arity: the error is in c->out */
    if (cmd->flags & CMD_SLOW)
        run_slow_command(c, cmd);
    else if (cmd->flags & CMD_WRITE)
        run_write_command(c, cmd);
    else
        cmd_call(cmd, c->parser.argc, c->parser.argv, srv->store, &srv->env, &c->out, NULL);
    lag_command_done(&srv->lag, cmd->name, uv_hrtime() - start);
    return (cmd->flags & CMD_CLOSE) != 0;
}

/* Parses and executes the complete requests in c->in, appending the
 * replies to c->out, one batch at most: BATCH_REQUESTS requests or
 * BATCH_REPLY_BYTES of replies, so that one client's long pipeline cannot
 * hold the loop. Says whether the connection goes on, has requests left,
 * closes once the replies are written (QUIT, protocol error), or must close
 * at once (a request larger than QUERY_BUF_MAX). */
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
        } else if (execute_request(c)) {
            result = INPUT_CLOSE_AFTER_REPLY;
        }
    }
    buf_consume(&c->in, done);
    if (result == INPUT_OK && c->in.len > QUERY_BUF_MAX) {
        log_warn("closing a client: request larger than %d bytes", QUERY_BUF_MAX);
        result = INPUT_CLOSE_NOW;
    }
    return result;
}
