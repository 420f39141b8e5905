/*
 * Unit tests of bench/hist.c, loadgen's histogram: its percentiles against
 * the exact ones of sorted random samples (several distributions), within
 * the precision hist.h states; edge values; clamping; merge.
 */

#include "harness.h"
#include "hist.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#define SAMPLES 200000

static const double percentiles[] = {0.1, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 100};

/* ==== Helpers ============================================================== */

/* splitmix64: a fixed, seeded generator, so a failure can be replayed. */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rng_unit(void)
{
    return (double)(rng_next() >> 11) / 9007199254740992.0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Asserts hist.h's guarantee, x <= h < x * (1 + 1/1024), for every
 * percentile above, against the sorted samples v[0..n). */
static void check_percentiles(const hist_t *h, uint64_t *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_u64);
    CU_ASSERT_EQUAL(hist_count(h), n);
    CU_ASSERT_EQUAL(hist_min(h), v[0]);
    CU_ASSERT_EQUAL(hist_max(h), v[n - 1]);
    for (size_t i = 0; i < sizeof(percentiles) / sizeof(percentiles[0]); i++) {
        uint64_t x = v[hist_rank(n, percentiles[i]) - 1];
        uint64_t got = hist_percentile(h, percentiles[i]);
        CU_ASSERT(got >= x);
        CU_ASSERT((double)got < (double)x * (1.0 + 1.0 / 1024));
        if (x < 2048)
            CU_ASSERT_EQUAL(got, x);
        if (got < x || (double)got >= (double)x * (1.0 + 1.0 / 1024))
            fprintf(stderr, "p%g: exact %llu, histogram %llu\n", percentiles[i],
                    (unsigned long long)x, (unsigned long long)got);
    }
}

typedef uint64_t (*draw_fn)(void);

/* Records SAMPLES values from draw (already within range) and checks. */
static void check_distribution(draw_fn draw, uint64_t seed)
{
    rng_state = seed;
    hist_t *h = malloc(sizeof(*h));
    uint64_t *v = malloc(SAMPLES * sizeof(*v));
    CU_ASSERT_FATAL(h != NULL && v != NULL);
    hist_init(h);
    for (size_t i = 0; i < SAMPLES; i++) {
        v[i] = draw();
        hist_record(h, v[i]);
    }
    CU_ASSERT_EQUAL(h->clamped, 0);
    check_percentiles(h, v, SAMPLES);
    free(v);
    free(h);
}

/* ==== Distributions ========================================================= */

/* Uniform over the whole range: most samples in the widest counters. */
static uint64_t draw_uniform(void)
{
    return 1 + rng_next() % HIST_MAX;
}

/* Exponential, mean 100 us: a loopback server's latencies. */
static uint64_t draw_exponential(void)
{
    return 1 + (uint64_t)(-100.0 * log(1.0 - rng_unit()));
}

/* Log-uniform from 1 us to 60 s: every power of two equally. */
static uint64_t draw_log_uniform(void)
{
    uint64_t v = (uint64_t)exp(rng_unit() * log((double)HIST_MAX));
    return v < 1 ? 1 : v > HIST_MAX ? HIST_MAX : v;
}

/* Bimodal: fast replies around 50 us and a stall's 200..700 ms tail (16%),
 * loadgen's stall test in miniature. */
static uint64_t draw_bimodal(void)
{
    if (rng_unit() < 0.16)
        return 200000 + rng_next() % 500000;
    return 30 + rng_next() % 40;
}

/* Values at and around counter boundaries: the off-by-ones. */
static uint64_t draw_boundaries(void)
{
    int k = (int)(rng_next() % 26);
    uint64_t base = 1ULL << k;
    uint64_t v = base + rng_next() % 3 - 1;
    return v < 1 ? 1 : v > HIST_MAX ? HIST_MAX : v;
}

static void test_uniform(void)
{
    check_distribution(draw_uniform, 1);
}

static void test_exponential(void)
{
    check_distribution(draw_exponential, 2);
}

static void test_log_uniform(void)
{
    check_distribution(draw_log_uniform, 3);
}

static void test_bimodal(void)
{
    check_distribution(draw_bimodal, 4);
}

static void test_boundaries(void)
{
    check_distribution(draw_boundaries, 5);
}

/* Every value below 2048 is exact; every value above lands in a counter
 * whose top is within the stated precision (walked over the whole range in
 * steps, one sample at a time). */
static void test_every_counter(void)
{
    hist_t *h = malloc(sizeof(*h));
    CU_ASSERT_FATAL(h != NULL);
    int bad = 0;
    for (uint64_t v = 1; v <= HIST_MAX; v += v < 4096 ? 1 : v / 700) {
        hist_init(h);
        hist_record(h, v);
        hist_record(h, HIST_MAX);
        uint64_t got = hist_percentile(h, 50);
        if (got < v || (double)got >= (double)v * (1.0 + 1.0 / 1024) || (v < 2048 && got != v))
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    free(h);
}

/* ==== Edges ================================================================= */

static void test_empty(void)
{
    hist_t h;
    hist_init(&h);
    CU_ASSERT_EQUAL(hist_count(&h), 0);
    CU_ASSERT_EQUAL(hist_percentile(&h, 50), 0);
    CU_ASSERT_EQUAL(hist_percentile(&h, 100), 0);
    CU_ASSERT_EQUAL(hist_max(&h), 0);
    CU_ASSERT_EQUAL(hist_min(&h), 0);
}

static void test_one_sample(void)
{
    hist_t h;
    hist_init(&h);
    hist_record(&h, 123456);
    CU_ASSERT_EQUAL(hist_percentile(&h, 0.001), 123456);
    CU_ASSERT_EQUAL(hist_percentile(&h, 50), 123456); /* capped at the exact max */
    CU_ASSERT_EQUAL(hist_percentile(&h, 100), 123456);
    CU_ASSERT_EQUAL(hist_max(&h), 123456);
}

static void test_range_ends(void)
{
    hist_t h;
    hist_init(&h);
    hist_record(&h, HIST_MIN);
    hist_record(&h, HIST_MAX);
    CU_ASSERT_EQUAL(h.clamped, 0);
    CU_ASSERT_EQUAL(hist_percentile(&h, 50), HIST_MIN);
    CU_ASSERT_EQUAL(hist_percentile(&h, 100), HIST_MAX);
    CU_ASSERT_EQUAL(hist_min(&h), HIST_MIN);
}

static void test_clamping(void)
{
    hist_t h;
    hist_init(&h);
    hist_record(&h, 0);
    hist_record(&h, HIST_MAX + 1);
    hist_record(&h, UINT64_MAX);
    CU_ASSERT_EQUAL(hist_count(&h), 3);
    CU_ASSERT_EQUAL(h.clamped, 3);
    CU_ASSERT_EQUAL(hist_min(&h), HIST_MIN);
    CU_ASSERT_EQUAL(hist_max(&h), HIST_MAX);
    CU_ASSERT_EQUAL(hist_percentile(&h, 10), HIST_MIN);
    CU_ASSERT_EQUAL(hist_percentile(&h, 99), HIST_MAX);
}

static void test_rank(void)
{
    CU_ASSERT_EQUAL(hist_rank(0, 50), 0);
    CU_ASSERT_EQUAL(hist_rank(1, 50), 1);
    CU_ASSERT_EQUAL(hist_rank(1000, 0), 1);
    CU_ASSERT_EQUAL(hist_rank(1000, 50), 500);
    CU_ASSERT_EQUAL(hist_rank(1000, 99.9), 999);
    CU_ASSERT_EQUAL(hist_rank(1000, 100), 1000);
    CU_ASSERT_EQUAL(hist_rank(1000, 150), 1000);
    CU_ASSERT_EQUAL(hist_rank(3, 50), 2);
}

/* Two histograms merged answer as one that saw every sample. */
static void test_merge(void)
{
    hist_t *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b)), *all = malloc(sizeof(*all));
    uint64_t *v = malloc(20000 * sizeof(*v));
    CU_ASSERT_FATAL(a != NULL && b != NULL && all != NULL && v != NULL);
    hist_init(a);
    hist_init(b);
    hist_init(all);
    rng_state = 6;
    for (size_t i = 0; i < 20000; i++) {
        v[i] = i % 2 ? draw_exponential() : draw_log_uniform();
        hist_record(i % 2 ? a : b, v[i]);
        hist_record(all, v[i]);
    }
    hist_merge(a, b);
    for (size_t i = 0; i < sizeof(percentiles) / sizeof(percentiles[0]); i++)
        CU_ASSERT_EQUAL(hist_percentile(a, percentiles[i]), hist_percentile(all, percentiles[i]));
    check_percentiles(a, v, 20000);
    hist_init(b);
    hist_merge(a, b); /* an empty one changes nothing */
    CU_ASSERT_EQUAL(hist_count(a), 20000);
    CU_ASSERT_EQUAL(hist_min(a), hist_min(all));
    free(v);
    free(all);
    free(b);
    free(a);
}

static CU_TestInfo precision_tests[] = {
    {"uniform", test_uniform},
    {"exponential", test_exponential},
    {"log-uniform", test_log_uniform},
    {"bimodal", test_bimodal},
    {"counter boundaries", test_boundaries},
    {"every counter", test_every_counter},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo edge_tests[] = {
    {"empty", test_empty},
    {"one sample", test_one_sample},
    {"range ends", test_range_ends},
    {"clamping", test_clamping},
    {"rank", test_rank},
    {"merge", test_merge},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"hist precision", NULL, NULL, NULL, NULL, precision_tests},
    {"hist edges", NULL, NULL, NULL, NULL, edge_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    return harness_main(argc, argv, suites);
}
