#ifndef FILE_H
#define FILE_H

#include "buf.h"

#include <stddef.h>

/*
 * The few file operations that the dump and its lock share: whole reads,
 * whole writes, the directory a rename must fsync, and the messages they
 * report into a caller's buffer. Plain blocking calls: where they run is
 * the caller's choice (common/ never knows).
 */

/* Writes data[0..len) to fd, retrying short writes and EINTR. Returns 0
 * or a negative errno. */
int file_write_all(int fd, const char *data, size_t len);

/* Opens the directory that holds path ("." when path has no '/'), for the
 * fsync that makes a rename in it durable or for reading its entries.
 * Returns the descriptor, or -1 with errno set. */
int file_open_dir_of(const char *path);

/* Appends the whole file at path to out. Returns 0 or a negative errno. */
int file_read_all(const char *path, buf_t *out);

/* Formats a message into err[0..errlen), as snprintf() would; does nothing
 * when err is NULL or errlen is 0. For functions whose contract is "on
 * failure err says why". */
void file_set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* FILE_H */
