#include "qlock.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>

void qlock_init(qlock_t *l)
{
    l->held = 0;
    l->granting = 0;
    l->head = l->tail = NULL;
}

static void enqueue(qlock_t *l, qlock_waiter_t *w)
{
    w->next = NULL;
    if (l->tail != NULL)
        l->tail->next = w;
    else
        l->head = w;
    l->tail = w;
}

static qlock_waiter_t *dequeue(qlock_t *l)
{
    qlock_waiter_t *w = l->head;
    l->head = w->next;
    if (l->head == NULL)
        l->tail = NULL;
    return w;
}

void qlock_lock(qlock_t *l, qlock_waiter_t *w, qlock_cb cb, void *arg)
{
    w->cb = cb;
    w->arg = arg;
    if (qlock_trylock(l) == 0) {
        l->granting = 1;
        cb(arg);
        l->granting = 0;
        return;
    }
    enqueue(l, w); /* behind everyone already waiting: first come, first served */
}

int qlock_trylock(qlock_t *l)
{
    if (l->held || l->head != NULL)
        return -EBUSY;
    l->held = 1;
    return 0;
}

void qlock_unlock(qlock_t *l)
{
    assert(l->held);
    assert(!l->granting); /* a grant only notes the lock is its own: see qlock.h */
    if (l->head == NULL) {
        l->held = 0;
        return;
    }
    qlock_waiter_t *w = dequeue(l); /* the lock stays held: it is w's now */
    l->granting = 1;
    w->cb(w->arg);
    l->granting = 0;
}

int qlock_cancel(qlock_t *l, qlock_waiter_t *w)
{
    qlock_waiter_t *prev = NULL;

    for (qlock_waiter_t *it = l->head; it != NULL; prev = it, it = it->next) {
        if (it != w)
            continue;
        if (prev != NULL)
            prev->next = w->next;
        else
            l->head = w->next;
        if (l->tail == w)
            l->tail = prev;
        return 0;
    }
    return -ENOENT;
}

int qlock_held(const qlock_t *l)
{
    return l->held;
}
