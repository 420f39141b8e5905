#ifndef ARG_H
#define ARG_H

#include "resp.h"

#include <stddef.h>

/*
 * Looking at one parsed argument: what commands, CONFIG and INFO ask of a
 * resp_arg_t. Arguments are binary (they may hold NUL bytes) and are not
 * NUL-terminated, so none of this uses the C string functions on them.
 */

/* Redis quotes at most this many characters of a client's argument in an
 * error message (its "%.128s"). */
#define ARG_QUOTE_MAX 128

/* True when the argument equals the lowercase name[0..len), ignoring ASCII
 * case. A NUL in the argument never equals a letter. */
int arg_ieq(const resp_arg_t *a, const char *name, size_t len);

/* arg_ieq() with a NUL-terminated lowercase name. */
int arg_is(const resp_arg_t *a, const char *name);

/* The precision that makes "%.*s" print an argument as Redis's "%.Ns"
 * prints its NUL-terminated copy: at most max bytes, never past the
 * argument's end. Use with arg_ptr(). */
int arg_quote_len(const resp_arg_t *a, size_t max);

/* The argument's bytes, or "" for an empty argument with no pointer. */
const char *arg_ptr(const resp_arg_t *a);

#endif /* ARG_H */
