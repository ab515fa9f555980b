/*
 * limiter — buckets start full; a request larger than the burst is never
 * allowed, as rate.Limiter's AllowN.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/base/tree.h"
#include "lib/base/xmalloc.h"
#include "lib/dist/limiter.h"

struct bucket {
	RB_ENTRY(bucket) link;
	char		*tenant;
	double		 tokens;
	int64_t		 last_ms;
};

static int
bucket_cmp(struct bucket *a, struct bucket *b)
{
	return strcmp(a->tenant, b->tenant);
}

RB_HEAD(bucket_tree, bucket);
RB_GENERATE_STATIC(bucket_tree, bucket, link, bucket_cmp)

struct limiter {
	double		 rate;
	double		 burst;
	struct bucket_tree buckets;	/* by tenant */
};

struct limiter *
limiter_new(double rate, double burst)
{
	struct limiter *l = xcalloc(1, sizeof(*l));

	l->rate = rate;
	l->burst = burst;
	RB_INIT(&l->buckets);
	return l;
}

void
limiter_free(struct limiter *l)
{
	struct bucket *b, *tb;

	if (l == NULL)
		return;
	RB_FOREACH_SAFE(b, bucket_tree, &l->buckets, tb) {
		RB_REMOVE(bucket_tree, &l->buckets, b);
		free(b->tenant);
		free(b);
	}
	free(l);
}

static struct bucket *
bucket_of(struct limiter *l, const char *tenant, int64_t now_ms)
{
	struct bucket key = { .tenant = (char *)tenant }, *b;

	if ((b = RB_FIND(bucket_tree, &l->buckets, &key)) != NULL)
		return b;
	b = xcalloc(1, sizeof(*b));
	b->tenant = xstrdup(tenant);
	b->tokens = l->burst;
	b->last_ms = now_ms;
	RB_INSERT(bucket_tree, &l->buckets, b);
	return b;
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
