#include "aof.h"

#include "cmd.h"
#include "file.h"
#include "log.h"
#include "opts.h"
#include "reader.h"
#include "resp_reply.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void aof_add_command(buf_t *out, size_t argc, const resp_arg_t *argv)
{
    resp_add_array(out, argc);
    for (size_t i = 0; i < argc; i++)
        resp_add_bulk(out, argv[i].ptr, argv[i].len);
}

/* ==== Replaying ========================================================== */

/* Replays the command at r's cursor into s. The file holds only writes
 * that succeeded when they were made, so anything else is corruption: a
 * command that is not a write, or one whose replay fails. */
static int replay_command(reader_t *r, store_t *s, resp_arg_t **argv, size_t *cap, buf_t *reply)
{
    static const cmd_env_t no_env; /* write commands consult nothing */
    size_t start = r->off, argc;
    char found[160];

    int rc = reader_command(r, argv, cap, RESP_ARRAY_MAX, &argc);
    if (rc != 0)
        return rc;
    const cmd_t *cmd = cmd_find(argc, *argv);
    reader_quote((*argv)[0].ptr, (*argv)[0].len, 16, found, sizeof found);
    if (cmd == NULL || !(cmd->flags & CMD_WRITE) || (cmd->flags & CMD_SLOW))
        return reader_corrupt(r, start, "expected a write command, found %s", found);
    if (!cmd_arity_ok(cmd, argc))
        return reader_corrupt(r, start, "%s with the wrong number of arguments", found);
    buf_clear(reply);
    cmd_call(cmd, argc, *argv, s, &no_env, reply, NULL);
    if (reply->len > 0 && reply->data[0] == '-') {
        reader_quote(reply->data + 1, reply->len - 3, 64, found, sizeof found);
        return reader_corrupt(r, start, "'%s' fails when replayed: %s", cmd->name, found);
    }
    return 0;
}

/* Cuts the file at path to len bytes, durably. */
static int truncate_file(const char *path, uint64_t len, char *err, size_t errlen)
{
    int rc = 0;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ftruncate(fd, (off_t)len) != 0 || fsync(fd) != 0) {
        rc = -errno;
        file_set_err(err, errlen, "%s: cannot truncate it to %" PRIu64 " bytes: %s", path, len,
                     strerror(errno));
    }
    if (fd >= 0)
        close(fd);
    return rc;
}

int aof_load(const char *path, store_t *s, aof_loaded_t *info, char *err, size_t errlen)
{
    buf_t data, reply;
    resp_arg_t *argv = NULL;
    size_t cap = 0;

    memset(info, 0, sizeof *info);
    buf_init(&data);
    buf_init(&reply);
    int rc = file_read_all(path, &data);
    if (rc == -ENOENT)
        return 0; /* no file yet: an empty store, appends start at 0 */
    if (rc < 0) {
        file_set_err(err, errlen, "%s: cannot read it: %s", path, strerror(-rc));
        buf_free(&data); /* file_read_all() may have sized it before failing */
        return rc;
    }
    reader_t r = {
        .path = path,
        .data = data.data,
        .len = data.len,
        .end_name = "the end of the file",
        .err = err,
        .errlen = errlen,
    };
    while (rc == 0 && r.off < r.len) {
        size_t start = r.off;
        rc = replay_command(&r, s, &argv, &cap, &reply);
        if (rc == 0) {
            info->commands++;
        } else if (r.ran_out) { /* a crash cut the last command short */
            info->cut_at = start;
            info->cut_len = r.len - start;
            rc = truncate_file(path, start, err, errlen);
            r.len = start;
        }
    }
    info->size = r.len;
    free(argv);
    buf_free(&reply);
    buf_free(&data);
    return rc;
}

/* ==== Writing and syncing ================================================ */

int aof_open(aof_t *a, const char *path, int delay_ms)
{
    a->path = path;
    a->delay_ms = delay_ms;
    a->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    return a->fd < 0 ? -errno : 0;
}

int aof_write(aof_t *a, const void *data, size_t len)
{
    return file_write_all(a->fd, data, len);
}

int aof_sync(aof_t *a)
{
    int rc;
    do
        rc = fdatasync(a->fd);
    while (rc != 0 && errno == EINTR);
    if (rc != 0)
        return -errno;
    if (a->delay_ms > 0) {
        struct timespec ts = {a->delay_ms / 1000, (long)(a->delay_ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    }
    return 0;
}

void aof_close(aof_t *a)
{
    if (a->fd >= 0)
        close(a->fd);
    a->fd = -1;
}

void aof_fail(const aof_t *a, const char *what, int err)
{
    log_error("%s: %s failed: %s; writes it covered may not be on disk, and none of them is "
              "answered: exiting",
              a->path, what, strerror(-err));
    exit(AOF_EXIT_STATUS);
}

/* ==== INFO =============================================================== */

void aof_info(buf_t *out, const aof_stats_t *st)
{
    buf_printf(out, "aof_enabled:1\r\n");
    buf_printf(out, "aof_fsync:%s\r\n", st->fsync);
    buf_printf(out, "aof_appended_offset:%" PRIu64 "\r\n", st->appended);
    buf_printf(out, "aof_written_offset:%" PRIu64 "\r\n", st->written);
    buf_printf(out, "aof_synced_offset:%" PRIu64 "\r\n", st->synced);
    buf_printf(out, "aof_fsyncs:%" PRIu64 "\r\n", st->fsyncs);
    buf_printf(out, "aof_fsync_max_us:%" PRIu64 "\r\n", st->fsync_max_us);
}

const char *aof_fsync_name(int appendfsync)
{
    switch (appendfsync) {
    case OPTS_APPENDFSYNC_ALWAYS:
        return "always";
    case OPTS_APPENDFSYNC_NO:
        return "no";
    default:
        return "everysec";
    }
}
