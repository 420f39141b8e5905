#ifndef RESP_FIXTURE_H
#define RESP_FIXTURE_H

/*
 * What the unit tests of common/resp.c share (test_resp.c,
 * test_resp_parser.c, test_resp_reply.c): the form of a parser case, and
 * a caller that feeds a case to a parser as a real caller does.
 *
 * A case is an input, the status at the end of it, the requests it holds,
 * the bytes consumed and the error text. The caller keeps the bytes the
 * parser did not consume and passes them again, followed by the new ones.
 * Requests are compared in RESP multibulk form (serialised by the fixture,
 * not by the encoder under test), which keeps the expectations binary safe
 * and makes a canonical multibulk input its own expectation.
 */

#include "resp.h"

#include <stddef.h>
#include <stdint.h>

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

/* How the input arrives: the number of bytes available after the next
 * delivery, given how many are available now. */
typedef struct schedule {
    enum { SCHED_WHOLE, SCHED_SPLIT, SCHED_STEP, SCHED_RANDOM } kind;
    size_t arg;    /* SPLIT: the first delivery; STEP: bytes per delivery;
                      RANDOM: largest delivery */
    uint32_t seed; /* RANDOM */
} schedule_t;

/* Prints bytes with C escapes, for failure reports. */
void print_bytes(const char *what, const char *s, size_t n);

/* Feeds c to a fresh parser on schedule s and checks the outcome; reports
 * and returns 0 on a mismatch. With move set, every call sees the bytes in
 * a new buffer of exactly their size (ASan catches a read past them, or
 * through a stale pointer), and the parser is trimmed whenever it is idle. */
int check_feed(const parse_case_t *c, schedule_t s, int move);

/* Whole, every two-way split, one byte at a time. */
void check_case_everyway(const parse_case_t *c);

/* For large inputs, where every split would take too long: whole, one byte
 * at a time, random pieces small and large, and the splits within `ends`
 * bytes of either end, in the middle and at `strides` points between. A
 * moving buffer is copied at every call, so only the runs with few calls
 * move it. */
void check_case_sampled(const parse_case_t *c, int move, size_t ends, size_t strides);

#endif /* RESP_FIXTURE_H */
