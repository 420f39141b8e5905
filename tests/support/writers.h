#ifndef TEST_WRITERS_H
#define TEST_WRITERS_H

#include "store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

/*
 * Clients that keep writing while something else happens (a SAVE). Each
 * writer is a thread with its own connection that SETs w<id>:<n> to
 * value-<id>-<n> for n = 0, 1, 2, ..., WRITER_BATCH at a time pipelined,
 * until told to stop, counting the acknowledgements. Each writer writes in
 * order, so a snapshot of the store taken at one instant holds, for each
 * writer, exactly the keys 0..k-1 for some k: writers_check_snapshot()
 * checks that of a dump.
 */

#define WRITERS_MAX  8
#define WRITER_BATCH 10

struct writers;

typedef struct writer {
    pthread_t tid;
    struct writers *group;
    int id;
    atomic_llong sets;   /* acknowledged with +OK: keys 0..sets-1 are written */
    atomic_llong errors; /* replies other than +OK, or a broken connection */
} writer_t;

typedef struct writers {
    int port;
    int count;
    int pause_ms;        /* between batches: a steady stream rather than a flood */
    const char *hot_key; /* if not NULL, every batch also SETs it: a key all writers change */
    atomic_int stop;
    writer_t w[WRITERS_MAX];
} writers_t;

/* Starts count writers against the server on port. Returns 0, or a
 * negative errno with no writer left running. */
int writers_start(writers_t *ws, int port, int count, int pause_ms, const char *hot_key);

/* Tells the writers to stop after their current batch and waits for them. */
void writers_stop(writers_t *ws);

/* Waits until every writer has more than floor[i] SETs acknowledged, or
 * has failed. Returns 0, or -1 after timeout_ms. */
int writers_progress(writers_t *ws, const long long *floor, int timeout_ms);

/* Acknowledged SETs and errors, summed over the writers. */
long long writers_sets(writers_t *ws);
long long writers_errors(writers_t *ws);

/* GETs every acknowledged key on fd, in pipelined batches. Returns the
 * number of keys missing or with the wrong value. Call after
 * writers_stop(). */
long long writers_check_store(writers_t *ws, int fd);

/*
 * Checks the writers' keys in s, a snapshot (a loaded dump): for each
 * writer, keys 0..k-1 with their values and none after, where
 * floor[i] <= k <= what it had acknowledged (floor may be NULL: 0). Adds
 * the number of writers' keys found to *found. Returns the number of
 * problems. Call after writers_stop().
 */
long long writers_check_snapshot(writers_t *ws, const store_t *s, const long long *floor,
                                 size_t *found);

#endif /* TEST_WRITERS_H */
