#ifndef CONN_H
#define CONN_H

/*
 * A connection's life in its thread: reading, writing, the blocking cycle,
 * closing. Each connection belongs to the one thread that serves it, but
 * for its links in the server's list (conns_lock).
 */

#include "buf.h"
#include "resp.h"
#include "server.h"

struct conn {
    server_t *srv;
    int fd;
    conn_t *prev, *next; /* in srv->conns, under conns_lock */
    buf_t in;            /* bytes read and not yet parsed */
    buf_t out;           /* replies not yet written */
    resp_parser_t parser;
};

/* Takes a freshly accepted socket: registers it and queues it for a worker,
 * or answers with an error and closes it. Main thread. */
void conn_start(server_t *srv, int fd);

/* The pool's serve callback: the whole life of a connection, in a worker. */
void conn_serve_cb(void *item, void *arg);

/* Writes every pending reply in c->out, blocking until the socket took
 * them. Returns 0 or a negative errno. */
int conn_flush_output(conn_t *c);

#endif /* CONN_H */
