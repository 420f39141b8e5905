/*
 * Unit tests of common/resp.c: the request parser, byte-exact against a
 * table, however the input is split, and the reply encoder.
 *
 * A table row is an input, the status at the end of it, the requests it
 * holds, the bytes consumed and the error text. Every row is fed whole, in
 * every two-way split and one byte at a time, as a real caller feeds a
 * parser: the caller keeps the bytes the parser did not consume and passes
 * them again, followed by the new ones. Requests are compared in RESP
 * multibulk form (serialised by this file, not by the encoder under test),
 * which keeps the expectations binary safe and makes a canonical multibulk
 * input its own expectation.
 */

#include "alloc.h"
#include "buf.h"
#include "harness.h"
#include "resp.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A literal with its length: binary safe, NULs included. */
#define B(s) s, sizeof(s) - 1

#define ERR_MBULK     "ERR Protocol error: invalid multibulk length"
#define ERR_BULK      "ERR Protocol error: invalid bulk length"
#define ERR_CRLF      "ERR Protocol error: expected CRLF after bulk data"
#define ERR_BIG       "ERR Protocol error: too big inline request"
#define ERR_QUOTE     "ERR Protocol error: unbalanced quotes in request"
#define ERR_DOLLAR(c) "ERR Protocol error: expected '$', got '" c "'"

#define PING_MB "*1\r\n$4\r\nPING\r\n"

typedef struct parse_case {
    const char *name;
    const char *in;
    size_t in_len;
    resp_status_t status; /* after the last byte: RESP_INCOMPLETE or RESP_ERROR */
    const char *reqs;     /* the complete requests, as RESP multibulk */
    size_t reqs_len;
    /* Bytes the caller dropped in all: complete requests and skipped empty
     * ones. After an error, only up to the end of the last complete request
     * (empty requests skipped in the same call as the error are not
     * reported as consumed). */
    size_t consumed;
    const char *error; /* RESP_ERROR's text */
} parse_case_t;

/* ==== The table ========================================================== */

static const parse_case_t cases[] = {
    /* ---- multibulk ---- */
    {"ping", B(PING_MB), RESP_INCOMPLETE, B(PING_MB), 14, NULL},
    {"empty bulk", B("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"), RESP_INCOMPLETE,
     B("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"), 26, NULL},
    {"binary bulk with NUL and CRLF", B("*2\r\n$4\r\nECHO\r\n$6\r\na\0\r\nb\n\r\n"),
     RESP_INCOMPLETE, B("*2\r\n$4\r\nECHO\r\n$6\r\na\0\r\nb\n\r\n"), 26, NULL},
    {"bulk holding a request", B("*2\r\n$4\r\nECHO\r\n$14\r\n" PING_MB "\r\n"), RESP_INCOMPLETE,
     B("*2\r\n$4\r\nECHO\r\n$14\r\n" PING_MB "\r\n"), 35, NULL},
    {"two-digit length", B("*1\r\n$10\r\n0123456789\r\n"), RESP_INCOMPLETE,
     B("*1\r\n$10\r\n0123456789\r\n"), 21, NULL},
    {"twelve arguments",
     B("*12\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n$1\r\ng\r\n$"
       "1\r\nh\r\n$1\r\ni\r\n$1\r\nj\r\n$1\r\nk\r\n$1\r\nl\r\n"),
     RESP_INCOMPLETE,
     B("*12\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n$1\r\ng\r\n$"
       "1\r\nh\r\n$1\r\ni\r\n$1\r\nj\r\n$1\r\nk\r\n$1\r\nl\r\n"),
     89, NULL},
    {"*0 is skipped", B("*0\r\n"), RESP_INCOMPLETE, B(""), 4, NULL},
    {"*-1 is skipped", B("*-1\r\n"), RESP_INCOMPLETE, B(""), 5, NULL},
    {"LLONG_MIN count is skipped", B("*-9223372036854775808\r\nPING\r\n"), RESP_INCOMPLETE,
     B(PING_MB), 29, NULL},
    {"20-character count is skipped", B("*-1000000000000000000\r\n"), RESP_INCOMPLETE, B(""), 23,
     NULL},
    {"empty arrays then a request", B("*0\r\n*-1\r\n" PING_MB), RESP_INCOMPLETE, B(PING_MB), 23,
     NULL},
    {"half a request", B("*2\r\n$3\r\nfoo\r\n$3\r\nba"), RESP_INCOMPLETE, B(""), 0, NULL},
    {"a request and half another", B(PING_MB "*1\r\n$4\r\nPI"), RESP_INCOMPLETE, B(PING_MB), 14,
     NULL},
    {"final LF missing", B("*1\r\n$4\r\nPING\r"), RESP_INCOMPLETE, B(""), 0, NULL},
    {"largest count waits for its arguments", B("*1048576\r\n"), RESP_INCOMPLETE, B(""), 0, NULL},
    {"largest bulk waits for its data", B("*1\r\n$8388608\r\n"), RESP_INCOMPLETE, B(""), 0, NULL},

    /* ---- inline ---- */
    {"inline CRLF", B("PING\r\n"), RESP_INCOMPLETE, B(PING_MB), 6, NULL},
    {"inline LF", B("PING\n"), RESP_INCOMPLETE, B(PING_MB), 5, NULL},
    {"inline without newline", B("PING"), RESP_INCOMPLETE, B(""), 0, NULL},
    {"blank lines are skipped", B("\r\n\n   \r\n\t\v\f\r\nPING\r\n"), RESP_INCOMPLETE, B(PING_MB),
     19, NULL},
    {"blank line without newline", B("  "), RESP_INCOMPLETE, B(""), 0, NULL},
    {"trailing blank lines", B("PING\r\n\r\n\n"), RESP_INCOMPLETE, B(PING_MB), 9, NULL},
    {"quoted arguments", B("SET \"a b\" 'c d'\r\n"), RESP_INCOMPLETE,
     B("*3\r\n$3\r\nSET\r\n$3\r\na b\r\n$3\r\nc d\r\n"), 17, NULL},
    {"quote starting mid-token", B("a\"b c\" d\r\n"), RESP_INCOMPLETE,
     B("*2\r\n$4\r\nab c\r\n$1\r\nd\r\n"), 10, NULL},
    {"double-quote escapes", B("\"a\\x41\\x4g\\q\\n\\t\\b\\a\\r\\\\\\\"\"\r\n"), RESP_INCOMPLETE,
     B("*1\r\n$13\r\naAx4gq\n\t\b\a\r\\\"\r\n"), 29, NULL},
    {"hex escapes, NUL included", B("\"\\x00\\xfF\"\r\n"), RESP_INCOMPLETE,
     B("*1\r\n$2\r\n\0\xff\r\n"), 12, NULL},
    {"incomplete hex escapes", B("\"\\x4\" \"\\x\"\r\n"), RESP_INCOMPLETE,
     B("*2\r\n$2\r\nx4\r\n$1\r\nx\r\n"), 12, NULL},
    {"invalid hex escapes", B("\"\\xZZ\\xaB\"\r\n"), RESP_INCOMPLETE, B("*1\r\n$4\r\nxZZ\xab\r\n"),
     12, NULL},
    {"single-quote escapes", B("'a\\b\\'c' 'x\"y'\r\n"), RESP_INCOMPLETE,
     B("*2\r\n$5\r\na\\b'c\r\n$3\r\nx\"y\r\n"), 16, NULL},
    {"empty quotes", B("\"\" ''\r\n"), RESP_INCOMPLETE, B("*2\r\n$0\r\n\r\n$0\r\n\r\n"), 7, NULL},
    {"only empty quotes between blanks", B("  \"\"  \r\n"), RESP_INCOMPLETE, B("*1\r\n$0\r\n\r\n"),
     8, NULL},
    {"closing quote then \\v", B("\"a\"\vb\r\n"), RESP_INCOMPLETE,
     B("*2\r\n$1\r\na\r\n$1\r\nb\r\n"), 7, NULL},
    {"\\v and \\f inside a token", B("a\vb\fc\r\n"), RESP_INCOMPLETE, B("*1\r\n$5\r\na\vb\fc\r\n"),
     7, NULL},
    {"\\v and \\f before a token", B("\v\fPING\v\r\n"), RESP_INCOMPLETE,
     B("*1\r\n$5\r\nPING\v\r\n"), 9, NULL},
    {"CR inside a line", B("a\rb\r\r\n"), RESP_INCOMPLETE, B("*2\r\n$1\r\na\r\n$1\r\nb\r\n"), 6,
     NULL},
    {"tab separates", B("a\tb\r\n"), RESP_INCOMPLETE, B("*2\r\n$1\r\na\r\n$1\r\nb\r\n"), 5, NULL},
    {"escaped quote after a bare part", B("x\"\\\"\"\r\n"), RESP_INCOMPLETE,
     B("*1\r\n$2\r\nx\"\r\n"), 7, NULL},
    {"NUL is an ordinary byte inline", B("ECHO a\0b\r\n"), RESP_INCOMPLETE,
     B("*2\r\n$4\r\nECHO\r\n$3\r\na\0b\r\n"), 10, NULL},

    /* ---- pipelines ---- */
    {"mixed pipeline",
     B("PING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n\r\nSET a b\n*0\r\nGET a\r\n" PING_MB),
     RESP_INCOMPLETE,
     B(PING_MB "*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\n*2\r\n$"
               "3\r\nGET\r\n$1\r\na\r\n" PING_MB),
     63, NULL},
    {"eight pipelined",
     B(PING_MB "PING\r\n" PING_MB "PING\r\n" PING_MB "PING\r\n" PING_MB "PING\r\n"),
     RESP_INCOMPLETE, B(PING_MB PING_MB PING_MB PING_MB PING_MB PING_MB PING_MB PING_MB), 80, NULL},

    /* ---- malformed counts ---- */
    {"empty count", B("*\r\n"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"count -0", B("*-0\r\n"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"count with leading zero", B("*01\r\n"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"count with '+'", B("*+1\r\n"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"count with leading blank", B("* 1\r\n"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"count with trailing blank", B("*1 \r\n"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"count not a number", B("*x\r\n"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"count '-'", B("*-\r\n"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"count below LLONG_MIN", B("*-9223372036854775809\r\n"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"count above LLONG_MAX", B("*9223372036854775808\r\n"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"count one past the limit", B("*1048577\r\n"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"count of 21 digits, no CR yet", B("*123456789012345678901"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"negative count of 21 characters, no CR yet", B("*-12345678901234567890"), RESP_ERROR, B(""),
     0, ERR_MBULK},
    {"count's CR without LF", B("*1\rX"), RESP_ERROR, B(""), 0, ERR_MBULK},
    /* Stricter than Redis: a count that can no longer become a number is
     * refused before its CR arrives. */
    {"leading zero, no CR yet", B("*01"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"count -0, no CR yet", B("*-0"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"count with a blank, no CR yet", B("*1 "), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"count '--', no CR yet", B("*--"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"count ended by LF alone", B("*1\n"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"count with NUL", B("*1\0"), RESP_ERROR, B(""), 0, ERR_MBULK},

    /* ---- malformed bulk headers ---- */
    {"'X' for '$'", B("*1\r\nX\r\n"), RESP_ERROR, B(""), 0, ERR_DOLLAR("X")},
    {"CR for '$'", B("*1\r\n\r\n"), RESP_ERROR, B(""), 0, ERR_DOLLAR(" ")},
    {"LF for '$'", B("*1\r\n\n"), RESP_ERROR, B(""), 0, ERR_DOLLAR(" ")},
    {"NUL for '$'", B("*1\r\n\0"), RESP_ERROR, B(""), 0, ERR_DOLLAR(" ")},
    {"high byte for '$'", B("*1\r\n\xff"), RESP_ERROR, B(""), 0, ERR_DOLLAR("\xff")},
    {"'*' for '$'", B("*2\r\n$3\r\nfoo\r\n*1\r\n"), RESP_ERROR, B(""), 0, ERR_DOLLAR("*")},
    {"bulk length -1", B("*1\r\n$-1\r\n"), RESP_ERROR, B(""), 0, ERR_BULK},
    {"bulk length '-', no CR yet", B("*1\r\n$-"), RESP_ERROR, B(""), 0, ERR_BULK},
    {"empty bulk length", B("*1\r\n$\r\n"), RESP_ERROR, B(""), 0, ERR_BULK},
    {"bulk length with leading zero", B("*1\r\n$01\r\n"), RESP_ERROR, B(""), 0, ERR_BULK},
    {"bulk length one past the limit", B("*1\r\n$8388609\r\n"), RESP_ERROR, B(""), 0, ERR_BULK},
    {"bulk length not a number", B("*1\r\n$1x\r\n"), RESP_ERROR, B(""), 0, ERR_BULK},
    {"bulk length with leading zero, no CR yet", B("*1\r\n$00"), RESP_ERROR, B(""), 0, ERR_BULK},
    {"bulk length with '+', no CR yet", B("*1\r\n$+"), RESP_ERROR, B(""), 0, ERR_BULK},
    {"bulk length's CR without LF", B("*1\r\n$1\rX"), RESP_ERROR, B(""), 0, ERR_BULK},
    {"bulk length overflowing", B("*1\r\n$99999999999999999999\r\n"), RESP_ERROR, B(""), 0,
     ERR_BULK},
    {"bulk length of 21 digits, no CR yet", B("*1\r\n$100000000000000000000"), RESP_ERROR, B(""), 0,
     ERR_BULK},

    /* ---- malformed bulk data ---- */
    {"bulk data too long", B("*1\r\n$4\r\nPINGxx"), RESP_ERROR, B(""), 0, ERR_CRLF},
    {"bulk data's CR without LF", B("*1\r\n$4\r\nPING\rx"), RESP_ERROR, B(""), 0, ERR_CRLF},
    {"bulk data ended by LF alone", B("*1\r\n$4\r\nPING\n"), RESP_ERROR, B(""), 0, ERR_CRLF},
    {"empty bulk then junk", B("*1\r\n$0\r\nX"), RESP_ERROR, B(""), 0, ERR_CRLF},

    /* ---- malformed inline ---- */
    {"unterminated double quote", B("\"abc\r\n"), RESP_ERROR, B(""), 0, ERR_QUOTE},
    {"unterminated single quote", B("'abc\r\n"), RESP_ERROR, B(""), 0, ERR_QUOTE},
    {"double quote closed mid-token", B("\"a\"b\r\n"), RESP_ERROR, B(""), 0, ERR_QUOTE},
    {"single quote closed mid-token", B("'a'b\r\n"), RESP_ERROR, B(""), 0, ERR_QUOTE},
    {"backslash ending a quoted line", B("\"abc\\\r\n"), RESP_ERROR, B(""), 0, ERR_QUOTE},
    {"bare, quoted, bare", B("a\"b\"c\r\n"), RESP_ERROR, B(""), 0, ERR_QUOTE},
    {"NUL after a closing quote", B("\"a\"\0\r\n"), RESP_ERROR, B(""), 0, ERR_QUOTE},

    /* ---- errors after good requests ---- */
    {"requests then a bad header", B("PING\r\n" PING_MB "*1\r\nY"), RESP_ERROR, B(PING_MB PING_MB),
     20, ERR_DOLLAR("Y")},
    {"empty array then a bad count", B("*0\r\n*x"), RESP_ERROR, B(""), 0, ERR_MBULK},
    {"blank line, request, bad length", B("\r\n" PING_MB "*2\r\n$-"), RESP_ERROR, B(PING_MB), 16,
     ERR_BULK},
    {"request then unbalanced quotes", B("PING\nGET \"k\r\n"), RESP_ERROR, B(PING_MB), 5,
     ERR_QUOTE},
};

/* ==== Feeding a parser as a caller does =================================== */

/* How the input arrives: the number of bytes available after the next
 * delivery, given how many are available now. */
typedef struct schedule {
    enum { SCHED_WHOLE, SCHED_SPLIT, SCHED_STEP, SCHED_RANDOM } kind;
    size_t arg;    /* SPLIT: the first delivery; STEP: bytes per delivery;
                      RANDOM: largest delivery */
    uint32_t seed; /* RANDOM */
} schedule_t;

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

/* Prints bytes with C escapes, for failure reports. */
static void print_bytes(const char *what, const char *s, size_t n)
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

/* Feeds c on schedule s and checks the outcome; reports and returns 0 on a
 * mismatch. */
static int check_feed(const parse_case_t *c, schedule_t s, int move)
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

/* Whole, every two-way split, one byte at a time. */
static void check_case_everyway(const parse_case_t *c)
{
    CU_ASSERT(check_feed(c, (schedule_t){SCHED_WHOLE, 0, 0}, 1));
    for (size_t k = 0; k <= c->in_len; k++)
        if (!check_feed(c, (schedule_t){SCHED_SPLIT, k, 0}, 1)) {
            CU_FAIL("a two-way split disagrees");
            break;
        }
    CU_ASSERT(check_feed(c, (schedule_t){SCHED_STEP, 1, 0}, 1));
}

/* For large inputs, where every split would take too long: whole, one byte
 * at a time, random pieces small and large, and the splits within `ends`
 * bytes of either end, in the middle and at `strides` points between. A
 * moving buffer is copied at every call, so only the runs with few calls
 * move it. */
static void check_case_sampled(const parse_case_t *c, int move, size_t ends, size_t strides)
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

/* ==== Parser tests ======================================================= */

static void test_table(void)
{
    size_t errors = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_case_everyway(&cases[i]);
        errors += cases[i].status == RESP_ERROR;
    }
    /* The table must keep covering the malformed inputs. */
    CU_ASSERT(errors >= 20);
}

/* A case too large for the table: its input and its expected requests are
 * built at run time. */
typedef struct big_case {
    parse_case_t c;
    buf_t in;
    buf_t reqs;
} big_case_t;

static void big_free(big_case_t *b)
{
    buf_free(&b->in);
    buf_free(&b->reqs);
}

static void big_done(big_case_t *b, const char *name, resp_status_t status, size_t consumed,
                     const char *error)
{
    b->c = (parse_case_t){name,         b->in.data,  b->in.len, status,
                          b->reqs.data, b->reqs.len, consumed,  error};
}

static void test_count_limit(void)
{
    /* RESP_ARRAY_MAX arguments, each one byte: fine. */
    big_case_t b = {0};
    buf_printf(&b.in, "*%d\r\n", RESP_ARRAY_MAX);
    for (int i = 0; i < RESP_ARRAY_MAX; i++) {
        char arg[8] = "$1\r\nx\r\n";
        arg[4] = (char)('a' + i % 26);
        buf_append(&b.in, arg, 7);
    }
    buf_append(&b.reqs, b.in.data, b.in.len);
    big_done(&b, "RESP_ARRAY_MAX arguments", RESP_INCOMPLETE, b.in.len, NULL);
    check_case_sampled(&b.c, 0, 3, 2);
    big_free(&b);

    /* One more is refused as soon as the count line ends. */
    static const parse_case_t over = {
        "RESP_ARRAY_MAX + 1", B("*1048577\r\n$1\r\nx\r\n"), RESP_ERROR, B(""), 0, ERR_MBULK};
    check_case_everyway(&over);
}

/* A declared count is not an allocation: the argument arrays grow with the
 * arguments that arrive. (White-box: looks at the private argv_cap.) */
static void test_count_does_not_allocate(void)
{
    resp_parser_t p;
    size_t consumed;
    resp_parser_init(&p);
    CU_ASSERT_EQUAL(resp_parse(&p, B("*1048576\r\n"), &consumed), RESP_INCOMPLETE);
    CU_ASSERT_EQUAL(consumed, 0);
    CU_ASSERT(p.argv_cap == 0 && p.argv == NULL && p.arg_off == NULL);
    CU_ASSERT_EQUAL(resp_parse(&p, B("*1048576\r\n$1\r\na\r\n$1\r\nb\r\n"), &consumed),
                    RESP_INCOMPLETE);
    CU_ASSERT(p.argv_cap >= 2 && p.argv_cap <= 16);
    resp_parser_free(&p);
}

static void test_bulk_limit(void)
{
    big_case_t b = {0};
    buf_printf(&b.in, "*2\r\n$3\r\nSET\r\n$%d\r\n", RESP_BULK_MAX);
    buf_reserve(&b.in, RESP_BULK_MAX + 2);
    for (size_t i = 0; i < RESP_BULK_MAX; i++)
        b.in.data[b.in.len + i] = (char)(i * 7 + i / 251);
    b.in.len += RESP_BULK_MAX;
    buf_append(&b.in, "\r\n", 2);
    buf_append(&b.reqs, b.in.data, b.in.len);
    big_done(&b, "RESP_BULK_MAX bytes", RESP_INCOMPLETE, b.in.len, NULL);
    check_case_sampled(&b.c, 0, 24, 12);
    big_free(&b);

    static const parse_case_t over = {
        "RESP_BULK_MAX + 1", B("*2\r\n$3\r\nSET\r\n$8388609\r\n"), RESP_ERROR, B(""), 0, ERR_BULK};
    check_case_everyway(&over);
}

/* One inline argument of len bytes, ended by end. */
static void inline_case(big_case_t *b, size_t len, const char *end, size_t end_len)
{
    buf_init(&b->in);
    buf_init(&b->reqs);
    buf_reserve(&b->in, len + end_len);
    memset(b->in.data, 'a', len);
    b->in.len = len;
    buf_append(&b->in, end, end_len);
}

static void test_inline_limit(void)
{
    big_case_t b;

    /* RESP_INLINE_MAX bytes before the CRLF, or before a LF: fine, however
     * the CR and the LF arrive. */
    inline_case(&b, RESP_INLINE_MAX, B("\r\n"));
    buf_printf(&b.reqs, "*1\r\n$%d\r\n", RESP_INLINE_MAX);
    buf_append(&b.reqs, b.in.data, RESP_INLINE_MAX);
    buf_append(&b.reqs, "\r\n", 2);
    big_done(&b, "RESP_INLINE_MAX bytes and CRLF", RESP_INCOMPLETE, b.in.len, NULL);
    check_case_sampled(&b.c, 1, 24, 64);
    b.in.len--;
    big_done(&b, "RESP_INLINE_MAX bytes and CR", RESP_INCOMPLETE, 0, NULL);
    b.c.reqs_len = 0;
    check_case_sampled(&b.c, 1, 24, 64);
    b.in.data[b.in.len - 1] = '\n';
    big_done(&b, "RESP_INLINE_MAX bytes and LF", RESP_INCOMPLETE, b.in.len, NULL);
    check_case_sampled(&b.c, 1, 24, 64);
    b.in.len--;
    big_done(&b, "RESP_INLINE_MAX bytes, no newline yet", RESP_INCOMPLETE, 0, NULL);
    b.c.reqs_len = 0;
    check_case_sampled(&b.c, 1, 24, 64);
    big_free(&b);

    /* One byte more is refused, with or without its newline. */
    static const struct {
        const char *name;
        const char *end;
        size_t end_len;
    } over[] = {
        {"RESP_INLINE_MAX + 1 bytes and CRLF", B("a\r\n")},
        {"RESP_INLINE_MAX + 1 bytes and LF", B("a\n")},
        {"RESP_INLINE_MAX + 1 bytes, no newline", B("a")},
        {"RESP_INLINE_MAX bytes, CR, CR, LF", B("\r\r\n")},
        {"RESP_INLINE_MAX bytes, CR, byte", B("\rb")},
        {"RESP_INLINE_MAX + 100 bytes, no newline", B("0123456789012345678901234567890123456789"
                                                      "012345678901234567890123456789012345678"
                                                      "901234567890123456789")},
    };
    for (size_t i = 0; i < sizeof over / sizeof over[0]; i++) {
        inline_case(&b, RESP_INLINE_MAX, over[i].end, over[i].end_len);
        big_done(&b, over[i].name, RESP_ERROR, 0, ERR_BIG);
        check_case_sampled(&b.c, 1, 24, 64);
        big_free(&b);
    }
}

/* A 1 MiB bulk arriving in small pieces: each piece costs O(1), so this
 * finishes in moments; a parser that rescanned from the start would take
 * hours and trip the harness's time limit. */
static void test_large_bulk_in_pieces(void)
{
    big_case_t b = {0};
    const size_t size = 1024 * 1024;
    buf_printf(&b.in, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%zu\r\n", size);
    buf_reserve(&b.in, size + 2);
    for (size_t i = 0; i < size; i++)
        b.in.data[b.in.len + i] = (char)(i % 251);
    b.in.len += size;
    buf_append(&b.in, "\r\n", 2);
    buf_append(&b.reqs, b.in.data, b.in.len);
    big_done(&b, "1 MiB bulk", RESP_INCOMPLETE, b.in.len, NULL);

    CU_ASSERT(check_feed(&b.c, (schedule_t){SCHED_STEP, 1, 0}, 0));
    CU_ASSERT(check_feed(&b.c, (schedule_t){SCHED_STEP, 3, 0}, 0));
    CU_ASSERT(check_feed(&b.c, (schedule_t){SCHED_RANDOM, 64, 99}, 0));
    CU_ASSERT(check_feed(&b.c, (schedule_t){SCHED_RANDOM, 1500, 4242}, 0));
    big_free(&b);
}

/*
 * A caller as a server is: a buf_t that receives bytes, is parsed, and
 * drops what was consumed; here the buffer also moves to a new address
 * before every call. Multibulk arguments must point into the buffer as it
 * is at the call, inline ones into the parser's own space.
 */
static void test_moving_buffer(void)
{
    static const char stream[] = "SET \"a b\" c\r\n"
                                 "*3\r\n$3\r\nSET\r\n$5\r\nkey\0\n\r\n$0\r\n\r\n"
                                 "\r\n"
                                 "*2\r\n$4\r\nECHO\r\n$11\r\nhello world\r\n";
    static const char *const want[][3] = {
        {"SET", "a b", "c"},
        {"SET", "key\0\n", ""},
        {"ECHO", "hello world", NULL},
    };
    static const size_t want_len[][3] = {{3, 3, 1}, {3, 5, 0}, {4, 11, 0}};
    static const size_t want_argc[] = {3, 3, 2};

    for (size_t piece = 1; piece <= 7; piece++) {
        resp_parser_t p;
        buf_t in = BUF_INIT;
        size_t sent = 0, got = 0;
        resp_parser_init(&p);
        while (sent < sizeof stream - 1) {
            size_t n = sizeof stream - 1 - sent < piece ? sizeof stream - 1 - sent : piece;
            buf_append(&in, stream + sent, n);
            sent += n;
            for (;;) {
                /* Move the bytes to a new address: the old one is freed. */
                char *moved = xmemdup(in.data, in.len);
                free(in.data);
                in.data = moved;
                in.cap = in.len;

                size_t consumed;
                resp_status_t st = resp_parse(&p, in.data, in.len, &consumed);
                CU_ASSERT_NOT_EQUAL_FATAL(st, RESP_ERROR);
                if (st == RESP_COMPLETE) {
                    CU_ASSERT_FATAL(got < 3);
                    CU_ASSERT_EQUAL(p.argc, want_argc[got]);
                    for (size_t i = 0; i < p.argc && i < 3; i++) {
                        CU_ASSERT_EQUAL(p.argv[i].len, want_len[got][i]);
                        CU_ASSERT(memcmp(p.argv[i].ptr, want[got][i], want_len[got][i]) == 0);
                        uintptr_t arg = (uintptr_t)p.argv[i].ptr, at = (uintptr_t)in.data;
                        int inside = arg >= at && arg <= at + in.len;
                        CU_ASSERT_EQUAL(inside, got != 0); /* the first one is inline */
                    }
                    got++;
                }
                buf_consume(&in, consumed);
                if (st != RESP_COMPLETE)
                    break;
            }
        }
        CU_ASSERT_EQUAL(got, 3);
        CU_ASSERT_EQUAL(in.len, 0);
        CU_ASSERT(!resp_parser_busy(&p));
        buf_free(&in);
        resp_parser_free(&p);
    }
}

static void test_busy_and_trim(void)
{
    resp_parser_t p;
    size_t consumed;
    resp_parser_init(&p);
    CU_ASSERT(!resp_parser_busy(&p));

    /* Nothing, and only empty requests, leave it idle. */
    CU_ASSERT_EQUAL(resp_parse(&p, NULL, 0, &consumed), RESP_INCOMPLETE);
    CU_ASSERT_EQUAL(consumed, 0);
    CU_ASSERT(!resp_parser_busy(&p));
    CU_ASSERT_EQUAL(resp_parse(&p, B("\r\n*0\r\n  \n"), &consumed), RESP_INCOMPLETE);
    CU_ASSERT_EQUAL(consumed, 9);
    CU_ASSERT(!resp_parser_busy(&p));

    /* Part of a request makes it busy, even a blank part. */
    CU_ASSERT_EQUAL(resp_parse(&p, B("  "), &consumed), RESP_INCOMPLETE);
    CU_ASSERT(resp_parser_busy(&p));
    CU_ASSERT_EQUAL(resp_parse(&p, B("  PI"), &consumed), RESP_INCOMPLETE);
    CU_ASSERT(resp_parser_busy(&p));
    CU_ASSERT_EQUAL(resp_parse(&p, B("  PING\r\n"), &consumed), RESP_COMPLETE);
    CU_ASSERT_EQUAL(consumed, 8);
    CU_ASSERT(!resp_parser_busy(&p));
    CU_ASSERT(p.scratch != NULL);

    /* Trimmed, it holds no memory (white-box), and works as before. */
    resp_parser_trim(&p);
    CU_ASSERT(p.argv == NULL && p.arg_off == NULL && p.scratch == NULL);
    CU_ASSERT(p.argv_cap == 0 && p.scratch_cap == 0 && p.argc == 0);
    CU_ASSERT_EQUAL(resp_parse(&p, B("*1\r\n"), &consumed), RESP_INCOMPLETE);
    CU_ASSERT(resp_parser_busy(&p));
    CU_ASSERT_EQUAL(resp_parse(&p, B("*1\r\n$4\r\nPING\r\n"), &consumed), RESP_COMPLETE);
    CU_ASSERT_EQUAL(consumed, 14);
    CU_ASSERT(!resp_parser_busy(&p));
    CU_ASSERT_EQUAL(p.argc, 1);
    resp_parser_trim(&p);
    CU_ASSERT(p.argv == NULL && p.arg_off == NULL);

    resp_parser_free(&p);
    /* Freed, it is as new. */
    CU_ASSERT(p.argv == NULL && p.scratch == NULL && !resp_parser_busy(&p));
}

/* An error sticks until the parser is reset. */
static void test_error_sticks(void)
{
    resp_parser_t p;
    size_t consumed = 99;
    resp_parser_init(&p);
    CU_ASSERT_EQUAL(resp_parse(&p, B("PING\r\n*1\r\n$x"), &consumed), RESP_COMPLETE);
    CU_ASSERT_EQUAL(consumed, 6);
    CU_ASSERT_EQUAL(resp_parse(&p, B("*1\r\n$x"), &consumed), RESP_ERROR);
    CU_ASSERT_EQUAL(consumed, 0);
    CU_ASSERT_STRING_EQUAL(p.error, ERR_BULK);
    consumed = 99;
    CU_ASSERT_EQUAL(resp_parse(&p, B("PING\r\n"), &consumed), RESP_ERROR);
    CU_ASSERT_EQUAL(consumed, 0);
    CU_ASSERT_STRING_EQUAL(p.error, ERR_BULK);
    resp_parser_free(&p);

    resp_parser_init(&p);
    CU_ASSERT_EQUAL(resp_parse(&p, B("PING\r\n"), &consumed), RESP_COMPLETE);
    resp_parser_free(&p);
}

/* ==== Encoder tests ====================================================== */

static buf_t out;

static int encoder_setup(void)
{
    buf_init(&out);
    return 0;
}

static int encoder_teardown(void)
{
    buf_free(&out);
    return 0;
}

/* Checks that out holds exactly want[0..len), then empties it. */
static void expect_out(const char *want, size_t len)
{
    CU_ASSERT_EQUAL(out.len, len);
    CU_ASSERT(out.len == len && memcmp(out.data, want, len) == 0);
    if (out.len != len || memcmp(out.data, want, len) != 0) {
        print_bytes("encoded", out.data, out.len);
        print_bytes("wanted", want, len);
    }
    buf_clear(&out);
}

static void test_add_simple(void)
{
    resp_add_simple(&out, "OK");
    expect_out(B("+OK\r\n"));
    resp_add_simple(&out, "");
    expect_out(B("+\r\n"));
    resp_add_simple(&out, "PONG");
    resp_add_simple(&out, "QUEUED");
    expect_out(B("+PONG\r\n+QUEUED\r\n"));
}

static void test_add_error(void)
{
    resp_add_error(&out, "ERR unknown command");
    expect_out(B("-ERR unknown command\r\n"));
    resp_add_error(&out, "");
    expect_out(B("-\r\n"));
    /* CR and LF inside become spaces; what was in the buffer before is
     * left alone. */
    resp_add_simple(&out, "OK");
    resp_add_error(&out, "ERR bad\r\nthing\n\r");
    expect_out(B("+OK\r\n-ERR bad  thing  \r\n"));
    resp_add_error(&out, "WRONGTYPE Operation against a key holding the wrong kind of value");
    expect_out(B("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"));
}

static void test_add_errorf(void)
{
    resp_add_errorf(&out, "ERR unknown command '%s', with args beginning with: %s", "foo", "");
    expect_out(B("-ERR unknown command 'foo', with args beginning with: \r\n"));
    resp_add_errorf(&out, "ERR %s", "a\r\nb");
    expect_out(B("-ERR a  b\r\n"));
    resp_add_errorf(&out, "%s", "");
    expect_out(B("-\r\n"));

    /* Long messages are not cut short. */
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    resp_add_simple(&out, "OK");
    resp_add_errorf(&out, "ERR %s%d", big, 42);
    CU_ASSERT_EQUAL(out.len, 5 + 1 + 4 + (sizeof big - 1) + 2 + 2);
    CU_ASSERT(memcmp(out.data, "+OK\r\n-ERR xx", 12) == 0);
    CU_ASSERT(memcmp(out.data + out.len - 6, "xx42\r\n", 6) == 0);
    buf_clear(&out);
}

static void test_add_int(void)
{
    resp_add_int(&out, 0);
    expect_out(B(":0\r\n"));
    resp_add_int(&out, -1);
    expect_out(B(":-1\r\n"));
    resp_add_int(&out, 1048576);
    expect_out(B(":1048576\r\n"));
    resp_add_int(&out, LLONG_MAX);
    expect_out(B(":9223372036854775807\r\n"));
    resp_add_int(&out, LLONG_MIN);
    expect_out(B(":-9223372036854775808\r\n"));
}

static void test_add_bulk(void)
{
    resp_add_bulk(&out, "bar", 3);
    expect_out(B("$3\r\nbar\r\n"));
    resp_add_bulk(&out, "", 0);
    expect_out(B("$0\r\n\r\n"));
    resp_add_bulk(&out, NULL, 0);
    expect_out(B("$0\r\n\r\n"));
    resp_add_bulk(&out, "a\0\r\nb", 5);
    expect_out(B("$5\r\na\0\r\nb\r\n"));

    /* Large values: the length is written in full, the bytes unchanged. */
    size_t n = 200000;
    char *value = xmalloc(n);
    for (size_t i = 0; i < n; i++)
        value[i] = (char)(i % 253);
    resp_add_bulk(&out, value, n);
    CU_ASSERT_EQUAL(out.len, 9 + n + 2);
    CU_ASSERT(memcmp(out.data, "$200000\r\n", 9) == 0);
    CU_ASSERT(memcmp(out.data + 9, value, n) == 0);
    CU_ASSERT(memcmp(out.data + 9 + n, "\r\n", 2) == 0);
    buf_clear(&out);
    free(value);
}

static void test_add_null_and_array(void)
{
    resp_add_null(&out);
    expect_out(B("$-1\r\n"));
    resp_add_array(&out, 0);
    expect_out(B("*0\r\n"));
    resp_add_array(&out, 2);
    resp_add_bulk(&out, "a", 1);
    resp_add_null(&out);
    expect_out(B("*2\r\n$1\r\na\r\n$-1\r\n"));
    resp_add_array(&out, 1048576);
    expect_out(B("*1048576\r\n"));
}

/* What the encoder writes, the parser reads back. */
static void test_round_trip(void)
{
    static const char value[] = "a\0\r\n\"b'";
    resp_add_array(&out, 3);
    resp_add_bulk(&out, "SET", 3);
    resp_add_bulk(&out, "k", 1);
    resp_add_bulk(&out, value, sizeof value - 1);

    resp_parser_t p;
    size_t consumed;
    resp_parser_init(&p);
    CU_ASSERT_EQUAL_FATAL(resp_parse(&p, out.data, out.len, &consumed), RESP_COMPLETE);
    CU_ASSERT_EQUAL(consumed, out.len);
    CU_ASSERT_EQUAL_FATAL(p.argc, 3);
    CU_ASSERT_EQUAL(p.argv[2].len, sizeof value - 1);
    CU_ASSERT(memcmp(p.argv[2].ptr, value, sizeof value - 1) == 0);
    resp_parser_free(&p);
    buf_clear(&out);
}

/* ==== Registration ======================================================== */

static CU_TestInfo parser_tests[] = {
    {"table, every split", test_table},
    {"array count limit", test_count_limit},
    {"declared count does not allocate", test_count_does_not_allocate},
    {"bulk length limit", test_bulk_limit},
    {"inline length limit", test_inline_limit},
    {"1 MiB bulk in small pieces", test_large_bulk_in_pieces},
    {"caller moves its buffer", test_moving_buffer},
    {"busy and trim", test_busy_and_trim},
    {"errors stick", test_error_sticks},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo encoder_tests[] = {
    {"simple", test_add_simple},     {"error", test_add_error},
    {"errorf", test_add_errorf},     {"int", test_add_int},
    {"bulk", test_add_bulk},         {"null and array", test_add_null_and_array},
    {"round trip", test_round_trip}, CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"resp parser", NULL, NULL, NULL, NULL, parser_tests},
    {"resp encoder", encoder_setup, encoder_teardown, NULL, NULL, encoder_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
