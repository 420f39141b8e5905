#include "server.h"

#include "client.h"
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define START_TIMEOUT_MS 10000
#define MAX_ARGS         32
#define MAX_LIVE         64

/* Servers started and not yet reaped, for server_kill_leftovers(). */
static pid_t live[MAX_LIVE];

static void live_add(pid_t pid)
{
    for (int i = 0; i < MAX_LIVE; i++) {
        if (live[i] == 0) {
            live[i] = pid;
            return;
        }
    }
}

static void live_remove(pid_t pid)
{
    for (int i = 0; i < MAX_LIVE; i++)
        if (live[i] == pid)
            live[i] = 0;
}

const char *server_binary(void)
{
    if (harness_argc > 1)
        return harness_argv[1];
    const char *env = getenv("TEST_SERVER");
    if (env != NULL && *env != '\0')
        return env;
    fprintf(stderr, "usage: %s SERVER_BINARY (or set TEST_SERVER)\n",
            harness_argv ? harness_argv[0] : "suite");
    exit(2);
}

/* Reads the child's stdout until the listening line, or the deadline. */
static int read_port(int fd, int *port)
{
    char line[256];
    size_t len = 0;
    long long deadline = harness_now_ms() + START_TIMEOUT_MS;

    while (len < sizeof line - 1) {
        long long left = deadline - harness_now_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int rc = poll(&pfd, 1, (int)left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return rc == 0 ? -ETIMEDOUT : -errno;
        ssize_t n = read(fd, line + len, 1);
        if (n <= 0)
            return -EPIPE; /* the server exited before it listened */
        if (line[len] == '\n') {
            line[len] = '\0';
            const char *colon = strrchr(line, ':');
            if (strncmp(line, "listening on ", 13) != 0 || colon == NULL)
                return -EPROTO;
            *port = atoi(colon + 1);
            return *port > 0 ? 0 : -EPROTO;
        }
        len++;
    }
    return -EPROTO;
}

/* In the child: the limits of server_start_limited(), if any. */
static void apply_fd_limits(const server_fd_limits_t *lim)
{
    if (lim == NULL)
        return;
    for (int i = 0; i < lim->inherited; i++)
        open("/dev/null", O_RDONLY); /* no O_CLOEXEC: the server inherits them */
    struct rlimit rl = {.rlim_cur = (rlim_t)lim->nofile, .rlim_max = (rlim_t)lim->nofile};
    setrlimit(RLIMIT_NOFILE, &rl);
}

/* Starts binary --port 0 extra_args with its stdout on stdout_fd, and the
 * limits lim (may be NULL). Returns the child's pid or a negative errno. */
static pid_t spawn(const char *binary, const char *const *extra_args, int stdout_fd,
                   const server_fd_limits_t *lim)
{
    const char *argv[MAX_ARGS + 4];
    int argc = 0;

    argv[argc++] = binary;
    argv[argc++] = "--port";
    argv[argc++] = "0";
    for (int i = 0; extra_args != NULL && extra_args[i] != NULL && i < MAX_ARGS; i++)
        argv[argc++] = extra_args[i];
    argv[argc] = NULL;

    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        /* A test that dies (a crash, the harness's time limit) must not
         * leave its server running. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        dup2(stdout_fd, STDOUT_FILENO);
        /* The test binary ignores SIGPIPE; the server must start with the
         * default disposition, like any process started from a shell. */
        signal(SIGPIPE, SIG_DFL);
        alarm(0);
        apply_fd_limits(lim);
        execv(binary, (char *const *)argv);
        fprintf(stderr, "cannot run %s: %s\n", binary, strerror(errno));
        _exit(127);
    }
    return pid;
}

int server_start_limited(test_server_t *s, const char *binary, const char *const *extra_args,
                         const server_fd_limits_t *lim)
{
    int pipefd[2];

    if (pipe2(pipefd, O_CLOEXEC) != 0)
        return -errno;
    pid_t pid = spawn(binary, extra_args, pipefd[1], lim);
    close(pipefd[1]);
    if (pid < 0) {
        close(pipefd[0]);
        return (int)pid;
    }
    s->pid = pid;
    s->port = 0;
    int rc = read_port(pipefd[0], &s->port);
    /* The server prints nothing to stdout after the listening line, so the
     * pipe has done its job. */
    close(pipefd[0]);
    if (rc != 0) {
        fprintf(stderr, "server %s did not start: %s\n", binary, strerror(-rc));
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        s->pid = 0;
        return rc;
    }
    live_add(pid);
    return 0;
}

int server_start(test_server_t *s, const char *binary, const char *const *extra_args)
{
    return server_start_limited(s, binary, extra_args, NULL);
}

/* Waits up to timeout_ms for pid to exit; kills it at the deadline. */
static int wait_exit(pid_t pid, int timeout_ms)
{
    long long deadline = harness_now_ms() + timeout_ms;
    int status;

    for (;;) {
        pid_t rc = waitpid(pid, &status, WNOHANG);
        if (rc == pid)
            break;
        if (rc < 0 && errno != EINTR)
            return -errno;
        if (harness_now_ms() >= deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return -ETIMEDOUT;
        }
        poll(NULL, 0, 10);
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}

int server_wait(test_server_t *s, int timeout_ms)
{
    int rc = wait_exit(s->pid, timeout_ms);
    live_remove(s->pid);
    s->pid = 0;
    return rc;
}

int server_stop(test_server_t *s, int sig, int timeout_ms)
{
    if (s->pid <= 0)
        return -ESRCH;
    kill(s->pid, sig);
    return server_wait(s, timeout_ms);
}

int server_run_to_exit(const char *binary, const char *const *extra_args, int timeout_ms)
{
    int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null_fd < 0)
        return -errno;
    pid_t pid = spawn(binary, extra_args, null_fd, NULL);
    close(null_fd);
    if (pid < 0)
        return (int)pid;
    return wait_exit(pid, timeout_ms);
}

int server_kill_leftovers(void)
{
    int count = 0;
    for (int i = 0; i < MAX_LIVE; i++) {
        if (live[i] == 0)
            continue;
        kill(live[i], SIGKILL);
        waitpid(live[i], NULL, 0);
        live[i] = 0;
        count++;
    }
    return count;
}
