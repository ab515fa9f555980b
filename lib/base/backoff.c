#include <stdlib.h>

#include "lib/base/backoff.h"

static int64_t
doubled(int64_t v, int64_t max)
{
	return v > max / 2 ? max : v * 2;
}

void
backoff_init(struct backoff *b, int64_t min_ms, int64_t max_ms, int max_retries)
{
	b->min_ms = min_ms;
	b->max_ms = max_ms;
	b->max_retries = max_retries;
	b->retries = 0;
	b->next_min = min_ms;
	b->next_max = doubled(min_ms, max_ms);
}

int
backoff_ongoing(const struct backoff *b)
{
	return b->max_retries == 0 || b->retries < b->max_retries;
}

int64_t
backoff_next_delay(struct backoff *b)
{
	int64_t d, span;

	b->retries++;
	if (b->next_min >= b->next_max)
		return b->next_min;
	span = b->next_max - b->next_min;
	/* Jitter spreads the retries of nodes that all started at once. */
	d = b->next_min + arc4random_uniform(span > UINT32_MAX ? UINT32_MAX : (uint32_t)span);
	if (b->next_max < b->max_ms) {
		b->next_min = doubled(b->next_min, b->max_ms);
		b->next_max = doubled(b->next_max, b->max_ms);
	}
	return d;
}
