/* The slow commands, DEBUG SLEEP, DIGEST and SAVE, as jobs in steps. */

#include "cmd_job.h"

#include "alloc.h"
#include "arg.h"
#include "digest.h"
#include "dump.h"
#include "num.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLEEP_MAX_SECONDS 3600

static int job_init_sleep(cmd_job_t *job, size_t argc, const resp_arg_t *argv, buf_t *out)
{
    if (argc != 3 || !arg_is(&argv[1], "sleep")) {
        /* Redis's DEBUG answers any subcommand it cannot run so. */
        resp_add_errorf(out,
                        "ERR unknown subcommand or wrong number of arguments for '%.*s'. "
                        "Try DEBUG HELP.",
                        arg_quote_len(&argv[1], ARG_QUOTE_MAX), arg_ptr(&argv[1]));
        return -EINVAL;
    }
    double seconds;
    if (num_parse_double(argv[2].ptr, argv[2].len, &seconds) != 0) {
        resp_add_error(out, "ERR value is not a valid float");
        return -EINVAL;
    }
    if (!(seconds >= 0 && seconds <= SLEEP_MAX_SECONDS)) {
        resp_add_error(out, "ERR DEBUG SLEEP seconds out of range (0 to 3600)");
        return -EINVAL;
    }
    job->kind = CMD_JOB_SLEEP;
    job->sleep_us = (int64_t)(seconds * 1e6);
    return 0;
}

static int job_init_digest(cmd_job_t *job, const resp_arg_t *argv, buf_t *out)
{
    long long rounds;
    if (num_parse_ll(argv[2].ptr, argv[2].len, &rounds) != 0) {
        resp_add_error(out, "ERR value is not an integer or out of range");
        return -EINVAL;
    }
    if (rounds < 1 || rounds > DIGEST_MAX_ROUNDS) {
        resp_add_errorf(out, "ERR rounds must be between 1 and %lld", DIGEST_MAX_ROUNDS);
        return -EINVAL;
    }
    job->kind = CMD_JOB_DIGEST;
    job->key = xmemdup(argv[1].ptr, argv[1].len);
    job->klen = argv[1].len;
    job->rounds = rounds;
    return 0;
}

static int job_init_save(cmd_job_t *job, const cmd_env_t *env, buf_t *out)
{
    if (env->dbfile == NULL) {
        resp_add_error(out, "ERR no dump file configured: start the server with --dbfile PATH");
        return -EINVAL;
    }
    job->kind = CMD_JOB_SAVE;
    job->dbfile = env->dbfile;
    return 0;
}

int cmd_job_init(cmd_job_t *job, const cmd_t *c, size_t argc, const resp_arg_t *argv,
                 const cmd_env_t *env, buf_t *out)
{
    assert((c->flags & CMD_SLOW) && c->job != CMD_JOB_NONE);
    memset(job, 0, sizeof *job);
    buf_init(&job->data);
    switch (c->job) {
    case CMD_JOB_SLEEP:
        return job_init_sleep(job, argc, argv, out);
    case CMD_JOB_DIGEST:
        return job_init_digest(job, argv, out);
    case CMD_JOB_SAVE:
        return job_init_save(job, env, out);
    case CMD_JOB_NONE:
        break;
    }
    assert(0 && "cmd_job_init: not a slow command");
    return -EINVAL;
}

void cmd_job_read(cmd_job_t *job, const store_t *s)
{
    const char *val;
    size_t vlen;
    switch (job->kind) {
    case CMD_JOB_SLEEP:
        break;
    case CMD_JOB_DIGEST:
        job->found = store_get(s, job->key, job->klen, &val, &vlen) == 0;
        if (!job->found)
            break;
        /* Checked here, where the length is known, so that a job too big to
         * run never copies its value: -E2BIG makes cmd_job_run() skip it and
         * cmd_job_reply() refuse it. An empty value counts as one byte. */
        if ((vlen > 0 ? (long long)vlen : 1) > DIGEST_MAX_WORK / job->rounds) {
            job->err = -E2BIG;
            break;
        }
        buf_append(&job->data, val, vlen);
        break;
    case CMD_JOB_SAVE:
        dump_serialize(s, &job->data);
        break;
    case CMD_JOB_NONE: /* cmd_job_init() never makes one */
        break;
    }
}

/* A slice of work between two calls of the cancel callback: at least a
 * few hundred microseconds of hashing even under a sanitizer, well under
 * CMD_CANCEL_POLL_MS on any machine this runs on. */
#define DIGEST_SLICE_BYTES (64 * 1024)

static int is_cancelled(cmd_cancel_cb cancelled, void *arg)
{
    return cancelled != NULL && cancelled(arg);
}

/* Sleeps the whole time even when signals interrupt nanosleep(), in slices
 * of CMD_CANCEL_POLL_MS so that a cancel is seen in time. */
static int sleep_cancellable(int64_t us, cmd_cancel_cb cancelled, void *arg)
{
    const int64_t slice_us = CMD_CANCEL_POLL_MS * 1000;
    while (us > 0) {
        if (is_cancelled(cancelled, arg))
            return -ECANCELED;
        int64_t step = us < slice_us ? us : slice_us;
        struct timespec req = {(time_t)(step / 1000000), (long)(step % 1000000) * 1000};
        struct timespec rem;
        while (nanosleep(&req, &rem) != 0 && errno == EINTR)
            req = rem;
        us -= step;
    }
    return 0;
}

/* digest_fnv1a(), in slices of DIGEST_SLICE_BYTES with a cancel check
 * between them, so that neither many rounds of a short value nor one round
 * of a long one runs for long unasked. */
static int digest_cancellable(cmd_job_t *job, const char *data, cmd_cancel_cb cancelled, void *arg)
{
    uint64_t h = DIGEST_FNV_INIT;
    size_t unchecked = 0; /* bytes hashed since the last cancel check */
    for (long long r = 0; r < job->rounds; r++) {
        size_t off = 0;
        do { /* once even for an empty value: a round always costs something */
            size_t n =
                job->data.len - off < DIGEST_SLICE_BYTES ? job->data.len - off : DIGEST_SLICE_BYTES;
            h = digest_fnv1a_update(h, data + off, n);
            off += n;
            unchecked += n + 1;
            if (unchecked >= DIGEST_SLICE_BYTES) {
                unchecked = 0;
                if (is_cancelled(cancelled, arg))
                    return -ECANCELED;
            }
        } while (off < job->data.len);
    }
    job->digest = h;
    return 0;
}

void cmd_job_run(cmd_job_t *job, cmd_cancel_cb cancelled, void *arg)
{
    const char *data = job->data.data != NULL ? job->data.data : "";
    switch (job->kind) {
    case CMD_JOB_SLEEP:
        job->err = sleep_cancellable(job->sleep_us, cancelled, arg);
        break;
    case CMD_JOB_DIGEST:
        if (job->found && job->err == 0)
            job->err = digest_cancellable(job, data, cancelled, arg);
        break;
    case CMD_JOB_SAVE:
        job->err = dump_write_file(job->dbfile, data, job->data.len);
        break;
    case CMD_JOB_NONE:
        break;
    }
}

void cmd_job_reply(cmd_job_t *job, buf_t *out)
{
    char hex[17];
    if (job->err == -ECANCELED) {
        resp_add_error(out, "ERR command cancelled before it finished (server shutting down)");
        cmd_job_discard(job);
        return;
    }
    switch (job->kind) {
    case CMD_JOB_SLEEP:
        resp_add_simple(out, "OK");
        break;
    case CMD_JOB_DIGEST:
        if (!job->found) {
            resp_add_null(out);
        } else if (job->err != 0) {
            resp_add_errorf(out, "ERR DIGEST work too large (rounds x value length > %lld)",
                            DIGEST_MAX_WORK);
        } else {
            digest_hex(job->digest, hex);
            resp_add_bulk(out, hex, 16);
        }
        break;
    case CMD_JOB_SAVE:
        /* glibc's strerror() is thread-safe for every errno it knows. */
        if (job->err != 0)
            resp_add_errorf(out, "ERR SAVE failed: %s", strerror(-job->err));
        else
            resp_add_simple(out, "OK");
        break;
    case CMD_JOB_NONE:
        break;
    }
    cmd_job_discard(job);
}

void cmd_job_discard(cmd_job_t *job)
{
    free(job->key);
    job->key = NULL;
    buf_free(&job->data);
}
