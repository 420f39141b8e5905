#include "offload.h"

#include "cmd_job.h"
#include "conn.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define JOBS_MAX           64 /* slow commands in flight at once */
#define WATCHDOG_EXIT_CODE 3

/* How a job keeps the store consistent while it reads it (see work_cb). */
typedef enum job_plan {
    PLAN_COPIED,        /* the loop thread made the copy: the worker only runs */
    PLAN_WORKER_COPIES, /* the worker copies under store_mu, then runs without it */
    PLAN_QUEUE_LOCKED,  /* the worker reads the live store; the queue lock keeps writers out */
    PLAN_HELD_ACROSS,   /* pitfall: the loop thread holds store_mu until after_work_cb */
    PLAN_HELD_DURING,   /* pitfall: the worker holds store_mu for the whole job */
} job_plan_t;

/* Where a job stands. */
typedef enum job_state {
    JOB_WAITS_FOR_SLOT, /* JOBS_MAX are in flight: it starts when one is done */
    JOB_IN_FLIGHT,      /* started: waiting for the queue lock (a SAVE), or in the pool */
    JOB_WRITE,          /* no slow command: a write of its connection, waiting for the
                         * queue lock; it runs on the loop thread once the lock is its own */
} job_state_t;

/* A connection's wait, kept out of the connection: a slow command on its
 * way through the thread pool, or a write waiting behind a SAVE. */
struct job {
    uv_work_t work; /* work.data points back here */
    server_t *srv;
    conn_t *conn;       /* loop thread only; NULL once its client has gone */
    job_t *prev, *next; /* in srv->jobs while in flight; next in srv->slot_waiters */
    job_state_t state;
    job_plan_t plan;
    cmd_job_t cmd;
    qlock_waiter_t lock_wait;
    int queued;           /* handed to uv_queue_work(): uv_cancel() may be asked */
    atomic_int cancelled; /* set by the loop thread, polled by the worker */
};

/* ==== The store lock and its watchdog ==================================== */

/* What --watchdog asks of store_mu. */
static wlock_mode_t watchdog_mode(opts_watchdog_t watchdog)
{
    switch (watchdog) {
    case OPTS_WATCHDOG_EXIT:
        return WLOCK_STALL_FAILS;
    case OPTS_WATCHDOG_OFF:
        return WLOCK_UNWATCHED;
    case OPTS_WATCHDOG_WARN:
        break;
    }
    return WLOCK_STALL_WAITS;
}

int offload_init(server_t *srv)
{
    int rc = wlock_init(&srv->store_mu, "the store lock", watchdog_mode(srv->opts.watchdog),
                        srv->opts.watchdog_ms);
    if (rc != 0)
        return rc;
    qlock_init(&srv->save_lock);
    srv->slot_waiters_tail = &srv->slot_waiters;
    /* libuv reads UV_THREADPOOL_SIZE once, when the pool first starts: set
     * it before the first uv_queue_work(). */
    char threads[16];
    snprintf(threads, sizeof threads, "%d", srv->opts.threads);
    setenv("UV_THREADPOOL_SIZE", threads, 1);
    return 0;
}

void offload_destroy(server_t *srv)
{
    wlock_destroy(&srv->store_mu);
}

/* store_mu is a watched lock (wlock.h): a deadlock (held across a
 * callback) comes back as an error with a report in the log, and a server
 * whose loop has deadlocked must say so and stop rather than hang. A stall
 * (held during slow work) is reported and waited out, or is an error too
 * under --watchdog exit; with --watchdog off nothing is watched. */
void offload_lock_store(server_t *srv, const char *who)
{
    if (wlock_lock(&srv->store_mu, who) == 0)
        return;
    log_error("watchdog: exiting with status %d (see TUTORIAL.md, stage 4)", WATCHDOG_EXIT_CODE);
    _exit(WATCHDOG_EXIT_CODE);
}

void offload_unlock_store(server_t *srv)
{
    wlock_unlock(&srv->store_mu);
}

/* ==== Jobs on the thread pool ============================================ */

/* Counts a worker in, keeping the peak: the only state workers share
 * besides the store, so it is atomic rather than locked. */
static void workers_busy_enter(server_t *srv)
{
    int busy = atomic_fetch_add(&srv->workers_busy, 1) + 1;
    int peak = atomic_load(&srv->workers_busy_peak);
    while (busy > peak && !atomic_compare_exchange_weak(&srv->workers_busy_peak, &peak, busy))
        ; /* peak now holds the latest value: retry only while ours is higher */
}

/* cmd_job_run() asks this on the worker every CMD_CANCEL_POLL_MS: the
 * loop thread sets the flag when the job's client has gone or the server
 * is stopping. An atomic: the one field of a job both threads touch while
 * it runs. */
static int job_cancelled_cb(void *arg)
{
    job_t *job = arg;
    return atomic_load(&job->cancelled);
}

/* Stops a job: one still in the pool's queue never runs (uv_cancel(), and
 * after_work_cb gets UV_ECANCELED); a running one gives up at its next
 * look at the flag (uv_cancel() says UV_EBUSY), and a SAVE finishes (see
 * cmd_job_run()). A job not yet queued (a SAVE waiting for the queue
 * lock) is only flagged. Loop thread. */
static void job_cancel(job_t *job)
{
    atomic_store(&job->cancelled, 1);
    if (job->queued)
        uv_cancel((uv_req_t *)&job->work);
}

/* Touches the job, and the store only as the job's plan allows. */
static void job_run_on_worker(job_t *job)
{
    server_t *srv = job->srv;

    switch (job->plan) {
    case PLAN_COPIED:
        break;
    case PLAN_WORKER_COPIES:
        offload_lock_store(srv, "a worker thread (copying from the store)");
        cmd_job_read(&job->cmd, srv->store);
        offload_unlock_store(srv); /* released before the slow part */
        break;
    case PLAN_QUEUE_LOCKED:
    case PLAN_HELD_ACROSS: /* "the loop thread holds store_mu for us": the trap */
        cmd_job_read(&job->cmd, srv->store);
        break;
    case PLAN_HELD_DURING:
        offload_lock_store(srv, "a worker thread (for the whole of its slow job, in work_cb)");
        cmd_job_read(&job->cmd, srv->store);
        cmd_job_run(&job->cmd, job_cancelled_cb, job); /* the pitfall: slow work, store_mu held */
        offload_unlock_store(srv);
        return;
    }
    cmd_job_run(&job->cmd, job_cancelled_cb, job); /* sleeps, hashes or saves, holding no lock */
}

/* Runs on a worker thread. */
static void work_cb(uv_work_t *req)
{
    job_t *job = req->data;
    workers_busy_enter(job->srv);
    job_run_on_worker(job);
    atomic_fetch_sub(&job->srv->workers_busy, 1);
}

static void start_waiting_jobs(server_t *srv);

static void job_unlink(server_t *srv, job_t *job)
{
    if (job->prev != NULL)
        job->prev->next = job->next;
    else
        srv->jobs = job->next;
    if (job->next != NULL)
        job->next->prev = job->prev;
    srv->job_count--;
}

/* Back on the loop thread: the job is done (or was cancelled at shutdown).
 * Its reply goes into its connection's output, and the connection goes on
 * from the ready list with the requests that waited behind it. */
static void after_work_cb(uv_work_t *req, int status)
{
    job_t *job = req->data;
    server_t *srv = job->srv;
    conn_t *c = job->conn;

    if (job->plan == PLAN_HELD_ACROSS)
        offload_unlock_store(srv); /* the trap's release, one callback too late */
    if (job->plan == PLAN_QUEUE_LOCKED)
        qlock_unlock(&srv->save_lock); /* to the first write or SAVE that waits */
    job_unlink(srv, job);

    if (c == NULL || status == UV_ECANCELED) {
        cmd_job_discard(&job->cmd); /* its client is gone, or we are shutting down */
    } else {
        cmd_job_reply(&job->cmd, &c->out);
    }
    if (c != NULL) {
        c->job = NULL;
        conn_wait_over(c);
    }
    free(job);
    start_waiting_jobs(srv);
}

/* Hands the job to the thread pool. */
static void queue_job(job_t *job)
{
    job->queued = 1;
    int rc = uv_queue_work(job->srv->loop, &job->work, work_cb, after_work_cb);
    if (rc != 0) { /* cannot happen with a valid loop and callbacks */
        log_error("uv_queue_work: %s", uv_strerror(rc));
        abort();
    }
}

/* The queue lock is the SAVE's (from qlock_lock(), or from the
 * qlock_unlock() of whoever had it): nobody writes the store until its
 * after_work_cb, so it may go to the pool. Never during shutdown:
 * offload_cancel_all() takes a SAVE that still waits out of the lock's
 * queue. */
static void save_lock_granted_cb(void *arg)
{
    queue_job(arg);
}

/* Decides how the job will read the store, takes what that needs on the
 * loop thread, and queues the job. */
static void start_job(server_t *srv, job_t *job)
{
    int reads_store = job->cmd.kind != CMD_JOB_SLEEP;

    job->state = JOB_IN_FLIGHT;
    job->prev = NULL;
    job->next = srv->jobs;
    if (srv->jobs != NULL)
        srv->jobs->prev = job;
    srv->jobs = job;
    srv->job_count++;
    if (!reads_store) {
        job->plan = PLAN_COPIED;
    } else if (srv->opts.pitfall == OPTS_PITFALL_MUTEX_ACROSS_CALLBACK) {
        /* The trap, written the way it looks natural: keep the store still
         * while the worker reads it, release when the job is done. */
        offload_lock_store(srv, job->cmd.kind == CMD_JOB_SAVE
                                    ? "SAVE (taken on the loop thread before uv_queue_work(), "
                                      "to be released in after_work_cb)"
                                    : "DIGEST (taken on the loop thread before uv_queue_work(), "
                                      "to be released in after_work_cb)");
        job->plan = PLAN_HELD_ACROSS;
    } else if (srv->opts.pitfall == OPTS_PITFALL_LOCK_DURING_WORK) {
        job->plan = PLAN_HELD_DURING;
    } else if (job->cmd.kind == CMD_JOB_SAVE && srv->opts.lock_strategy == OPTS_LOCK_QUEUE) {
        /* Fix 2: hold a lock that waits without blocking, for the whole
         * save; queue_job runs once it is ours. */
        job->plan = PLAN_QUEUE_LOCKED;
        qlock_lock(&srv->save_lock, &job->lock_wait, save_lock_granted_cb, job);
        return;
    } else if (job->cmd.kind == CMD_JOB_SAVE) {
        /* Fix 1: copy under a short lock and release before yielding; the
         * worker writes the copy. */
        offload_lock_store(srv, "the loop thread (copying the store for SAVE)");
        uint64_t start_ns = uv_hrtime();
        cmd_job_read(&job->cmd, srv->store); /* O(keys): every client waits for it */
        srv->save_copy_us = (uv_hrtime() - start_ns) / 1000;
        srv->save_copy_keys = store_count(srv->store);
        offload_unlock_store(srv);
        job->plan = PLAN_COPIED;
    } else {
        job->plan = PLAN_WORKER_COPIES; /* DIGEST: the worker copies one value */
    }
    queue_job(job);
}

/* A job slot is free: the jobs that waited for one start, first come first
 * served, while slots remain. */
static void start_waiting_jobs(server_t *srv)
{
    while (srv->slot_waiters != NULL && !srv->stopping && srv->job_count < JOBS_MAX) {
        job_t *job = srv->slot_waiters;
        srv->slot_waiters = job->next;
        if (srv->slot_waiters == NULL)
            srv->slot_waiters_tail = &srv->slot_waiters;
        start_job(srv, job);
    }
}

/* A slow command leaves the loop thread: it runs in libuv's thread pool
 * and its reply comes back through after_work_cb. Until then the
 * connection waits, so its replies stay in order. */
enum exec_result offload_slow_command(conn_t *c, const cmd_t *cmd)
{
    server_t *srv = c->srv;
    job_t *job = calloc(1, sizeof *job);

    if (job == NULL) {
        resp_add_error(&c->out, "ERR out of memory");
        return EXEC_DONE;
    }
    if (cmd_job_init(&job->cmd, cmd, c->parser.argc, c->parser.argv, &srv->env, &c->out) != 0) {
        free(job);
        return EXEC_DONE; /* bad arguments: the error is in c->out */
    }
    job->srv = srv;
    job->conn = c;
    job->work.data = job;
    c->job = job;
    if (srv->job_count >= JOBS_MAX) {
        /* The pool is shared and its queue unbounded: bound it here. */
        job->state = JOB_WAITS_FOR_SLOT;
        *srv->slot_waiters_tail = job;
        srv->slot_waiters_tail = &job->next;
        return EXEC_QUEUED;
    }
    start_job(srv, job);
    return EXEC_QUEUED;
}

int offload_job_in_flight(const conn_t *c)
{
    return c->job != NULL && c->job->state == JOB_IN_FLIGHT;
}

/* ==== Writes behind a SAVE =============================================== */

/* The queue lock is the writer's now (a qlock_unlock() elsewhere runs
 * this): its connection runs its writes from the ready list, holding the
 * lock for that batch. Only noted here: the writes run on their own turn,
 * not inside the releaser's callback. */
static void write_lock_granted_cb(void *arg)
{
    job_t *job = arg;
    conn_t *c = job->conn;

    c->job = NULL;
    c->qlocked = 1;
    free(job);
    conn_ready(c);
}

int offload_write_lock(conn_t *c)
{
    server_t *srv = c->srv;

    if (srv->opts.lock_strategy != OPTS_LOCK_QUEUE || c->qlocked)
        return 0;
    if (qlock_trylock(&srv->save_lock) == 0) {
        c->qlocked = 1;
        return 0;
    }
    job_t *job = calloc(1, sizeof *job);
    if (job == NULL)
        return -ENOMEM;
    job->srv = srv;
    job->conn = c;
    job->state = JOB_WRITE;
    c->job = job;
    qlock_lock(&srv->save_lock, &job->lock_wait, write_lock_granted_cb, job);
    return -EBUSY;
}

void offload_write_unlock(conn_t *c)
{
    if (c->qlocked) {
        c->qlocked = 0;
        qlock_unlock(&c->srv->save_lock);
    }
}

/* ==== Clients that go, and shutdown ====================================== */

/* Takes a job that never started off the list of those waiting for a slot. */
static void slot_waiters_remove(server_t *srv, job_t *job)
{
    job_t **link = &srv->slot_waiters;
    while (*link != job)
        link = &(*link)->next;
    *link = job->next;
    if (srv->slot_waiters_tail == &job->next)
        srv->slot_waiters_tail = link;
}

void offload_detach(conn_t *c)
{
    server_t *srv = c->srv;
    job_t *job = c->job;

    offload_write_unlock(c); /* granted, but it never ran its writes */
    if (job == NULL)
        return;
    c->job = NULL;
    switch (job->state) {
    case JOB_IN_FLIGHT:
        job->conn = NULL; /* the worker may be inside it: after_work_cb frees it */
        job_cancel(job);  /* work for nobody: stop it */
        return;
    case JOB_WAITS_FOR_SLOT:
        slot_waiters_remove(srv, job);
        cmd_job_discard(&job->cmd);
        break;
    case JOB_WRITE:
        qlock_cancel(&srv->save_lock, &job->lock_wait);
        break;
    }
    free(job);
}

void offload_cancel_all(server_t *srv)
{
    job_t *next;

    for (job_t *job = srv->jobs; job != NULL; job = next) {
        next = job->next;
        if (job->queued) {
            job_cancel(job);
            continue;
        }
        /* A SAVE still waiting for the queue lock: it leaves the queue and
         * never runs. Run, it would write a dump over the good one while
         * the server saves its own at exit. Its connection finishes with
         * the others. */
        qlock_cancel(&srv->save_lock, &job->lock_wait);
        job_unlink(srv, job);
        cmd_job_discard(&job->cmd);
        if (job->conn != NULL)
            job->conn->job = NULL;
        free(job);
    }
}

/* ==== INFO =============================================================== */

void offload_info(server_t *srv, buf_t *out)
{
    static const char *const pitfalls[] = {"none", "mutex-across-callback", "lock-during-work"};
    static const char *const watchdogs[] = {"warn", "exit", "off"};
    buf_printf(out, "threadpool_size:%d\r\n", srv->opts.threads);
    buf_printf(out, "jobs_in_flight:%d\r\n", srv->job_count);
    buf_printf(out, "jobs_max:%d\r\n", JOBS_MAX);
    buf_printf(out, "workers_busy:%d\r\n", atomic_load(&srv->workers_busy));
    buf_printf(out, "workers_busy_peak:%d\r\n", atomic_load(&srv->workers_busy_peak));
    buf_printf(out, "lock_strategy:%s\r\n",
               srv->opts.lock_strategy == OPTS_LOCK_QUEUE ? "queue" : "copy");
    buf_printf(out, "pitfall:%s\r\n", pitfalls[srv->opts.pitfall]);
    buf_printf(out, "watchdog:%s\r\n", watchdogs[srv->opts.watchdog]);
    buf_printf(out, "watchdog_ms:%d\r\n", srv->opts.watchdog_ms);
    buf_printf(out, "lock_stalls:%lld\r\n", wlock_stalls(&srv->store_mu));
    buf_printf(out, "last_save_copy_usec:%llu\r\n", (unsigned long long)srv->save_copy_us);
    buf_printf(out, "last_save_copy_keys:%zu\r\n", srv->save_copy_keys);
}
