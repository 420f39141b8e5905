#ifndef STORE_H
#define STORE_H

#include <stddef.h>

/*
 * The key-value store: binary-safe keys and values in a hash table that
 * grows without a fixed cap. Average O(1) get, set and delete.
 *
 * No locking inside: each stage decides how the store is protected (one
 * mutex in the threaded stages, nothing on the event loop, a lock again in
 * stage 4). What the stages may rely on:
 *
 *   - store_get(), store_count() and store_foreach() never modify the
 *     store, so any number of readers may run at once while no writer runs;
 *   - store_set() and store_del() may move entries (growth is incremental:
 *     each write moves a few buckets to the bigger table, so no single
 *     write pays for rehashing the whole store).
 */

typedef struct store store_t;

store_t *store_new(void);
void store_free(store_t *s);

/*
 * Looks up key[0..klen). Returns 0 and points *val at the value (valid
 * until the next write to the store) and *vlen at its length, or -ENOENT.
 */
int store_get(const store_t *s, const void *key, size_t klen, const char **val, size_t *vlen);

/* Sets key to a copy of val[0..vlen), replacing any old value. */
void store_set(store_t *s, const void *key, size_t klen, const void *val, size_t vlen);

/* Deletes key. Returns 0, or -ENOENT when it was not there. */
int store_del(store_t *s, const void *key, size_t klen);

/* Returns the number of keys. */
size_t store_count(const store_t *s);

/*
 * Calls visit for every entry, in no particular order. Stops as soon as
 * visit returns non-zero and returns that value; returns 0 otherwise.
 * visit must not modify the store.
 */
typedef int (*store_visit_cb)(const char *key, size_t klen, const char *val, size_t vlen,
                              void *arg);
int store_foreach(const store_t *s, store_visit_cb visit, void *arg);

#endif /* STORE_H */
