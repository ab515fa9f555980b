/*
 * replicate and limiter: batches per ingester carry exactly their series
 * (decoded back from the snappy bodies), quorum per series with 4xx passed
 * on and 5xx outranking it, the "live replicas" error before anything is
 * sent; the token bucket's burst, refill and per-tenant buckets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dist/limiter.h"
#include "lib/dist/replicate.h"
#include "test/unit/unit.h"

#define NOW	1800000000000LL

static uint32_t tok_a[] = { 100, 4000000000u };
static uint32_t tok_b[] = { 1000000000u };
static uint32_t tok_c[] = { 2000000000u, 3000000000u };

static void
three_instances(struct ring_desc *d, int64_t beat_s)
{
	struct ring_instance x;
	const char *ids[] = { "a", "b", "c" }, *addrs[] = { "h:1", "h:2", "h:3" };
	uint32_t *toks[] = { tok_a, tok_b, tok_c };
	size_t nt[] = { 2, 1, 2 };

	ring_desc_init(d);
	for (int i = 0; i < 3; i++) {
		memset(&x, 0, sizeof(x));
		x.id = (char *)ids[i];
		x.addr = (char *)addrs[i];
		x.zone = (char *)"";
		x.state = RING_ACTIVE;
		x.timestamp = beat_s;
		x.tokens = toks[i];
		x.ntokens = nt[i];
		ring_desc_set(d, &x);
	}
}

/*
 * A request of n one-sample series {__name__="m", s="<i>/x"}: the varying
 * byte not last, where FNV-1 would only flip the token's low bits.
 */
static void
request(struct rw_request *rq, int n, struct buf *raw)
{
	struct label lv[2];
	struct labels ls = { lv, 2 };
	struct rw_sample smp = { NOW, 0x3ff0000000000000ULL };
	char v[16];
	struct err e;

	buf_reset(raw);
	for (int i = 0; i < n; i++) {
		snprintf(v, sizeof(v), "%d/x", i);
		lv[0] = (struct label){ STR_LIT("__name__"), STR_LIT("m") };
		lv[1] = (struct label){ STR_LIT("s"), str_c(v) };
		rw_encode_series(raw, &ls, &smp, 1);
	}
	CHECK_INT(rw_decode(rq, raw->p, raw->len, &e), 0);
}

static void
batches_hold_every_replica(void)
{
	struct rw_request rq = { 0 }, back = { 0 };
	struct buf raw = { 0 }, plain = { 0 };
	struct ring_config cfg = { 3, 60000, 0, NULL };
	struct ring_desc d;
	struct ring *r;
	struct repl p;
	struct err e;
	uint8_t keep[10];

	three_instances(&d, NOW / 1000);
	r = ring_new(&d, &cfg);
	request(&rq, 10, &raw);
	memset(keep, 1, sizeof(keep));
	keep[3] = 0;
	CHECK_INT(repl_build(&p, r, RING_OP_WRITE, 1, "t", &rq, keep, NOW, &e), 0);
	CHECK_INT(p.nb, 3);
	CHECK_INT(p.pending, 3);
	for (size_t i = 0; i < p.nb; i++) {
		CHECK_INT(p.b[i].nseries, 9);
		CHECK_INT(p.b[i].nsamples, 9);
		CHECK_INT(rw_snappy_decode(p.b[i].body.p, p.b[i].body.len, 1 << 20, &plain, &e), 0);
		CHECK_INT(rw_decode(&back, plain.p, plain.len, &e), 0);
		CHECK_INT(back.nseries, 9);
		for (size_t k = 0; k < back.nseries; k++)
			CHECK(!str_eq(labels_get(&back.series[k].labels, STR_LIT("s")), STR_LIT("3/x")));
	}
	for (size_t i = 0; i < 10; i++)
		CHECK_INT(p.items[i].nreplicas, i == 3 ? 0 : 3);
	repl_free(&p);
	ring_free(r);
	ring_desc_free(&d);
	rw_request_free(&rq);
	rw_request_free(&back);
	buf_free(&raw);
	buf_free(&plain);
}

static void
quorum_and_statuses(void)
{
	struct rw_request rq = { 0 };
	struct buf raw = { 0 }, msg = { 0 };
	struct ring_config cfg = { 3, 60000, 0, NULL };
	struct ring_desc d;
	struct ring *r;
	struct repl p;
	struct err e;
	uint8_t keep[4] = { 1, 1, 1, 1 };

	three_instances(&d, NOW / 1000);
	r = ring_new(&d, &cfg);
	request(&rq, 4, &raw);
	/* One replica down: quorum holds. */
	CHECK_INT(repl_build(&p, r, RING_OP_WRITE, 1, "t", &rq, keep, NOW, &e), 0);
	repl_answer(&p, 0, 200, "", 0);
	repl_answer(&p, 1, 0, "refused", 7);
	repl_answer(&p, 2, 204, "", 0);
	CHECK_INT(p.pending, 0);
	CHECK_INT(repl_result(&p, &msg), 200);
	repl_free(&p);
	/* Two fail with 400: the ingesters' text is the answer. */
	CHECK_INT(repl_build(&p, r, RING_OP_WRITE, 1, "t", &rq, keep, NOW, &e), 0);
	repl_answer(&p, 0, 400, "out of order sample", 19);
	repl_answer(&p, 1, 400, "out of order sample", 19);
	repl_answer(&p, 2, 200, "", 0);
	buf_reset(&msg);
	CHECK_INT(repl_result(&p, &msg), 400);
	CHECK_MEM(msg.p, msg.len, "out of order sample", 19);
	repl_free(&p);
	/* A 400 and a 500: the server error wins, naming the ingester. */
	CHECK_INT(repl_build(&p, r, RING_OP_WRITE, 1, "t", &rq, keep, NOW, &e), 0);
	repl_answer(&p, 0, 400, "bad", 3);
	repl_answer(&p, 1, 500, "disk full", 9);
	repl_answer(&p, 2, 200, "", 0);
	buf_reset(&msg);
	CHECK_INT(repl_result(&p, &msg), 500);
	CHECK(memmem(msg.p, msg.len, "failed pushing to ingester ", 27) != NULL);
	CHECK(memmem(msg.p, msg.len, "disk full", 9) != NULL);
	repl_free(&p);
	ring_free(r);
	ring_desc_free(&d);
	/* Two of three without a heartbeat: no replication set, nothing to send. */
	three_instances(&d, NOW / 1000);
	d.inst[0].timestamp = d.inst[1].timestamp = NOW / 1000 - 3600;
	r = ring_new(&d, &cfg);
	CHECK_INT(repl_build(&p, r, RING_OP_WRITE, 1, "t", &rq, keep, NOW, &e), -1);
	CHECK(strstr(e.msg, "at least 2 live replicas required, could only find 1") != NULL);
	ring_free(r);
	ring_desc_free(&d);
	rw_request_free(&rq);
	buf_free(&raw);
	buf_free(&msg);
}

/* shard-by-all-labels off: every series of one metric on the same replicas. */
static void
by_metric_name(void)
{
	struct rw_request rq = { 0 };
	struct buf raw = { 0 };
	struct ring_config cfg = { 3, 60000, 0, NULL };
	struct ring_desc d;
	struct ring_instance x;
	uint32_t toks[5][4];
	char ids[5][8], addrs[5][16];
	struct ring *r;
	struct repl p;
	struct err e;
	uint8_t keep[10];

	/* FNV-1 of "user-1" then "up", as Go's hash/fnv New32 gives it. */
	CHECK_U64(ring_token_for_metric("user-1", "up", 2), 0x60201019);
	ring_desc_init(&d);
	for (int i = 0; i < 5; i++) {
		memset(&x, 0, sizeof(x));
		snprintf(ids[i], sizeof(ids[i]), "i%d", i);
		snprintf(addrs[i], sizeof(addrs[i]), "h:%d", i + 1);
		for (int k = 0; k < 4; k++)
			toks[i][k] = (uint32_t)(k * 5 + i) * (UINT32_MAX / 20);
		x.id = ids[i];
		x.addr = addrs[i];
		x.zone = (char *)"";
		x.timestamp = NOW / 1000;
		x.tokens = toks[i];
		x.ntokens = 4;
		ring_desc_set(&d, &x);
	}
	r = ring_new(&d, &cfg);
	request(&rq, 10, &raw);
	memset(keep, 1, sizeof(keep));
	CHECK_INT(repl_build(&p, r, RING_OP_WRITE, 0, "t", &rq, keep, NOW, &e), 0);
	CHECK_INT(p.nb, 3);
	for (size_t i = 0; i < p.nb; i++)
		CHECK_INT(p.b[i].nseries, 10);
	repl_free(&p);
	/* By all labels the ten series spread over more than three instances. */
	CHECK_INT(repl_build(&p, r, RING_OP_WRITE, 1, "t", &rq, keep, NOW, &e), 0);
	CHECK(p.nb > 3);
	repl_free(&p);
	ring_free(r);
	ring_desc_free(&d);
	rw_request_free(&rq);
	buf_free(&raw);
}

static void
limiter_bucket(void)
{
	struct limiter *l = limiter_new(100, 200);

	CHECK_INT(limiter_allow(l, "a", 150, 0), 1);
	CHECK_INT(limiter_allow(l, "a", 100, 0), 0);	/* 50 left */
	CHECK_INT(limiter_allow(l, "b", 200, 0), 1);	/* its own bucket */
	CHECK_INT(limiter_allow(l, "a", 100, 500), 1);	/* 50 + 50 refilled */
	CHECK_INT(limiter_allow(l, "a", 201, 100000), 0);	/* never above the burst */
	CHECK_INT(limiter_allow(l, "a", 200, 100000), 1);
	limiter_free(l);
	l = limiter_new(0, 0);
	CHECK_INT(limiter_allow(l, "a", 1e9, 0), 1);
	limiter_free(l);
}

UNIT_CASES(
	UNIT_CASE(batches_hold_every_replica),
	UNIT_CASE(quorum_and_statuses),
	UNIT_CASE(by_metric_name),
	UNIT_CASE(limiter_bucket),
);
