#ifndef GLOB_H
#define GLOB_H

#include <stddef.h>

/*
 * Glob matching with Redis's rules, case-insensitive: '*' any run of
 * characters, '?' one character, "[abc]", "[^abc]", "[a-z]" (ends in either
 * order) one character of a set, '\x' the character x. An unterminated set
 * runs to the end of the pattern. Inside a set an escaped character is
 * compared exactly, as Redis does.
 *
 * Returns whether pattern[0..plen) matches s[0..slen). Both are byte
 * ranges, not C strings. The walk keeps only the position of the last '*'
 * and retries from there, so a long pattern costs O(pattern x name), never
 * exponential time.
 */
int glob_match(const char *pattern, size_t plen, const char *s, size_t slen);

#endif /* GLOB_H */
