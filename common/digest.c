#include "digest.h"

#define FNV64_PRIME 0x100000001b3ULL

uint64_t digest_fnv1a_update(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= FNV64_PRIME;
    }
    return h;
}

uint64_t digest_fnv1a(const void *data, size_t len, long long rounds)
{
    uint64_t h = DIGEST_FNV_INIT;
    for (long long r = 0; r < rounds; r++)
        h = digest_fnv1a_update(h, data, len);
    return h;
}

void digest_hex(uint64_t h, char out[17])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--) {
        out[i] = digits[h & 0xf];
        h >>= 4;
    }
    out[16] = '\0';
}
