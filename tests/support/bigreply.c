#include "bigreply.h"

#include "client.h"
#include "harness.h"
#include "lag_probe.h"
#include "proc.h"

#include "buf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NONREADER_RCVBUF 4096

int bigreply_set(int fd, const char *key, size_t len, char fill)
{
    char *value = malloc(len > 0 ? len : 1);
    if (value == NULL)
        return -ENOMEM;
    memset(value, fill, len);
    buf_t req = BUF_INIT, reply = BUF_INIT;
    const char *argv[] = {"SET", key, value};
    size_t lens[] = {3, strlen(key), len};
    client_format_command(&req, 3, argv, lens);
    free(value);
    int rc = client_send(fd, req.data, req.len);
    if (rc == 0)
        rc = client_read_reply(fd, &reply, CLIENT_TIMEOUT_MS);
    if (rc == 0 && (reply.len != 5 || memcmp(reply.data, "+OK\r\n", 5) != 0))
        rc = -EPROTO;
    buf_free(&req);
    buf_free(&reply);
    return rc;
}

int bigreply_send_gets(int fd, const char *key, int count)
{
    buf_t req = BUF_INIT;
    for (int i = 0; i < count; i++)
        buf_printf(&req, "GET %s\r\n", key);
    int rc = client_send(fd, req.data, req.len);
    buf_free(&req);
    return rc;
}

/* PING on fd, keeping the slowest answer in *worst (-1: unanswered). */
static void timed_ping(int fd, long long *worst)
{
    buf_t reply = BUF_INIT;
    long long t0 = harness_now_ms();
    int rc = client_roundtrip(fd, "PING\r\n", &reply);
    long long took = harness_now_ms() - t0;
    if (rc != 0 || reply.len != 7 || memcmp(reply.data, "+PONG\r\n", 7) != 0)
        *worst = -1;
    else if (*worst >= 0 && took > *worst)
        *worst = took;
    buf_free(&reply);
}

/* True when reply is "$len\r\n", len bytes of fill, "\r\n". */
static int is_value_reply(const buf_t *reply, size_t len, char fill)
{
    char header[32];
    size_t hlen = (size_t)snprintf(header, sizeof header, "$%zu\r\n", len);
    if (reply->len != hlen + len + 2 || memcmp(reply->data, header, hlen) != 0)
        return 0;
    for (size_t i = hlen; i < hlen + len; i++)
        if (reply->data[i] != fill)
            return 0;
    return memcmp(reply->data + hlen + len, "\r\n", 2) == 0;
}

int bigreply_read(int fd, int count, size_t len, char fill, int timeout_ms, int ping_fd,
                  long long *worst_ping_ms)
{
    int good = 0;
    if (ping_fd >= 0) {
        *worst_ping_ms = 0;
        timed_ping(ping_fd, worst_ping_ms);
    }
    while (good < count) {
        buf_t reply = BUF_INIT;
        int rc = client_read_reply(fd, &reply, timeout_ms);
        int ok = rc == 0 && is_value_reply(&reply, len, fill);
        if (!ok)
            fprintf(stderr, "reply %d of %d: %s\n", good + 1, count,
                    rc != 0 ? strerror(-rc) : "wrong bytes");
        buf_free(&reply);
        if (!ok)
            break;
        good++;
        if (ping_fd >= 0)
            timed_ping(ping_fd, worst_ping_ms);
    }
    return good;
}

int bigreply_connect_nonreader(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int size = NONREADER_RCVBUF; /* set before connect(): it sizes the window */
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    struct timeval tv = {.tv_sec = CLIENT_TIMEOUT_MS / 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
}

#define NONREADER_POLL_MS 20

/* Times PINGs on other_fd until connected_clients falls to clients. */
static void watch_until_cut(int other_fd, long long clients, int timeout_ms,
                            bigreply_nonreader_t *r)
{
    long long t0 = harness_now_ms(), now = clients + 1;
    while (now > clients && harness_now_ms() - t0 < timeout_ms) {
        timed_ping(other_fd, &r->worst_ping_ms);
        if (r->worst_ping_ms < 0 || client_info_field(other_fd, "connected_clients", &now) != 0)
            return;
        if (now > clients)
            poll(NULL, 0, NONREADER_POLL_MS);
    }
    r->cut_off = now <= clients;
    r->cut_ms = harness_now_ms() - t0;
}

int bigreply_nonreader_run(pid_t pid, int port, int other_fd, const char *key, int gets,
                           int timeout_ms, bigreply_nonreader_t *r)
{
    long long clients = 0, peak_before = 0, peak_after = 0;
    *r = (bigreply_nonreader_t){0};
    int rc = client_info_field(other_fd, "connected_clients", &clients);
    if (rc == 0)
        rc = proc_status_field(pid, "VmHWM", &peak_before);
    int fd = rc == 0 ? bigreply_connect_nonreader(port) : rc;
    if (fd < 0)
        return fd;
    lag_probe_t probe;
    rc = lag_probe_start(&probe);
    if (rc == 0) {
        long long first_ping = 0; /* the server has it, and counts it: the last read */
        timed_ping(fd, &first_ping);
        rc = first_ping < 0 ? -EPROTO : bigreply_send_gets(fd, key, gets);
        if (rc == 0)
            watch_until_cut(other_fd, clients, timeout_ms, r);
        r->probe_late_ms = lag_probe_stop(&probe);
    }
    if (rc == 0)
        rc = proc_status_field(pid, "VmHWM", &peak_after);
    r->peak_growth_kb = peak_after - peak_before;
    close(fd);
    return rc;
}
