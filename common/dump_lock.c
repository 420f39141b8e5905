#include "dump_lock.h"

#include "alloc.h"
#include "dump.h"
#include "file.h"
#include "log.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

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
        file_set_err(err, errlen, "%s: cannot open its lock file %s: %s", path, lp, strerror(-rc));
    } else if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
        long holder = rc == -EBUSY ? read_holder(fd) : 0;
        if (rc != -EBUSY)
            file_set_err(err, errlen, "%s: cannot lock %s: %s", path, lp, strerror(-rc));
        else if (holder > 0)
            file_set_err(err, errlen,
                         "%s is in use by another server (process %ld holds %s): stop it first, "
                         "or use another dump file",
                         path, holder, lp);
        else
            file_set_err(err, errlen,
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

/* 1 when name is "<base>" TMP_SUFFIX followed by exactly DUMP_TMP_RANDOM
 * letters or digits: what mkostemp() makes of dump_write_file()'s
 * template. */
static int is_stale_name(const char *name, const char *base, size_t blen)
{
    if (strncmp(name, base, blen) != 0 ||
        strncmp(name + blen, DUMP_TMP_SUFFIX, (sizeof DUMP_TMP_SUFFIX - 1)) != 0)
        return 0;
    const char *x = name + blen + (sizeof DUMP_TMP_SUFFIX - 1);
    for (int i = 0; i < DUMP_TMP_RANDOM; i++) {
        char c = x[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return 0;
    }
    return x[DUMP_TMP_RANDOM] == '\0';
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

    int dfd = file_open_dir_of(path);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (d == NULL) {
        int rc = -errno;
        if (dfd >= 0)
            close(dfd);
        file_set_err(err, errlen, "%s: cannot read its directory: %s", path, strerror(-rc));
        return rc;
    }
    int removed = 0, rc = 0;
    for (;;) {
        errno = 0;
        const struct dirent *de = readdir(d);
        if (de == NULL) {
            rc = -errno; /* 0 at the end of the directory */
            if (rc != 0)
                file_set_err(err, errlen, "%s: cannot read its directory: %s", path, strerror(-rc));
            break;
        }
        struct stat st;
        if (!is_stale_name(de->d_name, base, blen) ||
            fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (unlinkat(dirfd(d), de->d_name, 0) != 0 && errno != ENOENT) {
            rc = -errno;
            file_set_err(err, errlen, "%s: cannot remove %.*s%s, left by an interrupted save: %s",
                         path, dirlen, path, de->d_name, strerror(-rc));
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
