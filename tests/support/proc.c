#include "proc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

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
