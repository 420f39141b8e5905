#include "dump.h"

#include "alloc.h"
#include "crc64.h"
#include "log.h"
#include "resp.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* ==== The format ========================================================= */

/* The first bytes of every SET command and of the trailer; the rest of
 * each is bulk strings. */
#define SET_HEAD     "*3\r\n$3\r\nSET\r\n"
#define TRAILER_HEAD "*2\r\n$4\r\nECHO\r\n"

/* The trailer's text, the ECHO's argument:
 * TRAILER_KEYS "<n>" TRAILER_CRC "<16 hex digits>". */
#define TRAILER_KEYS "staged-ports dump end keys="
#define TRAILER_CRC  " crc64="

/* dump_write_file()'s temporary file: "<path>" TMP_SUFFIX and TMP_RANDOM
 * characters chosen by mkostemp(). */
#define TMP_SUFFIX     ".tmp-"
#define TMP_SUFFIX_LEN (sizeof TMP_SUFFIX - 1)
#define TMP_RANDOM     6

/* ==== Saving ============================================================= */

typedef struct serializer {
    buf_t *out;
    size_t keys;
    uint64_t crc; /* of everything appended since the header began */
} serializer_t;

static int serialize_cb(const char *key, size_t klen, const char *val, size_t vlen, void *arg)
{
    serializer_t *ser = arg;
    size_t start = ser->out->len;
    /* The same bytes a client sends for SET, so that the file replays
     * through redis-cli --pipe as well as through dump_load(). */
    resp_add_array(ser->out, 3);
    resp_add_bulk(ser->out, "SET", 3);
    resp_add_bulk(ser->out, key, klen);
    resp_add_bulk(ser->out, val, vlen);
    /* Hashed while it is still in the cache, rather than in a second pass
     * over the whole dump at the end. */
    ser->crc = crc64_update(ser->crc, ser->out->data + start, ser->out->len - start);
    ser->keys++;
    return 0;
}

void dump_serialize(const store_t *s, buf_t *out)
{
    serializer_t ser = {out, 0, crc64(DUMP_HEADER, sizeof DUMP_HEADER - 1)};
    buf_append(out, DUMP_HEADER, sizeof DUMP_HEADER - 1);
    store_foreach(s, serialize_cb, &ser);

    char text[sizeof TRAILER_KEYS + 20 + sizeof TRAILER_CRC + 16];
    int n = snprintf(text, sizeof text, TRAILER_KEYS "%zu" TRAILER_CRC "%016" PRIx64, ser.keys,
                     ser.crc);
    assert(n > 0 && (size_t)n < sizeof text);
    resp_add_array(out, 2);
    resp_add_bulk(out, "ECHO", 4);
    resp_add_bulk(out, text, (size_t)n);
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
    static const char suffix[] = TMP_SUFFIX "XXXXXX";
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

/* A cursor over the bytes being loaded, and where a failure is told. */
typedef struct reader {
    const char *path;
    const char *data;
    size_t len;           /* parsing stops here: the end of the file, or of the trailer's text */
    const char *end_name; /* what len is, for messages */
    size_t off;
    char *err;
    size_t errlen;
} reader_t;

#define SHOW_MAX 16 /* bytes of the file a message quotes */

/* Writes p[0..n) to out[0..outlen) quoted, as C source would spell it:
 * printable ASCII as itself, \r \n \" \\ escaped, any other byte as \xHH.
 * At most max bytes, then "...". A corrupt file can hold any bytes: none
 * of them reaches the log raw. */
static void quote(const char *p, size_t n, size_t max, char *out, size_t outlen)
{
    size_t o = 0;
    out[o++] = '"';
    for (size_t i = 0; i < n && i < max && o + 8 < outlen; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\r' || c == '\n' || c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = c == '\r' ? 'r' : c == '\n' ? 'n' : (char)c;
        } else if (c >= 0x20 && c < 0x7f) {
            out[o++] = (char)c;
        } else {
            o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
        }
    }
    out[o++] = '"';
    if (n > max && o + 4 < outlen) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* What the reader holds at off, for "found ...": the next bytes, quoted,
 * and where they are the last ones, that the end follows. */
static void describe(const reader_t *r, size_t off, char *out, size_t outlen)
{
    if (off >= r->len) {
        snprintf(out, outlen, "%s", r->end_name);
        return;
    }
    quote(r->data + off, r->len - off, SHOW_MAX, out, outlen);
    if (r->len - off <= SHOW_MAX) {
        size_t used = strlen(out);
        snprintf(out + used, outlen - used, " then %s", r->end_name);
    }
}

/* Writes "<path>: corrupt at byte <at>: <message>" and returns -EBADMSG. */
static int corrupt(const reader_t *r, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int corrupt(const reader_t *r, size_t at, const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    set_err(r->err, r->errlen, "%s: corrupt at byte %zu: %s", r->path, at, msg);
    return -EBADMSG;
}

/* Consumes lit[0..n) or fails at the first byte that differs; context
 * says what lit is. */
static int expect_literal(reader_t *r, const char *lit, size_t n, const char *context)
{
    size_t i = 0;
    while (i < n && r->off + i < r->len && r->data[r->off + i] == lit[i])
        i++;
    if (i == n) {
        r->off += n;
        return 0;
    }
    char want[128], found[160];
    quote(lit, n, SIZE_MAX, want, sizeof want);
    describe(r, r->off + i, found, sizeof found);
    return corrupt(r, r->off + i, "expected %s (%s), found %s", want, context, found);
}

/* 1 when the reader's next bytes are lit[0..n). */
static int next_is(const reader_t *r, const char *lit, size_t n)
{
    return r->len - r->off >= n && memcmp(r->data + r->off, lit, n) == 0;
}

/* Reads a decimal number as the server writes it: one or more digits, no
 * leading zero unless the number is 0, at most max. name says what the
 * number is. */
static int read_number(reader_t *r, const char *name, uint64_t max, uint64_t *out)
{
    size_t start = r->off, i = start;
    uint64_t v = 0;
    int too_big = 0;
    while (i < r->len && r->data[i] >= '0' && r->data[i] <= '9') {
        unsigned d = (unsigned)(r->data[i] - '0');
        if (v > (max - d) / 10)
            too_big = 1;
        else
            v = v * 10 + d;
        i++;
    }
    char found[160];
    describe(r, start, found, sizeof found);
    if (i == start || (i - start > 1 && r->data[start] == '0'))
        return corrupt(r, start, "expected %s in decimal digits, found %s", name, found);
    if (too_big)
        return corrupt(r, start, "expected %s, at most %" PRIu64 ", found %s", name, max, found);
    r->off = i;
    *out = v;
    return 0;
}

/* Reads one bulk string, "$<len>\r\n<len bytes>\r\n"; name says what it
 * holds ("the key"). */
static int read_bulk(reader_t *r, const char *name, const char **p, size_t *n)
{
    char context[96];
    snprintf(context, sizeof context, "the start of %s", name);
    int rc = expect_literal(r, "$", 1, context);
    uint64_t len = 0;
    snprintf(context, sizeof context, "the length of %s", name);
    if (rc == 0)
        rc = read_number(r, context, SIZE_MAX / 2, &len);
    snprintf(context, sizeof context, "after the length of %s", name);
    if (rc == 0)
        rc = expect_literal(r, "\r\n", 2, context);
    if (rc != 0)
        return rc;
    size_t left = r->len - r->off;
    if (left < len) {
        char found[160];
        if (left == 0)
            snprintf(found, sizeof found, "%s", r->end_name);
        else
            snprintf(found, sizeof found, "only %zu before %s", left, r->end_name);
        return corrupt(r, r->off, "expected the %" PRIu64 " byte(s) of %s, found %s", len, name,
                       found);
    }
    *p = r->data + r->off;
    *n = (size_t)len;
    r->off += (size_t)len;
    snprintf(context, sizeof context, "after the %" PRIu64 " byte(s) of %s", len, name);
    return expect_literal(r, "\r\n", 2, context);
}

/* Reads one SET command into s; keys counts them. */
static int read_set(reader_t *r, store_t *s, size_t *keys)
{
    size_t start = r->off;
    const char *key, *val;
    size_t klen, vlen;
    int rc = expect_literal(r, SET_HEAD, sizeof SET_HEAD - 1, "a SET command");
    if (rc == 0)
        rc = read_bulk(r, "the key", &key, &klen);
    if (rc == 0)
        rc = read_bulk(r, "the value", &val, &vlen);
    if (rc != 0)
        return rc;
    size_t before = store_count(s);
    store_set(s, key, klen, val, vlen);
    if (store_count(s) == before) /* the server never writes a key twice */
        return corrupt(r, start, "expected a SET of a key not set before, found a second one");
    (*keys)++;
    return 0;
}

/* Reads the trailer's text, r[off..len) being exactly that text. */
static int read_trailer_text(reader_t *r, uint64_t *keys, size_t *keys_off, uint64_t *crc)
{
    int rc = expect_literal(r, TRAILER_KEYS, sizeof TRAILER_KEYS - 1, "the trailer's text");
    *keys_off = r->off;
    if (rc == 0)
        rc = read_number(r, "the key count", SIZE_MAX, keys);
    if (rc == 0)
        rc = expect_literal(r, TRAILER_CRC, sizeof TRAILER_CRC - 1, "after the key count");
    if (rc != 0)
        return rc;
    *crc = 0;
    for (int i = 0; i < 16; i++, r->off++) {
        char c = r->off < r->len ? r->data[r->off] : '\0';
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                                            : 16;
        if (r->off >= r->len || d == 16) {
            char found[160];
            describe(r, r->off, found, sizeof found);
            return corrupt(r, r->off, "expected 16 lowercase hex digits (the checksum), found %s",
                           found);
        }
        *crc = *crc << 4 | d;
    }
    if (r->off != r->len) {
        char found[160];
        describe(r, r->off, found, sizeof found);
        return corrupt(r, r->off, "expected the end of the trailer's text, found %s", found);
    }
    return 0;
}

/* Reads the trailer, which must end the file, and checks it against the
 * keys read and the bytes before it. */
static int read_trailer(reader_t *r, size_t keys)
{
    size_t start = r->off;
    const char *text;
    size_t tlen;
    int rc = expect_literal(r, TRAILER_HEAD, sizeof TRAILER_HEAD - 1, "the trailer");
    if (rc == 0)
        rc = read_bulk(r, "the trailer's text", &text, &tlen);
    if (rc != 0)
        return rc;
    /* The same file, bounded by the text's end, so that offsets stay the
     * file's own. */
    reader_t t = *r;
    t.off = (size_t)(text - r->data);
    t.len = t.off + tlen;
    t.end_name = "the end of the trailer's text";
    uint64_t stated_keys = 0, stated_crc = 0;
    size_t keys_off = 0;
    rc = read_trailer_text(&t, &stated_keys, &keys_off, &stated_crc);
    if (rc != 0)
        return rc;
    if (stated_keys != keys)
        return corrupt(r, keys_off,
                       "expected the key count %zu (the SET commands before the trailer), found "
                       "%" PRIu64,
                       keys, stated_keys);
    if (r->off != r->len) {
        char found[160];
        describe(r, r->off, found, sizeof found);
        return corrupt(r, r->off,
                       "expected the end of the file after the trailer, found %zu more "
                       "byte(s): %s",
                       r->len - r->off, found);
    }
    uint64_t computed = crc64(r->data, start);
    if (computed != stated_crc) {
        set_err(r->err, r->errlen,
                "%s: checksum mismatch: the trailer at byte %zu says crc64 %016" PRIx64
                ", the %zu bytes before it hash to %016" PRIx64,
                r->path, start, stated_crc, start, computed);
        return -EBADMSG;
    }
    return 0;
}

/* Parses the whole file into s. Returns 0, or -EBADMSG with the reason in
 * the reader's err. */
static int read_dump(reader_t *r, store_t *s)
{
    int rc = expect_literal(r, DUMP_HEADER, sizeof DUMP_HEADER - 1,
                            "the header: magic and format version 1");
    size_t keys = 0;
    while (rc == 0) {
        if (next_is(r, SET_HEAD, sizeof SET_HEAD - 1)) {
            rc = read_set(r, s, &keys);
        } else if (next_is(r, TRAILER_HEAD, sizeof TRAILER_HEAD - 1)) {
            return read_trailer(r, keys);
        } else {
            char set[64], trailer[64], found[160];
            quote(SET_HEAD, sizeof SET_HEAD - 1, SIZE_MAX, set, sizeof set);
            quote(TRAILER_HEAD, sizeof TRAILER_HEAD - 1, SIZE_MAX, trailer, sizeof trailer);
            describe(r, r->off, found, sizeof found);
            rc = corrupt(r, r->off,
                         "expected a SET command (%s...) or the trailer (%s...), found %s", set,
                         trailer, found);
        }
    }
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
    reader_t r = {
        .path = path,
        .data = data.data != NULL ? data.data : "",
        .len = data.len,
        .end_name = "the end of the file",
        .err = err,
        .errlen = errlen,
    };
    rc = read_dump(&r, s);
    buf_free(&data);
    if (rc != 0) {
        store_free(s); /* refused whole: the caller never sees half of it */
        return rc;
    }
    *out = s;
    return 0;
}

/* ==== Owning the dump ===================================================== */

/*
 * Why a lock file of its own, "<path>.lock", rather than a lock on the
 * dump: flock() locks an inode, and dump_write_file() gives the dump a new
 * inode at every save (rename() of the temporary file over it). A second
 * server that opened the dump after the first one's SAVE would lock the
 * new inode, which nobody holds, and run beside it; and before the first
 * save there is no dump to lock. The lock file is never renamed and never
 * deleted: deleting it while it is held would let the next server create
 * and lock a new one beside the holder of the old one.
 *
 * Why flock(): the kernel releases it when the process ends, however it
 * ends, so no stale lock outlives a crash (a pid file would). Why not
 * fcntl() locks: they belong to the process, not to the open file, and
 * the process loses them when it closes any descriptor of the file.
 */

static char *lock_path(const char *path)
{
    static const char suffix[] = ".lock";
    size_t plen = strlen(path);
    char *p = xmalloc(plen + sizeof suffix);
    memcpy(p, path, plen);
    memcpy(p + plen, suffix, sizeof suffix);
    return p;
}

/* The process id the holder wrote into the lock file; 0 when unknown. */
static long read_holder(int fd)
{
    char text[32];
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    if (n <= 0)
        return 0;
    text[n] = '\0';
    char *end;
    long pid = strtol(text, &end, 10);
    return end != text && *end == '\n' && pid > 0 ? pid : 0;
}

int dump_lock(dump_lock_t *lock, const char *path, char *err, size_t errlen)
{
    assert(lock->fd < 0);
    char *lp = lock_path(path);
    int rc = 0;
    int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = -errno;
        set_err(err, errlen, "%s: cannot open its lock file %s: %s", path, lp, strerror(-rc));
    } else if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
        long holder = rc == -EBUSY ? read_holder(fd) : 0;
        if (rc != -EBUSY)
            set_err(err, errlen, "%s: cannot lock %s: %s", path, lp, strerror(-rc));
        else if (holder > 0)
            set_err(err, errlen,
                    "%s is in use by another server (process %ld holds %s): stop it first, "
                    "or use another dump file",
                    path, holder, lp);
        else
            set_err(err, errlen,
                    "%s is in use by another server (it holds %s): stop it first, or use "
                    "another dump file",
                    path, lp);
        close(fd);
    } else {
        /* Only for the message above: without it, the lock still works. */
        char pid[32];
        int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
        if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
            log_debug("%s: cannot write the process id: %s", lp, strerror(errno));
        lock->fd = fd;
    }
    free(lp);
    return rc;
}

void dump_unlock(dump_lock_t *lock)
{
    if (lock->fd < 0)
        return;
    /* Emptied first, so that a server refused just after this one ends
     * names no process that is gone. */
    if (ftruncate(lock->fd, 0) != 0)
        log_debug("cannot empty a dump's lock file: %s", strerror(errno));
    close(lock->fd); /* releases the lock */
    lock->fd = -1;
}

/* 1 when name is "<base>" TMP_SUFFIX followed by exactly TMP_RANDOM
 * letters or digits: what mkostemp() makes of dump_write_file()'s
 * template. */
static int is_stale_name(const char *name, const char *base, size_t blen)
{
    if (strncmp(name, base, blen) != 0 || strncmp(name + blen, TMP_SUFFIX, TMP_SUFFIX_LEN) != 0)
        return 0;
    const char *x = name + blen + TMP_SUFFIX_LEN;
    for (int i = 0; i < TMP_RANDOM; i++) {
        char c = x[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return 0;
    }
    return x[TMP_RANDOM] == '\0';
}

int dump_remove_stale(const dump_lock_t *lock, const char *path, char *err, size_t errlen)
{
    /* Without the lock, a SAVE of another server could be running right
     * now and lose its temporary file. */
    assert(lock->fd >= 0);
    const char *slash = strrchr(path, '/');
    const char *base = slash != NULL ? slash + 1 : path;
    size_t blen = strlen(base);
    int dirlen = (int)(base - path);

    int dfd = open_parent_dir(path);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (d == NULL) {
        int rc = -errno;
        if (dfd >= 0)
            close(dfd);
        set_err(err, errlen, "%s: cannot read its directory: %s", path, strerror(-rc));
        return rc;
    }
    int removed = 0, rc = 0;
    for (;;) {
        errno = 0;
        const struct dirent *de = readdir(d);
        if (de == NULL) {
            rc = -errno; /* 0 at the end of the directory */
            if (rc != 0)
                set_err(err, errlen, "%s: cannot read its directory: %s", path, strerror(-rc));
            break;
        }
        struct stat st;
        if (!is_stale_name(de->d_name, base, blen) ||
            fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (unlinkat(dirfd(d), de->d_name, 0) != 0 && errno != ENOENT) {
            rc = -errno;
            set_err(err, errlen, "%s: cannot remove %.*s%s, left by an interrupted save: %s", path,
                    dirlen, path, de->d_name, strerror(-rc));
            break;
        }
        log_warn("removed %.*s%s: a save of %s that never finished (a crash?) left it", dirlen,
                 path, de->d_name, path);
        removed++;
    }
    closedir(d);
    return rc != 0 ? rc : removed;
}

int dump_open(const char *path, dump_lock_t *lock, store_t **out, char *err, size_t errlen)
{
    int rc = dump_lock(lock, path, err, errlen);
    if (rc != 0)
        return rc;
    rc = dump_remove_stale(lock, path, err, errlen);
    store_t *loaded = NULL;
    if (rc >= 0) {
        rc = dump_load(path, &loaded, err, errlen);
        if (rc == -ENOENT)
            rc = 0; /* no dump yet: an empty start */
    }
    if (rc != 0) {
        dump_unlock(lock);
        return rc;
    }
    *out = loaded;
    return 0;
}
