#ifndef SERVER_H
#define SERVER_H

/*
 * stage2-pool: the server's state, shared by its files. What guards each
 * part is said at the top of server.c.
 */

#include "append.h"
#include "cmd.h"
#include "opts.h"
#include "pool.h"
#include "store.h"

#include <pthread.h>
#include <stdatomic.h>

#define QUEUE_CAPACITY 256 /* accepted connections waiting for a worker */

typedef struct conn conn_t;

typedef struct server {
    opts_t opts;
    cmd_env_t env;
    int listen_fd;
    int signal_fd;

    pthread_mutex_t store_lock; /* guards store, and append's record and writes */
    store_t *store;
    append_t append; /* the append-only file: append.h */

    atomic_int stopping; /* set once, at shutdown: serve no more requests */

    pthread_mutex_t conns_lock; /* guards conns, conn_count */
    pthread_cond_t conns_empty; /* signalled when conn_count drops to 0 */
    conn_t *conns;
    int conn_count; /* queued and served */

    pool_t *pool;
} server_t;

#endif /* SERVER_H */
