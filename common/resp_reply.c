#include "resp_reply.h"

#include <stdarg.h>
#include <stdio.h>

void resp_add_simple(buf_t *out, const char *text)
{
    buf_append(out, "+", 1);
    buf_append_str(out, text);
    buf_append(out, "\r\n", 2);
}

/* Ends the error reply whose message starts at out->data[start]. Like
 * Redis: an error is one line, whatever the message held. */
static void end_error(buf_t *out, size_t start)
{
    for (size_t i = start; i < out->len; i++)
        if (out->data[i] == '\r' || out->data[i] == '\n')
            out->data[i] = ' ';
    buf_append(out, "\r\n", 2);
}

void resp_add_error(buf_t *out, const char *message)
{
    buf_append(out, "-", 1);
    size_t start = out->len;
    buf_append_str(out, message);
    end_error(out, start);
}

void resp_add_errorf(buf_t *out, const char *fmt, ...)
{
    va_list ap;

    buf_append(out, "-", 1);
    size_t start = out->len;
    va_start(ap, fmt); /* never cut short: buf_vprintf() grows out as needed */
    buf_vprintf(out, fmt, ap);
    va_end(ap);
    end_error(out, start);
}

void resp_add_int(buf_t *out, long long value)
{
    buf_printf(out, ":%lld\r\n", value);
}

void resp_add_bulk(buf_t *out, const void *data, size_t len)
{
    buf_reserve(out, len + 32);
    buf_printf(out, "$%zu\r\n", len);
    buf_append(out, data, len);
    buf_append(out, "\r\n", 2);
}

void resp_add_null(buf_t *out)
{
    buf_append(out, "$-1\r\n", 5);
}

void resp_add_array(buf_t *out, size_t count)
{
    buf_printf(out, "*%zu\r\n", count);
}
