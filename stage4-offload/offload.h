#ifndef OFFLOAD_H
#define OFFLOAD_H

/*
 * Stage 4's offload: slow commands become jobs on libuv's thread pool,
 * JOBS_MAX at most in flight; each job has a plan for reading the store
 * while clients write it; writes wait behind a SAVE on the queue lock
 * (--lock-strategy queue); and every use of the store goes through the
 * store lock and its watchdog (--watchdog). Loop thread, but for the work
 * callback, which runs on a worker.
 */

#include "exec.h"
#include "server.h"

/* Sets up the store lock (watched as --watchdog asks) and the queue lock,
 * and sizes the thread pool. Call before the first job. Returns 0 or a
 * negative errno. */
int offload_init(server_t *srv);

void offload_destroy(server_t *srv);

/* Takes the store lock, or ends the process when the watchdog finds a
 * deadlock (or a stall, under --watchdog exit). who must be a string
 * literal naming the taker: the watchdog's report quotes it. */
void offload_lock_store(server_t *srv, const char *who);

void offload_unlock_store(server_t *srv);

/* Hands the slow command in c->parser to the thread pool. Its reply comes
 * back through conn_wait_over(); until then c->job is set. */
enum exec_result offload_slow_command(conn_t *c, const cmd_t *cmd);

/* Before a write: under --lock-strategy queue, c needs the queue lock, so
 * that no write lands while a SAVE reads the live store. Returns 0 when c
 * may write (holding the lock, if one is needed, until
 * offload_write_unlock()), -EBUSY when c now waits for it (and goes on from
 * the ready list once it is c's), or -ENOMEM. */
int offload_write_lock(conn_t *c);

/* At the end of c's batch: lets go of the queue lock if c holds it. */
void offload_write_unlock(conn_t *c);

/* True while c's slow command is in flight: at shutdown, c finishes when
 * its job is done, not before. */
int offload_job_in_flight(const conn_t *c);

/* c is closing: forgets its wait, and cancels its job, whose worker may be
 * inside it; the job's completion drops whatever it ends with. */
void offload_detach(conn_t *c);

/* At shutdown: every job in flight is cancelled (queued ones never run,
 * running ones stop early; a SAVE finishes; one still waiting for the
 * queue lock is dropped), and none starts any more. */
void offload_cancel_all(server_t *srv);

/* Appends INFO's offload lines (pool, jobs, locks, watchdog, SAVE's copy). */
void offload_info(server_t *srv, buf_t *out);

#endif /* OFFLOAD_H */
