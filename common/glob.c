#include "glob.h"

#include <stdint.h>

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Matches the one-character element at p[0..plen) (plen >= 1, not '*')
 * against c. Returns whether it matched and sets *used to its length. */
static int glob_element(const char *p, size_t plen, char c, size_t *used)
{
    if (p[0] == '?') {
        *used = 1;
        return 1;
    }
    if (p[0] == '\\' && plen >= 2) {
        *used = 2;
        return ascii_lower(p[1]) == ascii_lower(c);
    }
    if (p[0] != '[') {
        *used = 1;
        return ascii_lower(p[0]) == ascii_lower(c);
    }

    size_t i = 1;
    int negate = i < plen && p[i] == '^';
    if (negate)
        i++;
    int match = 0;
    while (i < plen && p[i] != ']') {
        if (p[i] == '\\' && plen - i >= 2) {
            match |= p[i + 1] == c;
            i += 2;
        } else if (plen - i >= 3 && p[i + 1] == '-') {
            char lo = ascii_lower(p[i]), hi = ascii_lower(p[i + 2]), lc = ascii_lower(c);
            if (p[i] > p[i + 2]) { /* "[z-a]" is "[a-z]" */
                lo = ascii_lower(p[i + 2]);
                hi = ascii_lower(p[i]);
            }
            match |= lc >= lo && lc <= hi;
            i += 3;
        } else {
            match |= ascii_lower(p[i]) == ascii_lower(c);
            i++;
        }
    }
    *used = i < plen ? i + 1 : plen; /* past the ']', if there is one */
    return negate ? !match : match;
}

int glob_match(const char *p, size_t plen, const char *s, size_t slen)
{
    size_t pi = 0, si = 0;
    size_t star_p = SIZE_MAX, star_s = 0; /* where to retry after the last '*' */
    while (si < slen) {
        size_t used;
        if (pi < plen && p[pi] == '*') {
            star_p = ++pi;
            star_s = si;
        } else if (pi < plen && glob_element(p + pi, plen - pi, s[si], &used)) {
            pi += used;
            si++;
        } else if (star_p != SIZE_MAX) {
            pi = star_p; /* let the last '*' swallow one more character */
            si = ++star_s;
        } else {
            return 0;
        }
    }
    while (pi < plen && p[pi] == '*')
        pi++;
    return pi == plen;
}
