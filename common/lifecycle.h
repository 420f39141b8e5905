#ifndef LIFECYCLE_H
#define LIFECYCLE_H

#include "aof.h"
#include "dump_lock.h"
#include "opts.h"
#include "store.h"

#include <stdint.h>

#include <sys/resource.h>

/*
 * The chores at a server's start and exit that have nothing to do with
 * its concurrency model, the same in every stage: the open-file limit, the
 * dump loaded at start and saved at exit, the append-only file replayed at start. They block, briefly, before the
 * server serves anyone or after it has stopped: there is nobody to stall.
 */

/* Descriptors kept out of --max-clients: the listener, the dump, logging. */
#define LIFECYCLE_RESERVED_FDS 32

/*
 * Raises the soft limit on open files to the hard limit, as Redis does,
 * and lowers *max_clients, with a warning, when the limit cannot hold that
 * many connections and LIFECYCLE_RESERVED_FDS more. Returns the soft limit
 * as it is now (RLIM_INFINITY when unlimited).
 */
rlim_t lifecycle_raise_fd_limit(int *max_clients);

/*
 * When o->dbfile is not NULL: takes the dump's lock (lock, which the caller
 * holds until it has saved for the last time), removes what an interrupted
 * SAVE left and loads the dump, through dump_open(). A loaded dump
 * replaces *store (freed); without a dump file yet, *store stays. Logs
 * what it did. Returns 0, or a negative errno after logging why the
 * server refuses to start (a damaged dump stops the start).
 */
int lifecycle_load_dump(const opts_t *o, dump_lock_t *lock, store_t **store);

/*
 * When o->appendonly is not NULL: takes the file's lock (lock, as for the
 * dump: "<path>.lock"; a second server on one log would interleave its
 * writes), replays the file into store and opens it for appending (aof,
 * with o->appendfsync_delay_ms); *size is where appends go on. The dump
 * was not loaded (lifecycle_load_dump()): when the log is enabled it is
 * the source of truth, as in Redis. A cut-off last command is truncated
 * with a warning. Returns 0 (aof->fd is -1 when the log is off), or a
 * negative errno after logging why the server refuses to start.
 */
int lifecycle_open_aof(const opts_t *o, dump_lock_t *lock, store_t *store, aof_t *aof,
                       uint64_t *size);

/* When dbfile is not NULL, saves store to it, for a server on its way out:
 * nothing else may touch the store. Logs the outcome. Returns 0 or a
 * negative errno. */
int lifecycle_save_dump(const store_t *store, const char *dbfile);

#endif /* LIFECYCLE_H */
