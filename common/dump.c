#include "dump.h"

#include "alloc.h"
#include "crc64.h"
#include "file.h"
#include "reader.h"
#include "resp.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Writes, fsyncs and closes the temporary file behind fd (closed in every
 * case). Returns 0 or a negative errno. */
static int write_tmp(int fd, const void *data, size_t len)
{
    int rc = file_write_all(fd, data, len);
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
    int dir_fd = file_open_dir_of(path);
    if (dir_fd < 0)
        return -errno;

    /* mkostemp creates the file with mode 0600: a dump holds every key,
     * which is nobody else's business by default. */
    static const char suffix[] = DUMP_TMP_SUFFIX "XXXXXX";
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
    if (rc == 0 && fsync(dir_fd) != 0 && errno != EINVAL)
        rc = -errno;
    close(dir_fd);
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

/* Reads one SET command into s; keys counts them. */
static int read_set(reader_t *r, store_t *s, size_t *keys)
{
    size_t start = r->off;
    const char *key, *val;
    size_t klen, vlen;
    int rc = reader_expect(r, SET_HEAD, sizeof SET_HEAD - 1, "a SET command");
    if (rc == 0)
        rc = reader_bulk(r, "the key", &key, &klen);
    if (rc == 0)
        rc = reader_bulk(r, "the value", &val, &vlen);
    if (rc != 0)
        return rc;
    size_t before = store_count(s);
    store_set(s, key, klen, val, vlen);
    if (store_count(s) == before) /* the server never writes a key twice */
        return reader_corrupt(r, start,
                              "expected a SET of a key not set before, found a second one");
    (*keys)++;
    return 0;
}

/* Reads the trailer's text, r[off..len) being exactly that text. */
static int read_trailer_text(reader_t *r, uint64_t *keys, size_t *keys_off, uint64_t *crc)
{
    int rc = reader_expect(r, TRAILER_KEYS, sizeof TRAILER_KEYS - 1, "the trailer's text");
    *keys_off = r->off;
    if (rc == 0)
        rc = reader_number(r, "the key count", SIZE_MAX, keys);
    if (rc == 0)
        rc = reader_expect(r, TRAILER_CRC, sizeof TRAILER_CRC - 1, "after the key count");
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
            reader_describe(r, r->off, found, sizeof found);
            return reader_corrupt(
                r, r->off, "expected 16 lowercase hex digits (the checksum), found %s", found);
        }
        *crc = *crc << 4 | d;
    }
    if (r->off != r->len) {
        char found[160];
        reader_describe(r, r->off, found, sizeof found);
        return reader_corrupt(r, r->off, "expected the end of the trailer's text, found %s", found);
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
    int rc = reader_expect(r, TRAILER_HEAD, sizeof TRAILER_HEAD - 1, "the trailer");
    if (rc == 0)
        rc = reader_bulk(r, "the trailer's text", &text, &tlen);
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
        return reader_corrupt(
            r, keys_off,
            "expected the key count %zu (the SET commands before the trailer), found "
            "%" PRIu64,
            keys, stated_keys);
    if (r->off != r->len) {
        char found[160];
        reader_describe(r, r->off, found, sizeof found);
        return reader_corrupt(r, r->off,
                              "expected the end of the file after the trailer, found %zu more "
                              "byte(s): %s",
                              r->len - r->off, found);
    }
    uint64_t computed = crc64(r->data, start);
    if (computed != stated_crc) {
        file_set_err(r->err, r->errlen,
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
    int rc = reader_expect(r, DUMP_HEADER, sizeof DUMP_HEADER - 1,
                           "the header: magic and format version 1");
    size_t keys = 0;
    while (rc == 0) {
        if (reader_next_is(r, SET_HEAD, sizeof SET_HEAD - 1)) {
            rc = read_set(r, s, &keys);
        } else if (reader_next_is(r, TRAILER_HEAD, sizeof TRAILER_HEAD - 1)) {
            return read_trailer(r, keys);
        } else {
            char set[64], trailer[64], found[160];
            reader_quote(SET_HEAD, sizeof SET_HEAD - 1, SIZE_MAX, set, sizeof set);
            reader_quote(TRAILER_HEAD, sizeof TRAILER_HEAD - 1, SIZE_MAX, trailer, sizeof trailer);
            reader_describe(r, r->off, found, sizeof found);
            rc = reader_corrupt(r, r->off,
                                "expected a SET command (%s...) or the trailer (%s...), found %s",
                                set, trailer, found);
        }
    }
    return rc;
}

int dump_load(const char *path, store_t **out, char *err, size_t errlen)
{
    buf_t data = BUF_INIT;
    int rc = file_read_all(path, &data);
    if (rc != 0) {
        file_set_err(err, errlen, "%s: %s", path, strerror(-rc));
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
