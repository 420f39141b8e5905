#ifndef TEST_AOF_H
#define TEST_AOF_H

#include "keyset.h"

#include "buf.h"

#include <CUnit/CUnit.h>
#include <stddef.h>

/*
 * What the append-only file's suites share (conformance_aof.c,
 * stage3_aof.c, stage4_aof.c; the interface is issue 14's: INFO's aof_
 * lines, the start-up log lines, common/aof.h's record format). The
 * prefix is aoft_ ("AOF test") so that nothing here is mistaken for, or
 * collides with, common/aof.h's aof_ functions.
 */

/* The emulated slow disk of the timing tests (--appendfsync-delay-ms), and
 * the bounds checked against it: a reply that waits for the disk takes at
 * least AOFT_HELD_MS, one that does not within AOFT_FAST_MS. */
#define AOFT_DELAY_ARG "300"
#define AOFT_DELAY_MS  300
#define AOFT_HELD_MS   250
#define AOFT_FAST_MS   100

/* The current test's <fixture_dir()>/appendonly.aof and <dir>/server.log,
 * each in a buffer of its own (fixture_path()'s rotate: a path kept
 * across eight more calls would change under the test). */
const char *aoft_file(void);
const char *aoft_log(void);

/* INFO's aof_ numbers, read from one INFO reply (so they are one instant's). */
typedef struct aoft_stats {
    long long enabled, appended, written, synced, fsyncs;
    char fsync[16]; /* "always", "everysec", "no"; "" when absent */
} aoft_stats_t;

/* Sends INFO on fd and fills *st. A test whose INFO lacks a field ends
 * here (aof_enabled:0 alone is complete: the rest are then 0). */
#define AOFT_STATS(fd, st) aoft_stats_at(__FILE__, __LINE__, (fd), (st))

void aoft_stats_at(const char *file, unsigned line, int fd, aoft_stats_t *st);

/* Stages 3 and 4: INFO's loop_cmd_<name> line ("calls=N,usec=T,usec_max=M",
 * what the loop thread spent in that command). Returns 0 and fills the
 * numbers, -ENOENT when INFO has no such line, -EPROTO when it reads
 * otherwise, or the negative errno of the round trip. */
typedef struct aoft_loop_cmd {
    long long calls, usec, usec_max;
} aoft_loop_cmd_t;

int aoft_loop_cmd(int fd, const char *name, aoft_loop_cmd_t *out);

/* Appends to b the record the server logs for argv[0..argc) (NUL-terminated
 * strings): a RESP array of bulk strings, common/aof.h's format. Returns
 * the record's length. */
size_t aoft_record(buf_t *b, size_t argc, const char *const *argv);

/* The bytes of the records that KEYSET_SET(ks) makes the server log. */
long long aoft_keyset_bytes(const keyset_t *ks);

/* GETs every key of ks on fd (pipelined) and returns how many are missing
 * or hold another value; -1 when a reply does not come. */
long long aoft_keyset_missing(int fd, const keyset_t *ks);

/* The size of the file at path (stat), or -1 when there is none. */
long long aoft_file_size(const char *path);

/* Writes data[0..len) to path (created or truncated); a test that cannot
 * ends here. */
void aoft_write_file(const char *path, const void *data, size_t len);

/* Waits up to timeout_ms for a line of the log at log_path that contains
 * both a and b (b may be NULL). Returns 1 when one appears, 0 otherwise. */
int aoft_log_wait_line(const char *log_path, const char *a, const char *b, int timeout_ms);

#endif /* TEST_AOF_H */
