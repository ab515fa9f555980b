/*
 * ring — dskit's ring.Ring over a snapshot of the descriptor: one sorted
 * array of every token with the instance that owns it, binary-searched for
 * the first token past a key and walked clockwise (specs/ring-kv.md §13-14;
 * dskit ring/ring.go, ring/replication_strategy.go, ring/util.go).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/xmalloc.h"
#include "lib/ring/ring.h"

#define TOKEN_SPACE	4294967296.0	/* 2^32 */
#define BITMAP_AFTER	32		/* distinct-instance check: linear scan up to this many */

struct ring {
	struct ring_desc desc;		/* kept instances, sorted by id */
	int		 rf;
	int64_t		 timeout_ms;
	int		 zone_awareness;
	uint32_t	*tokens;	/* every token, sorted; one entry per holder */
	uint32_t	*owner;		/* index into desc.inst of tokens[i]'s owner */
	size_t		 ntokens;
	const char	**zones;	/* distinct zones, sorted (point into desc) */
	size_t		 nzones;
	uint32_t	*zone_of;	/* per instance: its index in zones */
	int		*zone_total;	/* per zone: its instances, with or without tokens */
};

static const char *const state_names[] = {
	[RING_ACTIVE] = "ACTIVE",
	[RING_LEAVING] = "LEAVING",
	[RING_PENDING] = "PENDING",
	[RING_JOINING] = "JOINING",
	[RING_LEFT] = "LEFT",
};

const char *
ring_state_name(enum ring_state s)
{
	if ((unsigned)s < sizeof(state_names) / sizeof(state_names[0]))
		return state_names[s];
	return "UNKNOWN";
}

int
ring_state_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (strcmp(s, state_names[i]) == 0)
			return (int)i;
	return -1;
}

/* Operation.IsInstanceInStateHealthy. */
static int
state_healthy(enum ring_op op, enum ring_state s)
{
	switch (op) {
	case RING_OP_WRITE:
	case RING_OP_WRITE_NO_EXTEND:
		return s == RING_ACTIVE;
	case RING_OP_READ:
		return s == RING_ACTIVE || s == RING_PENDING || s == RING_LEAVING;
	case RING_OP_REPORTING:
		return 1;
	}
	return 0;
}

/* Operation.ShouldExtendReplicaSetOnState. */
static int
state_extends(enum ring_op op, enum ring_state s)
{
	switch (op) {
	case RING_OP_WRITE:
		return s != RING_ACTIVE;
	case RING_OP_READ:
		return s != RING_ACTIVE && s != RING_LEAVING;
	case RING_OP_WRITE_NO_EXTEND:
	case RING_OP_REPORTING:
		return 0;
	}
	return 0;
}

static int64_t
saturate(__int128 v)
{
	if (v > INT64_MAX)
		return INT64_MAX;
	if (v < INT64_MIN)
		return INT64_MIN;
	return (int64_t)v;
}

/* now.Sub(time.Unix(ts, 0)) <= timeout, in Go's saturating nanoseconds. */
static int
heartbeat_healthy(int64_t timestamp, int64_t now_ms, int64_t timeout_ms)
{
	__int128 since;

	if (timeout_ms == 0)
		return 1;
	since = (__int128)now_ms * 1000000 - (__int128)timestamp * 1000000000;
	return saturate(since) <= saturate((__int128)timeout_ms * 1000000);
}

int
ring_instance_healthy(const struct ring_instance *x, enum ring_op op, int64_t now_ms,
    int64_t heartbeat_timeout_ms)
{
	return state_healthy(op, x->state) &&
	    heartbeat_healthy(x->timestamp, now_ms, heartbeat_timeout_ms);
}

/*
 * The owner of each entry of sorted_tokens: for a token value held by
 * several instances, the last of them by index (the one dskit's token map
 * would keep if it were filled in ID order).
 */
static void
token_owners(const uint64_t *k, size_t n, uint32_t *owner)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j + 1 < n && k[j + 1] >> 32 == k[i] >> 32)
			j++;
		for (size_t m = i; m <= j; m++)
			owner[m] = (uint32_t)k[j];
		i = j + 1;
	}
}

static int
cmp_str_ptr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Binary search in a sorted, de-duplicated zone list; -1 when absent. */
static long
zone_index(const char **zones, size_t n, const char *zone)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(zones[mid], zone);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/*
 * The distinct zones of d's instances (with skip_left, of the non-LEFT
 * ones), sorted, and each instance's index among them.
 */
static size_t
collect_zones(const struct ring_desc *d, int skip_left, const char ***zonesp,
    uint32_t *zone_of)
{
	const char **zones;
	size_t n = 0, u = 0;

	*zonesp = NULL;
	if (d->n == 0)
		return 0;
	zones = xreallocarray(NULL, d->n, sizeof(*zones));
	for (size_t i = 0; i < d->n; i++)
		if (!skip_left || d->inst[i].state != RING_LEFT)
			zones[n++] = d->inst[i].zone != NULL ? d->inst[i].zone : "";
	qsort(zones, n, sizeof(*zones), cmp_str_ptr);
	for (size_t i = 0; i < n; i++)
		if (u == 0 || strcmp(zones[u - 1], zones[i]) != 0)
			zones[u++] = zones[i];
	for (size_t i = 0; i < d->n; i++)
		if (!skip_left || d->inst[i].state != RING_LEFT)
			zone_of[i] = (uint32_t)zone_index(zones, u,
			    d->inst[i].zone != NULL ? d->inst[i].zone : "");
	*zonesp = zones;
	return u;
}

/* dskit's StringSliceCSV: split on commas, nothing trimmed; "" is no zone at all. */
static int
zone_excluded(const char *list, const char *zone)
{
	size_t zlen = strlen(zone);

	if (list == NULL || *list == '\0')
		return 0;
	for (const char *p = list;;) {
		const char *c = strchr(p, ',');
		size_t len = c != NULL ? (size_t)(c - p) : strlen(p);

		if (len == zlen && memcmp(p, zone, len) == 0)
			return 1;
		if (c == NULL)
			return 0;
		p = c + 1;
	}
}

struct ring *
ring_new(const struct ring_desc *desc, const struct ring_config *cfg)
{
	struct ring *r = xcalloc(1, sizeof(*r));
	struct ring_desc view = { NULL, 0 };
	uint64_t *k;

	r->rf = cfg->replication_factor < 1 ? 1 : cfg->replication_factor;
	r->timeout_ms = cfg->heartbeat_timeout_ms;
	r->zone_awareness = cfg->zone_awareness != 0;

	/* The kept instances, shallow, then one deep copy. */
	if (desc != NULL && desc->n > 0) {
		view.inst = xreallocarray(NULL, desc->n, sizeof(*view.inst));
		for (size_t i = 0; i < desc->n; i++) {
			const struct ring_instance *x = &desc->inst[i];

			if (x->state == RING_LEFT ||
			    zone_excluded(cfg->excluded_zones, x->zone != NULL ? x->zone : ""))
				continue;
			view.inst[view.n++] = *x;
		}
	}
	ring_desc_clone(&r->desc, &view);
	free(view.inst);

	k = ring_desc_sorted_tokens(&r->desc, 0, &r->ntokens);
	if (r->ntokens > 0) {
		r->tokens = xreallocarray(NULL, r->ntokens, sizeof(*r->tokens));
		r->owner = xreallocarray(NULL, r->ntokens, sizeof(*r->owner));
		for (size_t i = 0; i < r->ntokens; i++)
			r->tokens[i] = (uint32_t)(k[i] >> 32);
		token_owners(k, r->ntokens, r->owner);
		free(k);
	}
	r->zone_of = r->desc.n ? xcalloc(r->desc.n, sizeof(*r->zone_of)) : NULL;
	r->nzones = collect_zones(&r->desc, 0, &r->zones, r->zone_of);
	r->zone_total = r->nzones ? xcalloc(r->nzones, sizeof(*r->zone_total)) : NULL;
	for (size_t i = 0; i < r->desc.n; i++)
		r->zone_total[r->zone_of[i]]++;
	return r;
}

void
ring_free(struct ring *r)
{
	if (r == NULL)
		return;
	ring_desc_free(&r->desc);
	free(r->tokens);
	free(r->owner);
	free(r->zones);
	free(r->zone_of);
	free(r->zone_total);
	free(r);
}

const struct ring_desc *
ring_desc_of(const struct ring *r)
{
	return &r->desc;
}

void
ring_replication_set_free(struct ring_replication_set *s)
{
	free(s->inst);
	memset(s, 0, sizeof(*s));
}

static void
set_push(struct ring_replication_set *s, const struct ring_instance *x)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->inst = xreallocarray(s->inst, s->cap, sizeof(*s->inst));
	}
	s->inst[s->n++] = x;
}

static void
set_clear(struct ring_replication_set *s)
{
	s->n = 0;
	s->max_errors = 0;
	s->max_unavailable_zones = 0;
}

/* Index of the first token strictly greater than key, wrapping to 0 (searchToken). */
static size_t
search_token(const uint32_t *tokens, size_t n, uint32_t key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (tokens[mid] <= key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n ? lo : 0;
}

/* canStopLooking: every zone has its target or had all its instances examined. */
static int
can_stop(const struct ring *r, const int *found, const int *examined, int target)
{
	for (size_t z = 0; z < r->nzones; z++)
		if (found[z] < target && examined[z] < r->zone_total[z])
			return 0;
	return 1;
}

/* Whether instance idx is in the first n of out (a bitmap past BITMAP_AFTER). */
static int
seen(const struct ring *r, const struct ring_replication_set *out, const uint8_t *bits,
    uint32_t idx)
{
	const struct ring_instance *x = &r->desc.inst[idx];

	if (bits != NULL)
		return bits[idx / 8] >> (idx % 8) & 1;
	for (size_t i = 0; i < out->n; i++)
		if (out->inst[i] == x)
			return 1;
	return 0;
}

/*
 * findInstancesForKey: distinct instances clockwise from key until the
 * replica set (RF, plus one per instance whose state extends it) is
 * complete, every zone has its one, or every token was visited.
 */
static void
find_instances(const struct ring *r, uint32_t key, enum ring_op op,
    struct ring_replication_set *out)
{
	int zbuf[2 * 8], *found = NULL, *examined = NULL;
	/*
	 * dskit's targetHostsPerZone, max(1, replicationFactor / maxZones):
	 * both are the configured RF here, so one instance per zone.
	 */
	const int target = 1;
	size_t want = (size_t)r->rf, iterations = 0;
	size_t i = search_token(r->tokens, r->ntokens, key);
	uint8_t *bits = NULL;

	if (r->zone_awareness) {
		int *z = r->nzones <= 8 ? zbuf : xcalloc(2 * r->nzones, sizeof(*z));

		memset(z, 0, 2 * r->nzones * sizeof(*z));
		found = z;
		examined = z + r->nzones;
	}
	for (; out->n < (r->desc.n < want ? r->desc.n : want) && iterations < r->ntokens; i++) {
		const struct ring_instance *x;
		uint32_t idx, z;
		int zoned;

		if (r->zone_awareness && can_stop(r, found, examined, target))
			break;
		iterations++;
		if (i >= r->ntokens)
			i = 0;
		idx = r->owner[i];
		if (seen(r, out, bits, idx))
			continue;
		x = &r->desc.inst[idx];
		z = r->zone_of[idx];
		zoned = r->zone_awareness && x->zone[0] != '\0';
		if (zoned) {
			if (found[z] >= target)
				continue;
			examined[z]++;
		}
		set_push(out, x);
		if (bits != NULL) {
			bits[idx / 8] |= (uint8_t)(1u << (idx % 8));
		} else if (out->n > BITMAP_AFTER) {
			bits = xcalloc(r->desc.n / 8 + 1, 1);
			for (size_t j = 0; j < out->n; j++) {
				size_t b = (size_t)(out->inst[j] - r->desc.inst);

				bits[b / 8] |= (uint8_t)(1u << (b % 8));
			}
		}
		if (state_extends(op, x->state))
			want++;
		else if (zoned)
			found[z]++;
	}
	free(bits);
	if (found != NULL && found != zbuf)
		free(found);
}

/* " - unhealthy instances: a,b" as dskit appends it, cut to fit. */
static void
unhealthy_list(char *buf, size_t size, const struct ring_instance **bad, size_t n)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && off < size; i++) {
		int w = snprintf(buf + off, size - off, "%s%s",
		    i == 0 ? " - unhealthy instances: " : ",", bad[i]->addr);

		if (w < 0)
			break;
		off += (size_t)w;
	}
}

int
ring_get(const struct ring *r, uint32_t key, enum ring_op op, int64_t now_ms,
    struct ring_replication_set *out, struct err *e)
{
	const struct ring_instance *badbuf[8], **bad = badbuf;
	size_t nbad = 0, nok = 0;
	int quorum;

	set_clear(out);
	if (r->ntokens == 0)
		return err_set(e, "empty ring");
	find_instances(r, key, op, out);

	/* defaultReplicationStrategy.Filter. */
	quorum = ((int)out->n > r->rf ? (int)out->n : r->rf) / 2 + 1;
	if (out->n > sizeof(badbuf) / sizeof(badbuf[0]))
		bad = xreallocarray(NULL, out->n, sizeof(*bad));
	for (size_t i = 0; i < out->n; i++) {
		const struct ring_instance *x = out->inst[i];

		if (ring_instance_healthy(x, op, now_ms, r->timeout_ms))
			out->inst[nok++] = x;
		else
			bad[nbad++] = x;
	}
	out->n = nok;
	if ((int)nok < quorum) {
		char list[320];

		unhealthy_list(list, sizeof(list), bad, nbad);
		if (bad != badbuf)
			free(bad);
		out->n = 0;
		if (r->zone_awareness)
			return err_set(e, "at least %d live replicas required across different "
			    "availability zones, could only find %zu%s", quorum, nok, list);
		return err_set(e, "at least %d live replicas required, could only find %zu%s",
		    quorum, nok, list);
	}
	if (bad != badbuf)
		free(bad);
	out->max_errors = (int)nok - quorum;
	return 0;
}

int
ring_replication_set_for_op(const struct ring *r, enum ring_op op, int64_t now_ms,
    struct ring_replication_set *out, struct err *e)
{
	unsigned char *failed = NULL;
	size_t nfailed = 0;

	set_clear(out);
	if (r->ntokens == 0)
		return err_set(e, "empty ring");
	if (r->nzones)
		failed = xcalloc(r->nzones, 1);
	for (size_t i = 0; i < r->desc.n; i++) {
		const struct ring_instance *x = &r->desc.inst[i];

		if (ring_instance_healthy(x, op, now_ms, r->timeout_ms)) {
			set_push(out, x);
		} else if (!failed[r->zone_of[i]]) {
			failed[r->zone_of[i]] = 1;
			nfailed++;
		}
	}
	if (r->zone_awareness) {
		/* RF/2 failing zones tolerated, of at most RF replicated zones. */
		size_t nrepl = r->nzones < (size_t)r->rf ? r->nzones : (size_t)r->rf;
		int max_unavailable = (int)(nrepl / 2 + 1) - 1;

		if ((int)nfailed > max_unavailable) {
			free(failed);
			set_clear(out);
			return err_set(e, "too many unhealthy instances in the ring");
		}
		if (nfailed > 0) {
			size_t k = 0;

			for (size_t i = 0; i < out->n; i++) {
				size_t idx = (size_t)(out->inst[i] - r->desc.inst);

				if (!failed[r->zone_of[idx]])
					out->inst[k++] = out->inst[i];
			}
			out->n = k;
		}
		out->max_unavailable_zones = max_unavailable - (int)nfailed;
	} else {
		size_t required = r->desc.n > (size_t)r->rf ? r->desc.n : (size_t)r->rf;

		required -= (size_t)r->rf / 2;
		if (out->n < required) {
			free(failed);
			set_clear(out);
			return err_set(e, "too many unhealthy instances in the ring");
		}
		out->max_errors = (int)(out->n - required);
	}
	free(failed);
	return 0;
}

/* tokenDistance: from a token to itself is the whole ring. */
static uint64_t
token_distance(uint32_t from, uint32_t to)
{
	if (from < to)
		return (uint64_t)(to - from);
	return (uint64_t)UINT32_MAX - from + to + 1;
}

void
ring_ownership(const struct ring_desc *d, int zone_awareness, double *out)
{
	uint32_t *owner, *zone_of, *gtok, *gown;
	const char **zones = NULL;
	size_t n, ngroups = 1, *end;
	uint64_t *k, *owned;

	for (size_t i = 0; i < d->n; i++)
		out[i] = 0;
	if (d->n == 0)
		return;
	k = ring_desc_sorted_tokens(d, 1, &n);
	if (n == 0)
		return;
	owner = xreallocarray(NULL, n, sizeof(*owner));
	token_owners(k, n, owner);
	zone_of = xcalloc(d->n, sizeof(*zone_of));
	if (zone_awareness)
		ngroups = collect_zones(d, 1, &zones, zone_of);

	/*
	 * A stable counting sort by the holder's zone keeps each zone's tokens
	 * sorted. The range goes to the token's ring-wide owner, as dskit's
	 * token map gives it, even when that one is of another zone.
	 */
	end = xcalloc(ngroups + 1, sizeof(*end));
	gtok = xreallocarray(NULL, n, sizeof(*gtok));
	gown = xreallocarray(NULL, n, sizeof(*gown));
	for (size_t i = 0; i < n; i++)
		end[zone_of[(uint32_t)k[i]] + 1]++;
	for (size_t g = 0; g < ngroups; g++)
		end[g + 1] += end[g];
	for (size_t i = 0; i < n; i++) {
		size_t at = end[zone_of[(uint32_t)k[i]]]++;

		gtok[at] = (uint32_t)(k[i] >> 32);
		gown[at] = owner[i];
	}
	/* end[g] is now where group g ends (and g + 1 begins). */
	owned = xcalloc(d->n, sizeof(*owned));
	for (size_t g = 0, b = 0; g < ngroups; b = end[g], g++) {
		for (size_t i = b; i < end[g]; i++) {
			uint32_t prev = i == b ? gtok[end[g] - 1] : gtok[i - 1];

			owned[gown[i]] += token_distance(prev, gtok[i]);
		}
	}
	for (size_t i = 0; i < d->n; i++)
		out[i] = (double)owned[i] / (double)UINT32_MAX;
	free(owned);
	free(end);
	free(gtok);
	free(gown);
	free(zones);
	free(zone_of);
	free(owner);
	free(k);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
taken(const uint32_t *v, size_t n, uint32_t t)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid] == t)
			return 1;
		if (v[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

size_t
ring_generate_tokens(const struct ring_desc *d, const uint32_t *own, size_t nown,
    uint32_t *out, size_t n)
{
	uint32_t *used, *set;
	unsigned char *full;
	size_t nused = nown, u = 0, cap = 16, got = 0;
	double room;

	if (d != NULL)
		for (size_t i = 0; i < d->n; i++)
			nused += d->inst[i].ntokens;
	used = xreallocarray(NULL, nused ? nused : 1, sizeof(*used));
	if (nown)
		memcpy(used, own, nown * sizeof(*own));
	nused = nown;
	if (d != NULL)
		for (size_t i = 0; i < d->n; i++)
			for (size_t j = 0; j < d->inst[i].ntokens; j++)
				used[nused++] = d->inst[i].tokens[j];
	qsort(used, nused, sizeof(*used), cmp_u32);
	for (size_t i = 0; i < nused; i++)
		if (u == 0 || used[u - 1] != used[i])
			used[u++] = used[i];
	nused = u;
	room = TOKEN_SPACE - (double)nused;
	if ((double)n > room)
		n = (size_t)room;

	/* The tokens drawn so far, by open addressing. */
	while (cap < 2 * n)
		cap *= 2;
	set = xreallocarray(NULL, cap, sizeof(*set));
	full = xcalloc(cap, 1);
	while (got < n) {
		uint32_t t = arc4random();
		size_t h = (size_t)(t * 2654435761u) & (cap - 1);

		if (taken(used, nused, t))
			continue;
		while (full[h] && set[h] != t)
			h = (h + 1) & (cap - 1);
		if (full[h])
			continue;
		full[h] = 1;
		set[h] = t;
		out[got++] = t;
	}
	qsort(out, got, sizeof(*out), cmp_u32);
	free(full);
	free(set);
	free(used);
	return got;
}

/* Cortex's HashAdd32: FNV-1 (multiply, then xor) over the bytes of s. */
static uint32_t
hash_add32(uint32_t h, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h *= 16777619u;
		h ^= (unsigned char)p[i];
	}
	return h;
}

uint32_t
ring_token_for_series(const char *tenant, const struct labels *ls)
{
	uint32_t h = hash_add32(2166136261u, tenant, strlen(tenant));

	for (size_t i = 0; i < ls->n; i++) {
		if (ls->v[i].value.len == 0)
			continue;
		h = hash_add32(h, ls->v[i].name.p, ls->v[i].name.len);
		h = hash_add32(h, ls->v[i].value.p, ls->v[i].value.len);
	}
	return h;
}

uint32_t
ring_token_for_metric(const char *tenant, const char *name, size_t len)
{
	return hash_add32(hash_add32(2166136261u, tenant, strlen(tenant)), name, len);
}
