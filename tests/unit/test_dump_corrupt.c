/* Unit tests of dump_load() on corrupt files: whatever is cut, flipped,
 * appended or not as the server writes it, the file is refused whole, with
 * a message that says where and what. */

#include "dump_fixture.h"

#include "dump.h"
#include "harness.h"

#include "buf.h"
#include "crc64.h"
#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== Corrupt files ======================================================= */

/*
 * Writes data[0..len) as the dump, loads it, and checks that it is refused
 * whole with -EBADMSG and exactly the message "<path>: <want>". Returns 1
 * when it was.
 */
static int expect_refused_n(const void *data, size_t len, const char *want)
{
    write_raw(tmp_dump, data, len);
    store_t *loaded = (store_t *)&loaded;
    char err[512] = "";
    int rc = dump_load(tmp_dump, &loaded, err, sizeof err);
    CU_ASSERT_EQUAL(rc, -EBADMSG);
    CU_ASSERT_PTR_EQUAL(loaded, (store_t *)&loaded);
    if (want == NULL)
        return rc == -EBADMSG;
    char full[512];
    snprintf(full, sizeof full, "%s: %s", tmp_dump, want);
    CU_ASSERT_STRING_EQUAL(err, full);
    if (strcmp(err, full) != 0)
        fprintf(stderr, "\n    message was: \"%s\"\n    wanted:      \"%s\"\n", err, full);
    return rc == -EBADMSG && strcmp(err, full) == 0;
}

static int expect_refused(const buf_t *file, const char *want)
{
    return expect_refused_n(file->data, file->len, want);
}

/* "expected a SET command or the trailer, found <found>" at byte at. */
static void want_command(char *out, size_t outlen, size_t at, const char *found)
{
    snprintf(out, outlen,
             "corrupt at byte %zu: expected a SET command (\"*3\\r\\n$3\\r\\nSET\\r\\n\"...) or "
             "the trailer (\"*2\\r\\n$4\\r\\nECHO\\r\\n\"...), found %s",
             at, found);
}

static void test_corrupt_header(void)
{
    buf_t body = BUF_INIT, file = BUF_INIT;
    expect_refused_n("", 0, "corrupt at byte 0: " WANT_HEADER ", found the end of the file");

    /* The format before the header existed: SET commands only. */
    two_sets(&body);
    expect_refused(&body, "corrupt at byte 1: " WANT_HEADER
                          ", found \"3\\r\\n$3\\r\\nSET\\r\\n$2\\r\\n\"...");

    /* Another version, another magic, a header cut short. */
    make_file(&file, body.data, body.len, 2);
    file.data[38] = '2';
    expect_refused(&file, "corrupt at byte 38: " WANT_HEADER
                          ", found \"2\\r\\n*3\\r\\n$3\\r\\nSET\\r\\n\"...");
    make_file(&file, body.data, body.len, 2);
    file.data[19] = 'S';
    expect_refused(&file, "corrupt at byte 19: " WANT_HEADER ", found \"Staged-ports dum\"...");
    expect_refused_n(DUMP_V1_HEADER, 30,
                     "corrupt at byte 30: " WANT_HEADER ", found the end of the file");
    buf_free(&body);
    buf_free(&file);
}

/* Cut anywhere, the file is refused, and at or before the cut. */
static void test_corrupt_truncated(void)
{
    buf_t body = BUF_INIT, file = BUF_INIT;
    two_sets(&body);
    make_file(&file, body.data, body.len, 2);
    int refused = 0;
    for (size_t cut = 0; cut < file.len; cut++) {
        write_raw(tmp_dump, file.data, cut);
        store_t *loaded = NULL;
        char err[512] = "";
        if (dump_load(tmp_dump, &loaded, err, sizeof err) != -EBADMSG) {
            store_free(loaded);
            continue;
        }
        size_t at = SIZE_MAX;
        char *p = strstr(err, "corrupt at byte ");
        if (p != NULL)
            at = strtoul(p + 16, NULL, 10);
        refused += at <= cut && strstr(err, "the end of the file") != NULL;
    }
    CU_ASSERT_EQUAL(refused, (int)file.len);

    /* At a command boundary, with no trailer: the loss is named. */
    char want[512];
    want_command(want, sizeof want, sizeof DUMP_V1_HEADER - 1 + body.len, "the end of the file");
    expect_refused_n(file.data, sizeof DUMP_V1_HEADER - 1 + body.len, want);
    /* Inside the trailer's text. */
    snprintf(want, sizeof want,
             "corrupt at byte %zu: expected the 51 byte(s) of the trailer's text, found only 10 "
             "before the end of the file",
             sizeof DUMP_V1_HEADER - 1 + body.len + 19);
    expect_refused_n(file.data, sizeof DUMP_V1_HEADER - 1 + body.len + 29, want);
    /* In the middle of a value. */
    snprintf(want, sizeof want,
             "corrupt at byte %zu: expected the 5 byte(s) of the value, found only 2 before the "
             "end of the file",
             sizeof DUMP_V1_HEADER - 1 + body.len - 7);
    expect_refused_n(file.data, sizeof DUMP_V1_HEADER - 1 + body.len - 5, want);
    buf_free(&body);
    buf_free(&file);
}

/* A flipped byte in a value or a key parses: the checksum catches it. */
static void test_corrupt_checksum(void)
{
    buf_t body = BUF_INIT, file = BUF_INIT;
    two_sets(&body);
    make_file(&file, body.data, body.len, 2);
    size_t trailer_at = sizeof DUMP_V1_HEADER - 1 + body.len;
    uint64_t stated = crc64(file.data, trailer_at);
    static const char *const targets[] = {"value", "k1"};
    for (size_t i = 0; i < 2; i++) {
        make_file(&file, body.data, body.len, 2);
        char *at = memmem(file.data, file.len, targets[i], strlen(targets[i]));
        CU_ASSERT_PTR_NOT_NULL_FATAL(at);
        at[1] ^= 0x20; /* "vAlue", "K1" */
        char want[512];
        snprintf(want, sizeof want,
                 "checksum mismatch: the trailer at byte %zu says crc64 %016" PRIx64
                 ", the %zu bytes before it hash to %016" PRIx64,
                 trailer_at, stated, trailer_at, crc64(file.data, trailer_at));
        expect_refused(&file, want);
    }

    /* The trailer states another checksum. */
    make_file(&file, body.data, body.len, 2);
    char *hex = file.data + file.len - 2 - 16;
    hex[15] = hex[15] == '0' ? '1' : '0';
    char want[512];
    snprintf(want, sizeof want,
             "checksum mismatch: the trailer at byte %zu says crc64 %.16s, the %zu bytes before "
             "it hash to %016" PRIx64,
             trailer_at, hex, trailer_at, stated);
    expect_refused(&file, want);
    buf_free(&body);
    buf_free(&file);
}

/* Whatever single bit is flipped, wherever, the file is refused. */
static void test_corrupt_every_bit(void)
{
    buf_t body = BUF_INIT, file = BUF_INIT;
    two_sets(&body);
    make_file(&file, body.data, body.len, 2);
    int loaded_anyway = 0;
    for (size_t i = 0; i < file.len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            file.data[i] ^= (char)(1u << bit);
            write_raw(tmp_dump, file.data, file.len);
            store_t *loaded = NULL;
            if (dump_load(tmp_dump, &loaded, NULL, 0) != -EBADMSG) {
                loaded_anyway++;
                store_free(loaded);
            }
            file.data[i] ^= (char)(1u << bit);
        }
    }
    CU_ASSERT_EQUAL(loaded_anyway, 0);
    buf_free(&body);
    buf_free(&file);
}

static void test_corrupt_after_trailer(void)
{
    buf_t body = BUF_INIT, file = BUF_INIT;
    two_sets(&body);
    static const struct {
        const char *text, *found;
    } tails[] = {
        {"SET extra 1\r\n", "13 more byte(s): \"SET extra 1\\r\\n\" then the end of the file"},
        {"*3\r\n$3\r\nSET\r\n$5\r\nextra\r\n$1\r\n1\r\n",
         "31 more byte(s): \"*3\\r\\n$3\\r\\nSET\\r\\n$5\\r\"..."},
        {"\n", "1 more byte(s): \"\\n\" then the end of the file"},
        {"\0", "1 more byte(s): \"\\x00\" then the end of the file"},
    };
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        make_file(&file, body.data, body.len, 2);
        size_t end = file.len;
        buf_append(&file, tails[i].text, tails[i].text[0] != '\0' ? strlen(tails[i].text) : 1);
        char want[512];
        snprintf(want, sizeof want,
                 "corrupt at byte %zu: expected the end of the file after the trailer, found %s",
                 end, tails[i].found);
        expect_refused(&file, want);
    }
    /* And a second trailer. */
    make_file(&file, body.data, body.len, 2);
    size_t end = file.len;
    append_trailer(&file, 2, crc64(file.data, file.len));
    char want[512];
    snprintf(want, sizeof want,
             "corrupt at byte %zu: expected the end of the file after the trailer, found 72 more "
             "byte(s): \"*2\\r\\n$4\\r\\nECHO\\r\\n$5\"...",
             end);
    expect_refused(&file, want);
    buf_free(&body);
    buf_free(&file);
}

/* Only what the server writes: commands it accepts from a client, but
 * never writes itself, are refused even with a right checksum. */
static void test_corrupt_not_written_so(void)
{
    static const struct {
        const char *text;
        size_t len;
        const char *found;
    } bodies[] = {
        {"SET k v\r\n", 9, "\"SET k v\\r\\n*2\\r\\n$4\\r\"..."},
        {"*3\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\n1\r\n", 27, "\"*3\\r\\n$3\\r\\nset\\r\\n$1\\r\"..."},
        {"\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n", 29,
         "\"\\r\\n*3\\r\\n$3\\r\\nSET\\r\\n$\"..."},
        {"*2\r\n$3\r\nDEL\r\n$2\r\nk1\r\n", 21, "\"*2\\r\\n$3\\r\\nDEL\\r\\n$2\\r\"..."},
        {"*4\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\n$2\r\nEX\r\n", 35,
         "\"*4\\r\\n$3\\r\\nSET\\r\\n$1\\r\"..."},
        {"+OK\r\n", 5, "\"+OK\\r\\n*2\\r\\n$4\\r\\nECH\"..."},
        {"\x01\xfe\x7f\x00garbage", 11, "\"\\x01\\xfe\\x7f\\x00garbage*2\\r\\n$\"..."},
    };
    buf_t body = BUF_INIT, file = BUF_INIT;
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        two_sets(&body);
        size_t at = sizeof DUMP_V1_HEADER - 1 + body.len;
        buf_append(&body, bodies[i].text, bodies[i].len);
        make_file(&file, body.data, body.len, 3);
        char want[512];
        want_command(want, sizeof want, at, bodies[i].found);
        expect_refused(&file, want);
    }
    buf_free(&body);
    buf_free(&file);
}

/* A SET whose parts are not as the server writes them. */
static void test_corrupt_set(void)
{
    static const struct {
        const char *text;
        size_t at; /* from the start of this SET */
        const char *want;
    } sets[] = {
        {"*3\r\n$3\r\nSET\r\n$abc\r\nk\r\n$1\r\nv\r\n", 14,
         "expected the length of the key in decimal digits, found "
         "\"abc\\r\\nk\\r\\n$1\\r\\nv\\r\\n*\"..."},
        {"*3\r\n$3\r\nSET\r\n$-1\r\n$1\r\nv\r\n", 14,
         "expected the length of the key in decimal digits, found "
         "\"-1\\r\\n$1\\r\\nv\\r\\n*2\\r\\n$\"..."},
        {"*3\r\n$3\r\nSET\r\n$01\r\nk\r\n$1\r\nv\r\n", 14,
         "expected the length of the key in decimal digits, found "
         "\"01\\r\\nk\\r\\n$1\\r\\nv\\r\\n*2\"..."},
        {"*3\r\n$3\r\nSET\r\n$99999999999999999999\r\n", 14,
         "expected the length of the key, at most 9223372036854775807, found "
         "\"9999999999999999\"..."},
        {"*3\r\n$3\r\nSET\r\n$1 \r\nk\r\n$1\r\nv\r\n", 15,
         "expected \"\\r\\n\" (after the length of the key), found \" "
         "\\r\\nk\\r\\n$1\\r\\nv\\r\\n*2\\r\"..."},
        {"*3\r\n$3\r\nSET\r\nk\r\n$1\r\nv\r\n", 13,
         "expected \"$\" (the start of the key), found \"k\\r\\n$1\\r\\nv\\r\\n*2\\r\\n$4\"..."},
        {"*3\r\n$3\r\nSET\r\n$1\r\nkk\r\n$1\r\nv\r\n", 18,
         "expected \"\\r\\n\" (after the 1 byte(s) of the key), found "
         "\"k\\r\\n$1\\r\\nv\\r\\n*2\\r\\n$4\"..."},
        {"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\n", 25,
         "expected \"\\r\\n\" (after the 1 byte(s) of the value), found "
         "\"\\n*2\\r\\n$4\\r\\nECHO\\r\\n$\"..."},
        {"*3\r\n$3\r\nSET\r\n$2\r\nk1\r\n$1\r\nx\r\n", 0,
         "expected a SET of a key not set before, found a second one"},
    };
    buf_t body = BUF_INIT, file = BUF_INIT;
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        two_sets(&body);
        size_t at = sizeof DUMP_V1_HEADER - 1 + body.len + sets[i].at;
        buf_append_str(&body, sets[i].text);
        make_file(&file, body.data, body.len, 3);
        char want[512];
        snprintf(want, sizeof want, "corrupt at byte %zu: %s", at, sets[i].want);
        expect_refused(&file, want);
    }
    buf_free(&body);
    buf_free(&file);
}

static void test_corrupt_trailer(void)
{
    buf_t body = BUF_INIT, file = BUF_INIT;
    two_sets(&body);
    size_t trailer_at = sizeof DUMP_V1_HEADER - 1 + body.len;
    size_t text_at = trailer_at + 19; /* after "*2\r\n$4\r\nECHO\r\n$51\r\n" */
    char want[512];

    /* A wrong key count: one key less, one more, the SETs of one key
     * removed from a file that still counts it. */
    make_file(&file, body.data, body.len, 3);
    snprintf(want, sizeof want,
             "corrupt at byte %zu: expected the key count 2 (the SET commands before the trailer), "
             "found 3",
             text_at + 27);
    expect_refused(&file, want);
    make_file(&file, body.data, body.len, 1);
    snprintf(want, sizeof want,
             "corrupt at byte %zu: expected the key count 2 (the SET commands before the trailer), "
             "found 1",
             text_at + 27);
    expect_refused(&file, want);

    /* The text not as written: uppercase hex, a leading zero, another
     * word, a short checksum, something after it. */
    static const struct {
        const char *text;
        size_t at;
        const char *want;
    } texts[] = {
        {"staged-ports dump end keys=2 crc64=ABCDEF0123456789", 35,
         "expected 16 lowercase hex digits (the checksum), found \"ABCDEF0123456789\" then the end "
         "of the trailer's text"},
        {"staged-ports dump end keys=02 crc64=0123456789abcdef", 27,
         "expected the key count in decimal digits, found \"02 crc64=0123456\"..."},
        {"staged-ports dump end count=2 crc64=0123456789abcdef", 22,
         "expected \"staged-ports dump end keys=\" (the trailer's text), found "
         "\"count=2 crc64=01\"..."},
        {"staged-ports dump end keys=2 crc64=0123", 39,
         "expected 16 lowercase hex digits (the checksum), found the end of the trailer's text"},
        {"staged-ports dump end keys=2 crc64=0123456789abcdef ", 51,
         "expected the end of the trailer's text, found \" \" then the end of the trailer's text"},
        {"staged-ports dump end keys=2 crc32=01234567", 32,
         "expected \" crc64=\" (after the key count), found \"32=01234567\" then the end of the "
         "trailer's text"},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        buf_clear(&file);
        buf_append(&file, DUMP_V1_HEADER, sizeof DUMP_V1_HEADER - 1);
        buf_append(&file, body.data, body.len);
        buf_printf(&file, "*2\r\n$4\r\nECHO\r\n$%zu\r\n%s\r\n", strlen(texts[i].text),
                   texts[i].text);
        size_t at = trailer_at + 15 + (strlen(texts[i].text) >= 10 ? 4 : 3) + texts[i].at;
        snprintf(want, sizeof want, "corrupt at byte %zu: %s", at, texts[i].want);
        expect_refused(&file, want);
    }
    buf_free(&body);
    buf_free(&file);
}

static void test_corrupt_message_fits(void)
{
    /* A tiny err buffer gets a NUL-terminated prefix, and NULL is allowed. */
    store_t *loaded = NULL;
    char err[8];
    memset(err, 'x', sizeof err);
    write_raw(tmp_dump, "", 0);
    CU_ASSERT_EQUAL(dump_load(tmp_dump, &loaded, err, sizeof err), -EBADMSG);
    CU_ASSERT_EQUAL(err[sizeof err - 1], '\0');
    CU_ASSERT_EQUAL(dump_load(tmp_dump, &loaded, NULL, 0), -EBADMSG);
    CU_ASSERT_PTR_NULL(loaded);
}

/* ==== Suites ============================================================== */

static CU_TestInfo corrupt_tests[] = {
    {"header", test_corrupt_header},
    {"truncated anywhere", test_corrupt_truncated},
    {"checksum", test_corrupt_checksum},
    {"every single-bit flip", test_corrupt_every_bit},
    {"anything after the trailer", test_corrupt_after_trailer},
    {"commands the server never writes", test_corrupt_not_written_so},
    {"SET not as written", test_corrupt_set},
    {"trailer", test_corrupt_trailer},
    {"message fits", test_corrupt_message_fits},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"corrupt", NULL, NULL, dump_fixture_setup, dump_fixture_teardown, corrupt_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
