#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base/fileutil.h"
#include "lib/tsdb/crc32c.h"
#include "lib/tsdb/encoding.h"
#include "lib/tsdb/wal.h"
#include "lib/tsdb/walrec.h"
#include "test/unit/unit.h"

/* §12.1: wal/00000000 as Prometheus 2.42 wrote it, --no-storage.tsdb.wal-compression. */
static const char raw_hex[] =
    "01006892e1f7e601000000000000000103085f5f6e616d655f5f1364656d6f5f"
    "72657175657374735f746f74616c08696e7374616e63650161036a6f62046465"
    "6d6f000000000000000202085f5f6e616d655f5f1164656d6f5f74656d705f63"
    "656c73697573036a6f620464656d6f0100310c67e6b202000000000000000100"
    "00018bcfe5680000003ff000000000000000b0ea014000000000000000020040"
    "35800000000000";

/* §12.2: the same request, default (snappy-compressed) WAL. */
static const char snappy_hex[] =
    "09005ba44e1ad4680401000901b80103085f5f6e616d655f5f1364656d6f5f72"
    "657175657374735f746f74616c08696e7374616e63650161036a6f6204012309"
    "3908000202153a00110117545f74656d705f63656c73697573036a6f62046465"
    "6d6f090029c146a97531040200090130010000018bcfe5680000003ff0091310"
    "00b0ea01400d0b2402004035800000000000";

/* §12.3: exemplars and a native histogram, uncompressed, 204 bytes. */
static const char ex_hist_hex[] =
    "01001ceb75a59501000000000000000101085f5f6e616d655f5f0865785f746f"
    "74616c01001b6e8ac4b60200000000000000010000018bcfe568000000401400"
    "0000000000010029ec51c1ce0400000000000000010000018bcfe5680000003f"
    "f8000000000000010874726163655f69640361626301001ac125295101000000"
    "000000000201085f5f6e616d655f5f06686973745f6101002f75ac9d37070000"
    "0000000000020000018bcfe56800000000003f50624dd2f1a9fc010340120000"
    "000000000100020002020000";

static uint8_t *
demo(size_t *len)
{
	return unit_hex(raw_hex, len);
}

/* The two records of §12 (series, samples), as the demo file holds them. */
static void
demo_records(struct iovec rec[2], uint8_t **file)
{
	size_t len;

	*file = demo(&len);
	rec[0].iov_base = *file + 7;
	rec[0].iov_len = 104;
	rec[1].iov_base = *file + 118;
	rec[1].iov_len = 49;
}

static uint8_t *
read_file(const char *dir, const char *name, size_t *len)
{
	char path[512], *data = NULL;
	struct err e;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (file_read_all(path, &data, len, &e) == -1) {
		*len = 0;
		return NULL;
	}
	return (uint8_t *)data;
}

static void
write_file(const char *dir, const char *name, const void *p, size_t len)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	CHECK(fp != NULL);
	if (fp == NULL)
		return;
	CHECK(fwrite(p, 1, len, fp) == len);
	fclose(fp);
}

static off_t
file_size(const char *dir, const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 ? st.st_size : -1;
}

static char *
subdir(const char *name)
{
	static char path[4][512];
	static int k;
	char *p = path[k++ % 4];

	snprintf(p, 512, "%s/%s", unit_tmpdir(), name);
	mkdir_p(p, 0777, NULL);
	return p;
}

/* Read every record of a memory segment; returns the count, -1 on error (why in e). */
static int
count_mem(const uint8_t *p, size_t len, struct err *e)
{
	struct wal_reader *r = wal_reader_new();
	const uint8_t *rec;
	size_t n;
	int rc, k = 0;

	wal_reader_add_mem(r, p, len);
	while ((rc = wal_reader_next(r, &rec, &n, e)) == 1)
		k++;
	wal_reader_free(r);
	return rc == -1 ? -1 : k;
}

/* A deterministic record of len bytes, varied enough that snappy keeps some of it. */
static uint8_t *
pattern(size_t len, unsigned seed)
{
	uint8_t *p = malloc(len ? len : 1);
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (i % 7 == 0) ? (uint8_t)(x >> 24) : (uint8_t)('a' + i % 5);
	}
	return p;
}

static void
wal_writes_demo_segment_byte_for_byte(void)
{
	const char *dir = subdir("wal");
	struct iovec rec[2];
	struct wal *w;
	struct err e;
	uint8_t *want, *got;
	size_t wantlen, gotlen;

	demo_records(rec, &want);
	wantlen = 167;
	CHECK(wal_open(&w, dir, NULL, NULL, &e) == 0);
	/* Prometheus logs each record type with its own Log call. */
	CHECK(wal_log(w, &rec[0], 1, &e) == 0);
	CHECK(wal_flush(w, &e) == 0);
	CHECK(wal_log(w, &rec[1], 1, &e) == 0);
	CHECK_INT(wal_pending(w), 56);
	CHECK(wal_sync(w, &e) == 0);
	CHECK_INT(wal_pending(w), 0);
	got = read_file(dir, "00000000", &gotlen);
	CHECK_MEM(got, gotlen, want, wantlen);
	free(got);
	CHECK(wal_close(w, &e) == 0);
	got = read_file(dir, "00000000", &gotlen);
	CHECK_INT(gotlen, WAL_PAGE_SIZE);	/* a clean close pads the page */
	CHECK_MEM(got, 167, want, wantlen);
	for (size_t i = 167; i < gotlen; i++)
		if (got[i] != 0) {
			CHECK(got[i] == 0);
			break;
		}
	free(got);

	/* One Log call with both records: the same bytes. */
	dir = subdir("wal2");
	CHECK(wal_open(&w, dir, NULL, NULL, &e) == 0);
	CHECK(wal_log(w, rec, 2, &e) == 0);
	CHECK(wal_flush(w, &e) == 0);
	got = read_file(dir, "00000000", &gotlen);
	CHECK_MEM(got, gotlen, want, wantlen);
	free(got);
	CHECK(wal_close(w, &e) == 0);
	free(want);
}

static void
wal_writes_exemplar_histogram_segment_byte_for_byte(void)
{
	const char *dir = subdir("wal");
	struct wal_reader *r = wal_reader_new();
	struct iovec v[8];
	uint8_t *want, *got, *copies[8];
	size_t wantlen, gotlen, n = 0, len;
	const uint8_t *p;
	struct wal *w;
	struct err e;

	want = unit_hex(ex_hist_hex, &wantlen);
	CHECK_INT(wantlen, 204);
	wal_reader_add_mem(r, want, wantlen);
	while (n < 8 && wal_reader_next(r, &p, &len, &e) == 1) {
		copies[n] = malloc(len);
		memcpy(copies[n], p, len);
		v[n].iov_base = copies[n];
		v[n].iov_len = len;
		n++;
	}
	wal_reader_free(r);
	CHECK_INT(n, 5);
	CHECK(wal_open(&w, dir, NULL, NULL, &e) == 0);
	for (size_t i = 0; i < n; i++) {
		CHECK(wal_log(w, v + i, 1, &e) == 0);
		CHECK(wal_flush(w, &e) == 0);
	}
	got = read_file(dir, "00000000", &gotlen);
	CHECK_MEM(got, gotlen, want, wantlen);
	CHECK(wal_close(w, &e) == 0);
	for (size_t i = 0; i < n; i++)
		free(copies[i]);
	free(got);
	free(want);
}

static void
wal_reads_prometheus_segments_raw_and_snappy(void)
{
	uint8_t *raw, *z;
	size_t rawlen, zlen;
	const char *hexes[2] = { raw_hex, snappy_hex };

	raw = demo(&rawlen);
	z = unit_hex(snappy_hex, &zlen);
	CHECK_INT(zlen, 146);
	for (int k = 0; k < 2; k++) {
		struct wal_reader *r = wal_reader_new();
		const uint8_t *rec;
		size_t len, plen;
		uint8_t *p = unit_hex(hexes[k], &plen);
		struct err e;
		int seg;
		uint64_t start, end;

		wal_reader_add_mem(r, p, plen);
		CHECK_INT(wal_reader_next(r, &rec, &len, &e), 1);
		CHECK_MEM(rec, len, raw + 7, 104);
		wal_reader_pos(r, &seg, &start, &end);
		CHECK_INT(seg, 0);
		CHECK_INT(start, 0);
		CHECK_INT(end, k ? 98 : 111);
		seg = -1;
		wal_reader_pos(r, &seg, NULL, NULL);
		CHECK_INT(seg, 0);
		CHECK_INT(wal_reader_next(r, &rec, &len, &e), 1);
		CHECK_MEM(rec, len, raw + 118, 49);
		CHECK_INT(wal_reader_next(r, &rec, &len, &e), 0);
		wal_reader_free(r);
		free(p);
	}
	free(raw);
	free(z);
}

static void
wal_compressed_writes_read_back(void)
{
	const char *dir = subdir("wal");
	struct wal_opts o = { 0, 1 };
	struct iovec rec[2];
	struct wal *w;
	struct err e;
	struct wal_reader *r;
	const uint8_t *p;
	uint8_t *file, *got;
	size_t gotlen, len;

	demo_records(rec, &file);
	CHECK(wal_open(&w, dir, &o, NULL, &e) == 0);
	CHECK(wal_compressing(w));
	CHECK(wal_log(w, rec, 2, &e) == 0);
	CHECK(wal_close(w, &e) == 0);
	got = read_file(dir, "00000000", &gotlen);
	CHECK_INT(gotlen, WAL_PAGE_SIZE);
	CHECK_INT(got[0], WAL_FRAG_FULL | WAL_FRAG_SNAPPY);
	/* libsnappy's series record is 92 bytes where Go's is 91 (§12.2). */
	CHECK(((size_t)got[1] << 8 | got[2]) < 104);
	free(got);

	r = wal_reader_new();
	CHECK(wal_reader_add(r, dir, -1, -1, 0, &e) == 0);
	CHECK_INT(wal_reader_next(r, &p, &len, &e), 1);
	CHECK_MEM(p, len, rec[0].iov_base, rec[0].iov_len);
	CHECK_INT(wal_reader_next(r, &p, &len, &e), 1);
	CHECK_MEM(p, len, rec[1].iov_base, rec[1].iov_len);
	/* the empty segment 00000001 that a reopen would add is not there yet */
	CHECK_INT(wal_reader_next(r, &p, &len, &e), 0);
	wal_reader_free(r);
	free(file);
}

/* Random records of many sizes through every page and segment case. */
static void
wal_round_trips_records_of_every_size(void)
{
	static const size_t sizes[] = {
		0, 1, 6, 7, 100, 32754, 32755, 32760, 32761, 32762, 40000, 65522,
		65536, 100000, 5, 32761 * 3, 200000, 0, 3,
	};
	for (int comp = 0; comp < 2; comp++) {
		char name[16];
		const char *dir;
		struct wal_opts o = { 4 * WAL_PAGE_SIZE, comp };
		struct wal *w;
		struct wal_reader *r;
		struct err e;
		uint8_t *recs[64];
		size_t lens[64], n = 0;
		const uint8_t *p;
		size_t len;
		int first, last;

		snprintf(name, sizeof(name), "wal%d", comp);
		dir = subdir(name);
		CHECK(wal_open(&w, dir, &o, NULL, &e) == 0);
		for (int round = 0; round < 3; round++) {
			for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
				struct iovec v;

				lens[n] = sizes[i];
				recs[n] = pattern(sizes[i], (unsigned)(n + 1));
				v.iov_base = recs[n];
				v.iov_len = lens[n];
				n++;
				CHECK(wal_log(w, &v, 1, &e) == 0);
				if (i % 3 == (size_t)round)
					CHECK(wal_flush(w, &e) == 0);
			}
		}
		CHECK(wal_close(w, &e) == 0);
		CHECK(wal_segments(dir, &first, &last, &e) == 0);
		CHECK_INT(first, 0);
		CHECK(last > 3);

		r = wal_reader_new();
		CHECK(wal_reader_add(r, dir, -1, -1, 0, &e) == 0);
		for (size_t i = 0; i < n; i++) {
			int rc = wal_reader_next(r, &p, &len, &e);

			CHECK_INT(rc, 1);
			if (rc != 1) {
				unit_fail(__FILE__, __LINE__, "record %zu: %s", i, e.msg);
				break;
			}
			CHECK_MEM(p, len, recs[i], lens[i]);
		}
		CHECK_INT(wal_reader_next(r, &p, &len, &e), 0);
		wal_reader_free(r);

		/* Every segment but the oversize ones stays within 4 pages, whole pages. */
		for (int s = first; s <= last; s++) {
			char seg[16];
			off_t sz;

			snprintf(seg, sizeof(seg), "%08d", s);
			sz = file_size(dir, seg);
			CHECK(sz % WAL_PAGE_SIZE == 0);
		}
		for (size_t i = 0; i < n; i++)
			free(recs[i]);
	}
}

static void
wal_fragments_at_page_edges(void)
{
	const char *dir = subdir("wal");
	struct wal *w;
	struct err e;
	uint8_t *a = pattern(32768 - 7 - 7 - 7, 1), *b = pattern(20, 2), *got;
	struct iovec v[2] = { { a, 32768 - 21 }, { b, 20 } };
	size_t gotlen;

	/* The first record leaves 14 bytes: b's FIRST fragment gets 7 of them. */
	CHECK(wal_open(&w, dir, NULL, NULL, &e) == 0);
	CHECK(wal_log(w, v, 2, &e) == 0);
	CHECK(wal_close(w, &e) == 0);
	got = read_file(dir, "00000000", &gotlen);
	CHECK_INT(gotlen, 2 * WAL_PAGE_SIZE);
	if (gotlen == 2 * WAL_PAGE_SIZE) {
		size_t o = 32768 - 14;

		CHECK_INT(got[0], WAL_FRAG_FULL);
		CHECK_INT(got[o], WAL_FRAG_FIRST);
		CHECK_INT(got[o + 1] << 8 | got[o + 2], 7);
		CHECK_U64(be32_get(got + o + 3), crc32c(0, b, 7));
		CHECK_INT(got[32768], WAL_FRAG_LAST);
		CHECK_INT(got[32769] << 8 | got[32770], 13);
	}
	free(got);
	free(a);

	/* Exactly 7 bytes left: a FIRST fragment with no payload. */
	dir = subdir("wal2");
	a = pattern(32768 - 14, 3);
	v[0].iov_base = a;
	v[0].iov_len = 32768 - 14;
	CHECK(wal_open(&w, dir, NULL, NULL, &e) == 0);
	CHECK(wal_log(w, v, 2, &e) == 0);
	CHECK(wal_flush(w, &e) == 0);
	got = read_file(dir, "00000000", &gotlen);
	CHECK_INT(gotlen, 32768 + 7 + 20);
	if (gotlen == 32768 + 27) {
		static const uint8_t empty_first[7] = { WAL_FRAG_FIRST, 0, 0, 0, 0, 0, 0 };

		CHECK_MEM(got + 32761, 7, empty_first, 7);
		CHECK_INT(got[32768], WAL_FRAG_LAST);
		CHECK_INT(count_mem(got, gotlen, &e), 2);
	}
	free(got);
	CHECK(wal_close(w, &e) == 0);
	free(a);

	/* 1-6 bytes left: the page is padded, the next record starts a page. */
	dir = subdir("wal3");
	a = pattern(32768 - 7 - 3, 4);
	v[0].iov_base = a;
	v[0].iov_len = 32768 - 10;
	CHECK(wal_open(&w, dir, NULL, NULL, &e) == 0);
	CHECK(wal_log(w, v, 2, &e) == 0);
	CHECK(wal_flush(w, &e) == 0);
	got = read_file(dir, "00000000", &gotlen);
	CHECK_INT(gotlen, 32768 + 27);
	if (gotlen == 32768 + 27) {
		static const uint8_t zeros[3];

		CHECK_MEM(got + 32765, 3, zeros, 3);
		CHECK_INT(got[32768], WAL_FRAG_FULL);
		CHECK_INT(count_mem(got, gotlen, &e), 2);
	}
	free(got);
	CHECK(wal_close(w, &e) == 0);
	free(a);
	free(b);
}

static void
wal_empty_record_is_one_empty_full_fragment(void)
{
	const char *dir = subdir("wal");
	static const uint8_t want[7] = { WAL_FRAG_FULL, 0, 0, 0, 0, 0, 0 };
	struct iovec v = { (void *)"", 0 };
	struct wal_opts o = { 0, 1 };
	struct wal *w;
	struct err e;
	uint8_t *got;
	size_t gotlen;

	CHECK(wal_open(&w, dir, &o, NULL, &e) == 0);
	CHECK(wal_log(w, &v, 1, &e) == 0);
	CHECK(wal_flush(w, &e) == 0);
	got = read_file(dir, "00000000", &gotlen);
	CHECK_MEM(got, gotlen, want, 7);
	CHECK_INT(count_mem(got, gotlen, &e), 1);
	free(got);
	CHECK(wal_close(w, &e) == 0);
}

static void
wal_records_never_cross_segments(void)
{
	const char *dir = subdir("wal");
	struct wal_opts o = { 2 * WAL_PAGE_SIZE, 0 };
	uint8_t *a = pattern(40000, 1), *b = pattern(30000, 2), *c = pattern(200000, 3);
	struct iovec v[3] = { { a, 40000 }, { b, 30000 }, { c, 200000 } };
	struct wal *w;
	struct err e;

	CHECK(wal_open(&w, dir, &o, NULL, &e) == 0);
	CHECK(wal_log(w, v, 1, &e) == 0);
	CHECK_INT(wal_active_segment(w), 0);
	/* 40000 + 2 headers used; 30000 more does not fit in 65536: next segment. */
	CHECK(wal_log(w, v + 1, 1, &e) == 0);
	CHECK_INT(wal_active_segment(w), 1);
	/* Larger than a segment: a fresh segment of its own, oversize. */
	CHECK(wal_log(w, v + 2, 1, &e) == 0);
	CHECK_INT(wal_active_segment(w), 2);
	CHECK(wal_close(w, &e) == 0);
	CHECK_INT(file_size(dir, "00000000"), 2 * WAL_PAGE_SIZE);
	CHECK_INT(file_size(dir, "00000001"), WAL_PAGE_SIZE);
	CHECK_INT(file_size(dir, "00000002"), 7 * WAL_PAGE_SIZE);
	free(a);
	free(b);
	free(c);
}

/* Build a two-record segment in dir; returns its bytes. */
static uint8_t *
two_records(const char *dir, size_t *len)
{
	struct iovec rec[2];
	uint8_t *file;
	struct wal *w;
	struct err e;

	demo_records(rec, &file);
	CHECK(wal_open(&w, dir, NULL, NULL, &e) == 0);
	CHECK(wal_log(w, rec, 2, &e) == 0);
	CHECK(wal_flush(w, &e) == 0);
	free(file);
	file = read_file(dir, "00000000", len);
	/* leave the segment as a crash leaves it: short, unpadded */
	CHECK(wal_close(w, &e) == 0);
	return file;
}

static void
wal_open_cuts_a_torn_tail(void)
{
	const char *src = subdir("src"), *dir = subdir("wal");
	struct wal_repair rep;
	struct wal *w;
	struct err e;
	uint8_t *seg, *got;
	size_t len, gotlen;
	int first, last;

	seg = two_records(src, &len);
	CHECK_INT(len, 167);
	write_file(dir, "00000000", seg, len - 10);
	CHECK(wal_open(&w, dir, NULL, &rep, &e) == 0);
	CHECK_INT(rep.repaired, 1);
	CHECK_INT(rep.c.torn, 1);
	CHECK_INT(rep.c.segment, 0);
	CHECK_INT(rep.c.offset, 111);
	CHECK_INT(rep.c.good_end, 111);
	CHECK_INT(rep.bytes_dropped, 157 - 111);
	CHECK_INT(rep.segments_deleted, 0);
	CHECK(strstr(rep.c.why, "unexpected checksum") != NULL);
	CHECK_INT(wal_active_segment(w), 1);
	CHECK(wal_close(w, &e) == 0);
	got = read_file(dir, "00000000", &gotlen);
	CHECK_MEM(got, gotlen, seg, 111);
	free(got);
	CHECK(wal_segments(dir, &first, &last, &e) == 0);
	CHECK_INT(last, 1);

	/* A clean WAL reopens without a repair, into a new segment. */
	CHECK(wal_open(&w, dir, NULL, &rep, &e) == 0);
	CHECK_INT(rep.repaired, 0);
	CHECK_INT(wal_active_segment(w), 2);
	CHECK(wal_close(w, &e) == 0);

	free(seg);
}

static void
wal_open_cuts_record_after_first_fragment(void)
{
	const char *dir = subdir("wal");
	uint8_t *big = pattern(50000, 9), *small = pattern(100, 1), *seg;
	struct iovec v[2] = { { small, 100 }, { big, 50000 } };
	struct wal_repair rep;
	struct wal *w;
	struct err e;
	size_t len;
	char path[512];

	CHECK(wal_open(&w, dir, NULL, NULL, &e) == 0);
	CHECK(wal_log(w, v, 2, &e) == 0);
	CHECK(wal_close(w, &e) == 0);
	/* The page holding the LAST fragment never reached the disk. */
	snprintf(path, sizeof(path), "%s/00000000", dir);
	CHECK(truncate(path, WAL_PAGE_SIZE) == 0);
	seg = read_file(dir, "00000000", &len);
	CHECK_INT(count_mem(seg, len, &e), -1);
	CHECK(strstr(e.msg, "last record is torn") != NULL);
	free(seg);
	CHECK(wal_open(&w, dir, NULL, &rep, &e) == 0);
	CHECK_INT(rep.repaired, 1);
	CHECK_INT(rep.c.torn, 1);
	CHECK_INT(rep.c.good_end, 107);
	CHECK_INT(file_size(dir, "00000000"), 107);
	CHECK(wal_close(w, &e) == 0);
	free(big);
	free(small);
}

static void
wal_open_repairs_corruption_before_good_records(void)
{
	const char *src = subdir("src"), *dir = subdir("wal");
	struct wal_repair rep;
	struct wal *w;
	struct err e;
	uint8_t *seg;
	size_t len;

	seg = two_records(src, &len);
	seg[20] ^= 0x40;	/* inside the series record; the samples record follows */
	write_file(dir, "00000000", seg, len);
	CHECK(wal_open(&w, dir, NULL, &rep, &e) == 0);
	CHECK_INT(rep.repaired, 1);
	CHECK_INT(rep.c.torn, 0);
	CHECK_INT(rep.c.offset, 0);
	CHECK_INT(rep.c.good_end, 0);
	CHECK_INT(rep.bytes_dropped, 167);
	CHECK_INT(file_size(dir, "00000000"), 0);
	CHECK(wal_close(w, &e) == 0);
	free(seg);
}

static void
wal_repair_cuts_damage_found_by_replay(void)
{
	const char *dir = subdir("wal");
	struct wal_opts o = { WAL_PAGE_SIZE, 0 };
	uint8_t *rec = pattern(20000, 5), *seg;
	struct iovec v = { rec, 20000 };
	struct wal_corruption c;
	struct wal_repair rep;
	struct wal_reader *r;
	const uint8_t *p;
	struct wal *w;
	struct err e;
	size_t len;
	int n = 0, rc, first, last;

	/* Segments 0, 1, 2 with one record each (a page-sized segment holds one). */
	CHECK(wal_open(&w, dir, &o, NULL, &e) == 0);
	for (int i = 0; i < 3; i++)
		CHECK(wal_log(w, &v, 1, &e) == 0);
	CHECK(wal_close(w, &e) == 0);
	seg = read_file(dir, "00000001", &len);
	seg[100] ^= 1;
	write_file(dir, "00000001", seg, len);
	free(seg);

	CHECK(wal_open(&w, dir, &o, NULL, &e) == 0);
	CHECK_INT(wal_active_segment(w), 3);
	r = wal_reader_new();
	CHECK(wal_reader_add(r, dir, -1, -1, 0, &e) == 0);
	while ((rc = wal_reader_next(r, &p, &len, &e)) == 1)
		n++;
	CHECK_INT(rc, -1);
	CHECK_INT(n, 1);
	CHECK(strstr(e.msg, "corruption in segment") != NULL);
	CHECK_INT(wal_reader_corruption(r, &c), 1);
	CHECK_INT(c.segment, 1);
	CHECK_INT(c.torn, 0);
	CHECK_INT(c.good_end, 0);
	wal_reader_free(r);

	CHECK(wal_repair(w, &c, &rep, &e) == 0);
	CHECK_INT(rep.segments_deleted, 2);	/* 00000002 and the active 00000003 */
	CHECK_INT(wal_active_segment(w), 2);
	CHECK(wal_log(w, &v, 1, &e) == 0);
	CHECK(wal_close(w, &e) == 0);
	CHECK(wal_segments(dir, &first, &last, &e) == 0);
	CHECK_INT(first, 0);
	CHECK_INT(last, 2);
	CHECK_INT(file_size(dir, "00000001"), 0);

	/* What is left reads clean: 0 has a record, 1 is empty, 2 the new one. */
	r = wal_reader_new();
	CHECK(wal_reader_add(r, dir, -1, -1, 0, &e) == 0);
	n = 0;
	while ((rc = wal_reader_next(r, &p, &len, &e)) == 1)
		n++;
	CHECK_INT(rc, 0);
	CHECK_INT(n, 2);
	wal_reader_free(r);

	/* A checkpoint's damage and the active segment are refused. */
	c.checkpoint = 1;
	CHECK(wal_open(&w, dir, &o, NULL, &e) == 0);
	CHECK(wal_repair(w, &c, NULL, &e) == -1);
	c.checkpoint = 0;
	c.segment = wal_active_segment(w);
	CHECK(wal_repair(w, &c, NULL, &e) == -1);
	CHECK(wal_close(w, &e) == 0);
	free(rec);
}

static void
wal_reader_bad_record_cuts_before_it(void)
{
	uint8_t *seg;
	size_t len;
	struct wal_reader *r = wal_reader_new();
	struct wal_corruption c;
	const uint8_t *p;
	size_t n;
	struct err e;

	seg = demo(&len);
	wal_reader_add_mem(r, seg, len);
	CHECK_INT(wal_reader_next(r, &p, &n, &e), 1);
	CHECK_INT(wal_reader_next(r, &p, &n, &e), 1);
	wal_reader_bad_record(r, "decode samples: invalid size", &c);
	CHECK_INT(c.segment, 0);
	CHECK_INT(c.offset, 111);
	CHECK_INT(c.good_end, 111);
	CHECK_INT(c.torn, 1);	/* nothing after it */
	CHECK_STR(c.why, "decode samples: invalid size");
	wal_reader_free(r);

	r = wal_reader_new();
	wal_reader_add_mem(r, seg, len);
	CHECK_INT(wal_reader_next(r, &p, &n, &e), 1);
	wal_reader_bad_record(r, "decode series", &c);
	CHECK_INT(c.good_end, 0);
	CHECK_INT(c.torn, 0);	/* a good record follows */
	wal_reader_free(r);
	free(seg);
}

static size_t
frag(uint8_t *out, int type, const char *p)
{
	size_t n = strlen(p);

	out[0] = (uint8_t)type;
	out[1] = (uint8_t)(n >> 8);
	out[2] = (uint8_t)n;
	be32_put(out + 3, crc32c(0, p, n));
	memcpy(out + 7, p, n);
	return 7 + n;
}

static void
wal_reader_joins_fragments_anywhere_in_a_page(void)
{
	uint8_t buf[128];
	size_t n = 0, len;
	struct wal_reader *r = wal_reader_new();
	const uint8_t *p;
	struct err e;

	/* Prometheus' reader does not ask a FIRST fragment to fill its page. */
	n += frag(buf + n, WAL_FRAG_FIRST, "hello, ");
	n += frag(buf + n, WAL_FRAG_MIDDLE, "");
	n += frag(buf + n, WAL_FRAG_LAST, "world");
	wal_reader_add_mem(r, buf, n);
	CHECK_INT(wal_reader_next(r, &p, &len, &e), 1);
	CHECK_MEM(p, len, "hello, world", 12);
	CHECK_INT(wal_reader_next(r, &p, &len, &e), 0);
	wal_reader_free(r);

	/* but one record is compressed as a whole or not at all */
	buf[7 + 7 + 7] |= WAL_FRAG_SNAPPY;
	CHECK_INT(count_mem(buf, n, &e), -1);
	CHECK(strstr(e.msg, "differ in compression") != NULL);
}

/* Prometheus' reader errors, one damaged segment each. */
static void
wal_reader_reports_prometheus_errors(void)
{
	uint8_t *seg, buf[WAL_PAGE_SIZE + 64];
	size_t len;
	struct err e;

	seg = demo(&len);

	/* cut 10 bytes off the last record: its CRC fails (§2.4) */
	CHECK_INT(count_mem(seg, len - 10, &e), -1);
	CHECK(strstr(e.msg, "unexpected checksum") != NULL);
	CHECK(strstr(e.msg, "expected c67e6b2") != NULL);

	/* a FULL fragment where a LAST is due */
	memcpy(buf, seg, len);
	buf[0] = WAL_FRAG_FIRST;
	CHECK_INT(count_mem(buf, len, &e), -1);
	CHECK(strstr(e.msg, "unexpected full record") != NULL);

	buf[0] = WAL_FRAG_MIDDLE;
	CHECK_INT(count_mem(buf, len, &e), -1);
	CHECK(strstr(e.msg, "unexpected middle record, dropping buffer") != NULL);

	buf[0] = WAL_FRAG_LAST;
	CHECK_INT(count_mem(buf, len, &e), -1);
	CHECK(strstr(e.msg, "unexpected last record, dropping buffer") != NULL);

	buf[0] = 5;
	CHECK_INT(count_mem(buf, len, &e), -1);
	CHECK(strstr(e.msg, "unexpected record type 5") != NULL);

	/* a FIRST, then a FIRST */
	memcpy(buf, seg, len);
	buf[0] = WAL_FRAG_FIRST;
	buf[111] = WAL_FRAG_FIRST;
	CHECK_INT(count_mem(buf, len, &e), -1);
	CHECK(strstr(e.msg, "unexpected first record, dropping buffer") != NULL);

	/* a FIRST at the end of the segment */
	CHECK_INT(count_mem(buf, 111, &e), -1);
	CHECK(strstr(e.msg, "last record is torn") != NULL);

	memcpy(buf, seg, len);
	buf[1] = 0x80;
	CHECK_INT(count_mem(buf, len, &e), -1);
	CHECK(strstr(e.msg, "invalid record size 32872") != NULL);

	/* padding that is not all zero */
	memset(buf, 0, sizeof(buf));
	buf[500] = 1;
	CHECK_INT(count_mem(buf, 1000, &e), -1);
	CHECK(strstr(e.msg, "unexpected non-zero byte in padded page") != NULL);

	/* zstd (bit 4, Prometheus 3.x) is not 2.42's format */
	memcpy(buf, seg, len);
	buf[0] |= 0x10;
	CHECK_INT(count_mem(buf, len, &e), -1);
	CHECK(strstr(e.msg, "unsupported fragment flags") != NULL);

	/* snappy flag on bytes that are not snappy */
	memcpy(buf, seg, len);
	buf[0] |= WAL_FRAG_SNAPPY;
	CHECK_INT(count_mem(buf, len, &e), -1);
	CHECK(strstr(e.msg, "snappy") != NULL);

	/* zeros are padding: an all-zero and an empty segment hold nothing */
	memset(buf, 0, sizeof(buf));
	CHECK_INT(count_mem(buf, sizeof(buf), &e), 0);
	CHECK_INT(count_mem(buf, 0, &e), 0);
	/* a torn header reads as an empty FULL record, as in Prometheus */
	buf[0] = WAL_FRAG_FULL;
	CHECK_INT(count_mem(buf, 1, &e), 1);
	free(seg);
}

static void
wal_reader_pads_short_segments_with_zeros(void)
{
	uint8_t *seg, buf[256];
	size_t len;
	struct wal_reader *r = wal_reader_new();
	const uint8_t *p;
	size_t n;
	struct err e;

	/*
	 * The samples record ends in 5 zero bytes: a file cut inside them
	 * still reads whole, as in Prometheus (the rest of the page reads as
	 * zeros). Whatever lies past the cut must not be read.
	 */
	seg = demo(&len);
	memset(buf, 0xee, sizeof(buf));
	memcpy(buf, seg, len - 3);
	wal_reader_add_mem(r, buf, len - 3);
	CHECK_INT(wal_reader_next(r, &p, &n, &e), 1);
	CHECK_INT(wal_reader_next(r, &p, &n, &e), 1);
	CHECK_MEM(p, n, seg + 118, 49);
	CHECK_INT(wal_reader_next(r, &p, &n, &e), 0);
	wal_reader_free(r);
	free(seg);
}

static void
wal_segments_must_be_sequential(void)
{
	const char *dir = subdir("wal");
	struct wal *w;
	struct err e;
	int first, last;

	write_file(dir, "00000000", "", 0);
	write_file(dir, "00000002", "", 0);
	write_file(dir, "00000001.repair", "x", 1);
	CHECK(wal_segments(dir, &first, &last, &e) == -1);
	CHECK(strstr(e.msg, "segments are not sequential") != NULL);
	CHECK(wal_open(&w, dir, NULL, NULL, &e) == -1);
	write_file(dir, "00000001", "", 0);
	CHECK(wal_segments(dir, &first, &last, &e) == 0);
	CHECK_INT(first, 0);
	CHECK_INT(last, 2);
	CHECK(wal_open(&w, dir, NULL, NULL, &e) == 0);
	CHECK_INT(wal_active_segment(w), 3);
	CHECK(wal_truncate(w, 2, &e) == 0);
	CHECK(wal_segments(dir, &first, &last, &e) == 0);
	CHECK_INT(first, 2);
	CHECK_INT(last, 3);
	/* never the active segment */
	CHECK(wal_truncate(w, 100, &e) == 0);
	CHECK(wal_segments(dir, &first, &last, &e) == 0);
	CHECK_INT(first, 3);
	CHECK(wal_close(w, &e) == 0);
}

static void
wal_open_cleans_checkpoint_leftovers(void)
{
	const char *dir = subdir("wal");
	char path[512];
	struct wal *w;
	struct err e;
	int first, last;

	snprintf(path, sizeof(path), "%s/checkpoint.00000003.tmp", dir);
	CHECK(mkdir_p(path, 0777, &e) == 0);
	write_file(path, "00000000", "x", 1);
	/* checkpoint.3 covers 2 and 3, left behind by a crash: they go */
	snprintf(path, sizeof(path), "%s/checkpoint.00000003", dir);
	CHECK(mkdir_p(path, 0777, &e) == 0);
	write_file(path, "00000000", "", 0);
	write_file(dir, "00000002", "", 0);
	write_file(dir, "00000003", "", 0);
	CHECK(wal_open(&w, dir, NULL, NULL, &e) == 0);
	CHECK_INT(wal_active_segment(w), 4);
	CHECK(wal_close(w, &e) == 0);
	snprintf(path, sizeof(path), "%s/checkpoint.00000003.tmp", dir);
	CHECK(!path_exists(path));
	CHECK(wal_segments(dir, &first, &last, &e) == 0);
	CHECK_INT(first, 4);
	CHECK_INT(last, 4);

	/* Only a checkpoint: the new segment follows it, not 00000000. */
	dir = subdir("wal2");
	snprintf(path, sizeof(path), "%s/checkpoint.00000007", dir);
	CHECK(mkdir_p(path, 0777, &e) == 0);
	CHECK(wal_open(&w, dir, NULL, NULL, &e) == 0);
	CHECK_INT(wal_active_segment(w), 8);
	CHECK(wal_close(w, &e) == 0);
}

static void
wal_write_failure_is_sticky_and_reopen_repairs(void)
{
	const char *dir = subdir("wal");
	uint8_t *rec = pattern(100000, 3), *small = pattern(50, 4);
	struct iovec v[2] = { { small, 50 }, { rec, 100000 } };
	struct rlimit rl, lim;
	struct wal_repair rep;
	struct wal *w;
	struct err e;

	signal(SIGXFSZ, SIG_IGN);
	CHECK(getrlimit(RLIMIT_FSIZE, &rl) == 0);
	CHECK(wal_open(&w, dir, NULL, NULL, &e) == 0);
	CHECK(wal_log(w, v, 1, &e) == 0);
	CHECK(wal_flush(w, &e) == 0);
	lim = rl;
	lim.rlim_cur = 40000;
	CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	/* the record only fills the (growing) buffer; the flush hits the limit */
	CHECK(wal_log(w, v + 1, 1, &e) == 0);
	CHECK(wal_flush(w, &e) == -1);
	CHECK(wal_log(w, v, 1, &e) == -1);
	CHECK(strstr(e.msg, "earlier write failed") != NULL);
	CHECK(wal_sync(w, &e) == -1);
	CHECK(wal_close(w, &e) == -1);
	CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
	CHECK_INT(file_size(dir, "00000000"), 40000);

	CHECK(wal_open(&w, dir, NULL, &rep, &e) == 0);
	CHECK_INT(rep.repaired, 1);
	CHECK_INT(rep.c.good_end, 57);
	CHECK_INT(file_size(dir, "00000000"), 57);
	CHECK(wal_close(w, &e) == 0);
	free(rec);
	free(small);
}

static void
wal_reader_ranges_and_missing_segments(void)
{
	const char *dir = subdir("wal");
	struct wal_opts o = { WAL_PAGE_SIZE, 0 };
	uint8_t *rec = pattern(20000, 5);
	struct iovec v = { rec, 20000 };
	struct wal_reader *r;
	const uint8_t *p;
	struct wal *w;
	struct err e;
	size_t len;
	int n = 0, seg;
	uint64_t s, end;
	char path[512];

	CHECK(wal_open(&w, dir, &o, NULL, &e) == 0);
	for (int i = 0; i < 5; i++)
		CHECK(wal_log(w, &v, 1, &e) == 0);
	CHECK(wal_close(w, &e) == 0);
	r = wal_reader_new();
	CHECK(wal_reader_add(r, dir, 1, 3, 0, &e) == 0);
	while (wal_reader_next(r, &p, &len, &e) == 1) {
		wal_reader_pos(r, &seg, &s, &end);
		CHECK_INT(seg, n + 1);
		CHECK_INT(s, 0);
		CHECK_INT(end, 20007);
		n++;
	}
	CHECK_INT(n, 3);
	wal_reader_free(r);

	/* a segment removed under the reader: an error, not damage */
	r = wal_reader_new();
	CHECK(wal_reader_add(r, dir, -1, -1, 0, &e) == 0);
	CHECK(unlink(wal_segment_name(path, sizeof(path), dir, 2)) == 0);
	n = 0;
	while (wal_reader_next(r, &p, &len, &e) == 1)
		n++;
	CHECK_INT(n, 2);
	CHECK(strstr(e.msg, "open WAL segment 2") != NULL);
	CHECK_INT(wal_reader_corruption(r, &(struct wal_corruption){ 0 }), 0);
	wal_reader_free(r);
	free(rec);
}

UNIT_CASES(
	UNIT_CASE(wal_writes_demo_segment_byte_for_byte),
	UNIT_CASE(wal_writes_exemplar_histogram_segment_byte_for_byte),
	UNIT_CASE(wal_reads_prometheus_segments_raw_and_snappy),
	UNIT_CASE(wal_compressed_writes_read_back),
	UNIT_CASE(wal_round_trips_records_of_every_size),
	UNIT_CASE(wal_fragments_at_page_edges),
	UNIT_CASE(wal_empty_record_is_one_empty_full_fragment),
	UNIT_CASE(wal_records_never_cross_segments),
	UNIT_CASE(wal_open_cuts_a_torn_tail),
	UNIT_CASE(wal_open_cuts_record_after_first_fragment),
	UNIT_CASE(wal_open_repairs_corruption_before_good_records),
	UNIT_CASE(wal_repair_cuts_damage_found_by_replay),
	UNIT_CASE(wal_reader_bad_record_cuts_before_it),
	UNIT_CASE(wal_reader_joins_fragments_anywhere_in_a_page),
	UNIT_CASE(wal_reader_reports_prometheus_errors),
	UNIT_CASE(wal_reader_pads_short_segments_with_zeros),
	UNIT_CASE(wal_segments_must_be_sequential),
	UNIT_CASE(wal_open_cleans_checkpoint_leftovers),
	UNIT_CASE(wal_write_failure_is_sticky_and_reopen_repairs),
	UNIT_CASE(wal_reader_ranges_and_missing_segments),
);
