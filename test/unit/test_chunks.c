#include <sys/stat.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/fileutil.h"
#include "lib/tsdb/chunks.h"
#include "lib/tsdb/crc32c.h"
#include "lib/tsdb/xor.h"
#include "test/unit/unit.h"

/* Appendix A.2: chunks/000001 of the worked example, 108 bytes. */
static const char a2_hex[] =
    "85 bd 40 dd 01 00 00 00 19 01 00 06 00 3f f0 00"
    "00 00 00 00 00 98 75 30 97 ff e0 fa 36 83 b8 30"
    "b8 7d 00 84 90 4f ba 2d 01 00 06 00 7f f8 00 00"
    "00 00 00 01 dc 0b d9 a4 00 00 00 00 00 00 de 0c"
    "60 07 03 e9 84 bf fe c0 ce 09 74 25 87 ff f8 ec"
    "e5 7c 2d f8 e1 a0 1a 93 63 ac 0c 01 00 01 00 3f"
    "f0 00 00 00 00 00 00 00 5c 80 d3 d7";

struct sample {
	int64_t		t;
	uint64_t	v;
};

static const struct sample demo[] = {
	{ 0, 0x3FF0000000000000ull }, { 15000, 0x3FF0000000000000ull },
	{ 30000, 0x4000000000000000ull }, { 46000, 0x4004000000000000ull },
	{ 60000, 0x4000000000000000ull }, { 90000, 0x4000000000000000ull },
};
static const struct sample odd[] = {
	{ 0, 0x7FF8000000000001ull }, { 1500, 0x7FF0000000000000ull },
	{ 2000, 0xFFF0000000000000ull }, { 3000, 0x8000000000000000ull },
	{ 4000, 0x412E848000000000ull }, { 5000, 0x3EE9E3ABE16FC70Dull },
};
static const struct sample up[] = { { 0, 0x3FF0000000000000ull } };

static const struct {
	const struct sample	*s;
	size_t			 n;
	uint64_t		 ref;
} a2_series[] = {
	{ demo, 6, 8 }, { odd, 6, 39 }, { up, 1, 90 },
};

static void
make_chunk(struct xor_chunk *x, struct chunk *c, const struct sample *s, size_t n)
{
	xor_chunk_init(x);
	for (size_t i = 0; i < n; i++)
		xor_chunk_append(x, s[i].t, s[i].v);
	memset(c, 0, sizeof(*c));
	c->mint = s[0].t;
	c->maxt = s[n - 1].t;
	c->enc = CHUNK_ENC_XOR;
	c->data = xor_chunk_bytes(x, &c->len);
}

static uint8_t *
read_file(const char *path, size_t *len)
{
	char *data = NULL;
	struct err e;

	if (file_read_all(path, &data, len, &e) == -1) {
		unit_fail(__FILE__, __LINE__, "%s", e.msg);
		*len = 0;
	}
	return (uint8_t *)data;
}

/* Decode a whole chunk; 1 if it holds exactly the given samples. */
static int
chunk_holds(const struct chunk *c, const struct sample *s, size_t n)
{
	struct xor_iter it;
	int64_t t;
	uint64_t v;
	size_t i = 0;
	int rc;

	xor_iter_init(&it, c->data, c->len);
	while ((rc = xor_iter_next(&it, &t, &v)) == 1) {
		if (i >= n || t != s[i].t || v != s[i].v)
			return 0;
		i++;
	}
	return rc == 0 && i == n;
}

static void
chunks_writer_reproduces_appendix_a2(void)
{
	char dir[512], path[600];
	struct chunk_writer *w;
	struct err e;
	uint8_t *want, *got;
	size_t wlen, glen;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/blk/chunks", unit_tmpdir());
	w = chunk_writer_open(dir, 0, &e);
	CHECK(w != NULL);
	if (w == NULL)
		return;
	for (size_t i = 0; i < 3; i++) {
		struct xor_chunk x;
		struct chunk c;

		make_chunk(&x, &c, a2_series[i].s, a2_series[i].n);
		CHECK_INT(chunk_writer_write(w, &c, 1, &e), 0);
		CHECK_U64(c.ref, a2_series[i].ref);
		xor_chunk_free(&x);
	}
	CHECK_U64(chunk_writer_size(w), 108);
	CHECK_INT(chunk_writer_close(w, &e), 0);

	snprintf(path, sizeof(path), "%s/000001", dir);
	want = unit_hex(a2_hex, &wlen);
	got = read_file(path, &glen);
	CHECK_MEM(got, glen, want, wlen);
	CHECK(stat(path, &st) == 0 && st.st_size == 108);
	snprintf(path, sizeof(path), "%s/000002", dir);
	CHECK(!path_exists(path));
	free(got);
	free(want);
}

static void
chunks_reader_gets_appendix_refs(void)
{
	char dir[512], path[600];
	struct chunk_reader *r;
	struct err e;
	uint8_t *want;
	size_t wlen;

	snprintf(dir, sizeof(dir), "%s/chunks", unit_tmpdir());
	want = unit_hex(a2_hex, &wlen);
	CHECK(mkdir_p(dir, 0777, &e) == 0);
	snprintf(path, sizeof(path), "%s/000001", dir);
	CHECK(file_write_atomic(path, want, wlen, &e) == 0);
	/* Not segment names: skipped. */
	snprintf(path, sizeof(path), "%s/000002.tmp", dir);
	CHECK(file_write_atomic(path, "junk", 4, &e) == 0);
	snprintf(path, sizeof(path), "%s/index", dir);
	CHECK(file_write_atomic(path, "junk", 4, &e) == 0);

	r = chunk_reader_open(dir, &e);
	CHECK(r != NULL);
	if (r == NULL) {
		free(want);
		return;
	}
	CHECK_INT(chunk_reader_nsegments(r), 1);
	CHECK_U64(chunk_reader_size(r), 108);
	for (size_t i = 0; i < 3; i++) {
		struct chunk c;

		memset(&c, 0, sizeof(c));
		CHECK_INT(chunk_reader_get(r, a2_series[i].ref, &c, &e), 0);
		CHECK_INT(c.enc, CHUNK_ENC_XOR);
		CHECK(chunk_holds(&c, a2_series[i].s, a2_series[i].n));
	}
	{
		struct chunk c;

		CHECK_INT(chunk_reader_get(r, 9, &c, &e), -1);
		CHECK_INT(chunk_reader_get(r, 0, &c, &e), -1);
		CHECK_INT(chunk_reader_get(r, 104, &c, &e), -1);
		CHECK_INT(chunk_reader_get(r, 108, &c, &e), -1);
		CHECK_INT(chunk_reader_get(r, (uint64_t)1 << 32 | 8, &c, &e), -1);
		CHECK(strstr(e.msg, "segment index 1") != NULL);
		CHECK_INT(chunk_reader_get(r, 0xffffffffull, &c, &e), -1);
	}
	chunk_reader_close(r);
	free(want);
}

/*
 * Flip every bit pattern of every byte of the A.2 file: the reader and the
 * decoder must never crash or read outside the file, and the CRC must
 * catch any change to a record's encoding byte, data or checksum.
 */
static void
chunks_every_byte_flip_is_caught(void)
{
	static const uint8_t masks[] = { 0x01, 0x02, 0x10, 0x80, 0xff, 0x5a };
	size_t len;
	uint8_t *orig = unit_hex(a2_hex, &len);
	/* Record spans: [len byte, enc, data.., crc..] for refs 8, 39, 90. */
	static const size_t rec_start[] = { 8, 39, 90 }, rec_end[] = { 39, 90, 108 };

	for (size_t pos = 0; pos < len; pos++) {
		for (size_t m = 0; m < sizeof(masks); m++) {
			uint8_t *p = malloc(len);
			const uint8_t *seg;
			struct chunk_reader *r;
			struct err e;

			memcpy(p, orig, len);
			p[pos] ^= masks[m];
			seg = p;
			r = chunk_reader_open_mem(&seg, &len, 1, &e);
			if (pos < 5) {
				/* Magic or version. */
				CHECK(r == NULL);
				free(p);
				continue;
			}
			CHECK(r != NULL);
			if (r == NULL) {
				free(p);
				continue;
			}
			for (size_t k = 0; k < 3; k++) {
				struct chunk c;
				int rc = chunk_reader_get(r, a2_series[k].ref, &c, &e);
				int inside = pos >= rec_start[k] && pos < rec_end[k];

				if (inside && pos > rec_start[k])
					CHECK_INT(rc, -1);
				else if (!inside) {
					/* Another record's bytes: this one is untouched. */
					CHECK_INT(rc, 0);
					if (rc == 0)
						CHECK(chunk_holds(&c, a2_series[k].s, a2_series[k].n));
				} else if (rc == 0) {
					/* A changed length that still passed: decode must stay safe. */
					struct xor_iter it;
					int64_t t;
					uint64_t v;

					CHECK(c.data >= p && c.data + c.len <= p + len);
					xor_iter_init(&it, c.data, c.len);
					while (xor_iter_next(&it, &t, &v) == 1)
						;
				}
			}
			chunk_reader_close(r);
			free(p);
		}
	}
	free(orig);
}

static void
chunks_reader_rejects_bad_headers(void)
{
	static const uint8_t ok[8] = { 0x85, 0xbd, 0x40, 0xdd, 1, 0, 0, 0 };
	uint8_t b[8];
	const uint8_t *seg = b;
	size_t len = 8;
	struct err e;
	struct chunk_reader *r;
	struct chunk c;

	memcpy(b, ok, 8);
	r = chunk_reader_open_mem(&seg, &len, 1, &e);
	CHECK(r != NULL);
	if (r != NULL) {
		CHECK_INT(chunk_reader_get(r, 8, &c, &e), -1);
		chunk_reader_close(r);
	}
	len = 7;
	CHECK(chunk_reader_open_mem(&seg, &len, 1, &e) == NULL);
	len = 8;
	b[4] = 2;
	CHECK(chunk_reader_open_mem(&seg, &len, 1, &e) == NULL);
	CHECK(strstr(e.msg, "version") != NULL);
	b[4] = 1;
	b[0] = 0x84;
	CHECK(chunk_reader_open_mem(&seg, &len, 1, &e) == NULL);
	CHECK(strstr(e.msg, "magic") != NULL);
	r = chunk_reader_open_mem(NULL, NULL, 0, &e);
	CHECK(r != NULL);
	if (r != NULL) {
		CHECK_INT(chunk_reader_get(r, 8, &c, &e), -1);
		chunk_reader_close(r);
	}
}

static void
chunks_reader_rejects_bad_encoding(void)
{
	/* A record whose CRC is right but whose encoding byte is 0 (none) or 4. */
	uint8_t b[8 + 1 + 1 + 2 + 4] = { 0x85, 0xbd, 0x40, 0xdd, 1, 0, 0, 0, 2, 0, 0, 0 };
	const uint8_t *seg = b;
	size_t len = sizeof(b);
	struct chunk_reader *r;
	struct chunk c;
	struct err e;

	for (int enc = 0; enc < 256; enc++) {
		uint32_t crc;
		int want = enc >= 1 && enc <= 3 ? 0 : -1;

		b[9] = (uint8_t)enc;
		crc = crc32c(0, b + 9, 3);
		b[12] = (uint8_t)(crc >> 24);
		b[13] = (uint8_t)(crc >> 16);
		b[14] = (uint8_t)(crc >> 8);
		b[15] = (uint8_t)crc;
		r = chunk_reader_open_mem(&seg, &len, 1, &e);
		CHECK(r != NULL);
		if (r == NULL)
			return;
		CHECK_INT(chunk_reader_get(r, 8, &c, &e), want);
		if (want == 0) {
			CHECK_INT(c.enc, enc);
			CHECK_INT(c.len, 2);
			CHECK(c.data == b + 10);
		}
		chunk_reader_close(r);
	}
}

struct split_series {
	size_t		n;
	size_t		lens[3];
	uint64_t	refs[3];
};

/*
 * The WriteChunks split rule with an 80-byte segment: estimates budget 5
 * bytes per length field, so a 20-byte chunk counts 30 (its record is 26).
 */
static void
chunks_writer_splits_segments_like_prometheus(void)
{
	static const struct split_series ser[] = {
		{ 3, { 20, 20, 20 }, { 8, 34, 1ull << 32 | 8 } },	/* third does not fit */
		{ 1, { 20 }, { 1ull << 32 | 34 } },			/* fits after others */
		{ 2, { 20, 20 }, { 2ull << 32 | 8, 2ull << 32 | 34 } },	/* empty first batch */
		{ 1, { 200 }, { 3ull << 32 | 8 } },			/* bigger than a segment */
		{ 1, { 20 }, { 4ull << 32 | 8 } },
		{ 0, { 0 }, { 0 } },
		{ 3, { 20, 20, 20 }, { 4ull << 32 | 34, 5ull << 32 | 8, 5ull << 32 | 34 } },
	};
	static const off_t seg_sizes[] = { 60, 60, 60, 215, 60, 60 };
	uint8_t data[200];
	char dir[512], path[600];
	struct chunk_writer *w;
	struct chunk_reader *r;
	struct err e;
	uint64_t total = 0;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	snprintf(dir, sizeof(dir), "%s/chunks", unit_tmpdir());
	w = chunk_writer_open(dir, 80, &e);
	CHECK(w != NULL);
	if (w == NULL)
		return;
	for (size_t s = 0; s < sizeof(ser) / sizeof(ser[0]); s++) {
		struct chunk c[3];

		memset(c, 0, sizeof(c));
		for (size_t i = 0; i < ser[s].n; i++) {
			c[i].enc = CHUNK_ENC_XOR;
			c[i].data = data + i;
			c[i].len = ser[s].lens[i];
		}
		CHECK_INT(chunk_writer_write(w, c, ser[s].n, &e), 0);
		for (size_t i = 0; i < ser[s].n; i++)
			CHECK_U64(c[i].ref, ser[s].refs[i]);
	}
	for (size_t i = 0; i < 6; i++)
		total += (uint64_t)seg_sizes[i];
	CHECK_U64(chunk_writer_size(w), total);
	CHECK_INT(chunk_writer_close(w, &e), 0);

	for (size_t i = 0; i < 6; i++) {
		struct stat st;

		snprintf(path, sizeof(path), "%s/%06zu", dir, i + 1);
		CHECK(stat(path, &st) == 0);
		CHECK_INT(st.st_size, seg_sizes[i]);
	}
	snprintf(path, sizeof(path), "%s/000007", dir);
	CHECK(!path_exists(path));

	r = chunk_reader_open(dir, &e);
	CHECK(r != NULL);
	if (r == NULL)
		return;
	CHECK_INT(chunk_reader_nsegments(r), 6);
	CHECK_U64(chunk_reader_size(r), total);
	for (size_t s = 0; s < sizeof(ser) / sizeof(ser[0]); s++) {
		for (size_t i = 0; i < ser[s].n; i++) {
			struct chunk c;

			CHECK_INT(chunk_reader_get(r, ser[s].refs[i], &c, &e), 0);
			CHECK_INT(c.enc, CHUNK_ENC_XOR);
			CHECK_MEM(c.data, c.len, data + i, ser[s].lens[i]);
		}
	}
	chunk_reader_close(r);
}

static void
chunks_writer_empty_cases(void)
{
	char dir[512], path[600];
	struct chunk_writer *w;
	struct err e;
	uint8_t *got;
	size_t glen;

	/* Never written: no segment at all. */
	snprintf(dir, sizeof(dir), "%s/a/chunks", unit_tmpdir());
	w = chunk_writer_open(dir, 0, &e);
	CHECK(w != NULL);
	if (w == NULL)
		return;
	CHECK_U64(chunk_writer_size(w), 0);
	CHECK_INT(chunk_writer_close(w, &e), 0);
	CHECK(path_is_dir(dir));
	snprintf(path, sizeof(path), "%s/000001", dir);
	CHECK(!path_exists(path));

	/* A write of no chunks still opens the first segment, as Go's does. */
	snprintf(dir, sizeof(dir), "%s/b/chunks", unit_tmpdir());
	w = chunk_writer_open(dir, 0, &e);
	CHECK(w != NULL);
	if (w == NULL)
		return;
	CHECK_INT(chunk_writer_write(w, NULL, 0, &e), 0);
	CHECK_INT(chunk_writer_close(w, &e), 0);
	snprintf(path, sizeof(path), "%s/000001", dir);
	got = read_file(path, &glen);
	CHECK_MEM(got, glen, "\x85\xbd\x40\xdd\x01\x00\x00\x00", 8);
	free(got);
}

static void
chunks_writer_large_chunks_roundtrip(void)
{
	/* Bigger than the write buffer, to pass around it. */
	size_t big = (size_t)9 << 20;
	uint8_t *data = malloc(big);
	char dir[512];
	struct chunk_writer *w;
	struct chunk_reader *r;
	struct chunk c[3];
	struct err e;

	for (size_t i = 0; i < big; i++)
		data[i] = (uint8_t)(i >> 3 ^ i);
	snprintf(dir, sizeof(dir), "%s/chunks", unit_tmpdir());
	w = chunk_writer_open(dir, 0, &e);
	CHECK(w != NULL);
	if (w == NULL) {
		free(data);
		return;
	}
	memset(c, 0, sizeof(c));
	c[0].enc = c[1].enc = c[2].enc = CHUNK_ENC_XOR;
	c[0].data = data;
	c[0].len = 100;
	c[1].data = data + 1;
	c[1].len = big - 1;
	c[2].data = data + 2;
	c[2].len = 3000;
	CHECK_INT(chunk_writer_write(w, c, 3, &e), 0);
	CHECK_U64(c[0].ref, 8);
	CHECK_U64(c[1].ref, 8 + 1 + 1 + 100 + 4);
	CHECK_U64(c[2].ref, c[1].ref + 4 + 1 + (big - 1) + 4);
	CHECK_INT(chunk_writer_close(w, &e), 0);
	r = chunk_reader_open(dir, &e);
	CHECK(r != NULL);
	if (r != NULL) {
		for (size_t i = 0; i < 3; i++) {
			struct chunk g;

			CHECK_INT(chunk_reader_get(r, c[i].ref, &g, &e), 0);
			CHECK_MEM(g.data, g.len, c[i].data, c[i].len);
		}
		CHECK_U64(chunk_reader_size(r), c[2].ref + 2 + 1 + 3000 + 4);
		chunk_reader_close(r);
	}
	free(data);
}

static void
chunks_reader_dir_errors(void)
{
	char dir[512], path[600];
	struct err e;

	snprintf(dir, sizeof(dir), "%s/missing", unit_tmpdir());
	CHECK(chunk_reader_open(dir, &e) == NULL);
	snprintf(dir, sizeof(dir), "%s/chunks", unit_tmpdir());
	CHECK(mkdir_p(dir, 0777, &e) == 0);
	snprintf(path, sizeof(path), "%s/000001", dir);
	CHECK(file_write_atomic(path, "", 0, &e) == 0);
	CHECK(chunk_reader_open(dir, &e) == NULL);
	CHECK(strstr(e.msg, "segment 0") != NULL);
}

UNIT_CASES(
	UNIT_CASE(chunks_writer_reproduces_appendix_a2),
	UNIT_CASE(chunks_reader_gets_appendix_refs),
	UNIT_CASE(chunks_every_byte_flip_is_caught),
	UNIT_CASE(chunks_reader_rejects_bad_headers),
	UNIT_CASE(chunks_reader_rejects_bad_encoding),
	UNIT_CASE(chunks_writer_splits_segments_like_prometheus),
	UNIT_CASE(chunks_writer_empty_cases),
	UNIT_CASE(chunks_writer_large_chunks_roundtrip),
	UNIT_CASE(chunks_reader_dir_errors),
);
