#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/xmalloc.h"
#include "lib/tsdb/chunkcut.h"

#define SAMPLES_PER_CHUNK	120

static int64_t	compute_chunk_end_time(int64_t, int64_t, int64_t);
static void	cutter_cut(struct chunk_cutter *, int64_t);

void
chunk_cutter_init(struct chunk_cutter *cc, int64_t range)
{
	memset(cc, 0, sizeof(*cc));
	cc->range = range;
	xor_chunk_init(&cc->cur);
}

/*
 * The end of t's chunk range, with Go's truncating division (so for
 * -R < t < 0 it is R) and Go's wrapping arithmetic near INT64_MAX.
 */
int64_t
chunk_range_end(int64_t t, int64_t r)
{
	if (r <= 0)
		return INT64_MAX;
	return (int64_t)((uint64_t)(t / r * r) + (uint64_t)r);
}

/*
 * Spread what is left up to max evenly over chunks of about 120 samples,
 * judged from the first 30. Go's int64 arithmetic wraps and never traps,
 * so the extremes are handled here instead of crashing.
 */
static int64_t
compute_chunk_end_time(int64_t start, int64_t cur, int64_t max)
{
	int64_t span, div, k;

	span = (int64_t)((uint64_t)max - (uint64_t)start);
	div = (int64_t)(((uint64_t)cur - (uint64_t)start + 1) * 4);
	if (div == 0)
		return max;
	if (div == -1)
		k = (int64_t)(0 - (uint64_t)span);
	else
		k = span / div;
	if (k <= 1)
		return max;
	return (int64_t)((uint64_t)start + (uint64_t)(span / k));
}

int
chunk_cut_due(uint16_t n, int64_t cur_mint, int64_t cur_maxt, int64_t *next_at, int64_t t)
{
	if (n == SAMPLES_PER_CHUNK / 4)
		*next_at = compute_chunk_end_time(cur_mint, cur_maxt, *next_at);
	return t >= *next_at || n >= SAMPLES_PER_CHUNK * 2;
}

/* Close the open chunk (an empty one is dropped, as the head does) and start a new one at t. */
static void
cutter_cut(struct chunk_cutter *cc, int64_t t)
{
	if (cc->has_cur && cc->cur.e.n > 0) {
		size_t len;
		const uint8_t *p = xor_chunk_bytes(&cc->cur, &len);
		struct chunk *c;

		if (cc->nclosed == cc->cap) {
			cc->cap = cc->cap ? cc->cap * 2 : 16;
			cc->closed = xreallocarray(cc->closed, cc->cap, sizeof(*cc->closed));
			cc->closed_off = xreallocarray(cc->closed_off, cc->cap,
			    sizeof(*cc->closed_off));
		}
		c = &cc->closed[cc->nclosed];
		memset(c, 0, sizeof(*c));
		c->mint = cc->cur_mint;
		c->maxt = cc->cur_maxt;
		c->enc = CHUNK_ENC_XOR;
		c->len = len;
		cc->closed_off[cc->nclosed] = cc->closed_data.len;
		buf_put_bytes(&cc->closed_data, p, len);
		cc->nclosed++;
	}
	xor_chunk_reset(&cc->cur);
	cc->has_cur = 1;
	cc->cur_mint = t;
	cc->cur_maxt = INT64_MIN;
	cc->next_at = chunk_range_end(t, cc->range);
}

int
chunk_cutter_append(struct chunk_cutter *cc, int64_t t, uint64_t v)
{
	uint16_t n;

	if (!cc->has_cur)
		cutter_cut(cc, t);
	if (t <= cc->cur_maxt)
		return 1;
	n = cc->cur.e.n;
	if (n == 0) {
		/* An empty chunk (its first sample was refused) starts at the first accepted one. */
		cc->cur_mint = t;
		cc->next_at = chunk_range_end(t, cc->range);
	}
	if (chunk_cut_due(n, cc->cur_mint, cc->cur_maxt, &cc->next_at, t))
		cutter_cut(cc, t);
	xor_chunk_append(&cc->cur, t, v);
	cc->cur_maxt = t;
	return 0;
}

struct chunk *
chunk_cutter_chunks(struct chunk_cutter *cc, size_t *n)
{
	size_t k = 0;

	if (cc->outcap < cc->nclosed + 1) {
		cc->outcap = cc->nclosed + 1 > 2 * cc->outcap ? cc->nclosed + 1 : 2 * cc->outcap;
		cc->out = xreallocarray(cc->out, cc->outcap, sizeof(*cc->out));
	}
	for (; k < cc->nclosed; k++) {
		cc->out[k] = cc->closed[k];
		cc->out[k].data = cc->closed_data.p + cc->closed_off[k];
	}
	if (cc->has_cur && cc->cur.e.n > 0) {
		struct chunk *c = &cc->out[k++];

		memset(c, 0, sizeof(*c));
		c->mint = cc->cur_mint;
		c->maxt = cc->cur_maxt;
		c->enc = CHUNK_ENC_XOR;
		c->data = xor_chunk_bytes(&cc->cur, &c->len);
	}
	*n = k;
	return cc->out;
}

void
chunk_cutter_reset(struct chunk_cutter *cc)
{
	cc->nclosed = 0;
	buf_reset(&cc->closed_data);
	xor_chunk_reset(&cc->cur);
	cc->has_cur = 0;
	cc->next_at = 0;
	cc->cur_mint = 0;
	cc->cur_maxt = 0;
}

void
chunk_cutter_free(struct chunk_cutter *cc)
{
	xor_chunk_free(&cc->cur);
	buf_free(&cc->closed_data);
	free(cc->closed);
	free(cc->closed_off);
	free(cc->out);
	memset(cc, 0, sizeof(*cc));
}
