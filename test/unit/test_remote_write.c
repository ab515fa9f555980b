/*
 * Remote write: the worked example of the spec (section 1.4), a request a
 * real Prometheus 2.42 sent (test/unit/data/rw/prom-write.body: scraping
 * itself each second, external label replica="r1", captured with
 * test/tools/rr-capture), and every way a request can be malformed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/err.h"
#include "lib/base/fileutil.h"
#include "lib/rw/pbwire.h"
#include "lib/rw/remote_write.h"
#include "lib/tsdb/encoding.h"
#include "lib/tsdb/labels.h"
#include "test/unit/unit.h"

#define DATA_DIR	"test/unit/data/rw"
#define STALE_NAN	0x7ff0000000000002ull

/* Spec 1.4: the protobuf WriteRequest (163 bytes). */
static const char spec_pb[] =
	"0a 61 0a 1f 0a 08 5f 5f 6e 61 6d 65 5f 5f 12 13"
	"64 65 6d 6f 5f 72 65 71 75 65 73 74 73 5f 74 6f"
	"74 61 6c 0a 0b 0a 03 6a 6f 62 12 04 64 65 6d 6f"
	"0a 0d 0a 08 69 6e 73 74 61 6e 63 65 12 01 61 12"
	"10 09 00 00 00 00 00 00 f0 3f 10 80 d0 95 ff bc"
	"31 12 10 09 00 00 00 00 00 00 00 40 10 98 c5 96"
	"ff bc 31 0a 3e 0a 1d 0a 08 5f 5f 6e 61 6d 65 5f"
	"5f 12 11 64 65 6d 6f 5f 74 65 6d 70 5f 63 65 6c"
	"73 69 75 73 0a 0b 0a 03 6a 6f 62 12 04 64 65 6d"
	"6f 12 10 09 00 00 00 00 00 80 35 40 10 80 d0 95"
	"ff bc 31";

/* Spec 1.4: the same as libsnappy 1.1.9 compressed it (142 bytes); Prometheus answered 204. */
static const char spec_snappy[] =
	"a3 01 f0 52 0a 61 0a 1f 0a 08 5f 5f 6e 61 6d 65"
	"5f 5f 12 13 64 65 6d 6f 5f 72 65 71 75 65 73 74"
	"73 5f 74 6f 74 61 6c 0a 0b 0a 03 6a 6f 62 12 04"
	"64 65 6d 6f 0a 0d 0a 08 69 6e 73 74 61 6e 63 65"
	"12 01 61 12 10 09 00 00 00 00 00 00 f0 3f 10 80"
	"d0 95 ff bc 31 12 10 0d 12 34 00 40 10 98 c5 96"
	"ff bc 31 0a 3e 0a 1d 0a 19 63 00 11 05 63 2c 74"
	"65 6d 70 5f 63 65 6c 73 69 75 73 32 61 00 04 12"
	"10 09 40 24 80 35 40 10 80 d0 95 ff bc 31";

static uint8_t *
load(const char *name, size_t *n)
{
	char path[256];
	char *p;
	struct err e;

	snprintf(path, sizeof(path), "%s/%s", DATA_DIR, name);
	if (file_read_all(path, &p, n, &e) == -1) {
		unit_fail(__FILE__, __LINE__, "%s", e.msg);
		exit(1);
	}
	return (uint8_t *)p;
}

static void
check_label(const struct label *l, const char *name, const char *value)
{
	CHECK_MEM(l->name.p, l->name.len, name, strlen(name));
	CHECK_MEM(l->value.p, l->value.len, value, strlen(value));
}

static void
spec_example_decodes(void)
{
	size_t n;
	uint8_t *p = unit_hex(spec_pb, &n);
	struct rw_request rq = { 0 };
	struct rw_series *s;
	struct err e;

	CHECK_INT(n, 163);
	CHECK_INT(rw_decode(&rq, p, n, &e), 0);
	CHECK_INT(rq.nseries, 2);
	CHECK_INT(rq.nsamples, 3);
	CHECK_INT(rq.nmetadata, 0);
	s = &rq.series[0];
	/* Labels stay as sent: job before instance. */
	CHECK_INT(s->labels.n, 3);
	check_label(&s->labels.v[0], "__name__", "demo_requests_total");
	check_label(&s->labels.v[1], "job", "demo");
	check_label(&s->labels.v[2], "instance", "a");
	CHECK_INT(s->nsamples, 2);
	CHECK_INT(s->samples[0].t, 1700000000000LL);
	CHECK_U64(s->samples[0].v, 0x3ff0000000000000ull);
	CHECK_INT(s->samples[1].t, 1700000015000LL);
	CHECK_U64(s->samples[1].v, 0x4000000000000000ull);
	CHECK(s->raw == p + 2);
	CHECK_INT(s->rawlen, 0x61);
	/* Label strings point into the request bytes. */
	CHECK(s->labels.v[0].name.p == (const char *)p + 6);
	s = &rq.series[1];
	CHECK_INT(s->labels.n, 2);
	check_label(&s->labels.v[0], "__name__", "demo_temp_celsius");
	check_label(&s->labels.v[1], "job", "demo");
	CHECK_INT(s->nsamples, 1);
	CHECK_INT(s->samples[0].t, 1700000000000LL);
	CHECK_U64(s->samples[0].v, 0x4035800000000000ull);
	CHECK(s->raw == p + 0x65);
	CHECK_INT(s->rawlen, 0x3e);
	rw_request_free(&rq);
	free(p);
}

static void
spec_snappy_body_decompresses(void)
{
	size_t n, zn;
	uint8_t *want = unit_hex(spec_pb, &n), *z = unit_hex(spec_snappy, &zn);
	struct buf out = { 0 }, again = { 0 };
	struct err e;

	CHECK_INT(zn, 142);
	CHECK_INT(rw_snappy_decode(z, zn, RW_MAX_RECV_MSG_SIZE, &out, &e), 0);
	CHECK_MEM(out.p, out.len, want, n);
	/* Our encoder's output decodes to the same bytes (compressed bytes may differ). */
	buf_reset(&out);
	rw_snappy_encode(want, n, &out);
	CHECK_INT(rw_snappy_decode(out.p, out.len, n, &again, &e), 0);
	CHECK_MEM(again.p, again.len, want, n);
	buf_free(&out);
	buf_free(&again);
	free(want);
	free(z);
}

static void
spec_example_reencodes(void)
{
	size_t n;
	uint8_t *p = unit_hex(spec_pb, &n);
	struct rw_request rq = { 0 };
	struct buf b = { 0 };
	struct err e;

	CHECK_INT(rw_decode(&rq, p, n, &e), 0);
	for (size_t i = 0; i < rq.nseries; i++)
		rw_encode_series(&b, &rq.series[i].labels, rq.series[i].samples,
		    rq.series[i].nsamples);
	CHECK_MEM(b.p, b.len, p, n);
	rw_request_free(&rq);
	buf_free(&b);
	free(p);
}

static void
prometheus_capture_decodes(void)
{
	size_t zn;
	uint8_t *z = load("prom-write.body", &zn);
	struct rw_request rq = { 0 };
	struct buf raw = { 0 }, b = { 0 };
	struct err e;

	CHECK_INT(rw_snappy_decode(z, zn, RW_MAX_RECV_MSG_SIZE, &raw, &e), 0);
	CHECK_INT(rw_decode(&rq, raw.p, raw.len, &e), 0);
	/* max_samples_per_send was 20; one sample per TimeSeries. */
	CHECK_INT(rq.nseries, 20);
	CHECK_INT(rq.nsamples, 20);
	CHECK_INT(rq.nexemplars + rq.nhistograms + rq.nmetadata, 0);
	for (size_t i = 0; i < rq.nseries; i++) {
		struct rw_series *s = &rq.series[i];
		struct str v;

		CHECK_INT(s->nsamples, 1);
		CHECK(s->samples[0].t > 1700000000000LL);
		CHECK(str_eq(s->labels.v[0].name, STR_LIT("__name__")));
		for (size_t j = 1; j < s->labels.n; j++)
			CHECK(str_cmp(s->labels.v[j - 1].name,
			    s->labels.v[j].name) < 0);
		v = labels_get(&s->labels, STR_LIT("job"));
		CHECK(str_eq(v, STR_LIT("self")));
		v = labels_get(&s->labels, STR_LIT("instance"));
		CHECK(str_eq(v, STR_LIT("127.0.0.1:19271")));
		v = labels_get(&s->labels, STR_LIT("replica"));
		CHECK(str_eq(v, STR_LIT("r1")));
		rw_encode_series(&b, &s->labels, s->samples, s->nsamples);
	}
	check_label(&rq.series[0].labels.v[0], "__name__",
	    "go_gc_duration_seconds");
	check_label(&rq.series[0].labels.v[3], "quantile", "0");
	/* Go's gogo encoder and ours agree byte for byte. */
	CHECK_MEM(b.p, b.len, raw.p, raw.len);
	rw_request_free(&rq);
	buf_free(&raw);
	buf_free(&b);
	free(z);
}

static void
snappy_errors(void)
{
	size_t n, zn;
	uint8_t *pb = unit_hex(spec_pb, &n), *z = unit_hex(spec_snappy, &zn);
	/* The framed (stream) format Prometheus refuses. */
	static const uint8_t framed[] = { 0xff, 0x06, 0x00, 0x00, 's', 'N',
	    'a', 'P', 'p', 'Y' };
	struct buf out = { 0 };
	struct err e;

	CHECK_INT(rw_snappy_decode("", 0, 100, &out, &e), -1);
	CHECK_STR(e.msg, "snappy: corrupt input");
	CHECK_INT(rw_snappy_decode(framed, sizeof(framed), 1000, &out, &e), -1);
	CHECK_STR(e.msg, "snappy: corrupt input");
	CHECK_INT(rw_snappy_decode(pb, n, 1000, &out, &e), -1);
	CHECK_STR(e.msg, "snappy: corrupt input");
	CHECK_INT(rw_snappy_decode(z, zn - 1, 1000, &out, &e), -1);
	CHECK_STR(e.msg, "snappy: corrupt input");
	/* Cortex's order: the compressed size, then the size the header announces. */
	CHECK_INT(rw_snappy_decode(z, zn, 100, &out, &e), -1);
	CHECK_STR(e.msg, "received message larger than max (142 vs 100)");
	CHECK_INT(rw_snappy_decode(z, zn, 150, &out, &e), -1);
	CHECK_STR(e.msg, "received message larger than max (163 vs 150)");
	/* A header announcing 4 GiB - 1 is refused before any allocation. */
	{
		static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff, 0x0f,
		    0x00 };

		CHECK_INT(rw_snappy_decode(huge, sizeof(huge), 1000, &out, &e),
		    -1);
		CHECK_STR(e.msg,
		    "received message larger than max (4294967295 vs 1000)");
	}
	CHECK_INT(rw_snappy_decode("\0", 1, 10, &out, &e), 0);
	CHECK_INT(out.len, 0);
	buf_free(&out);
	free(pb);
	free(z);
}

/* Decode spec_pb with byte off set to v (or cut to len when v < 0); return the error. */
static const char *
broken(size_t off, int v, struct err *e)
{
	size_t n;
	uint8_t *p = unit_hex(spec_pb, &n);
	struct rw_request rq = { 0 };
	int rc;

	if (v < 0)
		n = off;
	else
		p[off] = (uint8_t)v;
	rc = rw_decode(&rq, p, n, e);
	rw_request_free(&rq);
	free(p);
	return rc == 0 ? "(accepted)" : e->msg;
}

static void
malformed_requests(void)
{
	struct err e;

	CHECK_STR(broken(0x3d, 0x05, &e),
	    "proto: timeseries 0: label 2: truncated");
	CHECK_STR(broken(0x41, 0x0d, &e),
	    "proto: timeseries 0: sample 0: wrong wire type 5 for field value");
	CHECK_STR(broken(0x93, 0x08, &e),
	    "proto: timeseries 1: sample 0: wrong wire type 0 for field value");
	CHECK_STR(broken(0x02, 0x08, &e),
	    "proto: timeseries 0: wrong wire type 0 for field labels");
	CHECK_STR(broken(0x04, 0x09, &e),
	    "proto: timeseries 0: label 0: wrong wire type 1 for field name");
	CHECK_STR(broken(0x00, 0x08, &e),
	    "proto: wrong wire type 0 for field timeseries");
	CHECK_STR(broken(0x00, 0x00, &e),
	    "proto: illegal field number 0 (wire type 0)");
	CHECK_STR(broken(0x00, 0x0c, &e),
	    "proto: end-group tag outside a group");
	CHECK_STR(broken(150, -1, &e), "proto: truncated");
	CHECK_STR(broken(1, -1, &e), "proto: truncated");
	/* A sample's timestamp cut short by its own length. */
	CHECK_STR(broken(0x40, 0x0f, &e),
	    "proto: timeseries 0: sample 0: truncated");
	CHECK_STR(broken(0x00, 0x0e, &e),
	    "proto: wrong wire type 6 for field timeseries");
	CHECK_STR(broken(0x00, 0x16, &e), "proto: field 2: illegal wire type");
}

static void
varint_overflow_inside_sample(void)
{
	static const uint8_t ts[] = {
	    0x0a, 0x0f,				/* timeseries, 15 bytes */
	    0x12, 0x0d,				/* sample, 13 bytes */
	    0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0x01,				/* an 11-byte varint */
	    0x00,
	};
	struct rw_request rq = { 0 };
	struct err e;

	CHECK_INT(rw_decode(&rq, ts, sizeof(ts), &e), -1);
	CHECK_STR(e.msg, "proto: timeseries 0: sample 0: varint overflows 64 bits");
	rw_request_free(&rq);
}

static void
unknown_fields_skipped(void)
{
	size_t n;
	uint8_t *p = unit_hex(spec_pb, &n);
	struct rw_request rq = { 0 };
	struct buf b = { 0 };
	struct err e;

	/* Field 99 (varint), Cortex's field 2 (Source), a group, field 1000 (bool). */
	pb_put_varint(&b, 99, 7);
	pb_put_varint(&b, 2, 1);
	pb_put_tag(&b, 5, PB_SGROUP);
	pb_put_varint(&b, 1, 1);
	pb_put_tag(&b, 5, PB_EGROUP);
	buf_put_bytes(&b, p, n);
	pb_put_varint(&b, 1000, 1);
	CHECK_INT(rw_decode(&rq, b.p, b.len, &e), 0);
	CHECK_INT(rq.nseries, 2);
	CHECK_INT(rq.nsamples, 3);
	/* Unknown fields inside a series, a label and a sample. */
	buf_reset(&b);
	{
		size_t ts = pb_open(&b, 1), m;

		pb_put_bytes(&b, 9, "x", 1);
		m = pb_open(&b, 1);
		pb_put_bytes(&b, 1, "a", 1);
		pb_put_fixed64(&b, 3, 0);
		pb_put_bytes(&b, 2, "b", 1);
		pb_close(&b, m);
		m = pb_open(&b, 2);
		pb_put_varint(&b, 2, 5);
		pb_put_varint(&b, 7, 5);
		pb_close(&b, m);
		pb_close(&b, ts);
	}
	CHECK_INT(rw_decode(&rq, b.p, b.len, &e), 0);
	CHECK_INT(rq.nseries, 1);
	check_label(&rq.series[0].labels.v[0], "a", "b");
	CHECK_INT(rq.series[0].samples[0].t, 5);
	CHECK_U64(rq.series[0].samples[0].v, 0);
	rw_request_free(&rq);
	buf_free(&b);
	free(p);
}

static void
exemplars_histograms_metadata(void)
{
	struct rw_request rq = { 0 };
	struct buf b = { 0 };
	struct err e;
	size_t ts, m, h;

	ts = pb_open(&b, 1);
	m = pb_open(&b, 1);
	pb_put_bytes(&b, 1, "__name__", 8);
	pb_put_bytes(&b, 2, "x", 1);
	pb_close(&b, m);
	m = pb_open(&b, 3);			/* exemplar */
	h = pb_open(&b, 1);
	pb_put_bytes(&b, 1, "trace_id", 8);
	pb_put_bytes(&b, 2, "abc", 3);
	pb_close(&b, h);
	pb_put_fixed64(&b, 2, 0x3ff0000000000000ull);
	pb_put_varint(&b, 3, 1700000000000ull);
	pb_close(&b, m);
	m = pb_open(&b, 4);			/* integer histogram */
	pb_put_varint(&b, 1, 5);
	pb_put_fixed64(&b, 3, 0x4024000000000000ull);
	pb_put_varint(&b, 4, pb_zigzag(3));
	h = pb_open(&b, 11);
	pb_put_varint(&b, 1, pb_zigzag(-2));
	pb_put_varint(&b, 2, 2);
	pb_close(&b, h);
	h = pb_open(&b, 12);			/* packed sint64 deltas */
	buf_put_uvarint(&b, pb_zigzag(2));
	buf_put_uvarint(&b, pb_zigzag(-1));
	pb_close(&b, h);
	pb_put_varint(&b, 15, 1700000000000ull);
	pb_close(&b, m);
	m = pb_open(&b, 4);			/* float histogram, unpacked counts */
	pb_put_fixed64(&b, 2, 0x4014000000000000ull);
	pb_put_fixed64(&b, 13, 0x4000000000000000ull);
	pb_put_fixed64(&b, 13, 0x4008000000000000ull);
	pb_close(&b, m);
	pb_close(&b, ts);
	m = pb_open(&b, 3);			/* metadata */
	pb_put_varint(&b, 1, RW_METRIC_COUNTER);
	pb_put_bytes(&b, 2, "x_total", 7);
	pb_put_bytes(&b, 4, "Things.", 7);
	pb_put_bytes(&b, 5, "seconds", 7);
	pb_close(&b, m);
	m = pb_open(&b, 3);
	pb_put_bytes(&b, 2, "y", 1);
	pb_close(&b, m);

	CHECK_INT(rw_decode(&rq, b.p, b.len, &e), 0);
	CHECK_INT(rq.nseries, 1);
	CHECK_INT(rq.series[0].nsamples, 0);
	CHECK(rq.series[0].samples == NULL);
	CHECK_INT(rq.series[0].nexemplars, 1);
	CHECK_INT(rq.series[0].nhistograms, 2);
	CHECK_INT(rq.nexemplars, 1);
	CHECK_INT(rq.nhistograms, 2);
	CHECK_INT(rq.nmetadata, 2);
	CHECK_INT(rq.metadata[0].type, RW_METRIC_COUNTER);
	CHECK(str_eq(rq.metadata[0].family, STR_LIT("x_total")));
	CHECK(str_eq(rq.metadata[0].help, STR_LIT("Things.")));
	CHECK(str_eq(rq.metadata[0].unit, STR_LIT("seconds")));
	CHECK_INT(rq.metadata[1].type, RW_METRIC_UNKNOWN);
	CHECK(str_eq(rq.metadata[1].family, STR_LIT("y")));
	CHECK_INT(rq.metadata[1].help.len, 0);

	/* A histogram whose packed counts are not whole doubles. */
	buf_reset(&b);
	ts = pb_open(&b, 1);
	m = pb_open(&b, 4);
	pb_put_bytes(&b, 13, "12345", 5);
	pb_close(&b, m);
	pb_close(&b, ts);
	CHECK_INT(rw_decode(&rq, b.p, b.len, &e), -1);
	CHECK_STR(e.msg, "proto: timeseries 0: histogram 0: positive_counts: "
	    "packed length 5 is not a multiple of 8");
	/* An exemplar label with the wrong wire type. */
	buf_reset(&b);
	ts = pb_open(&b, 1);
	m = pb_open(&b, 3);
	pb_put_varint(&b, 1, 1);
	pb_close(&b, m);
	pb_close(&b, ts);
	CHECK_INT(rw_decode(&rq, b.p, b.len, &e), -1);
	CHECK_STR(e.msg, "proto: timeseries 0: exemplar 0: wrong wire type 0 "
	    "for field label");
	/* Metadata whose help is not length-delimited. */
	buf_reset(&b);
	m = pb_open(&b, 3);
	pb_put_varint(&b, 4, 1);
	pb_close(&b, m);
	CHECK_INT(rw_decode(&rq, b.p, b.len, &e), -1);
	CHECK_STR(e.msg, "proto: metadata 0: wrong wire type 0 for field help");
	rw_request_free(&rq);
	buf_free(&b);
}

static void
special_values_roundtrip(void)
{
	struct label l[] = { { STR_LIT("__name__"), STR_LIT("s") } };
	struct labels ls = { l, 1 };
	struct rw_sample in[] = {
		{ 1, STALE_NAN },
		{ -1, 0x7ff8000000000001ull },	/* Go's NaN */
		{ INT64_MIN, 0xfff0000000000000ull },
		{ INT64_MAX, 0x8000000000000000ull },	/* -0.0: left out, as gogo does */
		{ 0, 0 },
	};
	struct rw_request rq = { 0 };
	struct buf b = { 0 };
	struct err e;
	size_t n;
	uint8_t *want;

	rw_encode_series(&b, &ls, in, 5);
	CHECK_INT(rw_decode(&rq, b.p, b.len, &e), 0);
	CHECK_INT(rq.series[0].nsamples, 5);
	for (size_t i = 0; i < 3; i++) {
		CHECK_INT(rq.series[0].samples[i].t, in[i].t);
		CHECK_U64(rq.series[0].samples[i].v, in[i].v);
	}
	CHECK_INT(rq.series[0].samples[3].t, INT64_MAX);
	CHECK_U64(rq.series[0].samples[3].v, 0);
	CHECK_INT(rq.series[0].samples[4].t, 0);
	/* The zero sample is an empty message. */
	want = unit_hex("12 00", &n);
	CHECK_MEM(b.p + b.len - 2, 2, want, n);
	free(want);
	rw_request_free(&rq);
	buf_free(&b);
}

static void
reuse_allocates_nothing(void)
{
	size_t zn;
	uint8_t *z = load("prom-write.body", &zn);
	struct rw_request rq = { 0 };
	struct buf raw = { 0 };
	struct rw_series *series;
	struct label *lp;
	struct rw_sample *sp;
	struct err e;
	size_t n;
	uint8_t *spec = unit_hex(spec_pb, &n);

	CHECK_INT(rw_snappy_decode(z, zn, RW_MAX_RECV_MSG_SIZE, &raw, &e), 0);
	CHECK_INT(rw_decode(&rq, raw.p, raw.len, &e), 0);
	series = rq.series;
	lp = rq.lpool;
	sp = rq.spool;
	/* A warm decoder of a request no larger keeps every array in place. */
	for (int i = 0; i < 3; i++) {
		CHECK_INT(rw_decode(&rq, raw.p, raw.len, &e), 0);
		CHECK_INT(rq.nseries, 20);
		CHECK_INT(rw_decode(&rq, spec, n, &e), 0);
		CHECK_INT(rq.nseries, 2);
		CHECK_INT(rq.nsamples, 3);
		CHECK(rq.series == series && rq.lpool == lp && rq.spool == sp);
	}
	check_label(&rq.series[1].labels.v[0], "__name__", "demo_temp_celsius");
	/* A failed decode leaves a request that decodes again cleanly. */
	CHECK_INT(rw_decode(&rq, spec, 150, &e), -1);
	CHECK_INT(rw_decode(&rq, spec, n, &e), 0);
	CHECK_INT(rq.nseries, 2);
	CHECK_INT(rq.series[0].labels.n, 3);
	rw_request_free(&rq);
	buf_free(&raw);
	free(spec);
	free(z);
}

UNIT_CASES(
	UNIT_CASE(spec_example_decodes),
	UNIT_CASE(spec_snappy_body_decompresses),
	UNIT_CASE(spec_example_reencodes),
	UNIT_CASE(prometheus_capture_decodes),
	UNIT_CASE(snappy_errors),
	UNIT_CASE(malformed_requests),
	UNIT_CASE(varint_overflow_inside_sample),
	UNIT_CASE(unknown_fields_skipped),
	UNIT_CASE(exemplars_histograms_metadata),
	UNIT_CASE(special_values_roundtrip),
	UNIT_CASE(reuse_allocates_nothing),
);
