/*
 * stage4-offload: the event loop, with its slow work handed to a thread pool.
 *
 * Stage 3's loop with one new habit: a command that would block the loop
 * (DEBUG SLEEP, DIGEST, SAVE) is queued with uv_queue_work() to libuv's
 * thread pool (--threads workers), and its reply is written from the
 * after-work callback, back on the loop thread. Meanwhile the loop goes on
 * serving every other client. The question this stage makes you ask of
 * every piece of work is: which pool does it live on?
 *
 * The files: stage 3's server.c (start-up, signals, shutdown, INFO),
 * conn.c (a connection's life) and exec.c (the request path), each changed
 * where it calls the offload, with stage 3's ownership rules (see its
 * server.c); lag.c, carried byte-identical; and offload.c: the
 * jobs, their plans for reading the store, the bound on jobs in flight,
 * the writes that wait behind a SAVE, and the store lock with its watchdog
 * (wlock.c). qlock.c is the lock that waits without blocking.
 *
 * Threads and data:
 *   - the loop thread owns the connections, their buffers, the jobs list
 *     and its counters, and the queue lock; workers never touch them;
 *   - a job's completion does not serve its connection: it puts it on the
 *     ready list (conn_wait_over()), served once a turn in one place, so
 *     no connection's requests ever run inside another's callback;
 *   - workers count themselves in and out of their jobs (workers_busy and
 *     its peak, atomics that INFO reports: the pool's parallelism, seen
 *     from inside);
 *   - a worker thread touches only the job it was given (its cmd_job_t)
 *     and, when the job must read the store, the store under store_mu;
 *   - the signal handler, on whichever thread it interrupts, only sets
 *     two atomics (stop_requested, stop_signal) and wakes the loop;
 *   - the store is shared again, so it has a lock again: every access from
 *     any thread holds store_mu, for the access only. The one exception is
 *     SAVE under --lock-strategy queue: its worker reads the store while the
 *     queue lock keeps every writer out (readers may share with it).
 *
 * Order: while a connection has a job in flight, its later requests stay
 * in c->in, unexecuted; replies never overtake each other. Reading goes
 * on meanwhile, bounded, so that a client that resets is seen and its job
 * cancelled.
 *
 * The trap: with --pitfall mutex-across-callback, the loop thread takes
 * store_mu for a job and releases it in the after-work callback; the next
 * command on the loop that needs the store waits for a lock only the loop
 * itself could release. With --pitfall lock-during-work, a worker keeps
 * store_mu for the whole slow step and the loop waits behind it.
 * offload_lock_store() is a watchdog (--watchdog): it reports both. A
 * deadlock ends the process, since no thread can go on; a stall is
 * reported and waited out, since a holder that is only slow (SAVE's copy
 * of a big store) will let go, unless --watchdog exit makes it fatal too,
 * as the pitfall demos want.
 */

#include "server.h"

#include "alloc.h"
#include "conn.h"
#include "dump_lock.h"
#include "lifecycle.h"
#include "log.h"
#include "mono.h"
#include "offload.h"

#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define LISTEN_BACKLOG    511
#define SHUTDOWN_GRACE_MS 1000 /* then connections that do not drain are cut off */

static const opts_stage_t stage = {
    .name = "stage4-offload",
    .summary = "a libuv event loop that hands slow commands to libuv's thread pool",
    .default_port = 7004,
    .extra = OPTS_THREADS | OPTS_PITFALL | OPTS_LOCK_STRATEGY | OPTS_WATCHDOG,
    .default_threads = 4,
    .threads_help = "libuv thread pool size (UV_THREADPOOL_SIZE) for slow commands",
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
    else if (!offload_job_in_flight(handle->data) && !((conn_t *)handle->data)->sync_wait)
        conn_finish(handle->data); /* one with a job or held replies finishes when they are done */
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

/* Stops listening, cancels the jobs (queued ones never run, running ones
 * stop early and answer with an error; a SAVE finishes), then lets every
 * connection flush its replies and close. The loop ends by itself once the
 * last handle is closed and the last job is done. This is the one place
 * where shutdown begins, on the loop thread: what it does to the jobs in
 * flight is decided here. */
static void begin_shutdown(server_t *srv)
{
    if (srv->stopping)
        return;
    srv->stopping = 1;
    offload_cancel_all(srv);
    append_shutdown(&srv->append); /* held replies are released as the last syncs return */
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

/* INFO's stage section. Runs on the loop thread. */
static void info_cb(buf_t *out, void *arg)
{
    server_t *srv = arg;
    buf_printf(out, "model:event-loop-with-offload\r\n");
    buf_printf(out, "connected_clients:%d\r\n", srv->conn_count);
    offload_info(srv, out);
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
    rc = offload_init(srv);
    if (rc != 0) {
        log_error("cannot create the store lock: %s", strerror(-rc));
        return 1;
    }
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
    offload_destroy(srv);
    return exit_code;
}
