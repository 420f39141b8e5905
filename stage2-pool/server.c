/*
 * stage2-pool: a fixed pool of worker threads fed by a bounded queue.
 *
 * Stage 1 with its thread count capped. The main thread accepts
 * connections and queues them; each of --threads workers takes one
 * connection at a time and runs the same blocking cycle as stage 1 until
 * the client goes away. The process no longer grows a thread per client,
 * but a worker is taken for as long as its client stays connected, busy or
 * idle: with every worker holding an idle client, a new client waits in the
 * queue, unanswered, until one of them leaves. When the queue is full too,
 * new clients are refused with an error rather than left hanging.
 *
 * Threads and data:
 *   - the store is shared by every thread: store_lock guards it, held only
 *     around the store operation itself, never across a read or a write on
 *     a socket, never while a slow command sleeps or computes;
 *   - the list of live connections (queued or served) is guarded by
 *     conns_lock; the main thread walks it at shutdown to wake the workers
 *     blocked in read();
 *   - the queue between the main thread and the workers is the pool's,
 *     guarded inside pool.c;
 *   - everything in a conn_t besides its list links belongs to its thread.
 */

#include "alloc.h"
#include "cmd.h"
#include "cmd_job.h"
#include "dump.h"
#include "lifecycle.h"
#include "log.h"
#include "mono.h"
#include "opts.h"
#include "pool.h"
#include "resp.h"
#include "store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK        (16 * 1024)
#define QUERY_BUF_MAX     (64 * 1024 * 1024) /* a partial request may not grow past this */
#define OUTPUT_FLUSH      (1024 * 1024)      /* write replies out mid-batch past this */
#define LISTEN_BACKLOG    511
#define SHUTDOWN_GRACE_MS 1000 /* then connections stuck in write() are cut off */
#define QUEUE_CAPACITY    256  /* accepted connections waiting for a worker */

static const opts_stage_t stage = {
    .name = "stage2-pool",
    .summary = "a fixed pool of worker threads, each serving one connection at a time",
    .default_port = 7002,
    .extra = OPTS_THREADS,
    .default_threads = 16,
    .threads_help = "worker threads; each serves one connection at a time",
};

/* ==== Server state ======================================================= */

typedef struct conn conn_t;

typedef struct server {
    opts_t opts;
    cmd_env_t env;
    int listen_fd;
    int signal_fd;

    pthread_mutex_t store_lock; /* guards store */
    store_t *store;

    atomic_int stopping; /* set once, at shutdown: serve no more requests */

    pthread_mutex_t conns_lock; /* guards conns, conn_count */
    pthread_cond_t conns_empty; /* signalled when conn_count drops to 0 */
    conn_t *conns;
    int conn_count; /* queued and served */

    pool_t *pool;
} server_t;

struct conn {
    server_t *srv;
    int fd;
    conn_t *prev, *next; /* in srv->conns, under conns_lock */
    buf_t in;            /* bytes read and not yet parsed */
    buf_t out;           /* replies not yet written */
    resp_parser_t parser;
};

static server_t server;

/* ==== Small helpers ====================================================== */

/* Reads what is there, at most len bytes. Returns the byte count, 0 at EOF,
 * or a negative errno (ECONNRESET when the peer reset). */
static ssize_t read_some(int fd, char *p, size_t len)
{
    for (;;) {
        ssize_t n = read(fd, p, len);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return -errno;
    }
}

/* Writes all of p[0..len), across short writes and EINTR. Returns 0 or a
 * negative errno (EPIPE or ECONNRESET when the peer has gone). */
static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Writes every pending reply. Returns 0 or a negative errno. */
static int flush_output(conn_t *c)
{
    int rc = write_all(c->fd, c->out.data, c->out.len);
    buf_free(&c->out); /* an idle connection keeps no output buffer */
    if (rc < 0)
        log_debug("write to fd %d: %s", c->fd, strerror(-rc));
    return rc;
}

/* ==== Executing requests ================================================= */

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
    } else if (cmd->flags & (CMD_READ | CMD_WRITE)) {
        pthread_mutex_lock(&srv->store_lock);
        cmd_call(cmd, c->parser.argc, c->parser.argv, srv->store, &srv->env, &c->out);
        pthread_mutex_unlock(&srv->store_lock);
    } else {
        cmd_call(cmd, c->parser.argc, c->parser.argv, srv->store, &srv->env, &c->out);
    }
    return (cmd->flags & CMD_CLOSE) != 0;
}

/* Parses and executes every complete request in c->in, appending the
 * replies to c->out. Returns 1 when the connection must close once c->out
 * is written: QUIT, a protocol error (whose reply is in c->out), or a
 * failed write. Replies are written out early when they pass OUTPUT_FLUSH,
 * so a pipeline of big GETs cannot grow c->out without bound. */
static int process_input(conn_t *c)
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
        if (!close_after && c->out.len >= OUTPUT_FLUSH && flush_output(c) < 0)
            close_after = 1;
    }
    buf_consume(&c->in, done);
    if (!close_after && c->in.len > QUERY_BUF_MAX) {
        log_warn("closing client fd %d: request larger than %d bytes", c->fd, QUERY_BUF_MAX);
        close_after = 1;
    }
    return close_after;
}

/* ==== The blocking cycle ================================================= */

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

/* Serves one client until EOF, an error, QUIT or shutdown: read what
 * arrived, execute every complete request in it, write all their replies
 * in one go (one write per read, not per reply, so pipelining stays fast),
 * and block in read() again. At shutdown, what was read is answered and
 * nothing more is read. */
static void serve_connection(conn_t *c)
{
    for (;;) {
        buf_reserve(&c->in, READ_CHUNK);
        ssize_t n = read_some(c->fd, c->in.data + c->in.len, READ_CHUNK);
        if (n == 0)
            break; /* EOF: the client closed, or shutdown woke us */
        if (n < 0) {
            log_debug("read from fd %d: %s", c->fd, strerror((int)-n));
            break;
        }
        c->in.len += (size_t)n;

        int close_after = process_input(c);
        release_read_buffer(c); /* back in read(), it holds READ_CHUNK, no more */
        if (flush_output(c) < 0)
            break;
        if (close_after || atomic_load(&c->srv->stopping))
            break;
    }
}

/* ==== Connections ======================================================== */

static void conns_add(server_t *srv, conn_t *c)
{
    c->prev = NULL;
    c->next = srv->conns;
    if (srv->conns != NULL)
        srv->conns->prev = c;
    srv->conns = c;
    srv->conn_count++;
}

static void conns_remove(server_t *srv, conn_t *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    if (--srv->conn_count == 0)
        pthread_cond_broadcast(&srv->conns_empty);
}

/* Removes c from the list, then closes and frees it. The removal comes
 * first, under conns_lock, so that shutdown never touches an fd number that
 * this thread has already closed and the kernel may have reused. */
static void conn_close(conn_t *c)
{
    server_t *srv = c->srv;

    pthread_mutex_lock(&srv->conns_lock);
    conns_remove(srv, c);
    pthread_mutex_unlock(&srv->conns_lock);

    close(c->fd);
    buf_free(&c->in);
    buf_free(&c->out);
    resp_parser_free(&c->parser);
    free(c);
}

/* The whole life of a connection, in a worker of the pool. */
static void serve_cb(void *item, void *arg)
{
    conn_t *c = item;
    (void)arg;
    serve_connection(c);
    conn_close(c);
}

/* Answers and closes a client we cannot serve. The socket is fresh, so the
 * short reply fits in its send buffer: this write does not block. */
static void refuse_client(int fd, const char *reply)
{
    (void)write_all(fd, reply, strlen(reply));
    close(fd);
}

/* Registers a freshly accepted socket and queues it for a worker. */
static void start_connection(server_t *srv, int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    conn_t *c = calloc(1, sizeof *c);
    if (c == NULL) {
        refuse_client(fd, "-ERR server out of memory\r\n");
        return;
    }
    c->srv = srv;
    c->fd = fd;
    resp_parser_init(&c->parser);

    pthread_mutex_lock(&srv->conns_lock);
    if (srv->conn_count >= srv->opts.max_clients) {
        pthread_mutex_unlock(&srv->conns_lock);
        free(c);
        refuse_client(fd, "-ERR max number of clients reached\r\n");
        return;
    }
    conns_add(srv, c);
    pthread_mutex_unlock(&srv->conns_lock);

    int rc = pool_submit(srv->pool, c);
    if (rc != 0) {
        /* Every worker is taken and the queue is full: refuse this client
         * now rather than leave it waiting for a worker that may never come
         * (the main thread must not block here: it also watches for
         * signals). One line a second at most: a flood of clients must not
         * flood the log. */
        static log_limit_t refusals = LOG_LIMIT_INIT(LOG_LIMIT_MS);
        log_warn_limited(&refusals, "refusing a client: %d workers busy and %d waiting",
                         srv->opts.threads, QUEUE_CAPACITY);
        pthread_mutex_lock(&srv->conns_lock);
        conns_remove(srv, c);
        pthread_mutex_unlock(&srv->conns_lock);
        resp_parser_free(&c->parser);
        free(c);
        refuse_client(fd, "-ERR server busy: every worker is taken and the queue is full\r\n");
    }
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
        start_connection(srv, fd);
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

/* ==== Start-up and shutdown ============================================== */

/* INFO's stage section. Runs in whichever thread serves the INFO. */
static void info_cb(buf_t *out, void *arg)
{
    server_t *srv = arg;
    pthread_mutex_lock(&srv->conns_lock);
    int clients = srv->conn_count;
    pthread_mutex_unlock(&srv->conns_lock);
    int busy, queued;
    pool_stats(srv->pool, &busy, &queued);
    buf_printf(out, "model:worker-pool\r\n");
    buf_printf(out, "connected_clients:%d\r\n", clients);
    buf_printf(out, "pool_workers:%d\r\n", srv->opts.threads);
    buf_printf(out, "pool_workers_busy:%d\r\n", busy);
    buf_printf(out, "pool_queued_clients:%d\r\n", queued);
    buf_printf(out, "pool_queue_capacity:%d\r\n", QUEUE_CAPACITY);
}

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

/* Wakes every worker serving a connection and waits for every connection,
 * queued ones included, to finish.
 *
 * shutdown(SHUT_RD) makes a worker blocked in read() see EOF, while a
 * worker in the middle of a command finishes it, writes its replies (the
 * write side stays open) and then sees `stopping`; a slow command sees it
 * too, through job_cancelled_cb(), and stops within CMD_CANCEL_POLL_MS
 * with an error reply. The flag is needed: Linux still returns data that
 * arrives after SHUT_RD, so a client that keeps sending would never let
 * read() see EOF. Queued connections are shut too: the workers drain them
 * quickly. A worker stuck in write() to a client that does not read gets a
 * grace period, then SHUT_RDWR makes its write fail: whatever runs, the
 * wait is bounded by about SHUTDOWN_GRACE_MS. */
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
    lifecycle_raise_fd_limit(&srv->opts.max_clients);
    srv->env.max_clients = srv->opts.max_clients;

    int exit_code = 1;
    dump_lock_t dbfile_lock = DUMP_LOCK_INIT;
    if (lifecycle_load_dump(srv->opts.dbfile, &dbfile_lock, &srv->store) != 0)
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
    rc = pool_start(&srv->pool, srv->opts.threads, QUEUE_CAPACITY, serve_cb, srv);
    if (rc != 0) {
        log_error("cannot start %d workers: %s", srv->opts.threads, strerror(-rc));
        close(srv->listen_fd);
        goto out_signals;
    }
    printf("listening on %s:%d\n", srv->opts.bind, srv->env.port);
    fflush(stdout);

    accept_loop(srv);

    close(srv->listen_fd); /* stop accepting first */
    stop_connections(srv);
    pool_stop(srv->pool); /* joins every worker */
    exit_code = lifecycle_save_dump(srv->store, srv->opts.dbfile) == 0 ? 0 : 1;

out_signals:
    close(srv->signal_fd);
out_store:
    dump_unlock(&dbfile_lock); /* after the last save */
    store_free(srv->store);
    pthread_cond_destroy(&srv->conns_empty);
    pthread_mutex_destroy(&srv->conns_lock);
    pthread_mutex_destroy(&srv->store_lock);
    return exit_code;
}
