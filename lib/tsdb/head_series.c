/*
 * head_series — one series of the head: its interned labels, the open XOR
 * chunk and the closed chunks' final bytes, cut by Prometheus' rule
 * (memSeries.append, appendPreprocessor, computeChunkEndTime;
 * specs/tsdb-format.md §6).
 *
 * The rule is chunkcut's (chunk_cut_due, chunk_range_end); chunk_cutter
 * itself serves block-import one series at a time, while a head keeps a
 * million series at once, so each one holds only what it needs: ~110 bytes
 * of state, one malloc per closed chunk sized to its bytes, and no scratch
 * arrays. test_head checks that both give the same chunk bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HEAD_INTERNALS
#include "lib/base/xmalloc.h"
#include "lib/tsdb/chunkcut.h"
#include "lib/tsdb/head.h"

static void	series_cut(struct memseries *, int64_t, int64_t);
static int	istr_cmp(const struct istr *, const struct istr *);

/* Close the open chunk (its bytes become final) and start a new one at t. */
static void
series_cut(struct memseries *s, int64_t t, int64_t range)
{
	struct hchunk *c;
	size_t len;
	const uint8_t *p = xor_chunk_bytes(&s->cur, &len);

	c = xmalloc(sizeof(*c) + len);
	c->mint = s->cur_mint;
	c->maxt = s->cur.e.t;
	c->len = (uint32_t)len;
	memcpy(c->data, p, len);
	if (s->nclosed == s->closed_cap) {
		s->closed_cap = s->closed_cap ? s->closed_cap * 2 : 2;
		s->closed = xreallocarray(s->closed, s->closed_cap, sizeof(s->closed[0]));
	}
	s->closed[s->nclosed++] = c;
	/*
	 * A fresh buffer instead of the full one: it grows with the new chunk,
	 * so a million open chunks do not each sit on a full chunk's capacity.
	 */
	xor_chunk_free(&s->cur);
	xor_chunk_init(&s->cur);
	s->cur_mint = t;
	s->next_at = chunk_range_end(t, range);
}

int
memseries_append(struct memseries *s, int64_t t, uint64_t v, int64_t range)
{
	uint16_t n = s->cur.e.n;
	int started = 0;

	if (s->cur.b.p == NULL)
		xor_chunk_init(&s->cur);
	if (n == 0) {
		s->cur_mint = t;
		s->next_at = chunk_range_end(t, range);
		started = 1;
	} else {
		if (chunk_cut_due(n, s->cur_mint, s->cur.e.t, &s->next_at, t)) {
			series_cut(s, t, range);
			started = 1;
		}
	}
	xor_chunk_append(&s->cur, t, v);
	return started;
}

size_t
memseries_nchunks(const struct memseries *s)
{
	return s->nclosed + (s->cur.e.n > 0);
}

int
memseries_min_time(const struct memseries *s, int64_t *t)
{
	if (s->nclosed > 0) {
		*t = s->closed[0]->mint;
		return 1;
	}
	if (s->cur.e.n > 0) {
		*t = s->cur_mint;
		return 1;
	}
	return 0;
}

void
memseries_drop_chunks(struct memseries *s)
{
	for (uint32_t i = 0; i < s->nclosed; i++)
		free(s->closed[i]);
	free(s->closed);
	s->closed = NULL;
	s->nclosed = s->closed_cap = 0;
	if (s->cur.b.p != NULL)
		xor_chunk_reset(&s->cur);
}

/*
 * truncateChunksBefore: an open chunk ending before mint takes every chunk
 * with it; otherwise the closed chunks ending before mint go.
 */
size_t
memseries_truncate(struct memseries *s, int64_t mint)
{
	size_t k = 0, n;

	if (s->cur.e.n > 0 && s->cur.e.t < mint) {
		n = memseries_nchunks(s);
		memseries_drop_chunks(s);
		return n;
	}
	while (k < s->nclosed && s->closed[k]->maxt < mint)
		free(s->closed[k++]);
	if (k == 0)
		return 0;
	memmove(s->closed, s->closed + k, (s->nclosed - k) * sizeof(s->closed[0]));
	s->nclosed -= (uint32_t)k;
	return k;
}

size_t
memseries_chunks(const struct memseries *s, struct chunk **out, size_t *cap)
{
	size_t n = memseries_nchunks(s);

	if (*cap < n) {
		*cap = n < 8 ? 8 : n;
		*out = xreallocarray(*out, *cap, sizeof(**out));
	}
	for (uint32_t i = 0; i < s->nclosed; i++) {
		struct chunk *c = &(*out)[i];
		const struct hchunk *hc = s->closed[i];

		memset(c, 0, sizeof(*c));
		c->mint = hc->mint;
		c->maxt = hc->maxt;
		c->enc = CHUNK_ENC_XOR;
		c->data = hc->data;
		c->len = hc->len;
	}
	if (s->cur.e.n > 0) {
		struct chunk *c = &(*out)[s->nclosed];

		memset(c, 0, sizeof(*c));
		c->mint = s->cur_mint;
		c->maxt = s->cur.e.t;
		c->enc = CHUNK_ENC_XOR;
		c->data = xor_chunk_bytes(&s->cur, &c->len);
	}
	return n;
}

void
memseries_labels(const struct memseries *s, struct label **scratch, size_t *cap,
    struct labels *out)
{
	if (*cap < s->nlabels) {
		*cap = s->nlabels;
		*scratch = xreallocarray(*scratch, *cap, sizeof(**scratch));
	}
	for (uint32_t i = 0; i < s->nlabels; i++) {
		const struct istr *n = s->lbl[2 * i], *v = s->lbl[2 * i + 1];

		(*scratch)[i].name.p = n->p;
		(*scratch)[i].name.len = n->len;
		(*scratch)[i].value.p = v->p;
		(*scratch)[i].value.len = v->len;
	}
	out->v = *scratch;
	out->n = s->nlabels;
}

/* Interned strings compare equal by identity, which saves most memcmps. */
static int
istr_cmp(const struct istr *a, const struct istr *b)
{
	struct str sa = { a->p, a->len }, sb = { b->p, b->len };

	return a == b ? 0 : str_cmp(sa, sb);
}

int
memseries_cmp(const struct memseries *a, const struct memseries *b)
{
	uint32_t n = a->nlabels < b->nlabels ? a->nlabels : b->nlabels;
	int c;

	for (uint32_t i = 0; i < 2 * n; i++)
		if ((c = istr_cmp(a->lbl[i], b->lbl[i])) != 0)
			return c;
	if (a->nlabels == b->nlabels)
		return 0;
	return a->nlabels < b->nlabels ? -1 : 1;
}
