#include "hiredis_client.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>

redisContext *hiredis_client_connect(int port, int timeout_ms)
{
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (c == NULL) {
        fprintf(stderr, "hiredis: cannot allocate a context\n");
        return NULL;
    }
    if (c->err != 0 || redisSetTimeout(c, tv) != REDIS_OK) {
        fprintf(stderr, "hiredis: connect to port %d: %s\n", port, c->errstr);
        redisFree(c);
        return NULL;
    }
    return c;
}

int hiredis_reply_is_status(const redisReply *r, const char *status)
{
    return r != NULL && r->type == REDIS_REPLY_STATUS && r->len == strlen(status) &&
           memcmp(r->str, status, r->len) == 0;
}

int hiredis_reply_is_bulk(const redisReply *r, const void *p, size_t len)
{
    return r != NULL && r->type == REDIS_REPLY_STRING && r->len == len &&
           memcmp(r->str, p, len) == 0;
}
