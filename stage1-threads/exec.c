#include "exec.h"

#include "cmd_job.h"
#include "log.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>

#define QUERY_BUF_MAX (64 * 1024 * 1024) /* a partial request may not grow past this */
#define OUTPUT_FLUSH  (1024 * 1024)      /* write replies out mid-batch past this */

/* ==== Slow commands ====================================================== */

/* True when the client has hung up: reset, closed, or shut its sending
 * side (POLLRDHUP). Nobody will read the reply of its slow command then.
 * Asks without waiting, and reads nothing: pipelined requests stay queued
 * in the socket. */
static int client_hung_up(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLRDHUP};
    return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

/* Asked by a running slow command at least every CMD_CANCEL_POLL_MS: give
 * up when the server is shutting down (stop_connections() sets stopping)
 * or when its client has gone, so that neither waits for work nobody
 * will read. */
static int job_cancelled_cb(void *arg)
{
    conn_t *c = arg;
    return atomic_load(&c->srv->stopping) || client_hung_up(c->fd);
}

/* A slow command runs right here, in the connection's own thread: only its
 * own client waits. The store lock is held just for the copy. */
static void run_slow_command(conn_t *c, const cmd_t *cmd)
{
    server_t *srv = c->srv;
    cmd_job_t job;

    if (cmd_job_init(&job, cmd, c->parser.argc, c->parser.argv, &srv->env, &c->out) != 0)
        return;
    pthread_mutex_lock(&srv->store_lock);
    cmd_job_read(&job, srv->store);
    pthread_mutex_unlock(&srv->store_lock);
    cmd_job_run(&job, job_cancelled_cb, c); /* sleeps, hashes or writes the dump: no lock held */
    cmd_job_reply(&job, &c->out);
}

/* ==== Writes ============================================================= */

/* A write is applied and its record written to the append-only file under
 * the store lock, so the file has the writes in the store's order; the
 * fsync (appendfsync always) runs outside it and before the reply, so the
 * wait for the disk holds up only this thread. */
static void run_write_command(conn_t *c, const cmd_t *cmd)
{
    server_t *srv = c->srv;

    pthread_mutex_lock(&srv->store_lock);
    cmd_call(cmd, c->parser.argc, c->parser.argv, srv->store, &srv->env, &c->out,
             append_log(&srv->append));
    uint64_t end = append_write(&srv->append);
    pthread_mutex_unlock(&srv->store_lock);
    append_sync(&srv->append, end); /* blocks this thread until the disk has it */
}

/* ==== Requests =========================================================== */

/* Executes the request in c->parser, appending its reply to c->out.
 * Returns 1 when the connection must close after the reply (QUIT). */
static int execute_request(conn_t *c)
{
    server_t *srv = c->srv;
    const cmd_t *cmd = cmd_lookup(c->parser.argc, c->parser.argv, &c->out);

    if (cmd == NULL)
        return 0; /* unknown command or wrong arity: the error is in c->out */
    if (cmd->flags & CMD_SLOW) {
        run_slow_command(c, cmd);
    } else if (cmd->flags & CMD_WRITE) {
        run_write_command(c, cmd);
    } else if (cmd->flags & CMD_READ) {
        pthread_mutex_lock(&srv->store_lock);
        cmd_call(cmd, c->parser.argc, c->parser.argv, srv->store, &srv->env, &c->out, NULL);
        pthread_mutex_unlock(&srv->store_lock);
    } else {
        cmd_call(cmd, c->parser.argc, c->parser.argv, srv->store, &srv->env, &c->out, NULL);
    }
    return (cmd->flags & CMD_CLOSE) != 0;
}

/* Parses and executes every complete request in c->in, appending the
 * replies to c->out. Returns 1 when the connection must close once c->out
 * is written: QUIT, a protocol error (whose reply is in c->out), or a
 * failed write. Replies are written out early when they pass OUTPUT_FLUSH,
 * so a pipeline of big GETs cannot grow c->out without bound. */
int exec_input(conn_t *c)
{
    size_t done = 0;
    int close_after = 0;

    while (!close_after) {
        size_t used;
        resp_status_t st = resp_parse(&c->parser, c->in.data + done, c->in.len - done, &used);
        done += used;
        if (st == RESP_INCOMPLETE)
            break;
        if (st == RESP_ERROR) {
            resp_add_error(&c->out, c->parser.error);
            close_after = 1;
        } else {
            close_after = execute_request(c);
        }
        if (!close_after && c->out.len >= OUTPUT_FLUSH && conn_flush_output(c) < 0)
            close_after = 1;
    }
    buf_consume(&c->in, done);
    if (!close_after && c->in.len > QUERY_BUF_MAX) {
        log_warn("closing a client: request larger than %d bytes", QUERY_BUF_MAX);
        close_after = 1;
    }
    return close_after;
}
