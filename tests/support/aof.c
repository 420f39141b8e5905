#include "aof.h"

#include "client.h"
#include "fixture.h"
#include "harness.h"
#include "server_log.h"

#include "buf.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *aoft_file(void)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/appendonly.aof", fixture_dir());
    return path;
}

const char *aoft_log(void)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/server.log", fixture_dir());
    return path;
}

/* The number after "field:" in text into *v; 0, or -1 when it is missing
 * or not a number. */
static int stats_number(const char *text, const char *field, long long *v)
{
    const char *p = client_info_find(text, field);
    if (p == NULL)
        return -1;
    char *end;
    *v = strtoll(p, &end, 10);
    return end != p && *end == '\r' ? 0 : -1;
}

void aoft_stats_at(const char *file, unsigned line, int fd, aoft_stats_t *st)
{
    static const char *const names[] = {"aof_appended_offset", "aof_written_offset",
                                        "aof_synced_offset", "aof_fsyncs"};
    long long *values[] = {&st->appended, &st->written, &st->synced, &st->fsyncs};
    char message[160] = "";
    buf_t reply = BUF_INIT;

    memset(st, 0, sizeof *st);
    int rc = client_roundtrip(fd, "INFO\r\n", &reply);
    buf_append(&reply, "", 1);
    if (rc != 0)
        snprintf(message, sizeof message, "INFO: %s", strerror(-rc));
    else if (stats_number(reply.data, "aof_enabled", &st->enabled) != 0)
        snprintf(message, sizeof message, "INFO has no aof_enabled line");
    for (size_t i = 0; message[0] == '\0' && st->enabled && i < 4; i++)
        if (stats_number(reply.data, names[i], values[i]) != 0)
            snprintf(message, sizeof message, "INFO has no numeric %s line", names[i]);
    const char *fsync = client_info_find(reply.data, "aof_fsync");
    if (message[0] == '\0' && st->enabled && fsync == NULL)
        snprintf(message, sizeof message, "INFO has no aof_fsync line");
    if (fsync != NULL)
        snprintf(st->fsync, sizeof st->fsync, "%.*s", (int)strcspn(fsync, "\r"), fsync);
    buf_free(&reply);
    if (message[0] != '\0')
        fprintf(stderr, "\n%s:%u: %s\n", file, line, message);
    CU_assertImplementation(message[0] == '\0', line, message[0] ? message : "AOFT_STATS", file, "",
                            CU_TRUE);
}

int aoft_loop_cmd(int fd, const char *name, aoft_loop_cmd_t *out)
{
    char field[64], text[128];
    snprintf(field, sizeof field, "loop_cmd_%s", name);
    int rc = client_info_string(fd, field, text, sizeof text);
    if (rc != 0)
        return rc;
    int used = 0;
    if (sscanf(text, "calls=%lld,usec=%lld,usec_max=%lld%n", &out->calls, &out->usec,
               &out->usec_max, &used) != 3 ||
        text[used] != '\0')
        return -EPROTO;
    return 0;
}

size_t aoft_record(buf_t *b, size_t argc, const char *const *argv)
{
    size_t before = b->len;
    client_format_command(b, argc, argv, NULL);
    return b->len - before;
}

/* Key number i of ks and its value, as keyset.c makes them. */
static void keyset_entry(const keyset_t *ks, long long i, char key[64], char value[128])
{
    snprintf(key, 64, "%s%lld", ks->key_prefix, i);
    snprintf(value, 128, "%s%lld", ks->value_prefix, i);
}

long long aoft_keyset_bytes(const keyset_t *ks)
{
    buf_t b = BUF_INIT;
    long long total = 0;
    for (long long i = ks->first; i < ks->first + ks->count; i++) {
        char key[64], value[128];
        keyset_entry(ks, i, key, value);
        buf_clear(&b);
        total += (long long)aoft_record(&b, 3, (const char *const[]){"SET", key, value});
    }
    buf_free(&b);
    return total;
}

#define CHECK_BATCH 100

long long aoft_keyset_missing(int fd, const keyset_t *ks)
{
    long long missing = 0, end = ks->first + ks->count;
    for (long long i = ks->first; i < end; i += CHECK_BATCH) {
        buf_t req = BUF_INIT;
        long long n = 0;
        for (long long j = i; j < i + CHECK_BATCH && j < end; j++, n++) {
            char key[64], value[128];
            keyset_entry(ks, j, key, value);
            buf_printf(&req, "GET %s\r\n", key);
        }
        int rc = client_send(fd, req.data, req.len);
        for (long long j = i; rc == 0 && j < i + n; j++) {
            char key[64], value[128], want[160];
            keyset_entry(ks, j, key, value);
            int wlen = snprintf(want, sizeof want, "$%zu\r\n%s\r\n", strlen(value), value);
            buf_t reply = BUF_INIT;
            rc = client_read_reply(fd, &reply, CLIENT_TIMEOUT_MS);
            missing +=
                rc == 0 && !(reply.len == (size_t)wlen && memcmp(reply.data, want, wlen) == 0);
            buf_free(&reply);
        }
        buf_free(&req);
        if (rc != 0)
            return -1;
    }
    return missing;
}

long long aoft_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

void aoft_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(data, 1, len, f), len);
    CU_ASSERT_EQUAL_FATAL(fclose(f), 0);
}

/* Whether a line of text holds a and b (b may be NULL). */
static int has_line(const char *text, const char *a, const char *b)
{
    for (const char *p = strstr(text, a); p != NULL; p = strstr(p + 1, a)) {
        const char *start = p, *end = strchr(p, '\n');
        while (start > text && start[-1] != '\n')
            start--;
        if (end == NULL)
            end = p + strlen(p);
        if (b == NULL)
            return 1;
        const char *q = strstr(start, b);
        if (q != NULL && q + strlen(b) <= end)
            return 1;
    }
    return 0;
}

int aoft_log_wait_line(const char *log_path, const char *a, const char *b, int timeout_ms)
{
    long long deadline = harness_now_ms() + timeout_ms;
    for (;;) {
        char *text = server_log_read(log_path);
        int found = text != NULL && has_line(text, a, b);
        free(text);
        if (found)
            return 1;
        if (harness_now_ms() >= deadline)
            return 0;
        poll(NULL, 0, 20);
    }
}
