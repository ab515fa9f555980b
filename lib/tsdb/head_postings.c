/*
 * head_postings — the head's in-memory postings (Prometheus' MemPostings):
 * per label pair the refs of the series carrying it, ascending, and the
 * list of every ref. Pairs are keyed by their interned strings' ids; each
 * name keeps its values for label-values queries.
 *
 * Refs take 32 bits: a head hands them out from 1 up, and only a WAL can
 * bring larger ones, which go to a list of their own after the others.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HEAD_INTERNALS
#include "lib/base/xmalloc.h"
#include "lib/tsdb/head.h"

struct pair_key {
	uint32_t	 name;
	uint32_t	 value;
};

static uint32_t	pair_hash(uint32_t, uint32_t);
static int	eq_pair(const struct head *, uint32_t, const void *);
static struct plist *plist_get_or_add(struct head *, uint32_t, uint32_t);
static struct pname *pname_get_or_add(struct head *, uint32_t);
static void	reflist_add(struct reflist *, uint64_t);
static void	reflist_add_big(struct reflist *, uint64_t);
static void	reflist_filter(const struct head *, struct reflist *);
static void	reflist_free(struct reflist *);
static void	plist_remove(struct head *, uint32_t);

static uint32_t
pair_hash(uint32_t name, uint32_t value)
{
	return (uint32_t)head_hash_u64((uint64_t)name << 32 | value);
}

static int
eq_pair(const struct head *h, uint32_t id, const void *key)
{
	const struct plist *pl = h->plists.v[id];
	const struct pair_key *k = key;

	return pl->name == k->name && pl->value == k->value;
}

struct plist *
head_plist_get(const struct head *h, uint32_t name, uint32_t value)
{
	struct pair_key k = { name, value };
	uint32_t id = head_itab_find(h, &h->pairs, pair_hash(name, value), eq_pair, &k);

	return id != HEAD_NO_ID ? h->plists.v[id] : NULL;
}

struct pname *
head_pname_get(const struct head *h, uint32_t name)
{
	uint32_t id = head_str(h, name)->pname;

	return id != HEAD_NO_ID ? h->pnames.v[id] : NULL;
}

static struct pname *
pname_get_or_add(struct head *h, uint32_t name)
{
	struct pname *pn;

	if ((pn = head_pname_get(h, name)) != NULL)
		return pn;
	pn = xcalloc(1, sizeof(*pn));
	pn->name = name;
	head_str(h, name)->pname = head_idarr_add(&h->pnames, pn);
	h->npnames++;
	return pn;
}

static struct plist *
plist_get_or_add(struct head *h, uint32_t name, uint32_t value)
{
	struct plist *pl;
	struct pname *pn;
	uint32_t id;

	if ((pl = head_plist_get(h, name, value)) != NULL)
		return pl;
	pn = pname_get_or_add(h, name);
	pl = xcalloc(1, sizeof(*pl));
	pl->name = name;
	pl->value = value;
	id = head_idarr_add(&h->plists, pl);
	if (pn->nvals == pn->cap) {
		pn->cap = pn->cap ? pn->cap * 2 : 4;
		pn->vals = xreallocarray(pn->vals, pn->cap, sizeof(pn->vals[0]));
	}
	pl->vidx = pn->nvals;
	pn->vals[pn->nvals++] = id;
	head_itab_put(&h->pairs, pair_hash(name, value), id);
	return pl;
}

/*
 * Ref lists.
 */

size_t
head_reflist_len(const struct reflist *rl)
{
	return rl->n + (rl->big != NULL ? rl->big->n : 0);
}

void
head_reflist_get(const struct reflist *rl, struct head_refs *out)
{
	const uint32_t *v = rl->cap <= 2 ? rl->u.one : rl->u.many;
	size_t n = head_reflist_len(rl);

	if (out->n + n > out->cap) {
		out->cap = (out->n + n) * 2;
		out->v = xreallocarray(out->v, out->cap, sizeof(out->v[0]));
	}
	for (uint32_t i = 0; i < rl->n; i++)
		out->v[out->n++] = v[i];
	if (rl->big != NULL) {
		memcpy(out->v + out->n, rl->big->v, rl->big->n * sizeof(out->v[0]));
		out->n += rl->big->n;
	}
}

/* Refs of 2^32 and up: rare, so kept simply. */
static void
reflist_add_big(struct reflist *rl, uint64_t ref)
{
	struct head_refs *b = rl->big;
	size_t i;

	if (b == NULL)
		b = rl->big = xcalloc(1, sizeof(*b));
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 4;
		b->v = xreallocarray(b->v, b->cap, sizeof(b->v[0]));
	}
	for (i = b->n++; i > 0 && b->v[i - 1] > ref; i--)
		b->v[i] = b->v[i - 1];
	b->v[i] = ref;
}

/*
 * New series get ever higher refs, so this is an append; replay may bring
 * refs out of order, which the insertion keeps sorted (as MemPostings.addFor).
 * Lists grow by half: most of the head's postings are in a few long lists.
 */
static void
reflist_add(struct reflist *rl, uint64_t ref)
{
	uint32_t *v, i;

	if (ref > UINT32_MAX) {
		reflist_add_big(rl, ref);
		return;
	}
	if (rl->cap <= 2 && rl->n == 2) {
		v = xreallocarray(NULL, 4, sizeof(v[0]));
		memcpy(v, rl->u.one, sizeof(rl->u.one));
		rl->u.many = v;
		rl->cap = 4;
	} else if (rl->cap > 2 && rl->n == rl->cap) {
		rl->cap += rl->cap / 2;
		rl->u.many = xreallocarray(rl->u.many, rl->cap, sizeof(rl->u.many[0]));
	}
	v = rl->cap <= 2 ? rl->u.one : rl->u.many;
	for (i = rl->n++; i > 0 && v[i - 1] > ref; i--)
		v[i] = v[i - 1];
	v[i] = (uint32_t)ref;
}

/* Keep the refs still in the head. */
static void
reflist_filter(const struct head *h, struct reflist *rl)
{
	uint32_t *v = rl->cap <= 2 ? rl->u.one : rl->u.many, k = 0;
	struct head_refs *b = rl->big;
	size_t kb = 0;

	for (uint32_t i = 0; i < rl->n; i++)
		if (head_series_get(h, v[i]) != NULL)
			v[k++] = v[i];
	rl->n = k;
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n; i++)
		if (head_series_get(h, b->v[i]) != NULL)
			b->v[kb++] = b->v[i];
	b->n = kb;
}

static void
reflist_free(struct reflist *rl)
{
	if (rl->cap > 2)
		free(rl->u.many);
	if (rl->big != NULL)
		free(rl->big->v);
	free(rl->big);
	memset(rl, 0, sizeof(*rl));
}

void
head_postings_add(struct head *h, const struct memseries *s)
{
	const uint8_t *p = s->lbl, *end = memseries_lbl_end(s);

	while (p < end) {
		uint32_t name, value;

		p = memseries_id(memseries_id(p, &name), &value);
		reflist_add(&plist_get_or_add(h, name, value)->refs, s->ref);
	}
	reflist_add(&h->all, s->ref);
}

static void
plist_remove(struct head *h, uint32_t id)
{
	struct plist *pl = h->plists.v[id];
	struct pname *pn = head_pname_get(h, pl->name);
	struct plist *moved;

	head_itab_del(&h->pairs, pair_hash(pl->name, pl->value), id);
	pn->vals[pl->vidx] = pn->vals[--pn->nvals];
	moved = h->plists.v[pn->vals[pl->vidx]];
	moved->vidx = pl->vidx;
	head_idarr_del(&h->plists, id);
	reflist_free(&pl->refs);
	free(pl);
	if (pn->nvals > 0)
		return;
	head_idarr_del(&h->pnames, head_str(h, pn->name)->pname);
	head_str(h, pn->name)->pname = HEAD_NO_ID;
	h->npnames--;
	free(pn->vals);
	free(pn);
}

/*
 * Like MemPostings.Delete: every list that held a dead series is filtered
 * once, whatever the number of dead series in it.
 */
void
head_postings_remove(struct head *h, struct memseries *const *dead, size_t n)
{
	uint32_t *dirty = NULL;
	size_t ndirty = 0, cap = 0;

	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = dead[i]->lbl, *end = memseries_lbl_end(dead[i]);

		while (p < end) {
			struct pair_key k;
			struct plist *pl;
			uint32_t id;

			p = memseries_id(memseries_id(p, &k.name), &k.value);
			id = head_itab_find(h, &h->pairs, pair_hash(k.name, k.value), eq_pair, &k);
			pl = h->plists.v[id];

			if (pl->dirty)
				continue;
			pl->dirty = 1;
			if (ndirty == cap) {
				cap = cap ? cap * 2 : 64;
				dirty = xreallocarray(dirty, cap, sizeof(dirty[0]));
			}
			dirty[ndirty++] = id;
		}
	}
	for (size_t i = 0; i < ndirty; i++) {
		struct plist *pl = h->plists.v[dirty[i]];

		pl->dirty = 0;
		reflist_filter(h, &pl->refs);
		if (head_reflist_len(&pl->refs) == 0)
			plist_remove(h, dirty[i]);
	}
	free(dirty);
	reflist_filter(h, &h->all);
}

void
head_postings_shrink(struct head *h)
{
	head_itab_shrink(&h->pairs);
	head_idarr_shrink(&h->plists);
	head_idarr_shrink(&h->pnames);
}

void
head_postings_free(struct head *h)
{
	for (size_t i = 0; i < h->plists.n; i++) {
		struct plist *pl = h->plists.v[i];

		if (pl == NULL)
			continue;
		reflist_free(&pl->refs);
		free(pl);
	}
	for (size_t i = 0; i < h->pnames.n; i++) {
		struct pname *pn = h->pnames.v[i];

		if (pn == NULL)
			continue;
		free(pn->vals);
		free(pn);
	}
	head_idarr_free(&h->plists);
	head_idarr_free(&h->pnames);
	head_itab_free(&h->pairs);
	reflist_free(&h->all);
}

void
head_postings(struct head *h, struct str name, struct str value, struct head_refs *out)
{
	uint32_t in, iv;
	struct plist *pl;

	out->n = 0;
	if ((in = head_string_find(h, name.p, name.len)) == HEAD_NO_ID ||
	    (iv = head_string_find(h, value.p, value.len)) == HEAD_NO_ID ||
	    (pl = head_plist_get(h, in, iv)) == NULL)
		return;
	head_reflist_get(&pl->refs, out);
}

void
head_all_postings(struct head *h, struct head_refs *out)
{
	out->n = 0;
	head_reflist_get(&h->all, out);
}
