#ifndef TEST_HIREDIS_CLIENT_H
#define TEST_HIREDIS_CLIENT_H

#include <hiredis/hiredis.h>

/*
 * hiredis, the real C client, for tests where a real client fits better
 * than raw bytes (many clients, many commands, replies parsed for us).
 */

/* Connects to 127.0.0.1:port with the connect and every later reply
 * bounded by timeout_ms. Returns the context, or NULL after printing why
 * to stderr. Free it with redisFree(). */
redisContext *hiredis_client_connect(int port, int timeout_ms);

/* True when r is a status reply with exactly the text status ("OK"). */
int hiredis_reply_is_status(const redisReply *r, const char *status);

/* True when r is a bulk string with exactly the bytes p[0..len). */
int hiredis_reply_is_bulk(const redisReply *r, const void *p, size_t len);

#endif /* TEST_HIREDIS_CLIENT_H */
