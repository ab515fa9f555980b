/*
 * lzw: the bytes Go's compress/lzw (LSB, 8-bit literals) writes, produced
 * by Go 1.19's lzw.NewWriter; long inputs cross the 12-bit table reset.
 */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "lib/gossip/lzw.h"
#include "test/unit/unit.h"

/* The generator the Go program used: x = x*1103515245 + 12345, byte (x>>16) % alpha. */
static uint8_t *
gen(size_t n, uint32_t alpha)
{
	uint8_t *b = malloc(n);
	uint32_t x = 12345;

	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		b[i] = (uint8_t)((x >> 16) % alpha);
	}
	return b;
}

static void
check_vector(const char *in, const char *hex)
{
	struct buf z = { 0 }, back = { 0 };
	struct err e;
	size_t n;
	uint8_t *want = unit_hex(hex, &n);

	lzw_compress(&z, in, strlen(in));
	CHECK_MEM(z.p, z.len, want, n);
	CHECK_INT(lzw_decompress(&back, z.p, z.len, 1 << 20, &e), 0);
	CHECK_MEM(back.p, back.len, in, strlen(in));
	free(want);
	buf_free(&z);
	buf_free(&back);
}

static void
short_inputs_as_go(void)
{
	check_vector("", "000302");
	check_vector("A", "00830404");
	check_vector("TOBEORNOTTOBEORTOBEORNOT", "00a93c1152e48914274fa80824687061c183090302");
	check_vector("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "00c3081c48b0a0c183020302");
}

static void
long_inputs_as_go(void)
{
	static const struct { uint32_t alpha; size_t len; uint32_t crc; } v[] = {
		{ 3, 23799, 0x9a833a2c },	/* many table resets */
		{ 256, 136869, 0x62985c79 },	/* incompressible */
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t *in = gen(100000, v[i].alpha);
		struct buf z = { 0 }, back = { 0 };
		struct err e;

		lzw_compress(&z, in, 100000);
		CHECK_INT(z.len, v[i].len);
		CHECK_U64(crc32(0, z.p, (uInt)z.len), v[i].crc);
		CHECK_INT(lzw_decompress(&back, z.p, z.len, 100000, &e), 0);
		CHECK_MEM(back.p, back.len, in, 100000);
		buf_reset(&back);
		CHECK_INT(lzw_decompress(&back, z.p, z.len, 99999, &e), -1);
		CHECK_STR(e.msg, "lzw: more than 99999 bytes decompressed");
		free(in);
		buf_free(&z);
		buf_free(&back);
	}
}

static void
bad_streams_refused(void)
{
	struct buf out = { 0 };
	struct err e;
	size_t n;
	uint8_t *x;

	/* No eof code. */
	x = unit_hex("00a93c11", &n);
	CHECK_INT(lzw_decompress(&out, x, n, 1 << 20, &e), -1);
	CHECK_STR(e.msg, "lzw: input ends before the eof code");
	free(x);
	/* Clear, then code 300 while the next free code is 257. */
	x = unit_hex("005902", &n);
	buf_reset(&out);
	CHECK_INT(lzw_decompress(&out, x, n, 1 << 20, &e), -1);
	CHECK_STR(e.msg, "lzw: invalid code 300 (next free 257)");
	free(x);
	/* Without the leading clear code Go reads it too; bytes after eof are ignored. */
	x = unit_hex("410202 ff ff", &n);
	buf_reset(&out);
	CHECK_INT(lzw_decompress(&out, x, n, 1 << 20, &e), 0);
	CHECK_MEM(out.p, out.len, "A", 1);
	free(x);
	buf_free(&out);
}

UNIT_CASES(
	UNIT_CASE(short_inputs_as_go),
	UNIT_CASE(long_inputs_as_go),
	UNIT_CASE(bad_streams_refused),
);
