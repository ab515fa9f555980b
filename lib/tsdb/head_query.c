/*
 * head_query — reading the head: PostingsForMatchers over the in-memory
 * postings, label names and values, series sets in label order (samples or
 * stored chunks), and cutting a block from the head as Prometheus' head
 * compaction does (compact.go populateBlock over a RangeHead).
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEAD_INTERNALS
#include "lib/base/xmalloc.h"
#include "lib/tsdb/head.h"

struct head_series_set {
	struct head		 *h;
	const struct memseries	**v;
	size_t			  n;
	size_t			  pos;		/* 1 + index of the current series */
	int64_t			  mint;
	int64_t			  maxt;
	struct label		 *lbuf;
	size_t			  lcap;
	struct labels		  ls;
	struct chunk		 *all;		/* every chunk of the current series */
	size_t			  acap;
	struct chunk		 *ov;		/* those overlapping [mint, maxt] */
	size_t			  nov;
	size_t			  ovcap;
	size_t			  ci;		/* chunk being iterated */
	int			  in_chunk;
	struct xor_iter		  it;
};

static void	refs_sort_uniq(struct head_refs *);
static void	refs_intersect(struct head_refs *, const struct head_refs *);
static void	refs_subtract(struct head_refs *, const struct head_refs *);
static void	select_values(struct head *, const struct matcher *, int, struct head_refs *);
static int	cmp_u64(const void *, const void *);
static int	cmp_str(const void *, const void *);
static int	cmp_series(const void *, const void *, void *);
static int	overlaps(const struct chunk *, int64_t, int64_t);
static size_t	series_overlapping(const struct memseries *, int64_t, int64_t,
		    struct chunk **, size_t *, struct chunk **, size_t *);
static int	head_symbols(struct head *, struct block_writer *, struct err *);
static size_t	range_chunks(const struct memseries *, int64_t, int64_t, struct chunk **,
		    size_t *, struct chunk **, size_t *, struct xor_chunk *);

/*
 * Ref lists.
 */

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
refs_sort_uniq(struct head_refs *r)
{
	size_t k = 0;

	if (r->n < 2)
		return;
	qsort(r->v, r->n, sizeof(r->v[0]), cmp_u64);
	for (size_t i = 0; i < r->n; i++)
		if (k == 0 || r->v[k - 1] != r->v[i])
			r->v[k++] = r->v[i];
	r->n = k;
}

/* a = a ∩ b; both ascending. */
static void
refs_intersect(struct head_refs *a, const struct head_refs *b)
{
	size_t i = 0, j = 0, k = 0;

	while (i < a->n && j < b->n) {
		if (a->v[i] < b->v[j])
			i++;
		else if (a->v[i] > b->v[j])
			j++;
		else {
			a->v[k++] = a->v[i];
			i++;
			j++;
		}
	}
	a->n = k;
}

/* a = a \ b; both ascending. */
static void
refs_subtract(struct head_refs *a, const struct head_refs *b)
{
	size_t j = 0, k = 0;

	for (size_t i = 0; i < a->n; i++) {
		while (j < b->n && b->v[j] < a->v[i])
			j++;
		if (j < b->n && b->v[j] == a->v[i])
			continue;
		a->v[k++] = a->v[i];
	}
	a->n = k;
}

/*
 * PostingsForMatchers.
 */

/*
 * The union of the lists of every value of m's label for which
 * matcher_matches() == want_match: series without the label are never in it.
 */
static void
select_values(struct head *h, const struct matcher *m, int want_match, struct head_refs *out)
{
	uint32_t name;
	struct pname *pn;
	size_t lists = 0;

	out->n = 0;
	if ((name = head_string_find(h, m->name, strlen(m->name))) == HEAD_NO_ID ||
	    (pn = head_pname_get(h, name)) == NULL)
		return;
	if (m->type == MATCH_EQ && want_match) {
		uint32_t val = head_string_find(h, m->value, m->value_len);
		struct plist *pl;

		if (val != HEAD_NO_ID && (pl = head_plist_get(h, name, val)) != NULL)
			head_reflist_get(&pl->refs, out);
		return;
	}
	for (uint32_t i = 0; i < pn->nvals; i++) {
		const struct plist *pl = h->plists.v[pn->vals[i]];
		const struct istr *is = head_str(h, pl->value);
		struct str v = { is->p, is->len };

		if ((matcher_matches(m, v) != 0) != want_match)
			continue;
		head_reflist_get(&pl->refs, out);
		lists++;
	}
	if (lists > 1)
		refs_sort_uniq(out);
}

/*
 * As block_select: a matcher that rejects "" selects through the values it
 * accepts (intersected); one that accepts "" removes the series whose
 * value it rejects, so series without the label stay.
 */
void
head_select_refs(struct head *h, const struct matcher *ms, size_t nm, struct head_refs *out)
{
	struct head_refs tmp = { 0 };
	int have = 0;

	out->n = 0;
	for (size_t i = 0; i < nm; i++) {
		if (matcher_matches_empty(&ms[i]))
			continue;
		select_values(h, &ms[i], 1, have ? &tmp : out);
		if (have)
			refs_intersect(out, &tmp);
		have = 1;
		if (out->n == 0)
			goto done;
	}
	if (!have)
		head_reflist_get(&h->all, out);
	for (size_t i = 0; i < nm && out->n > 0; i++) {
		if (!matcher_matches_empty(&ms[i]))
			continue;
		select_values(h, &ms[i], 0, &tmp);
		refs_subtract(out, &tmp);
	}
done:
	head_refs_free(&tmp);
}

/*
 * Label names and values.
 */

static int
cmp_str(const void *a, const void *b)
{
	return str_cmp(*(const struct str *)a, *(const struct str *)b);
}

void
head_label_names(struct head *h, struct str **out, size_t *n)
{
	*out = xcalloc(h->npnames ? h->npnames : 1, sizeof(**out));
	*n = 0;
	for (size_t i = 0; i < h->pnames.n; i++) {
		const struct pname *pn = h->pnames.v[i];
		const struct istr *is;

		if (pn == NULL)
			continue;
		is = head_str(h, pn->name);
		(*out)[*n].p = is->p;
		(*out)[*n].len = is->len;
		(*n)++;
	}
	qsort(*out, *n, sizeof(**out), cmp_str);
}

void
head_label_values(struct head *h, struct str name, struct str **out, size_t *n)
{
	uint32_t in = head_string_find(h, name.p, name.len);
	struct pname *pn = in != HEAD_NO_ID ? head_pname_get(h, in) : NULL;
	size_t k = pn != NULL ? pn->nvals : 0;

	*out = xcalloc(k ? k : 1, sizeof(**out));
	for (size_t i = 0; i < k; i++) {
		const struct plist *pl = h->plists.v[pn->vals[i]];
		const struct istr *is = head_str(h, pl->value);

		(*out)[i].p = is->p;
		(*out)[i].len = is->len;
	}
	*n = k;
	qsort(*out, k, sizeof(**out), cmp_str);
}

/*
 * Series sets.
 */

static int
cmp_series(const void *a, const void *b, void *h)
{
	return memseries_cmp(h, *(const struct memseries *const *)a,
	    *(const struct memseries *const *)b);
}

/* Closed intervals [c.mint, c.maxt] and [mint, maxt] meet. */
static int
overlaps(const struct chunk *c, int64_t mint, int64_t maxt)
{
	return c->mint <= maxt && c->maxt >= mint;
}

/* s's chunks overlapping [mint, maxt] into *ov; *all is scratch. */
static size_t
series_overlapping(const struct memseries *s, int64_t mint, int64_t maxt,
    struct chunk **all, size_t *acap, struct chunk **ov, size_t *ovcap)
{
	size_t n = memseries_chunks(s, all, acap), k = 0;

	if (*ovcap < n) {
		*ovcap = n;
		*ov = xreallocarray(*ov, *ovcap, sizeof(**ov));
	}
	for (size_t i = 0; i < n; i++)
		if (overlaps(&(*all)[i], mint, maxt))
			(*ov)[k++] = (*all)[i];
	return k;
}

struct head_series_set *
head_select(struct head *h, const struct matcher *ms, size_t nm, int64_t mint, int64_t maxt)
{
	struct head_series_set *ss;
	struct head_refs refs = { 0 };

	ss = xcalloc(1, sizeof(*ss));
	ss->h = h;
	ss->mint = mint;
	ss->maxt = maxt;
	head_select_refs(h, ms, nm, &refs);
	ss->v = xcalloc(refs.n ? refs.n : 1, sizeof(ss->v[0]));
	for (size_t i = 0; i < refs.n; i++) {
		struct memseries *s = head_series_get(h, refs.v[i]);

		if (s != NULL && series_overlapping(s, mint, maxt, &ss->all, &ss->acap,
		    &ss->ov, &ss->ovcap) > 0)
			ss->v[ss->n++] = s;
	}
	head_refs_free(&refs);
	qsort_r(ss->v, ss->n, sizeof(ss->v[0]), cmp_series, h);
	return ss;
}

int
head_series_set_next(struct head_series_set *ss, const struct labels **ls)
{
	const struct memseries *s;

	if (ss->pos >= ss->n)
		return 0;
	s = ss->v[ss->pos++];
	memseries_labels(ss->h, s, &ss->lbuf, &ss->lcap, &ss->ls);
	ss->nov = series_overlapping(s, ss->mint, ss->maxt, &ss->all, &ss->acap,
	    &ss->ov, &ss->ovcap);
	ss->ci = 0;
	ss->in_chunk = 0;
	*ls = &ss->ls;
	return 1;
}

uint64_t
head_series_set_ref(const struct head_series_set *ss)
{
	return ss->pos > 0 ? ss->v[ss->pos - 1]->ref : 0;
}

int
head_series_set_sample(struct head_series_set *ss, int64_t *t, uint64_t *v)
{
	while (ss->ci < ss->nov) {
		int r;

		if (!ss->in_chunk) {
			xor_iter_init(&ss->it, ss->ov[ss->ci].data, ss->ov[ss->ci].len);
			ss->in_chunk = 1;
		}
		/* Head chunks are the head's own encoding: they always decode. */
		while ((r = xor_iter_next(&ss->it, t, v)) == 1) {
			if (*t < ss->mint)
				continue;
			if (*t > ss->maxt)
				break;
			return 1;
		}
		if (r == 1) {
			ss->ci = ss->nov;
			break;
		}
		ss->ci++;
		ss->in_chunk = 0;
	}
	return 0;
}

const struct chunk *
head_series_set_chunks(struct head_series_set *ss, size_t *n)
{
	*n = ss->pos > 0 ? ss->nov : 0;
	return ss->ov;
}

void
head_series_set_close(struct head_series_set *ss)
{
	if (ss == NULL)
		return;
	free(ss->v);
	free(ss->lbuf);
	free(ss->all);
	free(ss->ov);
	free(ss);
}

/*
 * Block cutting.
 */

/* Every string of the head plus "" (the all-postings key), ascending. */
static int
head_symbols(struct head *h, struct block_writer *w, struct err *e)
{
	struct str *syms;
	size_t n = 0;
	int has_empty = 0, rc = 0;

	syms = xcalloc(h->strings.n + 1, sizeof(syms[0]));
	for (size_t i = 0; i < h->strs.n; i++) {
		const struct istr *is = h->strs.v[i];

		if (is == NULL)
			continue;
		syms[n].p = is->p;
		syms[n].len = is->len;
		has_empty |= is->len == 0;
		n++;
	}
	if (!has_empty)
		syms[n++] = STR_LIT("");
	qsort(syms, n, sizeof(syms[0]), cmp_str);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = block_writer_add_symbol(w, syms[i], e);
	free(syms);
	return rc;
}

/*
 * s's chunks for the block [mint, maxt] (closed): chunks inside are used as
 * they are, chunks sticking out are re-encoded into re[] with the samples
 * inside (populateWithDelChunkSeriesIterator). Only the first and the last
 * chunk can stick out, so two re-encoders suffice.
 */
static size_t
range_chunks(const struct memseries *s, int64_t mint, int64_t maxt, struct chunk **all,
    size_t *acap, struct chunk **out, size_t *ocap, struct xor_chunk *re)
{
	size_t n = series_overlapping(s, mint, maxt, all, acap, out, ocap), k = 0, nre = 0;

	for (size_t i = 0; i < n; i++) {
		struct chunk c = (*out)[i];
		struct xor_chunk *x;
		struct xor_iter it;
		int64_t t;
		uint64_t v;

		if (c.mint >= mint && c.maxt <= maxt) {
			(*out)[k++] = c;
			continue;
		}
		x = &re[nre++ % 2];
		xor_chunk_reset(x);
		xor_iter_init(&it, c.data, c.len);
		c.mint = INT64_MAX;
		while (xor_iter_next(&it, &t, &v) == 1) {
			if (t < mint)
				continue;
			if (t > maxt)
				break;
			if (x->e.n == 0)
				c.mint = t;
			xor_chunk_append(x, t, v);
			c.maxt = t;
		}
		if (x->e.n == 0)
			continue;
		c.data = xor_chunk_bytes(x, &c.len);
		(*out)[k++] = c;
	}
	return k;
}

int
head_write_block(struct head *h, int64_t mint, int64_t maxt, const char *parent_dir,
    struct block_meta *meta, int *written, struct err *e)
{
	const struct memseries **all;
	struct block_writer *w;
	struct block_meta *wm;
	struct chunk *chunks = NULL, *scratch = NULL;
	size_t n = 0, ccap = 0, scap = 0;
	struct xor_chunk re[2];
	struct label *lbuf = NULL;
	size_t lcap = 0;
	char ulid[ULID_LEN + 1], dir[PATH_MAX];
	int rc = -1;

	*written = 0;
	if (mint >= maxt)
		return err_set(e, "head block: empty range [%lld, %lld)",
		    (long long)mint, (long long)maxt);
	if ((w = block_writer_create(parent_dir, e)) == NULL)
		return -1;
	xor_chunk_init(&re[0]);
	xor_chunk_init(&re[1]);
	all = xcalloc(h->by_labels.n ? h->by_labels.n : 1, sizeof(all[0]));
	for (size_t i = 0; i < h->series.n; i++)
		if (h->series.v[i] != NULL)
			all[n++] = h->series.v[i];
	qsort_r(all, n, sizeof(all[0]), cmp_series, h);
	if (head_symbols(h, w, e) == -1)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		struct labels ls;
		size_t nc = range_chunks(all[i], mint, maxt - 1, &scratch, &scap, &chunks, &ccap, re);

		if (nc == 0)
			continue;
		memseries_labels(h, all[i], &lbuf, &lcap, &ls);
		if (block_writer_add_series(w, &ls, chunks, nc, e) == -1)
			goto fail;
	}
	wm = block_writer_meta(w);
	wm->min_time = mint;
	wm->max_time = maxt;
	memcpy(ulid, wm->ulid, sizeof(ulid));
	rc = block_writer_commit(w, written, e);
	w = NULL;
	if (rc == 0 && *written && meta != NULL) {
		if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", parent_dir, ulid) >= sizeof(dir))
			rc = err_set(e, "head block: path too long: %s", parent_dir);
		else if (meta_read(dir, meta, e) == -1)
			rc = err_wrap(e, "head block %s", ulid);
	}
fail:
	if (w != NULL)
		block_writer_abort(w);
	xor_chunk_free(&re[0]);
	xor_chunk_free(&re[1]);
	free(all);
	free(chunks);
	free(scratch);
	free(lbuf);
	return rc;
}
