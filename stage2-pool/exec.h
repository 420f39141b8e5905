#ifndef EXEC_H
#define EXEC_H

/*
 * Parse what arrived, run it, queue the reply: the request path, the part
 * of a connection's life that knows commands and nothing of sockets but
 * how to flush a long run of replies.
 */

#include "conn.h"

/* Parses and executes every complete request in c->in, appending the
 * replies to c->out. Returns 1 when the connection must close once c->out
 * is written. */
int exec_input(conn_t *c);

#endif /* EXEC_H */
