#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/tsdb/encoding.h"
#include "lib/tsdb/labels.h"
#include "lib/tsdb/wal.h"
#include "lib/tsdb/walrec.h"
#include "test/unit/unit.h"

/* §12.1 records (fragment payloads): bytes 7..110 and 118..166 of wal/00000000. */
static const char series_hex[] =
    "01 0000000000000001 03 085f5f6e616d655f5f 1364656d6f5f72657175657374735f746f74616c"
    "   08696e7374616e6365 0161 036a6f62 0464656d6f"
    "   0000000000000002 02 085f5f6e616d655f5f 1164656d6f5f74656d705f63656c73697573"
    "   036a6f62 0464656d6f";
static const char samples_hex[] =
    "02 0000000000000001 0000018bcfe56800"
    "   00 00 3ff0000000000000"
    "   00 b0ea01 4000000000000000"
    "   02 00 4035800000000000";

/*
 * §12.3: the 204-byte segment Prometheus wrote with exemplars and native
 * histograms (sha256 e8551bda…26144): series, samples, exemplars, series,
 * histogram samples, one FULL fragment each.
 */
static const char ex_hist_hex[] =
    "01001ceb75a59501000000000000000101085f5f6e616d655f5f0865785f746f"
    "74616c01001b6e8ac4b60200000000000000010000018bcfe568000000401400"
    "0000000000010029ec51c1ce0400000000000000010000018bcfe5680000003f"
    "f8000000000000010874726163655f69640361626301001ac125295101000000"
    "000000000201085f5f6e616d655f5f06686973745f6101002f75ac9d37070000"
    "0000000000020000018bcfe56800000000003f50624dd2f1a9fc010340120000"
    "000000000100020002020000";

#define T0	1700000000000LL

static struct label l1[] = {
	{ { "__name__", 8 }, { "demo_requests_total", 19 } },
	{ { "instance", 8 }, { "a", 1 } },
	{ { "job", 3 }, { "demo", 4 } },
};
static struct label l2[] = {
	{ { "__name__", 8 }, { "demo_temp_celsius", 17 } },
	{ { "job", 3 }, { "demo", 4 } },
};

static const struct walrec_sample demo_samples[] = {
	{ 1, T0, 0x3ff0000000000000ULL },
	{ 1, T0 + 15000, 0x4000000000000000ULL },
	{ 2, T0, 0x4035800000000000ULL },
};

static int
labels_equal(const struct labels *a, const struct label *b, size_t n)
{
	if (a->n != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!str_eq(a->v[i].name, b[i].name) || !str_eq(a->v[i].value, b[i].value))
			return 0;
	return 1;
}

/* The records of a segment, in order (at most 16), copied. */
static size_t
records_of(const char *hex, uint8_t **recs, size_t *lens)
{
	struct wal_reader *r = wal_reader_new();
	const uint8_t *p;
	size_t len, plen, n = 0;
	uint8_t *seg = unit_hex(hex, &plen);
	struct err e;

	wal_reader_add_mem(r, seg, plen);
	while (n < 16 && wal_reader_next(r, &p, &len, &e) == 1) {
		recs[n] = malloc(len + 1);
		memcpy(recs[n], p, len);
		lens[n++] = len;
	}
	wal_reader_free(r);
	free(seg);
	return n;
}

static void
walrec_encodes_demo_records_as_prometheus(void)
{
	struct walrec_series s[2] = {
		{ 1, { l1, 3 } },
		{ 2, { l2, 2 } },
	};
	struct buf b = { 0 };
	uint8_t *want;
	size_t wantlen;

	walrec_put_series(&b, s, 2);
	want = unit_hex(series_hex, &wantlen);
	CHECK_INT(wantlen, 104);
	CHECK_MEM(b.p, b.len, want, wantlen);
	free(want);

	b.len = 0;
	walrec_put_samples(&b, demo_samples, 3);
	want = unit_hex(samples_hex, &wantlen);
	CHECK_INT(wantlen, 49);
	CHECK_MEM(b.p, b.len, want, wantlen);
	free(want);

	b.len = 0;
	walrec_put_samples(&b, NULL, 0);
	CHECK_INT(b.len, 1);
	CHECK_INT(b.p[0], WALREC_SAMPLES);
	buf_free(&b);
}

static void
walrec_decodes_demo_records(void)
{
	struct walrec_dec d = { 0 };
	uint8_t *p;
	size_t len;
	struct err e;

	p = unit_hex(series_hex, &len);
	CHECK_INT(walrec_type(p, len), WALREC_SERIES);
	CHECK(walrec_decode(&d, p, len, &e) == 0);
	CHECK_INT(d.type, WALREC_SERIES);
	CHECK_INT(d.nseries, 2);
	CHECK_U64(d.series[0].ref, 1);
	CHECK(labels_equal(&d.series[0].lset, l1, 3));
	CHECK_U64(d.series[1].ref, 2);
	CHECK(labels_equal(&d.series[1].lset, l2, 2));
	free(p);

	p = unit_hex(samples_hex, &len);
	CHECK(walrec_decode(&d, p, len, &e) == 0);
	CHECK_INT(d.type, WALREC_SAMPLES);
	CHECK_INT(d.nseries, 0);
	CHECK_INT(d.nsamples, 3);
	for (size_t i = 0; i < 3 && i < d.nsamples; i++) {
		CHECK_U64(d.samples[i].ref, demo_samples[i].ref);
		CHECK_INT(d.samples[i].t, demo_samples[i].t);
		CHECK_U64(d.samples[i].v, demo_samples[i].v);
	}
	free(p);
	walrec_dec_free(&d);
}

static void
walrec_round_trips_odd_samples(void)
{
	static const struct walrec_sample s[] = {
		{ 100, 5000, 0x7ff0000000000002ULL },	/* stale marker */
		{ 3, -7000, 0x8000000000000000ULL },	/* -0, negative deltas */
		{ UINT64_MAX, INT64_MAX, 0x7ff0000000000000ULL },
		{ 0, INT64_MIN, 1 },
		{ 100, 5000, 0xfff8000000000001ULL },
	};
	struct walrec_dec d = { 0 };
	struct buf b = { 0 };
	struct err e;

	walrec_put_samples(&b, s, 5);
	CHECK(walrec_decode(&d, b.p, b.len, &e) == 0);
	CHECK_INT(d.nsamples, 5);
	for (size_t i = 0; i < 5 && i < d.nsamples; i++) {
		CHECK_U64(d.samples[i].ref, s[i].ref);
		CHECK_INT(d.samples[i].t, s[i].t);
		CHECK_U64(d.samples[i].v, s[i].v);
	}
	/* the first row is always 00 00 */
	CHECK_INT(b.p[17], 0);
	CHECK_INT(b.p[18], 0);
	buf_free(&b);
	walrec_dec_free(&d);
}

static void
walrec_tombstones_and_metadata_round_trip(void)
{
	static const struct walrec_tombstone ts[] = {
		{ 7, 2000, 3000 },
		{ 5, -15000, INT64_MAX },
	};
	static const struct walrec_metadata md[] = {
		{ 3, 1, { "seconds", 7 }, { "Total time.", 11 } },
		{ 300, 2, { NULL, 0 }, { "", 0 } },
	};
	static const char tomb_hex[] = "03 0000000000000007 a01f f02e";
	struct walrec_dec d = { 0 };
	struct buf b = { 0 };
	uint8_t *want;
	size_t wantlen;
	struct err e;

	walrec_put_tombstones(&b, ts, 1);
	want = unit_hex(tomb_hex, &wantlen);
	CHECK_MEM(b.p, b.len, want, wantlen);
	free(want);
	b.len = 0;
	walrec_put_tombstones(&b, ts, 2);
	CHECK(walrec_decode(&d, b.p, b.len, &e) == 0);
	CHECK_INT(d.type, WALREC_TOMBSTONES);
	CHECK_INT(d.ntombstones, 2);
	CHECK_U64(d.tombstones[1].ref, 5);
	CHECK_INT(d.tombstones[1].mint, -15000);
	CHECK_INT(d.tombstones[1].maxt, INT64_MAX);

	b.len = 0;
	walrec_put_metadata(&b, md, 2);
	/* ref is a uvarint here, not BE64 */
	CHECK_INT(b.p[1], 3);
	CHECK(walrec_decode(&d, b.p, b.len, &e) == 0);
	CHECK_INT(d.type, WALREC_METADATA);
	CHECK_INT(d.nmetadata, 2);
	CHECK_U64(d.metadata[0].ref, 3);
	CHECK_INT(d.metadata[0].type, 1);
	CHECK(str_eq(d.metadata[0].unit, STR_LIT("seconds")));
	CHECK(str_eq(d.metadata[0].help, STR_LIT("Total time.")));
	CHECK_U64(d.metadata[1].ref, 300);
	CHECK_INT(d.metadata[1].help.len, 0);

	/* unknown fields are skipped; a third field changes nothing */
	b.len = 0;
	buf_put_u8(&b, WALREC_METADATA);
	buf_put_uvarint(&b, 9);
	buf_put_u8(&b, 5);
	buf_put_uvarint(&b, 3);
	buf_put_uvarint_str(&b, "HELP", 4);
	buf_put_uvarint_str(&b, "h", 1);
	buf_put_uvarint_str(&b, "NEW", 3);
	buf_put_uvarint_str(&b, "x", 1);
	buf_put_uvarint_str(&b, "UNIT", 4);
	buf_put_uvarint_str(&b, "u", 1);
	CHECK(walrec_decode(&d, b.p, b.len, &e) == 0);
	CHECK_INT(d.nmetadata, 1);
	CHECK(str_eq(d.metadata[0].unit, STR_LIT("u")));
	CHECK(str_eq(d.metadata[0].help, STR_LIT("h")));
	buf_free(&b);
	walrec_dec_free(&d);
}

static void
walrec_checks_exemplars_and_histograms_of_prometheus(void)
{
	uint8_t *recs[16];
	size_t lens[16], n;
	struct walrec_dec d = { 0 };
	struct err e;
	static const int want[] = {
		WALREC_SERIES, WALREC_SAMPLES, WALREC_EXEMPLARS, WALREC_SERIES, WALREC_HISTOGRAMS,
	};

	n = records_of(ex_hist_hex, recs, lens);
	CHECK_INT(n, 5);
	for (size_t i = 0; i < n && i < 5; i++) {
		CHECK(walrec_decode(&d, recs[i], lens[i], &e) == 0);
		CHECK_INT(d.type, want[i]);
		if (want[i] == WALREC_EXEMPLARS || want[i] == WALREC_HISTOGRAMS)
			CHECK_INT(d.nchecked, 1);
		/*
		 * Every prefix is malformed (Prometheus' replay: corruption) but
		 * the type byte plus base ref and time: a record of no entries.
		 */
		for (size_t k = 2; k < lens[i]; k++) {
			if (k == 17 && want[i] != WALREC_SERIES) {
				CHECK(walrec_decode(&d, recs[i], k, &e) == 0);
				CHECK_INT(d.nsamples + d.nchecked, 0);
				continue;
			}
			if (walrec_decode(&d, recs[i], k, &e) != -1) {
				unit_fail(__FILE__, __LINE__, "record %zu cut at %zu decoded", i, k);
				break;
			}
		}
	}
	CHECK(walrec_decode(&d, recs[1], lens[1], &e) == 0);
	CHECK_INT(d.nsamples, 1);
	CHECK_U64(d.samples[0].v, 0x4014000000000000ULL);
	CHECK(walrec_decode(&d, recs[3], lens[3], &e) == 0);
	CHECK(labels_equal(&d.series[0].lset,
	    (struct label[]){ { { "__name__", 8 }, { "hist_a", 6 } } }, 1));
	for (size_t i = 0; i < n; i++)
		free(recs[i]);
	walrec_dec_free(&d);
}

static void
walrec_rejects_malformed_and_skips_unknown(void)
{
	struct walrec_dec d = { 0 };
	uint8_t *p;
	size_t len;
	struct err e;
	static const uint8_t nine[] = { 9, 1, 2, 3 };
	static const uint8_t mmap5[] = { 5, 1, 2 };	/* not checked: the WAL replay ignores it */
	static const uint8_t samples_only_type[] = { 2 };
	static const uint8_t float_hist_empty[] = { 8 };

	CHECK(walrec_decode(&d, nine, sizeof(nine), &e) == 0);
	CHECK_INT(d.type, WALREC_UNKNOWN);
	CHECK(walrec_decode(&d, nine, 0, &e) == 0);
	CHECK_INT(d.type, WALREC_UNKNOWN);
	CHECK(walrec_decode(&d, mmap5, sizeof(mmap5), &e) == 0);
	CHECK_INT(d.type, WALREC_MMAP_MARKERS);
	CHECK(walrec_decode(&d, samples_only_type, 1, &e) == 0);
	CHECK_INT(d.nsamples, 0);
	CHECK(walrec_decode(&d, float_hist_empty, 1, &e) == 0);
	CHECK_INT(d.type, WALREC_FLOAT_HISTOGRAMS);

	/* trailing bytes after the last sample: not a whole row */
	p = unit_hex(samples_hex, &len);
	p = realloc(p, len + 5);
	memset(p + len, 0, 5);
	CHECK(walrec_decode(&d, p, len + 5, &e) == -1);
	CHECK(strstr(e.msg, "decode samples") != NULL);
	/* a series whose label count runs past the end */
	free(p);
	p = unit_hex(series_hex, &len);
	p[9] = 0x7f;
	CHECK(walrec_decode(&d, p, len, &e) == -1);
	CHECK(strstr(e.msg, "decode series") != NULL);
	/* an overlong varint */
	memset(p + 9, 0xff, 11);
	CHECK(walrec_decode(&d, p, 20, &e) == -1);
	free(p);
	walrec_dec_free(&d);
}

static void
walrec_filter_mint_rebases_like_prometheus(void)
{
	struct walrec_sample s[] = {
		{ 10, 1000, 1 }, { 11, 900, 2 }, { 9, 2000, 3 }, { 12, 1500, 4 }, { 3, 999, 5 },
	};
	struct buf in = { 0 }, out = { 0 }, want = { 0 };
	uint8_t *recs[16];
	size_t lens[16], n, total, kept;
	struct err e;

	walrec_put_samples(&in, s, 5);
	CHECK(walrec_filter_mint(&out, in.p, in.len, 1000, &total, &kept, &e) == 0);
	CHECK_INT(total, 5);
	CHECK_INT(kept, 3);
	/* kept: (10,1000) (9,2000) (12,1500), re-based on the first kept */
	walrec_put_samples(&want, (struct walrec_sample[]){
	    { 10, 1000, 1 }, { 9, 2000, 3 }, { 12, 1500, 4 } }, 3);
	CHECK_MEM(out.p, out.len, want.p, want.len);

	/* nothing kept: nothing appended */
	out.len = 0;
	CHECK(walrec_filter_mint(&out, in.p, in.len, 3000, &total, &kept, &e) == 0);
	CHECK_INT(out.len, 0);
	CHECK_INT(kept, 0);

	/* exemplars and histograms of §12.3 keep their bodies byte for byte */
	n = records_of(ex_hist_hex, recs, lens);
	CHECK_INT(n, 5);
	for (size_t i = 2; i < n; i += 2) {
		out.len = 0;
		CHECK(walrec_filter_mint(&out, recs[i], lens[i], T0, &total, &kept, &e) == 0);
		CHECK_INT(kept, 1);
		CHECK_MEM(out.p, out.len, recs[i], lens[i]);
		out.len = 0;
		CHECK(walrec_filter_mint(&out, recs[i], lens[i], T0 + 1, &total, &kept, &e) == 0);
		CHECK_INT(total, 1);
		CHECK_INT(out.len, 0);
	}
	/* a series record has no samples; a malformed one leaves out alone */
	out.len = 0;
	CHECK(walrec_filter_mint(&out, recs[0], lens[0], 0, NULL, NULL, &e) == -1);
	CHECK(walrec_filter_mint(&out, recs[4], lens[4] - 1, 0, NULL, NULL, &e) == -1);
	CHECK_INT(out.len, 0);
	for (size_t i = 0; i < n; i++)
		free(recs[i]);
	buf_free(&in);
	buf_free(&out);
	buf_free(&want);
}

UNIT_CASES(
	UNIT_CASE(walrec_encodes_demo_records_as_prometheus),
	UNIT_CASE(walrec_decodes_demo_records),
	UNIT_CASE(walrec_round_trips_odd_samples),
	UNIT_CASE(walrec_tombstones_and_metadata_round_trip),
	UNIT_CASE(walrec_checks_exemplars_and_histograms_of_prometheus),
	UNIT_CASE(walrec_rejects_malformed_and_skips_unknown),
	UNIT_CASE(walrec_filter_mint_rebases_like_prometheus),
);
