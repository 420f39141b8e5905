#include "append.h"

#include "lifecycle.h"
#include "log.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#define EVERYSEC_MS 1000

/* Raises *v to x unless it is already higher: syncs that return out of
 * order must not move the synced offset back. */
static void atomic_raise(_Atomic uint64_t *v, uint64_t x)
{
    uint64_t old = atomic_load(v);
    while (old < x && !atomic_compare_exchange_weak(v, &old, x)) {
    }
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* One fdatasync, and what it covered: everything written before it began. */
static void sync_now(append_t *a)
{
    uint64_t covers = atomic_load(&a->written);
    uint64_t start = now_us();
    int rc = aof_sync(&a->file);
    if (rc != 0)
        aof_fail(&a->file, "fdatasync", rc);
    atomic_raise(&a->fsync_max_us, now_us() - start);
    atomic_fetch_add(&a->fsyncs, 1);
    atomic_raise(&a->synced, covers);
}

/* ==== appendfsync everysec =============================================== */

static void *syncer_main(void *arg)
{
    append_t *a = arg;
    struct timespec deadline;

    pthread_mutex_lock(&a->syncer_lock);
    while (!a->syncer_stop) {
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += EVERYSEC_MS / 1000;
        int rc = 0;
        while (!a->syncer_stop && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&a->syncer_wake, &a->syncer_lock, &deadline);
        if (a->syncer_stop)
            break;
        pthread_mutex_unlock(&a->syncer_lock);
        if (atomic_load(&a->written) > atomic_load(&a->synced))
            sync_now(a);
        pthread_mutex_lock(&a->syncer_lock);
    }
    pthread_mutex_unlock(&a->syncer_lock);
    return NULL;
}

/* ==== The log ============================================================ */

void append_init(append_t *a)
{
    a->file.fd = -1;
    buf_init(&a->record);
}

int append_start(append_t *a, const opts_t *o, dump_lock_t *lock, store_t *store)
{
    uint64_t size;

    a->fsync = o->appendfsync;
    int rc = lifecycle_open_aof(o, lock, store, &a->file, &size);
    if (rc != 0 || a->file.fd < 0)
        return rc;
    atomic_store(&a->written, size);
    atomic_store(&a->synced, size);
    if (a->fsync == OPTS_APPENDFSYNC_EVERYSEC) {
        pthread_mutex_init(&a->syncer_lock, NULL);
        pthread_cond_init(&a->syncer_wake, NULL);
        rc = pthread_create(&a->syncer, NULL, syncer_main, a);
        if (rc != 0) {
            log_error("cannot start the append-only file's syncer: %s", strerror(rc));
            return -rc;
        }
        a->syncer_running = 1;
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
    uint64_t end = atomic_load(&a->written);
    int rc = aof_write(&a->file, a->record.data, a->record.len);
    if (rc != 0)
        aof_fail(&a->file, "write", rc);
    end += a->record.len;
    atomic_store(&a->written, end);
    buf_clear(&a->record);
    if (a->record.cap > 64 * 1024)
        buf_free(&a->record); /* one big value does not stay in memory */
    return end;
}

void append_sync(append_t *a, uint64_t end)
{
    if (a->file.fd < 0 || a->fsync != OPTS_APPENDFSYNC_ALWAYS)
        return;
    if (atomic_load(&a->synced) >= end)
        return; /* another thread's fdatasync began after our write: it covered it */
    sync_now(a);
}

void append_stop(append_t *a)
{
    if (a->syncer_running) {
        pthread_mutex_lock(&a->syncer_lock);
        a->syncer_stop = 1;
        pthread_cond_signal(&a->syncer_wake);
        pthread_mutex_unlock(&a->syncer_lock);
        pthread_join(a->syncer, NULL);
        pthread_cond_destroy(&a->syncer_wake);
        pthread_mutex_destroy(&a->syncer_lock);
        a->syncer_running = 0;
    }
    if (a->file.fd >= 0 && atomic_load(&a->written) > atomic_load(&a->synced))
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
    uint64_t written = atomic_load(&a->written);
    aof_stats_t st = {
        .fsync = aof_fsync_name(a->fsync),
        .appended = written,
        .written = written,
        .synced = atomic_load(&a->synced),
        .fsyncs = atomic_load(&a->fsyncs),
        .fsync_max_us = atomic_load(&a->fsync_max_us),
    };
    aof_info(out, &st);
}
