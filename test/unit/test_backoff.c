#include "lib/base/backoff.h"
#include "test/unit/unit.h"

/*
 * dskit's defaults for the memberlist join: 1s, 1m, 10 retries. The range
 * doubles until its top reaches max, then stays: [32s, 60s) from the 6th.
 */
static void
delays_double_within_their_range_up_to_max(void)
{
	static const int64_t lo[] = { 1000, 2000, 4000, 8000, 16000, 32000, 32000, 32000 };
	struct backoff b;

	for (int round = 0; round < 200; round++) {
		backoff_init(&b, 1000, 60000, 10);
		for (size_t i = 0; i < sizeof(lo) / sizeof(lo[0]); i++) {
			int64_t d = backoff_next_delay(&b), hi = 2 * lo[i] < 60000 ? 2 * lo[i] : 60000;

			CHECK(backoff_ongoing(&b));
			CHECK(d >= lo[i] && d < hi);
		}
	}
}

static void
retries_are_counted(void)
{
	struct backoff b;

	backoff_init(&b, 10, 100, 3);
	CHECK(backoff_ongoing(&b));
	backoff_next_delay(&b);
	backoff_next_delay(&b);
	CHECK(backoff_ongoing(&b));
	backoff_next_delay(&b);
	CHECK(!backoff_ongoing(&b));
	CHECK_INT(b.retries, 3);
	/* 0: forever. */
	backoff_init(&b, 10, 100, 0);
	for (int i = 0; i < 1000; i++)
		backoff_next_delay(&b);
	CHECK(backoff_ongoing(&b));
}

/* A min at or above max (a misconfiguration dskit tolerates): always min. */
static void
min_at_or_above_max(void)
{
	struct backoff b;

	backoff_init(&b, 5000, 5000, 2);
	CHECK_INT(backoff_next_delay(&b), 5000);
	CHECK_INT(backoff_next_delay(&b), 5000);
	backoff_init(&b, 7000, 3000, 2);
	CHECK_INT(backoff_next_delay(&b), 7000);
	backoff_init(&b, 0, 0, 1);
	CHECK_INT(backoff_next_delay(&b), 0);
}

UNIT_CASES(
	UNIT_CASE(delays_double_within_their_range_up_to_max),
	UNIT_CASE(retries_are_counted),
	UNIT_CASE(min_at_or_above_max),
);
