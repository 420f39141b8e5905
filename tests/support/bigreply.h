#ifndef TEST_BIGREPLY_H
#define TEST_BIGREPLY_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Large replies: a client that pipelines GETs of a large value in one
 * write and reads them all, and one that never reads at all. What a
 * server must do with each: send every byte to the first (however far
 * ahead of its socket it could run), and cut the second off without
 * holding up anyone else.
 */

/* SETs key to len bytes of fill. Returns 0 or a negative errno (-EPROTO
 * when the reply is not +OK). */
int bigreply_set(int fd, const char *key, size_t len, char fill);

/* Sends "GET key\r\n" count times in one write. Returns 0 or a negative
 * errno. */
int bigreply_send_gets(int fd, const char *key, int count);

/*
 * Reads count replies to those GETs, each "$len\r\n", len bytes of fill,
 * "\r\n", within timeout_ms each. Before the first reply and after each,
 * when ping_fd >= 0, sends PING on ping_fd and keeps the slowest answer
 * in *worst_ping_ms (-1 when one went unanswered). Returns how many
 * replies came whole and right, and prints what went wrong with the next.
 */
int bigreply_read(int fd, int count, size_t len, char fill, int timeout_ms, int ping_fd,
                  long long *worst_ping_ms);

/* Connects a client that will never read: its receive buffer is made
 * small before the connection, so the server's replies back up at once.
 * Returns the socket or a negative errno. */
int bigreply_connect_nonreader(int port);

/* What bigreply_nonreader_run() saw. */
typedef struct bigreply_nonreader {
    int cut_off;              /* the server closed the non-reader in time */
    long long cut_ms;         /* after this long */
    long long worst_ping_ms;  /* the slowest PING on the other client; -1: unanswered */
    long long probe_late_ms;  /* the lag probe meanwhile (see lag_probe.h) */
    long long peak_growth_kb; /* how much the server's peak RSS (VmHWM) grew */
} bigreply_nonreader_t;

/*
 * Connects a non-reader to the server (pid, port), reads the answer to
 * one PING on it (so the server has counted it), pipelines gets GETs of
 * key on it and never reads again; then, every 20 ms until the server has cut it off or
 * timeout_ms has passed, times a PING on other_fd and asks INFO (on
 * other_fd) whether connected_clients is back to what it was before.
 * Fills r; returns 0 or a negative errno.
 */
int bigreply_nonreader_run(pid_t pid, int port, int other_fd, const char *key, int gets,
                           int timeout_ms, bigreply_nonreader_t *r);

#endif /* TEST_BIGREPLY_H */
