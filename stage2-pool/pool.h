#ifndef POOL_H
#define POOL_H

/*
 * A fixed pool of worker threads fed by a bounded queue.
 *
 * The pool knows nothing about sockets: it hands each queued item to the
 * serve callback in one of its workers, and that worker is busy until the
 * callback returns. In stage 2 an item is a connection and the callback
 * serves it to the end, so a worker is taken for as long as its client
 * stays connected, idle or not: the shape of this stage's failure.
 */

typedef struct pool pool_t;

/* Serves one item in a worker thread. */
typedef void (*pool_serve_cb)(void *item, void *arg);

/*
 * Starts `threads` workers and a queue that holds up to `capacity` items
 * waiting for a worker (both at least 1). Returns 0 and sets *out, or a
 * negative errno (nothing is left running on failure).
 */
int pool_start(pool_t **out, int threads, int capacity, pool_serve_cb serve, void *arg);

/*
 * Queues item (not NULL) for the next free worker. Never blocks: returns
 * 0, or -EAGAIN when the queue is full (the caller refuses the work), or
 * -ESHUTDOWN once pool_stop() has begun.
 */
int pool_submit(pool_t *p, void *item);

/*
 * Stops the pool: workers finish the item they serve and every item still
 * queued, then exit; waits for all of them (pthread_join) and frees the
 * pool. The caller makes sure the items finish (stage 2 shuts the sockets'
 * read side first).
 */
void pool_stop(pool_t *p);

/* How many workers are serving an item, and how many items wait. */
void pool_stats(pool_t *p, int *busy, int *queued);

#endif /* POOL_H */
