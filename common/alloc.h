#ifndef ALLOC_H
#define ALLOC_H

#include <stddef.h>

/*
 * Allocation that cannot fail.
 *
 * A server that cannot allocate a few bytes cannot answer its clients
 * usefully either, so, as Redis does, running out of memory is fatal: these
 * wrappers log the size that failed and abort. Every other kind of failure in
 * this repository is returned to the caller as a negative errno.
 */

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);

/* Returns a copy of p[0..len) followed by a NUL byte (the NUL is not counted
 * in len, so binary data with NULs inside survives). */
char *xmemdup(const void *p, size_t len);

#endif /* ALLOC_H */
