#ifndef SERVER_H
#define SERVER_H

/*
 * stage4-offload: the server's state, shared by its files. Everything in
 * it belongs to the loop thread, but for the atomics the signal handler and
 * the workers touch, and the store, which store_mu guards (see server.c).
 */

#include "append.h"
#include "cmd.h"
#include "lag.h"
#include "opts.h"
#include "store.h"

#include "qlock.h"
#include "wlock.h"

#include <stdatomic.h>
#include <sys/resource.h>
#include <uv.h>

typedef struct conn conn_t;
typedef struct job job_t;

typedef struct server {
    opts_t opts;
    cmd_env_t env;
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_async_t stop_async;  /* wakes the loop when a signal asks it to stop */
    uv_timer_t grace_timer; /* bounds the shutdown */
    uv_timer_t stuck_timer; /* finds clients that do not read their replies */
    uv_check_t ready_check; /* serves the connections on the ready list, once a turn */
    uv_idle_t ready_idle;   /* active while the list is not empty: the loop must not sleep */
    conn_t *ready_head;     /* connections that can go on without new bytes */
    conn_t **ready_tail;
    int ready_count;

    wlock_t store_mu; /* guards store; a watched lock, see offload_lock_store() */
    store_t *store;
    append_t append; /* the append-only file: the loop's, but for its job (append.h) */
    qlock_t save_lock;     /* --lock-strategy queue: writers wait behind SAVE */
    uint64_t save_copy_us; /* the last copy for SAVE (--lock-strategy copy), on the loop */
    size_t save_copy_keys; /* ...and how many keys it copied */

    job_t *jobs; /* in flight: waiting for the queue lock, queued or running */
    int job_count;
    job_t *slot_waiters; /* jobs waiting for one of JOBS_MAX slots, first come first */
    job_t **slot_waiters_tail;
    atomic_int workers_busy;      /* jobs running on a worker right now */
    atomic_int workers_busy_peak; /* the most that ever ran at once */

    int conn_count;
    int stopping;              /* shutdown has begun (loop thread) */
    atomic_int stop_requested; /* set by the signal handler: slow commands give up */
    atomic_int stop_signal;    /* the signal that asked, for the log */
    rlim_t fd_limit;           /* RLIMIT_NOFILE, as lifecycle_raise_fd_limit() left it */

    lag_t lag; /* the loop-lag monitor */
} server_t;

/* True for every TCP handle but the listener: a connection. */
int server_is_connection(server_t *srv, uv_handle_t *handle);

#endif /* SERVER_H */
