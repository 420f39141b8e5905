#include "writers.h"

#include "client.h"
#include "harness.h"

#include "buf.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void writer_key(char *out, size_t cap, int id, long long n)
{
    snprintf(out, cap, "w%d:%lld", id, n);
}

static void writer_value(char *out, size_t cap, int id, long long n)
{
    snprintf(out, cap, "value-%d-%lld", id, n);
}

/* One batch: WRITER_BATCH SETs from n on, and the hot key's. Returns 0, or
 * a negative errno when the connection broke. */
static int write_batch(writer_t *w, int fd, long long n)
{
    const char *hot_key = w->group->hot_key;
    buf_t req = BUF_INIT, reply = BUF_INIT;
    char key[64], value[64];
    for (int i = 0; i < WRITER_BATCH; i++) {
        writer_key(key, sizeof key, w->id, n + i);
        writer_value(value, sizeof value, w->id, n + i);
        const char *argv[] = {"SET", key, value};
        client_format_command(&req, 3, argv, NULL);
    }
    if (hot_key != NULL) {
        writer_value(value, sizeof value, w->id, n);
        const char *argv[] = {"SET", hot_key, value};
        client_format_command(&req, 3, argv, NULL);
    }
    int replies = WRITER_BATCH + (hot_key != NULL);
    int rc = client_send(fd, req.data, req.len);
    for (int i = 0; rc == 0 && i < replies; i++) {
        buf_clear(&reply);
        rc = client_read_reply(fd, &reply, CLIENT_TIMEOUT_MS);
        if (rc == 0 && reply.len == 5 && memcmp(reply.data, "+OK\r\n", 5) == 0) {
            if (i < WRITER_BATCH)
                atomic_fetch_add(&w->sets, 1);
        } else if (rc == 0) {
            atomic_fetch_add(&w->errors, 1);
        }
    }
    buf_free(&req);
    buf_free(&reply);
    return rc;
}

static void *writer_main(void *arg)
{
    writer_t *w = arg;
    int fd = client_connect(w->group->port);
    if (fd < 0) {
        atomic_fetch_add(&w->errors, 1);
        return NULL;
    }
    while (!atomic_load(&w->group->stop)) {
        if (write_batch(w, fd, atomic_load(&w->sets)) != 0) {
            atomic_fetch_add(&w->errors, 1);
            break;
        }
        if (w->group->pause_ms > 0)
            poll(NULL, 0, w->group->pause_ms);
    }
    close(fd);
    return NULL;
}

int writers_start(writers_t *ws, int port, int count, int pause_ms, const char *hot_key)
{
    if (count < 1 || count > WRITERS_MAX)
        return -EINVAL;
    memset(ws, 0, sizeof *ws);
    ws->port = port;
    ws->count = count;
    ws->pause_ms = pause_ms;
    ws->hot_key = hot_key;
    for (int i = 0; i < count; i++) {
        ws->w[i].group = ws;
        ws->w[i].id = i;
        int rc = pthread_create(&ws->w[i].tid, NULL, writer_main, &ws->w[i]);
        if (rc != 0) {
            ws->count = i;
            writers_stop(ws);
            return -rc;
        }
    }
    return 0;
}

void writers_stop(writers_t *ws)
{
    atomic_store(&ws->stop, 1);
    for (int i = 0; i < ws->count; i++)
        pthread_join(ws->w[i].tid, NULL);
}

int writers_progress(writers_t *ws, const long long *floor, int timeout_ms)
{
    long long deadline = harness_now_ms() + timeout_ms;
    for (int i = 0; i < ws->count; i++) {
        while (atomic_load(&ws->w[i].sets) <= floor[i] && atomic_load(&ws->w[i].errors) == 0) {
            if (harness_now_ms() >= deadline)
                return -1;
            poll(NULL, 0, 1);
        }
    }
    return 0;
}

long long writers_sets(writers_t *ws)
{
    long long sum = 0;
    for (int i = 0; i < ws->count; i++)
        sum += atomic_load(&ws->w[i].sets);
    return sum;
}

long long writers_errors(writers_t *ws)
{
    long long sum = 0;
    for (int i = 0; i < ws->count; i++)
        sum += atomic_load(&ws->w[i].errors);
    return sum;
}

/* GETs keys from..end-1 of writer w on fd: the number not as SET. */
static long long check_store_range(writer_t *w, int fd, long long from, long long end)
{
    buf_t req = BUF_INIT, expected = BUF_INIT, reply = BUF_INIT;
    for (long long n = from; n < end; n++) {
        char key[64], value[64];
        writer_key(key, sizeof key, w->id, n);
        writer_value(value, sizeof value, w->id, n);
        const char *argv[] = {"GET", key};
        client_format_command(&req, 2, argv, NULL);
        buf_printf(&expected, "$%zu\r\n%s\r\n", strlen(value), value);
    }
    int rc = client_send(fd, req.data, req.len);
    for (long long n = from; rc == 0 && n < end; n++)
        rc = client_read_reply(fd, &reply, CLIENT_TIMEOUT_MS); /* replies accumulate */
    int same = rc == 0 && reply.len == expected.len &&
               memcmp(reply.data, expected.data, expected.len) == 0;
    buf_free(&req);
    buf_free(&expected);
    buf_free(&reply);
    return same ? 0 : end - from;
}

long long writers_check_store(writers_t *ws, int fd)
{
    long long wrong = 0;
    for (int i = 0; i < ws->count; i++) {
        long long sets = atomic_load(&ws->w[i].sets);
        for (long long n = 0; n < sets; n += 500)
            wrong += check_store_range(&ws->w[i], fd, n, n + 500 < sets ? n + 500 : sets);
    }
    return wrong;
}

long long writers_check_snapshot(writers_t *ws, const store_t *s, const long long *floor,
                                 size_t *found)
{
    long long wrong = 0;
    for (int i = 0; i < ws->count; i++) {
        long long sets = atomic_load(&ws->w[i].sets);
        long long k = -1; /* the first key missing: keys k.. must all be missing */
        /* A batch past the acknowledged ones, to see any that should not be there. */
        for (long long n = 0; n < sets + WRITER_BATCH; n++) {
            char key[64], value[64];
            const char *v;
            size_t vlen;
            writer_key(key, sizeof key, i, n);
            writer_value(value, sizeof value, i, n);
            int present = store_get(s, key, strlen(key), &v, &vlen) == 0;
            if (!present) {
                if (k < 0)
                    k = n;
                continue;
            }
            *found += 1;
            wrong += k >= 0 || n >= sets || vlen != strlen(value) || memcmp(v, value, vlen) != 0;
        }
        if (k < 0)
            k = sets + WRITER_BATCH;
        wrong += floor != NULL && k < floor[i];
    }
    return wrong;
}
