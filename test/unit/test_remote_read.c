/*
 * Remote read against bytes of a real Prometheus 2.42 (test/unit/data/rw):
 *
 * - prom-read-instant.body, prom-read-range.body: the ReadRequests its
 *   remote_read client sent to test/tools/rr-capture (external label
 *   replica="r1") for `remote_only` at t=1700000300 and for
 *   `rate(remote_only[5m])` from 1700000240 to 1700000300 step 30s;
 * - read-samples.resp, read-chunks.resp: what its server answered to
 *   read-samples.req / read-chunks.req (two queries, accepted types none /
 *   [STREAMED_XOR_CHUNKS], --storage.remote.read-max-bytes-in-frame=100)
 *   after the spec 1.4 example and push-long.body were remote-written to it:
 *   demo_long{job="demo",zone="b"} with 300 samples t = 1700000000000 +
 *   15000 i, v = 1.5 i, except i = 7 (-0.0, sent as 0) and i = 10 (stale
 *   NaN); zone="a" with the first 50 of them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/err.h"
#include "lib/base/fileutil.h"
#include "lib/rw/pbwire.h"
#include "lib/rw/remote_read.h"
#include "lib/rw/remote_write.h"
#include "lib/tsdb/crc32c.h"
#include "lib/tsdb/encoding.h"
#include "lib/tsdb/labels.h"
#include "lib/tsdb/xor.h"
#include "test/unit/unit.h"

#define DATA_DIR	"test/unit/data/rw"
#define STALE_NAN	0x7ff0000000000002ull
#define T0		1700000000000LL

static void
load(const char *name, struct buf *out, int snappy)
{
	char path[256];
	char *p;
	size_t n;
	struct err e;

	snprintf(path, sizeof(path), "%s/%s", DATA_DIR, name);
	if (file_read_all(path, &p, &n, &e) == -1) {
		unit_fail(__FILE__, __LINE__, "%s", e.msg);
		exit(1);
	}
	buf_reset(out);
	if (!snappy)
		buf_put_bytes(out, p, n);
	else if (rw_snappy_decode(p, n, RR_DECODE_READ_LIMIT, out, &e) == -1)
		unit_fail(__FILE__, __LINE__, "%s: %s", name, e.msg);
	free(p);
}

static int
eq(struct str s, const char *c)
{
	return s.len == strlen(c) && memcmp(s.p, c, s.len) == 0;
}

/* The value of push-long.body's i-th sample. */
static uint64_t
long_value(int i)
{
	double d = i * 1.5;
	uint64_t v;

	if (i == 10)
		return STALE_NAN;
	memcpy(&v, &d, sizeof(v));
	return i == 7 ? 0 : v;
}

static void
client_request_instant(void)
{
	struct buf raw = { 0 }, again = { 0 };
	struct rr_request rq = { 0 };
	struct rr_query *q;
	struct err e;
	int32_t type = -1;

	load("prom-read-instant.body", &raw, 1);
	CHECK_INT(rr_decode_request(&rq, raw.p, raw.len, &e), 0);
	CHECK_INT(rq.nqueries, 1);
	CHECK_INT(rq.naccepted, 0);
	CHECK_INT(rr_negotiate(&rq, &type, &e), 0);
	CHECK_INT(type, RR_SAMPLES);
	q = &rq.queries[0];
	/* 5 minutes of lookback before t. */
	CHECK_INT(q->start_ms, T0);
	CHECK_INT(q->end_ms, T0 + 300000);
	CHECK_INT(q->nmatchers, 2);
	CHECK_INT(q->matchers[0].type, RR_MATCH_EQ);
	CHECK(eq(q->matchers[0].name, "__name__"));
	CHECK(eq(q->matchers[0].value, "remote_only"));
	CHECK_INT(q->matchers[1].type, RR_MATCH_EQ);
	CHECK(eq(q->matchers[1].name, "replica"));
	CHECK(eq(q->matchers[1].value, "r1"));
	CHECK(q->has_hints);
	CHECK_INT(q->hints.step_ms, 0);
	CHECK_INT(q->hints.func.len, 0);
	CHECK_INT(q->hints.start_ms, T0);
	CHECK_INT(q->hints.end_ms, T0 + 300000);
	CHECK_INT(q->hints.range_ms, 0);
	CHECK_INT(q->hints.ngrouping, 0);
	rr_encode_request(&again, &rq);
	CHECK_MEM(again.p, again.len, raw.p, raw.len);
	rr_request_free(&rq);
	buf_free(&raw);
	buf_free(&again);
}

static void
client_request_range(void)
{
	struct buf raw = { 0 }, again = { 0 };
	struct rr_request rq = { 0 };
	struct rr_query *q;
	struct err e;

	load("prom-read-range.body", &raw, 1);
	CHECK_INT(rr_decode_request(&rq, raw.p, raw.len, &e), 0);
	CHECK_INT(rq.nqueries, 1);
	q = &rq.queries[0];
	CHECK_INT(q->start_ms, T0 + 240000 - 300000);
	CHECK_INT(q->end_ms, T0 + 300000);
	CHECK_INT(q->nmatchers, 2);
	CHECK(q->has_hints);
	CHECK_INT(q->hints.step_ms, 30000);
	CHECK(eq(q->hints.func, "rate"));
	CHECK_INT(q->hints.start_ms, T0 - 60000);
	CHECK_INT(q->hints.end_ms, T0 + 300000);
	CHECK_INT(q->hints.range_ms, 300000);
	CHECK_INT(q->hints.by, 0);
	rr_encode_request(&again, &rq);
	CHECK_MEM(again.p, again.len, raw.p, raw.len);
	rr_request_free(&rq);
	buf_free(&raw);
	buf_free(&again);
}

static void
negotiation(void)
{
	struct rr_request rq = { 0 };
	int32_t none[] = { 5 }, two[] = { 5, 7 }, later[] = { 5, 1, 0 };
	int32_t type = -1;
	struct err e;

	CHECK_INT(rr_negotiate(&rq, &type, &e), 0);
	CHECK_INT(type, RR_SAMPLES);
	rq.accepted = later;
	rq.naccepted = 3;
	CHECK_INT(rr_negotiate(&rq, &type, &e), 0);
	CHECK_INT(type, RR_STREAMED_XOR_CHUNKS);
	rq.accepted = none;
	rq.naccepted = 1;
	CHECK_INT(rr_negotiate(&rq, &type, &e), -1);
	/* Observed from Prometheus 2.42 (spec 6.4). */
	CHECK_STR(e.msg, "server does not support any of the requested response "
	    "types: [5]; supported: map[SAMPLES:{} STREAMED_XOR_CHUNKS:{}]");
	rq.accepted = two;
	rq.naccepted = 2;
	CHECK_INT(rr_negotiate(&rq, &type, &e), -1);
	CHECK_STR(e.msg, "server does not support any of the requested response "
	    "types: [5 7]; supported: map[SAMPLES:{} STREAMED_XOR_CHUNKS:{}]");
}

static void
our_requests_decode(void)
{
	struct buf raw = { 0 };
	struct rr_request rq = { 0 };
	struct err e;
	int32_t type;

	load("read-chunks.req", &raw, 1);
	CHECK_INT(rr_decode_request(&rq, raw.p, raw.len, &e), 0);
	CHECK_INT(rq.nqueries, 2);
	CHECK_INT(rq.naccepted, 1);
	CHECK_INT(rq.accepted[0], RR_STREAMED_XOR_CHUNKS);
	CHECK_INT(rr_negotiate(&rq, &type, &e), 0);
	CHECK_INT(type, RR_STREAMED_XOR_CHUNKS);
	CHECK_INT(rq.queries[1].nmatchers, 2);
	CHECK_INT(rq.queries[1].matchers[1].type, RR_MATCH_RE);
	CHECK(eq(rq.queries[1].matchers[1].value, "demo_.*"));
	CHECK(!rq.queries[1].has_hints);
	rr_request_free(&rq);
	buf_free(&raw);
}

static void
samples_response_matches_prometheus(void)
{
	struct buf raw = { 0 }, again = { 0 };
	struct rr_response rs = { 0 };
	struct rw_series *s;
	struct err e;
	size_t mark;

	load("read-samples.resp", &raw, 1);
	CHECK_INT(rr_decode_response(&rs, raw.p, raw.len, &e), 0);
	CHECK_INT(rs.nresults, 2);
	CHECK_INT(rr_response_nseries(&rs, 0), 1);
	CHECK_INT(rr_response_nseries(&rs, 1), 4);
	/* The server's external label is merged in; series come sorted. */
	s = &rs.ts.series[0];
	CHECK_INT(s->labels.n, 4);
	CHECK(eq(s->labels.v[3].name, "replica"));
	CHECK(eq(s->labels.v[3].value, "r1"));
	CHECK_INT(s->nsamples, 2);
	CHECK_U64(s->samples[1].v, 0x4000000000000000ull);
	s = &rs.ts.series[2];
	CHECK(eq(labels_get(&s->labels, STR_LIT("zone")), "b"));
	CHECK_INT(s->nsamples, 300);
	for (int i = 0; i < 300; i++) {
		CHECK_INT(s->samples[i].t, T0 + 15000LL * i);
		CHECK_U64(s->samples[i].v, long_value(i));
	}
	CHECK(eq(labels_get(&rs.ts.series[1].labels, STR_LIT("zone")), "a"));
	CHECK_INT(rs.ts.series[1].nsamples, 50);
	for (size_t i = 1; i < 4; i++)
		CHECK(labels_cmp(&rs.ts.series[i].labels,
		    &rs.ts.series[i + 1].labels) < 0);

	/* Our encoder writes the same ReadResponse, byte for byte. */
	for (size_t r = 0; r < rs.nresults; r++) {
		mark = rr_result_open(&again);
		for (size_t i = 0; i < rr_response_nseries(&rs, r); i++) {
			s = &rs.ts.series[rs.first[r] + i];
			rw_encode_series(&again, &s->labels, s->samples,
			    s->nsamples);
		}
		rr_result_close(&again, mark);
	}
	CHECK_MEM(again.p, again.len, raw.p, raw.len);
	rr_response_free(&rs);
	buf_free(&raw);
	buf_free(&again);
}

static void
empty_samples_response(void)
{
	struct buf z = { 0 }, one = { 0 };
	struct rr_response rs = { 0 };
	struct err e;
	size_t mark;

	/* No queries: an empty message, whose snappy block is the byte 00. */
	rw_snappy_encode(one.p, 0, &z);
	CHECK_INT(z.len, 1);
	CHECK_U64(z.p[0], 0);
	/* A query without series is still a QueryResult: 0a 00. */
	mark = rr_result_open(&one);
	rr_result_close(&one, mark);
	CHECK_MEM(one.p, one.len, "\x0a\x00", 2);
	CHECK_INT(rr_decode_response(&rs, one.p, one.len, &e), 0);
	CHECK_INT(rs.nresults, 1);
	CHECK_INT(rr_response_nseries(&rs, 0), 0);
	rr_response_free(&rs);
	buf_free(&z);
	buf_free(&one);
}

struct frame_info {
	int64_t		 qi;
	size_t		 nchunks;
	size_t		 len;
};

/* Decode every frame of a stream; returns the frame count. */
static size_t
read_frames(const struct buf *in, struct frame_info *fi, size_t max)
{
	struct rr_chunked cr = { 0 };
	struct rr_frames f;
	const uint8_t *msg;
	size_t n, k = 0;
	struct err e;
	int rc;

	rr_frames_init(&f, in->p, in->len, RR_CHUNKED_READ_LIMIT);
	while ((rc = rr_frames_next(&f, &msg, &n, &e)) == 1) {
		if (rr_decode_chunked(&cr, msg, n, &e) == -1) {
			unit_fail(__FILE__, __LINE__, "%s", e.msg);
			break;
		}
		CHECK_INT(cr.nseries, 1);
		if (k < max) {
			fi[k].qi = cr.query_index;
			fi[k].nchunks = cr.series[0].nchunks;
			fi[k].len = n;
		}
		k++;
	}
	CHECK_INT(rc, 0);
	rr_chunked_free(&cr);
	return k;
}

/* Feed a captured stream's series and chunks to rr_stream; the frames are cut anew. */
static void
reencode_stream(const struct buf *in, size_t max_bytes, struct buf *out)
{
	struct rr_chunked cr = { 0 };
	struct labels cur = { NULL, 0 };
	struct rr_stream st;
	struct rr_frames f;
	const uint8_t *msg;
	int64_t qi = -1;
	size_t n;
	struct err e;

	rr_stream_init(&st, out, max_bytes);
	rr_frames_init(&f, in->p, in->len, RR_CHUNKED_READ_LIMIT);
	while (rr_frames_next(&f, &msg, &n, &e) == 1) {
		struct rr_chunked_series *cs;

		if (rr_decode_chunked(&cr, msg, n, &e) == -1)
			break;
		cs = &cr.series[0];
		if (cr.query_index != qi || labels_cmp(&cur, &cs->labels) != 0) {
			labels_free_copy(&cur);
			cur = labels_copy(&cs->labels);
			qi = cr.query_index;
			rr_stream_series(&st, qi, &cur);
		}
		for (size_t i = 0; i < cs->nchunks; i++)
			rr_stream_chunk(&st, cs->chunks[i].mint,
			    cs->chunks[i].maxt, cs->chunks[i].type,
			    cs->chunks[i].data, cs->chunks[i].len);
	}
	rr_stream_flush(&st);
	rr_stream_free(&st);
	labels_free_copy(&cur);
	rr_chunked_free(&cr);
}

static void
chunked_stream_matches_prometheus(void)
{
	struct buf raw = { 0 }, again = { 0 };
	struct frame_info fi[16];
	static const struct frame_info want[] = {
		{ 0, 1, 119 }, { 1, 1, 449 }, { 1, 1, 1193 }, { 1, 1, 329 },
		{ 1, 1, 124 }, { 1, 1, 121 }, { 1, 1, 100 },
	};

	load("read-chunks.resp", &raw, 0);
	/* Observed layout of the first frame: uvarint 119, CRC-32C BE of the message. */
	CHECK_U64(raw.p[0], 119);
	CHECK_U64(be32_get(raw.p + 1), crc32c(0, raw.p + 5, 119));
	CHECK_INT(read_frames(&raw, fi, 16), 7);
	for (size_t i = 0; i < 7; i++) {
		CHECK_INT(fi[i].qi, want[i].qi);
		CHECK_INT(fi[i].nchunks, want[i].nchunks);
		CHECK_INT(fi[i].len, want[i].len);
	}
	/* Budget 100: every chunk overflows it, so each frame holds one chunk. */
	reencode_stream(&raw, 100, &again);
	CHECK_MEM(again.p, again.len, raw.p, raw.len);
	buf_free(&raw);
	buf_free(&again);
}

static void
chunks_hold_the_samples(void)
{
	struct buf raw = { 0 };
	struct rr_chunked cr = { 0 };
	struct rr_frames f;
	const uint8_t *msg;
	size_t n;
	struct err e;
	int i = 0;

	load("read-chunks.resp", &raw, 0);
	rr_frames_init(&f, raw.p, raw.len, RR_CHUNKED_READ_LIMIT);
	while (rr_frames_next(&f, &msg, &n, &e) == 1) {
		struct rr_chunked_series *cs;

		CHECK_INT(rr_decode_chunked(&cr, msg, n, &e), 0);
		cs = &cr.series[0];
		if (!eq(labels_get(&cs->labels, STR_LIT("zone")), "b"))
			continue;
		for (size_t c = 0; c < cs->nchunks; c++) {
			struct rr_chunk *ch = &cs->chunks[c];
			struct xor_iter it;
			int64_t t;
			uint64_t v;

			CHECK_INT(ch->type, RR_CHUNK_XOR);
			CHECK_INT(ch->mint, T0 + 15000LL * i);
			xor_iter_init(&it, ch->data, ch->len);
			while (xor_iter_next(&it, &t, &v) == 1) {
				CHECK_INT(t, T0 + 15000LL * i);
				CHECK_U64(v, long_value(i));
				i++;
			}
			CHECK_INT(ch->maxt, T0 + 15000LL * (i - 1));
		}
	}
	CHECK_INT(i, 300);
	rr_chunked_free(&cr);
	buf_free(&raw);
}

static void
frame_budget_rule(void)
{
	struct buf raw = { 0 }, big = { 0 }, mid = { 0 };
	struct frame_info fi[16];

	load("read-chunks.resp", &raw, 0);
	/* The default 1 MiB: one frame per series. */
	reencode_stream(&raw, RR_MAX_BYTES_IN_FRAME, &big);
	CHECK_INT(read_frames(&big, fi, 16), 5);
	CHECK_INT(fi[2].nchunks, 3);
	CHECK_INT(fi[0].qi, 0);
	CHECK_INT(fi[4].qi, 1);
	/*
	 * zone="b": its labels take 21+11+13+9 = 54 bytes, its first chunk
	 * 7+7+2+1107 = 1123 (contents, as gogo's Size()). Budget 1177 leaves
	 * exactly 0 after it: the frame is cut, and the other two chunks
	 * (259 + 56 bytes) share the next one. Budget 1178 leaves 1: the
	 * second chunk joins the first, overshooting the budget.
	 */
	reencode_stream(&raw, 1177, &mid);
	CHECK_INT(read_frames(&mid, fi, 16), 6);
	CHECK_INT(fi[2].nchunks, 1);
	CHECK_INT(fi[3].nchunks, 2);
	buf_reset(&mid);
	reencode_stream(&raw, 1178, &mid);
	CHECK_INT(read_frames(&mid, fi, 16), 6);
	CHECK_INT(fi[2].nchunks, 2);
	CHECK_INT(fi[3].nchunks, 1);
	buf_free(&raw);
	buf_free(&big);
	buf_free(&mid);
}

static void
frame_errors(void)
{
	struct buf raw = { 0 };
	struct rr_frames f;
	const uint8_t *msg;
	size_t n;
	struct err e;

	load("read-chunks.resp", &raw, 0);
	rr_frames_init(&f, raw.p, raw.len, 100);
	CHECK_INT(rr_frames_next(&f, &msg, &n, &e), -1);
	CHECK_STR(e.msg, "chunkedReader: message size exceeded the limit 100 "
	    "bytes; got: 119 bytes");
	rr_frames_init(&f, raw.p, 124, RR_CHUNKED_READ_LIMIT);
	CHECK_INT(rr_frames_next(&f, &msg, &n, &e), 1);
	CHECK_INT(n, 119);
	CHECK_INT(rr_frames_next(&f, &msg, &n, &e), 0);
	rr_frames_init(&f, raw.p, 123, RR_CHUNKED_READ_LIMIT);
	CHECK_INT(rr_frames_next(&f, &msg, &n, &e), -1);
	CHECK_STR(e.msg, "unexpected EOF");
	rr_frames_init(&f, raw.p, 3, RR_CHUNKED_READ_LIMIT);
	CHECK_INT(rr_frames_next(&f, &msg, &n, &e), -1);
	CHECK_STR(e.msg, "unexpected EOF");
	raw.p[50] ^= 1;
	rr_frames_init(&f, raw.p, raw.len, RR_CHUNKED_READ_LIMIT);
	CHECK_INT(rr_frames_next(&f, &msg, &n, &e), -1);
	CHECK_STR(e.msg, "chunkedReader: corrupted frame; checksum mismatch");
	buf_free(&raw);
}

static void
request_errors_and_merges(void)
{
	struct rr_request rq = { 0 };
	struct buf b = { 0 };
	struct err e;
	size_t q, m;

	/* Hints sent twice merge; grouping strings accumulate; by is a bool. */
	q = pb_open(&b, 1);
	m = pb_open(&b, 4);
	pb_put_varint(&b, 1, 15000);
	pb_put_bytes(&b, 5, "job", 3);
	pb_close(&b, m);
	m = pb_open(&b, 3);
	pb_put_varint(&b, 1, RR_MATCH_NRE);
	pb_put_bytes(&b, 2, "a", 1);
	pb_close(&b, m);
	m = pb_open(&b, 4);
	pb_put_bytes(&b, 2, "sum", 3);
	pb_put_bytes(&b, 5, "instance", 8);
	pb_put_varint(&b, 6, 2);
	pb_close(&b, m);
	pb_close(&b, q);
	pb_put_varint(&b, 2, 1);		/* one unpacked response type */
	CHECK_INT(rr_decode_request(&rq, b.p, b.len, &e), 0);
	CHECK_INT(rq.queries[0].hints.step_ms, 15000);
	CHECK(eq(rq.queries[0].hints.func, "sum"));
	CHECK_INT(rq.queries[0].hints.ngrouping, 2);
	CHECK(eq(rq.queries[0].hints.grouping[1], "instance"));
	CHECK_INT(rq.queries[0].hints.by, 1);
	CHECK_INT(rq.queries[0].matchers[0].type, RR_MATCH_NRE);
	CHECK_INT(rq.queries[0].matchers[0].value.len, 0);
	CHECK_INT(rq.naccepted, 1);
	CHECK_INT(rq.accepted[0], 1);

	buf_reset(&b);
	q = pb_open(&b, 1);
	m = pb_open(&b, 3);
	pb_close(&b, m);
	m = pb_open(&b, 3);
	pb_put_tag(&b, 2, PB_LEN);
	buf_put_u8(&b, 5);
	pb_close(&b, m);
	pb_close(&b, q);
	CHECK_INT(rr_decode_request(&rq, b.p, b.len, &e), -1);
	CHECK_STR(e.msg, "proto: query 0: matcher 1: truncated");

	buf_reset(&b);
	q = pb_open(&b, 1);
	m = pb_open(&b, 4);
	pb_put_bytes(&b, 7, "x", 1);
	pb_close(&b, m);
	pb_close(&b, q);
	CHECK_INT(rr_decode_request(&rq, b.p, b.len, &e), -1);
	CHECK_STR(e.msg, "proto: query 0: hints: wrong wire type 2 for field "
	    "range_ms");

	buf_reset(&b);
	m = pb_open(&b, 2);
	buf_put_u8(&b, 0x80);
	pb_close(&b, m);
	CHECK_INT(rr_decode_request(&rq, b.p, b.len, &e), -1);
	CHECK_STR(e.msg, "proto: accepted_response_types: truncated");
	rr_request_free(&rq);
	buf_free(&b);
}

UNIT_CASES(
	UNIT_CASE(client_request_instant),
	UNIT_CASE(client_request_range),
	UNIT_CASE(negotiation),
	UNIT_CASE(our_requests_decode),
	UNIT_CASE(samples_response_matches_prometheus),
	UNIT_CASE(empty_samples_response),
	UNIT_CASE(chunked_stream_matches_prometheus),
	UNIT_CASE(chunks_hold_the_samples),
	UNIT_CASE(frame_budget_rule),
	UNIT_CASE(frame_errors),
	UNIT_CASE(request_errors_and_merges),
);
