#ifndef DUMP_H
#define DUMP_H

#include "buf.h"
#include "store.h"

#include <stddef.h>

/*
 * The dump file: the whole store as RESP "SET key value" commands, one per
 * key, so `redis-cli --pipe < dump.resp` can replay it into any server.
 *
 * Saving is split in two so that a stage can choose where each half runs:
 * dump_serialize() reads the store (hold its lock), dump_write_file() does
 * the slow file I/O on bytes the store no longer owns (hold nothing).
 */

/* Appends every entry of s to out as "*3\r\n$3\r\nSET\r\n$<klen>\r\n<key>\r\n
 * $<vlen>\r\n<value>\r\n". */
void dump_serialize(const store_t *s, buf_t *out);

/*
 * Replaces the file at path with data[0..len), atomically: writes a
 * temporary file in the same directory, fsyncs it, renames it over path and
 * fsyncs the directory. A crash, a kill or a failed write at any point
 * leaves either the old file or the new one, never a torn one.
 * Returns 0, or a negative errno. A failure before the rename leaves the
 * old file untouched and removes the temporary file; a failure of the
 * final directory fsync is reported too, although the new file is then
 * already in place (it may not survive a power loss).
 */
int dump_write_file(const char *path, const void *data, size_t len);

/* dump_serialize() then dump_write_file(). */
int dump_save(const store_t *s, const char *path);

/*
 * Loads the dump at path into a new store.
 *
 * Returns 0 and sets *out; -ENOENT when there is no file at path (the
 * caller starts empty); another negative errno when the file cannot be read;
 * -EBADMSG when the file is corrupt (a protocol error, a truncated last
 * command, or a command that is not SET key value), with a description
 * naming the byte offset written to err[0..errlen). A corrupt file is
 * refused whole: the caller never sees half of it.
 */
int dump_load(const char *path, store_t **out, char *err, size_t errlen);

#endif /* DUMP_H */
