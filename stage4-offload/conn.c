#include "conn.h"

#include "alloc.h"
#include "append.h"
#include "exec.h"
#include "lifecycle.h"
#include "log.h"
#include "offload.h"

#include <stdlib.h>
#include <string.h>

#define READ_CHUNK (16 * 1024)

/* Backpressure: how far a client may fall behind, and when it is cut off. */
#define OUTPUT_PAUSE_BYTES (1024 * 1024) /* execute nothing more for a client this far behind */
#define INPUT_AHEAD_BYTES  (1024 * 1024) /* read this far ahead of what may be executed */
#define OUTPUT_STUCK_MS    5000 /* cut off a client whose unsent replies do not move this long */
#define STUCK_CHECK_MS     500  /* how often unsent replies are checked for progress */

/* A write in flight: libuv needs the bytes until write_cb. */
typedef struct write_req {
    uv_write_t req;
    char *data;
} write_req_t;

static void serve_input(conn_t *c);
static void update_reading(conn_t *c);

/* True while the connection may execute requests: not while its replies
 * drain (paused) or it waits (c->job), nor once it is finishing; nor once
 * it has OUTPUT_PAUSE_BYTES of replies held for a sync. Bytes that arrive
 * meanwhile wait in c->in (see update_reading()). */
static int conn_may_execute(const conn_t *c)
{
    int held_full = c->sync_wait != 0 && c->out.len >= OUTPUT_PAUSE_BYTES;
    return !c->paused && c->job == NULL && !c->finishing && !held_full;
}

/* Bytes handed to libuv that the kernel has not taken yet. */
static size_t output_queued(conn_t *c)
{
    return uv_stream_get_write_queue_size((uv_stream_t *)&c->handle);
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
 * bounded, and it is how a hang-up or a reset is seen (a client gone
 * during its job: offload_detach() cancels the job). */
static void update_reading(conn_t *c)
{
    uv_stream_t *stream = (uv_stream_t *)&c->handle;
    int needs_bytes = conn_may_execute(c) && !c->ready; /* for a partial request */
    int want = !c->eof && !c->finishing && !c->srv->stopping &&
               (needs_bytes || c->in.len < INPUT_AHEAD_BYTES);

    if (want && !c->reading)
        uv_read_start(stream, alloc_cb, read_cb);
    else if (!want && c->reading)
        uv_read_stop(stream);
    c->reading = want;
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
        conn_ready(c);
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

    if (c->out.len == 0 || c->sync_wait != 0)
        return 0; /* held replies go once their sync is done (append.c) */
    uv_buf_t b = uv_buf_init(c->out.data, (unsigned)c->out.len);
    int n = uv_try_write(stream, &b, 1); /* UV_EAGAIN while earlier writes are queued */
    if (n < 0 && n != UV_EAGAIN)
        return n;
    if (n > 0)
        sent = (size_t)n;
    if (sent == c->out.len) {
        buf_free(&c->out); /* all sent: an idle connection keeps no output buffer */
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

/* ==== The cycle, in callbacks ============================================ */

/* The replies wait for a sync (append.c), which calls conn_wait_over()
 * when it is done. Meanwhile the pipeline goes on: its writes join the
 * next sync. What follows a QUIT or a protocol error is dropped now, and
 * the connection finishes once the held replies are out. */
static void serve_while_held(conn_t *c, enum input_result result)
{
    if (result == INPUT_CLOSE_AFTER_REPLY) {
        buf_free(&c->in);
        c->eof = 1;
    } else if (result == INPUT_MORE && conn_may_execute(c)) {
        conn_ready(c);
    }
    update_reading(c);
}

/* Executes one batch of the requests that have arrived and offers its
 * replies to the socket at once, then decides what comes next: the next
 * batch on a later turn, a pause while the replies drain, the close once
 * all that came before EOF is answered, or more reading. */
static void serve_input(conn_t *c)
{
    enum input_result result = INPUT_PAUSED;
    if (conn_may_execute(c)) {
        result = exec_input(c);
        release_read_buffer(c);
    }
    if (result == INPUT_CLOSE_NOW || flush_output(c) < 0) {
        conn_close(c);
        return;
    }
    if (c->sync_wait != 0) {
        serve_while_held(c, result);
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
        conn_ready(c);
    update_reading(c);
}

/* ==== The ready list ===================================================== */

/* A connection that can go on without new bytes (its batch left requests,
 * or its replies have drained) waits on this list, and is served here, in
 * one place: whatever made it ready never serves it from its own stack. The
 * check handle runs once a turn, after the I/O callbacks, so the other
 * clients' I/O is served in between; the idle handle, active while the list
 * is not empty, only keeps the loop from sleeping in poll meanwhile. */
static void ready_check_cb(uv_check_t *check)
{
    server_t *srv = check->data;

    /* Only those queued before this turn: one that queues itself again
     * waits for the next turn, after everyone else's I/O. */
    for (int n = srv->ready_count; n > 0 && srv->ready_head != NULL; n--) {
        conn_t *c = srv->ready_head;
        srv->ready_head = c->next_ready;
        if (srv->ready_head == NULL)
            srv->ready_tail = &srv->ready_head;
        srv->ready_count--;
        c->ready = 0;
        serve_input(c);
    }
    if (srv->ready_head == NULL)
        uv_idle_stop(&srv->ready_idle);
}

static void ready_idle_cb(uv_idle_t *idle)
{
    (void)idle; /* nothing to do: while it is active, poll does not block */
}

void conn_ready(conn_t *c)
{
    server_t *srv = c->srv;

    if (c->ready || c->finishing || srv->stopping)
        return; /* at shutdown, what was not executed is dropped */
    c->ready = 1;
    c->next_ready = NULL;
    *srv->ready_tail = c;
    srv->ready_tail = &c->next_ready;
    srv->ready_count++;
    uv_idle_start(&srv->ready_idle, ready_idle_cb); /* a no-op when it is active */
}

void conn_wait_over(conn_t *c)
{
    if (!c->srv->stopping)
        conn_ready(c);
    else if (flush_output(c) < 0)
        conn_close(c);
    else
        conn_finish(c);
}

/* Takes a closing connection off the list. */
static void ready_cancel(conn_t *c)
{
    server_t *srv = c->srv;
    conn_t **link = &srv->ready_head;

    if (!c->ready)
        return;
    while (*link != c)
        link = &(*link)->next_ready;
    *link = c->next_ready;
    if (srv->ready_tail == &c->next_ready)
        srv->ready_tail = link;
    srv->ready_count--;
    c->ready = 0;
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
 * uv_close() must not be, so ask uv_is_closing() first. Detaches at once,
 * not in close_cb: a job that finishes before close_cb runs must already
 * see its client gone, or it would serve the rest of a dead client's
 * pipeline. */
void conn_close(conn_t *c)
{
    if (!uv_is_closing((uv_handle_t *)&c->handle)) {
        ready_cancel(c);
        offload_detach(c);
        append_forget(&c->srv->append, c);
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
void conn_finish(conn_t *c)
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
void conn_accept_cb(uv_stream_t *listener, int status)
{
    server_t *srv = listener->data;
    static log_limit_t accept_errors = LOG_LIMIT_INIT(LOG_LIMIT_MS);

    if (status < 0) {
        log_warn_limited(&accept_errors, "accept: %s", uv_strerror(status));
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
        log_warn_limited(&accept_errors, "accept: %s", uv_strerror(rc));
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

/* ==== Clients that do not read =========================================== */

/* uv_walk callback every STUCK_CHECK_MS: a connection whose unsent replies
 * have not moved for OUTPUT_STUCK_MS is not reading them, and is cut off.
 * Moving means a write completed or the queue shrank (libuv counts partial
 * writes); growing is not moving. A slow reader moves, and stays. */
static void check_stuck_cb(uv_handle_t *handle, void *arg)
{
    server_t *srv = arg;

    if (!server_is_connection(srv, handle) || uv_is_closing(handle))
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

void conn_start_watch(server_t *srv)
{
    uv_timer_init(srv->loop, &srv->stuck_timer);
    srv->stuck_timer.data = srv;
    uv_timer_start(&srv->stuck_timer, stuck_timer_cb, STUCK_CHECK_MS, STUCK_CHECK_MS);
    uv_idle_init(srv->loop, &srv->ready_idle);
    uv_check_init(srv->loop, &srv->ready_check);
    srv->ready_check.data = srv;
    srv->ready_tail = &srv->ready_head;
    uv_check_start(&srv->ready_check, ready_check_cb);
}
