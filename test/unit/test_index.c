/*
 * test_index — the index writer reproduces promtool's bytes (Appendix A.3
 * and a bigger promtool block), the reader decodes them back, v1 files are
 * still read, and no corrupted or truncated file crashes the reader or
 * slips a bad CRC-covered byte through.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/err.h"
#include "lib/base/fileutil.h"
#include "lib/tsdb/crc32c.h"
#include "lib/tsdb/encoding.h"
#include "lib/tsdb/index.h"
#include "test/unit/unit.h"

/* Appendix A.3: the 559-byte index promtool 2.42 wrote for A.1. */
static const char a3_hex[] =
	"baaad70002000000400000000b0006433a5c746d70075ac3bc72696368085f5f"
	"6e616d655f5f04636974790464656d6f036d7367036f64640470617468087361"
	"7920226869220275704d8df1f20000000f040305040206090801010090bf0508"
	"2abf589200000000000000000000000008010307010088272781aea000000000"
	"0701030a0100005ab54601e50000001400000001000000030000000500000007"
	"0000000a5b32f0c90000000c00000001000000010000000206747c4e0000000c"
	"0000000100000001000000099ffdd7750000000c000000010000000100000001"
	"15248fba00000010000000030000000500000007000000081b5890b500000008"
	"000000010000000581c8c93a00000008000000010000000760f3b9cd00000008"
	"00000001000000083ee085e900000008000000010000000581c8c93a00000008"
	"000000010000000581c8c93a00000008000000010000000581c8c93a00000027"
	"0000000401085f5f6e616d655f5f8c01010463697479a80101036d7367bc0101"
	"0470617468d00169c377660000006800000007020000e40102085f5f6e616d65"
	"5f5f0464656d6ffc0102085f5f6e616d655f5f036f64648c0202085f5f6e616d"
	"655f5f0275709c02020463697479075ac3bc72696368ac0202036d7367087361"
	"792022686922bc0202047061746806433a5c746d70cc025f311f050000000000"
	"000005000000000000004d000000000000008c000000000000015c0000000000"
	"0000e4000000000000018b55421cee"
;

/*
 * promtool 2.42 "tsdb create-blocks-from openmetrics" of 5 series (440
 * samples, 8 chunks: one series has 3, one 2), labels sorting Host before
 * __name__, UTF-8 and a backslash in values.
 */
static const char big_hex[] =
	"baaad70002000000640000001300013103323030033530300347455404486f73"
	"7404504f5354075ac3bc72696368085f5f6e616d655f5f016101620463697479"
	"04636f6465066d6574686f64097265715f746f74616c0673656e736f72047465"
	"6d7003785c79067a5f6c6173744b993ad8000000000000000000000000000000"
	"19040509080e0c020d0403d00fcc0d080fcc0da4030fcf07a20309a6810b0000"
	"10040509080e0c030d0401d00ff001a50497b52b9d0000000000000000000000"
	"1504050a080e0c020d0602a01f981bc2041ee802fa0239441951000000000000"
	"0e0308100b070f1101e807d00fa306341282e800000000000000000000000000"
	"0a0208120901010064bb06a3cf1ef70000000010000000010000000200000009"
	"0000000a09a734eb0000001400000001000000030000000e0000001000000012"
	"473dfe400000000c00000001000000010000000115248fba0000000c00000001"
	"0000000100000007338568520000001000000001000000020000000200000003"
	"fc415442000000100000000100000002000000040000000659d721b60000000c"
	"000000010000000100000011057a48d50000001800000005000000080000000a"
	"0000000c0000000e00000010881d310c0000000c00000002000000080000000a"
	"68744c9500000008000000010000000cf97a12f6000000100000000300000008"
	"0000000a0000000c53733bcb00000008000000010000000e1841620100000008"
	"0000000100000010a4671a49000000080000000100000010a4671a4900000008"
	"000000010000000e184162010000000c00000002000000080000000c4ed5ab7d"
	"00000008000000010000000adfdbf51e0000000c00000002000000080000000a"
	"68744c9500000008000000010000000cf97a12f600000008000000010000000e"
	"1841620100000041000000070104486f7374900201085f5f6e616d655f5fa802"
	"010161c402010463697479d8020104636f6465ec0201066d6574686f64840301"
	"0673656e736f729c038c75c33c000000b10000000d020000b0030204486f7374"
	"0161d0030204486f73740162e40302085f5f6e616d655f5f097265715f746f74"
	"616cf40302085f5f6e616d655f5f0474656d708c0402085f5f6e616d655f5f06"
	"7a5f6c6173749c040201610131ac04020463697479075ac3bc72696368bc0402"
	"04636f646503323030cc040204636f646503353030e00402066d6574686f6403"
	"474554f00402066d6574686f6404504f53548405020673656e736f7203785c79"
	"940574b4c8d900000000000000050000000000000071000000000000010f0000"
	"0000000002a400000000000001b000000000000002ede6082a9e"
;

#define ZURICH	"Z\xc3\xbc" "rich"

/* How build_v1 spoils its v1 index. */
enum v1_mode {
	V1_GOOD,
	V1_DUP,		/* the postings offset table names one pair twice */
	V1_BADSYM,	/* a label index value is no symbol's offset */
};

static void	build_v1(struct buf *, uint32_t [3], enum v1_mode);

static struct str
S(const char *s)
{
	return (struct str){ s, strlen(s) };
}

static int
str_is(struct str s, const char *want)
{
	return s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

static uint8_t *
read_file(const char *path, size_t *len)
{
	char *data;
	struct err e;

	if (file_read_all(path, &data, len, &e) == -1) {
		unit_fail(__FILE__, __LINE__, "%s", e.msg);
		*len = 0;
		return NULL;
	}
	return (uint8_t *)data;
}

/*
 * Read everything a querier could: symbols, names, values, the postings of
 * every pair, and every series of the all-series list. -1 on the first error.
 */
static int
walk(struct index_reader *r, struct err *e)
{
	struct postings pl = { 0 }, all = { 0 };
	struct index_series s = { 0 };
	const struct str *names, *values;
	size_t nnames, nvalues;
	struct str sym;
	int rc = -1;

	for (size_t i = 0; i < index_reader_nsymbols(r); i++)
		if (index_reader_symbol(r, (uint32_t)i, &sym, e) == -1)
			goto out;
	index_reader_label_names(r, &names, &nnames);
	for (size_t i = 0; i < nnames; i++) {
		index_reader_label_values(r, names[i], &values, &nvalues);
		for (size_t j = 0; j < nvalues; j++)
			if (index_reader_postings(r, names[i], values[j], &pl, e) == -1)
				goto out;
	}
	if (index_reader_all_postings(r, &all, e) == -1)
		goto out;
	for (size_t i = 0; i < all.n; i++)
		if (index_reader_series(r, all.ids[i], &s, e) == -1)
			goto out;
	rc = 0;
out:
	postings_free(&pl);
	postings_free(&all);
	index_series_free(&s);
	return rc;
}

static void
add_symbols(struct index_writer *w, const char *const *syms, size_t n)
{
	struct err e;

	for (size_t i = 0; i < n; i++)
		if (index_writer_add_symbol(w, S(syms[i]), &e) == -1)
			unit_fail(__FILE__, __LINE__, "add_symbol %s: %s", syms[i], e.msg);
}

static void
add_series(struct index_writer *w, struct label *l, size_t nl,
    const struct chunk *c, size_t nc, uint32_t want_id)
{
	struct labels ls = { l, nl };
	struct err e;
	uint32_t id = 0;

	if (index_writer_add_series(w, &ls, c, nc, &id, &e) == -1)
		unit_fail(__FILE__, __LINE__, "add_series: %s", e.msg);
	CHECK_INT(id, want_id);
}

static const char *const a3_symbols[] = {
	"", "C:\\tmp", ZURICH, "__name__", "city", "demo", "msg", "odd", "path",
	"say \"hi\"", "up",
};

static void
write_a3(const char *path)
{
	struct label demo[] = {
		{ S("__name__"), S("demo") }, { S("city"), S(ZURICH) },
		{ S("msg"), S("say \"hi\"") }, { S("path"), S("C:\\tmp") },
	};
	struct label odd[] = { { S("__name__"), S("odd") } };
	struct label up[] = { { S("__name__"), S("up") } };
	struct chunk c_demo = { .mint = 0, .maxt = 90000, .ref = 8 };
	struct chunk c_odd = { .mint = 0, .maxt = 5000, .ref = 39 };
	struct chunk c_up = { .mint = 0, .maxt = 0, .ref = 90 };
	struct index_writer *w;
	struct err e;

	if ((w = index_writer_open(path, &e)) == NULL) {
		unit_fail(__FILE__, __LINE__, "%s", e.msg);
		return;
	}
	add_symbols(w, a3_symbols, sizeof(a3_symbols) / sizeof(a3_symbols[0]));
	add_series(w, demo, 4, &c_demo, 1, 5);
	add_series(w, odd, 1, &c_odd, 1, 7);
	add_series(w, up, 1, &c_up, 1, 8);
	if (index_writer_close(w, &e) == -1)
		unit_fail(__FILE__, __LINE__, "close: %s", e.msg);
}

static void
writer_matches_appendix_a3(void)
{
	char path[512];
	uint8_t *want, *got;
	size_t wantlen, gotlen;

	snprintf(path, sizeof(path), "%s/index", unit_tmpdir());
	write_a3(path);
	want = unit_hex(a3_hex, &wantlen);
	CHECK_INT(wantlen, 559);
	got = read_file(path, &gotlen);
	CHECK_MEM(got, gotlen, want, wantlen);
	free(got);
	free(want);
}

static void
check_postings(struct index_reader *r, const char *name, const char *value,
    const uint32_t *want, size_t n)
{
	struct postings pl = { 0 };
	struct err e;

	if (index_reader_postings(r, S(name), S(value), &pl, &e) == -1) {
		unit_fail(__FILE__, __LINE__, "postings %s=%s: %s", name, value, e.msg);
		return;
	}
	CHECK_INT(pl.n, n);
	for (size_t i = 0; i < n && i < pl.n; i++)
		CHECK_INT(pl.ids[i], want[i]);
	postings_free(&pl);
}

static void
check_values(struct index_reader *r, const char *name, const char *const *want, size_t n)
{
	const struct str *v;
	size_t nv;

	index_reader_label_values(r, S(name), &v, &nv);
	CHECK_INT(nv, n);
	for (size_t i = 0; i < n && i < nv; i++)
		CHECK(str_is(v[i], want[i]));
}

/* The A.3 content, whatever the version (IDs and refs differ in v1). */
static void
check_a3_content(struct index_reader *r, const uint32_t ids[3])
{
	static const char *const names_want[] = { "__name__", "city", "msg", "path" };
	static const char *const name_values[] = { "demo", "odd", "up" };
	static const char *const city[] = { ZURICH };
	const struct str *names;
	size_t n;
	struct index_series s = { 0 };
	struct str sym;
	struct err e;

	CHECK_INT(index_reader_nsymbols(r), 11);
	for (uint32_t i = 0; i < 11; i++) {
		CHECK_INT(index_reader_symbol(r, i, &sym, &e), 0);
		CHECK(str_is(sym, a3_symbols[i]));
	}
	CHECK_INT(index_reader_symbol(r, 11, &sym, &e), -1);
	CHECK(strstr(e.msg, "out of range") != NULL);

	index_reader_label_names(r, &names, &n);
	CHECK_INT(n, 4);
	for (size_t i = 0; i < n && i < 4; i++)
		CHECK(str_is(names[i], names_want[i]));
	check_values(r, "__name__", name_values, 3);
	check_values(r, "city", city, 1);
	check_values(r, "nope", NULL, 0);

	check_postings(r, "", "", ids, 3);
	check_postings(r, "__name__", "demo", &ids[0], 1);
	check_postings(r, "__name__", "odd", &ids[1], 1);
	check_postings(r, "__name__", "up", &ids[2], 1);
	check_postings(r, "city", ZURICH, &ids[0], 1);
	check_postings(r, "msg", "say \"hi\"", &ids[0], 1);
	check_postings(r, "path", "C:\\tmp", &ids[0], 1);
	check_postings(r, "path", "C:\\tmpx", NULL, 0);
	check_postings(r, "zzz", "", NULL, 0);

	CHECK_INT(index_reader_series(r, ids[0], &s, &e), 0);
	CHECK_INT(s.labels.n, 4);
	if (s.labels.n == 4) {
		CHECK(str_is(s.labels.v[0].name, "__name__"));
		CHECK(str_is(s.labels.v[0].value, "demo"));
		CHECK(str_is(s.labels.v[1].name, "city"));
		CHECK(str_is(s.labels.v[1].value, ZURICH));
		CHECK(str_is(s.labels.v[2].name, "msg"));
		CHECK(str_is(s.labels.v[2].value, "say \"hi\""));
		CHECK(str_is(s.labels.v[3].name, "path"));
		CHECK(str_is(s.labels.v[3].value, "C:\\tmp"));
	}
	CHECK_INT(s.nchunks, 1);
	if (s.nchunks == 1) {
		CHECK_INT(s.chunks[0].mint, 0);
		CHECK_INT(s.chunks[0].maxt, 90000);
		CHECK_U64(s.chunks[0].ref, 8);
	}
	CHECK_INT(index_reader_series(r, ids[1], &s, &e), 0);
	CHECK_INT(s.labels.n, 1);
	CHECK(s.labels.n == 1 && str_is(s.labels.v[0].value, "odd"));
	CHECK(s.nchunks == 1 && s.chunks[0].maxt == 5000 && s.chunks[0].ref == 39);
	CHECK_INT(index_reader_series(r, ids[2], &s, &e), 0);
	CHECK(s.labels.n == 1 && str_is(s.labels.v[0].value, "up"));
	CHECK(s.nchunks == 1 && s.chunks[0].mint == 0 && s.chunks[0].maxt == 0 &&
	    s.chunks[0].ref == 90);
	index_series_free(&s);
}

static void
reader_decodes_appendix_a3(void)
{
	static const uint32_t ids[3] = { 5, 7, 8 };
	const struct index_toc *toc;
	struct index_series s = { 0 };
	struct index_reader *r;
	struct err e;
	uint8_t *p;
	size_t len;

	p = unit_hex(a3_hex, &len);
	if ((r = index_reader_open_mem(p, len, &e)) == NULL) {
		unit_fail(__FILE__, __LINE__, "%s", e.msg);
		free(p);
		return;
	}
	CHECK_INT(index_reader_version(r), 2);
	CHECK_INT(index_reader_size(r), 559);
	toc = index_reader_toc(r);
	CHECK_U64(toc->symbols, 0x5);
	CHECK_U64(toc->series, 0x4d);
	CHECK_U64(toc->label_indices, 0x8c);
	CHECK_U64(toc->label_indices_table, 0x15c);
	CHECK_U64(toc->postings, 0xe4);
	CHECK_U64(toc->postings_table, 0x18b);
	check_a3_content(r, ids);

	/* IDs that are not series entries. */
	CHECK_INT(index_reader_series(r, 0, &s, &e), -1);
	CHECK(strstr(e.msg, "index: series 0: outside the series area") != NULL);
	CHECK_INT(index_reader_series(r, 9, &s, &e), -1);
	CHECK(strstr(e.msg, "index: series 9: outside the series area") != NULL);
	CHECK_INT(index_reader_series(r, 6, &s, &e), -1);
	CHECK(strstr(e.msg, "index: series 6: ") != NULL);
	CHECK_INT(index_reader_series(r, UINT32_MAX, &s, &e), -1);
	index_series_free(&s);
	index_reader_close(r);
	free(p);
}

static void
reader_opens_file(void)
{
	static const uint32_t ids[3] = { 5, 7, 8 };
	struct index_reader *r;
	struct err e;
	char path[512];

	snprintf(path, sizeof(path), "%s/index", unit_tmpdir());
	write_a3(path);
	if ((r = index_reader_open(path, &e)) == NULL) {
		unit_fail(__FILE__, __LINE__, "%s", e.msg);
		return;
	}
	check_a3_content(r, ids);
	index_reader_close(r);

	snprintf(path, sizeof(path), "%s/missing", unit_tmpdir());
	CHECK(index_reader_open(path, &e) == NULL);
	snprintf(path, sizeof(path), "%s/empty", unit_tmpdir());
	CHECK_INT(file_write_atomic(path, "", 0, &e), 0);
	CHECK(index_reader_open(path, &e) == NULL);
	CHECK(strstr(e.msg, "too short") != NULL);
}

/* Decode the bigger promtool index and write it again: the same bytes. */
static void
rewrite_promtool_index_identical(void)
{
	struct postings all = { 0 };
	struct index_series s = { 0 };
	struct index_writer *w;
	struct index_reader *r;
	struct str sym;
	struct err e;
	char path[512];
	uint8_t *want, *got;
	size_t wantlen, gotlen;

	want = unit_hex(big_hex, &wantlen);
	if ((r = index_reader_open_mem(want, wantlen, &e)) == NULL) {
		unit_fail(__FILE__, __LINE__, "%s", e.msg);
		return;
	}
	CHECK_INT(index_reader_nsymbols(r), 19);
	CHECK_INT(index_reader_all_postings(r, &all, &e), 0);
	CHECK_INT(all.n, 5);

	/* Series 8 (req_total{code="200",Host="a",method="GET"}): 3 chunks. */
	CHECK_INT(index_reader_series(r, 8, &s, &e), 0);
	CHECK_INT(s.labels.n, 4);
	CHECK(s.labels.n == 4 && str_is(s.labels.v[0].name, "Host") &&
	    str_is(s.labels.v[1].value, "req_total") && str_is(s.labels.v[3].value, "GET"));
	CHECK_INT(s.nchunks, 3);
	if (s.nchunks == 3) {
		CHECK_INT(s.chunks[0].mint, 1000);
		CHECK_INT(s.chunks[0].maxt, 2740);
		CHECK_U64(s.chunks[0].ref, 8);
		CHECK_INT(s.chunks[1].mint, 2755);
		CHECK_INT(s.chunks[1].maxt, 4495);
		CHECK_U64(s.chunks[1].ref, 218);
		CHECK_INT(s.chunks[2].mint, 4510);
		CHECK_INT(s.chunks[2].maxt, 5485);
		CHECK_U64(s.chunks[2].ref, 427);
	}

	snprintf(path, sizeof(path), "%s/index", unit_tmpdir());
	if ((w = index_writer_open(path, &e)) == NULL) {
		unit_fail(__FILE__, __LINE__, "%s", e.msg);
		return;
	}
	for (uint32_t i = 0; i < index_reader_nsymbols(r); i++) {
		CHECK_INT(index_reader_symbol(r, i, &sym, &e), 0);
		CHECK_INT(index_writer_add_symbol(w, sym, &e), 0);
	}
	for (size_t i = 0; i < all.n; i++) {
		uint32_t id = 0;

		CHECK_INT(index_reader_series(r, all.ids[i], &s, &e), 0);
		CHECK_INT(index_writer_add_series(w, &s.labels, s.chunks, s.nchunks, &id, &e), 0);
		CHECK_INT(id, all.ids[i]);
	}
	CHECK_INT(index_writer_close(w, &e), 0);
	got = read_file(path, &gotlen);
	CHECK_MEM(got, gotlen, want, wantlen);
	free(got);
	postings_free(&all);
	index_series_free(&s);
	index_reader_close(r);
	free(want);
}

/*
 * Chunk metas: first mint varint, gaps after the previous maxt uvarint,
 * spans uvarint, first ref uvarint, ref deltas varint (here negative).
 */
static void
series_chunk_delta_encoding(void)
{
	static const char *const syms[] = { "", "__name__", "m" };
	static const uint8_t want[] = {
		0x10,					/* body length 16 */
		0x01, 0x01, 0x02,			/* __name__="m" */
		0x03,					/* 3 chunks */
		0x09, 0x0f, 0x64,			/* mint -5, span 15, ref 100 */
		0x0a, 0x00, 0x77,			/* gap 10, span 0, ref -60 */
		0xd4, 0x07, 0xe8, 0x07, 0xc0, 0x4d,	/* gap 980, span 1000, ref +4960 */
	};
	struct chunk c[3] = {
		{ .mint = -5, .maxt = 10, .ref = 100 },
		{ .mint = 20, .maxt = 20, .ref = 40 },
		{ .mint = 1000, .maxt = 2000, .ref = 5000 },
	};
	struct label l[] = { { S("__name__"), S("m") } };
	struct index_series s = { 0 };
	struct index_writer *w;
	struct index_reader *r;
	struct err e;
	char path[512];
	uint8_t *got;
	size_t gotlen;

	snprintf(path, sizeof(path), "%s/index", unit_tmpdir());
	if ((w = index_writer_open(path, &e)) == NULL) {
		unit_fail(__FILE__, __LINE__, "%s", e.msg);
		return;
	}
	add_symbols(w, syms, 3);
	/* 5 + 4 + 4 + 12 symbol bytes + 4 = 29, padded to 32: ID 2. */
	add_series(w, l, 1, c, 3, 2);
	CHECK_INT(index_writer_close(w, &e), 0);
	got = read_file(path, &gotlen);
	CHECK(gotlen > 32 + sizeof(want) + 4);
	if (gotlen > 32 + sizeof(want) + 4) {
		CHECK_MEM(got + 32, sizeof(want), want, sizeof(want));
		CHECK_U64(be32_get(got + 32 + sizeof(want)), crc32c(0, want + 1, sizeof(want) - 1));
	}
	if ((r = index_reader_open_mem(got, gotlen, &e)) == NULL) {
		unit_fail(__FILE__, __LINE__, "%s", e.msg);
		free(got);
		return;
	}
	CHECK_INT(index_reader_series(r, 2, &s, &e), 0);
	CHECK_INT(s.nchunks, 3);
	for (size_t i = 0; i < 3 && i < s.nchunks; i++) {
		CHECK_INT(s.chunks[i].mint, c[i].mint);
		CHECK_INT(s.chunks[i].maxt, c[i].maxt);
		CHECK_U64(s.chunks[i].ref, c[i].ref);
	}
	index_series_free(&s);
	index_reader_close(r);
	free(got);
}

static void
writer_rejects_bad_input(void)
{
	static const char *const syms[] = { "", "1", "2", "__name__", "a", "b", "m" };
	struct label a1[] = { { S("a"), S("1") } };
	struct label a1b1[] = { { S("a"), S("1") }, { S("b"), S("1") } };
	struct label a2[] = { { S("a"), S("2") } };
	struct label unsorted[] = { { S("b"), S("1") }, { S("a"), S("2") } };
	struct label dup[] = { { S("b"), S("1") }, { S("b"), S("2") } };
	struct label unknown[] = { { S("b"), S("3") } };
	struct label m[] = { { S("__name__"), S("m") } };
	struct label noname[] = { { S(""), S("m") } };
	struct chunk good = { .mint = 0, .maxt = 10, .ref = 8 };
	struct chunk backwards = { .mint = 10, .maxt = 9, .ref = 8 };
	struct chunk overlap[2] = { { 0, 10, 8, 0, NULL, 0 }, { 9, 20, 30, 0, NULL, 0 } };
	struct labels ls;
	struct index_writer *w;
	struct index_reader *r;
	struct postings all = { 0 };
	struct err e;
	char path[512];
	uint32_t id;

	snprintf(path, sizeof(path), "%s/index", unit_tmpdir());
	if ((w = index_writer_open(path, &e)) == NULL) {
		unit_fail(__FILE__, __LINE__, "%s", e.msg);
		return;
	}
	add_symbols(w, syms, 3);
	CHECK_INT(index_writer_add_symbol(w, S("2"), &e), -1);
	CHECK(strstr(e.msg, "out of order") != NULL);
	CHECK_INT(index_writer_add_symbol(w, S("1"), &e), -1);
	add_symbols(w, syms + 3, 4);

	ls = (struct labels){ a1, 0 };
	CHECK_INT(index_writer_add_series(w, &ls, &good, 1, &id, &e), -1);
	CHECK(strstr(e.msg, "without labels") != NULL);
	ls = (struct labels){ a1b1, 2 };
	CHECK_INT(index_writer_add_series(w, &ls, &good, 1, &id, &e), 0);
	ls = (struct labels){ a1, 1 };		/* a prefix sorts first */
	CHECK_INT(index_writer_add_series(w, &ls, &good, 1, &id, &e), -1);
	CHECK(strstr(e.msg, "index: series {a=\"1\"} out of order") != NULL);
	ls = (struct labels){ a1b1, 2 };	/* equal */
	CHECK_INT(index_writer_add_series(w, &ls, &good, 1, &id, &e), -1);
	CHECK(strstr(e.msg, "out of order") != NULL);
	ls = (struct labels){ unsorted, 2 };
	CHECK_INT(index_writer_add_series(w, &ls, &good, 1, &id, &e), -1);
	CHECK(strstr(e.msg, "not strictly ascending") != NULL);
	ls = (struct labels){ dup, 2 };
	CHECK_INT(index_writer_add_series(w, &ls, &good, 1, &id, &e), -1);
	CHECK(strstr(e.msg, "not strictly ascending") != NULL);
	ls = (struct labels){ unknown, 1 };
	CHECK_INT(index_writer_add_series(w, &ls, &good, 1, &id, &e), -1);
	CHECK(strstr(e.msg, "b=\"3\" is not in the symbol table") != NULL);
	ls = (struct labels){ noname, 1 };
	CHECK_INT(index_writer_add_series(w, &ls, &good, 1, &id, &e), -1);
	CHECK(strstr(e.msg, "empty label name") != NULL);
	ls = (struct labels){ a2, 1 };
	CHECK_INT(index_writer_add_series(w, &ls, &backwards, 1, &id, &e), -1);
	CHECK(strstr(e.msg, "maxt before mint") != NULL);
	CHECK_INT(index_writer_add_series(w, &ls, overlap, 2, &id, &e), -1);
	CHECK(strstr(e.msg, "chunk 1 [9, 20]: overlaps") != NULL);
	CHECK_INT(index_writer_add_series(w, &ls, &good, 1, &id, &e), 0);
	CHECK_INT(index_writer_add_symbol(w, S("z"), &e), -1);
	CHECK(strstr(e.msg, "after the first series") != NULL);
	/* "__name__" sorts before "a": out of order after {a="2"}. */
	ls = (struct labels){ m, 1 };
	CHECK_INT(index_writer_add_series(w, &ls, &good, 1, &id, &e), -1);
	CHECK_INT(index_writer_close(w, &e), 0);

	/* The rejected calls left nothing behind. */
	if ((r = index_reader_open(path, &e)) == NULL) {
		unit_fail(__FILE__, __LINE__, "%s", e.msg);
		return;
	}
	CHECK_INT(walk(r, &e), 0);
	CHECK_INT(index_reader_all_postings(r, &all, &e), 0);
	CHECK_INT(all.n, 2);
	check_postings(r, "a", "1", all.ids, 1);
	check_postings(r, "b", "1", all.ids, 1);
	check_postings(r, "a", "2", all.ids + 1, 1);
	check_postings(r, "__name__", "m", NULL, 0);
	postings_free(&all);
	index_reader_close(r);
}

/* No series at all: every section still written, the all-series list empty. */
static void
writer_empty_index(void)
{
	struct postings all = { 0 };
	const struct str *names;
	const struct index_toc *toc;
	struct index_writer *w;
	struct index_reader *r;
	struct err e;
	char path[512];
	size_t n;

	snprintf(path, sizeof(path), "%s/index", unit_tmpdir());
	if ((w = index_writer_open(path, &e)) == NULL) {
		unit_fail(__FILE__, __LINE__, "%s", e.msg);
		return;
	}
	CHECK_INT(index_writer_add_symbol(w, S(""), &e), 0);
	CHECK_INT(index_writer_close(w, &e), 0);
	if ((r = index_reader_open(path, &e)) == NULL) {
		unit_fail(__FILE__, __LINE__, "%s", e.msg);
		return;
	}
	toc = index_reader_toc(r);
	CHECK_U64(toc->series, 5 + 4 + 4 + 1 + 4);
	CHECK_U64(toc->label_indices, toc->series);
	CHECK_U64(toc->postings, toc->series);
	CHECK_U64(toc->label_indices_table, 20 + 12);
	CHECK_INT(index_reader_all_postings(r, &all, &e), 0);
	CHECK_INT(all.n, 0);
	index_reader_label_names(r, &names, &n);
	CHECK_INT(n, 0);
	/* postings end at 32; label table 12, postings table 16, TOC 52 */
	CHECK_INT(index_reader_size(r), 32 + 12 + 16 + 52);
	postings_free(&all);
	index_reader_close(r);

	CHECK((w = index_writer_open("/nonexistent-dir/index", &e)) == NULL);
	CHECK(strstr(e.msg, "/nonexistent-dir/index") != NULL);
}

/* A failed write surfaces at the latest in close, with errno's text. */
static void
writer_reports_write_errors(void)
{
	struct index_writer *w;
	struct err e;

	if ((w = index_writer_open("/dev/full", &e)) == NULL) {
		unit_fail(__FILE__, __LINE__, "%s", e.msg);
		return;
	}
	add_symbols(w, a3_symbols, sizeof(a3_symbols) / sizeof(a3_symbols[0]));
	CHECK_INT(index_writer_close(w, &e), -1);
	CHECK(strstr(e.msg, "index: write: No space left on device") != NULL);
}

/*
 * Every single-bit flip and every byte inversion at every offset of orig:
 * open and walk report an error each time (padding and the legacy sections
 * included), and nothing crashes or reads outside the exact-size copy (run
 * under ASan). Returns the number of flips that went unnoticed.
 */
static size_t
flips_missed(const char *what, const uint8_t *orig, size_t len)
{
	uint8_t *p;
	size_t missed = 0;
	struct index_reader *r;
	struct err e;

	for (size_t off = 0; off < len; off++) {
		for (int m = 0; m < 9; m++) {
			uint8_t mask = m < 8 ? (uint8_t)(1u << m) : 0xff;
			int rc = -1;

			e.msg[0] = '\0';
			p = malloc(len);
			memcpy(p, orig, len);
			p[off] ^= mask;
			if ((r = index_reader_open_mem(p, len, &e)) != NULL) {
				rc = walk(r, &e);
				index_reader_close(r);
			}
			if (rc == 0) {
				if (missed++ < 10)
					unit_fail(__FILE__, __LINE__, "%s: flip 0x%02x at 0x%zx not "
					    "detected", what, mask, off);
			} else if (strncmp(e.msg, "index: ", 7) != 0) {
				unit_fail(__FILE__, __LINE__, "%s: flip 0x%02x at 0x%zx: \"%s\"",
				    what, mask, off, e.msg);
			}
			free(p);
		}
	}
	return missed;
}

static void
reader_detects_every_flip(void)
{
	struct buf v1 = { 0 };
	uint32_t ids[3];
	uint8_t *p;
	size_t len;

	p = unit_hex(a3_hex, &len);
	CHECK_INT(flips_missed("A.3", p, len), 0);
	free(p);
	p = unit_hex(big_hex, &len);
	CHECK_INT(flips_missed("5 series", p, len), 0);
	free(p);
	build_v1(&v1, ids, V1_GOOD);
	CHECK_INT(flips_missed("v1", v1.p, v1.len), 0);
	buf_free(&v1);
}

/* The CRC-covered bodies of A.3: offset and length; the CRC follows. */
static const struct {
	size_t	at, len;
} a3_bodies[] = {
	{ 0x009, 64 },		/* symbol table */
	{ 0x051, 15 }, { 0x071, 8 }, { 0x081, 7 },	/* series 5, 7, 8 */
	{ 0x0e8, 16 }, { 0x100, 8 }, { 0x110, 8 }, { 0x120, 8 },	/* postings */
	{ 0x130, 8 }, { 0x140, 8 }, { 0x150, 8 },
	{ 0x18f, 104 },		/* postings offset table */
	{ 0x1fb, 48 },		/* TOC */
	{ 0x090, 20 }, { 0x0ac, 12 }, { 0x0c0, 12 }, { 0x0d4, 12 },	/* label indices */
	{ 0x160, 39 },		/* label offset table */
};

/*
 * Every value of every byte inside a CRC-covered body, with the CRC made
 * right again, so that the decoders behind the CRCs see the garbage: the
 * series (symbol refs, varints, counts), the postings (order, counts), the
 * offset tables (keys, offsets, order), the label indices and the TOC.
 * Nothing may crash or read outside the exact-size copy (run under ASan).
 */
static void
reader_survives_garbage_behind_valid_crcs(void)
{
	uint8_t *orig, *p;
	size_t len, opened = 0, failed = 0;
	struct index_reader *r;
	struct err e;

	orig = unit_hex(a3_hex, &len);
	for (size_t b = 0; b < sizeof(a3_bodies) / sizeof(a3_bodies[0]); b++) {
		size_t at = a3_bodies[b].at, n = a3_bodies[b].len;

		CHECK_U64(crc32c(0, orig + at, n), be32_get(orig + at + n));
		for (size_t off = at; off < at + n; off++) {
			for (unsigned v = 0; v < 256; v++) {
				if (v == orig[off])
					continue;
				p = malloc(len);
				memcpy(p, orig, len);
				p[off] = (uint8_t)v;
				be32_put(p + at + n, crc32c(0, p + at, n));
				if ((r = index_reader_open_mem(p, len, &e)) != NULL) {
					opened++;
					if (walk(r, &e) == -1)
						failed++;
					index_reader_close(r);
				}
				free(p);
			}
		}
	}
	CHECK(opened > 0);
	CHECK(failed > 0);
	free(orig);
}

/* Set p[off] = v inside body b of A.3 and make its CRC right again. */
static void
a3_patch(uint8_t *p, size_t b, size_t off, uint8_t v)
{
	size_t at = a3_bodies[b].at, n = a3_bodies[b].len;

	p[off] = v;
	be32_put(p + at + n, crc32c(0, p + at, n));
}

/* What the checks behind the CRCs say, one corruption at a time. */
static void
reader_checks_behind_valid_crcs(void)
{
	static const struct {
		size_t		 body, off;
		uint8_t		 v;
		const char	*want;
	} cases[] = {
		{ 0, 0x00c, 0x0c, "index: symbol table: symbol 11 truncated" },
		{ 1, 0x052, 0x0b, "index: series 5: label refers to an unknown symbol" },
		{ 1, 0x051, 0x08, "index: series 5: bad label count" },
		{ 2, 0x074, 0x05, "index: series 7: bad chunk count" },
		{ 2, 0x077, 0xa7, "index: series 7: chunk metas truncated" },
		{ 4, 0x0f3, 0x09, "index: postings =\"\": series 8 after 9 (not ascending)" },
		{ 5, 0x103, 0x02, "index: postings __name__=\"demo\": 4 bytes for 2 entries" },
		{ 11, 0x193, 0x03, "index: postings offset table: entry 0 has 3 keys, want 2" },
		{ 11, 0x1a3, 0x70, "index: postings offset table: entry 2 (__name__=\"odd\") "
		    "not strictly after" },
		{ 11, 0x1a7, 0x90, "index: postings offset table: entry 1 at offset 144, not "
		    "after the previous one at 228" },
		{ 11, 0x1a7, 0xfd, "index: postings offset table: entry 1 at offset 253, not a "
		    "multiple of 4" },
		{ 11, 0x196, 0xe8, "index: postings offset table: entry 0 at offset 232, want "
		    "228" },
		/* path="C:\tmp" moved from 0x14c to 0x150: a gap after the msg list. */
		{ 11, 0x1f5, 0xd0, "index: postings msg=\"say \"hi\"\": 4 unused bytes before "
		    "offset 336" },
		{ 12, 0x20a, 0xff, "index: TOC: section offsets out of order" },
		{ 12, 0x202, 0x04, "index: TOC: section offsets out of order" },
		{ 12, 0x20a, 0x4e, "index: symbol table: 1 unused bytes before offset 78" },
		{ 12, 0x212, 0x50, "index: series area [77, 80) holds no series" },
		{ 12, 0x222, 0xe8, "index: label indices end at 228, postings start at 232" },
		{ 13, 0x093, 0x02, "index: label index 0: 2 names, the label offset table says 1" },
		{ 13, 0x097, 0x04, "index: label index 0: 12 bytes for 4 entries" },
		{ 13, 0x09f, 0x05, "index: label index 0: value 1 not ascending" },
		{ 13, 0x0a3, 0x0b, "index: label index 0: value 2 refers to an unknown symbol" },
		{ 17, 0x163, 0x05, "index: label offset table: entry 4 truncated" },
		{ 17, 0x164, 0x02, "index: label offset table: entry 0 has 2 names" },
		{ 17, 0x166, 0x7a, "index: label offset table: entry 1 (city) not strictly after "
		    "the previous one" },
		{ 17, 0x16e, 0x90, "index: label offset table: entry 0 at offset 144, want 140" },
	};
	uint8_t *orig, *p;
	size_t len;
	struct index_reader *r;
	struct err e;

	orig = unit_hex(a3_hex, &len);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = -1;

		e.msg[0] = '\0';
		p = malloc(len);
		memcpy(p, orig, len);
		a3_patch(p, cases[i].body, cases[i].off, cases[i].v);
		if ((r = index_reader_open_mem(p, len, &e)) != NULL) {
			rc = walk(r, &e);
			index_reader_close(r);
		}
		CHECK_INT(rc, -1);
		if (strstr(e.msg, cases[i].want) == NULL)
			unit_fail(__FILE__, __LINE__, "case %zu: got \"%s\", want \"%s\"", i,
			    e.msg, cases[i].want);
		free(p);
	}
	free(orig);
}

static void
reader_rejects_truncation(void)
{
	uint8_t *orig, *p;
	size_t len;
	struct index_reader *r;
	struct err e;

	orig = unit_hex(a3_hex, &len);
	for (size_t n = 0; n < len; n++) {
		p = malloc(n ? n : 1);
		memcpy(p, orig, n);
		r = index_reader_open_mem(p, n, &e);
		CHECK(r == NULL);
		index_reader_close(r);
		free(p);
	}
	/* Bytes appended: the TOC is no longer the last 52. */
	p = malloc(len + 1);
	memcpy(p, orig, len);
	p[len] = 0;
	CHECK(index_reader_open_mem(p, len + 1, &e) == NULL);
	CHECK(strstr(e.msg, "index: TOC: CRC mismatch") != NULL);
	free(p);
	free(orig);
}

/* Targeted corruptions with their messages. */
static void
reader_error_messages(void)
{
	struct index_series s = { 0 };
	struct postings pl = { 0 };
	struct index_reader *r;
	struct err e;
	uint8_t *p;
	size_t len;

	p = unit_hex(a3_hex, &len);
	p[0x5a] ^= 1;		/* series 5 body */
	r = index_reader_open_mem(p, len, &e);
	CHECK(r != NULL);
	if (r != NULL) {
		CHECK_INT(index_reader_series(r, 5, &s, &e), -1);
		CHECK_STR(e.msg, "index: series 5: CRC mismatch");
		CHECK_INT(s.labels.n, 0);
		CHECK_INT(index_reader_series(r, 7, &s, &e), 0);
		index_reader_close(r);
	}
	p[0x5a] ^= 1;
	p[0x104] ^= 0x80;	/* postings __name__="demo" */
	r = index_reader_open_mem(p, len, &e);
	CHECK(r != NULL);
	if (r != NULL) {
		CHECK_INT(index_reader_postings(r, S("__name__"), S("demo"), &pl, &e), -1);
		CHECK_STR(e.msg, "index: postings __name__=\"demo\": CRC mismatch");
		CHECK_INT(index_reader_postings(r, S("__name__"), S("odd"), &pl, &e), 0);
		index_reader_close(r);
	}
	p[0x104] ^= 0x80;
	p[0x20] ^= 1;		/* a symbol */
	CHECK(index_reader_open_mem(p, len, &e) == NULL);
	CHECK_STR(e.msg, "index: symbol table: CRC mismatch");
	p[0x20] ^= 1;
	p[0x1a0] ^= 1;		/* the postings offset table */
	CHECK(index_reader_open_mem(p, len, &e) == NULL);
	CHECK_STR(e.msg, "index: postings offset table: CRC mismatch");
	p[0x1a0] ^= 1;
	p[0] ^= 1;
	CHECK(index_reader_open_mem(p, len, &e) == NULL);
	CHECK_STR(e.msg, "index: bad magic 0xbbaad700");
	p[0] ^= 1;
	p[4] = 3;
	CHECK(index_reader_open_mem(p, len, &e) == NULL);
	CHECK_STR(e.msg, "index: unknown format version 3");
	free(p);
	postings_free(&pl);
	index_series_free(&s);
}

/* Open with p[off] ^= mask, then walk; the first error must be want. */
static void
check_flip(const char *hex, size_t off, uint8_t mask, const char *want)
{
	struct index_reader *r;
	struct err e;
	uint8_t *p;
	size_t len;
	int rc = -1;

	p = unit_hex(hex, &len);
	p[off] ^= mask;
	if ((r = index_reader_open_mem(p, len, &e)) != NULL) {
		rc = walk(r, &e);
		index_reader_close(r);
	}
	CHECK_INT(rc, -1);
	if (rc == -1 && strcmp(e.msg, want) != 0)
		unit_fail(__FILE__, __LINE__, "flip at 0x%zx: got \"%s\", want \"%s\"", off,
		    e.msg, want);
	free(p);
}

/* The padding and the legacy sections that no query reads. */
static void
reader_checks_padding_and_legacy_sections(void)
{
	struct index_writer *w;
	struct index_reader *r;
	struct err e;
	char path[512];
	uint8_t *p;
	size_t len;

	check_flip(a3_hex, 0x04e, 0x01, "index: non-zero padding before the first series");
	check_flip(a3_hex, 0x064, 0x80, "index: series 5: non-zero padding");
	check_flip(a3_hex, 0x07f, 0x01, "index: series 7: non-zero padding");
	check_flip(a3_hex, 0x090, 0x01, "index: label index 0: CRC mismatch");
	check_flip(a3_hex, 0x0e0, 0x01, "index: label index 3: CRC mismatch");
	check_flip(a3_hex, 0x170, 0x01, "index: label offset table: CRC mismatch");
	/* The 5-series index has one byte of padding before its first label index. */
	check_flip(big_hex, 0x10f, 0x01, "index: non-zero padding before label index 0");

	/*
	 * Postings lists are 12 + 4n bytes long, so only a malformed length
	 * leaves padding after one: __name__="demo" cut to 5 bytes (with a
	 * right CRC), then the 3 bytes left before the next list.
	 */
	p = unit_hex(a3_hex, &len);
	be32_put(p + 0xfc, 5);
	be32_put(p + 0x105, crc32c(0, p + 0x100, 5));
	if ((r = index_reader_open_mem(p, len, &e)) == NULL) {
		unit_fail(__FILE__, __LINE__, "%s", e.msg);
	} else {
		CHECK_INT(walk(r, &e), -1);
		CHECK_STR(e.msg, "index: postings __name__=\"demo\": non-zero padding");
		memset(p + 0x109, 0, 3);
		CHECK_INT(walk(r, &e), -1);
		CHECK_STR(e.msg, "index: postings __name__=\"demo\": 1 bytes for 1 entries");
		index_reader_close(r);
	}
	free(p);

	/* No series: the first postings list follows 2 bytes of padding. */
	snprintf(path, sizeof(path), "%s/index", unit_tmpdir());
	if ((w = index_writer_open(path, &e)) == NULL) {
		unit_fail(__FILE__, __LINE__, "%s", e.msg);
		return;
	}
	CHECK_INT(index_writer_add_symbol(w, S(""), &e), 0);
	CHECK_INT(index_writer_close(w, &e), 0);
	if ((r = index_reader_open(path, &e)) == NULL) {
		unit_fail(__FILE__, __LINE__, "%s", e.msg);
		return;
	}
	CHECK_U64(index_reader_toc(r)->postings, 18);
	index_reader_close(r);
	p = read_file(path, &len);
	if (len > 19) {
		p[19] = 1;
		CHECK(index_reader_open_mem(p, len, &e) == NULL);
		CHECK_STR(e.msg, "index: non-zero padding before the first postings list");
	}
	free(p);
}

/* A BE32-length section with its CRC; returns the offset of its len. */
static size_t
put_section(struct buf *b, const struct buf *body)
{
	size_t at = b->len;

	buf_put_be32(b, (uint32_t)body->len);
	buf_put_bytes(b, body->p, body->len);
	buf_put_be32(b, crc32c(0, body->p, body->len));
	return at;
}

/* Zero padding to a multiple of 4, before each label index and postings list. */
static void
pad4(struct buf *b)
{
	buf_put_zeros(b, (4 - b->len % 4) % 4);
}

static const char *const v1_lists[][2] = {	/* deliberately out of order */
	{ "path", "C:\\tmp" }, { "__name__", "up" }, { "", "" }, { "city", ZURICH },
	{ "__name__", "demo" }, { "msg", "say \"hi\"" }, { "__name__", "odd" },
};
static const int v1_members[][3] = {	/* which of the 3 series each list holds */
	{ 1, 0, 0 }, { 0, 0, 1 }, { 1, 1, 1 }, { 1, 0, 0 }, { 1, 0, 0 }, { 1, 0, 0 },
	{ 0, 1, 0 },
};

/*
 * The label indices of the v1 index, deliberately not sorted by name: the
 * names and the values as positions in a3_symbols (v1 stores offsets). v1
 * also allowed an index over several names, its values tuples.
 */
static const struct {
	int	nnames;
	int	names[2];
	int	nvalues;
	int	values[4];
} v1_label_indices[] = {
	{ 1, { 8 }, 1, { 1 } },			/* path: C:\tmp */
	{ 1, { 3 }, 3, { 5, 7, 10 } },		/* __name__: demo, odd, up */
	{ 1, { 4 }, 1, { 2 } },			/* city: Zürich */
	{ 2, { 3, 6 }, 2, { 5, 9 } },		/* (__name__, msg): (demo, say "hi") */
	{ 1, { 6 }, 1, { 9 } },			/* msg: say "hi" */
};

/*
 * A v1 index with the A.3 content, built as the v1 writer did: symbol
 * references are file offsets, series IDs are file offsets (no alignment),
 * label indices and postings lists are aligned to 4, the offset tables are
 * in write order, not sorted by name.
 */
static void
build_v1(struct buf *b, uint32_t ids[3], enum v1_mode mode)
{
	static const int labels[3][8] = {	/* symbol positions, name then value */
		{ 3, 5, 4, 2, 6, 9, 8, 1 }, { 3, 7 }, { 3, 10 },
	};
	static const int nlabels[3] = { 4, 1, 1 };
	static const int64_t maxt[3] = { 90000, 5000, 0 };
	static const uint64_t ref[3] = { 8, 39, 90 };
	const size_t nlists = sizeof(v1_lists) / sizeof(v1_lists[0]);
	const size_t nindices = sizeof(v1_label_indices) / sizeof(v1_label_indices[0]);
	const size_t ntable = nlists + (mode == V1_DUP);
	struct buf body = { 0 };
	uint64_t symoff[11], toc[6], postoff[8], lioff[5];
	uint8_t tocb[48];

	buf_put_be32(b, INDEX_MAGIC);
	buf_put_u8(b, 1);
	toc[0] = b->len;
	buf_put_be32(&body, 11);
	for (size_t i = 0; i < 11; i++) {
		symoff[i] = b->len + 4 + body.len;
		buf_put_uvarint_str(&body, a3_symbols[i], strlen(a3_symbols[i]));
	}
	put_section(b, &body);
	toc[1] = b->len;
	for (size_t i = 0; i < 3; i++) {
		ids[i] = (uint32_t)b->len;
		buf_reset(&body);
		buf_put_uvarint(&body, (uint64_t)nlabels[i]);
		for (int j = 0; j < 2 * nlabels[i]; j++)
			buf_put_uvarint(&body, symoff[labels[i][j]]);
		buf_put_uvarint(&body, 1);
		buf_put_varint(&body, 0);
		buf_put_uvarint(&body, (uint64_t)maxt[i]);
		buf_put_uvarint(&body, ref[i]);
		buf_put_uvarint(b, body.len);
		buf_put_bytes(b, body.p, body.len);
		buf_put_be32(b, crc32c(0, body.p, body.len));
	}
	toc[2] = b->len;
	for (size_t i = 0; i < nindices; i++) {
		pad4(b);
		buf_reset(&body);
		buf_put_be32(&body, (uint32_t)v1_label_indices[i].nnames);
		buf_put_be32(&body, (uint32_t)(v1_label_indices[i].nvalues /
		    v1_label_indices[i].nnames));
		for (int j = 0; j < v1_label_indices[i].nvalues; j++)
			buf_put_be32(&body, (uint32_t)symoff[v1_label_indices[i].values[j]] +
			    (mode == V1_BADSYM && i == 0));
		lioff[i] = put_section(b, &body);
	}
	toc[4] = b->len;
	/* With V1_DUP, a last list repeats the first, under the same name. */
	for (size_t i = 0; i < ntable; i++) {
		size_t k = i < nlists ? i : 0;

		pad4(b);
		buf_reset(&body);
		buf_put_be32(&body, (uint32_t)(v1_members[k][0] + v1_members[k][1] +
		    v1_members[k][2]));
		for (size_t j = 0; j < 3; j++)
			if (v1_members[k][j])
				buf_put_be32(&body, ids[j]);
		postoff[i] = put_section(b, &body);
	}
	toc[3] = b->len;
	buf_reset(&body);
	buf_put_be32(&body, (uint32_t)nindices);
	for (size_t i = 0; i < nindices; i++) {
		buf_put_uvarint(&body, (uint64_t)v1_label_indices[i].nnames);
		for (int j = 0; j < v1_label_indices[i].nnames; j++) {
			const char *name = a3_symbols[v1_label_indices[i].names[j]];

			buf_put_uvarint_str(&body, name, strlen(name));
		}
		buf_put_uvarint(&body, lioff[i]);
	}
	put_section(b, &body);
	toc[5] = b->len;
	buf_reset(&body);
	buf_put_be32(&body, (uint32_t)ntable);
	for (size_t i = 0; i < ntable; i++) {
		size_t k = i < nlists ? i : 0;

		buf_put_uvarint(&body, 2);
		buf_put_uvarint_str(&body, v1_lists[k][0], strlen(v1_lists[k][0]));
		buf_put_uvarint_str(&body, v1_lists[k][1], strlen(v1_lists[k][1]));
		buf_put_uvarint(&body, postoff[i]);
	}
	put_section(b, &body);
	for (size_t i = 0; i < 6; i++)
		be64_put(tocb + 8 * i, toc[i]);
	buf_put_bytes(b, tocb, 48);
	buf_put_be32(b, crc32c(0, tocb, 48));
	buf_free(&body);
}

static void
reader_reads_v1(void)
{
	struct buf b = { 0 };
	struct index_reader *r;
	struct err e;
	uint32_t ids[3];

	build_v1(&b, ids, V1_GOOD);
	if ((r = index_reader_open_mem(b.p, b.len, &e)) == NULL) {
		unit_fail(__FILE__, __LINE__, "%s", e.msg);
	} else {
		CHECK_INT(index_reader_version(r), 1);
		check_a3_content(r, ids);
		CHECK_INT(walk(r, &e), 0);
		index_reader_close(r);
	}
	buf_free(&b);

	build_v1(&b, ids, V1_DUP);
	CHECK(index_reader_open_mem(b.p, b.len, &e) == NULL);
	CHECK(strstr(e.msg, "path=\"C:\\tmp\") not strictly after") != NULL);
	buf_free(&b);

	build_v1(&b, ids, V1_BADSYM);
	CHECK(index_reader_open_mem(b.p, b.len, &e) == NULL);
	CHECK_STR(e.msg, "index: label index 0: value 0 refers to an unknown symbol");
	buf_free(&b);
}

UNIT_CASES(
	UNIT_CASE(writer_matches_appendix_a3),
	UNIT_CASE(reader_decodes_appendix_a3),
	UNIT_CASE(reader_opens_file),
	UNIT_CASE(rewrite_promtool_index_identical),
	UNIT_CASE(series_chunk_delta_encoding),
	UNIT_CASE(writer_rejects_bad_input),
	UNIT_CASE(writer_empty_index),
	UNIT_CASE(writer_reports_write_errors),
	UNIT_CASE(reader_detects_every_flip),
	UNIT_CASE(reader_survives_garbage_behind_valid_crcs),
	UNIT_CASE(reader_checks_behind_valid_crcs),
	UNIT_CASE(reader_rejects_truncation),
	UNIT_CASE(reader_error_messages),
	UNIT_CASE(reader_checks_padding_and_legacy_sections),
	UNIT_CASE(reader_reads_v1),
);
