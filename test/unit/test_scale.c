#include <math.h>

#include "lib/gossip/scale.h"
#include "test/unit/unit.h"

/* The libm formulas of Go's memberlist, to hold ours against. */
static int64_t
go_suspicion_min(int mult, size_t n, int64_t interval)
{
	double scale = fmax(1.0, log10(fmax(1.0, (double)n)));

	return (int64_t)mult * (int64_t)(scale * 1000) * interval / 1000;
}

static void
ln_is_libms_log_to_a_few_ulp(void)
{
	for (double x = 1e-6; x < 1e12; x *= 1.0007) {
		double want = log(x), got = ml_ln(x);

		CHECK(fabs(got - want) <= 4e-16 * fmax(1.0, fabs(want)));
	}
	CHECK(ml_ln(1.0) == 0.0);
}

static void
retransmit_and_pushpull_scale_as_go(void)
{
	for (size_t n = 0; n <= 200000; n++) {
		CHECK_INT(ml_retransmit_limit(4, n), 4 * (int)ceil(log10((double)n + 1)));
		if (n > 32)
			CHECK_INT(ml_pushpull_scale(30000, n),
			    30000 * (int64_t)(ceil(log2((double)n) - log2(32.0)) + 1));
	}
	CHECK_INT(ml_retransmit_limit(4, 0), 0);
	CHECK_INT(ml_retransmit_limit(4, 9), 4);
	CHECK_INT(ml_retransmit_limit(4, 10), 8);
	CHECK_INT(ml_pushpull_scale(30000, 32), 30000);
	CHECK_INT(ml_pushpull_scale(30000, 33), 60000);
	CHECK_INT(ml_pushpull_scale(30000, 64), 60000);
	CHECK_INT(ml_pushpull_scale(30000, 65), 90000);
}

static void
suspicion_min_as_go(void)
{
	for (size_t n = 0; n <= 200000; n++)
		CHECK_INT(ml_suspicion_min(4, n, 1000), go_suspicion_min(4, n, 1000));
	/* dskit's defaults, 4 and 1 s: 4 s up to 10 nodes, 8 s at 100. */
	CHECK_INT(ml_suspicion_min(4, 10, 1000), 4000);
	CHECK_INT(ml_suspicion_min(4, 100, 1000), 8000);
	CHECK_INT(ml_suspicion_min(4, 1000, 1000), 12000);
}

static void
suspicion_timeout_as_lifeguard(void)
{
	for (int k = 1; k <= 20; k++)
		for (int n = 0; n <= k; n++)
			for (int64_t min = 1000; min <= 64000; min += 1500) {
				int64_t max = 6 * min, want;
				double raw = (double)max -
				    log((double)n + 1) / log((double)k + 1) * (double)(max - min);

				want = (int64_t)floor(raw);
				CHECK_INT(ml_suspicion_timeout(n, k, min, max), want < min ? min : want);
			}
	/* No confirmation expected: the minimum. All of them seen: the minimum. */
	CHECK_INT(ml_suspicion_timeout(0, 0, 4000, 24000), 4000);
	CHECK_INT(ml_suspicion_timeout(2, 2, 4000, 24000), 4000);
	CHECK_INT(ml_suspicion_timeout(0, 2, 4000, 24000), 24000);
}

UNIT_CASES(
    UNIT_CASE(ln_is_libms_log_to_a_few_ulp),
    UNIT_CASE(retransmit_and_pushpull_scale_as_go),
    UNIT_CASE(suspicion_min_as_go),
    UNIT_CASE(suspicion_timeout_as_lifeguard),
);
