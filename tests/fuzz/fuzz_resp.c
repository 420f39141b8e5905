/*
 * libFuzzer target for the RESP request parser (make fuzz).
 *
 * The first byte of the input chooses how the rest is cut into pieces; the
 * rest is the byte stream a client sends. The stream is parsed three ways:
 * all at once, in pieces of pseudo-random sizes, and one byte at a time.
 * Every way must give the same results (status, arguments, error, bytes
 * consumed), since the parser promises that the split never matters.
 *
 * In the first two, each call sees its bytes in a freshly allocated buffer
 * of exactly the visible size, at a new address: AddressSanitizer catches
 * any read past what the parser was given, and any pointer kept from an
 * earlier call.
 */

#include "buf.h"
#include "resp.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One way of cutting the stream: the size of the next piece. */
typedef size_t (*next_piece_cb)(void *user);

typedef struct pieces {
    uint32_t seed;
    size_t max;
} pieces_t;

static size_t all_at_once(void *user)
{
    (void)user;
    return SIZE_MAX;
}

static size_t one_byte(void *user)
{
    (void)user;
    return 1;
}

static size_t random_piece(void *user)
{
    pieces_t *pc = user;
    /* xorshift32: cheap, and fully determined by the input. */
    pc->seed ^= pc->seed << 13;
    pc->seed ^= pc->seed >> 17;
    pc->seed ^= pc->seed << 5;
    return 1 + pc->seed % pc->max;
}

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_resp: %s\n", what);
        abort();
    }
}

static void append_size(buf_t *out, size_t n)
{
    buf_append(out, &n, sizeof n);
}

/*
 * Feeds data[0..size) to a new parser as a real caller would: bytes arrive
 * in pieces; after each piece the caller parses until the parser needs more,
 * dropping what it consumed and keeping the rest. The requests, the error
 * and the state at the end of the stream go to log; the INCOMPLETEs along
 * the way depend on the split by nature and are only checked.
 *
 * With move set, every call gets its bytes in a new buffer of exactly their
 * size. Without it (the one-byte run, where copying at every call would be
 * quadratic), every call gets a window of one copy of the whole stream.
 */
static void run(const uint8_t *data, size_t size, next_piece_cb next, void *user, int move,
                buf_t *log)
{
    resp_parser_t p;
    size_t start = 0; /* the first byte not consumed yet */
    size_t avail = 0; /* bytes that have arrived */
    resp_status_t st = RESP_INCOMPLETE;

    resp_parser_init(&p);
    while (avail < size && st != RESP_ERROR) {
        size_t piece = next(user);
        avail = piece >= size - avail ? size : avail + piece;

        do {
            size_t len = avail - start, consumed = 0;
            const char *view = (const char *)data + start;
            char *copy = NULL;
            if (move) {
                copy = malloc(len ? len : 1);
                check(copy != NULL, "out of memory");
                if (len > 0)
                    memcpy(copy, view, len);
                view = copy;
            }
            st = resp_parse(&p, view, len, &consumed);
            check(consumed <= len, "consumed more than given");

            if (st == RESP_COMPLETE) {
                check(p.argc >= 1, "complete request without arguments");
                check(!resp_parser_busy(&p), "busy after a complete request");
                buf_append(log, "C", 1);
                append_size(log, start + consumed);
                append_size(log, p.argc);
                for (size_t i = 0; i < p.argc; i++) {
                    append_size(log, p.argv[i].len);
                    buf_append(log, p.argv[i].ptr, p.argv[i].len);
                }
            } else if (st == RESP_ERROR) {
                check(consumed == 0, "consumed bytes on error");
                check(p.error != NULL, "error without text");
                buf_append(log, "E", 1);
                buf_append_str(log, p.error);
            } else {
                check(resp_parser_busy(&p) == (consumed < len),
                      "busy does not match the bytes left over");
            }
            free(copy);
            start += consumed;
            /* Between requests: an idle connection drops its memory. */
            if (st == RESP_COMPLETE || (st == RESP_INCOMPLETE && start == avail))
                resp_parser_trim(&p);
        } while (st == RESP_COMPLETE);
    }
    buf_append(log, "Z", 1);
    buf_append(log, &st, sizeof st);
    /* After an error, empty requests skipped before it in the same call
     * are not counted as consumed (the connection closes anyway), so only
     * the end of the last complete request is comparable. */
    if (st != RESP_ERROR)
        append_size(log, start);
    resp_parser_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* First byte below 128: pieces of up to 32 bytes; above: up to 4 KiB. */
    pieces_t pc = {
        .seed = 0x9e3779b9u ^ data[0],
        .max = data[0] < 128 ? (size_t)(data[0] % 32) + 1 : (size_t)(data[0] - 127) * 32,
    };
    data++;
    size--;

    buf_t whole = BUF_INIT, pieces = BUF_INIT, bytes = BUF_INIT;
    /* libFuzzer's own copy of the input is exactly sized too. */
    run(data, size, all_at_once, NULL, 1, &whole);
    run(data, size, random_piece, &pc, 1, &pieces);
    run(data, size, one_byte, NULL, 0, &bytes);
    check(whole.len == pieces.len && memcmp(whole.data, pieces.data, whole.len) == 0,
          "pieces of random sizes disagree with the whole input");
    check(whole.len == bytes.len && memcmp(whole.data, bytes.data, whole.len) == 0,
          "one byte at a time disagrees with the whole input");
    buf_free(&whole);
    buf_free(&pieces);
    buf_free(&bytes);
    return 0;
}
