#include "store.h"

#include "alloc.h"
#include "log.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/*
 * A chained hash table that grows by doubling, incrementally.
 *
 * Normally there is one table, t[0]. When it fills up (as many keys as
 * buckets), a table twice its size is allocated as t[1] and a resize is in
 * progress: from then on every store_set() and store_del() first moves a
 * few buckets of t[0] into t[1] (see rehash_step()), and new keys go
 * straight into t[1]. When t[0] is empty it is freed and t[1] becomes
 * t[0]. So no single write pays for rehashing the whole store; the price
 * is that a lookup during a resize may have to look in both tables.
 * Entries are relinked, never copied, so a resize costs no allocation
 * beyond the new bucket array.
 *
 * Each write looks at STORE_REHASH_STEP buckets at least, so a resize that
 * starts when t[0] holds n keys in n buckets is over after n /
 * STORE_REHASH_STEP writes at most, by which time the store holds at most
 * n + n / STORE_REHASH_STEP keys: well under the 2n that would call for the
 * next doubling. So a store never needs a second resize while one is in
 * progress.
 *
 * Shrinking: done, with the same machinery. When a delete leaves t[0] less
 * than 1/8 full, a smaller table (at least twice the number of keys) is
 * allocated as t[1] and the keys move over incrementally, so that a store
 * that once held millions of keys does not keep millions of empty buckets.
 * Growing at 1 key per bucket and shrinking below 1/8 leaves a wide gap, so
 * a store whose size hovers around a power of two never resizes back and
 * forth.
 *
 * Readers never write: store_get(), store_count() and store_foreach() do
 * not move buckets, so any number of them may run at once while no writer
 * runs (see store.h).
 */

#define STORE_MIN_SIZE        16 /* buckets; a power of two */
#define STORE_REHASH_STEP     4  /* non-empty buckets of t[0] moved by each write in a resize */
#define STORE_REHASH_MAX_SCAN 40 /* ... looking at no more than this many buckets */
#define STORE_SHRINK_RATIO    8  /* shrink when fewer than size / 8 keys are left */

/* One allocation per entry: the key, then the value, then a NUL that is
 * not part of the value (so a value can be handed to functions that want a
 * C string, such as strtod, without a copy). */
typedef struct entry {
    struct entry *next;
    uint64_t hash;
    size_t klen;
    size_t vlen;
    char data[];
} entry_t;

typedef struct table {
    entry_t **buckets;
    size_t size; /* number of buckets: a power of two, or 0 when unused */
    size_t used; /* number of entries */
} table_t;

struct store {
    table_t t[2];       /* t[1] is in use only while a resize is in progress */
    size_t rehash_next; /* during a resize: t[0]'s buckets below this are empty */
    uint64_t seed[2];   /* this store's SipHash key, see key_hash() */
};

/* ==== Hashing ============================================================ */

/*
 * SipHash-2-4 (Aumasson and Bernstein, 2012), a keyed hash, with a 128-bit
 * key chosen at random for each store when it is made. Why keyed: with a fixed, public
 * hash function, anyone who can send keys can compute thousands of keys
 * that land in the same bucket and turn every lookup into a walk down one
 * long chain (hash flooding). With a secret random key they cannot predict
 * which keys collide, so chains stay short whatever the clients send.
 *
 * Why per store rather than once per process: a process-wide key needs a
 * "once" guard against two threads making their first store together, and
 * that guard is a thread primitive, which common/ does not use. A store is
 * made once at start-up (and once per dump load), so the cost of asking
 * the kernel for 16 bytes each time is nothing.
 */

static int read_urandom(void *out, size_t len)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t done = 0;
    while (done < len) {
        ssize_t n = read(fd, (char *)out + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            return -EIO;
        }
        done += (size_t)n;
    }
    close(fd);
    return 0;
}

static int read_random(void *out, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = getrandom((char *)out + done, len - done, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) /* ENOSYS on kernels older than 3.17 */
            return read_urandom(out, len);
        done += (size_t)n;
    }
    return 0;
}

static void seed_init(uint64_t key[2])
{
    if (read_random(key, 2 * sizeof key[0]) != 0) {
        /* No randomness at all (no getrandom, no /dev/urandom in a
         * chroot): keep working with a seed that is at least different from
         * run to run, and say so. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        key[0] = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        key[1] = ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&ts;
        log_warn("store: no random source available; hash seed is predictable");
    }
}

static uint64_t rotl(uint64_t x, int bits)
{
    return (x << bits) | (x >> (64 - bits));
}

static void sip_round(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = rotl(v[1], 13);
    v[1] ^= v[0];
    v[0] = rotl(v[0], 32);
    v[2] += v[3];
    v[3] = rotl(v[3], 16);
    v[3] ^= v[2];
    v[0] += v[3];
    v[3] = rotl(v[3], 21);
    v[3] ^= v[0];
    v[2] += v[1];
    v[1] = rotl(v[1], 17);
    v[1] ^= v[2];
    v[2] = rotl(v[2], 32);
}

/* Reads n <= 8 bytes as a little-endian number, whatever the host's order. */
static uint64_t load_le(const unsigned char *p, size_t n)
{
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++)
        x |= (uint64_t)p[i] << (8 * i);
    return x;
}

static uint64_t siphash24(uint64_t k0, uint64_t k1, const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t v[4] = {
        k0 ^ 0x736f6d6570736575ULL,
        k1 ^ 0x646f72616e646f6dULL,
        k0 ^ 0x6c7967656e657261ULL,
        k1 ^ 0x7465646279746573ULL,
    };
    size_t whole = len - len % 8;
    for (size_t i = 0; i < whole; i += 8) {
        uint64_t m = load_le(p + i, 8);
        v[3] ^= m;
        sip_round(v);
        sip_round(v);
        v[0] ^= m;
    }
    /* The last block: the remaining 0..7 bytes, and len mod 256 on top. */
    uint64_t last = (uint64_t)len << 56;
    if (len % 8 != 0)
        last |= load_le(p + whole, len % 8);
    v[3] ^= last;
    sip_round(v);
    sip_round(v);
    v[0] ^= last;
    v[2] ^= 0xff;
    for (int i = 0; i < 4; i++)
        sip_round(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

static uint64_t key_hash(const store_t *s, const void *key, size_t klen)
{
    return siphash24(s->seed[0], s->seed[1], key, klen);
}

/* ==== Entries ============================================================ */

static entry_t *entry_new(uint64_t hash, const void *key, size_t klen, const void *val, size_t vlen)
{
    /* klen + vlen cannot overflow: both key and value are in memory. */
    entry_t *e = xmalloc(sizeof *e + klen + vlen + 1);
    e->next = NULL;
    e->hash = hash;
    e->klen = klen;
    e->vlen = vlen;
    if (klen > 0)
        memcpy(e->data, key, klen);
    if (vlen > 0)
        memcpy(e->data + klen, val, vlen);
    e->data[klen + vlen] = '\0';
    return e;
}

static int entry_matches(const entry_t *e, uint64_t hash, const void *key, size_t klen)
{
    return e->hash == hash && e->klen == klen && (klen == 0 || memcmp(e->data, key, klen) == 0);
}

/* ==== Tables ============================================================= */

static int resizing(const store_t *s)
{
    return s->t[1].size != 0;
}

static void table_init(table_t *t, size_t size)
{
    t->buckets = xcalloc(size, sizeof *t->buckets);
    t->size = size;
    t->used = 0;
}

static void table_free(table_t *t)
{
    for (size_t i = 0; i < t->size; i++) {
        entry_t *e = t->buckets[i];
        while (e != NULL) {
            entry_t *next = e->next;
            free(e);
            e = next;
        }
    }
    free(t->buckets);
    *t = (table_t){NULL, 0, 0};
}

static void table_insert(table_t *t, entry_t *e)
{
    entry_t **bucket = &t->buckets[e->hash & (t->size - 1)];
    e->next = *bucket;
    *bucket = e;
    t->used++;
}

/*
 * Returns the link (a bucket or the next field of an entry) that points at
 * key's entry, in whichever table holds it, or NULL. Reads only: the store
 * is const, the link is not, so that writers can unlink or replace.
 */
static entry_t **find_link(const store_t *s, uint64_t hash, const void *key, size_t klen)
{
    for (int i = 0; i < 2; i++) {
        const table_t *t = &s->t[i];
        if (t->size == 0)
            continue;
        for (entry_t **link = &t->buckets[hash & (t->size - 1)]; *link != NULL;
             link = &(*link)->next)
            if (entry_matches(*link, hash, key, klen))
                return link;
    }
    return NULL;
}

/* ==== Resizing =========================================================== */

static void resize_start(store_t *s, size_t size)
{
    table_init(&s->t[1], size);
    s->rehash_next = 0;
}

/*
 * Moves up to STORE_REHASH_STEP non-empty buckets of t[0] to t[1], looking
 * at no more than STORE_REHASH_MAX_SCAN buckets, and ends the resize once
 * t[0] is empty. Skipping empty buckets matters when shrinking: the old
 * table is then at most 1/8 full, and a step that counted empty buckets
 * would move almost nothing. Looking at an empty bucket costs one load, so
 * the work per write stays small and bounded either way.
 */
static void rehash_step(store_t *s)
{
    if (!resizing(s))
        return;
    table_t *from = &s->t[0], *to = &s->t[1];
    int moved = 0, scanned = 0;
    while (from->used > 0 && moved < STORE_REHASH_STEP && scanned < STORE_REHASH_MAX_SCAN) {
        assert(s->rehash_next < from->size); /* entries left means buckets left */
        entry_t *e = from->buckets[s->rehash_next];
        from->buckets[s->rehash_next++] = NULL;
        scanned++;
        moved += e != NULL;
        while (e != NULL) {
            entry_t *next = e->next;
            table_insert(to, e);
            from->used--;
            e = next;
        }
    }
    if (from->used == 0) {
        free(from->buckets);
        *from = *to;
        *to = (table_t){NULL, 0, 0};
        s->rehash_next = 0;
    }
}

static void maybe_grow(store_t *s)
{
    if (!resizing(s) && s->t[0].used >= s->t[0].size)
        resize_start(s, s->t[0].size * 2);
}

static void maybe_shrink(store_t *s)
{
    const table_t *t = &s->t[0];
    if (resizing(s) || t->size <= STORE_MIN_SIZE || t->used >= t->size / STORE_SHRINK_RATIO)
        return;
    size_t size = STORE_MIN_SIZE;
    while (size < t->used * 2)
        size *= 2;
    resize_start(s, size);
}

/* ==== The store ========================================================== */

store_t *store_new(void)
{
    store_t *s = xcalloc(1, sizeof *s);
    seed_init(s->seed);
    table_init(&s->t[0], STORE_MIN_SIZE);
    return s;
}

void store_free(store_t *s)
{
    if (s == NULL)
        return;
    table_free(&s->t[0]);
    table_free(&s->t[1]);
    free(s);
}

int store_get(const store_t *s, const void *key, size_t klen, const char **val, size_t *vlen)
{
    entry_t **link = find_link(s, key_hash(s, key, klen), key, klen);
    if (link == NULL)
        return -ENOENT;
    const entry_t *e = *link;
    *val = e->data + e->klen;
    *vlen = e->vlen;
    return 0;
}

void store_set(store_t *s, const void *key, size_t klen, const void *val, size_t vlen)
{
    rehash_step(s);
    uint64_t hash = key_hash(s, key, klen);
    entry_t **link = find_link(s, hash, key, klen);
    if (link != NULL) {
        entry_t *old = *link;
        if (old->vlen == vlen) { /* same size (a counter, say): no allocation */
            if (vlen > 0)
                memcpy(old->data + klen, val, vlen);
            return;
        }
        entry_t *e = entry_new(hash, key, klen, val, vlen);
        e->next = old->next;
        *link = e;
        free(old);
        return;
    }
    maybe_grow(s);
    table_insert(resizing(s) ? &s->t[1] : &s->t[0], entry_new(hash, key, klen, val, vlen));
}

int store_del(store_t *s, const void *key, size_t klen)
{
    rehash_step(s);
    uint64_t hash = key_hash(s, key, klen);
    for (int i = 0; i < 2; i++) {
        table_t *t = &s->t[i];
        if (t->size == 0)
            continue;
        for (entry_t **link = &t->buckets[hash & (t->size - 1)]; *link != NULL;
             link = &(*link)->next) {
            entry_t *e = *link;
            if (entry_matches(e, hash, key, klen)) {
                *link = e->next;
                free(e);
                t->used--;
                maybe_shrink(s);
                return 0;
            }
        }
    }
    return -ENOENT;
}

size_t store_count(const store_t *s)
{
    return s->t[0].used + s->t[1].used;
}

int store_foreach(const store_t *s, store_visit_cb visit, void *arg)
{
    for (int i = 0; i < 2; i++) {
        const table_t *t = &s->t[i];
        for (size_t b = 0; b < t->size; b++) {
            for (const entry_t *e = t->buckets[b]; e != NULL; e = e->next) {
                int rc = visit(e->data, e->klen, e->data + e->klen, e->vlen, arg);
                if (rc != 0)
                    return rc;
            }
        }
    }
    return 0;
}
