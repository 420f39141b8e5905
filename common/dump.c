#include "dump.h"

#include "alloc.h"
#include "resp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ==== Saving ============================================================= */

static int serialize_cb(const char *key, size_t klen, const char *val, size_t vlen, void *arg)
{
    buf_t *out = arg;
    /* The same bytes a client sends for SET, so that the file replays
     * through redis-cli --pipe as well as through dump_load(). */
    resp_add_array(out, 3);
    resp_add_bulk(out, "SET", 3);
    resp_add_bulk(out, key, klen);
    resp_add_bulk(out, val, vlen);
    return 0;
}

void dump_serialize(const store_t *s, buf_t *out)
{
    store_foreach(s, serialize_cb, out);
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0) /* cannot happen for a regular file; never loop forever */
            return -EIO;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Opens the directory that holds path, for the fsync that makes the rename
 * durable. */
static int open_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (slash == path)
        return open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char *dir = xmemdup(path, (size_t)(slash - path));
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    return fd;
}

/* Writes, fsyncs and closes the temporary file behind fd (closed in every
 * case). Returns 0 or a negative errno. */
static int write_tmp(int fd, const void *data, size_t len)
{
    int rc = write_all(fd, data, len);
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    /* close() can report a deferred write error (NFS does): it counts. */
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    return rc;
}

int dump_write_file(const char *path, const void *data, size_t len)
{
    /* The directory is opened first, so that a missing or unreadable
     * directory fails before anything is created, and nothing can fail
     * between the rename and the directory's fsync but the fsync itself. */
    int dirfd = open_parent_dir(path);
    if (dirfd < 0)
        return -errno;

    /* mkostemp creates the file with mode 0600: a dump holds every key,
     * which is nobody else's business by default. */
    static const char suffix[] = ".tmp-XXXXXX";
    size_t plen = strlen(path);
    char *tmp = xmalloc(plen + sizeof suffix);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, suffix, sizeof suffix);
    int fd = mkostemp(tmp, O_CLOEXEC);
    int rc = fd < 0 ? -errno : write_tmp(fd, data, len);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc != 0 && fd >= 0)
        unlink(tmp); /* the old file at path was never touched */
    free(tmp);

    /* After the rename the new file is in place; the directory's fsync
     * makes that survive a crash. If it fails the caller hears about it:
     * the save is not known to be durable. EINVAL means the file system
     * does not support fsync on a directory, and there is nothing more we
     * can do there. */
    if (rc == 0 && fsync(dirfd) != 0 && errno != EINVAL)
        rc = -errno;
    close(dirfd);
    return rc;
}

int dump_save(const store_t *s, const char *path)
{
    buf_t data = BUF_INIT;
    dump_serialize(s, &data);
    int rc = dump_write_file(path, data.data, data.len);
    buf_free(&data);
    return rc;
}

/* ==== Loading ============================================================ */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Reads the whole file at path into out. Returns 0 or a negative errno. */
static int read_file(const char *path, buf_t *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_size > 0)
        buf_reserve(out, (size_t)st.st_size + 1); /* + 1: EOF needs no growth */
    int rc = 0;
    for (;;) {
        if (out->len == out->cap) /* only when full: the sized buffer takes the file */
            buf_reserve(out, 64 * 1024);
        ssize_t n = read(fd, out->data + out->len, out->cap - out->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            break;
        }
        if (n == 0)
            break;
        out->len += (size_t)n;
    }
    close(fd);
    return rc;
}

/* Writes a command name into out for an error message: at most 32 bytes,
 * anything unprintable as '?', since a corrupt file can hold any bytes. */
static void printable_name(const resp_arg_t *name, char *out, size_t outlen)
{
    size_t n = name->len < outlen - 1 ? name->len : outlen - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name->ptr[i];
        out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    out[n] = '\0';
}

static int is_set(const resp_arg_t *name)
{
    return name->len == 3 && strncasecmp(name->ptr, "SET", 3) == 0;
}

/*
 * Parses data[0..len) into s. Returns 0, or -EBADMSG with the reason in
 * err. Offsets in messages are those of the first byte of the command at
 * fault.
 */
static int load_commands(const char *path, const char *data, size_t len, store_t *s, char *err,
                         size_t errlen)
{
    resp_parser_t p;
    resp_parser_init(&p);
    size_t off = 0;
    int rc = 0;
    while (off < len) {
        size_t consumed = 0;
        resp_status_t st = resp_parse(&p, data + off, len - off, &consumed);
        if (st == RESP_ERROR) {
            const char *msg = p.error;
            if (strncmp(msg, "ERR ", 4) == 0)
                msg += 4;
            set_err(err, errlen, "%s: corrupt at byte %zu: %s", path, off, msg);
            rc = -EBADMSG;
            break;
        }
        if (st == RESP_INCOMPLETE) {
            /* The whole file was given: whatever is left is half a command
             * (blank lines and empty arrays were consumed). */
            off += consumed;
            if (off < len) {
                set_err(err, errlen, "%s: corrupt at byte %zu: truncated command at end of file",
                        path, off);
                rc = -EBADMSG;
            }
            break;
        }
        if (!is_set(&p.argv[0]) || p.argc != 3) {
            char name[33];
            printable_name(&p.argv[0], name, sizeof name);
            if (!is_set(&p.argv[0]))
                set_err(err, errlen, "%s: corrupt at byte %zu: expected SET key value, got %s",
                        path, off, name);
            else
                set_err(err, errlen,
                        "%s: corrupt at byte %zu: expected SET key value, got %s with %zu "
                        "argument(s)",
                        path, off, name, p.argc - 1);
            rc = -EBADMSG;
            break;
        }
        store_set(s, p.argv[1].ptr, p.argv[1].len, p.argv[2].ptr, p.argv[2].len);
        off += consumed;
    }
    resp_parser_free(&p);
    return rc;
}

int dump_load(const char *path, store_t **out, char *err, size_t errlen)
{
    buf_t data = BUF_INIT;
    int rc = read_file(path, &data);
    if (rc != 0) {
        set_err(err, errlen, "%s: %s", path, strerror(-rc));
        buf_free(&data);
        return rc;
    }
    store_t *s = store_new();
    rc = load_commands(path, data.data, data.len, s, err, errlen);
    buf_free(&data);
    if (rc != 0) {
        store_free(s); /* refused whole: the caller never sees half of it */
        return rc;
    }
    *out = s;
    return 0;
}
