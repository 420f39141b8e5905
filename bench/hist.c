/*
 * hist.c: the log-linear histogram of hist.h. Written for loadgen, without
 * HdrHistogram's code: only its idea (a linear range per power of two).
 */

#include "hist.h"

#include <assert.h>
#include <math.h>
#include <string.h>

/* ==== Index arithmetic ===================================================== */

/* The position of the highest set bit of v (v > 0). */
static int high_bit(uint64_t v)
{
    return 63 - __builtin_clzll(v);
}

/* Which counter holds v (HIST_MIN <= v <= HIST_MAX). Below 2 * HIST_SUB the
 * value is its own index; above, bucket k >= 1 holds
 * [HIST_SUB << k, HIST_SUB << (k + 1)) in HIST_SUB counters of width 2^k,
 * after the 2 * HIST_SUB exact ones. */
static unsigned hist_index(uint64_t v)
{
    if (v < 2 * HIST_SUB)
        return (unsigned)v;
    int k = high_bit(v) - 10; /* HIST_SUB == 1 << 10 */
    uint64_t sub = (v >> k) - HIST_SUB;
    return (unsigned)(2 * HIST_SUB + (uint64_t)(k - 1) * HIST_SUB + sub);
}

/* The highest value that lands in counter i. */
static uint64_t hist_highest(unsigned i)
{
    if (i < 2 * HIST_SUB)
        return i;
    unsigned k = (i - 2 * HIST_SUB) / HIST_SUB + 1;
    uint64_t sub = (i - 2 * HIST_SUB) % HIST_SUB + HIST_SUB;
    return ((sub + 1) << k) - 1;
}

/* ==== Recording ============================================================= */

void hist_init(hist_t *h)
{
    memset(h, 0, sizeof(*h));
}

void hist_record(hist_t *h, uint64_t value)
{
    if (value < HIST_MIN || value > HIST_MAX) {
        value = value < HIST_MIN ? HIST_MIN : HIST_MAX;
        h->clamped++;
    }
    h->counts[hist_index(value)]++;
    if (h->count == 0 || value < h->min)
        h->min = value;
    if (value > h->max)
        h->max = value;
    h->count++;
}

void hist_merge(hist_t *dst, const hist_t *src)
{
    if (src->count == 0)
        return;
    for (unsigned i = 0; i < HIST_COUNTS; i++)
        dst->counts[i] += src->counts[i];
    if (dst->count == 0 || src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    dst->count += src->count;
    dst->clamped += src->clamped;
}

/* ==== Reading =============================================================== */

uint64_t hist_rank(uint64_t count, double p)
{
    if (count == 0)
        return 0;
    /* 99.9 / 100 * 1000 is 999.0000000000001 in binary floating point:
     * shave the rounding error off before ceil(), so ranks come out as a
     * reader computes them. */
    double exact = p / 100.0 * (double)count;
    double r = ceil(exact - fabs(exact) * 1e-12);
    if (!(r >= 1.0))
        return 1;
    return r >= (double)count ? count : (uint64_t)r;
}

uint64_t hist_percentile(const hist_t *h, double p)
{
    if (h->count == 0)
        return 0;
    uint64_t rank = hist_rank(h->count, p);
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_COUNTS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            /* The counter's top, but never above what was recorded: the
             * max is exact, and reporting more than it would be odd. */
            uint64_t v = hist_highest(i);
            return v > h->max ? h->max : v;
        }
    }
    assert(0 && "counts do not add up to count");
    return h->max;
}

uint64_t hist_count(const hist_t *h)
{
    return h->count;
}

uint64_t hist_max(const hist_t *h)
{
    return h->max;
}

uint64_t hist_min(const hist_t *h)
{
    return h->min;
}
