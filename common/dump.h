#ifndef DUMP_H
#define DUMP_H

#include "buf.h"
#include "store.h"

#include <stddef.h>

/*
 * The dump file: the whole store as RESP commands, framed by a header and
 * a trailer that are harmless commands too, so that
 * `redis-cli --pipe < dump.resp` still replays it into any server:
 *
 *     *2 ECHO "staged-ports dump v1"                      the header: magic, version
 *     *3 SET <key> <value>                                one per key, any order
 *     *2 ECHO "staged-ports dump end keys=<n> crc64=<h>"  the trailer
 *
 * (each element a bulk string, "$<len>\r\n<bytes>\r\n"). <n> is the number
 * of SET commands in decimal, <h> the CRC-64/XZ (crc64.h) of every byte
 * before the trailer, header included, in 16 lowercase hex digits.
 * dump_load() accepts exactly what dump_serialize() writes and nothing
 * else: no inline commands, no lowercase "set", no blank lines, no second
 * SET of a key, nothing after the trailer.
 *
 * Saving is split in two so that a stage can choose where each half runs:
 * dump_serialize() reads the store (hold its lock), dump_write_file() does
 * the slow file I/O on bytes the store no longer owns (hold nothing).
 *
 * A server owns its dump for its whole life through dump_open()
 * (dump_lock.h).
 */

/* The header, byte for byte. */
#define DUMP_HEADER "*2\r\n$4\r\nECHO\r\n$20\r\nstaged-ports dump v1\r\n"

/* dump_write_file()'s temporary file: "<path>" DUMP_TMP_SUFFIX and
 * DUMP_TMP_RANDOM letters or digits chosen by mkostemp(). */
#define DUMP_TMP_SUFFIX ".tmp-"
#define DUMP_TMP_RANDOM 6

/* ==== Saving ============================================================= */

/* Appends the dump of s to out: the header, one SET command per entry,
 * the trailer. What was in out before stays in front, outside the
 * checksum. */
void dump_serialize(const store_t *s, buf_t *out);

/*
 * Replaces the file at path with data[0..len), atomically: writes a
 * temporary file "<path>.tmp-XXXXXX" in the same directory, fsyncs it,
 * renames it over path and fsyncs the directory. A crash, a kill or a
 * failed write at any point leaves either the old file or the new one,
 * never a torn one (and, after a crash, maybe the temporary file, which
 * dump_remove_stale() removes at the next start).
 * Returns 0, or a negative errno. A failure before the rename leaves the
 * old file untouched and removes the temporary file; a failure of the
 * final directory fsync is reported too, although the new file is then
 * already in place (it may not survive a power loss).
 */
int dump_write_file(const char *path, const void *data, size_t len);

/* dump_serialize() then dump_write_file(). */
int dump_save(const store_t *s, const char *path);

/* ==== Loading ============================================================ */

/*
 * Loads the dump at path into a new store.
 *
 * Returns 0 and sets *out; -ENOENT when there is no file at path (the
 * caller starts empty); another negative errno when the file cannot be read;
 * -EBADMSG when the file is not exactly what dump_serialize() writes. Every
 * failure writes a message that starts with path to err[0..errlen) (err may
 * be NULL). For -EBADMSG it is either "<path>: corrupt at byte <offset>:
 * expected <what belongs there>, found <what is there>" or, when every
 * byte parses but the checksum does not match, "<path>: checksum mismatch:
 * ..." with both the checksum the trailer states and the one computed.
 * A corrupt file is refused whole: the caller never sees half of it.
 */
int dump_load(const char *path, store_t **out, char *err, size_t errlen);

#endif /* DUMP_H */
