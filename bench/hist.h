#ifndef HIST_H
#define HIST_H

#include <stdint.h>

/*
 * A log-linear latency histogram in the manner of HdrHistogram: values
 * from HIST_MIN to HIST_MAX (microseconds, for loadgen) kept to 3
 * significant digits in a fixed array, whatever the number of samples.
 *
 * Layout: values below 2 * HIST_SUB (2048) have a counter each. Above,
 * every power of two [2^k * HIST_SUB, 2^(k+1) * HIST_SUB) is split into
 * HIST_SUB (1024) counters of width 2^k. A counter's width is therefore at
 * most 1/1024 of the smallest value it holds.
 *
 * The guarantee: for a percentile p, let x be the exact nearest-rank value
 * of the recorded samples (sorted ascending, the one at rank
 * ceil(p / 100 * count), at least 1). hist_percentile() returns the highest
 * value of x's counter, h, with
 *
 *     x <= h < x * (1 + 1/1024)        (within 0.098%, so never below x)
 *
 * and h == x exactly below 2048. hist_max() and hist_min() are exact.
 * Values outside [HIST_MIN, HIST_MAX] are clamped to the nearest end and
 * counted in `clamped`.
 */

#define HIST_MIN     1ULL
#define HIST_MAX     60000000ULL /* 60 s in microseconds */
#define HIST_SUB     1024        /* counters per power of two above 2048 */
#define HIST_BUCKETS 15          /* powers of two above 2048: 2048 << 15 > HIST_MAX */
#define HIST_COUNTS  (2 * HIST_SUB + HIST_BUCKETS * HIST_SUB)

typedef struct hist {
    uint64_t count;   /* samples recorded */
    uint64_t min;     /* smallest value recorded (after clamping); 0 when empty */
    uint64_t max;     /* largest value recorded (after clamping); 0 when empty */
    uint64_t clamped; /* samples that were outside [HIST_MIN, HIST_MAX] */
    uint64_t counts[HIST_COUNTS];
} hist_t;

/* Empties h. */
void hist_init(hist_t *h);

/* Records one sample, clamped to [HIST_MIN, HIST_MAX]. */
void hist_record(hist_t *h, uint64_t value);

/* The value at percentile p (0 < p <= 100) as stated above; 0 when h is
 * empty. p <= 0 gives the smallest counter's value, p > 100 the largest. */
uint64_t hist_percentile(const hist_t *h, double p);

/* Samples recorded, largest and smallest (exact); 0 when empty. */
uint64_t hist_count(const hist_t *h);
uint64_t hist_max(const hist_t *h);
uint64_t hist_min(const hist_t *h);

/* Adds every sample of src to dst, as if recorded there. */
void hist_merge(hist_t *dst, const hist_t *src);

/* The rank (1..count) that percentile p names in count samples: the
 * nearest-rank definition used above, shared with the tests. */
uint64_t hist_rank(uint64_t count, double p);

#endif /* HIST_H */
