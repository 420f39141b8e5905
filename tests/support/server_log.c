#include "server_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The child inherits the test's stderr at fork (see server.c), so the log
 * file stands in for it while the child is started. Returns the saved
 * stderr to give to stderr_restore(), or a negative errno. */
static int stderr_to_log(const char *log_path)
{
    int log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (log_fd < 0)
        return -errno;
    fflush(stderr);
    int saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    if (saved < 0) {
        int err = errno;
        close(log_fd);
        return -err;
    }
    dup2(log_fd, STDERR_FILENO); /* not close-on-exec: the child keeps it */
    close(log_fd);
    return saved;
}

static void stderr_restore(int saved)
{
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
}

int server_start_logged(test_server_t *s, const char *binary, const char *const *extra_args,
                        const char *log_path)
{
    int saved = stderr_to_log(log_path);
    if (saved < 0)
        return saved;
    int rc = server_start(s, binary, extra_args);
    stderr_restore(saved);
    return rc;
}

/* The test's own stderr points at the log until the child has exited:
 * server_run_to_exit() writes nothing to it meanwhile. */
int server_run_to_exit_logged(const char *binary, const char *const *extra_args, int timeout_ms,
                              const char *log_path)
{
    int saved = stderr_to_log(log_path);
    if (saved < 0)
        return saved;
    int rc = server_run_to_exit(binary, extra_args, timeout_ms);
    stderr_restore(saved);
    return rc;
}

/* Reads the whole file into a NUL-terminated string; NULL on failure. */
static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    size_t len = 0, cap = 4096;
    char *data = malloc(cap);
    size_t n;
    while (data != NULL && (n = fread(data + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            char *bigger = realloc(data, cap * 2);
            if (bigger == NULL) {
                free(data);
                data = NULL;
                break;
            }
            data = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (data != NULL)
        data[len] = '\0';
    return data;
}

char *server_log_read(const char *log_path)
{
    return read_all(log_path);
}

int server_log_contains(const char *log_path, const char *needle)
{
    char *text = read_all(log_path);
    if (text == NULL)
        return errno != 0 ? -errno : -ENOMEM;
    int found = strstr(text, needle) != NULL;
    free(text);
    return found;
}

void server_log_print(const char *log_path)
{
    char *text = read_all(log_path);
    fprintf(stderr, "\n---- server log %s ----\n%s---- end of server log ----\n", log_path,
            text != NULL ? text : "(cannot read it)\n");
    free(text);
}
