/*
 * Unit tests of the store's hash: SipHash-2-4 against its reference
 * vectors, and a random seed per store. White-box: this file includes
 * store.c itself, to reach the static siphash24() and the seed.
 */

#include "store.c"

#include "harness.h"

#include <stdint.h>

/* ==== Hash ================================================================ */

static void test_siphash_vectors(void)
{
    /* From the SipHash paper and its reference test vectors: key
     * 00 01 .. 0f, message 00 01 .. (len - 1). */
    unsigned char key[16], msg[64];
    for (int i = 0; i < 16; i++)
        key[i] = (unsigned char)i;
    for (int i = 0; i < 64; i++)
        msg[i] = (unsigned char)i;
    uint64_t k0 = load_le(key, 8), k1 = load_le(key + 8, 8);
    CU_ASSERT_EQUAL(siphash24(k0, k1, msg, 0), 0x726fdb47dd0e0e31ULL);
    CU_ASSERT_EQUAL(siphash24(k0, k1, msg, 8), 0x93f5f5799a932462ULL);
    CU_ASSERT_EQUAL(siphash24(k0, k1, msg, 15), 0xa129ca6149be45e5ULL);
    CU_ASSERT_EQUAL(siphash24(k0, k1, msg, 63), 0x958a324ceb064572ULL);
}

static void test_seed_is_random(void)
{
    store_t *s = store_new();
    store_t *t = store_new();
    /* Zero would mean the seed was never read; the chance that a random
     * 128-bit seed is zero, or that two stores draw the same, is nil. */
    CU_ASSERT(s->seed[0] != 0 || s->seed[1] != 0);
    CU_ASSERT_NOT_EQUAL(key_hash(s, "a", 1), siphash24(0, 0, "a", 1));
    CU_ASSERT(s->seed[0] != t->seed[0] || s->seed[1] != t->seed[1]);
    store_free(t);
    store_free(s);
}

/* ==== Suites ============================================================== */

static CU_TestInfo hash_tests[] = {
    {"SipHash-2-4 vectors", test_siphash_vectors},
    {"seed is random", test_seed_is_random},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"hash", NULL, NULL, NULL, NULL, hash_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
