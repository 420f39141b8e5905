/* The caller of resp_fixture.h: feeds a parser case as a real caller
 * does, on a schedule of deliveries, and checks what comes out. */

#include "resp_fixture.h"

#include "alloc.h"
#include "buf.h"
#include "harness.h"
#include "resp.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== Feeding a parser as a caller does =================================== */

static size_t next_avail(schedule_t *s, size_t avail, size_t n)
{
    size_t step = n;
    switch (s->kind) {
    case SCHED_WHOLE:
        break;
    case SCHED_SPLIT:
        step = avail < s->arg ? s->arg - avail : n;
        break;
    case SCHED_STEP:
        step = s->arg;
        break;
    case SCHED_RANDOM:
        s->seed ^= s->seed << 13;
        s->seed ^= s->seed >> 17;
        s->seed ^= s->seed << 5;
        step = 1 + s->seed % s->arg;
        break;
    }
    return step >= n - avail ? n : avail + step;
}

typedef struct outcome {
    buf_t reqs;
    resp_status_t status;
    size_t consumed;
    char error[128];
    const char *broken; /* an invariant that did not hold, or NULL */
} outcome_t;

/* Appends prefix, n in decimal and CRLF (no printf: this runs for each of
 * a million arguments). */
static void append_header(buf_t *out, char prefix, size_t n)
{
    char text[32];
    char *end = text + sizeof text, *t = end;
    *--t = '\n';
    *--t = '\r';
    do
        *--t = (char)('0' + n % 10);
    while ((n /= 10) != 0);
    *--t = prefix;
    buf_append(out, t, (size_t)(end - t));
}

static void append_request(buf_t *out, const resp_parser_t *p)
{
    append_header(out, '*', p->argc);
    for (size_t i = 0; i < p->argc; i++) {
        append_header(out, '$', p->argv[i].len);
        buf_append(out, p->argv[i].ptr, p->argv[i].len);
        buf_append(out, "\r\n", 2);
    }
}

/*
 * Feeds in[0..n) to a fresh parser on schedule s. After each delivery the
 * caller parses until the parser wants more, drops what it consumed and
 * keeps the rest. With move set, every call sees the bytes in a new buffer
 * of exactly their size (ASan catches a read past them, or through a stale
 * pointer), and the parser is trimmed whenever it is idle.
 */
static void feed(const char *in, size_t n, schedule_t s, int move, outcome_t *o)
{
    resp_parser_t p;
    size_t start = 0, avail = 0;

    buf_clear(&o->reqs);
    o->status = RESP_INCOMPLETE;
    o->consumed = 0;
    o->error[0] = '\0';
    o->broken = NULL;
    resp_parser_init(&p);

    while (avail < n && o->status != RESP_ERROR) {
        avail = next_avail(&s, avail, n);
        do {
            size_t len = avail - start, consumed = SIZE_MAX;
            char *copy = NULL;
            const char *view = in + start;
            if (move) {
                copy = xmemdup(in + start, len);
                view = copy;
            }
            o->status = resp_parse(&p, view, len, &consumed);

            if (consumed > len)
                o->broken = "consumed more than it was given";
            else if (o->status == RESP_COMPLETE && p.argc == 0)
                o->broken = "a complete request without arguments";
            else if (o->status == RESP_COMPLETE && resp_parser_busy(&p))
                o->broken = "busy after a complete request";
            else if (o->status == RESP_INCOMPLETE && resp_parser_busy(&p) != (consumed < len))
                o->broken = "busy() does not match the bytes kept";
            else if (o->status == RESP_ERROR && (consumed != 0 || p.error == NULL))
                o->broken = "an error that consumed bytes or has no text";
            if (o->broken != NULL) {
                free(copy);
                resp_parser_free(&p);
                return;
            }

            if (o->status == RESP_COMPLETE) {
                append_request(&o->reqs, &p);
                o->consumed = start + consumed;
            } else if (o->status == RESP_ERROR) {
                snprintf(o->error, sizeof o->error, "%s", p.error);
            }
            free(copy);
            start += consumed;
            if (move && (o->status == RESP_COMPLETE || start == avail))
                resp_parser_trim(&p);
        } while (o->status == RESP_COMPLETE);
    }
    if (o->status != RESP_ERROR)
        o->consumed = start;
    resp_parser_free(&p);
}

void print_bytes(const char *what, const char *s, size_t n)
{
    fprintf(stderr, "    %s (%zu bytes): \"", what, n);
    for (size_t i = 0; i < n && i < 200; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r')
            fputs("\\r", stderr);
        else if (c == '\n')
            fputs("\\n", stderr);
        else if (c == '"' || c == '\\')
            fprintf(stderr, "\\%c", c);
        else if (c < 32 || c >= 127)
            fprintf(stderr, "\\x%02x", c);
        else
            fputc(c, stderr);
    }
    fprintf(stderr, "%s\"\n", n > 200 ? "..." : "");
}

static const char *sched_name(schedule_t s, char *name, size_t size)
{
    static const char *const kinds[] = {"whole", "split at", "step", "random up to"};
    if (s.kind == SCHED_WHOLE)
        snprintf(name, size, "whole");
    else
        snprintf(name, size, "%s %zu", kinds[s.kind], s.arg);
    return name;
}

int check_feed(const parse_case_t *c, schedule_t s, int move)
{
    /* One outcome for every run, so that its buffer is allocated once. */
    static outcome_t o;
    feed(c->in, c->in_len, s, move, &o);

    int ok = o.broken == NULL && o.status == c->status && o.consumed == c->consumed &&
             o.reqs.len == c->reqs_len &&
             (c->reqs_len == 0 || memcmp(o.reqs.data, c->reqs, c->reqs_len) == 0) &&
             strcmp(o.error, c->error != NULL ? c->error : "") == 0;
    if (!ok) {
        char name[64];
        fprintf(stderr, "\n  case \"%s\", fed %s:\n", c->name, sched_name(s, name, sizeof name));
        if (o.broken != NULL)
            fprintf(stderr, "    broken: %s\n", o.broken);
        fprintf(stderr, "    status %d (want %d), consumed %zu (want %zu)\n", (int)o.status,
                (int)c->status, o.consumed, c->consumed);
        print_bytes("requests", o.reqs.data ? o.reqs.data : "", o.reqs.len);
        print_bytes("wanted", c->reqs, c->reqs_len);
        print_bytes("error", o.error, strlen(o.error));
        if (c->error != NULL)
            print_bytes("wanted", c->error, strlen(c->error));
    }
    if (o.reqs.cap > 64 * 1024 * 1024)
        buf_free(&o.reqs);
    return ok;
}

void check_case_everyway(const parse_case_t *c)
{
    CU_ASSERT(check_feed(c, (schedule_t){SCHED_WHOLE, 0, 0}, 1));
    for (size_t k = 0; k <= c->in_len; k++)
        if (!check_feed(c, (schedule_t){SCHED_SPLIT, k, 0}, 1)) {
            CU_FAIL("a two-way split disagrees");
            break;
        }
    CU_ASSERT(check_feed(c, (schedule_t){SCHED_STEP, 1, 0}, 1));
}

void check_case_sampled(const parse_case_t *c, int move, size_t ends, size_t strides)
{
    size_t n = c->in_len;
    size_t stride = n / (strides + 1) + 1;
    CU_ASSERT(check_feed(c, (schedule_t){SCHED_WHOLE, 0, 0}, move));
    CU_ASSERT(check_feed(c, (schedule_t){SCHED_STEP, 1, 0}, 0));
    CU_ASSERT(check_feed(c, (schedule_t){SCHED_RANDOM, 16, 12345}, 0));
    CU_ASSERT(check_feed(c, (schedule_t){SCHED_RANDOM, n / 8 + 1, 777}, move));
    for (size_t k = 0; k <= n; k++) {
        if (k > ends && k + ends < n && k != n / 2 && k % stride != 0)
            continue;
        if (!check_feed(c, (schedule_t){SCHED_SPLIT, k, 0}, 0)) {
            CU_FAIL("a two-way split disagrees");
            break;
        }
    }
}
