#ifndef APPEND_H
#define APPEND_H

/*
 * When the append-only file is written and synced (aof.h), ported: group
 * commit on the thread pool. A write's record is added to a buffer on the
 * loop thread; once a turn, a job on libuv's pool writes the buffer and
 * (appendfsync always) syncs it, while the loop goes on reading and
 * executing; the next job covers everything appended meanwhile. With
 * always, a connection that made a write has its replies held until the
 * sync that covers its latest write has returned; nobody else waits.
 *
 * Everything here runs on the loop thread but work_cb(), which touches
 * only the job's half: the buffer being written (never the one the loop
 * appends to), the file, and the job's result.
 */

#include "aof.h"
#include "buf.h"
#include "dump_lock.h"
#include "opts.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct conn;

typedef struct append {
    aof_t file; /* fd -1: the log is off, and every function here does nothing */
    opts_appendfsync_t fsync;
    uv_loop_t *loop;

    /* The loop's half. */
    buf_t record;          /* records not yet handed to a job */
    size_t record_counted; /* how much of record append_queue() has seen */
    uint64_t record_start; /* the file offset record's first byte goes to */
    uint64_t written;      /* bytes a finished job wrote */
    uint64_t synced;       /* the highest offset a returned fdatasync covered */
    uint64_t fsyncs;
    uint64_t fsync_max_us;
    int sync_due; /* everysec: the timer asks the next job to sync */
    struct conn **held; /* connections whose replies wait for a sync */
    size_t held_count, held_cap;
    uv_check_t start_check; /* once a turn: hand what was appended to a job */
    uv_idle_t start_idle;   /* active while there is: the loop must not sleep in poll */
    uv_timer_t everysec;

    /* The job's half: at most one job, the worker's while in_flight. */
    uv_work_t work;
    int in_flight;
    buf_t writing;       /* what the job writes: record, swapped out */
    int job_syncs;       /* the job fdatasyncs after writing */
    uint64_t job_end;    /* the offset after the job's bytes */
    int job_err;         /* 0, or the negative errno the worker met */
    const char *job_failed; /* "write" or "fdatasync" */
    uint64_t job_sync_us;
} append_t;

/* An append_t with the log off: what append_stop() and append_info()
 * expect if append_start() never ran. */
void append_init(append_t *a);

/* Replays the file (when --appendonly is set) into store, opens it, and
 * starts the handles on loop. Returns 0, or a negative errno after
 * logging why the server refuses to start. */
int append_start(append_t *a, const opts_t *o, dump_lock_t *lock, store_t *store, uv_loop_t *loop);

/* The buffer a write command's record goes to (cmd_call()'s log), or NULL
 * when the log is off. */
buf_t *append_log(append_t *a);

/* After a write command ran: the record it added to append_log(), if any,
 * joins the next job. With appendfsync always, c's replies (all of them,
 * so that they stay in order) are held until the sync that covers it
 * returns; then conn_wait_over(c). Never blocks. */
void append_queue(append_t *a, struct conn *c);

/* A closing connection: its replies are dropped; its writes stay in the
 * file and are synced all the same. */
void append_forget(append_t *a, struct conn *c);

/* At shutdown: hands what is left to a job at once, without waiting for
 * the next turn (the handles that do it are closing). */
void append_shutdown(append_t *a);

/* Once the loop has ended (no job in flight): writes and syncs what is
 * left, whatever the mode, and closes the file. */
void append_stop(append_t *a);

/* INFO's aof_ lines (aof_enabled:0 when the log is off), and
 * aof_held_clients. */
void append_info(append_t *a, buf_t *out);

#endif /* APPEND_H */
