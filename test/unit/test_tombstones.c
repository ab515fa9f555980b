#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/fileutil.h"
#include "lib/tsdb/crc32c.h"
#include "lib/tsdb/tombstones.h"
#include "test/unit/unit.h"

static const char empty_hex[] = "01 30 ba 30 01 00 00 00 00";

/* §8: written by Prometheus 2.42 (delete_series on the Appendix A block). */
static const char two_hex[] =
    "01 30 ba 30 01  07 a0 1f f0 2e  05 b0 ea 01 e0 d4 03  30 30 99 2b";
static const struct tombstone two[] = {
	{ 7, 2000, 3000 },
	{ 5, 15000, 30000 },
};

static uint8_t *
read_tombstones_file(const char *dir, size_t *len)
{
	char path[512], *data = NULL;
	struct err e;

	snprintf(path, sizeof(path), "%s/tombstones", dir);
	if (file_read_all(path, &data, len, &e) == -1) {
		unit_fail(__FILE__, __LINE__, "%s", e.msg);
		*len = 0;
	}
	return (uint8_t *)data;
}

static void
tombstones_empty_file_is_nine_bytes(void)
{
	const char *dir = unit_tmpdir();
	struct tombstone *ts;
	struct err e;
	uint8_t *got, *want;
	size_t glen, wlen, n;
	char tmp[512];

	CHECK_INT(tombstones_write(dir, NULL, 0, &e), 0);
	got = read_tombstones_file(dir, &glen);
	want = unit_hex(empty_hex, &wlen);
	CHECK_MEM(got, glen, want, wlen);
	snprintf(tmp, sizeof(tmp), "%s/tombstones.tmp", dir);
	CHECK(!path_exists(tmp));
	CHECK_INT(tombstones_read(dir, &ts, &n, &e), 0);
	CHECK_INT(n, 0);
	free(ts);
	free(got);
	free(want);
}

static void
tombstones_prometheus_vector(void)
{
	const char *dir = unit_tmpdir();
	struct tombstone *ts;
	struct err e;
	uint8_t *got, *want;
	size_t glen, wlen, n;

	CHECK_INT(tombstones_write(dir, two, 2, &e), 0);
	got = read_tombstones_file(dir, &glen);
	want = unit_hex(two_hex, &wlen);
	CHECK_MEM(got, glen, want, wlen);

	CHECK_INT(tombstones_decode(want, wlen, &ts, &n, &e), 0);
	CHECK_INT(n, 2);
	for (size_t i = 0; i < n && i < 2; i++) {
		CHECK_INT(ts[i].ref, two[i].ref);
		CHECK_INT(ts[i].mint, two[i].mint);
		CHECK_INT(ts[i].maxt, two[i].maxt);
	}
	free(ts);
	CHECK_INT(tombstones_read(dir, &ts, &n, &e), 0);
	CHECK_INT(n, 2);
	free(ts);
	free(got);
	free(want);
}

static void
tombstones_missing_file_is_none(void)
{
	struct tombstone *ts = (struct tombstone *)1;
	struct err e;
	size_t n = 99;

	CHECK_INT(tombstones_read(unit_tmpdir(), &ts, &n, &e), 0);
	CHECK(ts == NULL);
	CHECK_INT(n, 0);
}

static void
tombstones_corruption_is_rejected(void)
{
	struct tombstone *ts;
	struct err e;
	size_t len, n;
	uint8_t *p = unit_hex(two_hex, &len);

	/* Every single-bit flip: the CRC catches entries and itself; magic, version are checked. */
	for (size_t pos = 0; pos < len; pos++) {
		for (int bit = 0; bit < 8; bit++) {
			p[pos] ^= (uint8_t)(1 << bit);
			CHECK_INT(tombstones_decode(p, len, &ts, &n, &e), -1);
			CHECK(ts == NULL);
			p[pos] ^= (uint8_t)(1 << bit);
		}
	}
	/* Every truncation. */
	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *q = malloc(cut ? cut : 1);

		memcpy(q, p, cut);
		CHECK_INT(tombstones_decode(q, cut, &ts, &n, &e), -1);
		free(q);
	}
	free(p);
}

/* Magic, version, the entry bytes given, then their correct CRC. */
static uint8_t *
with_crc(const uint8_t *entries, size_t n, size_t *len)
{
	uint8_t *p = malloc(5 + n + 4);
	uint32_t crc = crc32c(0, entries, n);

	memcpy(p, "\x01\x30\xba\x30\x01", 5);
	memcpy(p + 5, entries, n);
	p[5 + n] = (uint8_t)(crc >> 24);
	p[6 + n] = (uint8_t)(crc >> 16);
	p[7 + n] = (uint8_t)(crc >> 8);
	p[8 + n] = (uint8_t)crc;
	*len = 5 + n + 4;
	return p;
}

static void
tombstones_bad_entries_with_good_crc(void)
{
	static const uint8_t truncated[] = { 0x07, 0xa0 };
	static const uint8_t unfinished[] = { 0x07, 0xa0, 0x1f, 0xf0 };
	static const uint8_t wide_ref[] = { 0x80, 0x80, 0x80, 0x80, 0x10, 0x00, 0x00 };
	static const uint8_t overflow[] = {
		0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00,
	};
	static const struct tombstone extreme[] = { { UINT32_MAX, INT64_MIN, INT64_MAX } };
	const char *dir = unit_tmpdir();
	struct tombstone *ts;
	struct err e;
	size_t len, n;
	uint8_t *p;

	p = with_crc(truncated, sizeof(truncated), &len);
	CHECK_INT(tombstones_decode(p, len, &ts, &n, &e), -1);
	free(p);
	p = with_crc(unfinished, sizeof(unfinished), &len);
	CHECK_INT(tombstones_decode(p, len, &ts, &n, &e), -1);
	free(p);
	p = with_crc(wide_ref, sizeof(wide_ref), &len);
	CHECK_INT(tombstones_decode(p, len, &ts, &n, &e), -1);
	CHECK(strstr(e.msg, "series ID") != NULL);
	free(p);
	p = with_crc(overflow, sizeof(overflow), &len);
	CHECK_INT(tombstones_decode(p, len, &ts, &n, &e), -1);
	free(p);
	p = with_crc(unfinished, 3, &len);
	CHECK_INT(tombstones_decode(p, len, &ts, &n, &e), -1);
	free(p);

	CHECK_INT(tombstones_write(dir, extreme, 1, &e), 0);
	CHECK_INT(tombstones_read(dir, &ts, &n, &e), 0);
	CHECK_INT(n, 1);
	if (n == 1) {
		CHECK_U64(ts[0].ref, UINT32_MAX);
		CHECK_INT(ts[0].mint, INT64_MIN);
		CHECK_INT(ts[0].maxt, INT64_MAX);
	}
	free(ts);
}

static void
tombstones_many_entries_roundtrip(void)
{
	static struct tombstone in[1000];
	const char *dir = unit_tmpdir();
	struct tombstone *out;
	struct err e;
	size_t n;

	for (size_t i = 0; i < 1000; i++) {
		in[i].ref = (uint32_t)(i * 2654435761u);
		in[i].mint = (int64_t)i * 1000 - 500000;
		in[i].maxt = in[i].mint + (int64_t)(i * i);
	}
	CHECK_INT(tombstones_write(dir, in, 1000, &e), 0);
	CHECK_INT(tombstones_read(dir, &out, &n, &e), 0);
	CHECK_INT(n, 1000);
	for (size_t i = 0; i < n && i < 1000; i++) {
		CHECK_INT(out[i].ref, in[i].ref);
		CHECK_INT(out[i].mint, in[i].mint);
		CHECK_INT(out[i].maxt, in[i].maxt);
	}
	free(out);
}

static void
tombstones_write_to_missing_dir_fails(void)
{
	char dir[512];
	struct err e;

	snprintf(dir, sizeof(dir), "%s/nope/deeper", unit_tmpdir());
	CHECK_INT(tombstones_write(dir, two, 2, &e), -1);
	CHECK(e.msg[0] != '\0');
}

UNIT_CASES(
	UNIT_CASE(tombstones_empty_file_is_nine_bytes),
	UNIT_CASE(tombstones_prometheus_vector),
	UNIT_CASE(tombstones_missing_file_is_none),
	UNIT_CASE(tombstones_corruption_is_rejected),
	UNIT_CASE(tombstones_bad_entries_with_good_crc),
	UNIT_CASE(tombstones_many_entries_roundtrip),
	UNIT_CASE(tombstones_write_to_missing_dir_fails),
);
