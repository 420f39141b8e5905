#include "crc64.h"

/* The polynomial 0x42f0e1eba9ea3693, bit-reversed: the CRC is reflected,
 * so the register shifts right and the lowest bit falls out first. */
#define POLY_REFLECTED 0xc96c5795d7870f42u

/*
 * table[0][b] is the register after shifting the byte b through it, eight
 * steps of "shift right, xor the polynomial when a one falls out".
 * table[k][b] is that same byte followed by k zero bytes: with all eight,
 * crc64_update() takes eight bytes per step instead of one ("slicing by
 * eight"), about five times faster, which matters because SAVE hashes the
 * whole dump while it holds the store.
 *
 * Filled before main() runs (a constructor, which GCC and Clang support),
 * when there is only one thread: threads that hash at once then share
 * tables that never change, with no lock and no "first use" to race on.
 * tests/unit/test_crc64.c checks the result against the bit-by-bit
 * definition.
 */
static uint64_t table[8][256];

__attribute__((constructor)) static void crc64_init(void)
{
    for (unsigned b = 0; b < 256; b++) {
        uint64_t r = b;
        for (int bit = 0; bit < 8; bit++)
            r = r & 1 ? (r >> 1) ^ POLY_REFLECTED : r >> 1;
        table[0][b] = r;
    }
    for (unsigned b = 0; b < 256; b++)
        for (int k = 1; k < 8; k++)
            table[k][b] = table[0][table[k - 1][b] & 0xff] ^ (table[k - 1][b] >> 8);
}

uint64_t crc64_update(uint64_t crc, const void *data, size_t len)
{
    const unsigned char *p = data;
    /* The register starts at all ones and the result is complemented:
     * undoing the final xor first continues where crc left off. */
    uint64_t r = ~crc;
    while (len >= 8) {
        /* Little-endian by construction, whatever the machine: the first
         * byte goes into the lowest bits, as in the one-byte loop below. */
        uint64_t w = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
                     (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
                     (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
        r ^= w;
        r = table[7][r & 0xff] ^ table[6][(r >> 8) & 0xff] ^ table[5][(r >> 16) & 0xff] ^
            table[4][(r >> 24) & 0xff] ^ table[3][(r >> 32) & 0xff] ^ table[2][(r >> 40) & 0xff] ^
            table[1][(r >> 48) & 0xff] ^ table[0][r >> 56];
        p += 8;
        len -= 8;
    }
    for (size_t i = 0; i < len; i++)
        r = table[0][(r ^ p[i]) & 0xff] ^ (r >> 8);
    return ~r;
}

uint64_t crc64(const void *data, size_t len)
{
    return crc64_update(0, data, len);
}
