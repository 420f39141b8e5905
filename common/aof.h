#ifndef AOF_H
#define AOF_H

#include "buf.h"
#include "resp.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

/*
 * The append-only file, Redis's way: every write command that changed the
 * store, as the RESP command a client would send, in the order the store
 * applied them:
 *
 *     *3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n      SET k v
 *     *2\r\n$4\r\nINCR\r\n$1\r\nn\r\n                 INCR n
 *
 * No header, no trailer, no checksum: the file is only ever appended to,
 * and a crash can cut its last command short. Replaying it from the start
 * rebuilds the store.
 *
 * This module is bytes and blocking file calls, nothing else: the commands
 * produce their records (cmd_call()'s log buffer), aof_load() replays a
 * file, aof_write() and aof_sync() block their caller. *When* a record is
 * written and synced, and on which thread, is the stage's choice: that
 * choice is the lesson (TUTORIAL.md, chapter 5).
 *
 * When to sync, as Redis's appendfsync says (opts.h):
 *   always    a write is answered only after aof_sync() has returned for
 *             a sync that began after its record was written;
 *   everysec  the stage syncs about once a second: a crash of the machine
 *             loses at most about the last second of answered writes;
 *   no        never synced by the server: the kernel writes the file back
 *             when it likes (on Linux within about 30 s).
 * A crash of the process alone (SIGKILL) loses nothing that was written:
 * the kernel's page cache keeps it.
 */

/* Appends the record of a write command: argv as a RESP array of bulk
 * strings. What cmd_call() logs for a write that changed the store. */
void aof_add_command(buf_t *out, size_t argc, const resp_arg_t *argv);

/* ==== Replaying ========================================================== */

/* What aof_load() found. */
typedef struct aof_loaded {
    uint64_t commands; /* commands replayed */
    uint64_t size;     /* the file's length after loading: where appends go on */
    uint64_t cut_at;   /* when the last command was cut off: where it started */
    uint64_t cut_len;  /* ... and how many bytes of it there were; 0: none cut */
} aof_loaded_t;

/*
 * Replays the append-only file at path into s, which should be empty.
 *
 * Returns 0 and fills *info: also when there is no file at path (nothing
 * replayed, size 0), and when the file ends in the middle of a command,
 * as a crash during a write leaves it: that command is not replayed, the
 * file is truncated (ftruncate) to where it started, and info says so;
 * the caller logs it (Redis's aof-load-truncated).
 *
 * Returns -EBADMSG when the file is not a sequence of write commands in
 * RESP, at any place other than its last command, with a message
 * "<path>: corrupt at byte <offset>: expected <what belongs there>, found
 * <what is there>" in err[0..errlen) (err may be NULL); the store then
 * holds the commands before that place, and the caller refuses to start.
 * Another negative errno when the file cannot be read or truncated.
 *
 * What is not detected: a flipped byte inside a key or a value is still
 * valid RESP, and is replayed as written.
 */
int aof_load(const char *path, store_t *s, aof_loaded_t *info, char *err, size_t errlen);

/* ==== Writing and syncing ================================================ */

typedef struct aof {
    int fd;
    const char *path;
    int delay_ms; /* aof_sync() sleeps this long after each fsync: a slower disk */
} aof_t;

/* Opens path for appending, creating it (mode 0644) if it does not exist.
 * Returns 0 or a negative errno. */
int aof_open(aof_t *a, const char *path, int delay_ms);

/* Writes data[0..len) at the end of the file, all of it (EINTR and short
 * writes are retried). Blocks. Returns 0 or a negative errno. */
int aof_write(aof_t *a, const void *data, size_t len);

/* fdatasync(): returns once everything written before the call is on
 * disk. Blocks, for as long as the disk takes, then delay_ms more. Returns
 * 0 or a negative errno. */
int aof_sync(aof_t *a);

/* Closes the file. Safe on a file that was never opened (fd < 0). */
void aof_close(aof_t *a);

/*
 * Logs that writing or syncing the file failed, then exits with status
 * AOF_EXIT_STATUS without returning. A failed fsync may have dropped the
 * data it was asked to write (the kernel can mark the pages clean), so a
 * retry that succeeds proves nothing: no write that the failure covered
 * may be answered, and the honest thing is to stop. Redis does the same
 * under appendfsync always.
 */
void aof_fail(const aof_t *a, const char *what, int err) __attribute__((noreturn));

#define AOF_EXIT_STATUS 4

/* ==== INFO =============================================================== */

/* What a stage reports about its file; the stage keeps the numbers, under
 * whatever protects them there. Offsets count bytes from the start of the
 * file. */
typedef struct aof_stats {
    const char *fsync;     /* "always", "everysec", "no" */
    uint64_t appended;     /* records produced so far (the end of the last one) */
    uint64_t written;      /* bytes handed to write() */
    uint64_t synced;       /* bytes known to be on disk (a sync returned after them) */
    uint64_t fsyncs;       /* aof_sync() calls that returned */
    uint64_t fsync_max_us; /* the longest of them */
} aof_stats_t;

/* Appends INFO's aof_ lines: aof_enabled:1, aof_fsync, aof_appended_offset,
 * aof_written_offset, aof_synced_offset, aof_fsyncs, aof_fsync_max_us. */
void aof_info(buf_t *out, const aof_stats_t *st);

/* The name of an opts_appendfsync_t value. */
const char *aof_fsync_name(int appendfsync);

#endif /* AOF_H */
