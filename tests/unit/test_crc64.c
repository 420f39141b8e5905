#include "crc64.h"
#include "harness.h"

#include <stdint.h>
#include <string.h>

/* ==== The definition, one bit at a time ================================= */

/* CRC-64/XZ straight from its definition: reflected, polynomial
 * 0x42f0e1eba9ea3693 (0xc96c5795d7870f42 reflected), register starting at
 * all ones, result complemented. No table: what crc64.c's tables must
 * reproduce. */
static uint64_t crc64_bitwise(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t r = ~(uint64_t)0;
    for (size_t i = 0; i < len; i++) {
        r ^= p[i];
        for (int bit = 0; bit < 8; bit++)
            r = r & 1 ? (r >> 1) ^ 0xc96c5795d7870f42u : r >> 1;
    }
    return ~r;
}

/* Bytes that are not all alike, the same every run. */
static void fill(unsigned char *p, size_t len)
{
    uint32_t x = 12345;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (unsigned char)(x >> 16);
    }
}

/* ==== Tests =============================================================== */

static void test_check_value(void)
{
    /* The catalogue's check value of CRC-64/XZ (also xz's own test). */
    CU_ASSERT_EQUAL(crc64("123456789", 9), 0x995dc9bbdf1939faull);
    CU_ASSERT_EQUAL(crc64_bitwise("123456789", 9), 0x995dc9bbdf1939faull);
}

static void test_known_values(void)
{
    /* Computed elsewhere (a bit-by-bit Python script), not by this code. */
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    CU_ASSERT_EQUAL(crc64(NULL, 0), 0);
    CU_ASSERT_EQUAL(crc64("", 0), 0);
    CU_ASSERT_EQUAL(crc64("a", 1), 0x330284772e652b05ull);
    CU_ASSERT_EQUAL(crc64(all, sizeof all), 0x72414b2f65db3ab0ull);
}

/* Every entry of the first table: the CRC of each single byte is that
 * byte's entry, run through the initial value and the final xor. */
static void test_every_byte(void)
{
    int wrong = 0;
    for (int b = 0; b < 256; b++) {
        unsigned char c = (unsigned char)b;
        wrong += crc64(&c, 1) != crc64_bitwise(&c, 1);
    }
    CU_ASSERT_EQUAL(wrong, 0);
}

/* Lengths 0 to 300 at every alignment: the eight-byte steps, the bytes
 * left over after them, and a start that is not on an 8-byte boundary. */
static void test_matches_definition(void)
{
    static unsigned char data[4096];
    fill(data, sizeof data);
    int wrong = 0;
    for (size_t start = 0; start < 8; start++)
        for (size_t len = 0; len <= 300; len++)
            wrong += crc64(data + start, len) != crc64_bitwise(data + start, len);
    CU_ASSERT_EQUAL(wrong, 0);
    CU_ASSERT_EQUAL(crc64(data, sizeof data), crc64_bitwise(data, sizeof data));
}

static void test_update_in_pieces(void)
{
    static unsigned char data[1000];
    fill(data, sizeof data);
    uint64_t whole = crc64(data, sizeof data);
    int wrong = 0;
    for (size_t cut = 0; cut <= sizeof data; cut++) {
        uint64_t c = crc64_update(crc64(data, cut), data + cut, sizeof data - cut);
        wrong += c != whole;
    }
    CU_ASSERT_EQUAL(wrong, 0);
    /* One byte at a time, starting from nothing. */
    uint64_t c = 0;
    for (size_t i = 0; i < sizeof data; i++)
        c = crc64_update(c, data + i, 1);
    CU_ASSERT_EQUAL(c, whole);
    CU_ASSERT_EQUAL(crc64_update(whole, NULL, 0), whole);
}

/* What the dump relies on: one flipped bit anywhere changes the CRC. */
static void test_single_bit_flips(void)
{
    static unsigned char data[512];
    fill(data, sizeof data);
    uint64_t good = crc64(data, sizeof data);
    int missed = 0;
    for (size_t i = 0; i < sizeof data; i++) {
        for (int bit = 0; bit < 8; bit++) {
            data[i] ^= (unsigned char)(1u << bit);
            missed += crc64(data, sizeof data) == good;
            data[i] ^= (unsigned char)(1u << bit);
        }
    }
    CU_ASSERT_EQUAL(missed, 0);
}

/* ==== Suites ============================================================== */

static CU_TestInfo crc_tests[] = {
    {"check value of \"123456789\"", test_check_value},
    {"known values", test_known_values},
    {"every byte (the table)", test_every_byte},
    {"matches the bitwise definition", test_matches_definition},
    {"update in pieces", test_update_in_pieces},
    {"every single-bit flip changes it", test_single_bit_flips},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"crc64", NULL, NULL, NULL, NULL, crc_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
