#include <math.h>	/* frexp, M_LN2, M_SQRT1_2: frexp is libc's, not libm's */
#include <stdint.h>

#include "lib/gossip/scale.h"

/*
 * x = m * 2^e with m in [1/sqrt 2, sqrt 2); ln m = 2 atanh(s), s = (m-1)/(m+1),
 * |s| < 0.172: twelve terms of the atanh series reach double precision.
 */
double
ml_ln(double x)
{
	int e;
	double m = frexp(x, &e), s, s2, term, sum = 0;

	if (m < M_SQRT1_2) {
		m *= 2;
		e--;
	}
	s = (m - 1) / (m + 1);
	s2 = s * s;
	term = s;
	for (int k = 1; k <= 23; k += 2) {
		sum += term / k;
		term *= s2;
	}
	return 2 * sum + e * M_LN2;
}

int
ml_retransmit_limit(int mult, size_t nodes)
{
	int digits = 0;

	/* ceil(log10(n + 1)) is the number of decimal digits of n. */
	for (size_t n = nodes; n > 0; n /= 10)
		digits++;
	return mult * digits;
}

int64_t
ml_pushpull_scale(int64_t interval_ms, size_t nodes)
{
	int bits = 0;

	if (nodes <= 32)
		return interval_ms;
	/* ceil(log2(n)) is the bit length of n - 1. */
	for (size_t n = nodes - 1; n > 0; n >>= 1)
		bits++;
	return interval_ms * (bits - 5 + 1);
}

int64_t
ml_suspicion_min(int mult, size_t nodes, int64_t interval_ms)
{
	double scale;
	size_t pow10 = 1;
	int digits = 0;

	/* Whole digits apart, so that log10 of a power of ten is exact, as libm's. */
	while (nodes / pow10 >= 10) {
		pow10 *= 10;
		digits++;
	}
	scale = nodes > 1 ? digits + ml_ln((double)nodes / (double)pow10) / M_LN10 : 0;
	if (scale < 1)
		scale = 1;
	return (int64_t)mult * (int64_t)(scale * 1000) * interval_ms / 1000;
}

int64_t
ml_suspicion_timeout(int n, int k, int64_t min_ms, int64_t max_ms)
{
	double frac, raw;
	int64_t t;

	if (k < 1)
		return min_ms;
	frac = ml_ln((double)n + 1) / ml_ln((double)k + 1);
	raw = (double)max_ms - frac * (double)(max_ms - min_ms);
	/* Go floors the ms; past max (raw < 0) min applies anyway. */
	t = raw < 0 ? 0 : (int64_t)raw;
	return t < min_ms ? min_ms : t;
}
