#include "append.h"

#include "alloc.h"
#include "conn.h"
#include "lifecycle.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define EVERYSEC_MS       1000
#define KEEP_BUFFER_BYTES (1024 * 1024) /* a buffer bigger than this is freed once written */

static void start_job(append_t *a);

/* ==== The job, on a worker thread ======================================== */

/* Writes a->writing and, if asked, syncs it. Touches only the job's half
 * of a: the loop appends to a->record meanwhile. */
static void work_cb(uv_work_t *req)
{
    append_t *a = req->data;

    a->job_err = 0;
    if (a->writing.len > 0) {
        a->job_err = aof_write(&a->file, a->writing.data, a->writing.len);
        a->job_failed = "write";
    }
    if (a->job_err == 0 && a->job_syncs) {
        uint64_t start = uv_hrtime();
        a->job_err = aof_sync(&a->file);
        a->job_failed = "fdatasync";
        a->job_sync_us = (uv_hrtime() - start) / 1000;
    }
}

/* ==== Held replies ======================================================= */

/* Hands back to the loop every held connection the sync covered. They go
 * on from the ready list (conn_wait_over()), never from this stack. */
static void release_synced(append_t *a)
{
    size_t keep = 0, end = a->held_count;

    for (size_t i = 0; i < end; i++) { /* still held to the front, released past keep */
        struct conn *c = a->held[i];
        if (c->sync_wait > a->synced) {
            a->held[i] = a->held[keep];
            a->held[keep++] = c;
        }
    }
    a->held_count = keep;
    for (size_t i = keep; i < end; i++) {
        struct conn *c = a->held[i];
        c->sync_wait = 0;
        conn_wait_over(c);
    }
}

/* The job is done: what it wrote and synced is known now. */
static void after_work_cb(uv_work_t *req, int status)
{
    append_t *a = req->data;

    a->in_flight = 0;
    if (status != 0 || a->job_err != 0)
        aof_fail(&a->file, a->job_failed, status != 0 ? status : a->job_err);
    a->written = a->job_end;
    if (a->job_syncs) {
        a->synced = a->job_end;
        a->fsyncs++;
        if (a->job_sync_us > a->fsync_max_us)
            a->fsync_max_us = a->job_sync_us;
    }
    buf_clear(&a->writing);
    if (a->writing.cap > KEEP_BUFFER_BYTES)
        buf_free(&a->writing);
    release_synced(a);
    start_job(a); /* what was appended meanwhile: the next group */
}

/* ==== Starting jobs ====================================================== */

/* Hands everything appended so far to a job, unless one is in flight (its
 * after_work_cb() starts the next). With always, the job syncs; with
 * everysec, when the timer has asked. */
static void start_job(append_t *a)
{
    int wants_sync = a->fsync == OPTS_APPENDFSYNC_ALWAYS ||
                     (a->fsync == OPTS_APPENDFSYNC_EVERYSEC && a->sync_due);

    if (a->in_flight || (a->record.len == 0 && !(wants_sync && a->written > a->synced)))
        return;
    buf_t swap = a->writing; /* empty: the last job's buffer, kept for reuse */
    a->writing = a->record;
    a->record = swap;
    a->record_counted = 0;
    a->record_start += a->writing.len;
    a->job_end = a->record_start;
    a->job_syncs = wants_sync;
    a->sync_due = 0;
    a->in_flight = 1;
    a->work.data = a;
    int rc = uv_queue_work(a->loop, &a->work, work_cb, after_work_cb);
    if (rc != 0)
        aof_fail(&a->file, "uv_queue_work", rc);
}

/* Once a turn, after the I/O callbacks: the writes of this turn go out as
 * one group. */
static void start_check_cb(uv_check_t *check)
{
    append_t *a = check->data;
    start_job(a);
    uv_idle_stop(&a->start_idle);
}

static void start_idle_cb(uv_idle_t *idle)
{
    (void)idle; /* nothing to do: while it is active, poll does not block */
}

static void everysec_cb(uv_timer_t *timer)
{
    append_t *a = timer->data;
    a->sync_due = 1;
    start_job(a); /* or the job in flight starts it when it is done */
}

/* ==== The log ============================================================ */

void append_init(append_t *a)
{
    a->file.fd = -1;
    buf_init(&a->record);
    buf_init(&a->writing);
}

int append_start(append_t *a, const opts_t *o, dump_lock_t *lock, store_t *store, uv_loop_t *loop)
{
    uint64_t size;

    a->fsync = o->appendfsync;
    a->loop = loop;
    int rc = lifecycle_open_aof(o, lock, store, &a->file, &size);
    if (rc != 0 || a->file.fd < 0)
        return rc;
    a->record_start = size;
    a->written = size;
    a->synced = size;
    uv_check_init(loop, &a->start_check);
    a->start_check.data = a;
    uv_check_start(&a->start_check, start_check_cb);
    uv_idle_init(loop, &a->start_idle);
    if (a->fsync == OPTS_APPENDFSYNC_EVERYSEC) {
        uv_timer_init(loop, &a->everysec);
        a->everysec.data = a;
        uv_timer_start(&a->everysec, everysec_cb, EVERYSEC_MS, EVERYSEC_MS);
    }
    return 0;
}

buf_t *append_log(append_t *a)
{
    return a->file.fd >= 0 ? &a->record : NULL;
}

void append_queue(append_t *a, struct conn *c)
{
    if (a->file.fd < 0 || a->record.len == a->record_counted)
        return; /* the log is off, or the command changed nothing: nothing to wait for */
    a->record_counted = a->record.len;
    uv_idle_start(&a->start_idle, start_idle_cb); /* start_check_cb() comes this turn */
    if (a->fsync != OPTS_APPENDFSYNC_ALWAYS)
        return;
    if (c->sync_wait == 0) {
        if (a->held_count == a->held_cap) {
            a->held_cap = a->held_cap == 0 ? 16 : a->held_cap * 2;
            a->held = xrealloc(a->held, a->held_cap * sizeof *a->held);
        }
        a->held[a->held_count++] = c;
    }
    c->sync_wait = a->record_start + a->record.len; /* the end of its latest write */
}

void append_forget(append_t *a, struct conn *c)
{
    if (c->sync_wait == 0)
        return;
    for (size_t i = 0; i < a->held_count; i++) {
        if (a->held[i] == c) {
            a->held[i] = a->held[--a->held_count];
            break;
        }
    }
    c->sync_wait = 0;
}

void append_shutdown(append_t *a)
{
    if (a->file.fd >= 0)
        start_job(a);
}

void append_stop(append_t *a)
{
    if (a->file.fd >= 0) {
        int rc = aof_write(&a->file, a->record.data, a->record.len);
        if (rc == 0 && (a->record.len > 0 || a->written > a->synced))
            rc = aof_sync(&a->file); /* whatever the mode: nothing is left unsynced at exit */
        if (rc != 0)
            aof_fail(&a->file, "the last write or fdatasync", rc);
    }
    aof_close(&a->file);
    buf_free(&a->record);
    buf_free(&a->writing);
    free(a->held);
    a->held = NULL;
}

void append_info(append_t *a, buf_t *out)
{
    if (a->file.fd < 0) {
        buf_printf(out, "aof_enabled:0\r\n");
        return;
    }
    aof_stats_t st = {
        .fsync = aof_fsync_name(a->fsync),
        .appended = a->record_start + a->record.len,
        .written = a->written,
        .synced = a->synced,
        .fsyncs = a->fsyncs,
        .fsync_max_us = a->fsync_max_us,
    };
    aof_info(out, &st);
    buf_printf(out, "aof_held_clients:%zu\r\n", a->held_count);
}
