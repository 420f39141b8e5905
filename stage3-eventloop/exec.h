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
    INPUT_CLOSE_AFTER_REPLY,
    INPUT_CLOSE_NOW,
};

/* Parses and executes the complete requests in c->in, one batch at most,
 * appending their replies to c->out, and says what comes next. */
enum input_result exec_input(conn_t *c);

#endif /* EXEC_H */
