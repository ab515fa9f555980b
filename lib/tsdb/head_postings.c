/*
 * head_postings — the head's in-memory postings (Prometheus' MemPostings):
 * per label pair the refs of the series carrying it, ascending, and the
 * list of every ref. Pairs are keyed by the identity of their interned
 * strings; each name keeps its values for label-values queries.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HEAD_INTERNALS
#include "lib/base/xmalloc.h"
#include "lib/tsdb/head.h"

static uint64_t	pair_hash(const struct istr *, const struct istr *);
static int	eq_pair(const void *, const void *);
static int	eq_pname(const void *, const void *);
static struct plist *plist_get_or_add(struct head *, struct istr *, struct istr *);
static void	plist_add(struct plist *, uint64_t);
static void	refs_insert(uint64_t *, size_t, uint64_t);
static size_t	refs_filter(const struct head *, uint64_t *, size_t);
static void	plist_remove(struct head *, struct plist *);

struct pair_key {
	const struct istr	*name;
	const struct istr	*value;
};

static uint64_t
pair_hash(const struct istr *name, const struct istr *value)
{
	return head_hash_u64((uint64_t)(uintptr_t)name ^
	    head_hash_u64((uint64_t)(uintptr_t)value));
}

static int
eq_pair(const void *entry, const void *key)
{
	const struct plist *pl = entry;
	const struct pair_key *k = key;

	return pl->pn->name == k->name && pl->value == k->value;
}

static int
eq_pname(const void *entry, const void *key)
{
	return ((const struct pname *)entry)->name == key;
}

struct plist *
head_plist_get(const struct head *h, const struct istr *name, const struct istr *value)
{
	struct pair_key k = { name, value };
	struct hslot *sl;

	sl = head_htab_find(&h->pairs, pair_hash(name, value), eq_pair, &k);
	return sl != NULL ? sl->p : NULL;
}

struct pname *
head_pname_get(const struct head *h, const struct istr *name)
{
	struct hslot *sl;

	sl = head_htab_find(&h->pnames, head_hash_u64((uint64_t)(uintptr_t)name), eq_pname, name);
	return sl != NULL ? sl->p : NULL;
}

static struct plist *
plist_get_or_add(struct head *h, struct istr *name, struct istr *value)
{
	struct plist *pl;
	struct pname *pn;

	if ((pl = head_plist_get(h, name, value)) != NULL)
		return pl;
	if ((pn = head_pname_get(h, name)) == NULL) {
		pn = xcalloc(1, sizeof(*pn));
		pn->name = name;
		head_htab_put(&h->pnames, head_hash_u64((uint64_t)(uintptr_t)name), pn);
		if (h->nnames == h->names_cap) {
			h->names_cap = h->names_cap ? h->names_cap * 2 : 16;
			h->names = xreallocarray(h->names, h->names_cap, sizeof(h->names[0]));
		}
		pn->idx = (uint32_t)h->nnames;
		h->names[h->nnames++] = pn;
	}
	pl = xcalloc(1, sizeof(*pl));
	pl->value = value;
	pl->pn = pn;
	if (pn->nvals == pn->cap) {
		pn->cap = pn->cap ? pn->cap * 2 : 4;
		pn->vals = xreallocarray(pn->vals, pn->cap, sizeof(pn->vals[0]));
	}
	pl->vidx = pn->nvals;
	pn->vals[pn->nvals++] = pl;
	head_htab_put(&h->pairs, pair_hash(name, value), pl);
	return pl;
}

/*
 * New series get ever higher refs, so this is an append; replay may bring
 * refs out of order, which the insertion keeps sorted (as MemPostings.addFor).
 */
static void
refs_insert(uint64_t *v, size_t n, uint64_t ref)
{
	size_t i = n;

	while (i > 0 && v[i - 1] > ref) {
		v[i] = v[i - 1];
		i--;
	}
	v[i] = ref;
}

static void
plist_add(struct plist *pl, uint64_t ref)
{
	if (pl->n == 0) {
		pl->u.one = ref;
		pl->n = pl->cap = 1;
		return;
	}
	if (pl->cap == 1) {
		uint64_t one = pl->u.one;

		pl->cap = 4;
		pl->u.many = xreallocarray(NULL, pl->cap, sizeof(uint64_t));
		pl->u.many[0] = one;
	} else if (pl->n == pl->cap) {
		pl->cap *= 2;
		pl->u.many = xreallocarray(pl->u.many, pl->cap, sizeof(uint64_t));
	}
	refs_insert(pl->u.many, pl->n++, ref);
}

void
head_postings_add(struct head *h, const struct memseries *s)
{
	for (uint32_t i = 0; i < s->nlabels; i++)
		plist_add(plist_get_or_add(h, head_str(h, s->lbl[2 * i]),
		    head_str(h, s->lbl[2 * i + 1])), s->ref);
	if (h->nall == h->all_cap) {
		h->all_cap = h->all_cap ? h->all_cap * 2 : 64;
		h->all = xreallocarray(h->all, h->all_cap, sizeof(h->all[0]));
	}
	refs_insert(h->all, h->nall++, s->ref);
}

/* Keep the refs still in the head; returns the new count. */
static size_t
refs_filter(const struct head *h, uint64_t *v, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (head_series_get(h, v[i]) != NULL)
			v[k++] = v[i];
	return k;
}

static void
plist_remove(struct head *h, struct plist *pl)
{
	struct pname *pn = pl->pn;

	head_htab_del(&h->pairs, head_htab_find(&h->pairs, pair_hash(pn->name, pl->value),
	    head_htab_eq_ptr, pl));
	pn->vals[pl->vidx] = pn->vals[--pn->nvals];
	pn->vals[pl->vidx]->vidx = pl->vidx;
	if (pl->cap > 1)
		free(pl->u.many);
	free(pl);
	if (pn->nvals > 0)
		return;
	head_htab_del(&h->pnames, head_htab_find(&h->pnames, head_hash_u64((uint64_t)(uintptr_t)pn->name),
	    head_htab_eq_ptr, pn));
	h->names[pn->idx] = h->names[--h->nnames];
	h->names[pn->idx]->idx = pn->idx;
	free(pn->vals);
	free(pn);
}

/*
 * Like MemPostings.Delete: every list that held a dead series is filtered
 * once, whatever the number of dead series in it.
 */
void
head_postings_remove(struct head *h, const uint32_t *dead, size_t n)
{
	struct plist **dirty = NULL;
	size_t ndirty = 0, cap = 0;

	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct memseries *s = h->series[dead[i]];

		for (uint32_t j = 0; j < s->nlabels; j++) {
			struct plist *pl = head_plist_get(h, head_str(h, s->lbl[2 * j]),
			    head_str(h, s->lbl[2 * j + 1]));

			if (pl->dirty)
				continue;
			pl->dirty = 1;
			if (ndirty == cap) {
				cap = cap ? cap * 2 : 64;
				dirty = xreallocarray(dirty, cap, sizeof(dirty[0]));
			}
			dirty[ndirty++] = pl;
		}
	}
	for (size_t i = 0; i < ndirty; i++) {
		struct plist *pl = dirty[i];

		pl->dirty = 0;
		if (pl->cap <= 1)
			pl->n = (uint32_t)refs_filter(h, &pl->u.one, pl->n);
		else
			pl->n = (uint32_t)refs_filter(h, pl->u.many, pl->n);
		if (pl->n == 0)
			plist_remove(h, pl);
	}
	free(dirty);
	h->nall = refs_filter(h, h->all, h->nall);
}

void
head_postings_shrink(struct head *h)
{
	head_htab_shrink(&h->pairs);
	head_htab_shrink(&h->pnames);
}

void
head_postings_free(struct head *h)
{
	for (size_t i = 0; i < h->nnames; i++) {
		struct pname *pn = h->names[i];

		for (uint32_t j = 0; j < pn->nvals; j++) {
			if (pn->vals[j]->cap > 1)
				free(pn->vals[j]->u.many);
			free(pn->vals[j]);
		}
		free(pn->vals);
		free(pn);
	}
	free(h->names);
	free(h->all);
	head_htab_free(&h->pairs);
	head_htab_free(&h->pnames);
}

const uint64_t *
head_postings(struct head *h, struct str name, struct str value, size_t *n)
{
	struct istr *in, *iv;
	struct plist *pl;

	*n = 0;
	if ((in = head_string_find(h, name.p, name.len)) == NULL ||
	    (iv = head_string_find(h, value.p, value.len)) == NULL ||
	    (pl = head_plist_get(h, in, iv)) == NULL)
		return NULL;
	*n = pl->n;
	return plist_refs(pl);
}

const uint64_t *
head_all_postings(struct head *h, size_t *n)
{
	*n = h->nall;
	return h->all;
}
