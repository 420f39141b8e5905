/*
 * idle_hold: open N idle connections to a server and keep the ones it keeps.
 *
 *   usage: idle_hold -p PORT -c N [-h ADDR]
 *
 * The tour holds idle connections with `redis-benchmark -I`, which exits at
 * the first error reply a server sends: against a server that refuses the
 * clients it has no room for (stage 2's "-ERR server busy"), every
 * connection it held goes with it, and the measurement shows an empty
 * server. This tool is the tour's fallback for that case. It sends nothing,
 * like -I; a connection the server writes to or closes counts as refused
 * and is closed; every other connection stays open until SIGTERM or SIGINT.
 *
 * At most HANDSHAKES_MAX connections are in their handshake at once, so the
 * server's listen backlog is never flooded. Prints "held H refused R failed F
 * of N" on stdout whenever the counts change. A connection still in the
 * server's accept queue counts as held until the server refuses it: the
 * server's own count of open sockets is the one to trust.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define HANDSHAKES_MAX 128 /* connections in their handshake at once */
#define TICK_MS        50  /* poll timeout while connections are settling */
#define IDLE_TICK_MS   500 /* poll timeout once they have settled */

enum conn_state { CONN_CONNECTING, CONN_HELD, CONN_GONE };

typedef struct hold {
    struct sockaddr_in addr;
    int want;       /* N */
    int opened;     /* connections started so far */
    int connecting; /* in their handshake */
    int held, refused, failed;
    struct pollfd *pfds; /* one per connection started; fd -1 once gone */
    enum conn_state *state;
} hold_t;

static volatile sig_atomic_t stopping;

static void stop_cb(int sig)
{
    (void)sig;
    stopping = 1;
}

/* Raises the soft limit on open files to the hard limit. Returns the soft
 * limit now in force. */
static long raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur == RLIM_INFINITY ? 1L << 20 : (long)rl.rlim_cur;
}

/* Starts one non-blocking connect. Returns 0, or -1 when not even that
 * worked (counted as failed). */
static int hold_open_one(hold_t *h)
{
    int i = h->opened++;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    h->pfds[i].fd = -1;
    h->state[i] = CONN_GONE;
    if (fd < 0) {
        h->failed++;
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&h->addr, sizeof h->addr) != 0 && errno != EINPROGRESS) {
        close(fd);
        h->failed++;
        return -1;
    }
    h->pfds[i].fd = fd;
    h->pfds[i].events = POLLOUT;
    h->state[i] = CONN_CONNECTING;
    h->connecting++;
    return 0;
}

static void hold_drop(hold_t *h, int i)
{
    close(h->pfds[i].fd);
    h->pfds[i].fd = -1;
    h->state[i] = CONN_GONE;
}

/* A connection's handshake finished, well or badly. */
static void hold_connected(hold_t *h, int i)
{
    int err = 0;
    socklen_t len = sizeof err;
    h->connecting--;
    if (getsockopt(h->pfds[i].fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
        hold_drop(h, i);
        h->failed++;
        return;
    }
    h->pfds[i].events = POLLIN; /* from now on, any byte or EOF means refused */
    h->state[i] = CONN_HELD;
    h->held++;
}

/* The server wrote to or closed a held connection: it does not keep it. */
static void hold_refused(hold_t *h, int i)
{
    hold_drop(h, i);
    h->held--;
    h->refused++;
}

static void hold_report(const hold_t *h)
{
    printf("held %d refused %d failed %d of %d\n", h->held, h->refused, h->failed, h->want);
    fflush(stdout);
}

static int hold_run(hold_t *h)
{
    int last_held = -1, last_gone = -1;
    while (!stopping) {
        while (h->opened < h->want && h->connecting < HANDSHAKES_MAX)
            hold_open_one(h);
        int timeout = h->opened < h->want || h->connecting > 0 ? TICK_MS : IDLE_TICK_MS;
        int n = poll(h->pfds, (nfds_t)h->opened, timeout);
        if (n < 0 && errno != EINTR) {
            perror("idle_hold: poll");
            return 1;
        }
        for (int i = 0; n > 0 && i < h->opened; i++) {
            if (h->pfds[i].fd < 0 || h->pfds[i].revents == 0)
                continue;
            if (h->state[i] == CONN_CONNECTING)
                hold_connected(h, i);
            else
                hold_refused(h, i);
            h->pfds[i].revents = 0;
        }
        if (h->held != last_held || h->refused + h->failed != last_gone) {
            last_held = h->held;
            last_gone = h->refused + h->failed;
            hold_report(h);
        }
    }
    return 0;
}

static void usage(FILE *to)
{
    fprintf(to, "usage: idle_hold -p PORT -c N [-h ADDR]\n"
                "Opens N idle connections to ADDR:PORT (default 127.0.0.1) and keeps the ones\n"
                "the server keeps, until SIGTERM or SIGINT.\n");
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    long port = -1, want = -1;
    int opt;
    while ((opt = getopt(argc, argv, "h:p:c:")) != -1) {
        switch (opt) {
        case 'h':
            host = optarg;
            break;
        case 'p':
            port = strtol(optarg, NULL, 10);
            break;
        case 'c':
            want = strtol(optarg, NULL, 10);
            break;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (port <= 0 || port > 65535 || want < 1 || want > 1000000 || optind != argc) {
        usage(stderr);
        return 2;
    }

    hold_t h = {.addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)},
                .want = (int)want};
    if (inet_pton(AF_INET, host, &h.addr.sin_addr) != 1) {
        fprintf(stderr, "idle_hold: not an IPv4 address: %s\n", host);
        return 2;
    }
    long limit = raise_fd_limit();
    if (limit >= 0 && want + 16 > limit) {
        fprintf(stderr, "idle_hold: %ld connections need more than the fd limit of %ld\n", want,
                limit);
        return 2;
    }
    h.pfds = calloc((size_t)want, sizeof *h.pfds);
    h.state = calloc((size_t)want, sizeof *h.state);
    if (h.pfds == NULL || h.state == NULL) {
        fprintf(stderr, "idle_hold: out of memory\n");
        free(h.pfds);
        free(h.state);
        return 1;
    }

    struct sigaction sa = {.sa_handler = stop_cb};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = hold_run(&h);
    for (int i = 0; i < h.opened; i++)
        if (h.pfds[i].fd >= 0)
            close(h.pfds[i].fd);
    free(h.pfds);
    free(h.state);
    return rc;
}
