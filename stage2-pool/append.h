#ifndef APPEND_H
#define APPEND_H

/*
 * When the append-only file is written and synced (aof.h), in the thread
 * stages: by the thread that made the write, before it replies. The
 * record is written under the store lock, so the file holds the writes in
 * the order the store applied them; the fsync runs outside it, so a
 * thread waiting for the disk holds up nobody but its own client. No
 * colour: the call blocks, and only its own thread waits.
 *
 * Carried unchanged from stage 1 to stage 2 (the pool's workers are
 * threads too).
 */

#include "aof.h"
#include "buf.h"
#include "dump_lock.h"
#include "opts.h"
#include "store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

typedef struct append {
    aof_t file;        /* fd -1: the log is off, and every function here does nothing */
    opts_appendfsync_t fsync;
    buf_t record;      /* guarded by the store lock: the record of the write being made */
    _Atomic uint64_t written; /* written under the store lock, read by the syncs */
    _Atomic uint64_t synced;  /* the highest offset a returned fdatasync covered */
    _Atomic uint64_t fsyncs;
    _Atomic uint64_t fsync_max_us;

    /* appendfsync everysec: a thread that syncs once a second. */
    pthread_t syncer;
    int syncer_running;
    pthread_mutex_t syncer_lock; /* guards syncer_stop */
    pthread_cond_t syncer_wake;
    int syncer_stop;
} append_t;

/* An append_t with the log off: what append_stop() and append_info()
 * expect if append_start() never ran. */
void append_init(append_t *a);

/* Replays the file (when --appendonly is set) into store, opens it, and
 * for everysec starts the syncer thread. Returns 0, or a negative errno
 * after logging why the server refuses to start. */
int append_start(append_t *a, const opts_t *o, dump_lock_t *lock, store_t *store);

/* The buffer a write command's record goes to (cmd_call()'s log), or NULL
 * when the log is off. Call with the store lock held. */
buf_t *append_log(append_t *a);

/* Writes the record in append_log() to the file and returns the offset
 * after it (0 when there was none). Call with the store lock held, right
 * after the command. A failed write is fatal (aof_fail()). */
uint64_t append_write(append_t *a);

/* appendfsync always: returns once a fdatasync that began after end was
 * written has returned (this thread's own, or another's that covered it).
 * Otherwise returns at once. Call without the store lock. */
void append_sync(append_t *a, uint64_t end);

/* At shutdown, once no thread writes: stops the syncer, syncs what is
 * left, closes the file. */
void append_stop(append_t *a);

/* INFO's aof_ lines (aof_enabled:0 when the log is off). */
void append_info(append_t *a, buf_t *out);

#endif /* APPEND_H */
