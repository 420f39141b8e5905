#include "resp.h"

#include "alloc.h"
#include "num.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== Request parser ==================================================== */

/*
 * The rules are Redis 7.0's (processInlineBuffer() and
 * processMultibulkBuffer() in networking.c, sdssplitargs() in sds.c): every
 * well-formed request parses exactly as there, and every malformed one that
 * Redis refuses is refused with Redis's words. Where Redis is lenient, or
 * where its answer depends on how the bytes happened to be split, this
 * parser is stricter; each such place is marked "Stricter than Redis" below.
 * In summary:
 *
 * - Length lines are judged byte by byte: a byte after which the line can no
 *   longer be a valid number is an error at once. Redis waits for the CR
 *   (and says "too big ... count string" after 64 KiB without one).
 * - The CR that ends a length line must be followed by LF, and bulk data by
 *   CRLF. Redis skips those bytes unchecked.
 * - The byte where a '$' belongs is judged as soon as it arrives. Redis waits
 *   for the end of its line first.
 * - An inline line longer than RESP_INLINE_MAX is refused even when its
 *   newline arrived with it. Redis checks the length only while no newline
 *   is buffered, so whether it refuses a long line depends on the split.
 * - RESP_ARRAY_MAX and RESP_BULK_MAX are lower than Redis's defaults (INT_MAX
 *   and proto-max-bulk-len, 512 MB); going past them gives Redis's errors.
 *
 * NUL bytes: Redis finds line ends with strchr(), which stops at a NUL, so in
 * Redis a request with a NUL in an inline line or a length line never
 * completes. Here a NUL is an ordinary byte: part of an inline argument, an
 * invalid character in a length, and a space when an error has to show it.
 */

enum {
    ST_START,       /* no byte of the request seen yet */
    ST_INLINE,      /* looking for the newline that ends an inline request */
    ST_COUNT,       /* reading the <count> of *<count>\r\n */
    ST_COUNT_LF,    /* the count's CR seen, its LF expected */
    ST_BULK_DOLLAR, /* the '$' of the next bulk header expected */
    ST_BULK_LEN,    /* reading the <len> of $<len>\r\n */
    ST_BULK_LEN_LF, /* the length's CR seen, its LF expected */
    ST_BULK_DATA,   /* waiting for <len> bytes of data */
    ST_BULK_CR,     /* the CR after the data expected */
    ST_BULK_LF,     /* the LF after the data expected */
    ST_ERROR,       /* a protocol error was reported: only a reset helps */
};

/* What one step of parsing found; resp_parse() turns it into a status. */
enum {
    STEP_COMPLETE,
    STEP_INCOMPLETE,
    STEP_SKIP, /* an empty request: drop it and go on */
    STEP_ERROR,
};

static const char err_mbulk_len[] = "ERR Protocol error: invalid multibulk length";
static const char err_bulk_len[] = "ERR Protocol error: invalid bulk length";
/* Stricter than Redis, which skips the two bytes after bulk data unchecked:
 * our own words, in Redis's style. */
static const char err_bulk_crlf[] = "ERR Protocol error: expected CRLF after bulk data";
static const char err_inline_big[] = "ERR Protocol error: too big inline request";
static const char err_quotes[] = "ERR Protocol error: unbalanced quotes in request";

/* How far the search for an inline newline needs to go: a newline any later
 * ends a line longer than RESP_INLINE_MAX even after dropping a CR. */
#define INLINE_SCAN_MAX ((size_t)RESP_INLINE_MAX + 2)

#define ARGV_MIN_CAP    8
#define SCRATCH_MIN_CAP 64

void resp_parser_init(resp_parser_t *p)
{
    memset(p, 0, sizeof *p);
    p->state = ST_START;
}

void resp_parser_free(resp_parser_t *p)
{
    free(p->argv);
    free(p->arg_off);
    free(p->scratch);
    resp_parser_init(p);
}

void resp_parser_trim(resp_parser_t *p)
{
    assert(!resp_parser_busy(p));
    resp_parser_free(p); /* between requests nothing else is kept */
}

int resp_parser_busy(const resp_parser_t *p)
{
    return p->state != ST_START;
}

static int fail(resp_parser_t *p, const char *error)
{
    p->state = ST_ERROR;
    p->error = error;
    return STEP_ERROR;
}

/* Records argument p->argc (not yet counted in argc) as starting at off with
 * len bytes. The arrays grow with the arguments that actually arrive, never
 * with a count a client declared. */
static void set_arg(resp_parser_t *p, size_t off, size_t len)
{
    if (p->argc == p->argv_cap) {
        size_t cap = p->argv_cap ? p->argv_cap * 2 : ARGV_MIN_CAP;
        p->argv = xrealloc(p->argv, cap * sizeof *p->argv);
        p->arg_off = xrealloc(p->arg_off, cap * sizeof *p->arg_off);
        p->argv_cap = cap;
    }
    p->arg_off[p->argc] = off;
    p->argv[p->argc].ptr = NULL;
    p->argv[p->argc].len = len;
}

/* ---- Multibulk requests ------------------------------------------------ */

/*
 * Whether the n bytes of a length line read so far (digits[0..n)), followed
 * by c, can still become a number that num_parse_ll() accepts; whether it
 * is in range is only known at the CR. Stricter than Redis, which looks at
 * the line only once its CR is buffered: the error is the same, only sooner.
 */
static int length_byte_ok(const char *digits, size_t n, char c, int negative_ok)
{
    if (n >= NUM_LL_MAX_DIGITS)
        return 0;
    if (c == '-')
        return n == 0 && negative_ok;
    if (c < '0' || c > '9')
        return 0;
    size_t first = n > 0 && digits[0] == '-' ? 1 : 0;
    if (n == first)
        return c != '0' || first == 0; /* "-0" is not a number */
    return digits[first] != '0';       /* nothing follows a leading 0 */
}

static int expected_dollar(resp_parser_t *p, char got)
{
    /* Redis maps CR and LF in an error to spaces; a NUL could not be shown
     * in a C string at all (Redis never gets this far with one). */
    if (got == '\r' || got == '\n' || got == '\0')
        got = ' ';
    /* The text names the byte, so it is built here, in the scratch space:
     * a parser that fails is answered and dropped, and keeps no 64-byte
     * array in every idle connection for the one time it would need it. */
    static const char fmt[] = "ERR Protocol error: expected '$', got '%c'";
    _Static_assert(sizeof fmt <= SCRATCH_MIN_CAP, "the error fits in the smallest scratch");
    if (p->scratch_cap < sizeof fmt) {
        free(p->scratch);
        p->scratch = xmalloc(SCRATCH_MIN_CAP);
        p->scratch_cap = SCRATCH_MIN_CAP;
    }
    snprintf(p->scratch, p->scratch_cap, fmt, got);
    return fail(p, p->scratch);
}

/* The length line req[line_start..pos-1) has just ended with CR (at pos-1)
 * and LF (at pos). */
static int parse_length(const resp_parser_t *p, const char *req, long long *value)
{
    return num_parse_ll(req + p->line_start, p->pos - 1 - p->line_start, value);
}

static int parse_multibulk(resp_parser_t *p, const char *req, size_t len, size_t *used)
{
    while (p->pos < len) {
        char c = req[p->pos];
        long long value;

        switch (p->state) {
        case ST_COUNT:
        case ST_BULK_LEN: {
            int is_count = p->state == ST_COUNT;
            if (c == '\r')
                p->state = is_count ? ST_COUNT_LF : ST_BULK_LEN_LF;
            else if (!length_byte_ok(req + p->line_start, p->pos - p->line_start, c, is_count))
                return fail(p, is_count ? err_mbulk_len : err_bulk_len);
            p->pos++;
            break;
        }

        case ST_COUNT_LF:
            /* Stricter than Redis, which skips the byte after the CR. */
            if (c != '\n' || parse_length(p, req, &value) < 0 || value > RESP_ARRAY_MAX)
                return fail(p, err_mbulk_len);
            p->pos++;
            if (value <= 0) {
                /* *0 and *-1 are empty requests that Redis skips. */
                *used = p->pos;
                return STEP_SKIP;
            }
            p->array_left = value;
            p->state = ST_BULK_DOLLAR;
            break;

        case ST_BULK_DOLLAR:
            /* Stricter than Redis, which waits for the line's end first. */
            if (c != '$')
                return expected_dollar(p, c);
            p->pos++;
            p->line_start = p->pos;
            p->state = ST_BULK_LEN;
            break;

        case ST_BULK_LEN_LF:
            /* Stricter than Redis, which skips the byte after the CR. */
            if (c != '\n' || parse_length(p, req, &value) < 0 || value < 0 || value > RESP_BULK_MAX)
                return fail(p, err_bulk_len);
            p->pos++;
            set_arg(p, p->pos, (size_t)value);
            p->state = ST_BULK_DATA;
            break;

        case ST_BULK_DATA: {
            /* Jump over the data: a large bulk arriving in small pieces is
             * never scanned, let alone scanned again. */
            size_t end = p->arg_off[p->argc] + p->argv[p->argc].len;
            if (end > len) {
                p->pos = len;
                return STEP_INCOMPLETE;
            }
            p->pos = end;
            p->state = ST_BULK_CR;
            break;
        }

        case ST_BULK_CR:
            /* Stricter than Redis, which skips the CRLF after the data
             * unchecked. */
            if (c != '\r')
                return fail(p, err_bulk_crlf);
            p->pos++;
            p->state = ST_BULK_LF;
            break;

        case ST_BULK_LF:
            if (c != '\n')
                return fail(p, err_bulk_crlf);
            p->pos++;
            p->argc++;
            if (--p->array_left == 0) {
                *used = p->pos;
                return STEP_COMPLETE;
            }
            p->state = ST_BULK_DOLLAR;
            break;

        default:
            assert(!"resp: bad multibulk state");
            return fail(p, err_mbulk_len);
        }
    }
    return STEP_INCOMPLETE;
}

/* ---- Inline requests --------------------------------------------------- */

/* isspace() in the C locale, whatever the process's locale. */
static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* The bytes that end an unquoted token. Not quite is_blank(), as in Redis:
 * "a\vb" is one token, though a \v between tokens separates them. */
static int ends_token(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static char unescape(char c)
{
    switch (c) {
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    case 'b':
        return '\b';
    case 'a':
        return '\a';
    default:
        return c; /* \\, \" and any other escaped byte stand for themselves */
    }
}

/*
 * Reads the token that starts at line[*i], unescaped, into out, sets *n to
 * its length and advances *i past it. A token may mix bare and quoted parts
 * (a"b c" is `ab c`), but ends with its closing quote, which must be
 * followed by a blank or the end of the line. Returns 0, or -EINVAL for
 * unbalanced quotes.
 */
static int read_token(const char *line, size_t len, size_t *i, char *out, size_t *n)
{
    char *o = out;
    char quote = 0;
    size_t k = *i;

    for (;;) {
        if (k == len) {
            if (quote != 0)
                return -EINVAL; /* unterminated quote */
            break;
        }
        char c = line[k];
        if (quote == 0) {
            if (ends_token(c))
                break;
            if (c == '"' || c == '\'')
                quote = c;
            else
                *o++ = c;
            k++;
        } else if (c == quote) {
            if (k + 1 < len && !is_blank(line[k + 1]))
                return -EINVAL; /* "a"b */
            k++;
            break;
        } else if (quote == '"' && c == '\\' && k + 3 < len && line[k + 1] == 'x' &&
                   hex_value(line[k + 2]) >= 0 && hex_value(line[k + 3]) >= 0) {
            *o++ = (char)(hex_value(line[k + 2]) * 16 + hex_value(line[k + 3]));
            k += 4;
        } else if (quote == '"' && c == '\\' && k + 1 < len) {
            *o++ = unescape(line[k + 1]);
            k += 2;
        } else if (quote == '\'' && c == '\\' && k + 1 < len && line[k + 1] == '\'') {
            *o++ = '\'';
            k += 2;
        } else {
            *o++ = c; /* a backslash that ends the line included */
            k++;
        }
    }
    *i = k;
    *n = (size_t)(o - out);
    return 0;
}

/* Splits line[0..len) into p's arguments, unescaped into p->scratch, like
 * Redis's sdssplitargs(). Returns 0, or -EINVAL for unbalanced quotes. */
static int split_inline(resp_parser_t *p, const char *line, size_t len)
{
    size_t i = 0, out = 0;

    for (;;) {
        while (i < len && is_blank(line[i]))
            i++;
        if (i == len)
            return 0;
        /* Unescaping never lengthens: the whole line is always enough. */
        if (p->scratch_cap < len) {
            size_t cap = p->scratch_cap ? p->scratch_cap : SCRATCH_MIN_CAP;
            while (cap < len)
                cap *= 2;
            free(p->scratch);
            p->scratch = xmalloc(cap);
            p->scratch_cap = cap;
        }
        size_t n;
        int rc = read_token(line, len, &i, p->scratch + out, &n);
        if (rc < 0)
            return rc;
        set_arg(p, out, n);
        p->argc++;
        out += n;
    }
}

static int parse_inline(resp_parser_t *p, const char *req, size_t len, size_t *used)
{
    /* The search resumes where the last one stopped, and stops where a
     * newline could only end a line that is too long anyway. */
    size_t limit = len < INLINE_SCAN_MAX ? len : INLINE_SCAN_MAX;
    const char *nl = p->pos < limit ? memchr(req + p->pos, '\n', limit - p->pos) : NULL;
    size_t end = nl != NULL ? (size_t)(nl - req) : len;

    /*
     * The line's length without its CRLF. Without a newline yet, a last CR
     * may be the start of the CRLF: a line of exactly RESP_INLINE_MAX bytes
     * is fine however its bytes were split. (Redis refuses that one when its
     * CR and LF arrive apart, but not when they arrive together.)
     *
     * Stricter than Redis, which checks the length only while it has no
     * newline: a line that is too long is refused with its newline too.
     */
    size_t line_len = end > 0 && req[end - 1] == '\r' ? end - 1 : end;
    if (line_len > RESP_INLINE_MAX)
        return fail(p, err_inline_big);
    if (nl == NULL) {
        p->pos = limit;
        return STEP_INCOMPLETE;
    }

    if (split_inline(p, req, line_len) < 0)
        return fail(p, err_quotes);
    *used = end + 1;
    /* Lines with no arguments, blank ones included, are skipped like *0. */
    return p->argc == 0 ? STEP_SKIP : STEP_COMPLETE;
}

/* ---- The entry point ---------------------------------------------------- */

static void begin_request(resp_parser_t *p, char first)
{
    p->argc = 0;
    if (first == '*') {
        p->state = ST_COUNT;
        p->pos = 1;
        p->line_start = 1;
    } else {
        p->state = ST_INLINE;
        p->pos = 0;
    }
}

/* Turns the offsets of a complete request into pointers. */
static void finish_request(resp_parser_t *p, const char *req)
{
    const char *base = p->state == ST_INLINE ? p->scratch : req;
    for (size_t i = 0; i < p->argc; i++)
        p->argv[i].ptr = base + p->arg_off[i];
}

resp_status_t resp_parse(resp_parser_t *p, const char *buf, size_t len, size_t *consumed)
{
    size_t skipped = 0; /* empty requests dropped by this call */

    *consumed = 0;
    if (p->state == ST_ERROR)
        return RESP_ERROR;
    /* The caller passes again every byte it has shown us before. */
    assert(p->pos <= len);

    for (;;) {
        if (p->state == ST_START) {
            if (skipped == len) {
                *consumed = skipped;
                return RESP_INCOMPLETE;
            }
            begin_request(p, buf[skipped]);
        }

        const char *req = buf + skipped;
        size_t used = 0;
        int step = p->state == ST_INLINE ? parse_inline(p, req, len - skipped, &used)
                                         : parse_multibulk(p, req, len - skipped, &used);
        switch (step) {
        case STEP_COMPLETE:
            finish_request(p, req);
            p->state = ST_START;
            p->pos = 0;
            *consumed = skipped + used;
            return RESP_COMPLETE;
        case STEP_SKIP:
            skipped += used;
            p->state = ST_START;
            p->pos = 0;
            break;
        case STEP_INCOMPLETE:
            /* The request's offsets stay relative to its first byte, which
             * is where the caller's buffer will start next time. */
            *consumed = skipped;
            return RESP_INCOMPLETE;
        default:
            return RESP_ERROR;
        }
    }
}
