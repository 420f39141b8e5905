#include "append.h"

#include "lifecycle.h"
#include "log.h"

#include <errno.h>
#include <string.h>

#define EVERYSEC_MS 1000

/* One fdatasync, and what it covered: everything written before it began.
 * The loop is blocked for as long as it takes. */
static void sync_now(append_t *a)
{
    uint64_t covers = a->written;
    uint64_t start = uv_hrtime();
    int rc = aof_sync(&a->file);
    if (rc != 0)
        aof_fail(&a->file, "fdatasync", rc);
    uint64_t took_us = (uv_hrtime() - start) / 1000;
    if (took_us > a->fsync_max_us)
        a->fsync_max_us = took_us;
    a->fsyncs++;
    a->synced = covers;
}

/* ==== appendfsync everysec =============================================== */

static void everysec_cb(uv_timer_t *timer)
{
    append_t *a = timer->data;
    if (a->written > a->synced)
        sync_now(a); /* on the loop thread too: once a second, everyone waits */
}

/* ==== The log ============================================================ */

void append_init(append_t *a)
{
    a->file.fd = -1;
    buf_init(&a->record);
}

int append_start(append_t *a, const opts_t *o, dump_lock_t *lock, store_t *store, uv_loop_t *loop)
{
    uint64_t size;

    a->fsync = o->appendfsync;
    int rc = lifecycle_open_aof(o, lock, store, &a->file, &size);
    if (rc != 0 || a->file.fd < 0)
        return rc;
    a->written = size;
    a->synced = size;
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

uint64_t append_write(append_t *a)
{
    if (a->file.fd < 0 || a->record.len == 0)
        return 0; /* the log is off, or the command changed nothing: nothing to wait for */
    int rc = aof_write(&a->file, a->record.data, a->record.len);
    if (rc != 0)
        aof_fail(&a->file, "write", rc);
    a->written += a->record.len;
    buf_clear(&a->record);
    if (a->record.cap > 64 * 1024)
        buf_free(&a->record); /* one big value does not stay in memory */
    return a->written;
}

void append_sync(append_t *a, uint64_t end)
{
    if (a->file.fd < 0 || a->fsync != OPTS_APPENDFSYNC_ALWAYS)
        return;
    if (a->synced >= end)
        return;
    sync_now(a);
}

void append_stop(append_t *a)
{
    if (a->file.fd >= 0 && a->written > a->synced)
        sync_now(a); /* whatever the mode: nothing written is left unsynced at exit */
    aof_close(&a->file);
    buf_free(&a->record);
}

void append_info(append_t *a, buf_t *out)
{
    if (a->file.fd < 0) {
        buf_printf(out, "aof_enabled:0\r\n");
        return;
    }
    aof_stats_t st = {
        .fsync = aof_fsync_name(a->fsync),
        .appended = a->written,
        .written = a->written,
        .synced = a->synced,
        .fsyncs = a->fsyncs,
        .fsync_max_us = a->fsync_max_us,
    };
    aof_info(out, &st);
}
