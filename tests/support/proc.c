#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int proc_status_field(pid_t pid, const char *field, long long *value)
{
    char path[64];
    char line[256];
    size_t flen = strlen(field);
    int rc = -ENOENT;

    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -errno;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
            rc = sscanf(line + flen + 1, "%lld", value) == 1 ? 0 : -EPROTO;
            break;
        }
    }
    fclose(f);
    return rc;
}

long long proc_rss_kb(pid_t pid)
{
    long long kb = 0;
    int rc = proc_status_field(pid, "VmRSS", &kb);
    return rc == 0 ? kb : rc;
}

int proc_lowest_free_fd(pid_t pid)
{
    enum { MAX_FDS = 4096 };
    static unsigned char used[MAX_FDS];
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
    DIR *dir = opendir(path);
    if (dir == NULL)
        return -errno;
    memset(used, 0, sizeof used);
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] != '.' && fd >= 0 && fd < MAX_FDS)
            used[fd] = 1;
    }
    closedir(dir);
    for (int fd = 0; fd < MAX_FDS; fd++)
        if (!used[fd])
            return fd;
    return -EMFILE;
}

/* The state letter in one /proc/.../stat file, or 0. */
static char stat_state(const char *path)
{
    char line[512];
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    char *ok = fgets(line, sizeof line, f);
    fclose(f);
    /* "tid (comm) S ...": comm may hold spaces and parentheses, so the
     * state follows the last ')'. */
    const char *p = ok != NULL ? strrchr(line, ')') : NULL;
    return p != NULL && p[1] == ' ' ? p[2] : 0;
}

int proc_threads_running(pid_t pid)
{
    char dir_path[64], path[384]; /* d_name is at most 255 bytes */
    snprintf(dir_path, sizeof dir_path, "/proc/%ld/task", (long)pid);
    DIR *dir = opendir(dir_path);
    if (dir == NULL)
        return -errno;
    int running = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s/stat", dir_path, e->d_name);
        running += stat_state(path) == 'R'; /* a thread gone meanwhile reads 0 */
    }
    closedir(dir);
    return running;
}

long long proc_cpu_ms(pid_t pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -errno;
    char *ok = fgets(line, sizeof line, f);
    fclose(f);
    /* After "pid (comm) ": state, then ten fields, then utime and stime
     * (fields 14 and 15 of proc(5)), in clock ticks. */
    const char *p = ok != NULL ? strrchr(line, ')') : NULL;
    unsigned long long utime, stime;
    if (p == NULL || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                            &stime) != 2)
        return -EPROTO;
    long ticks = sysconf(_SC_CLK_TCK);
    return (long long)((utime + stime) * 1000 / (unsigned long long)(ticks > 0 ? ticks : 100));
}
