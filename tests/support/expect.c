#include "expect.h"

#include "client.h"
#include "harness.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MESSAGE_MAX 512 /* the condition text CUnit reports */
#define SHOWN_MAX   200 /* bytes of a request or reply shown in a message */

void expect_teardown(void)
{
    int left = server_kill_leftovers();
    if (left > 0)
        fprintf(stderr, "expect: killed %d server(s) the test left running\n", left);
}

void expect_escape(const char *p, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char tmp[8];
        unsigned char c = (unsigned char)p[i];
        if (c == '\r')
            snprintf(tmp, sizeof tmp, "\\r");
        else if (c == '\n')
            snprintf(tmp, sizeof tmp, "\\n");
        else if (c == '\\' || c == '"')
            snprintf(tmp, sizeof tmp, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            snprintf(tmp, sizeof tmp, "\\x%02x", c);
        else
            snprintf(tmp, sizeof tmp, "%c", c);
        size_t n = strlen(tmp);
        if (o + n + 4 > cap) {
            snprintf(out + o, cap - o, "...");
            return;
        }
        memcpy(out + o, tmp, n);
        o += n;
    }
    out[o] = '\0';
}

/* Records one assertion at the caller's line; fatal ones end the test. */
static CU_BOOL check(CU_BOOL ok, const char *file, unsigned line, CU_BOOL fatal, const char *fmt,
                     ...) __attribute__((format(printf, 5, 6)));

static CU_BOOL check(CU_BOOL ok, const char *file, unsigned line, CU_BOOL fatal, const char *fmt,
                     ...)
{
    char message[MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    if (!ok)
        fprintf(stderr, "\n%s:%u: %s\n", file, line, message);
    return CU_assertImplementation(ok, line, message, file, "", fatal);
}

void expect_server_start_at(const char *file, unsigned line, test_server_t *s,
                            const char *const *args)
{
    int rc = server_start(s, server_binary(), args);
    check(rc == 0, file, line, CU_TRUE, "server_start(%s): %s", server_binary(), strerror(-rc));
}

CU_BOOL expect_clean_stop_at(const char *file, unsigned line, test_server_t *s)
{
    int rc = server_stop(s, SIGTERM, EXPECT_STOP_TIMEOUT_MS);
    return check(rc == 0, file, line, CU_FALSE, "server exits 0 within %d ms of SIGTERM (got %d%s)",
                 EXPECT_STOP_TIMEOUT_MS, rc, rc == -ETIMEDOUT ? ": timed out" : "");
}

int expect_connect_at(const char *file, unsigned line, int port)
{
    int fd = client_connect(port);
    check(fd >= 0, file, line, CU_TRUE, "connect to port %d: %s", port,
          fd < 0 ? strerror(-fd) : "ok");
    return fd;
}

CU_BOOL expect_reply_at(const char *file, unsigned line, int fd, const char *request,
                        size_t request_len, const char *expected, size_t expected_len)
{
    char req[SHOWN_MAX], exp[SHOWN_MAX], got[SHOWN_MAX];
    buf_t reply = BUF_INIT;
    int rc = 0;

    expect_escape(request != NULL ? request : "", request_len, req, sizeof req);
    if (request != NULL)
        rc = client_send(fd, request, request_len);
    /* Whole replies until there are at least as many bytes as expected:
     * enough to compare, and a wrong reply shows up whole. */
    while (rc == 0 && reply.len < expected_len)
        rc = client_read_reply(fd, &reply, CLIENT_TIMEOUT_MS);
    CU_BOOL ok = rc == 0 && reply.len == expected_len &&
                 (expected_len == 0 || memcmp(reply.data, expected, expected_len) == 0);
    expect_escape(expected, expected_len, exp, sizeof exp);
    expect_escape(reply.data != NULL ? reply.data : "", reply.len, got, sizeof got);
    ok = check(ok, file, line, CU_FALSE, "request \"%s\": expected \"%s\", got \"%s\"%s%s", req,
               exp, got, rc != 0 ? ", then " : "", rc != 0 ? strerror(-rc) : "");
    buf_free(&reply);
    return ok;
}

CU_BOOL expect_closed_at(const char *file, unsigned line, int fd)
{
    int rc = client_wait_closed(fd, CLIENT_TIMEOUT_MS);
    return check(rc == 0, file, line, CU_FALSE, "server closes the connection (got %s)",
                 rc == -EPROTO ? "more bytes" : strerror(-rc));
}

CU_BOOL expect_silent_at(const char *file, unsigned line, int fd, int ms)
{
    int readable = client_readable(fd, ms);
    return check(!readable, file, line, CU_FALSE, "nothing arrives for %d ms", ms);
}

long long expect_info_field_at(const char *file, unsigned line, int fd, const char *field)
{
    long long value = 0;
    int rc = client_info_field(fd, field, &value);
    check(rc == 0, file, line, CU_TRUE, "INFO has a numeric field %s (%s)", field,
          rc == 0 ? "ok" : strerror(-rc));
    return value;
}

void expect_connect_many_at(const char *file, unsigned line, int port, int *fds, int n, int ping)
{
    for (int i = 0; i < n; i++)
        fds[i] = -1;
    for (int i = 0; i < n; i++) {
        fds[i] = client_connect(port);
        if (!check(fds[i] >= 0, file, line, CU_FALSE, "connect client %d of %d: %s", i + 1, n,
                   fds[i] < 0 ? strerror(-fds[i]) : "ok"))
            break;
        if (ping && !expect_reply_at(file, line, fds[i], "PING\r\n", 6, "+PONG\r\n", 7))
            break;
    }
}

CU_BOOL expect_info_reaches_at(const char *file, unsigned line, int fd, const char *field,
                               long long value, int timeout_ms)
{
    long long deadline = harness_now_ms() + timeout_ms;
    long long last = 0;
    int rc;
    for (;;) {
        rc = client_info_field(fd, field, &last);
        if ((rc == 0 && last == value) || rc == -ENOENT || harness_now_ms() >= deadline)
            break;
        poll(NULL, 0, 10);
    }
    return check(rc == 0 && last == value, file, line, CU_FALSE,
                 "INFO's %s reaches %lld within %d ms (last seen: %lld, %s)", field, value,
                 timeout_ms, last, rc == 0 ? "ok" : strerror(-rc));
}
