#include "client.h"

#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

int client_connect(int port)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        int err = errno;
        close(fd);
        return -err;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    /* A bound on blocking sends too: a server that stops reading must not
     * hang a test. */
    struct timeval tv = {.tv_sec = CLIENT_TIMEOUT_MS / 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
}

int client_send(int fd, const void *p, size_t len)
{
    const char *bytes = p;
    while (len > 0) {
        ssize_t n = send(fd, bytes, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? -ETIMEDOUT : -errno;
        }
        bytes += n;
        len -= (size_t)n;
    }
    return 0;
}

int client_send_str(int fd, const char *s)
{
    return client_send(fd, s, strlen(s));
}

int client_readable(int fd, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int rc;
    do {
        rc = poll(&pfd, 1, timeout_ms);
    } while (rc < 0 && errno == EINTR);
    return rc > 0;
}

/* Reads what is there (at most len) within the time left until deadline. */
static ssize_t recv_some(int fd, void *p, size_t len, long long deadline)
{
    long long left = deadline - harness_now_ms();
    if (left <= 0 || !client_readable(fd, (int)left))
        return -ETIMEDOUT;
    ssize_t n;
    do {
        n = recv(fd, p, len, 0);
    } while (n < 0 && errno == EINTR);
    if (n == 0)
        return -EPIPE;
    return n < 0 ? -errno : n;
}

int client_recv_exact(int fd, void *p, size_t len, int timeout_ms)
{
    long long deadline = harness_now_ms() + timeout_ms;
    char *bytes = p;
    while (len > 0) {
        ssize_t n = recv_some(fd, bytes, len, deadline);
        if (n < 0)
            return (int)n;
        bytes += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads one line, CRLF included, byte by byte (replies' header lines are
 * short; bulk payloads are read in one go by the caller). */
static int read_line(int fd, buf_t *out, long long deadline)
{
    for (;;) {
        char c;
        ssize_t n = recv_some(fd, &c, 1, deadline);
        if (n < 0)
            return (int)n;
        buf_append(out, &c, 1);
        if (c == '\n' && out->len >= 2 && out->data[out->len - 2] == '\r')
            return 0;
    }
}

static int read_reply(int fd, buf_t *out, long long deadline, int depth)
{
    size_t start = out->len;
    int rc = read_line(fd, out, deadline);
    if (rc != 0)
        return rc;
    char type = out->data[start];
    long long n = strtoll(out->data + start + 1, NULL, 10);

    switch (type) {
    case '+':
    case '-':
    case ':':
        return 0;
    case '$':
        if (n < 0)
            return 0;
        buf_reserve(out, (size_t)n + 2);
        rc = client_recv_exact(fd, out->data + out->len, (size_t)n + 2,
                               (int)(deadline - harness_now_ms()));
        if (rc == 0)
            out->len += (size_t)n + 2;
        return rc;
    case '*':
        if (depth > 8)
            return -EPROTO;
        for (long long i = 0; i < n; i++) {
            rc = read_reply(fd, out, deadline, depth + 1);
            if (rc != 0)
                return rc;
        }
        return 0;
    default:
        return -EPROTO;
    }
}

int client_read_reply(int fd, buf_t *out, int timeout_ms)
{
    return read_reply(fd, out, harness_now_ms() + timeout_ms, 0);
}

int client_wait_closed(int fd, int timeout_ms)
{
    char c;
    long long deadline = harness_now_ms() + timeout_ms;
    ssize_t n = recv_some(fd, &c, 1, deadline);
    if (n == -EPIPE || n == -ECONNRESET)
        return 0;
    if (n > 0)
        return -EPROTO;
    return (int)n;
}

int client_roundtrip(int fd, const char *request, buf_t *reply)
{
    int rc = client_send_str(fd, request);
    return rc != 0 ? rc : client_read_reply(fd, reply, CLIENT_TIMEOUT_MS);
}

void client_close_all(int *fds, int n)
{
    for (int i = 0; i < n; i++) {
        if (fds[i] >= 0)
            close(fds[i]);
        fds[i] = -1;
    }
}

void client_reset(int fd)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

void client_format_command(buf_t *out, size_t argc, const char *const *argv, const size_t *lens)
{
    buf_printf(out, "*%zu\r\n", argc);
    for (size_t i = 0; i < argc; i++) {
        size_t len = lens != NULL ? lens[i] : strlen(argv[i]);
        buf_printf(out, "$%zu\r\n", len);
        buf_append(out, argv[i], len);
        buf_append(out, "\r\n", 2);
    }
}

const char *client_info_find(const char *text, const char *field)
{
    size_t flen = strlen(field);
    /* Every field starts a line: look for "\nfield:". */
    for (const char *p = strchr(text, '\n'); p != NULL; p = strchr(p + 1, '\n'))
        if (strncmp(p + 1, field, flen) == 0 && p[1 + flen] == ':')
            return p + 2 + flen;
    return NULL;
}

int client_info_field(int fd, const char *field, long long *value)
{
    buf_t reply = BUF_INIT;
    int rc = client_roundtrip(fd, "INFO\r\n", &reply);
    if (rc == 0) {
        buf_append(&reply, "", 1); /* a NUL, for the string functions */
        const char *v = client_info_find(reply.data, field);
        rc = -ENOENT;
        if (v != NULL) {
            char *end;
            *value = strtoll(v, &end, 10);
            rc = end != v && *end == '\r' ? 0 : -EPROTO;
        }
    }
    buf_free(&reply);
    return rc;
}

int client_info_string(int fd, const char *field, char *out, size_t cap)
{
    buf_t reply = BUF_INIT;
    int rc = client_roundtrip(fd, "INFO\r\n", &reply);
    if (rc == 0) {
        buf_append(&reply, "", 1);
        const char *v = client_info_find(reply.data, field);
        rc = -ENOENT;
        if (v != NULL) {
            size_t n = strcspn(v, "\r");
            rc = n < cap ? 0 : -ENOSPC;
            if (rc == 0) {
                memcpy(out, v, n);
                out[n] = '\0';
            }
        }
    }
    buf_free(&reply);
    return rc;
}

#define CENSUS_SETTLE_MS 500 /* for the server to accept, or refuse, them all */

/* Sorts fd into census: by what it was sent unasked (a refusal, a close),
 * or else by the answer to a PING. Reading first, so that a PING sent to a
 * socket the server has closed cannot reset the refusal away. */
static void census_one(int fd, client_census_t *census)
{
    buf_t reply = BUF_INIT;
    int rc = client_readable(fd, 0) ? client_read_reply(fd, &reply, CLIENT_TIMEOUT_MS)
                                    : client_roundtrip(fd, "PING\r\n", &reply);
    if (rc == 0 && reply.len == 7 && memcmp(reply.data, "+PONG\r\n", 7) == 0)
        census->served++;
    else if (rc == 0 && reply.len > 0 && reply.data[0] == '-' &&
             client_wait_closed(fd, CLIENT_TIMEOUT_MS) == 0)
        census->refused++;
    else if (reply.len == 0 && (rc == -EPIPE || rc == -ECONNRESET))
        census->silent++;
    else
        census->other++;
    buf_free(&reply);
}

int client_census(int port, int n, client_census_t *census)
{
    int *fds = calloc((size_t)n, sizeof *fds);
    if (fds == NULL)
        return -ENOMEM;
    *census = (client_census_t){0};
    int rc = 0;
    for (int i = 0; i < n; i++) {
        fds[i] = client_connect(port);
        if (fds[i] < 0 && rc == 0)
            rc = fds[i];
    }
    if (rc == 0)
        poll(NULL, 0, CENSUS_SETTLE_MS);
    for (int i = 0; i < n && rc == 0; i++)
        census_one(fds[i], census);
    client_close_all(fds, n);
    free(fds);
    return rc;
}

/* Raises this process's soft limit on open files to the hard limit and
 * returns the soft limit. */
static long long raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur == RLIM_INFINITY ? 1 << 20 : (long long)rl.rlim_cur;
}

int client_fd_budget(int want)
{
    long long limit = raise_fd_limit() - 100;
    if (limit < want) {
        fprintf(stderr, "(fd limit: %d connections instead of %d) ", (int)limit, want);
        return limit > 0 ? (int)limit : 1;
    }
    return want;
}
