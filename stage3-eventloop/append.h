#ifndef APPEND_H
#define APPEND_H

/*
 * When the append-only file is written and synced (aof.h), on the loop:
 * right where the write is made, on the loop thread, before the reply.
 * The naive port of the thread stages' code, kept on purpose: the fsync
 * still blocks its caller, and its caller is now the loop, so every
 * client waits for every other client's disk write. Stage 4 fixes it.
 */

#include "aof.h"
#include "buf.h"
#include "dump_lock.h"
#include "opts.h"
#include "store.h"

#include <stdint.h>
#include <uv.h>

typedef struct append {
    aof_t file; /* fd -1: the log is off, and every function here does nothing */
    opts_appendfsync_t fsync;
    buf_t record;      /* the record of the write being made */
    uint64_t written;  /* everything here belongs to the loop thread: no atomics */
    uint64_t synced;   /* the highest offset a returned fdatasync covered */
    uint64_t fsyncs;
    uint64_t fsync_max_us;

    /* appendfsync everysec: a timer that syncs once a second, on the loop. */
    uv_timer_t everysec;
} append_t;

/* An append_t with the log off: what append_stop() and append_info()
 * expect if append_start() never ran. */
void append_init(append_t *a);

/* Replays the file (when --appendonly is set) into store, opens it, and
 * for everysec starts the timer on loop. Returns 0, or a negative errno
 * after logging why the server refuses to start. */
int append_start(append_t *a, const opts_t *o, dump_lock_t *lock, store_t *store, uv_loop_t *loop);

/* The buffer a write command's record goes to (cmd_call()'s log), or NULL
 * when the log is off. */
buf_t *append_log(append_t *a);

/* Writes the record in append_log() to the file and returns the offset
 * after it (0 when there was none). Blocks the loop for the write(). A
 * failed write is fatal (aof_fail()). */
uint64_t append_write(append_t *a);

/* appendfsync always: returns once a fdatasync that began after end was
 * written has returned. Blocks the loop, and every client, for as long
 * as the disk takes. Otherwise returns at once. */
void append_sync(append_t *a, uint64_t end);

/* At shutdown, once the loop has ended: syncs what is left, closes the
 * file. (The timer is one of the loop's handles: shutdown closed it.) */
void append_stop(append_t *a);

/* INFO's aof_ lines (aof_enabled:0 when the log is off). */
void append_info(append_t *a, buf_t *out);

#endif /* APPEND_H */
