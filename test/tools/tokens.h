/*
 * tokens — ring tokens for the KV test tools: a generator seeded by the
 * instance ID, so a re-register keeps them; sorted and unique, as stored.
 */
#ifndef RINGTAIL_TEST_TOOLS_TOKENS_H
#define RINGTAIL_TEST_TOOLS_TOKENS_H

#include <stdlib.h>

#include "lib/base/xmalloc.h"
#include "lib/ring/desc.h"

static int
tokens_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void
make_tokens(struct ring_instance *x, size_t n)
{
	uint32_t h = 2166136261u;
	size_t j = 0;

	for (const char *p = x->id; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	x->tokens = xcalloc(n ? n : 1, sizeof(*x->tokens));
	for (size_t i = 0; i < n; i++) {
		h ^= h << 13;
		h ^= h >> 17;
		h ^= h << 5;
		x->tokens[i] = h;
	}
	qsort(x->tokens, n, sizeof(*x->tokens), tokens_cmp);
	for (size_t i = 0; i < n; i++)
		if (j == 0 || x->tokens[j - 1] != x->tokens[i])
			x->tokens[j++] = x->tokens[i];
	x->ntokens = j;
}

#endif
