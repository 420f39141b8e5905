#include "lifecycle.h"

#include "dump.h"
#include "log.h"

#include <inttypes.h>
#include <string.h>

rlim_t lifecycle_raise_fd_limit(int *max_clients)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return RLIM_INFINITY; /* unknown: nothing to enforce */
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY &&
        (rlim_t)*max_clients + LIFECYCLE_RESERVED_FDS > rl.rlim_cur) {
        int allowed =
            rl.rlim_cur > LIFECYCLE_RESERVED_FDS ? (int)(rl.rlim_cur - LIFECYCLE_RESERVED_FDS) : 1;
        log_warn("--max-clients %d is above what the open file limit (%lu) allows; using %d",
                 *max_clients, (unsigned long)rl.rlim_cur, allowed);
        *max_clients = allowed;
    }
    return rl.rlim_cur;
}

int lifecycle_load_dump(const opts_t *o, dump_lock_t *lock, store_t **store)
{
    const char *dbfile = o->dbfile;
    char err[512];
    store_t *loaded = NULL;

    if (dbfile == NULL)
        return 0;
    int rc = dump_open(dbfile, lock, &loaded, err, sizeof err);
    if (rc == 0 && loaded != NULL && o->appendonly != NULL) {
        log_info("not loading %s: the append-only file %s is the source of truth", dbfile,
                 o->appendonly);
        store_free(loaded);
        return 0;
    }
    if (rc != 0) {
        log_error("refusing to start: %s", err);
        return rc;
    }
    if (loaded == NULL)
        return 0; /* no dump yet: an empty start */
    store_free(*store);
    *store = loaded;
    log_info("loaded %zu keys from %s", store_count(loaded), dbfile);
    return 0;
}

int lifecycle_save_dump(const store_t *store, const char *dbfile)
{
    if (dbfile == NULL)
        return 0;
    int rc = dump_save(store, dbfile);
    if (rc != 0)
        log_error("saving %s on shutdown failed: %s", dbfile, strerror(-rc));
    else
        log_info("saved %zu keys to %s", store_count(store), dbfile);
    return rc;
}

int lifecycle_open_aof(const opts_t *o, dump_lock_t *lock, store_t *store, aof_t *aof,
                       uint64_t *size)
{
    char err[512];
    aof_loaded_t info;

    aof->fd = -1;
    *size = 0;
    if (o->appendonly == NULL)
        return 0;
    int rc = dump_lock(lock, o->appendonly, err, sizeof err);
    if (rc == 0)
        rc = aof_load(o->appendonly, store, &info, err, sizeof err);
    if (rc != 0) {
        log_error("refusing to start: %s", err);
        return rc;
    }
    if (info.cut_len > 0)
        log_warn("%s: the last command was cut off (%" PRIu64 " bytes at byte %" PRIu64
                 ", a crash during a write?): truncated the file to %" PRIu64 " bytes",
                 o->appendonly, info.cut_len, info.cut_at, info.cut_at);
    rc = aof_open(aof, o->appendonly, o->appendfsync_delay_ms);
    if (rc != 0) {
        log_error("refusing to start: %s: cannot open it for appending: %s", o->appendonly,
                  strerror(-rc));
        return rc;
    }
    *size = info.size;
    log_info("replayed %" PRIu64 " commands from %s (%" PRIu64 " bytes), appending with "
             "appendfsync %s",
             info.commands, o->appendonly, info.size, aof_fsync_name(o->appendfsync));
    return 0;
}
