#include "conn.h"

#include "exec.h"
#include "log.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_CHUNK (16 * 1024)

/* ==== Reading ============================================================ */

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

/* ==== Writing ============================================================ */

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
int conn_flush_output(conn_t *c)
{
    int rc = write_all(c->fd, c->out.data, c->out.len);
    buf_free(&c->out); /* an idle connection keeps no output buffer */
    if (rc < 0)
        log_debug("write to fd %d: %s", c->fd, strerror(-rc));
    return rc;
}

/* ==== The blocking cycle ================================================= */

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

        int close_after = exec_input(c);
        release_read_buffer(c); /* back in read(), it holds READ_CHUNK, no more */
        if (conn_flush_output(c) < 0)
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

/* The whole life of a connection's thread. */
static void *conn_thread_main(void *arg)
{
    conn_t *c = arg;
    serve_connection(c);
    conn_close(c);
    return NULL;
}

/* Answers and closes a client we cannot serve. The socket is fresh, so the
 * short reply fits in its send buffer: this write does not block. */
static void refuse_client(int fd, const char *reply)
{
    (void)write_all(fd, reply, strlen(reply));
    close(fd);
}

/* Registers a freshly accepted socket and starts its thread. */
void conn_start(server_t *srv, int fd)
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

    pthread_t tid;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&tid, &attr, conn_thread_main, c);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        /* Out of threads (EAGAIN) or memory: refuse this client only. One
         * line a second at most: a flood of clients must not flood the log. */
        static log_limit_t refusals = LOG_LIMIT_INIT(LOG_LIMIT_MS);
        log_warn_limited(&refusals, "cannot start a thread for a new client: %s", strerror(rc));
        pthread_mutex_lock(&srv->conns_lock);
        conns_remove(srv, c);
        pthread_mutex_unlock(&srv->conns_lock);
        resp_parser_free(&c->parser);
        free(c);
        refuse_client(fd, "-ERR server cannot start a thread for this connection\r\n");
    }
}
