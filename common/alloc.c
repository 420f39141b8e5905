#include "alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__ /* defined by the headers above */
#include <malloc.h>
#endif

static void oom(size_t size)
{
    /* No logging module here on purpose: log_write() may itself allocate. */
    fprintf(stderr, "fatal: out of memory allocating %zu bytes\n", size);
    abort();
}

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (p == NULL)
        oom(size);
    return p;
}

void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p == NULL)
        oom(count * size);
    return p;
}

void *xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (p == NULL)
        oom(size);
    return p;
}

char *xmemdup(const void *p, size_t len)
{
    char *copy = xmalloc(len + 1);
    if (len > 0)
        memcpy(copy, p, len);
    copy[len] = '\0';
    return copy;
}

void alloc_init(void)
{
#ifdef __GLIBC__
    /* Setting the threshold also turns off its adjustment, and with it the
     * trim threshold's: both stay at glibc's initial values. */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
}
