#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/fileutil.h"
#include "lib/tsdb/meta.h"
#include "test/unit/unit.h"

/* meta.json of spec §2 (promtool 2.42, Appendix A): 247 bytes, no newline. */
static const char want_spec[] =
	"{\n"
	"\t\"ulid\": \"01M88BY1HQDGQ7BEHE8CMZKQ45\",\n"
	"\t\"minTime\": 0,\n"
	"\t\"maxTime\": 90001,\n"
	"\t\"stats\": {\n"
	"\t\t\"numSamples\": 13,\n"
	"\t\t\"numSeries\": 3,\n"
	"\t\t\"numChunks\": 3\n"
	"\t},\n"
	"\t\"compaction\": {\n"
	"\t\t\"level\": 1,\n"
	"\t\t\"sources\": [\n"
	"\t\t\t\"01M88BY1HQDGQ7BEHE8CMZKQ45\"\n"
	"\t\t]\n"
	"\t},\n"
	"\t\"version\": 1\n"
	"}";

/*
 * The rest were printed by Go 1.19's encoding/json (MarshalIndent for the
 * Prometheus layout; an Encoder with SetIndent("", "\t") for Thanos) from
 * structs with the json tags of tsdb/block.go and Thanos v0.31.0's
 * metadata.Thanos.
 */
static const char want_full[] =
	"{\n"
	"\t\"ulid\": \"01M88BY1HQDGQ7BEHE8CMZKQ45\",\n"
	"\t\"minTime\": -1000,\n"
	"\t\"maxTime\": 9223372036854775807,\n"
	"\t\"stats\": {\n"
	"\t\t\"numSamples\": 9223372036854775807,\n"
	"\t\t\"numTombstones\": 2\n"
	"\t},\n"
	"\t\"compaction\": {\n"
	"\t\t\"level\": 3,\n"
	"\t\t\"sources\": [\n"
	"\t\t\t\"01M88BY1HQDGQ7BEHE8CMZKQ45\",\n"
	"\t\t\t\"01M88BY1HQDGQ7BEHE8CMZKQ46\"\n"
	"\t\t],\n"
	"\t\t\"deletable\": true,\n"
	"\t\t\"parents\": [\n"
	"\t\t\t{\n"
	"\t\t\t\t\"ulid\": \"01M88BY1HQDGQ7BEHE8CMZKQ45\",\n"
	"\t\t\t\t\"minTime\": 0,\n"
	"\t\t\t\t\"maxTime\": 7200000\n"
	"\t\t\t},\n"
	"\t\t\t{\n"
	"\t\t\t\t\"ulid\": \"01M88BY1HQDGQ7BEHE8CMZKQ46\",\n"
	"\t\t\t\t\"minTime\": 7200000,\n"
	"\t\t\t\t\"maxTime\": 14400000\n"
	"\t\t\t}\n"
	"\t\t],\n"
	"\t\t\"failed\": true,\n"
	"\t\t\"hints\": [\n"
	"\t\t\t\"from-out-of-order\"\n"
	"\t\t]\n"
	"\t},\n"
	"\t\"version\": 1\n"
	"}";

static const char want_empty[] =
	"{\n"
	"\t\"ulid\": \"01M88BY1HQDGQ7BEHE8CMZKQ45\",\n"
	"\t\"minTime\": 0,\n"
	"\t\"maxTime\": 0,\n"
	"\t\"stats\": {},\n"
	"\t\"compaction\": {\n"
	"\t\t\"level\": 0\n"
	"\t},\n"
	"\t\"version\": 1\n"
	"}";

static const char want_thanos[] =
	"{\n"
	"\t\"ulid\": \"01M88BY1HQDGQ7BEHE8CMZKQ45\",\n"
	"\t\"minTime\": 0,\n"
	"\t\"maxTime\": 90001,\n"
	"\t\"stats\": {\n"
	"\t\t\"numSamples\": 13,\n"
	"\t\t\"numSeries\": 3,\n"
	"\t\t\"numChunks\": 3\n"
	"\t},\n"
	"\t\"compaction\": {\n"
	"\t\t\"level\": 1,\n"
	"\t\t\"sources\": [\n"
	"\t\t\t\"01M88BY1HQDGQ7BEHE8CMZKQ45\"\n"
	"\t\t]\n"
	"\t},\n"
	"\t\"version\": 1,\n"
	"\t\"thanos\": {\n"
	"\t\t\"version\": 1,\n"
	"\t\t\"labels\": {\n"
	"\t\t\t\"cluster\": \"eu\\u2028\\u0001\\u0008\\u000c\\t\\n\\r\x7f" "\xc3" "\xa9" "\",\n"
	"\t\t\t\"replica\": \"r\\u003c1\\u003e\\u0026\\\"\\\\\"\n"
	"\t\t},\n"
	"\t\t\"downsample\": {\n"
	"\t\t\t\"resolution\": 300000\n"
	"\t\t},\n"
	"\t\t\"source\": \"receive\",\n"
	"\t\t\"segment_files\": [\n"
	"\t\t\t\"000001\",\n"
	"\t\t\t\"000002\"\n"
	"\t\t],\n"
	"\t\t\"files\": [\n"
	"\t\t\t{\n"
	"\t\t\t\t\"rel_path\": \"chunks/000001\",\n"
	"\t\t\t\t\"size_bytes\": 4096\n"
	"\t\t\t},\n"
	"\t\t\t{\n"
	"\t\t\t\t\"rel_path\": \"index\",\n"
	"\t\t\t\t\"size_bytes\": 1234\n"
	"\t\t\t},\n"
	"\t\t\t{\n"
	"\t\t\t\t\"rel_path\": \"meta.json\"\n"
	"\t\t\t}\n"
	"\t\t]\n"
	"\t}\n"
	"}\n"
	"";

static const char want_thanos_min[] =
	"{\n"
	"\t\"ulid\": \"01M88BY1HQDGQ7BEHE8CMZKQ45\",\n"
	"\t\"minTime\": 0,\n"
	"\t\"maxTime\": 0,\n"
	"\t\"stats\": {},\n"
	"\t\"compaction\": {\n"
	"\t\t\"level\": 0\n"
	"\t},\n"
	"\t\"version\": 1,\n"
	"\t\"thanos\": {\n"
	"\t\t\"labels\": {},\n"
	"\t\t\"downsample\": {\n"
	"\t\t\t\"resolution\": 0\n"
	"\t\t},\n"
	"\t\t\"source\": \"sidecar\"\n"
	"\t}\n"
	"}\n"
	"";

static void
spec_meta(struct block_meta *m)
{
	memset(m, 0, sizeof(*m));
	strlcpy(m->ulid, "01M88BY1HQDGQ7BEHE8CMZKQ45", sizeof(m->ulid));
	m->min_time = 0;
	m->max_time = 90001;
	m->num_samples = 13;
	m->num_series = 3;
	m->num_chunks = 3;
	m->level = 1;
	m->version = 1;
	meta_add_source(m, m->ulid);
}

static void
check_encode(int line, const struct block_meta *m, int nl, const char *want, size_t wantlen)
{
	struct buf b = { 0 };

	meta_encode(m, &b, nl);
	if (b.len != wantlen || memcmp(b.p, want, wantlen) != 0)
		unit_fail(__FILE__, line, "encoding differs:\n%.*s\n--- want:\n%s",
		    (int)b.len, (const char *)b.p, want);
	buf_free(&b);
}

/* Decode, compare fields through a re-encode, byte for byte. */
static void
check_round_trip(int line, const char *json, size_t len, int nl)
{
	struct block_meta m;
	struct err e = { "" };

	if (meta_decode(json, len, &m, &e) == -1) {
		unit_fail(__FILE__, line, "decode: %s", e.msg);
		return;
	}
	check_encode(line, &m, nl, json, len);
	meta_free(&m);
}

static void
meta_spec_example_byte_for_byte(void)
{
	struct block_meta m;
	struct buf b = { 0 };

	spec_meta(&m);
	meta_encode(&m, &b, 0);
	CHECK_INT(b.len, 247);
	CHECK_MEM(b.p, b.len, want_spec, sizeof(want_spec) - 1);
	CHECK_INT(b.p[b.len - 1], '}');
	buf_free(&b);
	meta_free(&m);
	check_round_trip(__LINE__, want_spec, sizeof(want_spec) - 1, 0);
}

static void
meta_every_prometheus_field(void)
{
	struct block_meta m;
	static const char *hints[] = { "from-out-of-order" };
	struct block_desc parents[2] = {
		{ "01M88BY1HQDGQ7BEHE8CMZKQ45", 0, 7200000 },
		{ "01M88BY1HQDGQ7BEHE8CMZKQ46", 7200000, 14400000 },
	};

	memset(&m, 0, sizeof(m));
	strlcpy(m.ulid, "01M88BY1HQDGQ7BEHE8CMZKQ45", sizeof(m.ulid));
	m.min_time = -1000;
	m.max_time = INT64_MAX;
	m.num_samples = (uint64_t)INT64_MAX;
	m.num_tombstones = 2;
	m.level = 3;
	m.sources = (char (*)[ULID_LEN + 1])"01M88BY1HQDGQ7BEHE8CMZKQ45\0" "01M88BY1HQDGQ7BEHE8CMZKQ46";
	m.nsources = 2;
	m.deletable = 1;
	m.parents = parents;
	m.nparents = 2;
	m.failed = 1;
	m.hints = (char **)hints;
	m.nhints = 1;
	m.version = 1;
	check_encode(__LINE__, &m, 0, want_full, sizeof(want_full) - 1);
	check_round_trip(__LINE__, want_full, sizeof(want_full) - 1, 0);

	memset(&m, 0, sizeof(m));
	strlcpy(m.ulid, "01M88BY1HQDGQ7BEHE8CMZKQ45", sizeof(m.ulid));
	m.version = 1;
	check_encode(__LINE__, &m, 0, want_empty, sizeof(want_empty) - 1);
	check_round_trip(__LINE__, want_empty, sizeof(want_empty) - 1, 0);
}

static void
meta_thanos_section(void)
{
	struct block_meta m;

	spec_meta(&m);
	m.thanos.version = 1;
	/* Added out of order: the helpers sort labels and files. */
	meta_thanos_add_label(&m, "replica", "x");
	meta_thanos_add_label(&m, "cluster", "eu\xe2\x80\xa8\x01\b\f\t\n\r\x7f\xc3\xa9");
	meta_thanos_add_label(&m, "replica", "r<1>&\"\\");
	m.thanos.downsample_resolution = 300000;
	m.thanos.source = strdup("receive");
	m.thanos.segment_files = calloc(2, sizeof(char *));
	m.thanos.segment_files[0] = strdup("000001");
	m.thanos.segment_files[1] = strdup("000002");
	m.thanos.nsegment_files = 2;
	meta_thanos_add_file(&m, "meta.json", 0);
	meta_thanos_add_file(&m, "index", 1234);
	meta_thanos_add_file(&m, "chunks/000001", 4096);
	CHECK(m.has_thanos);
	check_encode(__LINE__, &m, 1, want_thanos, sizeof(want_thanos) - 1);
	check_round_trip(__LINE__, want_thanos, sizeof(want_thanos) - 1, 1);
	meta_free(&m);
	CHECK(m.thanos.nlabels == 0 && m.thanos.label_names == NULL);
	CHECK(m.thanos.nfiles == 0 && m.sources == NULL);

	memset(&m, 0, sizeof(m));
	strlcpy(m.ulid, "01M88BY1HQDGQ7BEHE8CMZKQ45", sizeof(m.ulid));
	m.version = 1;
	m.has_thanos = 1;
	m.thanos.source = strdup("sidecar");
	check_encode(__LINE__, &m, 1, want_thanos_min, sizeof(want_thanos_min) - 1);
	check_round_trip(__LINE__, want_thanos_min, sizeof(want_thanos_min) - 1, 1);
	meta_free(&m);
}

/* Go replaces bytes that are not UTF-8 (one \ufffd per byte) and escapes U+2029. */
static void
meta_string_escaping_like_go(void)
{
	struct block_meta m;
	struct buf b = { 0 };
	const char *want = "\"k\": \"a\\ufffdb\\ufffd\\ufffd\\ufffdc\\u2029d\xf0\x9f\x98\x80\"";

	memset(&m, 0, sizeof(m));
	strlcpy(m.ulid, "01M88BY1HQDGQ7BEHE8CMZKQ45", sizeof(m.ulid));
	meta_thanos_add_label(&m, "k", "a\xff" "b\xed\xa0\x80" "c\xe2\x80\xa9" "d\xf0\x9f\x98\x80");
	meta_encode(&m, &b, 1);
	buf_put_u8(&b, '\0');
	CHECK(strstr((const char *)b.p, want) != NULL);
	buf_free(&b);
	meta_free(&m);
}

static void
meta_decode_normalises_and_ignores_unknown(void)
{
	static const char in[] = "{\"ulid\":\"01m88by1hqdgq7behe8cmzkq45\",\"minTime\":5,"
	    "\"maxTime\":6,\"extra\":[1,{}],\"stats\":{\"numSeries\":1,\"x\":null},"
	    "\"compaction\":{\"level\":2,\"sources\":null},\"version\":1,"
	    "\"thanos\":{\"labels\":{\"b\":\"2\",\"a\":\"1\"},\"rewrites\":[],"
	    "\"files\":[{\"rel_path\":\"index\",\"hash\":{\"hashFunc\":\"SHA256\"}}]}}";
	struct block_meta m;
	struct err e = { "" };

	CHECK_INT(meta_decode(in, sizeof(in) - 1, &m, &e), 0);
	CHECK_STR(m.ulid, "01M88BY1HQDGQ7BEHE8CMZKQ45");
	CHECK_INT(m.min_time, 5);
	CHECK_INT(m.max_time, 6);
	CHECK_U64(m.num_series, 1);
	CHECK_INT(m.level, 2);
	CHECK_INT(m.nsources, 0);
	CHECK_INT(m.version, 1);
	CHECK(m.has_thanos);
	CHECK_INT(m.thanos.nlabels, 2);
	if (m.thanos.nlabels == 2) {
		CHECK_STR(m.thanos.label_names[0], "a");
		CHECK_STR(m.thanos.label_values[1], "2");
	}
	CHECK_INT(m.thanos.nfiles, 1);
	CHECK(m.thanos.source == NULL);
	meta_free(&m);
}

static void
meta_decode_rejects_junk(void)
{
	static const struct {
		const char	*json;
		const char	*msg;	/* part of the error */
	} bad[] = {
		{ "", "line" },
		{ "[]", "not a JSON object" },
		{ "{\"ulid\":\"01M88BY1HQDGQ7BEHE8CMZKQ45\",\"version\":1", "line" },
		{ "{\"version\":1}", "ulid" },
		{ "{\"ulid\":\"01M88BY1HQDGQ7BEHE8CMZKQ4I\",\"version\":1}", "invalid ULID" },
		{ "{\"ulid\":\"81M88BY1HQDGQ7BEHE8CMZKQ45\",\"version\":1}", "invalid ULID" },
		{ "{\"ulid\":7,\"version\":1}", "ulid" },
		{ "{\"ulid\":\"01M88BY1HQDGQ7BEHE8CMZKQ45\"}", "version 0" },
		{ "{\"ulid\":\"01M88BY1HQDGQ7BEHE8CMZKQ45\",\"version\":2}", "version 2" },
		{ "{\"ulid\":\"01M88BY1HQDGQ7BEHE8CMZKQ45\",\"version\":\"1\"}", "version: not an integer" },
		{ "{\"ulid\":\"01M88BY1HQDGQ7BEHE8CMZKQ45\",\"version\":1,\"minTime\":1.5}", "minTime" },
		{ "{\"ulid\":\"01M88BY1HQDGQ7BEHE8CMZKQ45\",\"version\":1,\"stats\":[]}", "stats" },
		{ "{\"ulid\":\"01M88BY1HQDGQ7BEHE8CMZKQ45\",\"version\":1,\"stats\":{\"numSamples\":-1}}", "numSamples" },
		{ "{\"ulid\":\"01M88BY1HQDGQ7BEHE8CMZKQ45\",\"version\":1,\"compaction\":{\"level\":4294967296}}", "level" },
		{ "{\"ulid\":\"01M88BY1HQDGQ7BEHE8CMZKQ45\",\"version\":1,\"compaction\":{\"sources\":[\"01M88BY1HQDGQ7BEHE8CMZKQ45\",\"x\"]}}", "sources[1]" },
		{ "{\"ulid\":\"01M88BY1HQDGQ7BEHE8CMZKQ45\",\"version\":1,\"compaction\":{\"deletable\":1}}", "deletable" },
		{ "{\"ulid\":\"01M88BY1HQDGQ7BEHE8CMZKQ45\",\"version\":1,\"compaction\":{\"parents\":[{\"ulid\":\"01M88BY1HQDGQ7BEHE8CMZKQ45\",\"minTime\":\"0\"}]}}", "parents[0].minTime" },
		{ "{\"ulid\":\"01M88BY1HQDGQ7BEHE8CMZKQ45\",\"version\":1,\"compaction\":{\"hints\":[\"a\",3]}}", "hints[1]" },
		{ "{\"ulid\":\"01M88BY1HQDGQ7BEHE8CMZKQ45\",\"version\":1,\"thanos\":[]}", "thanos" },
		{ "{\"ulid\":\"01M88BY1HQDGQ7BEHE8CMZKQ45\",\"version\":1,\"thanos\":{\"labels\":{\"a\":\"b\",\"c\":1}}}", "thanos.labels.c" },
		{ "{\"ulid\":\"01M88BY1HQDGQ7BEHE8CMZKQ45\",\"version\":1,\"thanos\":{\"source\":5}}", "thanos.source" },
		{ "{\"ulid\":\"01M88BY1HQDGQ7BEHE8CMZKQ45\",\"version\":1,\"thanos\":{\"files\":[{\"size_bytes\":3}]}}", "rel_path: missing" },
		{ "{\"ulid\":\"01M88BY1HQDGQ7BEHE8CMZKQ45\",\"version\":1,\"thanos\":{\"segment_files\":\"000001\"}}", "segment_files" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct block_meta m;
		struct err e = { "" };

		if (meta_decode(bad[i].json, strlen(bad[i].json), &m, &e) != -1) {
			unit_fail(__FILE__, __LINE__, "case %zu accepted", i);
			meta_free(&m);
			continue;
		}
		if (strstr(e.msg, bad[i].msg) == NULL)
			unit_fail(__FILE__, __LINE__, "case %zu: error \"%s\" lacks \"%s\"",
			    i, e.msg, bad[i].msg);
		CHECK(m.sources == NULL && m.thanos.label_names == NULL && m.thanos.files == NULL);
	}
}

static void
meta_write_and_read(void)
{
	const char *dir = unit_tmpdir();
	struct block_meta m, back;
	struct err e = { "" };
	char path[512], *data;
	size_t len;

	spec_meta(&m);
	CHECK_INT(meta_write(dir, &m, &e), 0);
	snprintf(path, sizeof(path), "%s/meta.json", dir);
	CHECK_INT(file_read_all(path, &data, &len, &e), 0);
	CHECK_MEM(data, len, want_spec, sizeof(want_spec) - 1);
	free(data);
	snprintf(path, sizeof(path), "%s/meta.json.tmp", dir);
	CHECK(!path_exists(path));
	CHECK_INT(meta_read(dir, &back, &e), 0);
	CHECK_STR(back.ulid, m.ulid);
	CHECK_INT(back.nsources, 1);
	CHECK_U64(back.num_samples, 13);
	meta_free(&back);

	/* A meta with a Thanos section is written the Thanos way: trailing newline. */
	meta_thanos_add_label(&m, "a", "b");
	CHECK_INT(meta_write(dir, &m, &e), 0);
	snprintf(path, sizeof(path), "%s/meta.json", dir);
	CHECK_INT(file_read_all(path, &data, &len, &e), 0);
	CHECK(len > 0 && data[len - 1] == '\n');
	free(data);
	meta_free(&m);

	snprintf(path, sizeof(path), "%s/missing", dir);
	CHECK_INT(meta_read(path, &back, &e), -1);
	CHECK(strstr(e.msg, "meta.json") != NULL);
}

UNIT_CASES(
	UNIT_CASE(meta_spec_example_byte_for_byte),
	UNIT_CASE(meta_every_prometheus_field),
	UNIT_CASE(meta_thanos_section),
	UNIT_CASE(meta_string_escaping_like_go),
	UNIT_CASE(meta_decode_normalises_and_ignores_unknown),
	UNIT_CASE(meta_decode_rejects_junk),
	UNIT_CASE(meta_write_and_read),
);
