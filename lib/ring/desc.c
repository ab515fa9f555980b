#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <snappy-c.h>

#include "lib/base/xmalloc.h"
#include "lib/ring/desc.h"
#include "lib/rw/pbwire.h"

/* A ring value larger than this decompressed is refused. */
#define RING_DESC_MAX	(64u << 20)

void
ring_desc_init(struct ring_desc *d)
{
	d->inst = NULL;
	d->n = 0;
}

static void
instance_free(struct ring_instance *x)
{
	free(x->id);
	free(x->addr);
	free(x->zone);
	free(x->tokens);
	free(x->versions);
	memset(x, 0, sizeof(*x));
}

void
ring_desc_free(struct ring_desc *d)
{
	for (size_t i = 0; i < d->n; i++)
		instance_free(&d->inst[i]);
	free(d->inst);
	ring_desc_init(d);
}

static void
instance_copy(struct ring_instance *dst, const struct ring_instance *src)
{
	*dst = *src;
	dst->id = xstrdup(src->id);
	dst->addr = xstrdup(src->addr != NULL ? src->addr : "");
	dst->zone = xstrdup(src->zone != NULL ? src->zone : "");
	dst->tokens = src->ntokens ? xmemdup(src->tokens, src->ntokens * sizeof(*src->tokens)) : NULL;
	dst->versions = src->nversions ?
	    xmemdup(src->versions, src->nversions * sizeof(*src->versions)) : NULL;
}

void
ring_desc_clone(struct ring_desc *dst, const struct ring_desc *src)
{
	dst->n = src->n;
	dst->inst = src->n ? xcalloc(src->n, sizeof(*dst->inst)) : NULL;
	for (size_t i = 0; i < src->n; i++)
		instance_copy(&dst->inst[i], &src->inst[i]);
}

/* Index of id, or of where it would go (*found 0). */
static size_t
position(const struct ring_desc *d, const char *id, int *found)
{
	size_t lo = 0, hi = d->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(d->inst[mid].id, id);

		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

struct ring_instance *
ring_desc_find(const struct ring_desc *d, const char *id)
{
	int found;
	size_t i = position(d, id, &found);

	return found ? &d->inst[i] : NULL;
}

/* Takes x over (no copy): replaces the instance of the same ID or inserts it in order. */
static void
put_instance(struct ring_desc *d, struct ring_instance *x)
{
	int found;
	size_t i = position(d, x->id, &found);

	if (found) {
		instance_free(&d->inst[i]);
		d->inst[i] = *x;
		return;
	}
	d->inst = xreallocarray(d->inst, d->n + 1, sizeof(*d->inst));
	memmove(&d->inst[i + 1], &d->inst[i], (d->n - i) * sizeof(*d->inst));
	d->inst[i] = *x;
	d->n++;
}

void
ring_desc_set(struct ring_desc *d, const struct ring_instance *x)
{
	struct ring_instance c;

	instance_copy(&c, x);
	put_instance(d, &c);
}

int
ring_desc_remove(struct ring_desc *d, const char *id)
{
	int found;
	size_t i = position(d, id, &found);

	if (!found)
		return 0;
	instance_free(&d->inst[i]);
	memmove(&d->inst[i], &d->inst[i + 1], (d->n - i - 1) * sizeof(*d->inst));
	d->n--;
	return 1;
}

static int
instance_equal(const struct ring_instance *a, const struct ring_instance *b)
{
	return strcmp(a->id, b->id) == 0 && strcmp(a->addr, b->addr) == 0 &&
	    strcmp(a->zone, b->zone) == 0 && a->state == b->state &&
	    a->timestamp == b->timestamp && a->registered_timestamp == b->registered_timestamp &&
	    a->read_only_updated_timestamp == b->read_only_updated_timestamp &&
	    a->read_only == b->read_only && a->ntokens == b->ntokens &&
	    (a->ntokens == 0 || memcmp(a->tokens, b->tokens, a->ntokens * sizeof(*a->tokens)) == 0) &&
	    a->nversions == b->nversions && (a->nversions == 0 ||
	    memcmp(a->versions, b->versions, a->nversions * sizeof(*a->versions)) == 0);
}

int
ring_desc_equal(const struct ring_desc *a, const struct ring_desc *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (!instance_equal(&a->inst[i], &b->inst[i]))
			return 0;
	return 1;
}

/* ---- protobuf, as gogo writes it: fields in number order, defaults omitted ---- */

static void
put_string(struct buf *b, uint32_t field, const char *s)
{
	if (s != NULL && *s != '\0')
		pb_put_bytes(b, field, s, strlen(s));
}

static void
put_int(struct buf *b, uint32_t field, int64_t v)
{
	if (v != 0)
		pb_put_varint(b, field, (uint64_t)v);
}

static void
marshal_instance(const struct ring_instance *x, struct buf *b)
{
	put_string(b, 1, x->addr);
	put_int(b, 2, x->timestamp);
	put_int(b, 3, x->state);
	if (x->ntokens > 0) {
		size_t mark = pb_open(b, 6);

		for (size_t i = 0; i < x->ntokens; i++)
			buf_put_uvarint(b, x->tokens[i]);
		pb_close(b, mark);
	}
	put_string(b, 7, x->zone);
	put_int(b, 8, x->registered_timestamp);
	put_string(b, 9, x->id);
	put_int(b, 10, x->read_only_updated_timestamp);
	put_int(b, 11, x->read_only != 0);
	for (size_t i = 0; i < x->nversions; i++) {
		size_t mark = pb_open(b, 12);

		pb_put_varint(b, 1, x->versions[i].component);
		pb_put_varint(b, 2, x->versions[i].version);
		pb_close(b, mark);
	}
}

void
ring_desc_marshal(const struct ring_desc *d, struct buf *out)
{
	for (size_t i = 0; i < d->n; i++) {
		size_t entry = pb_open(out, 1), value;

		/* gogo writes a map entry's key and value even when empty */
		pb_put_bytes(out, 1, d->inst[i].id, strlen(d->inst[i].id));
		value = pb_open(out, 2);
		marshal_instance(&d->inst[i], out);
		pb_close(out, value);
		pb_close(out, entry);
	}
}

int
ring_token_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

size_t
ring_tokens_sort(uint32_t *t, size_t n)
{
	size_t k = 0;

	if (n == 0)
		return 0;
	qsort(t, n, sizeof(*t), ring_token_cmp);
	for (size_t i = 1; i < n; i++)
		if (t[i] != t[k])
			t[++k] = t[i];
	return k + 1;
}

int
ring_tokens_has(const uint32_t *t, size_t n, uint32_t token)
{
	/* bsearch must not see the NULL list of an instance without tokens */
	return n > 0 && bsearch(&token, t, n, sizeof(token), ring_token_cmp) != NULL;
}

static int
cmp_version(const void *a, const void *b)
{
	const struct ring_version *x = a, *y = b;

	return x->component < y->component ? -1 : x->component > y->component;
}

/* Sorted, without duplicates; LEFT instances own no tokens (dskit's normalizeIngestersMap). */
static void
normalize(struct ring_instance *x)
{
	if (x->state == RING_LEFT)
		x->ntokens = 0;
	x->ntokens = ring_tokens_sort(x->tokens, x->ntokens);
}

void
ring_desc_normalize(struct ring_desc *d)
{
	for (size_t i = 0; i < d->n; i++)
		normalize(&d->inst[i]);
}

static char *
dup_bytes(const uint8_t *p, size_t n)
{
	char *s = xmalloc(n + 1);

	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static int
string_field(struct pb_reader *r, char **out, const char *name, struct err *e)
{
	struct pb_reader sub;

	if (pb_get_bytes(r, name, &sub, e) == -1)
		return -1;
	if (memchr(sub.p, '\0', pb_left(&sub)) != NULL)
		return err_set(e, "%s: NUL byte in string", name);
	free(*out);
	*out = dup_bytes(sub.p, pb_left(&sub));
	return 0;
}

static int
version_entry(struct pb_reader *r, struct ring_instance *x, struct err *e)
{
	struct pb_reader sub;
	struct ring_version v = { 0, 0 };
	int rc;

	if (pb_get_bytes(r, "versions", &sub, e) == -1)
		return -1;
	while (pb_more(&sub)) {
		if ((rc = pb_tag(&sub)) != PB_OK)
			return pb_err(e, rc, &sub);
		if (sub.field == 1 && pb_get_varint(&sub, "versions key", &v.component, e) == -1)
			return -1;
		else if (sub.field == 2 && pb_get_varint(&sub, "versions value", &v.version, e) == -1)
			return -1;
		else if (sub.field != 1 && sub.field != 2 && (rc = pb_skip(&sub)) != PB_OK)
			return pb_err(e, rc, &sub);
	}
	/* a repeated key replaces the earlier value, as a Go map does */
	for (size_t i = 0; i < x->nversions; i++)
		if (x->versions[i].component == v.component) {
			x->versions[i].version = v.version;
			return 0;
		}
	x->versions = xreallocarray(x->versions, x->nversions + 1, sizeof(*x->versions));
	x->versions[x->nversions++] = v;
	return 0;
}

static int
unmarshal_instance(struct pb_reader *r, struct ring_instance *x, struct err *e)
{
	uint64_t v;
	int rc;

	while (pb_more(r)) {
		if ((rc = pb_tag(r)) != PB_OK)
			return pb_err(e, rc, r);
		switch (r->field) {
		case 1:
			rc = string_field(r, &x->addr, "addr", e);
			break;
		case 7:
			rc = string_field(r, &x->zone, "zone", e);
			break;
		case 9:
			rc = string_field(r, &x->id, "id", e);
			break;
		case 2: case 3: case 8: case 10: case 11:
			if ((rc = pb_get_varint(r, "InstanceDesc field", &v, e)) == -1)
				break;
			if (r->field == 2)
				x->timestamp = (int64_t)v;
			else if (r->field == 3)
				x->state = (enum ring_state)(v > RING_LEFT ? RING_ACTIVE : v);
			else if (r->field == 8)
				x->registered_timestamp = (int64_t)v;
			else if (r->field == 10)
				x->read_only_updated_timestamp = (int64_t)v;
			else
				x->read_only = v != 0;
			if (r->field == 3 && v > RING_LEFT)
				return err_set(e, "unknown instance state %llu", (unsigned long long)v);
			break;
		case 6:
			rc = pb_get_repeated_uint32(r, "tokens", &x->tokens, &x->ntokens, e);
			break;
		case 12:
			rc = version_entry(r, x, e);
			break;
		default:
			if ((rc = pb_skip(r)) != PB_OK)
				return pb_err(e, rc, r);
		}
		if (rc == -1)
			return -1;
	}
	if (x->nversions > 1)
		qsort(x->versions, x->nversions, sizeof(*x->versions), cmp_version);
	return 0;
}

static int
unmarshal_entry(struct pb_reader *r, struct ring_desc *d, struct err *e)
{
	struct ring_instance x = { 0 };
	char *key = NULL;
	struct pb_reader value;
	int rc;

	while (pb_more(r)) {
		if ((rc = pb_tag(r)) != PB_OK) {
			pb_err(e, rc, r);
			goto fail;
		}
		if (r->field == 1) {
			if (string_field(r, &key, "ingesters key", e) == -1)
				goto fail;
		} else if (r->field == 2) {
			if (pb_get_bytes(r, "ingesters value", &value, e) == -1)
				goto fail;
			instance_free(&x);
			if (unmarshal_instance(&value, &x, e) == -1)
				goto fail;
		} else if ((rc = pb_skip(r)) != PB_OK) {
			pb_err(e, rc, r);
			goto fail;
		}
	}
	if (key == NULL)
		key = xstrdup("");
	/* the map key is the ID; old writers left id empty */
	free(x.id);
	x.id = key;
	if (x.addr == NULL)
		x.addr = xstrdup("");
	if (x.zone == NULL)
		x.zone = xstrdup("");
	put_instance(d, &x);
	return 0;
fail:
	free(key);
	instance_free(&x);
	return -1;
}

int
ring_desc_unmarshal(struct ring_desc *d, const void *p, size_t n, struct err *e)
{
	struct pb_reader r, entry;
	int rc;

	ring_desc_init(d);
	pb_reader_init(&r, p, n);
	while (pb_more(&r)) {
		if ((rc = pb_tag(&r)) != PB_OK)
			goto fail_pb;
		if (r.field != 1) {
			if ((rc = pb_skip(&r)) != PB_OK)
				goto fail_pb;
			continue;
		}
		if (pb_get_bytes(&r, "ingesters", &entry, e) == -1)
			goto fail;
		if (unmarshal_entry(&entry, d, e) == -1)
			goto fail;
	}
	return 0;
fail_pb:
	pb_err(e, rc, &r);
fail:
	ring_desc_free(d);
	return err_wrap(e, "ring.Desc");
}

void
ring_desc_encode(const struct ring_desc *d, struct buf *out)
{
	struct buf raw = { 0 };
	size_t n;

	ring_desc_marshal(d, &raw);
	n = snappy_max_compressed_length(raw.len);
	buf_reserve(out, n);
	snappy_compress((const char *)raw.p, raw.len, (char *)out->p + out->len, &n);
	out->len += n;
	buf_free(&raw);
}

int
ring_desc_decode(struct ring_desc *d, const void *p, size_t n, struct err *e)
{
	size_t len;
	char *raw;
	int rc;

	ring_desc_init(d);
	/* dskit's codec: an empty value is snappy of nothing, an empty Desc */
	if (n == 0)
		return 0;
	if (snappy_uncompressed_length(p, n, &len) != SNAPPY_OK)
		return err_set(e, "ringDesc: not a snappy block");
	if (len > RING_DESC_MAX)
		return err_set(e, "ringDesc: %zu bytes decompressed, more than %u", len,
		    RING_DESC_MAX);
	raw = xmalloc(len ? len : 1);
	if (snappy_uncompress(p, n, raw, &len) != SNAPPY_OK) {
		free(raw);
		return err_set(e, "ringDesc: corrupt snappy block");
	}
	rc = ring_desc_unmarshal(d, raw, len, e);
	free(raw);
	return rc;
}

/* ---- merge (dskit ring/model.go mergeWithTime) ---- */

static int
tokens_equal(const struct ring_instance *a, const struct ring_instance *b)
{
	return a->ntokens == b->ntokens &&
	    (a->ntokens == 0 || memcmp(a->tokens, b->tokens, a->ntokens * sizeof(*a->tokens)) == 0);
}

/*
 * Sorts keys (token << 32 | instance index) by token, stably: LSD radix,
 * four byte-wide passes over the upper half.
 */
static void
sort_by_token(uint64_t *k, size_t n)
{
	uint64_t *tmp, *src = k, *dst;
	size_t count[256];

	if (n < 2)
		return;
	tmp = xreallocarray(NULL, n, sizeof(*tmp));
	dst = tmp;
	for (int shift = 32; shift < 64; shift += 8) {
		size_t sum = 0;

		memset(count, 0, sizeof(count));
		for (size_t i = 0; i < n; i++)
			count[(src[i] >> shift) & 0xff]++;
		for (size_t b = 0; b < 256; b++) {
			size_t c = count[b];

			count[b] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[count[(src[i] >> shift) & 0xff]++] = src[i];
		src = dst;
		dst = src == k ? tmp : k;
	}
	/* An even number of passes: the result is back in k. */
	free(tmp);
}

uint64_t *
ring_desc_sorted_tokens(const struct ring_desc *d, int skip_left, size_t *np)
{
	uint64_t *k;
	size_t n = 0;

	for (size_t i = 0; i < d->n; i++)
		if (!skip_left || d->inst[i].state != RING_LEFT)
			n += d->inst[i].ntokens;
	*np = n;
	if (n == 0)
		return NULL;
	k = xreallocarray(NULL, n, sizeof(*k));
	n = 0;
	for (size_t i = 0; i < d->n; i++) {
		if (skip_left && d->inst[i].state == RING_LEFT)
			continue;
		for (size_t j = 0; j < d->inst[i].ntokens; j++)
			k[n++] = (uint64_t)d->inst[i].tokens[j] << 32 | (uint32_t)i;
	}
	sort_by_token(k, n);
	return k;
}

/*
 * dskit's conflictingTokensExist: a token listed twice anywhere, LEFT
 * instances and duplicates within one list included.
 */
static int
conflicts_exist(const struct ring_desc *d)
{
	size_t n;
	uint64_t *k = ring_desc_sorted_tokens(d, 0, &n);
	int found = 0;

	for (size_t i = 0; i + 1 < n && !found; i++)
		found = k[i] >> 32 == k[i + 1] >> 32;
	free(k);
	return found;
}

/*
 * dskit's resolveConflicts: every token of a non-LEFT instance goes to one
 * owner, a non-LEAVING instance before a LEAVING one, else the smaller ID.
 * dskit applies that rule pairwise in map order; it is the total order
 * (LEAVING, ID), so the winner is its minimum whatever the order. Every
 * token list is rebuilt sorted; LEFT instances end with none. Timestamps
 * are left alone.
 */
static void
resolve_conflicts(struct ring_desc *d)
{
	size_t n, k;
	uint64_t *c = ring_desc_sorted_tokens(d, 1, &n);

	for (size_t i = 0; i < d->n; i++)
		d->inst[i].ntokens = 0;
	for (size_t i = 0; i < n; i = k) {
		uint32_t token = c[i] >> 32, win = (uint32_t)c[i];

		for (k = i + 1; k < n && c[k] >> 32 == token; k++)
			if (d->inst[win].state == RING_LEAVING &&
			    d->inst[(uint32_t)c[k]].state != RING_LEAVING)
				win = (uint32_t)c[k];
		/* a list never grows: the winner's own claim is among these */
		d->inst[win].tokens[d->inst[win].ntokens++] = token;
	}
	free(c);
}

int
ring_desc_merge(struct ring_desc *d, const struct ring_desc *other, int local_cas, int64_t now,
    struct ring_desc *change)
{
	static const struct ring_instance absent = { .state = RING_ACTIVE };
	/* a received change updates at most its own instances; a local CAS may mark all LEFT */
	char **updated = xcalloc(other->n + (local_cas ? d->n : 0) + 1, sizeof(*updated));
	size_t nupdated = 0;
	int tokens_changed = 0;

	ring_desc_init(change);
	for (size_t i = 0; i < other->n; i++) {
		struct ring_instance o, *t = ring_desc_find(d, other->inst[i].id);
		const struct ring_instance *local = t != NULL ? t : &absent;

		/* dskit reads a missing instance as the zero InstanceDesc: ACTIVE at 0, no tokens */
		if (other->inst[i].timestamp > local->timestamp) {
			instance_copy(&o, &other->inst[i]);
			normalize(&o);
			if (!tokens_equal(local, &o))
				tokens_changed = 1;
		} else if (other->inst[i].timestamp == local->timestamp &&
		    local->state != RING_LEFT && other->inst[i].state == RING_LEFT) {
			/* LEFT wins a tie; dropping tokens is not a change that resolves conflicts */
			instance_copy(&o, &other->inst[i]);
			normalize(&o);
		} else {
			continue;
		}
		put_instance(d, &o);
		updated[nupdated++] = ring_desc_find(d, other->inst[i].id)->id;
	}
	if (local_cas) {
		for (size_t i = 0; i < d->n; i++) {
			struct ring_instance *t = &d->inst[i];

			if (t->state == RING_LEFT || ring_desc_find(other, t->id) != NULL)
				continue;
			/* now, not the old heartbeat: a delayed older update must not bring it back */
			t->state = RING_LEFT;
			t->ntokens = 0;
			t->timestamp = now;
			updated[nupdated++] = t->id;
		}
	}
	if (nupdated == 0) {
		free(updated);
		return 0;
	}
	if (tokens_changed && conflicts_exist(d))
		resolve_conflicts(d);
	/* ids in updated point into d; copy the final instances */
	for (size_t i = 0; i < nupdated; i++)
		ring_desc_set(change, ring_desc_find(d, updated[i]));
	free(updated);
	return 1;
}

size_t
ring_desc_remove_tombstones(struct ring_desc *d, int64_t limit)
{
	size_t k = 0, removed = 0;

	for (size_t i = 0; i < d->n; i++) {
		if (d->inst[i].state == RING_LEFT && (limit == 0 || d->inst[i].timestamp < limit)) {
			instance_free(&d->inst[i]);
			removed++;
		} else {
			d->inst[k++] = d->inst[i];
		}
	}
	d->n = k;
	return removed;
}

static void
json_set_nonzero(json_t *o, const char *name, int64_t v)
{
	if (v != 0)
		json_object_set_new(o, name, json_integer(v));
}

static json_t *
instance_json(const struct ring_instance *in)
{
	json_t *o = json_object();

	if (in->addr != NULL && *in->addr != '\0')
		json_object_set_new(o, "addr", json_string(in->addr));
	json_set_nonzero(o, "timestamp", in->timestamp);
	json_set_nonzero(o, "state", in->state);
	if (in->ntokens > 0) {
		json_t *t = json_array();

		for (size_t i = 0; i < in->ntokens; i++)
			json_array_append_new(t, json_integer(in->tokens[i]));
		json_object_set_new(o, "tokens", t);
	}
	if (in->zone != NULL && *in->zone != '\0')
		json_object_set_new(o, "zone", json_string(in->zone));
	json_set_nonzero(o, "registered_timestamp", in->registered_timestamp);
	json_set_nonzero(o, "read_only_updated_timestamp", in->read_only_updated_timestamp);
	if (in->read_only)
		json_object_set_new(o, "read_only", json_true());
	if (in->nversions > 0) {
		json_t *v = json_object();
		char k[24];

		for (size_t i = 0; i < in->nversions; i++) {
			snprintf(k, sizeof(k), "%" PRIu64, in->versions[i].component);
			json_object_set_new(v, k, json_integer((json_int_t)in->versions[i].version));
		}
		json_object_set_new(o, "versions", v);
	}
	return o;
}

json_t *
ring_desc_json(const struct ring_desc *d)
{
	json_t *ing = json_object();

	for (size_t i = 0; i < d->n; i++)	/* sorted by id, as Go sorts map keys */
		json_object_set_new(ing, d->inst[i].id, instance_json(&d->inst[i]));
	return json_pack("{s:o}", "ingesters", ing);
}
