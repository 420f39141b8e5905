#include "pool.h"

#include "alloc.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct pool {
    pthread_mutex_t lock;     /* guards everything below */
    pthread_cond_t not_empty; /* signalled when an item is queued or on stop */
    void **queue;             /* ring buffer of `capacity` items */
    int capacity;
    int head;  /* next item to serve */
    int count; /* items queued */
    int busy;  /* workers inside serve() */
    int stopping;

    pool_serve_cb serve;
    void *arg;
    int threads;
    pthread_t *tids;
};

/* Takes the next item, waiting for one. Returns NULL when the pool stops
 * and the queue is empty: the worker's signal to exit. */
static void *next_item(pool_t *p)
{
    pthread_mutex_lock(&p->lock);
    while (p->count == 0 && !p->stopping)
        pthread_cond_wait(&p->not_empty, &p->lock);
    void *item = NULL;
    if (p->count > 0) {
        item = p->queue[p->head];
        p->head = (p->head + 1) % p->capacity;
        p->count--;
        p->busy++;
    }
    pthread_mutex_unlock(&p->lock);
    return item;
}

static void *worker_main(void *arg)
{
    pool_t *p = arg;
    void *item;

    while ((item = next_item(p)) != NULL) {
        p->serve(item, p->arg); /* blocks for as long as the item needs */
        pthread_mutex_lock(&p->lock);
        p->busy--;
        pthread_mutex_unlock(&p->lock);
    }
    return NULL;
}

static void pool_free(pool_t *p)
{
    pthread_cond_destroy(&p->not_empty);
    pthread_mutex_destroy(&p->lock);
    free(p->tids);
    free(p->queue);
    free(p);
}

/* Wakes every worker and waits for the first n of them to exit. */
static void stop_workers(pool_t *p, int n)
{
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_broadcast(&p->not_empty);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < n; i++)
        pthread_join(p->tids[i], NULL);
}

int pool_start(pool_t **out, int threads, int capacity, pool_serve_cb serve, void *arg)
{
    if (threads < 1 || capacity < 1)
        return -EINVAL;
    pool_t *p = xcalloc(1, sizeof *p);
    p->queue = xcalloc((size_t)capacity, sizeof *p->queue);
    p->tids = xcalloc((size_t)threads, sizeof *p->tids);
    p->capacity = capacity;
    p->serve = serve;
    p->arg = arg;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->not_empty, NULL);

    for (int i = 0; i < threads; i++) {
        int rc = pthread_create(&p->tids[i], NULL, worker_main, p);
        if (rc != 0) {
            log_error("cannot start worker %d of %d: %s", i + 1, threads, strerror(rc));
            stop_workers(p, i);
            pool_free(p);
            return -rc;
        }
        p->threads++;
    }
    *out = p;
    return 0;
}

int pool_submit(pool_t *p, void *item)
{
    if (item == NULL) /* NULL is the workers' signal to stop (next_item) */
        return -EINVAL;
    int rc = 0;
    pthread_mutex_lock(&p->lock);
    if (p->stopping) {
        rc = -ESHUTDOWN;
    } else if (p->count == p->capacity) {
        rc = -EAGAIN;
    } else {
        p->queue[(p->head + p->count) % p->capacity] = item;
        p->count++;
        pthread_cond_signal(&p->not_empty);
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

void pool_stop(pool_t *p)
{
    stop_workers(p, p->threads);
    pool_free(p);
}

void pool_stats(pool_t *p, int *busy, int *queued)
{
    pthread_mutex_lock(&p->lock);
    *busy = p->busy;
    *queued = p->count;
    pthread_mutex_unlock(&p->lock);
}
