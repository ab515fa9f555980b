/*
 * ring desc: dskit's ring.Desc on the wire (the hex example of
 * specs/ring-kv.md §7) and its merge, with property tests over random
 * descriptors: idempotent, commutative, associative, tombstones, token
 * conflicts, local CAS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/ring/desc.h"
#include "test/unit/unit.h"

#define SPEC_DESC \
	"0a2e 0a05696e672d31 1225 0a0d31302e302e302e313a39303935 1080e2cfaa06 320301ac02" \
	" 3a027a31 4a05696e672d31"

static void
spec_instance(struct ring_instance *x, uint32_t *tokens)
{
	memset(x, 0, sizeof(*x));
	x->id = (char *)"ing-1";
	x->addr = (char *)"10.0.0.1:9095";
	x->zone = (char *)"z1";
	x->timestamp = 1700000000;
	tokens[0] = 1;
	tokens[1] = 300;
	x->tokens = tokens;
	x->ntokens = 2;
}

static void
marshal_as_gogo(void)
{
	struct ring_desc d, back;
	struct ring_instance x;
	uint32_t tokens[2];
	struct buf b = { 0 }, z = { 0 };
	struct err e;
	size_t n;
	uint8_t *want = unit_hex(SPEC_DESC, &n);

	ring_desc_init(&d);
	spec_instance(&x, tokens);
	ring_desc_set(&d, &x);
	ring_desc_marshal(&d, &b);
	CHECK_MEM(b.p, b.len, want, n);
	CHECK_INT(ring_desc_unmarshal(&back, want, n, &e), 0);
	CHECK(ring_desc_equal(&d, &back));
	ring_desc_free(&back);
	ring_desc_encode(&d, &z);
	CHECK_INT(ring_desc_decode(&back, z.p, z.len, &e), 0);
	CHECK(ring_desc_equal(&d, &back));
	ring_desc_free(&back);
	ring_desc_free(&d);
	buf_free(&b);
	buf_free(&z);
	free(want);
}

/* j as the status page writes it, then j freed. */
static char *
dump(json_t *j, size_t flags)
{
	char *s = json_dumps(j, JSON_PRESERVE_ORDER | flags);

	json_decref(j);
	return s;
}

/* As Go's encoding/json writes dskit's ring.Desc: omitempty, state as its number. */
static void
json_as_go(void)
{
	struct ring_desc d;
	struct ring_instance x, y;
	struct ring_version v = { 7, 42 };
	uint32_t tokens[2];
	char *s;

	ring_desc_init(&d);
	spec_instance(&x, tokens);
	memset(&y, 0, sizeof(y));
	y.id = (char *)"ing-0";
	y.state = RING_LEAVING;
	y.read_only = 1;
	y.versions = &v;
	y.nversions = 1;
	ring_desc_set(&d, &x);
	ring_desc_set(&d, &y);
	s = dump(ring_desc_json(&d), JSON_COMPACT);
	CHECK_STR(s, "{\"ingesters\":{\"ing-0\":{\"state\":1,\"read_only\":true,"
	    "\"versions\":{\"7\":42}},\"ing-1\":{\"addr\":\"10.0.0.1:9095\","
	    "\"timestamp\":1700000000,\"tokens\":[1,300],\"zone\":\"z1\"}}}");
	free(s);
	ring_desc_free(&d);
	s = dump(ring_desc_json(&d), JSON_INDENT(4));
	CHECK_STR(s, "{\n    \"ingesters\": {}\n}");
	free(s);
}

static void
unmarshal_tolerance_and_errors(void)
{
	struct ring_desc d;
	struct err e;
	size_t n;
	uint8_t *x;

	/* unpacked tokens, no id (old writers), an unknown field 99, a state */
	x = unit_hex("0a14 0a0161 120f 1002 1801 3005 3003 9806 07 3a00 6a00", &n);
	CHECK_INT(ring_desc_unmarshal(&d, x, n, &e), 0);
	CHECK_INT(d.n, 1);
	CHECK_STR(d.inst[0].id, "a");
	CHECK_INT(d.inst[0].state, RING_LEAVING);
	CHECK_INT(d.inst[0].ntokens, 2);
	CHECK_INT(d.inst[0].tokens[0], 5);
	ring_desc_free(&d);
	free(x);
	/*
	 * unknown fields of every wire type (the reserved Desc field 2, fixed64,
	 * fixed32, a group) are skipped; the versions map is read
	 */
	x = unit_hex("1200 0a1d 0a0161 1218 62040807 1009 690102030405060708 7501020304 7b08017c",
	    &n);
	CHECK_INT(ring_desc_unmarshal(&d, x, n, &e), 0);
	CHECK_INT(d.n, 1);
	CHECK_STR(d.inst[0].id, "a");
	CHECK_INT(d.inst[0].nversions, 1);
	CHECK_U64(d.inst[0].versions[0].component, 7);
	CHECK_U64(d.inst[0].versions[0].version, 9);
	ring_desc_free(&d);
	free(x);
	/* an entry without a key: ID ""; the key is written back even when empty */
	x = unit_hex("0a04 1202 1005", &n);
	CHECK_INT(ring_desc_unmarshal(&d, x, n, &e), 0);
	CHECK_INT(d.n, 1);
	CHECK_STR(d.inst[0].id, "");
	CHECK_INT(d.inst[0].timestamp, 5);
	{
		struct buf b = { 0 };
		size_t wn;
		uint8_t *want = unit_hex("0a06 0a00 1202 1005", &wn);

		ring_desc_marshal(&d, &b);
		CHECK_MEM(b.p, b.len, want, wn);
		buf_free(&b);
		free(want);
	}
	ring_desc_free(&d);
	free(x);
	/* an entry's length runs past the end */
	x = unit_hex("0a10 0a0161", &n);
	CHECK_INT(ring_desc_unmarshal(&d, x, n, &e), -1);
	free(x);
	/* addr with the varint wire type */
	x = unit_hex("0a06 0a0161 1202 0801", &n);
	CHECK_INT(ring_desc_unmarshal(&d, x, n, &e), -1);
	free(x);
	/* an unknown state */
	x = unit_hex("0a07 0a0161 1202 1809", &n);
	CHECK_INT(ring_desc_unmarshal(&d, x, n, &e), -1);
	CHECK(strstr(e.msg, "unknown instance state 9") != NULL);
	free(x);
	/* a NUL in a string, an over-long varint, a packed varint cut short */
	x = unit_hex("0a08 0a0161 1203 0a0100", &n);
	CHECK_INT(ring_desc_unmarshal(&d, x, n, &e), -1);
	CHECK(strstr(e.msg, "NUL") != NULL);
	free(x);
	x = unit_hex("0a11 0a0161 120c 10ffffffffffffffffffff01", &n);
	CHECK_INT(ring_desc_unmarshal(&d, x, n, &e), -1);
	free(x);
	x = unit_hex("0a08 0a0161 1203 320180", &n);
	CHECK_INT(ring_desc_unmarshal(&d, x, n, &e), -1);
	free(x);
	/* every cut of the spec vector but the empty one is refused */
	x = unit_hex(SPEC_DESC, &n);
	for (size_t cut = 1; cut < n; cut++) {
		e.msg[0] = '\0';
		CHECK_INT(ring_desc_unmarshal(&d, x, cut, &e), -1);
		CHECK(e.msg[0] != '\0');
	}
	CHECK_INT(ring_desc_unmarshal(&d, x, 0, &e), 0);
	CHECK_INT(d.n, 0);
	free(x);
	CHECK_INT(ring_desc_decode(&d, "\xff\xff\xff\xff\x0f", 5, &e), -1);
	CHECK_STR(e.msg, "ringDesc: 4294967295 bytes decompressed, more than 67108864");
	CHECK_INT(ring_desc_decode(&d, "\x05\xff\xff", 3, &e), -1);
	CHECK_STR(e.msg, "ringDesc: corrupt snappy block");
	CHECK_INT(ring_desc_decode(&d, "\xff", 1, &e), -1);
	CHECK_STR(e.msg, "ringDesc: not a snappy block");
	CHECK_INT(ring_desc_decode(&d, "", 0, &e), 0);
	CHECK_INT(d.n, 0);
}

/* ---- random descriptors ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t
rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

#define NIDS	6
#define NTOK	(12 * NIDS)	/* every token is below this */

static const char *const ids[NIDS] = { "a", "b", "c", "d", "e", "f" };

/*
 * One writer per instance and one update per second, as in a real ring:
 * an instance's content is a function of (id, timestamp), so two replicas
 * never hold different contents under the same heartbeat. shared: IDs
 * compete for 12 tokens (else each ID has its own 12). messy: the tokens
 * stay unsorted with duplicates and LEFT instances keep theirs, as a peer
 * might send them.
 */
static int shared_tokens, messy_tokens;

static void
instance_at(struct ring_instance *x, uint32_t *tokens, size_t id, int64_t ts)
{
	uint64_t h = (id + 1) * 0x100000001b3ull ^ (uint64_t)ts * 0x9e3779b97f4a7c15ull;

	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	memset(x, 0, sizeof(*x));
	x->id = (char *)ids[id];
	x->addr = (char *)(ts & 1 ? "10.0.0.1:9095" : "10.0.0.2:9095");
	x->zone = (char *)"";
	x->timestamp = ts;
	x->state = (enum ring_state)((h >> 7) % 5);
	x->ntokens = x->state == RING_LEFT && !messy_tokens ? 0 : 1 + (h >> 13) % 4;
	for (size_t i = 0; i < x->ntokens; i++)
		tokens[i] = (uint32_t)((h >> (17 + 5 * i)) % 12) + (shared_tokens ? 0 : 12 * (uint32_t)id);
	x->tokens = tokens;
}

/* A replica's state: some updates merged in, as gossip would deliver them. */
static void
random_desc(struct ring_desc *d)
{
	int k = 1 + (int)rnd(6);

	ring_desc_init(d);
	for (int i = 0; i < k; i++) {
		struct ring_instance x;
		struct ring_desc one, change;
		uint32_t tokens[8];

		instance_at(&x, tokens, rnd(NIDS), 1 + rnd(4));
		ring_desc_init(&one);
		ring_desc_set(&one, &x);
		ring_desc_merge(d, &one, 0, 100, &change);
		ring_desc_free(&change);
		ring_desc_free(&one);
	}
}

/*
 * Instances set directly (no merge, so no conflict resolution), normalised
 * unless messy. zero_ts: heartbeats from 0, which dskit reads as "absent"
 * (an instance at 0 spreads only as LEFT, so the laws do not hold for it).
 */
static int zero_ts;

static void
random_raw(struct ring_desc *d)
{
	ring_desc_init(d);
	for (size_t id = 0; id < NIDS; id++) {
		struct ring_instance x;
		uint32_t tokens[8];

		if (rnd(3) == 0)
			continue;
		instance_at(&x, tokens, id, zero_ts ? rnd(5) : 1 + rnd(4));
		ring_desc_set(d, &x);
	}
	if (!messy_tokens)
		ring_desc_normalize(d);
}

static void
merged(struct ring_desc *out, const struct ring_desc *a, const struct ring_desc *b)
{
	struct ring_desc change;

	ring_desc_clone(out, a);
	ring_desc_merge(out, b, 0, 100, &change);
	ring_desc_free(&change);
}

/* Tokens claimed more than once among non-LEFT instances (all instances: left 1). */
static int
tokens_twice(const struct ring_desc *d, int left)
{
	uint8_t seen[NTOK] = { 0 };

	for (size_t i = 0; i < d->n; i++)
		for (size_t t = 0; (left || d->inst[i].state != RING_LEFT) && t < d->inst[i].ntokens; t++)
			if (seen[d->inst[i].tokens[t]]++)
				return 1;
	return 0;
}

/* Equal but for token lists: the last-writer-wins part of the merge. */
static int
equal_but_tokens(const struct ring_desc *a, const struct ring_desc *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		const struct ring_instance *x = &a->inst[i], *y = &b->inst[i];

		if (strcmp(x->id, y->id) != 0 || strcmp(x->addr, y->addr) != 0 ||
		    x->state != y->state || x->timestamp != y->timestamp)
			return 0;
	}
	return 1;
}

/*
 * The merge again, written the plain way from dskit's mergeWithTime, to
 * compare against: per ID over the small ID space, and conflicts by
 * scanning every token value.
 */
static int
model_has(const struct ring_instance *x, uint32_t tok)
{
	for (size_t t = 0; t < x->ntokens; t++)
		if (x->tokens[t] == tok)
			return 1;
	return 0;
}

static void
model_normalize(struct ring_instance *x)
{
	uint32_t out[NTOK];
	size_t n = 0;

	if (x->state == RING_LEFT)
		x->ntokens = 0;
	for (uint32_t tok = 0; tok < NTOK; tok++)
		if (model_has(x, tok))
			out[n++] = tok;
	memcpy(x->tokens, out, n * sizeof(*out));
	x->ntokens = n;
}

static int model_resolutions;

static int
model_merge(struct ring_desc *d, const struct ring_desc *other, int local_cas, int64_t now,
    struct ring_desc *change)
{
	int upd[NIDS] = { 0 }, any = 0, tokens_changed = 0, count[NTOK] = { 0 }, conflict = 0;

	ring_desc_init(change);

	for (size_t id = 0; id < NIDS; id++) {
		const struct ring_instance *oo = ring_desc_find(other, ids[id]);
		struct ring_instance *t = ring_desc_find(d, ids[id]), o;
		int64_t tts = t != NULL ? t->timestamp : 0;
		int tstate = t != NULL ? (int)t->state : RING_ACTIVE;
		uint32_t tokens[NTOK];

		if (oo == NULL) {
			if (local_cas && t != NULL && t->state != RING_LEFT) {
				t->state = RING_LEFT;
				t->ntokens = 0;
				t->timestamp = now;
				upd[id] = any = 1;
			}
			continue;
		}
		o = *oo;
		if (oo->ntokens > 0)
			memcpy(tokens, oo->tokens, oo->ntokens * sizeof(*tokens));
		o.tokens = tokens;
		model_normalize(&o);
		if (o.timestamp > tts) {
			size_t tn = t != NULL ? t->ntokens : 0;

			if (tn != o.ntokens || (tn > 0 && memcmp(t->tokens, o.tokens, tn * sizeof(*tokens)) != 0))
				tokens_changed = 1;
		} else if (!(o.timestamp == tts && tstate != RING_LEFT && o.state == RING_LEFT)) {
			continue;
		}
		ring_desc_set(d, &o);
		upd[id] = any = 1;
	}
	if (!any)
		return 0;
	for (size_t i = 0; i < d->n; i++)
		for (size_t t = 0; t < d->inst[i].ntokens; t++)
			if (count[d->inst[i].tokens[t]]++)
				conflict = 1;
	if (tokens_changed && conflict) {
		uint32_t won[NIDS][NTOK];
		size_t nwon[NIDS] = { 0 };

		model_resolutions++;
		for (uint32_t tok = 0; tok < NTOK; tok++) {
			size_t w = NIDS;

			for (size_t i = 0; i < d->n; i++) {
				const struct ring_instance *x = &d->inst[i];

				if (x->state == RING_LEFT || !model_has(x, tok))
					continue;
				if (w == NIDS || (d->inst[w].state == RING_LEAVING) > (x->state == RING_LEAVING) ||
				    ((d->inst[w].state == RING_LEAVING) == (x->state == RING_LEAVING) &&
				    strcmp(x->id, d->inst[w].id) < 0))
					w = i;
			}
			if (w != NIDS)
				won[w][nwon[w]++] = tok;
		}
		for (size_t i = 0; i < d->n; i++) {
			d->inst[i].ntokens = nwon[i];
			if (nwon[i] > 0)
				memcpy(d->inst[i].tokens, won[i], nwon[i] * sizeof(won[i][0]));
		}
	}
	for (size_t id = 0; id < NIDS; id++)
		if (upd[id])
			ring_desc_set(change, ring_desc_find(d, ids[id]));
	return 1;
}

/* ring_desc_merge and the model agree on the state, the change and the answer. */
static void
merge_matches_model(void)
{
	int bad = 0, changed = 0;

	zero_ts = 1;

	for (int i = 0; i < 20000; i++) {
		struct ring_desc a, b, got, want, cgot, cwant;
		int local_cas = (int)rnd(2), rg, rw;

		shared_tokens = rnd(4) != 0;
		messy_tokens = 0;
		if (rnd(2))
			random_raw(&a);
		else
			random_desc(&a);
		messy_tokens = rnd(3) == 0;
		random_raw(&b);
		if (rnd(8) == 0) {
			/* a receiver that is not normalised, or already in conflict */
			ring_desc_free(&a);
			random_raw(&a);
		}
		ring_desc_clone(&got, &a);
		ring_desc_clone(&want, &a);
		rg = ring_desc_merge(&got, &b, local_cas, 50, &cgot);
		rw = model_merge(&want, &b, local_cas, 50, &cwant);
		changed += rg;
		if (rg != rw || !ring_desc_equal(&got, &want) || (rw && !ring_desc_equal(&cgot, &cwant)))
			bad++;
		ring_desc_free(&a);
		ring_desc_free(&b);
		ring_desc_free(&got);
		ring_desc_free(&want);
		ring_desc_free(&cgot);
		ring_desc_free(&cwant);
	}
	CHECK_INT(bad, 0);
	CHECK(changed > 5000);
	CHECK(model_resolutions > 1000);
	messy_tokens = 0;
}

/*
 * The laws, over random replicas. Token conflicts break them in dskit too:
 * resolution takes tokens away without a new heartbeat, so two replicas
 * can keep different token lists under one timestamp. With shared tokens,
 * commutativity and associativity are asserted for everything but the
 * token lists; the exact divergences are counted in the log.
 */
static void
check_laws(int shared)
{
	int bad_idem = 0, bad_comm = 0, bad_assoc = 0, bad_tokens = 0, bad_lww = 0;

	shared_tokens = shared;
	messy_tokens = 0;
	for (int i = 0; i < 3000; i++) {
		struct ring_desc a, b, c, ab, ba, ab_c, bc, a_bc, again, change;

		random_desc(&a);
		random_desc(&b);
		random_desc(&c);
		ring_desc_clone(&again, &a);
		if (ring_desc_merge(&again, &a, 0, 100, &change) != 0 || !ring_desc_equal(&again, &a))
			bad_idem++;
		merged(&ab, &a, &b);
		merged(&ba, &b, &a);
		if (!ring_desc_equal(&ab, &ba))
			bad_comm++;
		if (tokens_twice(&ab, 0))
			bad_tokens++;
		merged(&ab_c, &ab, &c);
		merged(&bc, &b, &c);
		merged(&a_bc, &a, &bc);
		if (!ring_desc_equal(&ab_c, &a_bc))
			bad_assoc++;
		if (!equal_but_tokens(&ab, &ba) || !equal_but_tokens(&ab_c, &a_bc))
			bad_lww++;
		ring_desc_free(&a);
		ring_desc_free(&b);
		ring_desc_free(&c);
		ring_desc_free(&ab);
		ring_desc_free(&ba);
		ring_desc_free(&ab_c);
		ring_desc_free(&bc);
		ring_desc_free(&a_bc);
		ring_desc_free(&again);
	}
	CHECK_INT(bad_idem, 0);
	CHECK_INT(bad_tokens, 0);
	CHECK_INT(bad_lww, 0);
	if (!shared) {
		CHECK_INT(bad_comm, 0);
		CHECK_INT(bad_assoc, 0);
	} else {
		printf("# with shared tokens, of 3000: %d not commutative, %d not associative"
		    " in token lists (as dskit)\n", bad_comm, bad_assoc);
	}
}

static void
merge_laws(void)
{
	check_laws(0);
}

static void
merge_laws_with_token_conflicts(void)
{
	check_laws(1);
}

/*
 * Replicas that agree on every (id, timestamp) and hold no conflict merge
 * commutatively, token lists included, and the result holds no conflict:
 * resolution then depends on the merged set only.
 */
static void
merge_commutes_without_prior_resolution(void)
{
	int bad = 0, bad_tokens = 0, tried = 0;

	shared_tokens = 1;
	messy_tokens = 0;
	for (int i = 0; i < 5000; i++) {
		struct ring_desc a, b, ab, ba;

		random_raw(&a);
		random_raw(&b);
		if (!tokens_twice(&a, 1) && !tokens_twice(&b, 1)) {
			tried++;
			merged(&ab, &a, &b);
			merged(&ba, &b, &a);
			if (!ring_desc_equal(&ab, &ba))
				bad++;
			if (tokens_twice(&ab, 0))
				bad_tokens++;
			ring_desc_free(&ab);
			ring_desc_free(&ba);
		}
		ring_desc_free(&a);
		ring_desc_free(&b);
	}
	CHECK_INT(bad, 0);
	CHECK_INT(bad_tokens, 0);
	CHECK(tried > 500);
}

/*
 * dskit is not associative once tokens conflict: Y loses token 1 to X in
 * a∪b, and X's later heartbeat without the token does not give it back;
 * merged the other way Y never lost it.
 */
static void
merge_not_associative_under_conflicts(void)
{
	struct ring_desc a, b, c, ab, ab_c, bc, a_bc;
	struct ring_instance x;
	uint32_t one[1] = { 1 };

	memset(&x, 0, sizeof(x));
	x.addr = x.zone = (char *)"";
	x.timestamp = 1;
	x.tokens = one;
	x.ntokens = 1;
	ring_desc_init(&a);
	ring_desc_init(&b);
	ring_desc_init(&c);
	x.id = (char *)"y";
	ring_desc_set(&a, &x);
	x.id = (char *)"x";
	ring_desc_set(&b, &x);
	x.timestamp = 2;
	x.ntokens = 0;
	ring_desc_set(&c, &x);
	merged(&ab, &a, &b);
	merged(&ab_c, &ab, &c);
	merged(&bc, &b, &c);
	merged(&a_bc, &a, &bc);
	CHECK_INT(ring_desc_find(&ab_c, "y")->ntokens, 0);
	CHECK_INT(ring_desc_find(&a_bc, "y")->ntokens, 1);
	CHECK(equal_but_tokens(&ab_c, &a_bc));
	ring_desc_free(&a);
	ring_desc_free(&b);
	ring_desc_free(&c);
	ring_desc_free(&ab);
	ring_desc_free(&ab_c);
	ring_desc_free(&bc);
	ring_desc_free(&a_bc);
}

/*
 * Over random replicas: LEFT takes its ID at the newest heartbeat and on
 * a tie, holds no tokens, and remove_tombstones deletes exactly the LEFT
 * instances older than the limit (all with 0).
 */
static void
tombstone_properties(void)
{
	int bad = 0;

	shared_tokens = 1;
	messy_tokens = 0;
	for (int i = 0; i < 5000; i++) {
		struct ring_desc a, b, ab, kept;
		int64_t limit = rnd(6);
		size_t left = 0, removed;

		random_desc(&a);
		messy_tokens = rnd(2);
		random_raw(&b);
		messy_tokens = 0;
		merged(&ab, &a, &b);
		for (size_t id = 0; id < NIDS; id++) {
			const struct ring_instance *x = ring_desc_find(&a, ids[id]);
			const struct ring_instance *y = ring_desc_find(&b, ids[id]);
			const struct ring_instance *m = ring_desc_find(&ab, ids[id]);
			int64_t tx = x ? x->timestamp : 0, ty = y ? y->timestamp : 0;
			int want_left = (x && x->state == RING_LEFT && tx >= ty) ||
			    (y && y->state == RING_LEFT && ty >= tx);

			if ((x || y) && (m == NULL || m->timestamp != (tx > ty ? tx : ty)))
				bad++;
			else if (m && (m->state == RING_LEFT) != want_left)
				bad++;
			else if (m && m->state == RING_LEFT && m->ntokens != 0)
				bad++;
			if (m && m->state == RING_LEFT && (limit == 0 || m->timestamp < limit))
				left++;
		}
		ring_desc_clone(&kept, &ab);
		removed = ring_desc_remove_tombstones(&kept, limit);
		if (removed != left || kept.n != ab.n - left)
			bad++;
		for (size_t k = 0; k < kept.n; k++) {
			const struct ring_instance *m = &kept.inst[k];

			if ((m->state == RING_LEFT && (limit == 0 || m->timestamp < limit)) ||
			    ring_desc_find(&ab, m->id) == NULL)
				bad++;
		}
		ring_desc_free(&a);
		ring_desc_free(&b);
		ring_desc_free(&ab);
		ring_desc_free(&kept);
	}
	CHECK_INT(bad, 0);
}

static int
same_instance(const struct ring_instance *x, const struct ring_instance *y)
{
	struct ring_desc a = { (struct ring_instance *)x, 1 }, b = { (struct ring_instance *)y, 1 };

	return ring_desc_equal(&a, &b);
}

/*
 * Local CAS over random states: what the new state lacks becomes LEFT at
 * now, without tokens, and is part of the change; the change holds the
 * final contents of d; and (own tokens, so no resolution) a replica that
 * had d's old state reaches d's new state by merging the change alone.
 */
static void
local_cas_properties(void)
{
	int bad = 0;

	for (int i = 0; i < 5000; i++) {
		struct ring_desc a, b, d, change, replica, c2;
		int local_cas = (int)rnd(2), rc;

		shared_tokens = 0;
		random_desc(&a);
		random_desc(&b);
		ring_desc_clone(&d, &a);
		rc = ring_desc_merge(&d, &b, local_cas, 100, &change);
		for (size_t k = 0; k < a.n; k++) {
			const struct ring_instance *x = &a.inst[k], *m = ring_desc_find(&d, x->id);

			if (ring_desc_find(&b, x->id) != NULL)
				continue;
			if (local_cas && x->state != RING_LEFT) {
				const struct ring_instance *cm = ring_desc_find(&change, x->id);

				if (m->state != RING_LEFT || m->timestamp != 100 || m->ntokens != 0 ||
				    cm == NULL)
					bad++;
			} else if (!same_instance(x, m)) {
				bad++;
			}
		}
		if (rc) {
			for (size_t k = 0; k < change.n; k++) {
				const struct ring_instance *m = ring_desc_find(&d, change.inst[k].id);

				if (m == NULL || !same_instance(&change.inst[k], m))
					bad++;
			}
			ring_desc_clone(&replica, &a);
			ring_desc_merge(&replica, &change, 0, 999, &c2);
			if (!ring_desc_equal(&replica, &d))
				bad++;
			ring_desc_free(&c2);
			ring_desc_free(&replica);
			ring_desc_free(&change);
		} else if (!ring_desc_equal(&d, &a)) {
			bad++;
		}
		ring_desc_free(&a);
		ring_desc_free(&b);
		ring_desc_free(&d);
	}
	CHECK_INT(bad, 0);
}

static void
tombstones(void)
{
	struct ring_desc d, other, change;
	struct ring_instance x;
	uint32_t tokens[2];

	ring_desc_init(&d);
	spec_instance(&x, tokens);
	ring_desc_set(&d, &x);
	/* LEFT wins a tie and loses its tokens */
	x.state = RING_LEFT;
	ring_desc_init(&other);
	ring_desc_set(&other, &x);
	CHECK_INT(ring_desc_merge(&d, &other, 0, 100, &change), 1);
	CHECK_INT(change.n, 1);
	CHECK_INT(d.inst[0].state, RING_LEFT);
	CHECK_INT(d.inst[0].ntokens, 0);
	ring_desc_free(&change);
	/* an ACTIVE update of the same second does not resurrect it */
	x.state = RING_ACTIVE;
	ring_desc_free(&other);
	ring_desc_init(&other);
	ring_desc_set(&other, &x);
	CHECK_INT(ring_desc_merge(&d, &other, 0, 100, &change), 0);
	CHECK_INT(ring_desc_remove_tombstones(&d, 1700000000), 0);
	CHECK_INT(ring_desc_remove_tombstones(&d, 1700000001), 1);
	CHECK_INT(d.n, 0);
	ring_desc_free(&other);
	ring_desc_free(&d);
}

static void
token_conflicts(void)
{
	struct ring_desc d, other, change;
	struct ring_instance x;
	uint32_t t1[2] = { 1, 2 }, t2[2] = { 2, 3 };

	ring_desc_init(&d);
	memset(&x, 0, sizeof(x));
	x.addr = x.zone = (char *)"";
	x.id = (char *)"b";
	x.timestamp = 10;
	x.tokens = t1;
	x.ntokens = 2;
	ring_desc_set(&d, &x);
	ring_desc_init(&other);
	x.id = (char *)"a";
	x.tokens = t2;
	ring_desc_set(&other, &x);
	CHECK_INT(ring_desc_merge(&d, &other, 0, 100, &change), 1);
	/* token 2: the smaller ID wins */
	CHECK_INT(ring_desc_find(&d, "a")->ntokens, 2);
	CHECK_INT(ring_desc_find(&d, "b")->ntokens, 1);
	CHECK_INT(ring_desc_find(&d, "b")->tokens[0], 1);
	ring_desc_free(&change);
	/* a LEAVING owner loses to any other */
	x.state = RING_LEAVING;
	x.timestamp = 11;
	ring_desc_free(&other);
	ring_desc_init(&other);
	ring_desc_set(&other, &x);
	x.id = (char *)"b";
	x.state = RING_ACTIVE;
	x.tokens = t1;
	ring_desc_set(&other, &x);
	CHECK_INT(ring_desc_merge(&d, &other, 0, 100, &change), 1);
	CHECK_INT(ring_desc_find(&d, "a")->ntokens, 1);
	CHECK_INT(ring_desc_find(&d, "a")->tokens[0], 3);
	CHECK_INT(ring_desc_find(&d, "b")->ntokens, 2);
	ring_desc_free(&change);
	ring_desc_free(&other);
	ring_desc_free(&d);
}

/*
 * Corners where dskit's zero InstanceDesc shows: a missing instance reads
 * as ACTIVE at 0, so a LEFT entry at timestamp 0 is taken (a tie LEFT
 * wins) and an ACTIVE one at 0 is not; a new instance without tokens
 * changes no token list, and resolution runs only when a token list
 * changed and some token is listed twice, so an unsorted or conflicting
 * receiver is otherwise left as it is.
 */
static void
merge_edge_cases(void)
{
	struct ring_desc d, other, change;
	struct ring_instance x;
	uint32_t t31[2] = { 3, 1 }, t33[2] = { 3, 3 }, t7[1] = { 7 };

	memset(&x, 0, sizeof(x));
	x.addr = x.zone = (char *)"";
	x.id = (char *)"z";
	ring_desc_init(&d);
	ring_desc_init(&other);
	ring_desc_set(&other, &x);
	CHECK_INT(ring_desc_merge(&d, &other, 0, 100, &change), 0);
	CHECK_INT(d.n, 0);
	ring_desc_free(&change);
	ring_desc_free(&other);
	ring_desc_init(&other);
	x.state = RING_LEFT;
	ring_desc_set(&other, &x);
	CHECK_INT(ring_desc_merge(&d, &other, 0, 100, &change), 1);
	CHECK_INT(d.n, 1);
	CHECK_INT(change.n, 1);
	CHECK_INT(d.inst[0].state, RING_LEFT);
	ring_desc_free(&change);
	ring_desc_free(&other);
	ring_desc_free(&d);

	/* unsorted receiver, a new instance with another token: nothing resolved */
	x.state = RING_ACTIVE;
	x.id = (char *)"a";
	x.timestamp = 1;
	x.tokens = t31;
	x.ntokens = 2;
	ring_desc_init(&d);
	ring_desc_set(&d, &x);
	x.id = (char *)"b";
	x.tokens = t7;
	x.ntokens = 1;
	ring_desc_init(&other);
	ring_desc_set(&other, &x);
	CHECK_INT(ring_desc_merge(&d, &other, 0, 100, &change), 1);
	CHECK_INT(ring_desc_find(&d, "a")->tokens[0], 3);
	ring_desc_free(&change);
	ring_desc_free(&other);
	/* an instance without tokens changes no token list: the duplicate stays */
	x.id = (char *)"c";
	x.ntokens = 0;
	ring_desc_find(&d, "a")->tokens = memcpy(ring_desc_find(&d, "a")->tokens, t33, sizeof(t33));
	ring_desc_init(&other);
	ring_desc_set(&other, &x);
	CHECK_INT(ring_desc_merge(&d, &other, 0, 100, &change), 1);
	CHECK_INT(ring_desc_find(&d, "a")->ntokens, 2);
	ring_desc_free(&change);
	ring_desc_free(&other);
	/* b gets a new token list: resolution runs, lists come out sorted and unique */
	x.id = (char *)"b";
	x.timestamp = 2;
	x.tokens = t31;
	x.ntokens = 2;
	ring_desc_init(&other);
	ring_desc_set(&other, &x);
	CHECK_INT(ring_desc_merge(&d, &other, 0, 100, &change), 1);
	CHECK_INT(ring_desc_find(&d, "a")->ntokens, 1);
	CHECK_INT(ring_desc_find(&d, "a")->tokens[0], 3);
	CHECK_INT(ring_desc_find(&d, "b")->ntokens, 1);
	CHECK_INT(ring_desc_find(&d, "b")->tokens[0], 1);
	CHECK_INT(change.n, 1);
	CHECK_INT(change.inst[0].ntokens, 1);
	ring_desc_free(&change);
	ring_desc_free(&other);
	ring_desc_free(&d);
}

/* A local CAS gives the whole new state: what it lacks becomes LEFT, now. */
static void
local_cas_marks_missing_left(void)
{
	struct ring_desc d, other, change;
	struct ring_instance x;
	uint32_t tokens[2];

	ring_desc_init(&d);
	spec_instance(&x, tokens);
	ring_desc_set(&d, &x);
	x.id = (char *)"ing-2";
	ring_desc_set(&d, &x);
	ring_desc_init(&other);
	x.timestamp++;
	ring_desc_set(&other, &x);	/* only ing-2, with a new heartbeat */
	CHECK_INT(ring_desc_merge(&d, &other, 1, 1800000000, &change), 1);
	CHECK_INT(change.n, 2);
	CHECK_INT(ring_desc_find(&d, "ing-1")->state, RING_LEFT);
	CHECK_INT(ring_desc_find(&d, "ing-1")->timestamp, 1800000000);
	CHECK_INT(ring_desc_find(&d, "ing-1")->ntokens, 0);
	ring_desc_free(&change);
	/* the same merge without local CAS leaves ing-1 alone */
	CHECK_INT(ring_desc_merge(&d, &other, 0, 1800000001, &change), 0);
	ring_desc_free(&other);
	ring_desc_free(&d);
}

UNIT_CASES(
	UNIT_CASE(marshal_as_gogo),
	UNIT_CASE(json_as_go),
	UNIT_CASE(unmarshal_tolerance_and_errors),
	UNIT_CASE(merge_matches_model),
	UNIT_CASE(merge_laws),
	UNIT_CASE(merge_laws_with_token_conflicts),
	UNIT_CASE(merge_commutes_without_prior_resolution),
	UNIT_CASE(merge_not_associative_under_conflicts),
	UNIT_CASE(tombstone_properties),
	UNIT_CASE(local_cas_properties),
	UNIT_CASE(tombstones),
	UNIT_CASE(token_conflicts),
	UNIT_CASE(merge_edge_cases),
	UNIT_CASE(local_cas_marks_missing_left),
);
