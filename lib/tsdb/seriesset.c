/*
 * seriesset — the series of several blocks merged by label set, and per
 * series their samples merged by time: what a Prometheus querier's merged
 * series set with chained sample iterators returns.
 *
 * Each block has a cursor over its selected series IDs; the series of the
 * set is the smallest label set among the cursors, and every cursor that
 * holds an equal set takes part in it. Per series, each taking part cursor
 * walks its chunks in order and the smallest timestamp wins; a timestamp not
 * above the last one returned is dropped, which removes the duplicates of
 * overlapping blocks (the earlier block's sample is kept).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/xmalloc.h"
#include "lib/tsdb/block.h"
#include "lib/tsdb/xor.h"

struct interval {
	int64_t	mint;
	int64_t	maxt;
};

struct cursor {
	struct block		*b;
	struct postings		 ids;
	size_t			 pos;
	int			 loaded;	/* ser holds ids.ids[pos] */
	struct index_series	 ser;
	struct chunk		*chks;		/* in range, not wholly deleted */
	size_t			 nchks;
	size_t			 ccap;
	struct interval		*iv;		/* deleted, merged, ascending */
	size_t			 niv;
	size_t			 ivcap;
	/* sample iteration */
	size_t			 ci;
	int			 in_chunk;
	struct xor_iter		 it;
	int			 has_sample;
	int			 done;
	int64_t			 t;
	uint64_t		 v;
};

struct series_set {
	struct cursor	*c;
	size_t		 nc;
	size_t		*cur;		/* cursors taking part in the current series */
	size_t		 ncur;
	int64_t		 mint;
	int64_t		 maxt;
	int		 emitted;
	int64_t		 last_t;
};

static void	cursor_intervals(struct cursor *, uint32_t id);
static int	deleted(const struct cursor *, int64_t);
static int	wholly_deleted(const struct cursor *, int64_t, int64_t);
static int	cursor_load(struct cursor *, int64_t, int64_t, struct err *);
static int	cursor_next_sample(struct cursor *, int64_t, int64_t, struct err *);

struct series_set *
series_set_open(struct block **blocks, size_t nblocks, const struct matcher *ms,
    size_t nm, int64_t mint, int64_t maxt, struct err *e)
{
	struct series_set *s;

	s = xcalloc(1, sizeof(*s));
	s->c = xcalloc(nblocks ? nblocks : 1, sizeof(s->c[0]));
	s->cur = xcalloc(nblocks ? nblocks : 1, sizeof(s->cur[0]));
	s->mint = mint;
	s->maxt = maxt;
	for (size_t i = 0; i < nblocks; i++) {
		const struct block_meta *m = block_get_meta(blocks[i]);

		/* A block covers [min_time, max_time); the query range is closed. */
		if (m->min_time > maxt || m->max_time <= mint)
			continue;
		s->c[s->nc].b = blocks[i];
		if (block_select(blocks[i], ms, nm, &s->c[s->nc].ids, e) == -1) {
			err_wrap(e, "block %s", block_dir(blocks[i]));
			s->nc++;
			series_set_close(s);
			return NULL;
		}
		s->nc++;
	}
	return s;
}

void
series_set_close(struct series_set *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nc; i++) {
		struct cursor *c = &s->c[i];

		postings_free(&c->ids);
		index_series_free(&c->ser);
		free(c->chks);
		free(c->iv);
	}
	free(s->c);
	free(s->cur);
	free(s);
}

/* Collect the series' tombstones, merged like Prometheus' Intervals.Add. */
static void
cursor_intervals(struct cursor *c, uint32_t id)
{
	const struct tombstone *st;
	size_t n, lo = 0, hi;

	c->niv = 0;
	st = block_tombstones(c->b, &n);
	hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (st[mid].ref < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && st[lo].ref == id; lo++) {
		struct interval *last = c->niv ? &c->iv[c->niv - 1] : NULL;

		if (last != NULL && (last->maxt == INT64_MAX || st[lo].mint <= last->maxt + 1)) {
			if (st[lo].maxt > last->maxt)
				last->maxt = st[lo].maxt;
			continue;
		}
		if (c->niv == c->ivcap) {
			c->ivcap = c->ivcap ? c->ivcap * 2 : 4;
			c->iv = xreallocarray(c->iv, c->ivcap, sizeof(c->iv[0]));
		}
		c->iv[c->niv].mint = st[lo].mint;
		c->iv[c->niv].maxt = st[lo].maxt;
		c->niv++;
	}
}

static int
deleted(const struct cursor *c, int64_t t)
{
	for (size_t i = 0; i < c->niv; i++)
		if (t >= c->iv[i].mint && t <= c->iv[i].maxt)
			return 1;
	return 0;
}

static int
wholly_deleted(const struct cursor *c, int64_t mint, int64_t maxt)
{
	for (size_t i = 0; i < c->niv; i++)
		if (mint >= c->iv[i].mint && maxt <= c->iv[i].maxt)
			return 1;
	return 0;
}

/*
 * Position the cursor on its next series that has a chunk in range: 1 ok,
 * 0 no more series, -1 error.
 */
static int
cursor_load(struct cursor *c, int64_t mint, int64_t maxt, struct err *e)
{
	for (; c->pos < c->ids.n; c->pos++) {
		uint32_t id = c->ids.ids[c->pos];

		if (index_reader_series(block_index(c->b), id, &c->ser, e) == -1)
			return err_wrap(e, "block %s: series %u", block_dir(c->b), id);
		cursor_intervals(c, id);
		c->nchks = 0;
		for (size_t i = 0; i < c->ser.nchunks; i++) {
			const struct chunk *ch = &c->ser.chunks[i];

			if (ch->maxt < mint || ch->mint > maxt)
				continue;
			if (c->niv > 0 && wholly_deleted(c, ch->mint, ch->maxt))
				continue;
			if (c->nchks == c->ccap) {
				c->ccap = c->ccap ? c->ccap * 2 : 8;
				c->chks = xreallocarray(c->chks, c->ccap, sizeof(c->chks[0]));
			}
			c->chks[c->nchks++] = *ch;
		}
		if (c->nchks > 0) {
			c->loaded = 1;
			return 1;
		}
	}
	return 0;
}

int
series_set_next(struct series_set *s, const struct labels **ls, struct err *e)
{
	const struct labels *best = NULL;

	for (size_t k = 0; k < s->ncur; k++) {
		struct cursor *c = &s->c[s->cur[k]];

		c->loaded = 0;
		c->pos++;
	}
	s->ncur = 0;
	for (size_t i = 0; i < s->nc; i++) {
		struct cursor *c = &s->c[i];
		int cmp;

		if (!c->loaded) {
			int r = cursor_load(c, s->mint, s->maxt, e);

			if (r == -1)
				return -1;
			if (r == 0)
				continue;
		}
		cmp = best == NULL ? -1 : labels_cmp(&c->ser.labels, best);
		if (cmp < 0) {
			best = &c->ser.labels;
			s->ncur = 0;
		}
		if (cmp <= 0)
			s->cur[s->ncur++] = i;
	}
	if (best == NULL)
		return 0;
	for (size_t k = 0; k < s->ncur; k++) {
		struct cursor *c = &s->c[s->cur[k]];

		c->ci = 0;
		c->in_chunk = 0;
		c->has_sample = 0;
		c->done = 0;
	}
	s->emitted = 0;
	*ls = best;
	return 1;
}

/* The cursor's next sample in range and not deleted: 1, 0 at its end, -1 on a bad chunk. */
static int
cursor_next_sample(struct cursor *c, int64_t mint, int64_t maxt, struct err *e)
{
	for (;;) {
		struct chunk ch;
		int r;

		if (!c->in_chunk) {
			if (c->ci >= c->nchks)
				return 0;
			memset(&ch, 0, sizeof(ch));
			if (chunk_reader_get(block_chunks(c->b), c->chks[c->ci].ref, &ch, e) == -1)
				return err_wrap(e, "block %s: series %u: chunk %llu",
				    block_dir(c->b), c->ids.ids[c->pos],
				    (unsigned long long)c->chks[c->ci].ref);
			if (ch.enc != CHUNK_ENC_XOR)
				return err_set(e, "block %s: series %u: chunk %llu: "
				    "encoding %u is not supported", block_dir(c->b),
				    c->ids.ids[c->pos],
				    (unsigned long long)c->chks[c->ci].ref, ch.enc);
			xor_iter_init(&c->it, ch.data, ch.len);
			c->in_chunk = 1;
		}
		r = xor_iter_next(&c->it, &c->t, &c->v);
		if (r == -1)
			return err_set(e, "block %s: series %u: chunk %llu: corrupt XOR data",
			    block_dir(c->b), c->ids.ids[c->pos],
			    (unsigned long long)c->chks[c->ci].ref);
		if (r == 0) {
			c->in_chunk = 0;
			c->ci++;
			continue;
		}
		if (c->t < mint || c->t > maxt)
			continue;
		if (c->niv > 0 && deleted(c, c->t))
			continue;
		return 1;
	}
}

int
series_set_sample(struct series_set *s, int64_t *t, uint64_t *v, struct err *e)
{
	for (;;) {
		struct cursor *best = NULL;

		for (size_t k = 0; k < s->ncur; k++) {
			struct cursor *c = &s->c[s->cur[k]];

			if (!c->has_sample && !c->done) {
				int r = cursor_next_sample(c, s->mint, s->maxt, e);

				if (r == -1)
					return -1;
				c->has_sample = r;
				c->done = !r;
			}
			if (c->has_sample && (best == NULL || c->t < best->t))
				best = c;
		}
		if (best == NULL)
			return 0;
		best->has_sample = 0;
		if (s->emitted && best->t <= s->last_t)
			continue;
		s->emitted = 1;
		s->last_t = best->t;
		*t = best->t;
		*v = best->v;
		return 1;
	}
}
