#ifndef DUMP_FIXTURE_H
#define DUMP_FIXTURE_H

/*
 * What the unit tests of the dump share (test_dump.c, test_dump_corrupt.c,
 * test_dump_write.c, test_dump_lock.c): a fresh directory per test, whole
 * files read and written without common/'s code, and dumps made by hand
 * in the format, written out here rather than taken from dump.c, so that a
 * change to it shows up as a failing test.
 */

#include "buf.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

/* The header every dump starts with: magic and format version 1. */
#define DUMP_V1_HEADER "*2\r\n$4\r\nECHO\r\n$20\r\nstaged-ports dump v1\r\n"

/* What dump_load() says it expected when the header is wrong. */
#define WANT_HEADER                                                                                \
    "expected \"*2\\r\\n$4\\r\\nECHO\\r\\n$20\\r\\nstaged-ports dump v1\\r\\n\" (the header: "     \
    "magic and format version 1)"

/* The test's directory, and tmp_dir/dump.resp, the dump the tests use. */
extern char tmp_dir[256];
extern char tmp_dump[320];

/* For CU_SuiteInfo's per-test set-up and tear-down: create the directory
 * (a run that cannot aborts), and remove it with everything in it. */
void dump_fixture_setup(void);
void dump_fixture_teardown(void);

/* Writes data[0..len) to the file at p, created or truncated. */
void write_raw(const char *p, const void *data, size_t len);

/* Reads the file at p into out (cleared first). Returns 0 or -1. */
int read_raw(const char *p, buf_t *out);

/* Number of entries in tmp_dir other than "." and "..", and whether any of
 * them is a leftover "dump.resp.tmp-*". */
size_t dir_entries(int *tmp_left);

/* 1 when a and b hold exactly the same entries. */
int stores_equal(const store_t *a, const store_t *b);

/* Appends one "SET key value" command as dump_serialize() writes it. */
void append_set(buf_t *out, const char *key, size_t klen, const char *val, size_t vlen);

/* Appends the trailer for `keys` keys and a checksum of crc. */
void append_trailer(buf_t *out, size_t keys, uint64_t crc);

/* A whole dump around body (SET commands, or whatever a test puts there):
 * the header, body, and a trailer that says `keys` keys and holds the
 * right checksum, so that only the parser can object to body. */
void make_file(buf_t *out, const void *body, size_t blen, size_t keys);

/* The body of most corruption tests: two keys, one with a NUL inside. */
void two_sets(buf_t *body);

/* Checks, without dump.c's parser, that data[0..len) is the header, SET
 * commands, and a trailer whose key count and checksum are right. Returns
 * the number of SET commands, or -1. */
long check_file_format(const char *data, size_t len);

/* The store the round trip tests use: `plain` plain keys and every
 * awkward kind (empty key, empty value, NUL, protocol inside data, a
 * 300 KiB value). */
store_t *awkward_store(size_t plain);

#endif /* DUMP_FIXTURE_H */
