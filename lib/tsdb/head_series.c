/*
 * head_series — one series of the head: its label string ids, the open XOR
 * chunk and the closed chunks' final bytes, cut by Prometheus' rule
 * (memSeries.append, appendPreprocessor, computeChunkEndTime;
 * specs/tsdb-format.md §6).
 *
 * The rule is chunkcut's (chunk_cut_due, chunk_range_end); chunk_cutter
 * itself serves block-import one series at a time, while a head keeps a
 * million series at once, so each one is a single allocation of its state,
 * label ids and open chunk bytes, grown a few bytes at a time, and each
 * closed chunk one allocation sized to its bytes. test_head checks that both
 * give the same chunk bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HEAD_INTERNALS
#include "lib/base/xmalloc.h"
#include "lib/tsdb/chunkcut.h"
#include "lib/tsdb/head.h"

/* Room for a chunk's first sample: count, a 10-byte varint time, the value, a quirk byte. */
#define FIRST_SAMPLE_MAX	24
/* Bytes a growing chunk gets beyond the append that overflowed it: a few samples' worth. */
#define GROW_ROOM		16

static size_t	alloc_size(size_t);
static size_t	series_base(const struct memseries *);
static struct memseries *series_resize(struct memseries **, size_t);
static int64_t	open_mint(const struct memseries *);
static void	chunk_start(struct memseries *, int64_t, int64_t);
static struct memseries *series_cut(struct memseries **, int64_t, int64_t);
static void	append_spilled(struct memseries **, int64_t, uint64_t);

/*
 * Allocation sizes 8 bytes short of a multiple of 16: what a malloc with an
 * 8-byte header and 16-byte alignment (glibc's) hands out with no waste.
 */
static size_t
alloc_size(size_t n)
{
	return ((n + 8 + 15) & ~(size_t)15) - 8;
}

static size_t
series_base(const struct memseries *s)
{
	return sizeof(*s) + s->lblen;
}

/* Give the open chunk at least room bytes; the series may move. */
static struct memseries *
series_resize(struct memseries **sp, size_t room)
{
	size_t base = series_base(*sp), size = alloc_size(base + room);
	struct memseries *s = xrealloc(*sp, size);

	/* A chunk holds at most 240 samples of at most 21 bytes: cap fits 16 bits. */
	s->cap = (uint16_t)(size - base);
	*sp = s;
	return s;
}

struct memseries *
memseries_new(uint64_t ref, const uint8_t *lbl, size_t lblen)
{
	size_t base = sizeof(struct memseries) + lblen;
	size_t size = alloc_size(base + FIRST_SAMPLE_MAX);
	struct memseries *s = xcalloc(1, size);

	s->ref = ref;
	s->lblen = (uint32_t)lblen;
	memcpy(s->lbl, lbl, lblen);
	s->cap = (uint16_t)(size - base);
	return s;
}

/* The open chunk's first sample time: the varint after the count. */
static int64_t
open_mint(const struct memseries *s)
{
	struct decbuf d;

	decbuf_init(&d, memseries_bytes(s) + XOR_EMPTY_LEN, s->len - XOR_EMPTY_LEN);
	return dec_varint(&d);
}

static void
chunk_start(struct memseries *s, int64_t t, int64_t range)
{
	uint8_t *p = memseries_bytes(s);

	p[0] = p[1] = 0;
	s->len = XOR_EMPTY_LEN;
	xor_enc_init(&s->enc);
	s->next_at = chunk_range_end(t, range);
}

/* Close the open chunk (its bytes become final) and start a new one at t. */
static struct memseries *
series_cut(struct memseries **sp, int64_t t, int64_t range)
{
	struct memseries *s = *sp;
	struct hchunk *c, **tail;

	c = xmalloc(offsetof(struct hchunk, data) + s->len);
	c->next = NULL;
	c->mint = open_mint(s);
	c->maxt = s->enc.t;
	c->len = s->len;
	memcpy(c->data, memseries_bytes(s), s->len);
	for (tail = &s->closed; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = c;
	/* The full chunk's room goes back: a million open chunks must not each keep one. */
	s = series_resize(sp, FIRST_SAMPLE_MAX);
	chunk_start(s, t, range);
	return s;
}

/*
 * An append without XOR_APPEND_MAX bytes of room: encode it past a copy of
 * the bytes it can touch (the count and the partial last byte), then grow
 * the series only if the result does not fit.
 */
static void
append_spilled(struct memseries **sp, int64_t t, uint64_t v)
{
	struct memseries *s = *sp;
	uint8_t tmp[XOR_EMPTY_LEN + 1 + XOR_APPEND_MAX], *p = memseries_bytes(s);
	size_t keep = s->len > XOR_EMPTY_LEN ? s->len - 1u : XOR_EMPTY_LEN;
	size_t n, len;

	memcpy(tmp, p, XOR_EMPTY_LEN);
	memcpy(tmp + XOR_EMPTY_LEN, p + keep, s->len - keep);
	n = xor_enc_append(&s->enc, tmp, XOR_EMPTY_LEN + s->len - keep, t, v);
	len = keep + n - XOR_EMPTY_LEN;
	if (len > s->cap) {
		s = series_resize(sp, len + GROW_ROOM);
		p = memseries_bytes(s);
	}
	memcpy(p + keep, tmp + XOR_EMPTY_LEN, n - XOR_EMPTY_LEN);
	memcpy(p, tmp, XOR_EMPTY_LEN);
	s->len = (uint16_t)len;
}

int
memseries_append(struct memseries **sp, int64_t t, uint64_t v, int64_t range)
{
	struct memseries *s = *sp;
	int started = 0;

	if (s->enc.n == 0) {
		chunk_start(s, t, range);
		started = 1;
	} else if (chunk_cut_due(s->enc.n, open_mint(s), s->enc.t, &s->next_at, t)) {
		s = series_cut(sp, t, range);
		started = 1;
	}
	if (s->cap - s->len >= XOR_APPEND_MAX)
		s->len = (uint16_t)xor_enc_append(&s->enc, memseries_bytes(s), s->len, t, v);
	else
		append_spilled(sp, t, v);
	return started;
}

size_t
memseries_nchunks(const struct memseries *s)
{
	size_t n = s->enc.n > 0;

	for (const struct hchunk *c = s->closed; c != NULL; c = c->next)
		n++;
	return n;
}

int
memseries_min_time(const struct memseries *s, int64_t *t)
{
	if (s->closed != NULL) {
		*t = s->closed->mint;
		return 1;
	}
	if (s->enc.n > 0) {
		*t = open_mint(s);
		return 1;
	}
	return 0;
}

void
memseries_drop_chunks(struct memseries *s)
{
	while (s->closed != NULL) {
		struct hchunk *c = s->closed;

		s->closed = c->next;
		free(c);
	}
	s->enc.n = 0;
}

/*
 * truncateChunksBefore: an open chunk ending before mint takes every chunk
 * with it; otherwise the closed chunks ending before mint go.
 */
size_t
memseries_truncate(struct memseries *s, int64_t mint)
{
	size_t k = 0, n;

	if (s->enc.n > 0 && s->enc.t < mint) {
		n = memseries_nchunks(s);
		memseries_drop_chunks(s);
		return n;
	}
	while (s->closed != NULL && s->closed->maxt < mint) {
		struct hchunk *c = s->closed;

		s->closed = c->next;
		free(c);
		k++;
	}
	return k;
}

size_t
memseries_chunks(const struct memseries *s, struct chunk **out, size_t *cap)
{
	size_t n = memseries_nchunks(s), k = 0;

	if (*cap < n) {
		*cap = n < 8 ? 8 : n;
		*out = xreallocarray(*out, *cap, sizeof(**out));
	}
	for (const struct hchunk *hc = s->closed; hc != NULL; hc = hc->next) {
		struct chunk *c = &(*out)[k++];

		memset(c, 0, sizeof(*c));
		c->mint = hc->mint;
		c->maxt = hc->maxt;
		c->enc = CHUNK_ENC_XOR;
		c->data = hc->data;
		c->len = hc->len;
	}
	if (s->enc.n > 0) {
		struct chunk *c = &(*out)[k];

		memset(c, 0, sizeof(*c));
		c->mint = open_mint(s);
		c->maxt = s->enc.t;
		c->enc = CHUNK_ENC_XOR;
		c->data = memseries_bytes(s);
		c->len = s->len;
	}
	return n;
}

void
memseries_labels(const struct head *h, const struct memseries *s, struct label **scratch,
    size_t *cap, struct labels *out)
{
	const uint8_t *p = s->lbl, *end = memseries_lbl_end(s);
	size_t i = 0;

	while (p < end) {
		const struct istr *is;
		uint32_t id;

		if (i == *cap) {
			*cap = *cap ? *cap * 2 : 16;
			*scratch = xreallocarray(*scratch, *cap, sizeof(**scratch));
		}
		p = memseries_id(p, &id);
		is = head_str(h, id);
		(*scratch)[i].name = (struct str){ is->p, is->len };
		p = memseries_id(p, &id);
		is = head_str(h, id);
		(*scratch)[i++].value = (struct str){ is->p, is->len };
	}
	out->v = *scratch;
	out->n = i;
}

/* Label sets compare string by string, names and values alike: a shorter prefix first. */
int
memseries_cmp(const struct head *h, const struct memseries *a, const struct memseries *b)
{
	const uint8_t *p = a->lbl, *pend = memseries_lbl_end(a);
	const uint8_t *q = b->lbl, *qend = memseries_lbl_end(b);

	while (p < pend && q < qend) {
		const struct istr *x, *y;
		uint32_t i, j;
		int c;

		p = memseries_id(p, &i);
		q = memseries_id(q, &j);
		/* Interned strings are equal exactly when their ids are, which saves most memcmps. */
		if (i == j)
			continue;
		x = head_str(h, i);
		y = head_str(h, j);
		if ((c = str_cmp((struct str){ x->p, x->len }, (struct str){ y->p, y->len })) != 0)
			return c;
	}
	if (p < pend)
		return 1;
	return q < qend ? -1 : 0;
}
