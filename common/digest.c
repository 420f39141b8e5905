#include "digest.h"

#define FNV64_OFFSET_BASIS 0xcbf29ce484222325ULL
#define FNV64_PRIME        0x100000001b3ULL

uint64_t digest_fnv1a(const void *data, size_t len, long long rounds)
{
    const unsigned char *p = data;
    uint64_t h = FNV64_OFFSET_BASIS;
    for (long long r = 0; r < rounds; r++) {
        for (size_t i = 0; i < len; i++) {
            h ^= p[i];
            h *= FNV64_PRIME;
        }
    }
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
