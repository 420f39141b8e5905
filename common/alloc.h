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

/*
 * Sets the C library's allocator up for a long-running server, whose
 * connections come and go with big buffers: call it once at start-up,
 * before the first thread. Afterwards a block of 128 KiB or more is a
 * mapping of its own, given back to the kernel as soon as it is freed.
 *
 * Without it glibc raises that threshold after the first big block is
 * freed (up to 32 MiB), and each thread's arena may then keep twice the
 * new threshold of freed memory: a thread per connection, each of which
 * once read an 8 MiB request, would keep 16 MiB resident apiece after
 * giving the buffers back. Elsewhere than glibc it does nothing.
 */
void alloc_init(void);

#endif /* ALLOC_H */
