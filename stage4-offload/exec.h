#ifndef EXEC_H
#define EXEC_H

/*
 * Parse what arrived, run it, queue the reply: the request path, the part
 * of a connection's life that knows commands and nothing of sockets.
 */

#include "conn.h"

enum input_result {
    INPUT_OK,     /* all complete requests executed: waiting for more bytes */
    INPUT_MORE,   /* its batch is done, requests are left: on a later turn */
    INPUT_PAUSED, /* executed nothing: the connection may not (see serve_input()) */
    INPUT_WAIT,   /* for a job, a job slot or the queue lock: the rest of c->in waits */
    INPUT_CLOSE_AFTER_REPLY,
    INPUT_CLOSE_NOW,
};

/* What became of a request. */
enum exec_result {
    EXEC_DONE,    /* the reply is in c->out */
    EXEC_CLOSE,   /* the reply is in c->out; close after it (QUIT) */
    EXEC_QUEUED,  /* offloaded: the reply comes when the job is done */
    EXEC_BLOCKED, /* cannot start yet: the request stays in c->in for later */
};

/* Parses and executes the complete requests in c->in, one batch at most,
 * appending their replies to c->out, and says what comes next. */
enum input_result exec_input(conn_t *c);

#endif /* EXEC_H */
