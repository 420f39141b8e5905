#ifndef CONN_H
#define CONN_H

/*
 * A connection's life on the loop: reading, writing, backpressure, the
 * ready list, closing. Every function here runs on the loop thread.
 */

#include "buf.h"
#include "resp.h"
#include "server.h"

#include <stddef.h> /* offsetof */
#include <stdint.h>
#include <uv.h>

/* Everything one connection holds while idle: its handle, its parser, two
 * empty buffers. Well under 512 bytes. */
struct conn {
    uv_tcp_t handle; /* handle.data points back here */
    server_t *srv;
    buf_t in;  /* bytes of a half-received request; empty (no memory) when idle */
    buf_t out; /* replies of the current read, until handed to libuv */
    resp_parser_t parser;
    unsigned reading : 1;   /* uv_read_start() is in effect */
    unsigned paused : 1;    /* too many replies unsent: executing nothing until they drain */
    unsigned finishing : 1; /* closing once the queued replies are written */
    unsigned eof : 1;       /* the client sent all it will: close once that is answered */
    unsigned ready : 1;     /* on the ready list (srv->ready_head) */
    unsigned wrote : 1;     /* a write completed since the last stuck check */
    unsigned qlocked : 1;   /* holds the queue lock for its writes (offload.c) */

    conn_t *next_ready;  /* on the ready list, while ready */
    size_t stuck_queued; /* unsent bytes at the last stuck check */
    uint64_t moved_ms;   /* when its unsent replies last moved (uv_now) */

    /* What the connection waits for, if anything: its slow command, a job
     * slot, or the queue lock for a write. All it needs for that lives in
     * the job (offload.c), so an idle connection pays a pointer. Later
     * requests stay in c->in until the wait is over. */
    job_t *job;

    /* appendfsync always: the end of its latest write in the append-only
     * file, while its replies wait for the sync that covers it (append.c);
     * 0 otherwise. */
    uint64_t sync_wait;
};

/* Stage 4 adds to stage 3's connection a flag bit and what follows it
 * here (the job, the held replies' offset), 16 bytes at most; `make lint` compares the two structs' sizes too
 * (scripts/check-layout.sh). */
_Static_assert(sizeof(struct conn) - offsetof(struct conn, next_ready) <= 24 + 16,
               "what an idle connection does not need belongs in the job");

/* The listener's callback: accepts a client and starts reading from it. */
void conn_accept_cb(uv_stream_t *listener, int status);

/* Starts the handles the connections share: the ready list's and the
 * stuck check's. */
void conn_start_watch(server_t *srv);

/* Puts c on the ready list: it has requests to execute without waiting for
 * bytes, and goes on from there on this turn of the loop or the next, never
 * from the caller's stack. Does nothing at shutdown or while c finishes. */
void conn_ready(conn_t *c);

/* The connection's wait (its job, a job slot, the queue lock) is over: it
 * goes on from the ready list. At shutdown nothing more is executed: what
 * it has is flushed, and it closes. */
void conn_wait_over(conn_t *c);

/* Closes at once, dropping any unsent replies. Safe to call twice. */
void conn_close(conn_t *c);

/* Closes once every queued reply is written. */
void conn_finish(conn_t *c);

#endif /* CONN_H */
