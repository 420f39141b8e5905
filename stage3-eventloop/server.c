/*
 * stage3-eventloop: the same server on a libuv event loop.
 *
 * One thread, one loop. Instead of a thread blocked in read() for every
 * client, each connection is a small struct the loop calls back when its
 * socket has bytes: the straight-line cycle of stage 2 (read, parse,
 * execute, write, repeat) is cut into callbacks at the points where it used
 * to block. An idle connection costs its struct and nothing else: no
 * thread, no stack, no read buffer.
 *
 * The price: everything runs on the loop thread, so a command that blocks
 * or computes for long (DEBUG SLEEP, DIGEST, SAVE, run inline here on
 * purpose) freezes every client at once. The loop-lag monitor below
 * measures that freeze, and INFO reports it.
 *
 * Threads and data: there is one thread. The store, the connections and
 * the counters are touched only by the loop thread, so nothing is locked.
 * The one exception is the signal handler, which may interrupt the loop
 * thread anywhere: it only sets two atomics and wakes the loop.
 *
 * Ownership, as libuv requires:
 *   - read buffers are c->in's spare room, handed out by alloc_cb and kept
 *     only while a request is half received or waits its turn;
 *   - bytes passed to uv_write() live in a write_req_t until write_cb;
 *   - a connection is freed only in its close callback, and uv_close() is
 *     never called twice on it (uv_is_closing);
 *   - nread == 0 in read_cb means "nothing this time", not EOF;
 *   - at EOF, uv_shutdown() flushes queued replies before the close.
 */

#include "alloc.h"
#include "cmd.h"
#include "cmd_job.h"
#include "dump.h"
#include "lifecycle.h"
#include "log.h"
#include "mono.h"
#include "opts.h"
#include "resp.h"
#include "store.h"

#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <uv.h>

#define READ_CHUNK        (64 * 1024)
#define QUERY_BUF_MAX     (64 * 1024 * 1024) /* a partial request may not grow past this */
#define LISTEN_BACKLOG    511
#define SHUTDOWN_GRACE_MS 1000 /* then connections that do not drain are cut off */

/* Backpressure, the work of one callback, and the loop-lag monitor. */
#define OUTPUT_PAUSE_BYTES (1024 * 1024) /* execute nothing more for a client this far behind */
#define OUTPUT_STUCK_MS    5000 /* cut off a client whose unsent replies do not move this long */
#define STUCK_CHECK_MS     500  /* how often unsent replies are checked for progress */
#define INPUT_AHEAD_BYTES  (1024 * 1024) /* read this far ahead of what may be executed */
#define BATCH_REQUESTS     1000          /* one callback executes at most this many requests */
#define BATCH_REPLY_BYTES  (256 * 1024)  /* ... or builds this many bytes of replies */
#define LAG_INTERVAL_MS    10            /* how often the lag monitor ticks */
#define STALL_MS           100           /* a tick this late counts as a stall */

static const opts_stage_t stage = {
    .name = "stage3-eventloop",
    .summary = "one libuv event loop, one small state machine per connection",
    .default_port = 7003,
};

/* ==== Server state ======================================================= */

typedef struct conn conn_t;

typedef struct server {
    opts_t opts;
    cmd_env_t env;
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_async_t stop_async; /* wakes the loop when a signal asks it to stop */
    uv_timer_t lag_timer;
    uv_timer_t grace_timer; /* bounds the shutdown */
    uv_timer_t stuck_timer; /* finds clients that do not read their replies */
    uv_idle_t resume_idle;  /* runs the next batch of the connections queued below */
    conn_t *resume_head;    /* connections with requests left after their batch */
    conn_t **resume_tail;
    int resume_count;

    store_t *store; /* the loop thread's alone: no lock */

    int conn_count;
    int stopping;              /* shutdown has begun (loop thread) */
    atomic_int stop_requested; /* set by the signal handler: slow commands give up */
    atomic_int stop_signal;    /* the signal that asked, for the log */
    rlim_t fd_limit;           /* RLIMIT_NOFILE, as lifecycle_raise_fd_limit() left it */

    /* The loop-lag monitor: how late lag_timer fires. */
    uint64_t lag_last_tick_ns;
    uint64_t lag_current_ms;
    uint64_t lag_max_ms;
    uint64_t lag_stalls; /* ticks more than STALL_MS late */
} server_t;

/* Everything one connection holds while idle: its handle, its parser, two
 * empty buffers. Well under 1 KiB. */
struct conn {
    uv_tcp_t handle; /* handle.data points back here */
    server_t *srv;
    buf_t in;  /* bytes of a half-received request; empty (no memory) when idle */
    buf_t out; /* replies of the current read, until handed to libuv */
    resp_parser_t parser;
    int reading;   /* uv_read_start() is in effect */
    int paused;    /* too many replies unsent: executing nothing until they drain */
    int finishing; /* closing once the queued replies are written */
    int eof;       /* the client sent all it will: close once that is answered */

    conn_t *next_to_resume; /* in srv->resume_head's queue, while resume_queued */
    int resume_queued;
    int wrote;           /* a write completed since the last stuck check */
    size_t stuck_queued; /* unsent bytes at the last stuck check */
    uint64_t moved_ms;   /* when its unsent replies last moved (uv_now) */
};

/* A write in flight: libuv needs the bytes until write_cb. */
typedef struct write_req {
    uv_write_t req;
    char *data;
} write_req_t;

static server_t server;

static void conn_close(conn_t *c);
static void conn_finish(conn_t *c);
static void update_reading(conn_t *c);
static void serve_input(conn_t *c);
static int is_connection(server_t *srv, uv_handle_t *handle);

/* True while the connection may execute requests: not while its replies
 * drain (paused), nor once it is finishing. Bytes that arrive meanwhile
 * wait in c->in (see update_reading()). */
static int conn_may_execute(const conn_t *c)
{
    return !c->paused && !c->finishing;
}

/* Bytes handed to libuv that the kernel has not taken yet. */
static size_t output_queued(conn_t *c)
{
    return uv_stream_get_write_queue_size((uv_stream_t *)&c->handle);
}

/* ==== Executing requests ================================================= */

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

/* Executes the request in c->parser, appending its reply to c->out.
 * Returns 1 when the connection must close after the reply (QUIT). */
static int execute_request(conn_t *c)
{
    server_t *srv = c->srv;
    const cmd_t *cmd = cmd_lookup(c->parser.argc, c->parser.argv, &c->out);

    if (cmd == NULL)
        return 0; /* unknown command or wrong arity: the error is in c->out */
    if (cmd->flags & CMD_SLOW)
        run_slow_command(c, cmd);
    else
        cmd_call(cmd, c->parser.argc, c->parser.argv, srv->store, &srv->env, &c->out);
    return (cmd->flags & CMD_CLOSE) != 0;
}

enum input_result {
    INPUT_OK,     /* all complete requests executed: waiting for more bytes */
    INPUT_MORE,   /* its batch is done, requests are left: on a later turn */
    INPUT_PAUSED, /* executed nothing: the connection may not (conn_may_execute) */
    INPUT_CLOSE_AFTER_REPLY,
    INPUT_CLOSE_NOW,
};

/* Parses and executes the complete requests in c->in, appending the
 * replies to c->out, one batch at most: BATCH_REQUESTS requests or
 * BATCH_REPLY_BYTES of replies, so that one client's long pipeline cannot
 * hold the loop. Says whether the connection goes on, has requests left,
 * closes once the replies are written (QUIT, protocol error), or must close
 * at once (a request larger than QUERY_BUF_MAX). */
static enum input_result process_input(conn_t *c)
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

/* ==== Batches: the rest of a pipeline on a later turn ===================== */

/* A connection with requests left after its batch (or whose replies have
 * drained) waits in this queue for the next turn of the loop, so that the
 * other clients' I/O is served in between. An idle handle runs the queue:
 * while one is active the loop polls without blocking and calls it once
 * per turn, after the I/O callbacks. (A check handle would not keep the
 * loop from blocking in poll; a zero timer runs before the I/O.) */
static void resume_cb(uv_idle_t *idle)
{
    server_t *srv = idle->data;

    /* Only those queued before this turn: one that queues itself again
     * waits for the next turn, after everyone else's I/O. */
    for (int n = srv->resume_count; n > 0 && srv->resume_head != NULL; n--) {
        conn_t *c = srv->resume_head;
        srv->resume_head = c->next_to_resume;
        if (srv->resume_head == NULL)
            srv->resume_tail = &srv->resume_head;
        srv->resume_count--;
        c->resume_queued = 0;
        serve_input(c);
    }
    if (srv->resume_head == NULL)
        uv_idle_stop(idle);
}

/* Queues the connection to go on with its input on the next turn. */
static void resume_later(conn_t *c)
{
    server_t *srv = c->srv;

    if (c->resume_queued || c->finishing || srv->stopping)
        return; /* at shutdown, what was not executed is dropped */
    c->resume_queued = 1;
    c->next_to_resume = NULL;
    *srv->resume_tail = c;
    srv->resume_tail = &c->next_to_resume;
    srv->resume_count++;
    uv_idle_start(&srv->resume_idle, resume_cb); /* a no-op when it is running */
}

/* Takes a closing connection out of the queue. */
static void resume_cancel(conn_t *c)
{
    server_t *srv = c->srv;
    conn_t **link = &srv->resume_head;

    if (!c->resume_queued)
        return;
    while (*link != c)
        link = &(*link)->next_to_resume;
    *link = c->next_to_resume;
    if (srv->resume_tail == &c->next_to_resume)
        srv->resume_tail = link;
    srv->resume_count--;
    c->resume_queued = 0;
}

/* ==== Writing ============================================================ */

static void write_cb(uv_write_t *req, int status)
{
    write_req_t *w = (write_req_t *)req;
    uv_stream_t *stream = req->handle;
    conn_t *c = stream->data;

    free(w->data);
    free(w);
    if (status < 0) {
        /* UV_ECANCELED: the connection is closing and libuv dropped the
         * write; anything else: the peer has gone. */
        if (status != UV_ECANCELED)
            log_debug("write: %s", uv_strerror(status));
        conn_close(c);
        return;
    }
    c->wrote = 1; /* progress: the client reads (see check_stuck_cb) */
    if (c->paused && uv_stream_get_write_queue_size(stream) <= OUTPUT_PAUSE_BYTES) {
        c->paused = 0; /* the client caught up: execute its requests again */
        resume_later(c);
    }
}

/* Sends c->out: straight into the socket if it has room (uv_try_write: no
 * allocation, no callback), the rest through uv_write(), which needs the
 * bytes until write_cb. Returns 0, or a negative libuv error after which
 * the caller closes the connection. */
static int flush_output(conn_t *c)
{
    uv_stream_t *stream = (uv_stream_t *)&c->handle;
    size_t sent = 0;

    if (c->out.len == 0)
        return 0;
    uv_buf_t b = uv_buf_init(c->out.data, (unsigned)c->out.len);
    int n = uv_try_write(stream, &b, 1); /* UV_EAGAIN while earlier writes are queued */
    if (n < 0 && n != UV_EAGAIN)
        return n;
    if (n > 0)
        sent = (size_t)n;
    if (sent == c->out.len) {
        buf_free(&c->out); /* an idle connection keeps no output buffer */
        return 0;
    }

    write_req_t *w = malloc(sizeof *w);
    if (w == NULL)
        return UV_ENOMEM;
    size_t len;
    w->data = buf_detach(&c->out, &len);
    b = uv_buf_init(w->data + sent, (unsigned)(len - sent));
    int rc = uv_write(&w->req, stream, &b, 1, write_cb);
    if (rc < 0) {
        free(w->data);
        free(w);
    }
    return rc;
}

/* ==== Reading ============================================================ */

/* libuv asks for memory just before it reads: hand out spare room at the
 * end of c->in, which read_cb gives back when no request is half received,
 * so an idle connection holds no read buffer. */
static void alloc_cb(uv_handle_t *handle, size_t suggested, uv_buf_t *b)
{
    conn_t *c = handle->data;
    (void)suggested;
    buf_reserve(&c->in, READ_CHUNK);
    *b = uv_buf_init(c->in.data + c->in.len, (unsigned)(c->in.cap - c->in.len));
}

/* Keeps only what a half-received request needs. */
static void release_read_buffer(conn_t *c)
{
    if (c->in.len == 0) {
        buf_free(&c->in);
        resp_parser_trim(&c->parser);
    } else if (c->in.len < c->in.cap / 4) {
        buf_shrink(&c->in);
    }
}

/* Executes one batch of the requests that have arrived and offers its
 * replies to the socket at once, then decides what comes next: the next
 * batch on a later turn, a pause while the replies drain, the close once
 * all that came before EOF is answered, or more reading. */
static void serve_input(conn_t *c)
{
    enum input_result result = INPUT_PAUSED;
    if (conn_may_execute(c)) {
        result = process_input(c);
        release_read_buffer(c);
    }
    if (result == INPUT_CLOSE_NOW || flush_output(c) < 0) {
        conn_close(c);
        return;
    }
    if (result == INPUT_CLOSE_AFTER_REPLY || (result == INPUT_OK && c->eof)) {
        conn_finish(c);
        return;
    }
    /* Backpressure: the replies were just offered to the socket, so this
     * counts only what the kernel would not take. A client this far behind
     * gets nothing more executed until write_cb sees it drain, as the
     * thread stages block in write(). */
    if (output_queued(c) > OUTPUT_PAUSE_BYTES)
        c->paused = 1;
    if (result == INPUT_MORE && !c->paused)
        resume_later(c);
    update_reading(c);
}

/* The loop's version of stage 2's cycle: called with the bytes one read()
 * returned. Serves them, then returns to the loop. */
static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *b)
{
    conn_t *c = stream->data;
    (void)b; /* the bytes are in c->in's spare room, see alloc_cb */

    if (nread == 0) { /* nothing to read this time (EAGAIN): not EOF */
        release_read_buffer(c);
        return;
    }
    if (nread == UV_EOF) {
        c->eof = 1; /* answer what came, flush, then close (serve_input) */
        serve_input(c);
        return;
    }
    if (nread < 0) { /* a reset or another error: nothing more to send */
        log_debug("read: %s", uv_strerror((int)nread));
        conn_close(c);
        return;
    }

    c->in.len += (size_t)nread;
    serve_input(c);
}

/* Starts or stops reading to match the connection's state. A connection
 * that may not execute, or has requests left, still reads up to
 * INPUT_AHEAD_BYTES into c->in without executing them: that much is
 * bounded, and it is how a hang-up or a reset is seen. */
static void update_reading(conn_t *c)
{
    uv_stream_t *stream = (uv_stream_t *)&c->handle;
    int needs_bytes = conn_may_execute(c) && !c->resume_queued; /* for a partial request */
    int want = !c->eof && !c->finishing && !c->srv->stopping &&
               (needs_bytes || c->in.len < INPUT_AHEAD_BYTES);

    if (want && !c->reading)
        uv_read_start(stream, alloc_cb, read_cb);
    else if (!want && c->reading)
        uv_read_stop(stream);
    c->reading = want;
}

/* ==== Connections ======================================================== */

static void close_cb(uv_handle_t *handle)
{
    conn_t *c = handle->data;
    c->srv->conn_count--;
    buf_free(&c->in);
    buf_free(&c->out);
    resp_parser_free(&c->parser);
    free(c);
}

/* Closes at once, dropping any unsent replies. Safe to call more than once:
 * uv_close() must not be, so ask uv_is_closing() first. */
static void conn_close(conn_t *c)
{
    if (!uv_is_closing((uv_handle_t *)&c->handle)) {
        resume_cancel(c);
        uv_close((uv_handle_t *)&c->handle, close_cb);
    }
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
    conn_t *c = req->handle->data;
    (void)status; /* flushed or not, the connection is done */
    free(req);
    conn_close(c);
}

/* Closes once every queued reply is written: uv_shutdown() waits for the
 * pending writes, then shuts the write side; shutdown_cb closes. */
static void conn_finish(conn_t *c)
{
    uv_stream_t *stream = (uv_stream_t *)&c->handle;

    if (uv_is_closing((uv_handle_t *)stream) || c->finishing)
        return;
    c->finishing = 1;
    update_reading(c);
    uv_shutdown_t *req = malloc(sizeof *req);
    if (req == NULL || uv_shutdown(req, stream, shutdown_cb) < 0) {
        free(req); /* UV_ENOTCONN: the peer is gone already */
        conn_close(c);
    }
}

/* Answers and closes a client we cannot serve. The socket is fresh, so the
 * short reply fits in its send buffer: uv_try_write() sends it whole. */
static void refuse_client(conn_t *c, const char *reply)
{
    uv_buf_t b = uv_buf_init((char *)reply, (unsigned)strlen(reply));
    uv_try_write((uv_stream_t *)&c->handle, &b, 1);
    conn_close(c);
}

/* True when the connection's descriptor is within LIFECYCLE_RESERVED_FDS of the open
 * file limit. The kernel hands out the lowest free descriptor, so a high
 * one means all below it are taken: by connections, and by whatever the
 * process inherited or opened besides, which lifecycle_raise_fd_limit() cannot
 * know. Refusing here keeps accept() from ever failing with EMFILE. */
static int fd_reserve_reached(server_t *srv, conn_t *c)
{
    uv_os_fd_t fd;

    if (srv->fd_limit == RLIM_INFINITY || uv_fileno((uv_handle_t *)&c->handle, &fd) != 0)
        return 0;
    return (rlim_t)fd + LIFECYCLE_RESERVED_FDS >= srv->fd_limit;
}

/* The listener's callback: a client is waiting to be accepted. */
static void connection_cb(uv_stream_t *listener, int status)
{
    server_t *srv = listener->data;

    if (status < 0) {
        log_warn("accept: %s", uv_strerror(status));
        return;
    }
    /* Not calloc(): libuv stops watching the listener until a connection
     * callback accepts, so returning without a handle would end accepting
     * for good. Out of memory is fatal here (see alloc.h). */
    conn_t *c = xcalloc(1, sizeof *c);
    c->srv = srv;
    resp_parser_init(&c->parser);
    uv_tcp_init(srv->loop, &c->handle);
    c->handle.data = c;
    c->moved_ms = uv_now(srv->loop);
    srv->conn_count++; /* close_cb counts it out, whatever happens next */

    int rc = uv_accept(listener, (uv_stream_t *)&c->handle);
    if (rc < 0) {
        log_warn("accept: %s", uv_strerror(rc));
        conn_close(c);
        return;
    }
    /* libuv's own answer to "too many open files" is to accept and close
     * silently; count instead, and say why, as Redis does, before the
     * descriptors run out (fd_reserve_reached). */
    if (srv->conn_count > srv->opts.max_clients || fd_reserve_reached(srv, c)) {
        refuse_client(c, "-ERR max number of clients reached\r\n");
        return;
    }
    uv_tcp_nodelay(&c->handle, 1);
    update_reading(c);
}

/* ==== The loop-lag monitor =============================================== */

/* Ticks every LAG_INTERVAL_MS. A tick that comes late means the loop was
 * busy: a callback ran long, and every client waited that long. */
static void lag_timer_cb(uv_timer_t *timer)
{
    server_t *srv = timer->data;
    uint64_t now = uv_hrtime();
    uint64_t elapsed_ms = (now - srv->lag_last_tick_ns) / 1000000;

    srv->lag_last_tick_ns = now;
    srv->lag_current_ms = elapsed_ms > LAG_INTERVAL_MS ? elapsed_ms - LAG_INTERVAL_MS : 0;
    if (srv->lag_current_ms > srv->lag_max_ms)
        srv->lag_max_ms = srv->lag_current_ms;
    if (srv->lag_current_ms > STALL_MS) {
        srv->lag_stalls++;
        log_warn("event loop stalled for %llu ms: every client waited",
                 (unsigned long long)srv->lag_current_ms);
    }
}

static void start_lag_monitor(server_t *srv)
{
    uv_timer_init(srv->loop, &srv->lag_timer);
    srv->lag_timer.data = srv;
    srv->lag_last_tick_ns = uv_hrtime();
    uv_timer_start(&srv->lag_timer, lag_timer_cb, LAG_INTERVAL_MS, LAG_INTERVAL_MS);
}

/* ==== Clients that do not read =========================================== */

/* uv_walk callback every STUCK_CHECK_MS: a connection whose unsent replies
 * have not moved for OUTPUT_STUCK_MS is not reading them, and is cut off.
 * Moving means a write completed or the queue shrank (libuv counts partial
 * writes); growing is not moving. A slow reader moves, and stays. */
static void check_stuck_cb(uv_handle_t *handle, void *arg)
{
    server_t *srv = arg;

    if (!is_connection(srv, handle) || uv_is_closing(handle))
        return;
    conn_t *c = handle->data;
    size_t queued = output_queued(c);
    uint64_t now = uv_now(srv->loop);
    if (queued == 0 || c->wrote || queued < c->stuck_queued) {
        c->moved_ms = now;
    } else if (now - c->moved_ms >= OUTPUT_STUCK_MS) {
        log_warn("closing a client whose %zu bytes of unsent replies did not move for %d ms "
                 "(not reading them?)",
                 queued, OUTPUT_STUCK_MS);
        conn_close(c);
    }
    c->stuck_queued = queued;
    c->wrote = 0;
}

static void stuck_timer_cb(uv_timer_t *timer)
{
    uv_walk(timer->loop, check_stuck_cb, timer->data);
}

/* Starts the stuck check, and the idle handle that resumes batches. */
static void start_output_watch(server_t *srv)
{
    uv_timer_init(srv->loop, &srv->stuck_timer);
    srv->stuck_timer.data = srv;
    uv_timer_start(&srv->stuck_timer, stuck_timer_cb, STUCK_CHECK_MS, STUCK_CHECK_MS);
    uv_idle_init(srv->loop, &srv->resume_idle);
    srv->resume_idle.data = srv;
    srv->resume_tail = &srv->resume_head;
}

/* ==== Start-up and shutdown ============================================== */

/* INFO's stage section. Runs on the loop thread, like everything here. */
static void info_cb(buf_t *out, void *arg)
{
    server_t *srv = arg;
    buf_printf(out, "model:event-loop\r\n");
    buf_printf(out, "connected_clients:%d\r\n", srv->conn_count);
    buf_printf(out, "loop_lag_ms:%llu\r\n", (unsigned long long)srv->lag_current_ms);
    buf_printf(out, "loop_lag_max_ms:%llu\r\n", (unsigned long long)srv->lag_max_ms);
    buf_printf(out, "loop_stalls:%llu\r\n", (unsigned long long)srv->lag_stalls);
}

/* Opens the listening socket and reports the port actually bound. */
static int listen_on(server_t *srv)
{
    struct sockaddr_in addr;
    struct sockaddr_storage bound;
    int len = sizeof bound;

    uv_ip4_addr(srv->opts.bind, srv->opts.port, &addr); /* validated by opts_parse */
    uv_tcp_init(srv->loop, &srv->listener);
    srv->listener.data = srv;
    int rc = uv_tcp_bind(&srv->listener, (const struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&srv->listener, LISTEN_BACKLOG, connection_cb);
    if (rc == 0)
        rc = uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&bound, &len);
    if (rc != 0)
        return rc;
    srv->env.port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
    return 0;
}

/* Every TCP handle but the listener is a connection. */
static int is_connection(server_t *srv, uv_handle_t *handle)
{
    return handle->type == UV_TCP && handle != (uv_handle_t *)&srv->listener;
}

/* uv_walk callback at shutdown: every connection flushes and closes, every
 * other handle closes. Handles already closing are left alone. */
static void stop_handle_cb(uv_handle_t *handle, void *arg)
{
    server_t *srv = arg;

    if (uv_is_closing(handle))
        return;
    if (is_connection(srv, handle))
        conn_finish(handle->data);
    else
        uv_close(handle, NULL);
}

/* uv_walk callback when the grace period is over: close what is left,
 * connections included, dropping their unsent replies. */
static void close_handle_cb(uv_handle_t *handle, void *arg)
{
    server_t *srv = arg;

    if (is_connection(srv, handle))
        conn_close(handle->data);
    else if (!uv_is_closing(handle))
        uv_close(handle, NULL);
}

static void grace_timer_cb(uv_timer_t *timer)
{
    server_t *srv = timer->data;
    log_warn("%d connection(s) still draining after %d ms: cutting them off", srv->conn_count,
             SHUTDOWN_GRACE_MS);
    uv_walk(srv->loop, close_handle_cb, srv);
}

/* Stops listening, then lets every connection flush its replies and close.
 * No command is half done: commands run whole between two callbacks (a
 * slow one the signal cut short has already answered with an error). The
 * loop ends by itself once the last handle is closed. */
static void begin_shutdown(server_t *srv)
{
    if (srv->stopping)
        return;
    srv->stopping = 1;
    uv_walk(srv->loop, stop_handle_cb, srv);

    /* A client that never reads its replies must not keep us up forever;
     * the timer is unreferenced so it does not keep the loop alive. */
    uv_timer_init(srv->loop, &srv->grace_timer);
    srv->grace_timer.data = srv;
    uv_timer_start(&srv->grace_timer, grace_timer_cb, SHUTDOWN_GRACE_MS, 0);
    uv_unref((uv_handle_t *)&srv->grace_timer);
}

/* ==== Signals ============================================================ */

/* The SIGINT and SIGTERM handler. A uv_signal_t would not do: libuv runs
 * its callback from the loop, and the loop may be blocked in a slow
 * command for an hour. So the handler itself tells that command to stop
 * (stop_requested, which the command's cancel callback reads) and wakes
 * the loop. It may run on any thread, in the middle of anything: it only
 * stores to lock-free atomics and calls uv_async_send(), which libuv
 * documents as async-signal-safe, and it keeps errno as it found it. A
 * second signal does nothing more: shutdown is under way, and bounded. */
static void signal_handler(int signum)
{
    int saved_errno = errno;
    if (atomic_exchange(&server.stop_requested, 1) == 0) {
        atomic_store(&server.stop_signal, signum);
        uv_async_send(&server.stop_async);
    }
    errno = saved_errno;
}

/* On the loop thread, once the slow command (if any) has given up. */
static void stop_async_cb(uv_async_t *handle)
{
    server_t *srv = handle->data;
    log_info("received %s, shutting down", strsignal(atomic_load(&srv->stop_signal)));
    begin_shutdown(srv);
}

/* Returns 0 or a negative libuv error. */
static int setup_signals(server_t *srv)
{
    static_assert(ATOMIC_INT_LOCK_FREE == 2, "the signal handler needs lock-free atomics");
    struct sigaction sa = {.sa_handler = signal_handler, .sa_flags = SA_RESTART};

    signal(SIGPIPE, SIG_IGN); /* a peer that has gone shows up as UV_EPIPE */
    int rc = uv_async_init(srv->loop, &srv->stop_async, stop_async_cb);
    if (rc != 0)
        return rc;
    srv->stop_async.data = srv;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return uv_translate_sys_error(errno);
    return 0;
}

/* Closes whatever is left (the grace timer) and lets the loop finish, so
 * that uv_loop_close() finds nothing open. */
static int close_loop(server_t *srv)
{
    atomic_store(&srv->stop_requested, 1); /* a late signal must not wake a closed loop */
    uv_walk(srv->loop, close_handle_cb, srv);
    uv_run(srv->loop, UV_RUN_DEFAULT);
    return uv_loop_close(srv->loop);
}

int main(int argc, char **argv)
{
    server_t *srv = &server;
    int rc = opts_parse(&srv->opts, &stage, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    log_init(stage.name, srv->opts.log_level);
    alloc_init(); /* big buffers freed go back to the kernel */

    srv->env = (cmd_env_t){
        .stage = stage.name,
        .bind = srv->opts.bind,
        .dbfile = srv->opts.dbfile,
        .start_ms = mono_now_ms(),
        .info = info_cb,
        .info_arg = srv,
    };
    srv->store = store_new();
    srv->fd_limit = lifecycle_raise_fd_limit(&srv->opts.max_clients);
    srv->env.max_clients = srv->opts.max_clients;

    int exit_code = 1;
    dump_lock_t dbfile_lock = DUMP_LOCK_INIT;
    if (lifecycle_load_dump(srv->opts.dbfile, &dbfile_lock, &srv->store) != 0)
        goto out_store;
    srv->loop = uv_default_loop();
    rc = setup_signals(srv);
    if (rc != 0) {
        log_error("cannot handle signals: %s", uv_strerror(rc));
        goto out_loop;
    }
    rc = listen_on(srv);
    if (rc != 0) {
        log_error("cannot listen on %s:%d: %s", srv->opts.bind, srv->opts.port, uv_strerror(rc));
        goto out_loop;
    }
    start_lag_monitor(srv);
    start_output_watch(srv);
    printf("listening on %s:%d\n", srv->opts.bind, srv->env.port);
    fflush(stdout);

    uv_run(srv->loop, UV_RUN_DEFAULT); /* until begin_shutdown() has closed everything */

    exit_code = lifecycle_save_dump(srv->store, srv->opts.dbfile) == 0 ? 0 : 1;

out_loop:
    rc = close_loop(srv);
    if (rc != 0) {
        log_error("uv_loop_close: %s", uv_strerror(rc));
        exit_code = 1;
    }
out_store:
    dump_unlock(&dbfile_lock); /* after the last save */
    store_free(srv->store);
    return exit_code;
}
