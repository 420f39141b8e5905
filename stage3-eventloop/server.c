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
 * purpose, exec.c) freezes every client at once. The loop-lag monitor
 * (lag.c) measures that freeze, and INFO reports it.
 *
 * The files: server.c (this one: start-up, signals, shutdown, INFO),
 * conn.c (a connection's life: reading, writing, backpressure, the ready
 * list, closing), exec.c (parse what arrived, run it, queue the reply),
 * lag.c (the loop-lag monitor).
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
 *   - a connection's requests run only from its own read callback or from
 *     the ready list (conn_ready()), never from another one's callback;
 *   - nread == 0 in read_cb means "nothing this time", not EOF;
 *   - at EOF, uv_shutdown() flushes queued replies before the close.
 */

#include "server.h"

#include "alloc.h"
#include "conn.h"
#include "dump_lock.h"
#include "lifecycle.h"
#include "log.h"
#include "mono.h"

#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define LISTEN_BACKLOG    511
#define SHUTDOWN_GRACE_MS 1000 /* then connections that do not drain are cut off */

static const opts_stage_t stage = {
    .name = "stage3-eventloop",
    .summary = "one libuv event loop, one small state machine per connection",
    .default_port = 7003,
};

static server_t server;

/* ==== Start-up =========================================================== */

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
        rc = uv_listen((uv_stream_t *)&srv->listener, LISTEN_BACKLOG, conn_accept_cb);
    if (rc == 0)
        rc = uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&bound, &len);
    if (rc != 0)
        return rc;
    srv->env.port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
    return 0;
}

/* ==== Signals and shutdown =============================================== */

/* Every TCP handle but the listener is a connection. */
int server_is_connection(server_t *srv, uv_handle_t *handle)
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
    if (!server_is_connection(srv, handle))
        uv_close(handle, NULL);
    else
        conn_finish(handle->data);
}

/* uv_walk callback when the grace period is over: close what is left,
 * connections included, dropping their unsent replies. */
static void close_handle_cb(uv_handle_t *handle, void *arg)
{
    server_t *srv = arg;

    if (server_is_connection(srv, handle))
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

/* ==== INFO =============================================================== */

/* INFO's stage section. Runs on the loop thread, like everything here. */
static void info_cb(buf_t *out, void *arg)
{
    server_t *srv = arg;
    buf_printf(out, "model:event-loop\r\n");
    buf_printf(out, "connected_clients:%d\r\n", srv->conn_count);
    lag_info(&srv->lag, out);
    append_info(&srv->append, out);
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
    append_init(&srv->append);
    srv->fd_limit = lifecycle_raise_fd_limit(&srv->opts.max_clients);
    srv->env.max_clients = srv->opts.max_clients;

    int exit_code = 1;
    dump_lock_t dbfile_lock = DUMP_LOCK_INIT, aof_lock = DUMP_LOCK_INIT;
    srv->loop = uv_default_loop();
    if (lifecycle_load_dump(&srv->opts, &dbfile_lock, &srv->store) != 0 ||
        append_start(&srv->append, &srv->opts, &aof_lock, srv->store, srv->loop) != 0)
        goto out_loop;
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
    lag_start(&srv->lag, srv->loop);
    conn_start_watch(srv);
    printf("listening on %s:%d\n", srv->opts.bind, srv->env.port);
    fflush(stdout);

    uv_run(srv->loop, UV_RUN_DEFAULT); /* until begin_shutdown() has closed everything */
    append_stop(&srv->append); /* every write is in the file and on disk */

    exit_code = lifecycle_save_dump(srv->store, srv->opts.dbfile) == 0 ? 0 : 1;

out_loop:
    rc = close_loop(srv);
    if (rc != 0) {
        log_error("uv_loop_close: %s", uv_strerror(rc));
        exit_code = 1;
    }
    append_stop(&srv->append); /* a no-op after the first */
    dump_unlock(&aof_lock);
    dump_unlock(&dbfile_lock); /* after the last save */
    store_free(srv->store);
    return exit_code;
}
