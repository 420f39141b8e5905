#ifndef NUM_H
#define NUM_H

#include <stddef.h>

/*
 * Strict number parsing for protocol lengths and command arguments.
 */

/* The longest decimal a signed 64-bit integer needs: "-9223372036854775808". */
#define NUM_LL_MAX_DIGITS 20

/*
 * Parses s[0..len) as a signed 64-bit decimal integer with the same rules
 * as Redis, so that every reply that depends on it matches Redis byte for
 * byte: an optional '-', then digits with no leading zero ("0" alone is
 * fine, "-0", "01", "+1", " 1", "1 " and "" are not), no overflow.
 * Returns 0 and sets *out, or -EINVAL.
 */
int num_parse_ll(const char *s, size_t len, long long *out);

/*
 * Parses s[0..len) as a finite decimal floating-point number (strtod's
 * syntax, no leading or trailing blanks, not "nan" or "inf", at most 64
 * bytes). Returns 0 and sets *out, or -EINVAL.
 */
int num_parse_double(const char *s, size_t len, double *out);

#endif /* NUM_H */
