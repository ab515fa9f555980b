/*
 * limiter — buckets start full; a request larger than the burst is never
 * allowed, as rate.Limiter's AllowN.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/base/xmalloc.h"
#include "lib/dist/limiter.h"

struct bucket {
	char		*tenant;
	double		 tokens;
	int64_t		 last_ms;
};

struct limiter {
	double		 rate;
	double		 burst;
	struct bucket	*b;
	size_t		 n;
};

struct limiter *
limiter_new(double rate, double burst)
{
	struct limiter *l = xcalloc(1, sizeof(*l));

	l->rate = rate;
	l->burst = burst;
	return l;
}

void
limiter_free(struct limiter *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->b[i].tenant);
	free(l->b);
	free(l);
}

static struct bucket *
bucket_of(struct limiter *l, const char *tenant, int64_t now_ms)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->b[i].tenant, tenant) == 0)
			return &l->b[i];
	l->b = xreallocarray(l->b, l->n + 1, sizeof(*l->b));
	l->b[l->n].tenant = xstrdup(tenant);
	l->b[l->n].tokens = l->burst;
	l->b[l->n].last_ms = now_ms;
	return &l->b[l->n++];
}

int
limiter_allow(struct limiter *l, const char *tenant, double n, int64_t now_ms)
{
	struct bucket *b;

	if (l->rate <= 0)
		return 1;
	b = bucket_of(l, tenant, now_ms);
	if (now_ms > b->last_ms) {
		b->tokens += (double)(now_ms - b->last_ms) / 1000 * l->rate;
		if (b->tokens > l->burst)
			b->tokens = l->burst;
		b->last_ms = now_ms;
	}
	if (n > b->tokens)
		return 0;
	b->tokens -= n;
	return 1;
}
