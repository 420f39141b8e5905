/*
 * stage1-threads: one POSIX thread per connection.
 *
 * The honest, boring shape. The main thread accepts connections; each one
 * gets a detached thread that runs the blocking cycle until the client goes
 * away: read, parse, execute, write, repeat. Blocking is fine here: a thread
 * that sleeps in DEBUG SLEEP or burns CPU in DIGEST holds up nobody but its
 * own client. The price is a real thread, with a real stack, for every
 * connection, however idle.
 *
 * The files: server.c (this one: start-up, accepting, signals, shutdown,
 * INFO), conn.c (a connection's life: reading, writing, the blocking cycle,
 * closing), exec.c (parse what arrived, run it, queue the reply).
 *
 * Threads and data:
 *   - the store is shared by every thread: store_lock guards it, held only
 *     around the store operation itself, never across a read or a write on
 *     a socket, never while a slow command sleeps or computes;
 *   - the append-only file is written under store_lock too, so it holds
 *     the writes in the store's order; synced outside it (append.h);
 *   - the list of live connections is guarded by conns_lock; the main
 *     thread walks it at shutdown to wake the threads blocked in read();
 *   - everything in a conn_t besides its list links belongs to its thread.
 */

#include "server.h"

#include "alloc.h"
#include "conn.h"
#include "dump_lock.h"
#include "lifecycle.h"
#include "log.h"
#include "mono.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LISTEN_BACKLOG    511
#define SHUTDOWN_GRACE_MS 1000 /* then connections stuck in write() are cut off */

static const opts_stage_t stage = {
    .name = "stage1-threads",
    .summary = "one POSIX thread per connection, blocking read/parse/execute/write",
    .default_port = 7001,
};

static server_t server;

/* ==== Start-up =========================================================== */

/* Opens the listening socket and reports the port actually bound. */
static int listen_on(server_t *srv)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(srv->opts.port)};
    socklen_t len = sizeof addr;
    int one = 1;

    inet_pton(AF_INET, srv->opts.bind, &addr.sin_addr); /* validated by opts_parse */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, LISTEN_BACKLOG) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
        int err = errno;
        close(fd);
        return -err;
    }
    srv->listen_fd = fd;
    srv->env.port = ntohs(addr.sin_port);
    return 0;
}

/* ==== Accepting ========================================================== */

/* Accepts one pending connection. Returns 0, or -1 when the process is out
 * of file descriptors (the caller backs off instead of spinning). Clients
 * that keep connecting keep these errors coming: one line a second. */
static int accept_one(server_t *srv)
{
    static log_limit_t accept_errors = LOG_LIMIT_INIT(LOG_LIMIT_MS);
    int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0) {
        conn_start(srv, fd);
        return 0;
    }
    int err = errno;
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        log_warn_limited(&accept_errors, "accept: %s; pausing new connections for 100 ms",
                         strerror(err));
        return -1;
    }
    if (err != EINTR && err != EAGAIN && err != ECONNABORTED)
        log_warn_limited(&accept_errors, "accept: %s", strerror(err));
    return 0;
}

/* The main thread's loop: wait for a connection or a signal. Signals are
 * blocked in every thread and read from signal_fd here, so no thread is
 * ever interrupted by a handler and shutdown starts from one known place. */
static void accept_loop(server_t *srv)
{
    struct pollfd fds[2] = {
        {.fd = srv->listen_fd, .events = POLLIN},
        {.fd = srv->signal_fd, .events = POLLIN},
    };

    for (;;) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            log_error("poll: %s", strerror(errno));
            return;
        }
        if (fds[1].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(srv->signal_fd, &si, sizeof si) == (ssize_t)sizeof si)
                log_info("received %s, shutting down", strsignal((int)si.ssi_signo));
            return;
        }
        if ((fds[0].revents & POLLIN) && accept_one(srv) < 0)
            poll(NULL, 0, 100);
    }
}

/* ==== Signals and shutdown =============================================== */

/* Blocks SIGINT and SIGTERM in this thread and every thread it creates
 * later, and returns a descriptor the accept loop reads them from. SIGPIPE
 * is ignored: a peer that has gone shows up as EPIPE from send(). */
static int setup_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    int fd = signalfd(-1, &set, SFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

/* Wakes every connection thread and waits for all of them to finish.
 *
 * shutdown(SHUT_RD) makes a thread blocked in read() see EOF, while a
 * thread in the middle of a command finishes it, writes its replies (the
 * write side stays open) and then sees `stopping`; a slow command sees it
 * too, through job_cancelled_cb(), and stops within CMD_CANCEL_POLL_MS
 * with an error reply. The flag is needed: Linux still returns data that
 * arrives after SHUT_RD, so a client that keeps sending would never let
 * read() see EOF. A thread stuck in write() to a client that does not
 * read gets a grace period, then SHUT_RDWR makes its write fail: whatever
 * runs, the wait is bounded by about SHUTDOWN_GRACE_MS. */
static void stop_connections(server_t *srv)
{
    atomic_store(&srv->stopping, 1);
    pthread_mutex_lock(&srv->conns_lock);
    for (conn_t *c = srv->conns; c != NULL; c = c->next)
        shutdown(c->fd, SHUT_RD);

    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += SHUTDOWN_GRACE_MS / 1000;
    while (srv->conn_count > 0) {
        if (pthread_cond_timedwait(&srv->conns_empty, &srv->conns_lock, &deadline) == ETIMEDOUT) {
            log_warn("%d connection(s) still busy after %d ms: cutting them off", srv->conn_count,
                     SHUTDOWN_GRACE_MS);
            for (conn_t *c = srv->conns; c != NULL; c = c->next)
                shutdown(c->fd, SHUT_RDWR);
            while (srv->conn_count > 0)
                pthread_cond_wait(&srv->conns_empty, &srv->conns_lock);
        }
    }
    pthread_mutex_unlock(&srv->conns_lock);
}

/* ==== INFO =============================================================== */

/* INFO's stage section. Runs in whichever thread serves the INFO. */
static void info_cb(buf_t *out, void *arg)
{
    server_t *srv = arg;
    pthread_mutex_lock(&srv->conns_lock);
    int clients = srv->conn_count;
    pthread_mutex_unlock(&srv->conns_lock);
    buf_printf(out, "model:thread-per-connection\r\n");
    buf_printf(out, "connected_clients:%d\r\n", clients);
    buf_printf(out, "connection_threads:%d\r\n", clients);
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
    pthread_mutex_init(&srv->store_lock, NULL);
    pthread_mutex_init(&srv->conns_lock, NULL);
    pthread_cond_init(&srv->conns_empty, NULL);
    srv->store = store_new();
    append_init(&srv->append);
    lifecycle_raise_fd_limit(&srv->opts.max_clients);
    srv->env.max_clients = srv->opts.max_clients;

    int exit_code = 1;
    dump_lock_t dbfile_lock = DUMP_LOCK_INIT, aof_lock = DUMP_LOCK_INIT;
    if (lifecycle_load_dump(&srv->opts, &dbfile_lock, &srv->store) != 0 ||
        append_start(&srv->append, &srv->opts, &aof_lock, srv->store) != 0)
        goto out_store;
    srv->signal_fd = setup_signals();
    if (srv->signal_fd < 0) {
        log_error("signalfd: %s", strerror(-srv->signal_fd));
        goto out_store;
    }
    rc = listen_on(srv);
    if (rc != 0) {
        log_error("cannot listen on %s:%d: %s", srv->opts.bind, srv->opts.port, strerror(-rc));
        goto out_signals;
    }
    printf("listening on %s:%d\n", srv->opts.bind, srv->env.port);
    fflush(stdout);

    accept_loop(srv);

    close(srv->listen_fd); /* stop accepting first */
    stop_connections(srv);
    append_stop(&srv->append); /* every write is in the file and on disk */
    exit_code = lifecycle_save_dump(srv->store, srv->opts.dbfile) == 0 ? 0 : 1;

out_signals:
    close(srv->signal_fd);
out_store:
    append_stop(&srv->append); /* a no-op after the first */
    dump_unlock(&aof_lock);
    dump_unlock(&dbfile_lock); /* after the last save */
    store_free(srv->store);
    pthread_cond_destroy(&srv->conns_empty);
    pthread_mutex_destroy(&srv->conns_lock);
    pthread_mutex_destroy(&srv->store_lock);
    return exit_code;
}
