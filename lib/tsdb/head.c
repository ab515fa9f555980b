/*
 * head — the series table, string interning, appends, WAL replay hooks and
 * truncation (Prometheus' tsdb/head.go, head_append.go, head_wal.go).
 * Postings upkeep lives in head_postings.c, chunk cutting in head_series.c,
 * queries and block cutting in head_query.c.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEAD_INTERNALS
#include "lib/base/xmalloc.h"
#include "lib/tsdb/chunkcut.h"
#include "lib/tsdb/gofmt.h"
#include "lib/tsdb/head.h"

/* A WAL ref that replay maps onto an existing series (Prometheus' multiRef). */
struct head_alias {
	uint64_t	 ref;
	uint32_t	 series;	/* its id */
};

#define ITAB_MIN	16
#define UVARINT32_MAX	5	/* bytes of a 32-bit uvarint */

static void	itab_alloc(struct itab *, size_t);
static void	itab_resize(struct itab *, size_t);
static int	eq_istr(const struct head *, uint32_t, const void *);
static int	eq_labels(const struct head *, uint32_t, const void *);
static int	eq_ref(const struct head *, uint32_t, const void *);
static int	eq_alias(const struct head *, uint32_t, const void *);
static uint32_t	string_ref(struct head *, struct str);
static void	string_unref(struct head *, uint32_t);
static uint32_t	ref_hash(uint64_t);
static int	series_by_id(uint64_t, uint32_t);
static uint32_t	series_by_ref(const struct head *, uint64_t);
static uint32_t	series_lookup(const struct head *, const struct labels *, uint64_t);
static uint32_t	series_create(struct head *, uint64_t, const struct labels *, uint64_t);
static void	series_unlink(struct head *, uint32_t);
static void	series_destroy(struct head *, struct memseries *);
static void	series_append(struct head *, uint32_t, int64_t, uint64_t);
static void	clean_labels(struct head *, const struct labels *, struct labels *);
static enum head_err check_limits(struct head *, const struct labels *);
static int64_t	appendable_min_valid(const struct head *);
static void	update_min_max(struct head *, int64_t);
static int64_t	head_gc(struct head *, int64_t, struct head_refs *);
static void	aliases_clear(struct head *);
static void	alias_set(struct head *, uint64_t, uint32_t);
static void	refs_push(struct head_refs *, uint64_t);
static int	cmp_u64(const void *, const void *);

uint64_t
head_hash_u64(uint64_t x)
{
	/* splitmix64's finalizer: refs and ids are far from random. */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/*
 * Id arrays.
 */

uint32_t
head_idarr_add(struct idarr *a, void *p)
{
	uint32_t id;

	if (a->nfree > 0)
		id = a->free[--a->nfree];
	else {
		if (a->n == a->cap) {
			a->cap = a->cap ? a->cap * 2 : 64;
			a->v = xreallocarray(a->v, a->cap, sizeof(a->v[0]));
		}
		id = (uint32_t)a->n++;
	}
	a->v[id] = p;
	return id;
}

void
head_idarr_del(struct idarr *a, uint32_t id)
{
	a->v[id] = NULL;
	if (a->nfree == a->free_cap) {
		a->free_cap = a->free_cap ? a->free_cap * 2 : 64;
		a->free = xreallocarray(a->free, a->free_cap, sizeof(a->free[0]));
	}
	a->free[a->nfree++] = id;
}

/* After a gc: forget the free ids at the end, give back memory when mostly empty. */
void
head_idarr_shrink(struct idarr *a)
{
	size_t k = 0;

	while (a->n > 0 && a->v[a->n - 1] == NULL)
		a->n--;
	for (size_t i = 0; i < a->nfree; i++)
		if (a->free[i] < a->n)
			a->free[k++] = a->free[i];
	a->nfree = k;
	if (a->cap > 64 && a->n * 4 < a->cap) {
		a->cap = a->n * 2 > 64 ? a->n * 2 : 64;
		a->v = xreallocarray(a->v, a->cap, sizeof(a->v[0]));
	}
	if (a->free_cap > 64 && a->nfree * 4 < a->free_cap) {
		a->free_cap = a->nfree * 2 > 64 ? a->nfree * 2 : 64;
		a->free = xreallocarray(a->free, a->free_cap, sizeof(a->free[0]));
	}
}

void
head_idarr_free(struct idarr *a)
{
	free(a->v);
	free(a->free);
	memset(a, 0, sizeof(*a));
}

/*
 * Hash tables.
 */

static void
itab_alloc(struct itab *t, size_t cap)
{
	t->v = xcalloc(cap, sizeof(t->v[0]));
	t->mask = cap - 1;
}

void
head_itab_init(struct itab *t)
{
	itab_alloc(t, ITAB_MIN);
	t->n = 0;
}

void
head_itab_free(struct itab *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static void
itab_resize(struct itab *t, size_t cap)
{
	struct islot *old = t->v;
	size_t oldcap = t->mask + 1;

	itab_alloc(t, cap);
	for (size_t i = 0; i < oldcap; i++) {
		size_t j;

		if (old[i].id == 0)
			continue;
		for (j = old[i].h & t->mask; t->v[j].id != 0; j = (j + 1) & t->mask)
			;
		t->v[j] = old[i];
	}
	free(old);
}

uint32_t
head_itab_find(const struct head *h, const struct itab *t, uint32_t hash,
    int (*eq)(const struct head *, uint32_t, const void *), const void *key)
{
	for (size_t i = hash & t->mask; t->v[i].id != 0; i = (i + 1) & t->mask)
		if (t->v[i].h == hash && eq(h, t->v[i].id - 1, key))
			return t->v[i].id - 1;
	return HEAD_NO_ID;
}

/* The table stays at most 3/4 full. */
void
head_itab_put(struct itab *t, uint32_t hash, uint32_t id)
{
	size_t i;

	if ((t->n + 1) * 4 > (t->mask + 1) * 3)
		itab_resize(t, (t->mask + 1) * 2);
	for (i = hash & t->mask; t->v[i].id != 0; i = (i + 1) & t->mask)
		;
	t->v[i].h = hash;
	t->v[i].id = id + 1;
	t->n++;
}

/* Remove id's entry, shifting later entries of the probe run back into the hole. */
void
head_itab_del(struct itab *t, uint32_t hash, uint32_t id)
{
	size_t i, j;

	for (i = hash & t->mask; t->v[i].id != id + 1; i = (i + 1) & t->mask)
		;
	for (j = i;;) {
		size_t k;

		j = (j + 1) & t->mask;
		if (t->v[j].id == 0)
			break;
		k = t->v[j].h & t->mask;
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		t->v[i] = t->v[j];
		i = j;
	}
	t->v[i].id = 0;
	t->n--;
}

/* After a gc: give back memory when the table is mostly empty. */
void
head_itab_shrink(struct itab *t)
{
	size_t cap = t->mask + 1;

	while (cap > ITAB_MIN && t->n * 8 < cap)
		cap /= 2;
	if (cap < t->mask + 1)
		itab_resize(t, cap);
}

static int
eq_istr(const struct head *h, uint32_t id, const void *key)
{
	const struct istr *s = head_str(h, id);
	const struct str *k = key;

	return s->len == k->len && (k->len == 0 || memcmp(s->p, k->p, k->len) == 0);
}

static int
eq_labels(const struct head *h, uint32_t id, const void *key)
{
	const struct memseries *s = h->series.v[id];
	const uint8_t *p = s->lbl, *end = memseries_lbl_end(s);
	const struct labels *ls = key;
	size_t i;

	for (i = 0; p < end; i++) {
		const struct istr *n, *v;
		uint32_t ni, vi;

		p = memseries_id(memseries_id(p, &ni), &vi);
		if (i == ls->n)
			return 0;
		n = head_str(h, ni);
		v = head_str(h, vi);
		if (!str_eq((struct str){ n->p, n->len }, ls->v[i].name) ||
		    !str_eq((struct str){ v->p, v->len }, ls->v[i].value))
			return 0;
	}
	return i == ls->n;
}

static int
eq_ref(const struct head *h, uint32_t id, const void *key)
{
	const struct memseries *s = h->series.v[id];

	return s->ref == *(const uint64_t *)key;
}

static int
eq_alias(const struct head *h, uint32_t id, const void *key)
{
	return h->aliases[id].ref == *(const uint64_t *)key;
}

/*
 * Interned strings: one refcounted copy per distinct label name or value.
 */

uint32_t
head_string_find(const struct head *h, const char *p, size_t len)
{
	struct str k = { p, len };

	return head_itab_find(h, &h->strings, (uint32_t)str_hash(p, len, 0), eq_istr, &k);
}

/* s's id, interned if new. */
static uint32_t
string_ref(struct head *h, struct str s)
{
	uint32_t hh = (uint32_t)str_hash(s.p, s.len, 0), id;
	struct istr *is;

	if ((id = head_itab_find(h, &h->strings, hh, eq_istr, &s)) != HEAD_NO_ID) {
		head_str(h, id)->refs++;
		return id;
	}
	is = xmalloc(sizeof(*is) + s.len + 1);
	is->refs = 1;
	is->len = (uint32_t)s.len;
	is->hash = hh;
	is->pname = HEAD_NO_ID;
	if (s.len > 0)
		memcpy(is->p, s.p, s.len);
	is->p[s.len] = '\0';
	id = head_idarr_add(&h->strs, is);
	head_itab_put(&h->strings, hh, id);
	return id;
}

static void
string_unref(struct head *h, uint32_t id)
{
	struct istr *is = head_str(h, id);

	if (--is->refs > 0)
		return;
	head_itab_del(&h->strings, is->hash, id);
	head_idarr_del(&h->strs, id);
	free(is);
}

/*
 * Series.
 */

static uint32_t
ref_hash(uint64_t ref)
{
	return (uint32_t)head_hash_u64(ref);
}

/*
 * Ids and refs are both handed out in order, so a series' id is mostly its
 * ref - 1: such a series is found by id and has no by_ref entry. The others
 * (ids reused after a gc, refs from a WAL) are in by_ref.
 */
static int
series_by_id(uint64_t ref, uint32_t id)
{
	return ref - 1 == id;
}

static uint32_t
series_by_ref(const struct head *h, uint64_t ref)
{
	const struct memseries *s;

	if (ref - 1 < h->series.n && (s = h->series.v[ref - 1]) != NULL && s->ref == ref)
		return (uint32_t)(ref - 1);
	if (h->by_ref.n == 0)
		return HEAD_NO_ID;
	return head_itab_find(h, &h->by_ref, ref_hash(ref), eq_ref, &ref);
}

struct memseries *
head_series_get(const struct head *h, uint64_t ref)
{
	uint32_t id = series_by_ref(h, ref);

	return id != HEAD_NO_ID ? h->series.v[id] : NULL;
}

static uint32_t
series_lookup(const struct head *h, const struct labels *ls, uint64_t hash)
{
	return head_itab_find(h, &h->by_labels, (uint32_t)hash, eq_labels, ls);
}

/* Returns the new series' id. */
static uint32_t
series_create(struct head *h, uint64_t ref, const struct labels *ls, uint64_t hash)
{
	struct memseries *s;
	size_t len = 0;
	uint32_t id;

	if (h->idbuf_cap < 2 * ls->n * UVARINT32_MAX) {
		h->idbuf_cap = 2 * ls->n * UVARINT32_MAX;
		h->idbuf = xrealloc(h->idbuf, h->idbuf_cap);
	}
	for (size_t i = 0; i < ls->n; i++) {
		len += uvarint_put(h->idbuf + len, string_ref(h, ls->v[i].name));
		len += uvarint_put(h->idbuf + len, string_ref(h, ls->v[i].value));
	}
	s = memseries_new(ref, h->idbuf, len);
	id = head_idarr_add(&h->series, s);
	head_itab_put(&h->by_labels, (uint32_t)hash, id);
	if (!series_by_id(ref, id))
		head_itab_put(&h->by_ref, ref_hash(ref), id);
	head_postings_add(h, s);
	if (ref > h->last_ref)
		h->last_ref = ref;
	return id;
}

/* Take series id out of the tables and give up its id; the postings still name it. */
static void
series_unlink(struct head *h, uint32_t id)
{
	const struct memseries *s = h->series.v[id];
	struct labels ls;

	memseries_labels(h, s, &h->scratch, &h->scratch_cap, &ls);
	head_itab_del(&h->by_labels, (uint32_t)labels_hash(&ls), id);
	if (!series_by_id(s->ref, id))
		head_itab_del(&h->by_ref, ref_hash(s->ref), id);
	head_idarr_del(&h->series, id);
}

/* Free a series already unlinked and taken out of the postings. */
static void
series_destroy(struct head *h, struct memseries *s)
{
	const uint8_t *p = s->lbl, *end = memseries_lbl_end(s);

	h->nchunks -= memseries_nchunks(s);
	memseries_drop_chunks(s);
	while (p < end) {
		uint32_t id;

		p = memseries_id(p, &id);
		string_unref(h, id);
	}
	free(s);
}

/* Append a sample newer than the series' newest; the series may move. */
static void
series_append(struct head *h, uint32_t id, int64_t t, uint64_t v)
{
	struct memseries *s = h->series.v[id];

	h->nchunks += memseries_append(&s, t, v, h->opts.chunk_range);
	h->series.v[id] = s;
	update_min_max(h, t);
}

int
head_series_labels(struct head *h, uint64_t ref, struct labels *out)
{
	struct memseries *s = head_series_get(h, ref);

	if (s == NULL)
		return 0;
	memseries_labels(h, s, &h->scratch, &h->scratch_cap, out);
	return 1;
}

/*
 * Create, free, accessors.
 */

struct head *
head_create(const struct head_opts *o)
{
	struct head *h;

	h = xcalloc(1, sizeof(*h));
	if (o != NULL)
		h->opts = *o;
	if (h->opts.chunk_range <= 0)
		h->opts.chunk_range = HEAD_CHUNK_RANGE_DEFAULT;
	h->min_time = INT64_MAX;
	h->max_time = INT64_MIN;
	h->min_valid_time = INT64_MIN;
	h->append_init = 1;
	head_itab_init(&h->strings);
	head_itab_init(&h->by_labels);
	head_itab_init(&h->by_ref);
	head_itab_init(&h->by_alias);
	head_itab_init(&h->pairs);
	return h;
}

void
head_free(struct head *h)
{
	if (h == NULL)
		return;
	for (size_t i = 0; i < h->series.n; i++) {
		if (h->series.v[i] == NULL)
			continue;
		memseries_drop_chunks(h->series.v[i]);
		free(h->series.v[i]);
	}
	for (size_t i = 0; i < h->strs.n; i++)
		free(h->strs.v[i]);
	head_postings_free(h);
	head_idarr_free(&h->series);
	head_idarr_free(&h->strs);
	head_itab_free(&h->strings);
	head_itab_free(&h->by_labels);
	head_itab_free(&h->by_ref);
	head_itab_free(&h->by_alias);
	free(h->aliases);
	free(h->idbuf);
	free(h->scratch);
	free(h);
}

void
head_stats(const struct head *h, struct head_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->num_series = h->by_labels.n;
	st->num_chunks = h->nchunks;
	st->next_ref = h->last_ref + 1;
	st->min_time = h->min_time;
	st->max_time = h->max_time;
	st->min_valid_time = h->min_valid_time;
	st->replay_unknown_refs = h->replay_unknown;
	st->strings = h->strings.n;
}

int64_t
head_min_time(const struct head *h)
{
	return h->min_time;
}

int64_t
head_max_time(const struct head *h)
{
	return h->max_time;
}

void
head_refs_free(struct head_refs *r)
{
	free(r->v);
	memset(r, 0, sizeof(*r));
}

static void
refs_push(struct head_refs *r, uint64_t ref)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->v = xreallocarray(r->v, r->cap, sizeof(r->v[0]));
	}
	r->v[r->n++] = ref;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Errors.
 */

const char *
head_err_text(enum head_err e)
{
	switch (e) {
	case HEAD_OK:
		return "ok";
	case HEAD_ERR_OUT_OF_BOUNDS:
		return "out of bounds";
	case HEAD_ERR_OUT_OF_ORDER:
		return "out of order sample";
	case HEAD_ERR_DUPLICATE:
		return "duplicate sample for timestamp";
	case HEAD_ERR_EMPTY_LABELS:
		return "empty labelset: invalid sample";
	case HEAD_ERR_DUP_LABEL_NAME:
		return "label name is not unique: invalid sample";
	case HEAD_ERR_SERIES_LIMIT:
		return "per-user series limit exceeded";
	case HEAD_ERR_METRIC_SERIES_LIMIT:
		return "per-metric series limit exceeded";
	}
	return "unknown head error";
}

void
head_err_format(const struct head *h, enum head_err e, const struct labels *ls,
    struct buf *out)
{
	struct labels clean = { NULL, 0 };
	struct str name = { NULL, 0 };
	const char *text = head_err_text(e);
	char tmp[256];
	uint64_t lim;
	int n;

	/* The label set Prometheus reports on: empty values dropped. */
	if (ls != NULL) {
		clean.v = xcalloc(ls->n ? ls->n : 1, sizeof(clean.v[0]));
		for (size_t i = 0; i < ls->n; i++)
			if (ls->v[i].value.len > 0)
				clean.v[clean.n++] = ls->v[i];
		name = labels_get(&clean, STR_LIT("__name__"));
	}
	switch (e) {
	case HEAD_ERR_DUP_LABEL_NAME:
		for (size_t i = 1; i < clean.n; i++) {
			if (!str_eq(clean.v[i - 1].name, clean.v[i].name))
				continue;
			buf_put_bytes(out, "label name \"", 12);
			buf_put_bytes(out, clean.v[i].name.p, clean.v[i].name.len);
			buf_put_bytes(out, "\" is not unique: invalid sample", 31);
			goto done;
		}
		break;
	case HEAD_ERR_SERIES_LIMIT:
		lim = h->opts.max_series;
		n = snprintf(tmp, sizeof(tmp), "per-user series limit of %" PRIu64
		    " exceeded, please contact administrator to raise it (local limit: %"
		    PRIu64 " global limit: 0 actual local limit: %" PRIu64 ")", lim, lim, lim);
		buf_put_bytes(out, tmp, (size_t)n);
		goto done;
	case HEAD_ERR_METRIC_SERIES_LIMIT:
		lim = h->opts.max_series_per_metric;
		n = snprintf(tmp, sizeof(tmp), "per-metric series limit of %" PRIu64
		    " exceeded for metric ", lim);
		buf_put_bytes(out, tmp, (size_t)n);
		if (name.len > 0)
			buf_put_bytes(out, name.p, name.len);
		n = snprintf(tmp, sizeof(tmp), ", please contact administrator to raise it "
		    "(local limit: %" PRIu64 " global limit: 0 actual local limit: %" PRIu64
		    ") for series ", lim, lim);
		buf_put_bytes(out, tmp, (size_t)n);
		gofmt_labels(out, &clean);
		goto done;
	default:
		break;
	}
	buf_put_bytes(out, text, strlen(text));
done:
	free(clean.v);
}

/*
 * Appends.
 */

/* Go's wrapping int64 arithmetic: max(head max time − R/2, min valid time). */
static int64_t
appendable_min_valid(const struct head *h)
{
	int64_t cw_end = (int64_t)((uint64_t)h->max_time - (uint64_t)(h->opts.chunk_range / 2));

	return cw_end > h->min_valid_time ? cw_end : h->min_valid_time;
}

void
head_append_begin(struct head *h)
{
	/* A head without samples takes its window from the first sample (initAppender). */
	if (h->min_time == INT64_MAX) {
		h->append_init = 1;
		return;
	}
	h->append_init = 0;
	h->append_min_valid = appendable_min_valid(h);
}

static void
update_min_max(struct head *h, int64_t t)
{
	if (t < h->min_time)
		h->min_time = t;
	if (t > h->max_time)
		h->max_time = t;
}

/* Labels.WithoutEmpty into the head's scratch, unless nothing needs dropping. */
static void
clean_labels(struct head *h, const struct labels *ls, struct labels *out)
{
	size_t k = 0;

	*out = *ls;
	for (size_t i = 0; i < ls->n; i++)
		if (ls->v[i].value.len == 0)
			goto copy;
	return;
copy:
	if (h->scratch_cap < ls->n) {
		h->scratch_cap = ls->n;
		h->scratch = xreallocarray(h->scratch, h->scratch_cap, sizeof(h->scratch[0]));
	}
	for (size_t i = 0; i < ls->n; i++)
		if (ls->v[i].value.len > 0)
			h->scratch[k++] = ls->v[i];
	out->v = h->scratch;
	out->n = k;
}

/* Cortex's PreCreation: the per-user limit first, then the per-metric one. */
static enum head_err
check_limits(struct head *h, const struct labels *ls)
{
	uint32_t nm, val;
	struct plist *pl;
	struct str name;

	if (h->opts.max_series > 0 && h->by_labels.n >= h->opts.max_series)
		return HEAD_ERR_SERIES_LIMIT;
	if (h->opts.max_series_per_metric == 0)
		return HEAD_OK;
	name = labels_get(ls, STR_LIT("__name__"));
	if (name.len == 0)
		return HEAD_OK;
	if ((nm = head_string_find(h, "__name__", 8)) == HEAD_NO_ID ||
	    (val = head_string_find(h, name.p, name.len)) == HEAD_NO_ID ||
	    (pl = head_plist_get(h, nm, val)) == NULL)
		return HEAD_OK;
	if (head_reflist_len(&pl->refs) >= h->opts.max_series_per_metric)
		return HEAD_ERR_METRIC_SERIES_LIMIT;
	return HEAD_OK;
}

enum head_err
head_append(struct head *h, const struct labels *ls, int64_t t, uint64_t v,
    uint64_t *ref, int *created)
{
	const struct memseries *s;
	struct labels cl;
	enum head_err rc;
	uint64_t hash;
	uint32_t id;

	if (created != NULL)
		*created = 0;
	if (h->append_init) {
		if (h->min_time == INT64_MAX) {
			h->min_time = t;
			if (h->max_time == INT64_MIN)
				h->max_time = t;
		}
		h->append_min_valid = appendable_min_valid(h);
		h->append_init = 0;
	}
	if (t < h->append_min_valid)
		return HEAD_ERR_OUT_OF_BOUNDS;
	clean_labels(h, ls, &cl);
	if (cl.n == 0)
		return HEAD_ERR_EMPTY_LABELS;
	if (labels_has_dup_names(&cl))
		return HEAD_ERR_DUP_LABEL_NAME;
	hash = labels_hash(&cl);
	if ((id = series_lookup(h, &cl, hash)) == HEAD_NO_ID) {
		if ((rc = check_limits(h, &cl)) != HEAD_OK)
			return rc;
		id = series_create(h, h->last_ref + 1, &cl, hash);
		if (created != NULL)
			*created = 1;
	}
	s = h->series.v[id];
	if (s->enc.n > 0 && t <= s->enc.t) {
		if (t < s->enc.t)
			return HEAD_ERR_OUT_OF_ORDER;
		if (v != s->enc.v)
			return HEAD_ERR_DUPLICATE;
		update_min_max(h, t);
	} else
		series_append(h, id, t, v);
	if (ref != NULL)
		*ref = ((const struct memseries *)h->series.v[id])->ref;
	return HEAD_OK;
}

/*
 * WAL replay.
 */

void
head_set_min_valid_time(struct head *h, int64_t t)
{
	h->min_valid_time = t;
}

static void
aliases_clear(struct head *h)
{
	free(h->aliases);
	h->aliases = NULL;
	h->naliases = h->aliases_cap = 0;
	head_itab_free(&h->by_alias);
	head_itab_init(&h->by_alias);
}

/* Replay's samples of ref go to series id from now on. */
static void
alias_set(struct head *h, uint64_t ref, uint32_t id)
{
	uint32_t a = head_itab_find(h, &h->by_alias, ref_hash(ref), eq_alias, &ref);

	if (a == HEAD_NO_ID) {
		if (h->naliases == h->aliases_cap) {
			h->aliases_cap = h->aliases_cap ? h->aliases_cap * 2 : 16;
			h->aliases = xreallocarray(h->aliases, h->aliases_cap, sizeof(h->aliases[0]));
		}
		a = (uint32_t)h->naliases++;
		h->aliases[a].ref = ref;
		head_itab_put(&h->by_alias, ref_hash(ref), a);
	}
	h->aliases[a].series = id;
}

int
head_replay_series(struct head *h, uint64_t ref, const struct labels *ls, struct err *e)
{
	uint64_t hash = labels_hash(ls);
	struct memseries *s;
	uint32_t id;

	if ((id = series_lookup(h, ls, hash)) != HEAD_NO_ID) {
		s = h->series.v[id];
		/* A repeated series record: samples replayed so far are lost (wal-format.md §6.2). */
		h->nchunks -= memseries_nchunks(s);
		memseries_drop_chunks(s);
		if (s->ref != ref)
			alias_set(h, ref, id);
		if (ref > h->last_ref)
			h->last_ref = ref;
		return 0;
	}
	if (series_by_ref(h, ref) != HEAD_NO_ID)
		return err_set(e, "series ref %" PRIu64 " replayed with a different label set", ref);
	series_create(h, ref, ls, hash);
	return 0;
}

int
head_replay_sample(struct head *h, uint64_t ref, int64_t t, uint64_t v)
{
	uint32_t id = HEAD_NO_ID, a;
	const struct memseries *s;

	if (t < h->min_valid_time)
		return 0;
	if (h->naliases > 0 &&
	    (a = head_itab_find(h, &h->by_alias, ref_hash(ref), eq_alias, &ref)) != HEAD_NO_ID)
		id = h->aliases[a].series;
	if (id == HEAD_NO_ID && (id = series_by_ref(h, ref)) == HEAD_NO_ID) {
		h->replay_unknown++;
		return 0;
	}
	s = h->series.v[id];
	if (s->enc.n > 0 && t <= s->enc.t)
		return 0;
	series_append(h, id, t, v);
	return 1;
}

void
head_replay_end(struct head *h, struct head_refs *dropped)
{
	aliases_clear(h);
	if (h->min_time < h->min_valid_time)
		h->min_time = h->min_valid_time;
	head_gc(h, h->min_time, dropped);
}

/*
 * Truncation and garbage collection.
 */

/*
 * Drop chunks ending before mint, then the series left without chunks
 * (tables, postings, strings). Returns the smallest remaining sample time
 * (INT64_MAX when none).
 */
static int64_t
head_gc(struct head *h, int64_t mint, struct head_refs *dropped)
{
	struct memseries **dead = NULL;
	size_t ndead = 0, cap = 0, first = dropped != NULL ? dropped->n : 0;
	int64_t actual = INT64_MAX;

	aliases_clear(h);
	for (size_t i = 0; i < h->series.n; i++) {
		struct memseries *s = h->series.v[i];
		int64_t smin;

		if (s == NULL)
			continue;
		h->nchunks -= memseries_truncate(s, mint);
		if (memseries_min_time(s, &smin)) {
			if (smin < actual)
				actual = smin;
			continue;
		}
		if (ndead == cap) {
			cap = cap ? cap * 2 : 64;
			dead = xreallocarray(dead, cap, sizeof(dead[0]));
		}
		dead[ndead++] = s;
		series_unlink(h, (uint32_t)i);
		if (dropped != NULL)
			refs_push(dropped, s->ref);
	}
	/* Postings still name the dead series; their strings must outlive that. */
	head_postings_remove(h, dead, ndead);
	for (size_t i = 0; i < ndead; i++)
		series_destroy(h, dead[i]);
	free(dead);
	if (dropped != NULL && dropped->n > first)
		qsort(dropped->v + first, dropped->n - first, sizeof(dropped->v[0]), cmp_u64);
	head_idarr_shrink(&h->series);
	head_idarr_shrink(&h->strs);
	head_itab_shrink(&h->by_labels);
	head_itab_shrink(&h->by_ref);
	head_itab_shrink(&h->strings);
	head_postings_shrink(h);
	return actual;
}

void
head_truncate(struct head *h, int64_t mint, struct head_refs *dropped)
{
	int initialize = h->min_time == INT64_MAX;
	int64_t actual;

	if (h->min_time >= mint && !initialize)
		return;
	h->min_time = mint;
	h->min_valid_time = mint;
	if (h->max_time < mint)
		h->max_time = mint;
	if (initialize)
		return;
	actual = head_gc(h, mint, dropped);
	/* The data left may start later than asked: follow it, but not into the append window. */
	if (actual > h->min_time) {
		int64_t amv = appendable_min_valid(h);

		h->min_time = h->min_valid_time = actual < amv ? actual : amv;
	}
}

int
head_compactable(const struct head *h, int64_t *mint, int64_t *maxt)
{
	int64_t span = (int64_t)((uint64_t)h->max_time - (uint64_t)h->min_time);

	if (span <= h->opts.chunk_range / 2 * 3)
		return 0;
	*mint = h->min_time;
	*maxt = chunk_range_end(h->min_time, h->opts.chunk_range);
	return 1;
}
