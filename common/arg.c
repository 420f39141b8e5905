#include "arg.h"

#include <string.h>

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

int arg_ieq(const resp_arg_t *a, const char *name, size_t len)
{
    if (a->len != len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (ascii_lower(a->ptr[i]) != name[i])
            return 0;
    return 1;
}

int arg_is(const resp_arg_t *a, const char *name)
{
    return arg_ieq(a, name, strlen(name));
}

int arg_quote_len(const resp_arg_t *a, size_t max)
{
    return (int)(a->len < max ? a->len : max);
}

const char *arg_ptr(const resp_arg_t *a)
{
    return a->ptr != NULL ? a->ptr : "";
}
