/*
 * loadgen: an open-loop load generator for RESP servers.
 *
 *   loadgen --port P (--rate R | --burst B --every MS | --sessions-rate R)
 *           [--connections C] [--duration S] [--command "CMD ARG..."] ...
 *
 * (--help says everything; bench/README.md says why.) The schedule of
 * requests is drawn in advance from --seed: when each request is due and on
 * which connection. It does not depend on when replies come back, which is
 * what makes the generator open-loop. Each request's latency runs from the
 * time it was due to the last byte of its reply, so a server that stalls
 * for 500 ms is charged for every request that fell due during the stall,
 * not once per connection as with a closed loop (redis-benchmark), which
 * stops sending while it waits ("coordinated omission").
 *
 * A connection carries one request at a time, like a client that does not
 * pipeline: a request that falls due while its connection still waits for
 * a reply is queued there, and its wait counts. Replies are framed by
 * hiredis's reader (sans-I/O, already a dependency of the tests;
 * common/resp.c parses requests only) with object functions that allocate
 * nothing.
 *
 * Output: human lines, then one machine-readable line, always the last:
 *   sent=N completed=N errors=N p50_us=X p90_us=X p99_us=X p999_us=X max_us=X
 *   late=N max_late_us=X connect_errors=N err_replies=N lost=N unfinished=N
 * (one line; in session mode followed by sessions=N). Exit status: 0 ok,
 * 1 the schedule was not kept (over 1% of requests went out more than 1 ms
 * late), 2 usage, 3 no connection could be made, 128 + N when signal N
 * stopped the run early.
 */

#include "alloc.h"
#include "buf.h"
#include "hist.h"
#include "resp.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <hiredis/read.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <uv.h>

#define NS_PER_MS          1000000ULL
#define NS_PER_US          1000ULL
#define LATE_NS            (1 * NS_PER_MS) /* a send later than this missed its time */
#define LATE_SHARE_MAX     0.01            /* more late sends than this: exit 1 */
#define HANDSHAKES_MAX     64              /* connects in progress at once (set-up) */
#define CONNECT_TIMEOUT_MS 10000           /* for the whole set-up of --connections */
#define COMMAND_WORDS_MAX  64
#define READ_BUF_SIZE      (64 * 1024)
#define MESSAGES_MAX       5 /* connection failures printed one by one */

#define EXIT_LATE       1
#define EXIT_USAGE      2
#define EXIT_NO_CONNECT 3

/* ==== Options ================================================================ */

typedef enum lg_mode { LG_RATE, LG_BURST, LG_SESSIONS } lg_mode_t;

typedef struct lg_opts {
    const char *host;
    int port;
    lg_mode_t mode;
    int connections;
    double rate;     /* requests/s (LG_RATE) or sessions/s (LG_SESSIONS) */
    int burst;       /* requests per burst */
    double every_ms; /* between bursts */
    int per_session; /* requests per session */
    double duration_s;
    double drain_s;
    const char *command;
    uint64_t seed;
} lg_opts_t;

static const char usage_text[] =
    "usage: loadgen --port P MODE [options]\n"
    "\n"
    "An open-loop load generator: requests go out on a schedule fixed in advance\n"
    "(from --seed), whatever the server does, and each request's latency is timed\n"
    "from when it was due to the last byte of its reply.\n"
    "\n"
    "MODE, exactly one of:\n"
    "  --rate R                 R requests/s in total, Poisson arrivals, each on\n"
    "                           one of the connections chosen at random\n"
    "  --burst B --every MS     every MS ms (from 0), B requests at once on B\n"
    "                           distinct connections chosen at random (B <= C)\n"
    "  --sessions-rate R        R new connections/s, Poisson arrivals; each sends\n"
    "                           --requests-per-session K requests one after the\n"
    "                           other, then closes. The first request's latency\n"
    "                           runs from the session's arrival (connect included),\n"
    "                           each next one's from the previous reply\n"
    "\n"
    "Options:\n"
    "  --port P                 the server's TCP port (required)\n"
    "  --host ADDR              its IPv4 address (default 127.0.0.1)\n"
    "  --connections C          persistent connections, opened before the run\n"
    "                           (--rate, --burst; default 10)\n"
    "  --requests-per-session K (--sessions-rate; default 1)\n"
    "  --duration S             seconds of schedule (default 10; fractions allowed)\n"
    "  --drain S                after that, seconds to wait for replies (default 2)\n"
    "  --command \"CMD ARG...\"   the request, words split at blanks (default PING)\n"
    "  --seed N                 the schedule's random seed (default 1)\n"
    "  --help\n"
    "\n"
    "A request due while its connection waits for a reply is queued there: one\n"
    "request at a time per connection, no pipelining; its wait counts.\n"
    "\n"
    "The last line printed is machine-readable:\n"
    "  sent=N completed=N errors=N p50_us=X p90_us=X p99_us=X p999_us=X max_us=X\n"
    "  late=N max_late_us=X connect_errors=N err_replies=N lost=N unfinished=N\n"
    "(one line; sessions=N follows in session mode). errors = err_replies (-ERR\n"
    "replies, also counted as completed) + lost (requests whose connection\n"
    "failed). unfinished: still waiting at the end of the drain. late: requests\n"
    "(sessions, in session mode) that went out over 1 ms after their time.\n"
    "\n"
    "Exit status: 0 ok; 1 the schedule was not kept (over 1% late: the latencies\n"
    "then measure the generator too); 2 usage; 3 could not connect at all;\n"
    "128+N when signal N ended the run early.\n";

static int usage_error(const char *fmt, const char *arg) __attribute__((format(printf, 1, 0)));

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "loadgen: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(loadgen --help for usage)\n");
    return -EINVAL;
}

/* Parses a finite number in [min, max]. Returns 0 or -EINVAL. */
static int parse_number(const char *name, const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < min || v > max) {
        fprintf(stderr, "loadgen: --%s: '%s' is not a number from %g to %g\n", name, s, min, max);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

static int parse_int(const char *name, const char *s, int min, int max, int *out)
{
    double v;
    int rc = parse_number(name, s, min, max, &v);
    if (rc == 0 && v != floor(v)) {
        fprintf(stderr, "loadgen: --%s: '%s' is not a whole number\n", name, s);
        rc = -EINVAL;
    }
    if (rc == 0)
        *out = (int)v;
    return rc;
}

enum {
    OPT_PORT = 256,
    OPT_HOST,
    OPT_CONNECTIONS,
    OPT_RATE,
    OPT_BURST,
    OPT_EVERY,
    OPT_SESSIONS_RATE,
    OPT_PER_SESSION,
    OPT_DURATION,
    OPT_DRAIN,
    OPT_COMMAND,
    OPT_SEED,
    OPT_HELP,
};

static const struct option long_options[] = {
    {"port", required_argument, NULL, OPT_PORT},
    {"host", required_argument, NULL, OPT_HOST},
    {"connections", required_argument, NULL, OPT_CONNECTIONS},
    {"rate", required_argument, NULL, OPT_RATE},
    {"burst", required_argument, NULL, OPT_BURST},
    {"every", required_argument, NULL, OPT_EVERY},
    {"sessions-rate", required_argument, NULL, OPT_SESSIONS_RATE},
    {"requests-per-session", required_argument, NULL, OPT_PER_SESSION},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"drain", required_argument, NULL, OPT_DRAIN},
    {"command", required_argument, NULL, OPT_COMMAND},
    {"seed", required_argument, NULL, OPT_SEED},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* Which options were given, for the checks that combine them. */
typedef struct opts_seen {
    int port, connections, rate, burst, every, sessions_rate, per_session;
} opts_seen_t;

static int opts_parse_one(lg_opts_t *o, opts_seen_t *seen, int opt, const char *arg)
{
    double v;
    switch (opt) {
    case OPT_PORT:
        seen->port = 1;
        return parse_int("port", arg, 1, 65535, &o->port);
    case OPT_HOST:
        o->host = arg;
        return 0;
    case OPT_CONNECTIONS:
        seen->connections = 1;
        return parse_int("connections", arg, 1, 200000, &o->connections);
    case OPT_RATE:
        seen->rate = 1;
        return parse_number("rate", arg, 1e-3, 1e8, &o->rate);
    case OPT_BURST:
        seen->burst = 1;
        return parse_int("burst", arg, 1, 1000000, &o->burst);
    case OPT_EVERY:
        seen->every = 1;
        return parse_number("every", arg, 0.01, 3600e3, &o->every_ms);
    case OPT_SESSIONS_RATE:
        seen->sessions_rate = 1;
        return parse_number("sessions-rate", arg, 1e-3, 1e7, &o->rate);
    case OPT_PER_SESSION:
        seen->per_session = 1;
        return parse_int("requests-per-session", arg, 1, 1000000, &o->per_session);
    case OPT_DURATION:
        return parse_number("duration", arg, 0.001, 86400, &o->duration_s);
    case OPT_DRAIN:
        return parse_number("drain", arg, 0, 3600, &o->drain_s);
    case OPT_COMMAND:
        o->command = arg;
        return 0;
    case OPT_SEED:
        if (parse_number("seed", arg, 0, 9007199254740992.0, &v) != 0 || v != floor(v))
            return usage_error("--seed: '%s' is not a whole number", arg);
        o->seed = (uint64_t)v;
        return 0;
    default:
        return -EINVAL;
    }
}

/* Checks the combination of options and picks the mode. */
static int opts_check(lg_opts_t *o, const opts_seen_t *seen)
{
    if (!seen->port)
        return usage_error("%s", "--port is required");
    int modes = seen->rate + (seen->burst || seen->every) + seen->sessions_rate;
    if (modes != 1)
        return usage_error("%s", "give exactly one of --rate, --burst/--every, --sessions-rate");
    if (seen->burst != seen->every)
        return usage_error("%s", "--burst and --every go together");
    if (seen->per_session && !seen->sessions_rate)
        return usage_error("%s", "--requests-per-session needs --sessions-rate");
    if (seen->connections && seen->sessions_rate)
        return usage_error("%s", "--connections has no meaning with --sessions-rate");
    o->mode = seen->rate ? LG_RATE : seen->burst ? LG_BURST : LG_SESSIONS;
    if (o->mode == LG_BURST && o->burst > o->connections)
        return usage_error("%s", "--burst B needs at least B --connections");
    return 0;
}

/* Returns 0, 1 after --help, or -EINVAL (the message is printed). */
static int opts_parse(lg_opts_t *o, int argc, char **argv)
{
    *o = (lg_opts_t){.host = "127.0.0.1",
                     .connections = 10,
                     .per_session = 1,
                     .duration_s = 10,
                     .drain_s = 2,
                     .command = "PING",
                     .seed = 1};
    opts_seen_t seen = {0};
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        if (opt == OPT_HELP) {
            fputs(usage_text, stdout);
            return 1;
        }
        if (opt == '?')
            return usage_error("unknown option or missing value: '%s'", argv[optind - 1]);
        if (opts_parse_one(o, &seen, opt, optarg) != 0)
            return -EINVAL;
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    return opts_check(o, &seen);
}

/* Encodes command, split at blanks, as one RESP multibulk request. */
static int command_encode(const char *command, buf_t *out)
{
    char *copy = xmemdup(command, strlen(command));
    char *words[COMMAND_WORDS_MAX];
    size_t n = 0;
    char *save = NULL;
    for (char *w = strtok_r(copy, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
        if (n == COMMAND_WORDS_MAX) {
            free(copy);
            return usage_error("--command: more than 64 words in '%s'", command);
        }
        words[n++] = w;
    }
    if (n == 0) {
        free(copy);
        return usage_error("%s", "--command is empty");
    }
    resp_add_array(out, n);
    for (size_t i = 0; i < n; i++)
        resp_add_bulk(out, words[i], strlen(words[i]));
    free(copy);
    return 0;
}

/* ==== State ================================================================== */

enum conn_state { CONN_IDLE, CONN_CONNECTING, CONN_READY, CONN_CLOSED };

typedef struct lg lg_t;

typedef struct lg_conn {
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    uv_write_t write_req;
    lg_t *lg;
    redisReader *reader;
    enum conn_state state;
    int awaiting;    /* a request was issued and its reply has not arrived */
    int writing;     /* write_req is in libuv's hands */
    uint64_t due;    /* when the awaited request was due (ns from the start) */
    uint64_t *queue; /* due times of the requests waiting for this connection */
    size_t qhead, qlen, qcap;
    int left; /* sessions: requests still to send after this one */
} lg_conn_t;

struct lg {
    uv_loop_t *loop;
    lg_opts_t opts;
    struct sockaddr_in addr;
    buf_t request;

    lg_conn_t *conns; /* --connections of them; NULL in session mode */
    int next_connect; /* set-up: the next connection to open */
    int connecting;   /* set-up: connects in progress */
    int connected;    /* connections that were ever ready */

    int tick_fd; /* a timerfd: wakes the loop when the next request is due */
    uv_poll_t tick;
    uv_timer_t deadline; /* the set-up's, then the drain's time limit */
    uv_signal_t sigint, sigterm;

    uint64_t t0;       /* uv_hrtime() when the schedule started; 0 before */
    uint64_t end;      /* the schedule's length, ns */
    uint64_t next_due; /* the next request (burst, session) due, ns from t0 */
    int scheduling;    /* requests are still falling due */
    int finishing;     /* every handle is closing */
    int stop_signal;   /* the signal that ended the run early, or 0 */
    uint64_t rng;
    int *perm; /* burst mode: connection indices, partly shuffled per burst */

    uint64_t sent, completed, err_replies, lost, in_flight;
    uint64_t late, max_late, issues; /* issues: what the 1% counts (requests, sessions) */
    uint64_t connect_errors, sessions, failures;
    hist_t *hist;
};

/* ==== Random schedule ========================================================= */

/* splitmix64: small, fast, and the same sequence for the same --seed. */
static uint64_t rng_next(lg_t *lg)
{
    uint64_t z = (lg->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n). The modulo bias is below 2^-40 for any n used here. */
static uint64_t rng_below(lg_t *lg, uint64_t n)
{
    return rng_next(lg) % n;
}

/* The gap to the next arrival of a Poisson process of `rate` per second,
 * in ns: exponentially distributed with mean 1/rate. */
static uint64_t rng_gap_ns(lg_t *lg, double rate)
{
    double u = (double)(rng_next(lg) >> 11) / 9007199254740992.0; /* [0, 1) */
    return (uint64_t)(-log(1.0 - u) / rate * 1e9);
}

/* ==== Connections ============================================================= */

static void *reply_string(const redisReadTask *task, char *s, size_t len);
static void *reply_array(const redisReadTask *task, int n);
static void *reply_integer(const redisReadTask *task, long long v);
static void *reply_nil(const redisReadTask *task);
static void reply_free(void *obj);

/* The reader builds no reply objects: a reply is one of two markers, and
 * only whether it was an error matters. */
static char reply_ok, reply_error;
static redisReplyObjectFunctions reply_functions = {
    .createString = reply_string,
    .createArray = reply_array,
    .createInteger = reply_integer,
    .createNil = reply_nil,
    .freeObject = reply_free,
};

static void *reply_string(const redisReadTask *task, char *s, size_t len)
{
    (void)s;
    (void)len;
    return task->type == REDIS_REPLY_ERROR && task->parent == NULL ? &reply_error : &reply_ok;
}

static void *reply_array(const redisReadTask *task, int n)
{
    (void)task;
    (void)n;
    return &reply_ok;
}

static void *reply_integer(const redisReadTask *task, long long v)
{
    (void)task;
    (void)v;
    return &reply_ok;
}

static void *reply_nil(const redisReadTask *task)
{
    (void)task;
    return &reply_ok;
}

static void reply_free(void *obj)
{
    (void)obj;
}

static void conn_close_cb(uv_handle_t *handle);
static void check_done(lg_t *lg);

static void conn_init(lg_t *lg, lg_conn_t *c)
{
    memset(c, 0, sizeof(*c));
    c->lg = lg;
    c->state = CONN_IDLE;
    c->tcp.data = c;
}

static void conn_queue_push(lg_conn_t *c, uint64_t due)
{
    if (c->qlen == c->qcap) {
        size_t cap = c->qcap ? 2 * c->qcap : 16;
        uint64_t *q = xmalloc(cap * sizeof(*q));
        for (size_t i = 0; i < c->qlen; i++)
            q[i] = c->queue[(c->qhead + i) % c->qcap];
        free(c->queue);
        c->queue = q;
        c->qcap = cap;
        c->qhead = 0;
    }
    c->queue[(c->qhead + c->qlen) % c->qcap] = due;
    c->qlen++;
}

static uint64_t conn_queue_pop(lg_conn_t *c)
{
    assert(c->qlen > 0);
    uint64_t due = c->queue[c->qhead];
    c->qhead = (c->qhead + 1) % c->qcap;
    c->qlen--;
    return due;
}

/* The connection is gone (closed, reset, refused, protocol error, or a
 * reply nobody asked for): its awaited and queued requests are lost. */
static void conn_fail(lg_conn_t *c, int err, const char *why)
{
    lg_t *lg = c->lg;
    if (c->state == CONN_CLOSED)
        return;
    uint64_t lost = (uint64_t)c->awaiting + c->qlen;
    lg->lost += lost;
    lg->in_flight -= lost;
    c->awaiting = 0;
    c->qlen = 0;
    c->state = CONN_CLOSED;
    if (lg->failures++ < MESSAGES_MAX)
        fprintf(stderr, "loadgen: a connection failed: %s%s\n",
                why != NULL ? why : uv_strerror(err),
                lg->failures == MESSAGES_MAX ? " (no more such messages)" : "");
    if (!uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, conn_close_cb);
    check_done(lg);
}

static void write_cb(uv_write_t *req, int status);

/* Writes the request c->due stands for; c->awaiting is already set. */
static void conn_write(lg_conn_t *c)
{
    lg_t *lg = c->lg;
    uv_buf_t buf = uv_buf_init(lg->request.data, (unsigned)lg->request.len);
    /* The usual case: the request fits in the socket's empty buffer and no
     * write request is needed at all. */
    int n = uv_try_write((uv_stream_t *)&c->tcp, &buf, 1);
    if (n == (int)buf.len)
        return;
    if (n < 0 && n != UV_EAGAIN) {
        conn_fail(c, n, NULL);
        return;
    }
    if (n > 0) {
        buf.base += n;
        buf.len -= (size_t)n;
    }
    c->writing = 1;
    int rc = uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &buf, 1, write_cb);
    if (rc != 0) {
        c->writing = 0;
        conn_fail(c, rc, NULL);
    }
}

static void conn_send(lg_conn_t *c, uint64_t due)
{
    c->awaiting = 1;
    c->due = due;
    conn_write(c);
}

/* The next queued request goes out once the connection is free. */
static void conn_next(lg_conn_t *c)
{
    if (c->state == CONN_READY && !c->awaiting && !c->writing && c->qlen > 0)
        conn_send(c, conn_queue_pop(c));
}

static void write_cb(uv_write_t *req, int status)
{
    lg_conn_t *c = req->data;
    c->writing = 0;
    if (status == UV_ECANCELED || c->lg->finishing)
        return;
    if (status < 0)
        conn_fail(c, status, NULL);
    else
        conn_next(c);
}

/* A request was issued at its due time: it goes out, waits in the queue,
 * or is lost at once when its connection has failed. */
static void conn_submit(lg_conn_t *c, uint64_t due)
{
    lg_t *lg = c->lg;
    lg->sent++;
    lg->in_flight++;
    if (c->state != CONN_READY) {
        lg->lost++;
        lg->in_flight--;
    } else if (c->awaiting || c->writing) {
        conn_queue_push(c, due);
    } else {
        conn_send(c, due);
    }
}

static void session_next(lg_conn_t *c, uint64_t now);

/* One whole reply arrived for the awaited request. */
static void conn_reply(lg_conn_t *c, int is_error)
{
    lg_t *lg = c->lg;
    if (!c->awaiting) {
        conn_fail(c, -EPROTO, "a reply arrived with no request outstanding");
        return;
    }
    uint64_t now = uv_hrtime() - lg->t0;
    hist_record(lg->hist, (now - c->due + NS_PER_US - 1) / NS_PER_US);
    lg->completed++;
    lg->err_replies += is_error ? 1 : 0;
    lg->in_flight--;
    c->awaiting = 0;
    if (lg->opts.mode == LG_SESSIONS)
        session_next(c, now);
    else
        conn_next(c);
    check_done(lg);
}

static void alloc_cb(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    /* One buffer for every connection: the loop has one thread, and each
     * read is handed to the connection's reader (which copies) before the
     * next one. */
    static char shared[READ_BUF_SIZE];
    (void)handle;
    (void)suggested;
    *buf = uv_buf_init(shared, sizeof(shared));
}

static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    lg_conn_t *c = stream->data;
    if (nread < 0) {
        conn_fail(c, (int)nread, nread == UV_EOF ? "closed by the server" : NULL);
        return;
    }
    if (redisReaderFeed(c->reader, buf->base, (size_t)nread) != REDIS_OK) {
        conn_fail(c, -ENOMEM, "out of memory");
        return;
    }
    for (;;) {
        void *reply = NULL;
        if (redisReaderGetReply(c->reader, &reply) != REDIS_OK) {
            conn_fail(c, -EPROTO, "protocol error in a reply");
            return;
        }
        if (reply == NULL || c->state == CONN_CLOSED)
            return;
        conn_reply(c, reply == &reply_error);
        if (c->state == CONN_CLOSED)
            return;
    }
}

static int conn_ready(lg_conn_t *c)
{
    c->state = CONN_READY;
    uv_tcp_nodelay(&c->tcp, 1);
    return uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
}

/* Starts connecting c. Returns 0 or a negative errno (c is then closed). */
static int conn_open(lg_t *lg, lg_conn_t *c, uv_connect_cb cb)
{
    int rc = uv_tcp_init(lg->loop, &c->tcp);
    if (rc != 0) {
        c->state = CONN_CLOSED;
        return rc;
    }
    /* Created with the handle, so that a connection never opened holds
     * nothing, and conn_close_cb() frees it. */
    c->reader = redisReaderCreateWithFunctions(&reply_functions);
    if (c->reader == NULL) {
        fprintf(stderr, "loadgen: out of memory\n");
        abort();
    }
    c->state = CONN_CONNECTING;
    c->connect_req.data = c;
    c->write_req.data = c;
    rc = uv_tcp_connect(&c->connect_req, &c->tcp, (const struct sockaddr *)&lg->addr, cb);
    if (rc != 0) {
        c->state = CONN_CLOSED;
        uv_close((uv_handle_t *)&c->tcp, conn_close_cb);
    }
    return rc;
}

static void conn_close_cb(uv_handle_t *handle)
{
    lg_conn_t *c = handle->data;
    redisReaderFree(c->reader);
    free(c->queue);
    c->reader = NULL;
    c->queue = NULL;
    if (c->lg->opts.mode == LG_SESSIONS)
        free(c);
}

/* ==== Sessions ================================================================ */

static void session_connect_cb(uv_connect_t *req, int status)
{
    lg_conn_t *c = req->data;
    lg_t *lg = c->lg;
    if (status == UV_ECANCELED || lg->finishing)
        return;
    if (status == 0)
        status = conn_ready(c);
    if (status != 0) {
        lg->connect_errors++;
        conn_fail(c, status, NULL);
        return;
    }
    conn_write(c); /* the first request, due at the session's arrival */
}

/* A session arrives: its first request is due now, connect included. */
static void session_start(lg_t *lg, uint64_t due)
{
    lg_conn_t *c = xmalloc(sizeof(*c));
    conn_init(lg, c);
    lg->sessions++;
    lg->sent++;
    lg->in_flight++;
    c->awaiting = 1;
    c->due = due;
    c->left = lg->opts.per_session - 1;
    int rc = conn_open(lg, c, session_connect_cb);
    if (rc != 0) {
        lg->connect_errors++;
        lg->lost++;
        lg->in_flight--;
        if (lg->failures++ < MESSAGES_MAX)
            fprintf(stderr, "loadgen: a session could not connect: %s\n", uv_strerror(rc));
        if (c->reader == NULL) /* never became a handle */
            free(c);
    }
}

/* After a reply: the session's next request is due now, or it is over. */
static void session_next(lg_conn_t *c, uint64_t now)
{
    if (c->left > 0) {
        c->left--;
        c->lg->sent++;
        c->lg->in_flight++;
        conn_send(c, now);
        return;
    }
    c->state = CONN_CLOSED;
    uv_close((uv_handle_t *)&c->tcp, conn_close_cb);
}

/* ==== Schedule ================================================================ */

static void finish(lg_t *lg);

/* Notes how late an issue (a request, a burst's request, a session) was. */
static void note_lateness(lg_t *lg, uint64_t due)
{
    uint64_t now = uv_hrtime() - lg->t0;
    uint64_t late = now > due ? now - due : 0;
    lg->issues++;
    if (late > LATE_NS)
        lg->late++;
    if (late > lg->max_late)
        lg->max_late = late;
}

/* Issues everything due at lg->next_due and draws the next due time. */
static void issue_next(lg_t *lg)
{
    uint64_t due = lg->next_due;
    switch (lg->opts.mode) {
    case LG_RATE:
        note_lateness(lg, due);
        conn_submit(&lg->conns[rng_below(lg, (uint64_t)lg->opts.connections)], due);
        lg->next_due += rng_gap_ns(lg, lg->opts.rate);
        break;
    case LG_BURST:
        /* B distinct connections: a partial Fisher-Yates shuffle. */
        for (int i = 0; i < lg->opts.burst; i++) {
            int j = i + (int)rng_below(lg, (uint64_t)(lg->opts.connections - i));
            int t = lg->perm[i];
            lg->perm[i] = lg->perm[j];
            lg->perm[j] = t;
            note_lateness(lg, due);
            conn_submit(&lg->conns[lg->perm[i]], due);
        }
        lg->next_due += (uint64_t)(lg->opts.every_ms * 1e6);
        break;
    case LG_SESSIONS:
        note_lateness(lg, due);
        session_start(lg, due);
        lg->next_due += rng_gap_ns(lg, lg->opts.rate);
        break;
    }
}

static void drain_timeout_cb(uv_timer_t *timer)
{
    finish(timer->data);
}

/* The last request has fallen due: wait for the replies, within --drain. */
static void schedule_end(lg_t *lg)
{
    lg->scheduling = 0;
    uv_poll_stop(&lg->tick);
    uv_timer_stop(&lg->deadline);
    uv_timer_start(&lg->deadline, drain_timeout_cb, (uint64_t)(lg->opts.drain_s * 1000), 0);
    check_done(lg);
}

/* Arms the timerfd for t0 + due, an absolute CLOCK_MONOTONIC time (the
 * clock uv_hrtime() reads). A libuv timer would not do: it counts whole
 * milliseconds from a cached loop time, so it fires up to 2 ms after the
 * time asked for, and "over 1 ms late" would be the rule, not a sign. */
static int tick_arm(lg_t *lg, uint64_t due)
{
    uint64_t at = lg->t0 + due;
    struct itimerspec its = {
        .it_value = {.tv_sec = (time_t)(at / 1000000000ULL), .tv_nsec = (long)(at % 1000000000ULL)},
    };
    return timerfd_settime(lg->tick_fd, TFD_TIMER_ABSTIME, &its, NULL) == 0 ? 0 : -errno;
}

/* Issues every request whose time has come, then sleeps until the next. */
static void schedule_run(lg_t *lg)
{
    while (lg->scheduling) {
        if (lg->next_due >= lg->end) {
            schedule_end(lg);
            return;
        }
        if (lg->next_due > uv_hrtime() - lg->t0) {
            int rc = tick_arm(lg, lg->next_due);
            if (rc != 0) {
                fprintf(stderr, "loadgen: timerfd_settime: %s\n", strerror(-rc));
                finish(lg);
            }
            return;
        }
        issue_next(lg);
    }
}

static void tick_cb(uv_poll_t *handle, int status, int events)
{
    lg_t *lg = handle->data;
    uint64_t expirations;
    (void)events;
    if (status < 0)
        return;
    /* Empties the timerfd so that it stops being readable. */
    if (read(lg->tick_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
        fprintf(stderr, "loadgen: reading the timerfd: %s\n", strerror(errno));
    schedule_run(lg);
}

static void schedule_start(lg_t *lg)
{
    lg->t0 = uv_hrtime();
    lg->scheduling = 1;
    lg->next_due = lg->opts.mode == LG_BURST ? 0 : rng_gap_ns(lg, lg->opts.rate);
    uv_poll_start(&lg->tick, UV_READABLE, tick_cb);
    schedule_run(lg);
}

/* ==== Set-up of persistent connections ======================================== */

static void connect_more(lg_t *lg);

static void setup_connect_cb(uv_connect_t *req, int status)
{
    lg_conn_t *c = req->data;
    lg_t *lg = c->lg;
    lg->connecting--;
    if (lg->finishing)
        return;
    if (status == UV_ECANCELED) { /* given up by setup_timeout_cb(), already counted */
        connect_more(lg);
        return;
    }
    if (status == 0)
        status = conn_ready(c);
    if (status == 0) {
        lg->connected++;
    } else {
        lg->connect_errors++;
        conn_fail(c, status, NULL);
    }
    connect_more(lg);
}

static void setup_done(lg_t *lg)
{
    uv_timer_stop(&lg->deadline);
    if (lg->connected == 0) {
        fprintf(stderr, "loadgen: could not connect to %s:%d at all\n", lg->opts.host,
                lg->opts.port);
        finish(lg);
        return;
    }
    if (lg->connect_errors > 0)
        fprintf(stderr, "loadgen: %llu of %d connections failed; their requests count as lost\n",
                (unsigned long long)lg->connect_errors, lg->opts.connections);
    schedule_start(lg);
}

/* Opens connections, HANDSHAKES_MAX at a time so as not to overflow the
 * server's listen backlog; starts the schedule when all have settled. */
static void connect_more(lg_t *lg)
{
    while (lg->connecting < HANDSHAKES_MAX && lg->next_connect < lg->opts.connections) {
        lg_conn_t *c = &lg->conns[lg->next_connect++];
        int rc = conn_open(lg, c, setup_connect_cb);
        if (rc != 0) {
            lg->connect_errors++;
            if (lg->failures++ < MESSAGES_MAX)
                fprintf(stderr, "loadgen: could not connect: %s\n", uv_strerror(rc));
        } else {
            lg->connecting++;
        }
    }
    if (lg->connecting == 0 && lg->next_connect == lg->opts.connections && !lg->finishing)
        setup_done(lg);
}

static void setup_timeout_cb(uv_timer_t *timer)
{
    lg_t *lg = timer->data;
    fprintf(stderr, "loadgen: connections still not up after %d ms: giving up on them\n",
            CONNECT_TIMEOUT_MS);
    for (int i = 0; i < lg->next_connect; i++)
        if (lg->conns[i].state == CONN_CONNECTING) {
            lg->connect_errors++;
            conn_fail(&lg->conns[i], UV_ETIMEDOUT, NULL); /* its connect_cb follows */
        }
    lg->next_connect = lg->opts.connections; /* and opens no more */
    connect_more(lg);
}

static void setup_start(lg_t *lg)
{
    lg->conns = xcalloc((size_t)lg->opts.connections, sizeof(*lg->conns));
    for (int i = 0; i < lg->opts.connections; i++)
        conn_init(lg, &lg->conns[i]);
    if (lg->opts.mode == LG_BURST) {
        lg->perm = xmalloc((size_t)lg->opts.connections * sizeof(*lg->perm));
        for (int i = 0; i < lg->opts.connections; i++)
            lg->perm[i] = i;
    }
    uv_timer_start(&lg->deadline, setup_timeout_cb, CONNECT_TIMEOUT_MS, 0);
    connect_more(lg);
}

/* ==== Run and end ============================================================= */

static void check_done(lg_t *lg)
{
    if (lg->t0 != 0 && !lg->scheduling && lg->in_flight == 0)
        finish(lg);
}

static void close_walk_cb(uv_handle_t *handle, void *arg)
{
    (void)arg;
    if (!uv_is_closing(handle))
        uv_close(handle, handle->type == UV_TCP ? conn_close_cb : NULL);
}

/* Ends the run: whatever is still in flight stays unfinished, and every
 * handle closes, which lets uv_run() return. */
static void finish(lg_t *lg)
{
    if (lg->finishing)
        return;
    lg->finishing = 1;
    lg->scheduling = 0;
    uv_walk(lg->loop, close_walk_cb, NULL);
}

static void signal_cb(uv_signal_t *handle, int signum)
{
    lg_t *lg = handle->data;
    fprintf(stderr, "loadgen: stopped by signal %d: the figures cover the run so far\n", signum);
    lg->stop_signal = signum;
    finish(lg);
}

/* Raises the soft limit on open files to the hard one: --connections and
 * open sessions each need a descriptor. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int lg_init(lg_t *lg, uv_loop_t *loop)
{
    lg->loop = loop;
    lg->rng = lg->opts.seed;
    lg->end = (uint64_t)(lg->opts.duration_s * 1e9);
    lg->hist = xmalloc(sizeof(*lg->hist));
    hist_init(lg->hist);
    if (uv_ip4_addr(lg->opts.host, lg->opts.port, &lg->addr) != 0) {
        usage_error("--host: '%s' is not an IPv4 address", lg->opts.host);
        return -EINVAL;
    }
    lg->tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (lg->tick_fd < 0) {
        fprintf(stderr, "loadgen: timerfd_create: %s\n", strerror(errno));
        return -errno;
    }
    uv_poll_init(loop, &lg->tick, lg->tick_fd);
    uv_timer_init(loop, &lg->deadline);
    uv_signal_init(loop, &lg->sigint);
    uv_signal_init(loop, &lg->sigterm);
    lg->tick.data = lg->deadline.data = lg->sigint.data = lg->sigterm.data = lg;
    uv_signal_start(&lg->sigint, signal_cb, SIGINT);
    uv_signal_start(&lg->sigterm, signal_cb, SIGTERM);
    return 0;
}

/* ==== Report ================================================================== */

static const char *mode_text(const lg_opts_t *o, char *out, size_t cap)
{
    switch (o->mode) {
    case LG_RATE:
        snprintf(out, cap, "%d connections, %g requests/s (Poisson)", o->connections, o->rate);
        break;
    case LG_BURST:
        snprintf(out, cap, "%d connections, bursts of %d every %g ms", o->connections, o->burst,
                 o->every_ms);
        break;
    case LG_SESSIONS:
        snprintf(out, cap, "%g sessions/s (Poisson) of %d requests each", o->rate, o->per_session);
        break;
    }
    return out;
}

/* The human lines, then the machine-readable one. Returns the exit status. */
static int report(const lg_t *lg)
{
    const lg_opts_t *o = &lg->opts;
    char mode[128];
    double late_share = lg->issues ? (double)lg->late / (double)lg->issues : 0;
    int late_fail = late_share > LATE_SHARE_MAX;
    const char *unit = o->mode == LG_SESSIONS ? "sessions" : "requests";

    printf("loadgen: %s:%d, %s for %g s, seed %llu, command '%s'\n", o->host, o->port,
           mode_text(o, mode, sizeof(mode)), o->duration_s, (unsigned long long)o->seed,
           o->command);
    printf("loadgen: %llu sent, %llu completed (%llu of them -ERR), %llu lost with their "
           "connection, %llu unfinished after the %g s drain\n",
           (unsigned long long)lg->sent, (unsigned long long)lg->completed,
           (unsigned long long)lg->err_replies, (unsigned long long)lg->lost,
           (unsigned long long)lg->in_flight, o->drain_s);
    printf("loadgen: %s: %llu of %llu %s (%.2f%%) went out over 1 ms after their time, the "
           "latest %.3f ms late%s\n",
           late_fail ? "SCHEDULE NOT KEPT" : "schedule kept", (unsigned long long)lg->late,
           (unsigned long long)lg->issues, unit, 100 * late_share, (double)lg->max_late / 1e6,
           late_fail ? ": the generator fell behind, so these latencies measure it too" : "");
    printf("sent=%llu completed=%llu errors=%llu p50_us=%llu p90_us=%llu p99_us=%llu "
           "p999_us=%llu max_us=%llu late=%llu max_late_us=%llu connect_errors=%llu "
           "err_replies=%llu lost=%llu unfinished=%llu",
           (unsigned long long)lg->sent, (unsigned long long)lg->completed,
           (unsigned long long)(lg->err_replies + lg->lost),
           (unsigned long long)hist_percentile(lg->hist, 50),
           (unsigned long long)hist_percentile(lg->hist, 90),
           (unsigned long long)hist_percentile(lg->hist, 99),
           (unsigned long long)hist_percentile(lg->hist, 99.9),
           (unsigned long long)hist_max(lg->hist), (unsigned long long)lg->late,
           (unsigned long long)(lg->max_late / NS_PER_US), (unsigned long long)lg->connect_errors,
           (unsigned long long)lg->err_replies, (unsigned long long)lg->lost,
           (unsigned long long)lg->in_flight);
    if (o->mode == LG_SESSIONS)
        printf(" sessions=%llu", (unsigned long long)lg->sessions);
    printf("\n");
    fflush(stdout);

    if (lg->stop_signal != 0)
        return 128 + lg->stop_signal;
    if (lg->t0 == 0)
        return EXIT_NO_CONNECT;
    return late_fail ? EXIT_LATE : 0;
}

/* ==== main ==================================================================== */

int main(int argc, char **argv)
{
    static lg_t lg; /* large (the histogram is separate) but one per process */
    int rc = opts_parse(&lg.opts, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : EXIT_USAGE;
    if (command_encode(lg.opts.command, &lg.request) != 0)
        return EXIT_USAGE;
    signal(SIGPIPE, SIG_IGN); /* a write to a closed socket fails, it does not kill */
    raise_fd_limit();

    uv_loop_t loop;
    if ((rc = uv_loop_init(&loop)) != 0) {
        fprintf(stderr, "loadgen: uv_loop_init: %s\n", uv_strerror(rc));
        return EXIT_NO_CONNECT;
    }
    int status = EXIT_USAGE;
    if (lg_init(&lg, &loop) == 0) {
        if (lg.opts.mode == LG_SESSIONS)
            schedule_start(&lg);
        else
            setup_start(&lg);
        uv_run(&loop, UV_RUN_DEFAULT);
        status = report(&lg);
    } else {
        finish(&lg);
        uv_run(&loop, UV_RUN_DEFAULT);
    }
    if (uv_loop_close(&loop) != 0)
        fprintf(stderr, "loadgen: a handle was left open\n");
    if (lg.tick_fd > 0)
        close(lg.tick_fd);
    free(lg.conns);
    free(lg.perm);
    free(lg.hist);
    buf_free(&lg.request);
    return status;
}
