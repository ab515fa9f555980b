/*
 * ring: dskit's Ring.Get, GetReplicationSetForOperation, CountTokens and
 * the random token generator on hand-built rings with answers worked out
 * by hand (specs/ring-kv.md §13-14), Cortex's shardByAllLabels token, edge
 * cases (empty ring, instances without tokens, tokens held twice,
 * heartbeats in the future), and a property test of ring_get against a
 * naive model written separately below.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ring/ring.h"
#include "test/unit/unit.h"

#define NOW	1700000000LL		/* seconds */
#define NOW_MS	(NOW * 1000)
#define MINUTE	60000

struct spec {
	const char	*id;
	const char	*zone;
	enum ring_state	 state;
	int64_t		 age;		/* seconds before NOW of the heartbeat */
	uint32_t	 tokens[8];	/* 0-terminated, unless ntok says otherwise */
	int		 ntok;		/* -1: count to the first 0 */
};

/* A descriptor from specs; addr is "<id>:9095". */
static void
build(struct ring_desc *d, const struct spec *s, size_t n)
{
	ring_desc_init(d);
	for (size_t i = 0; i < n; i++) {
		struct ring_instance x;
		char addr[64];
		size_t nt = 0;

		memset(&x, 0, sizeof(x));
		snprintf(addr, sizeof(addr), "%s:9095", s[i].id);
		x.id = (char *)s[i].id;
		x.addr = addr;
		x.zone = (char *)(s[i].zone != NULL ? s[i].zone : "");
		x.state = s[i].state;
		x.timestamp = NOW - s[i].age;
		if (s[i].ntok >= 0)
			nt = (size_t)s[i].ntok;
		else
			while (nt < 8 && s[i].tokens[nt] != 0)
				nt++;
		x.tokens = (uint32_t *)s[i].tokens;
		x.ntokens = nt;
		ring_desc_set(d, &x);
	}
}

static struct ring *
ring_of(const struct spec *s, size_t n, int rf, int za, const char *excluded)
{
	struct ring_config cfg = { rf, MINUTE, za, excluded };
	struct ring_desc d;
	struct ring *r;

	build(&d, s, n);
	r = ring_new(&d, &cfg);
	ring_desc_free(&d);
	return r;
}

/* The IDs of a set, comma-separated, into a static buffer. */
static const char *
ids(const struct ring_replication_set *s)
{
	static char buf[1024];
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < s->n && off < sizeof(buf); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? "," : "",
		    s->inst[i]->id);
	return buf;
}

/* ring_get's IDs, or "ERR: message". */
static const char *
get(const struct ring *r, uint32_t key, enum ring_op op, int *max_errors)
{
	static char buf[1100];
	struct ring_replication_set s = { 0 };
	struct err e;

	if (ring_get(r, key, op, NOW_MS, &s, &e) != 0) {
		snprintf(buf, sizeof(buf), "ERR: %s", e.msg);
		CHECK_INT(s.n, 0);
	} else {
		snprintf(buf, sizeof(buf), "%s", ids(&s));
	}
	if (max_errors != NULL)
		*max_errors = s.max_errors;
	ring_replication_set_free(&s);
	return buf;
}

static const char *
for_op(const struct ring *r, enum ring_op op, int *max_errors, int *max_zones)
{
	static char buf[1100];
	struct ring_replication_set s = { 0 };
	struct err e;

	if (ring_replication_set_for_op(r, op, NOW_MS, &s, &e) != 0)
		snprintf(buf, sizeof(buf), "ERR: %s", e.msg);
	else
		snprintf(buf, sizeof(buf), "%s", ids(&s));
	*max_errors = s.max_errors;
	*max_zones = s.max_unavailable_zones;
	ring_replication_set_free(&s);
	return buf;
}

/* Three instances, two tokens each: A 100,400  B 200,500  C 300,600. */
static const struct spec three[] = {
	{ "A", NULL, RING_ACTIVE, 0, { 100, 400 }, -1 },
	{ "B", NULL, RING_ACTIVE, 0, { 200, 500 }, -1 },
	{ "C", NULL, RING_ACTIVE, 0, { 300, 600 }, -1 },
};

static void
get_rf3_of_3(void)
{
	struct ring *r = ring_of(three, 3, 3, 0, NULL);
	int me;

	CHECK_STR(get(r, 150, RING_OP_WRITE, &me), "B,C,A");
	CHECK_INT(me, 1);				/* quorum 2 of 3 */
	CHECK_STR(get(r, 0, RING_OP_WRITE, NULL), "A,B,C");
	CHECK_STR(get(r, 99, RING_OP_WRITE, NULL), "A,B,C");
	/* Strictly greater: a key equal to a token goes to the next one. */
	CHECK_STR(get(r, 200, RING_OP_WRITE, NULL), "C,A,B");
	CHECK_STR(get(r, 599, RING_OP_READ, NULL), "C,A,B");
	/* Past the last token: wrap to the first. */
	CHECK_STR(get(r, 600, RING_OP_WRITE, NULL), "A,B,C");
	CHECK_STR(get(r, UINT32_MAX, RING_OP_WRITE, NULL), "A,B,C");
	CHECK_INT(ring_desc_of(r)->n, 3);
	ring_free(r);
}

/* Five instances, one token each: A 10  B 20  C 30  D 40  E 50. */
static const struct spec five[] = {
	{ "A", NULL, RING_ACTIVE, 0, { 10 }, -1 },
	{ "B", NULL, RING_ACTIVE, 0, { 20 }, -1 },
	{ "C", NULL, RING_ACTIVE, 0, { 30 }, -1 },
	{ "D", NULL, RING_ACTIVE, 0, { 40 }, -1 },
	{ "E", NULL, RING_ACTIVE, 0, { 50 }, -1 },
};

static void
get_rf3_of_5(void)
{
	struct ring *r = ring_of(five, 5, 3, 0, NULL);
	int me;

	CHECK_STR(get(r, 25, RING_OP_WRITE, &me), "C,D,E");
	CHECK_INT(me, 1);
	CHECK_STR(get(r, 45, RING_OP_WRITE, NULL), "E,A,B");
	CHECK_STR(get(r, 50, RING_OP_WRITE, NULL), "A,B,C");
	ring_free(r);
}

static void
get_extends_past_not_active(void)
{
	/* C's state, the operation, the set for key 25 and its max_errors. */
	static const struct {
		enum ring_state	 st;
		enum ring_op	 op;
		const char	*want;
		int		 me;
	} t[] = {
		/* Write: C extends the set to C,D,E,A; C is then filtered out; quorum 3. */
		{ RING_JOINING, RING_OP_WRITE, "D,E,A", 0 },
		{ RING_LEAVING, RING_OP_WRITE, "D,E,A", 0 },
		{ RING_PENDING, RING_OP_WRITE, "D,E,A", 0 },
		/* WriteNoExtend: C,D,E, C filtered; quorum 2 still met. */
		{ RING_JOINING, RING_OP_WRITE_NO_EXTEND, "D,E", 0 },
		{ RING_LEAVING, RING_OP_WRITE_NO_EXTEND, "D,E", 0 },
		{ RING_PENDING, RING_OP_WRITE_NO_EXTEND, "D,E", 0 },
		/* Reporting: every state is healthy, nothing extends. */
		{ RING_JOINING, RING_OP_REPORTING, "C,D,E", 1 },
		{ RING_PENDING, RING_OP_REPORTING, "C,D,E", 1 },
		/* Read: LEAVING neither extends nor is unhealthy. */
		{ RING_LEAVING, RING_OP_READ, "C,D,E", 1 },
		/* Read: PENDING extends and is healthy: 4 instances, quorum 3. */
		{ RING_PENDING, RING_OP_READ, "C,D,E,A", 1 },
		/* Read: JOINING extends and is unhealthy. */
		{ RING_JOINING, RING_OP_READ, "D,E,A", 0 },
	};
	struct spec s[5];
	struct ring *r;
	int me;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memcpy(s, five, sizeof(s));
		s[2].state = t[i].st;
		r = ring_of(s, 5, 3, 0, NULL);
		CHECK_STR(get(r, 25, t[i].op, &me), t[i].want);
		CHECK_INT(me, t[i].me);
		ring_free(r);
	}
	/* Two JOINING in a row: the set grows by two (5 collected, quorum 3). */
	memcpy(s, five, sizeof(s));
	s[2].state = RING_JOINING;
	s[3].state = RING_JOINING;
	r = ring_of(s, 5, 3, 0, NULL);
	CHECK_STR(get(r, 25, RING_OP_WRITE, &me), "E,A,B");
	CHECK_INT(me, 0);
	ring_free(r);
}

static void
get_unhealthy_and_quorum(void)
{
	struct spec s[5];
	struct ring *r;
	int me;

	memcpy(s, five, sizeof(s));
	s[3].age = 61;				/* D: heartbeat older than the minute */
	r = ring_of(s, 5, 3, 0, NULL);
	CHECK_STR(get(r, 25, RING_OP_WRITE, &me), "C,E");
	CHECK_INT(me, 0);
	CHECK_STR(get(r, 25, RING_OP_REPORTING, NULL), "C,E");
	ring_free(r);
	s[3].age = 60;				/* exactly the timeout: healthy */
	r = ring_of(s, 5, 3, 0, NULL);
	CHECK_STR(get(r, 25, RING_OP_WRITE, NULL), "C,D,E");
	ring_free(r);

	s[3].age = 61;
	s[4].age = 3600;
	r = ring_of(s, 5, 3, 0, NULL);
	CHECK_STR(get(r, 25, RING_OP_WRITE, &me), "ERR: at least 2 live replicas required, "
	    "could only find 1 - unhealthy instances: D:9095,E:9095");
	CHECK_INT(me, 0);
	CHECK_STR(get(r, 5, RING_OP_WRITE, NULL), "A,B,C");
	ring_free(r);
}

/* Three zones, two instances each: a1 10 a2 20 b1 30 b2 40 c1 50 c2 60. */
static const struct spec zoned[] = {
	{ "a1", "zone-a", RING_ACTIVE, 0, { 10 }, -1 },
	{ "a2", "zone-a", RING_ACTIVE, 0, { 20 }, -1 },
	{ "b1", "zone-b", RING_ACTIVE, 0, { 30 }, -1 },
	{ "b2", "zone-b", RING_ACTIVE, 0, { 40 }, -1 },
	{ "c1", "zone-c", RING_ACTIVE, 0, { 50 }, -1 },
	{ "c2", "zone-c", RING_ACTIVE, 0, { 60 }, -1 },
};

static void
get_zone_aware(void)
{
	struct spec s[6];
	struct ring *r = ring_of(zoned, 6, 3, 1, NULL);
	int me;

	/* One per zone: a2 is passed over for b1, c2 for a1. */
	CHECK_STR(get(r, 5, RING_OP_WRITE, &me), "a1,b1,c1");
	CHECK_INT(me, 1);
	CHECK_STR(get(r, 35, RING_OP_WRITE, NULL), "b2,c1,a1");
	CHECK_STR(get(r, 55, RING_OP_WRITE, NULL), "c2,a1,b1");
	ring_free(r);
	/* Without zone awareness the same ring takes the next three. */
	r = ring_of(zoned, 6, 3, 0, NULL);
	CHECK_STR(get(r, 5, RING_OP_WRITE, NULL), "a1,a2,b1");
	ring_free(r);

	/* An extending instance does not count for its zone: the extra comes from it. */
	memcpy(s, zoned, sizeof(s));
	s[2].state = RING_JOINING;		/* b1 */
	r = ring_of(s, 6, 3, 1, NULL);
	CHECK_STR(get(r, 25, RING_OP_WRITE, &me), "b2,c1,a1");
	CHECK_INT(me, 0);			/* 4 collected (b1,b2,c1,a1): quorum 3 */
	ring_free(r);

	/* Below quorum, the message names the zones. */
	memcpy(s, zoned, sizeof(s));
	s[0].age = s[1].age = s[2].age = 120;
	r = ring_of(s, 6, 3, 1, NULL);
	CHECK_STR(get(r, 5, RING_OP_WRITE, NULL), "ERR: at least 2 live replicas required "
	    "across different availability zones, could only find 1 - unhealthy instances: "
	    "a1:9095,b1:9095");
	ring_free(r);
}

static void
get_excluded_zones(void)
{
	struct ring *r = ring_of(zoned, 6, 3, 1, "zone-b");
	int me;

	CHECK_INT(ring_desc_of(r)->n, 4);
	/* Two zones left: one each, then every zone has its one. */
	CHECK_STR(get(r, 5, RING_OP_WRITE, &me), "a1,c1");
	CHECK_INT(me, 0);
	ring_free(r);
	/* A list, no trimming (" zone-c" is no zone here). */
	r = ring_of(zoned, 6, 3, 0, "zone-x,zone-b, zone-c");
	CHECK_INT(ring_desc_of(r)->n, 4);
	CHECK_STR(get(r, 25, RING_OP_WRITE, NULL), "c1,c2,a1");
	ring_free(r);
	r = ring_of(zoned, 6, 3, 0, "zone-a,zone-b,zone-c");
	CHECK_INT(ring_desc_of(r)->n, 0);
	CHECK_STR(get(r, 25, RING_OP_WRITE, NULL), "ERR: empty ring");
	ring_free(r);
	/* "" excludes nothing (dskit's StringSliceCSV sets nil). */
	r = ring_of(zoned, 6, 3, 0, "");
	CHECK_INT(ring_desc_of(r)->n, 6);
	ring_free(r);
}

static void
get_edge_cases(void)
{
	struct ring_config cfg = { 3, MINUTE, 0, NULL };
	struct ring_replication_set s = { 0 };
	struct ring *r;
	struct err e;
	int me;

	/* Empty: no descriptor, no instances, instances without tokens. */
	r = ring_new(NULL, &cfg);
	CHECK_INT(ring_get(r, 1, RING_OP_WRITE, NOW_MS, &s, &e), -1);
	CHECK_STR(e.msg, "empty ring");
	CHECK_INT(ring_replication_set_for_op(r, RING_OP_READ, NOW_MS, &s, &e), -1);
	CHECK_STR(e.msg, "empty ring");
	ring_free(r);
	{
		static const struct spec none[] = {
			{ "A", NULL, RING_ACTIVE, 0, { 0 }, 0 },
			{ "B", NULL, RING_JOINING, 0, { 0 }, 0 },
		};

		r = ring_of(none, 2, 3, 0, NULL);
		CHECK_STR(get(r, 1, RING_OP_WRITE, NULL), "ERR: empty ring");
		ring_free(r);
	}
	ring_replication_set_free(&s);

	/* An instance without tokens is counted (the walk goes round) but never found. */
	{
		static const struct spec some[] = {
			{ "A", NULL, RING_ACTIVE, 0, { 100, 300 }, -1 },
			{ "B", NULL, RING_ACTIVE, 0, { 200 }, -1 },
			{ "C", NULL, RING_ACTIVE, 0, { 0 }, 0 },
		};

		r = ring_of(some, 3, 3, 0, NULL);
		CHECK_STR(get(r, 150, RING_OP_WRITE, &me), "B,A");
		CHECK_INT(me, 0);
		ring_free(r);
	}

	/* A token held twice goes to the last holder by ID, visited once per holder. */
	{
		static const struct spec dup[] = {
			{ "A", NULL, RING_ACTIVE, 0, { 100 }, -1 },
			{ "B", NULL, RING_ACTIVE, 0, { 100 }, -1 },
			{ "C", NULL, RING_ACTIVE, 0, { 200 }, -1 },
		};

		r = ring_of(dup, 3, 3, 0, NULL);
		CHECK_STR(get(r, 50, RING_OP_WRITE, &me), "B,C");
		CHECK_INT(me, 0);
		CHECK_STR(get(r, 150, RING_OP_WRITE, NULL), "C,B");
		ring_free(r);
	}

	/* Heartbeats in the future are healthy (now − ts is negative). */
	{
		struct spec f[3];

		memcpy(f, three, sizeof(f));
		f[0].age = -3600;
		f[1].age = -1;
		r = ring_of(f, 3, 3, 0, NULL);
		CHECK_STR(get(r, 150, RING_OP_WRITE, &me), "B,C,A");
		CHECK_INT(me, 1);
		ring_free(r);
	}

	/* RF above the instance count: all of them, quorum from RF. */
	r = ring_of(three, 3, 5, 0, NULL);
	CHECK_STR(get(r, 150, RING_OP_WRITE, &me), "B,C,A");
	CHECK_INT(me, 0);			/* 5/2 + 1 = 3 */
	ring_free(r);
	{
		struct spec f[3];

		memcpy(f, three, sizeof(f));
		f[2].age = 100;
		r = ring_of(f, 3, 5, 0, NULL);
		CHECK_STR(get(r, 150, RING_OP_WRITE, NULL), "ERR: at least 3 live replicas "
		    "required, could only find 2 - unhealthy instances: C:9095");
		ring_free(r);
	}

	/* RF 0 is taken as 1; LEFT instances are left out. */
	r = ring_of(three, 3, 0, 0, NULL);
	CHECK_STR(get(r, 150, RING_OP_WRITE, &me), "B");
	CHECK_INT(me, 0);
	ring_free(r);
	{
		struct spec f[3];

		memcpy(f, three, sizeof(f));
		f[1].state = RING_LEFT;
		r = ring_of(f, 3, 3, 0, NULL);
		CHECK_INT(ring_desc_of(r)->n, 2);
		CHECK_STR(get(r, 150, RING_OP_WRITE, &me), "C,A");
		CHECK_INT(me, 0);
		ring_free(r);
	}

	/* Zone awareness with instances of no zone: they do not count per zone. */
	{
		static const struct spec mix[] = {
			{ "A", "", RING_ACTIVE, 0, { 10 }, -1 },
			{ "B", "", RING_ACTIVE, 0, { 20 }, -1 },
			{ "C", "z", RING_ACTIVE, 0, { 30 }, -1 },
			{ "D", "z", RING_ACTIVE, 0, { 40 }, -1 },
		};

		r = ring_of(mix, 4, 3, 1, NULL);
		CHECK_STR(get(r, 5, RING_OP_WRITE, NULL), "A,B,C");
		CHECK_STR(get(r, 25, RING_OP_WRITE, NULL), "C,A,B");
		ring_free(r);
	}
}

static void
health(void)
{
	struct ring_instance x;

	memset(&x, 0, sizeof(x));
	x.timestamp = NOW;
	x.state = RING_ACTIVE;
	CHECK(ring_instance_healthy(&x, RING_OP_WRITE, NOW_MS + MINUTE, MINUTE));
	CHECK(!ring_instance_healthy(&x, RING_OP_WRITE, NOW_MS + MINUTE + 1, MINUTE));
	CHECK(ring_instance_healthy(&x, RING_OP_WRITE, NOW_MS - 1000000, MINUTE));
	/* Timeout 0: no heartbeat check (Cortex). */
	CHECK(ring_instance_healthy(&x, RING_OP_WRITE, INT64_MAX, 0));
	/* Go's saturating Sub: no overflow at the extremes. */
	x.timestamp = INT64_MIN / 2;
	CHECK(!ring_instance_healthy(&x, RING_OP_WRITE, NOW_MS, MINUTE));
	x.timestamp = INT64_MAX / 2;
	CHECK(ring_instance_healthy(&x, RING_OP_WRITE, NOW_MS, MINUTE));
	x.timestamp = NOW;
	CHECK(ring_instance_healthy(&x, RING_OP_WRITE, INT64_MAX, INT64_MAX));
	CHECK(!ring_instance_healthy(&x, RING_OP_WRITE, INT64_MAX, MINUTE));

	static const struct {
		enum ring_state s;
		int write, read;
	} t[] = {
		{ RING_ACTIVE, 1, 1 }, { RING_LEAVING, 0, 1 }, { RING_PENDING, 0, 1 },
		{ RING_JOINING, 0, 0 }, { RING_LEFT, 0, 0 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		x.state = t[i].s;
		CHECK_INT(ring_instance_healthy(&x, RING_OP_WRITE, NOW_MS, MINUTE), t[i].write);
		CHECK_INT(ring_instance_healthy(&x, RING_OP_WRITE_NO_EXTEND, NOW_MS, MINUTE),
		    t[i].write);
		CHECK_INT(ring_instance_healthy(&x, RING_OP_READ, NOW_MS, MINUTE), t[i].read);
		CHECK_INT(ring_instance_healthy(&x, RING_OP_REPORTING, NOW_MS, MINUTE), 1);
		CHECK_INT(ring_state_parse(ring_state_name(t[i].s)), (int)t[i].s);
	}
	CHECK_STR(ring_state_name(RING_JOINING), "JOINING");
	CHECK_INT(ring_state_parse("active"), -1);
}

static void
set_for_op_without_zones(void)
{
	struct spec s[5];
	struct ring *r;
	int me, mz;

	r = ring_of(five, 5, 3, 0, NULL);
	CHECK_STR(for_op(r, RING_OP_READ, &me, &mz), "A,B,C,D,E");
	CHECK_INT(me, 1);			/* required 5 − 3/2 = 4 */
	CHECK_INT(mz, 0);
	ring_free(r);
	memcpy(s, five, sizeof(s));
	s[1].age = 600;
	r = ring_of(s, 5, 3, 0, NULL);
	CHECK_STR(for_op(r, RING_OP_READ, &me, &mz), "A,C,D,E");
	CHECK_INT(me, 0);
	ring_free(r);
	s[1].state = RING_JOINING;		/* not healthy for Read */
	s[1].age = 0;
	s[3].age = 600;
	r = ring_of(s, 5, 3, 0, NULL);
	CHECK_STR(for_op(r, RING_OP_READ, &me, &mz), "ERR: too many unhealthy instances in the ring");
	/* Reporting ignores the state. */
	CHECK_STR(for_op(r, RING_OP_REPORTING, &me, &mz), "A,B,C,E");
	CHECK_INT(me, 0);
	ring_free(r);
	/* Fewer instances than RF: required RF − RF/2. */
	r = ring_of(three, 2, 3, 0, NULL);
	CHECK_STR(for_op(r, RING_OP_WRITE, &me, &mz), "A,B");
	CHECK_INT(me, 0);
	ring_free(r);
}

static void
set_for_op_with_zones(void)
{
	struct spec s[6];
	struct ring *r;
	int me, mz;

	r = ring_of(zoned, 6, 3, 1, NULL);
	CHECK_STR(for_op(r, RING_OP_READ, &me, &mz), "a1,a2,b1,b2,c1,c2");
	CHECK_INT(me, 0);
	CHECK_INT(mz, 1);			/* min(3, 3)/2 + 1 − 1 */
	ring_free(r);
	/* One unhealthy in zone-b: the whole zone goes, no more zone may fail. */
	memcpy(s, zoned, sizeof(s));
	s[3].age = 600;
	r = ring_of(s, 6, 3, 1, NULL);
	CHECK_STR(for_op(r, RING_OP_READ, &me, &mz), "a1,a2,c1,c2");
	CHECK_INT(me, 0);
	CHECK_INT(mz, 0);
	ring_free(r);
	s[0].state = RING_JOINING;
	r = ring_of(s, 6, 3, 1, NULL);
	CHECK_STR(for_op(r, RING_OP_READ, &me, &mz), "ERR: too many unhealthy instances in the ring");
	ring_free(r);
	/* Two zones with RF 3: min(2, 3)/2 + 1 − 1 = 1 zone may fail. */
	r = ring_of(zoned, 6, 3, 1, "zone-c");
	CHECK_STR(for_op(r, RING_OP_READ, &me, &mz), "a1,a2,b1,b2");
	CHECK_INT(mz, 1);
	ring_free(r);
}

static int
near(double a, double b)
{
	return a - b < 1e-12 && b - a < 1e-12;
}

static void
ownership(void)
{
	/*
	 * A owns the wrap (0xC0000000, 2^32) ∪ [0, 0x40000000]: 2^31; B and C
	 * 2^30 each; D nothing. Shares are over 2^32 − 1 as dskit's page.
	 */
	static const struct spec q[] = {
		{ "A", "z1", RING_ACTIVE, 0, { 0x40000000 }, -1 },
		{ "B", "z1", RING_ACTIVE, 0, { 0x80000000 }, -1 },
		{ "C", "z2", RING_ACTIVE, 0, { 0xC0000000 }, -1 },
		{ "D", "z2", RING_ACTIVE, 0, { 0 }, 0 },
		{ "E", "z2", RING_LEFT, 0, { 0 }, 0 },
	};
	struct ring_desc d;
	double out[5], sum = 0;

	build(&d, q, 5);
	ring_ownership(&d, 0, out);
	CHECK(out[0] == 2147483648.0 / 4294967295.0);
	CHECK(out[1] == 1073741824.0 / 4294967295.0);
	CHECK(out[2] == 1073741824.0 / 4294967295.0);
	CHECK(out[3] == 0 && out[4] == 0);
	for (size_t i = 0; i < 5; i++)
		sum += out[i];
	CHECK(near(sum, 4294967296.0 / 4294967295.0));
	CHECK(near(sum, 1.0 + 2.3283064370807974e-10));

	/* Per zone: C alone owns all of z2; in z1, A owns 3/4 (wrapping), B 1/4. */
	ring_ownership(&d, 1, out);
	CHECK(out[0] == 3221225472.0 / 4294967295.0);
	CHECK(out[1] == 1073741824.0 / 4294967295.0);
	CHECK(out[2] == 4294967296.0 / 4294967295.0);
	CHECK(out[3] == 0 && out[4] == 0);
	ring_desc_free(&d);

	/* Token 0 and the top token: the wrap counts 0 itself. */
	{
		static const struct spec edge[] = {
			{ "A", NULL, RING_ACTIVE, 0, { 0 }, 1 },
			{ "B", NULL, RING_ACTIVE, 0, { 0xFFFFFFFF }, -1 },
		};

		build(&d, edge, 2);
		ring_ownership(&d, 0, out);
		CHECK(out[0] == 1.0 / 4294967295.0);
		CHECK(out[1] == 1.0);
		ring_desc_free(&d);
	}

	/*
	 * A token held by A and B: B (the last by ID) owns it; the second
	 * entry is from 100 to itself, a whole ring (dskit's tokenDistance).
	 */
	{
		static const struct spec dup[] = {
			{ "A", NULL, RING_ACTIVE, 0, { 100 }, -1 },
			{ "B", NULL, RING_ACTIVE, 0, { 100 }, -1 },
			{ "C", NULL, RING_ACTIVE, 0, { 200 }, -1 },
		};

		build(&d, dup, 3);
		ring_ownership(&d, 0, out);
		CHECK(out[0] == 0);
		CHECK(out[1] == (4294967296.0 - 100 + 4294967296.0) / 4294967295.0);
		CHECK(out[2] == 100.0 / 4294967295.0);
		ring_desc_free(&d);
	}

	/* 4 instances × 128 random tokens: every zone sums to 2^32 / (2^32 − 1). */
	{
		struct ring_instance x;
		uint32_t tok[128];
		char id[16];
		double z[2] = { 0, 0 };

		ring_desc_init(&d);
		for (int i = 0; i < 4; i++) {
			memset(&x, 0, sizeof(x));
			snprintf(id, sizeof(id), "ing-%d", i);
			x.id = id;
			x.zone = (char *)(i % 2 ? "odd" : "even");
			ring_generate_tokens(&d, NULL, 0, tok, 128);
			x.tokens = tok;
			x.ntokens = 128;
			ring_desc_set(&d, &x);
		}
		ring_ownership(&d, 1, out);
		for (int i = 0; i < 4; i++)
			z[i % 2] += out[i];
		CHECK(near(z[0], 4294967296.0 / 4294967295.0));
		CHECK(near(z[1], 4294967296.0 / 4294967295.0));
		ring_ownership(&d, 0, out);
		CHECK(near(out[0] + out[1] + out[2] + out[3], 4294967296.0 / 4294967295.0));
		ring_desc_free(&d);
	}
}

static void
generate_tokens(void)
{
	struct ring_desc d;
	struct spec s[2] = {
		{ "A", NULL, RING_ACTIVE, 0, { 1, 2, 3, 0xFFFFFFFF }, -1 },
		{ "B", NULL, RING_ACTIVE, 0, { 5, 6 }, -1 },
	};
	uint32_t own[3] = { 7, 8, 9 }, out[4096];

	build(&d, s, 2);
	CHECK_INT(ring_generate_tokens(&d, own, 3, out, 4096), 4096);
	for (size_t i = 0; i < 4096; i++) {
		if (i > 0)
			CHECK(out[i - 1] < out[i]);	/* sorted and distinct */
		for (size_t j = 0; j < 3; j++)
			CHECK(out[i] != own[j]);
		CHECK(ring_desc_find(&d, "A") != NULL);
		for (size_t a = 0; a < 2; a++)
			for (size_t t = 0; t < d.inst[a].ntokens; t++)
				CHECK(out[i] != d.inst[a].tokens[t]);
	}
	CHECK_INT(ring_generate_tokens(&d, NULL, 0, out, 0), 0);
	CHECK_INT(ring_generate_tokens(NULL, NULL, 0, out, 1), 1);
	ring_desc_free(&d);
}

static void
token_for_series(void)
{
	/*
	 * Vectors from Go's hash/fnv New32 (the algorithm Cortex's HashAdd32
	 * says it is) over the concatenated strings: a ten-line Go program
	 * writing tenant, then name and value of each label, and printing
	 * Sum32. 0x31f0b262 is also FNV-1 32 of "foobar" in the FNV reference
	 * test vectors (FNV-1a would give 0xbf9cf968).
	 */
	struct label l1[] = {
		{ STR_LIT("__name__"), STR_LIT("up") },
		{ STR_LIT("instance"), STR_LIT("localhost:9090") },
		{ STR_LIT("job"), STR_LIT("prometheus") },
	};
	struct label l2[] = {
		{ STR_LIT("__name__"), STR_LIT("node_cpu_seconds_total") },
		{ STR_LIT("cpu"), STR_LIT("0") },
		{ STR_LIT("empty"), STR_LIT("") },	/* skipped: empty value */
		{ STR_LIT("mode"), STR_LIT("idle") },
	};
	struct label l3[] = { { STR_LIT("ba"), STR_LIT("r") } };
	struct labels a = { l1, 3 }, b = { l2, 4 }, c = { l3, 1 }, none = { NULL, 0 };

	CHECK_U64(ring_token_for_series("user-1", &a), 0x01de5f43);
	CHECK_U64(ring_token_for_series("fake", &b), 0xe2eb0218);
	CHECK_U64(ring_token_for_series("foobar", &none), 0x31f0b262);
	CHECK_U64(ring_token_for_series("foo", &c), 0x31f0b262);
	CHECK_U64(ring_token_for_series("", &none), 0x811c9dc5);
}

/*
 * The naive model: everything recomputed per call with linear scans and
 * no shared code with ring.c (only the descriptor helpers).
 */
struct naive_entry {
	uint32_t	 token;
	size_t		 holder;
};

static int
naive_excluded(const char *list, const char *zone)
{
	char *copy, *p, *save = NULL;
	int hit = 0;

	if (list == NULL || list[0] == '\0')
		return 0;
	/* strtok skips empty fields: check those by hand. */
	if (zone[0] == '\0')
		return list[0] == ',' || strstr(list, ",,") != NULL ||
		    list[strlen(list) - 1] == ',';
	copy = strdup(list);
	for (p = strtok_r(copy, ",", &save); p != NULL; p = strtok_r(NULL, ",", &save))
		if (strcmp(p, zone) == 0)
			hit = 1;
	free(copy);
	return hit;
}

static int
naive_get(const struct ring_desc *all, const struct ring_config *cfg, uint32_t key,
    enum ring_op op, const char **out, size_t *nout, int *max_errors, char *errmsg)
{
	const struct ring_instance *inst[64];
	struct naive_entry ent[64 * 8];
	const char *zones[64], *picked[64], *badaddr[64];
	int found[64] = { 0 }, examined[64] = { 0 }, total[64] = { 0 };
	size_t n = 0, ne = 0, nz = 0, np = 0, nbad = 0, nok = 0, start = 0, iter = 0;
	int rf = cfg->replication_factor < 1 ? 1 : cfg->replication_factor, want, quorum;

	for (size_t i = 0; i < all->n; i++)
		if (all->inst[i].state != RING_LEFT &&
		    !naive_excluded(cfg->excluded_zones, all->inst[i].zone))
			inst[n++] = &all->inst[i];
	for (size_t i = 0; i < n; i++)
		for (size_t t = 0; t < inst[i]->ntokens; t++) {
			/* Insertion by (token, holder). */
			size_t at = ne;

			while (at > 0 && (ent[at - 1].token > inst[i]->tokens[t] ||
			    (ent[at - 1].token == inst[i]->tokens[t] && ent[at - 1].holder > i))) {
				ent[at] = ent[at - 1];
				at--;
			}
			ent[at].token = inst[i]->tokens[t];
			ent[at].holder = i;
			ne++;
		}
	if (ne == 0) {
		strcpy(errmsg, "empty ring");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		size_t z;

		for (z = 0; z < nz && strcmp(zones[z], inst[i]->zone) != 0; z++)
			;
		if (z == nz)
			zones[nz++] = inst[i]->zone;
		total[z]++;
	}
	while (start < ne && ent[start].token <= key)
		start++;
	if (start == ne)
		start = 0;
	want = rf;
	for (size_t i = start; np < ((size_t)want < n ? (size_t)want : n) && iter < ne; i++) {
		size_t owner = 0, z;
		int dup = 0, stop = 1;

		if (cfg->zone_awareness) {
			for (z = 0; z < nz; z++)
				if (found[z] < 1 && examined[z] < total[z])
					stop = 0;
			if (stop)
				break;
		}
		iter++;
		i %= ne;
		for (size_t j = 0; j < ne; j++)
			if (ent[j].token == ent[i].token && ent[j].holder >= owner)
				owner = ent[j].holder;
		for (size_t j = 0; j < np; j++)
			if (strcmp(picked[j], inst[owner]->id) == 0)
				dup = 1;
		if (dup)
			continue;
		for (z = 0; strcmp(zones[z], inst[owner]->zone) != 0; z++)
			;
		if (cfg->zone_awareness && inst[owner]->zone[0] != '\0') {
			if (found[z] >= 1)
				continue;
			examined[z]++;
		}
		picked[np++] = inst[owner]->id;
		{
			enum ring_state s = inst[owner]->state;
			int ext = op == RING_OP_WRITE ? s != RING_ACTIVE :
			    op == RING_OP_READ ? s != RING_ACTIVE && s != RING_LEAVING : 0;

			if (ext)
				want++;
			else if (cfg->zone_awareness && inst[owner]->zone[0] != '\0')
				found[z]++;
		}
	}
	quorum = ((int)np > rf ? (int)np : rf) / 2 + 1;
	for (size_t j = 0; j < np; j++) {
		const struct ring_instance *x = ring_desc_find(all, picked[j]);
		int ok;

		switch (op) {
		case RING_OP_READ:
			ok = x->state == RING_ACTIVE || x->state == RING_PENDING ||
			    x->state == RING_LEAVING;
			break;
		case RING_OP_REPORTING:
			ok = 1;
			break;
		default:
			ok = x->state == RING_ACTIVE;
		}
		if (cfg->heartbeat_timeout_ms != 0 &&
		    NOW_MS - x->timestamp * 1000 > cfg->heartbeat_timeout_ms)
			ok = 0;
		if (ok)
			out[nok++] = x->id;
		else
			badaddr[nbad++] = x->addr;
	}
	*nout = nok;
	if ((int)nok < quorum) {
		int off = sprintf(errmsg, "at least %d live replicas required%s, could only find %zu",
		    quorum, cfg->zone_awareness ? " across different availability zones" : "", nok);

		for (size_t j = 0; j < nbad; j++)
			off += sprintf(errmsg + off, "%s%s",
			    j ? "," : " - unhealthy instances: ", badaddr[j]);
		return -1;
	}
	*max_errors = (int)nok - quorum;
	return 0;
}

static uint32_t
rnd(uint32_t n)
{
	return (uint32_t)random() % n;
}

static void
random_rings_match_naive(void)
{
	static const char *zone_names[] = { "", "a", "b", "c" };
	static const char *excl[] = { NULL, NULL, "a", "b,c", "x,,y" };
	static const enum ring_op ops[] = {
		RING_OP_WRITE, RING_OP_WRITE_NO_EXTEND, RING_OP_READ, RING_OP_REPORTING,
	};
	struct ring_replication_set s = { 0 };
	int mismatches = 0;

	srandom(20260605);
	for (int round = 0; round < 3000; round++) {
		struct ring_desc d;
		struct ring_config cfg;
		struct ring *r;
		size_t n = 1 + rnd(12);
		/* A small token space now and then, so that tokens collide. */
		uint32_t space = rnd(3) == 0 ? 40 : UINT32_MAX;
		int nzones = 1 + (int)rnd(4);

		ring_desc_init(&d);
		for (size_t i = 0; i < n; i++) {
			struct ring_instance x;
			uint32_t tok[8];
			char id[16], addr[32];
			uint32_t age = rnd(10);

			memset(&x, 0, sizeof(x));
			snprintf(id, sizeof(id), "i%02zu", i);
			snprintf(addr, sizeof(addr), "10.0.0.%zu:9095", i);
			x.id = id;
			x.addr = addr;
			x.zone = (char *)zone_names[rnd((uint32_t)nzones)];
			x.state = rnd(3) == 0 ? (enum ring_state)rnd(5) : RING_ACTIVE;
			/* Mostly fresh, some stale, some from the future. */
			x.timestamp = NOW - (age < 6 ? 5 : age < 8 ? 3600 : -600);
			x.ntokens = rnd(9);
			for (size_t t = 0; t < x.ntokens; t++)
				tok[t] = rnd(space);
			x.tokens = tok;
			ring_desc_set(&d, &x);
		}
		cfg.replication_factor = (int)rnd(6);
		cfg.heartbeat_timeout_ms = rnd(4) == 0 ? 0 : MINUTE;
		cfg.zone_awareness = (int)rnd(2);
		cfg.excluded_zones = excl[rnd(5)];
		r = ring_new(&d, &cfg);

		for (int k = 0; k < 20; k++) {
			uint32_t key = rnd(3) == 0 ? rnd(space) : (uint32_t)random() * 2u;
			enum ring_op op = ops[rnd(4)];
			const char *want[64];
			char wmsg[2048];
			size_t nwant = 0;
			int wme = 0, rc, wrc, extends = 0, ok = 1;
			struct err e;

			wrc = naive_get(&d, &cfg, key, op, want, &nwant, &wme, wmsg);
			rc = ring_get(r, key, op, NOW_MS, &s, &e);
			if (rc != wrc) {
				ok = 0;
			} else if (rc != 0) {
				ok = strncmp(e.msg, wmsg, sizeof(e.msg) - 1) == 0;
			} else {
				ok = s.n == nwant && s.max_errors == wme;
				for (size_t j = 0; ok && j < s.n; j++)
					ok = strcmp(s.inst[j]->id, want[j]) == 0;
				/* Properties: distinct, healthy, at most RF + extensions. */
				for (size_t j = 0; j < s.n; j++) {
					for (size_t m = 0; m < j; m++)
						if (s.inst[m] == s.inst[j])
							ok = 0;
					if (!ring_instance_healthy(s.inst[j], op, NOW_MS,
					    cfg.heartbeat_timeout_ms))
						ok = 0;
				}
				for (size_t j = 0; j < d.n; j++) {
					enum ring_state st = d.inst[j].state;

					if ((op == RING_OP_WRITE && st != RING_ACTIVE) ||
					    (op == RING_OP_READ && st != RING_ACTIVE &&
					    st != RING_LEAVING))
						extends++;
				}
				if ((int)s.n > (cfg.replication_factor < 1 ? 1 :
				    cfg.replication_factor) + extends)
					ok = 0;
			}
			if (!ok && mismatches++ < 5)
				unit_fail(__FILE__, __LINE__, "round %d key %u op %d rf %d za %d: "
				    "ring_get %d (%s), naive %d (%s)", round, key, op,
				    cfg.replication_factor, cfg.zone_awareness, rc,
				    rc ? e.msg : ids(&s), wrc, wrc ? wmsg : "");
		}
		ring_free(r);
		ring_desc_free(&d);
	}
	ring_replication_set_free(&s);
	CHECK_INT(mismatches, 0);
}

UNIT_CASES(
	UNIT_CASE(get_rf3_of_3),
	UNIT_CASE(get_rf3_of_5),
	UNIT_CASE(get_extends_past_not_active),
	UNIT_CASE(get_unhealthy_and_quorum),
	UNIT_CASE(get_zone_aware),
	UNIT_CASE(get_excluded_zones),
	UNIT_CASE(get_edge_cases),
	UNIT_CASE(health),
	UNIT_CASE(set_for_op_without_zones),
	UNIT_CASE(set_for_op_with_zones),
	UNIT_CASE(ownership),
	UNIT_CASE(generate_tokens),
	UNIT_CASE(token_for_series),
	UNIT_CASE(random_rings_match_naive),
);
