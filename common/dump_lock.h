#ifndef DUMP_LOCK_H
#define DUMP_LOCK_H

#include "store.h"

#include <stddef.h>

/*
 * Owning the dump (dump.h) for a server's whole life: a lock that refuses
 * a second server on the same file, then the removal of what an
 * interrupted save left behind, then the load. dump_open() does all three.
 */

typedef struct dump_lock {
    int fd; /* the open lock file, -1 when not held */
} dump_lock_t;

#define DUMP_LOCK_INIT                                                                             \
    {                                                                                              \
        -1                                                                                         \
    }

/*
 * Makes this process the one server of the dump at path: takes an
 * exclusive flock(2) on "<path>.lock" (created, mode 0600, if missing, and
 * never deleted) and writes the process id into it. The lock lasts until
 * dump_unlock() or the end of the process, a crash included.
 * Returns 0; -EBUSY when another process holds it, or this one through
 * another dump_lock_t (flock locks belong to open files, not processes);
 * another negative errno when the lock file cannot be opened or locked.
 * On failure err gets a message naming path.
 */
int dump_lock(dump_lock_t *lock, const char *path, char *err, size_t errlen);

/* Releases a lock taken by dump_lock(); does nothing when none is held.
 * The lock file stays. */
void dump_unlock(dump_lock_t *lock);

/*
 * Removes what a dump_write_file() cut short by a crash left next to path:
 * regular files named "<file name of path>.tmp-" followed by exactly six
 * letters or digits (mkostemp()'s pattern), in path's directory. Nothing
 * else is touched: not other names, not directories, not symbolic links.
 * The caller must hold the lock (lock, from dump_lock()): only then is no
 * SAVE of another server writing one of these files. Logs each removal.
 * Returns how many were removed, or a negative errno (err says why) when
 * the directory cannot be read or a file cannot be removed.
 */
int dump_remove_stale(const dump_lock_t *lock, const char *path, char *err, size_t errlen);

/*
 * What a server does with its dump at start: dump_lock(),
 * dump_remove_stale(), dump_load(). Returns 0 with the lock held and *out
 * set to the loaded store, or to NULL when there is no dump yet; or a
 * negative errno with the lock released and a message naming path in err.
 * The caller keeps the lock until it has written its last dump, then calls
 * dump_unlock().
 */
int dump_open(const char *path, dump_lock_t *lock, store_t **out, char *err, size_t errlen);

#endif /* DUMP_LOCK_H */
