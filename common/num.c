#include "num.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The longest text num_parse_double() accepts (see num.h). */
#define NUM_DOUBLE_MAX_CHARS 64

int num_parse_ll(const char *s, size_t len, long long *out)
{
    if (len == 0 || len > NUM_LL_MAX_DIGITS)
        return -EINVAL;
    if (len == 1 && s[0] == '0') {
        *out = 0;
        return 0;
    }

    size_t i = 0;
    int negative = s[0] == '-';
    if (negative)
        i++;
    /* After the sign, a non-zero digit: this rejects "", "-", "-0", "01"
     * and every sign or blank Redis does not take. */
    if (i == len || s[i] < '1' || s[i] > '9')
        return -EINVAL;

    /* Accumulate the magnitude unsigned, so that LLONG_MIN, whose magnitude
     * is one more than LLONG_MAX, fits. */
    unsigned long long limit =
        negative ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
    unsigned long long value = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        unsigned digit = (unsigned)(s[i] - '0');
        if (value > (limit - digit) / 10)
            return -EINVAL;
        value = value * 10 + digit;
    }

    if (!negative)
        *out = (long long)value;
    else if (value == (unsigned long long)LLONG_MAX + 1)
        *out = LLONG_MIN;
    else
        *out = -(long long)value;
    return 0;
}

int num_parse_double(const char *s, size_t len, double *out)
{
    /* strtod() wants a NUL-terminated string and s is not one; copying it
     * also makes an embedded NUL stop the parse short, which the length
     * check below then rejects. */
    char text[NUM_DOUBLE_MAX_CHARS + 1];
    if (len == 0 || len > NUM_DOUBLE_MAX_CHARS)
        return -EINVAL;
    memcpy(text, s, len);
    text[len] = '\0';

    /* strtod() skips leading blanks itself; Redis refuses them. Plain byte
     * tests rather than isspace() keep the result independent of the
     * locale. */
    switch (text[0]) {
    case ' ':
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
        return -EINVAL;
    default:
        break;
    }

    char *end;
    errno = 0;
    double value = strtod(text, &end);
    if ((size_t)(end - text) != len)
        return -EINVAL;
    /* As in Redis: overflow (HUGE_VAL) and underflow to zero are errors; a
     * result that underflows to a subnormal number is kept. */
    if (errno == ERANGE && (value == 0.0 || isinf(value)))
        return -EINVAL;
    if (!isfinite(value))
        return -EINVAL;
    *out = value;
    return 0;
}
