#ifndef DIGEST_H
#define DIGEST_H

#include <stddef.h>
#include <stdint.h>

/*
 * The hash behind the DIGEST command, the repository's stand-in for
 * expensive synchronous work: deliberately simple, so its cost is easy to
 * predict (one multiply per byte per round) and its result easy to check.
 *
 * 64-bit FNV-1a, iterated: the state starts at the FNV offset basis
 * 0xcbf29ce484222325, and each of the `rounds` rounds runs every byte of
 * data through "h ^= byte; h *= 0x100000001b3", carrying h from one round
 * into the next. rounds == 1 is plain FNV-1a 64.
 */

#define DIGEST_MAX_ROUNDS 100000000LL /* 1e8 */
#define DIGEST_MAX_WORK   (1LL << 32) /* rounds x bytes hashed, ~4 GB */

#define DIGEST_FNV_INIT 0xcbf29ce484222325ULL /* the state before any byte */

uint64_t digest_fnv1a(const void *data, size_t len, long long rounds);

/* Runs len bytes through the state h and returns the new state: one round
 * is digest_fnv1a_update(DIGEST_FNV_INIT, data, len). Lets a caller hash in
 * slices, for example to check between them whether to give up. */
uint64_t digest_fnv1a_update(uint64_t h, const void *data, size_t len);

/* Writes h as 16 lowercase hex digits and a NUL into out[0..17). */
void digest_hex(uint64_t h, char out[17]);

#endif /* DIGEST_H */
