#ifndef TEST_KEYSET_H
#define TEST_KEYSET_H

#include "store.h"

#include <CUnit/CUnit.h>

/*
 * Keys a test writes before something happens (a SAVE, a shutdown) and
 * then looks for, intact, in the store or the dump: key number i is
 * key_prefix followed by i in decimal, its value value_prefix followed by
 * i, for i in first .. first + count - 1.
 */
typedef struct keyset {
    const char *key_prefix;   /* "pre:" for pre:0, pre:1, ...; no space */
    const char *value_prefix; /* may hold spaces; no quote, backslash, CR or LF */
    long long first, count;
} keyset_t;

/* SETs every key of ks on fd, batch inline SETs (SET key "value")
 * pipelined at a time, and asserts
 * that each is answered +OK; stops at the first batch that is not.
 * Evaluates to CU_TRUE when every one was. */
#define KEYSET_SET(fd, ks, batch) keyset_set_at(__FILE__, __LINE__, (fd), (ks), (batch))

CU_BOOL keyset_set_at(const char *file, unsigned line, int fd, const keyset_t *ks, int batch);

/* The keys of ks missing from s, or holding another value. */
long long keyset_missing(const store_t *s, const keyset_t *ks);

/* The same for the dump file at path; -1 (with the reason on stderr) when
 * it does not load. */
long long keyset_missing_in_dump(const char *path, const keyset_t *ks);

#endif /* TEST_KEYSET_H */
