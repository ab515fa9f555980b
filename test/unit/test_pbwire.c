#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/err.h"
#include "lib/rw/pbwire.h"
#include "lib/tsdb/encoding.h"
#include "test/unit/unit.h"

static int
varint_of(const char *hex, uint64_t *v, size_t *used)
{
	size_t n;
	uint8_t *p = unit_hex(hex, &n);
	struct pb_reader r;
	int rc;

	pb_reader_init(&r, p, n);
	rc = pb_varint(&r, v);
	*used = n - pb_left(&r);
	free(p);
	return rc;
}

static void
varint_known_encodings(void)
{
	uint64_t v = 0;
	size_t used = 0;

	CHECK_INT(varint_of("00", &v, &used), PB_OK);
	CHECK_U64(v, 0);
	CHECK_INT(varint_of("7f", &v, &used), PB_OK);
	CHECK_U64(v, 127);
	CHECK_INT(varint_of("ac 02", &v, &used), PB_OK);
	CHECK_U64(v, 300);
	CHECK_INT(used, 2);
	/* The timestamp of the remote-write example (spec 1.4). */
	CHECK_INT(varint_of("80 d0 95 ff bc 31", &v, &used), PB_OK);
	CHECK_U64(v, 1700000000000ull);
	/* int64 -1 is ten bytes. */
	CHECK_INT(varint_of("ff ff ff ff ff ff ff ff ff 01", &v, &used), PB_OK);
	CHECK_U64(v, UINT64_MAX);
	CHECK_INT(used, 10);
}

static void
varint_go_edge_cases(void)
{
	uint64_t v = 0;
	size_t used = 0;

	/* gogo keeps only bit 0 of a tenth byte: 0x7f there is accepted. */
	CHECK_INT(varint_of("80 80 80 80 80 80 80 80 80 7f", &v, &used), PB_OK);
	CHECK_U64(v, 1ull << 63);
	/* An eleventh byte is an overflow, even at the end of the input. */
	CHECK_INT(varint_of("ff ff ff ff ff ff ff ff ff ff", &v, &used),
	    PB_EOVERFLOW);
	CHECK_INT(varint_of("ff ff ff ff ff ff ff ff ff ff 01", &v, &used),
	    PB_EOVERFLOW);
	CHECK_INT(varint_of("80 80", &v, &used), PB_ETRUNC);
	CHECK_INT(varint_of("", &v, &used), PB_ETRUNC);
}

static void
tag_rules(void)
{
	uint8_t b[16];
	struct pb_reader r;
	size_t n;

	b[0] = 0x00;
	pb_reader_init(&r, b, 1);
	CHECK_INT(pb_tag(&r), PB_EFIELD);
	b[0] = 0x0c;	/* field 1, end group */
	pb_reader_init(&r, b, 1);
	CHECK_INT(pb_tag(&r), PB_EENDGROUP);
	b[0] = 0x12;
	pb_reader_init(&r, b, 1);
	CHECK_INT(pb_tag(&r), PB_OK);
	CHECK_INT(r.field, 2);
	CHECK_INT(r.wt, PB_LEN);
	/* Field numbers are truncated to int32 as gogo does: 2^32+1 reads as 1. */
	n = uvarint_put(b, ((1ull << 32) + 1) << 3 | PB_VARINT);
	pb_reader_init(&r, b, n);
	CHECK_INT(pb_tag(&r), PB_OK);
	CHECK_INT(r.field, 1);
	/* ... and 2^31 is negative: illegal. */
	n = uvarint_put(b, (1ull << 31) << 3);
	pb_reader_init(&r, b, n);
	CHECK_INT(pb_tag(&r), PB_EFIELD);
}

static void
fixed_and_len(void)
{
	size_t n;
	uint8_t *p = unit_hex("09 00 00 00 00 00 00 f0 3f", &n);
	struct pb_reader r, sub = { NULL, NULL, 0, 0 };
	uint64_t v = 0;
	uint32_t w = 0;

	pb_reader_init(&r, p, n);
	CHECK_INT(pb_tag(&r), PB_OK);
	CHECK_INT(pb_fixed64(&r, &v), PB_OK);
	CHECK_U64(v, 0x3ff0000000000000ull);
	CHECK(!pb_more(&r));
	pb_reader_init(&r, p + 1, 7);
	CHECK_INT(pb_fixed64(&r, &v), PB_ETRUNC);
	pb_reader_init(&r, p + 5, 4);
	CHECK_INT(pb_fixed32(&r, &w), PB_OK);
	CHECK_U64(w, 0x3ff00000);
	free(p);

	p = unit_hex("03 61 62 63 ff", &n);
	pb_reader_init(&r, p, n);
	CHECK_INT(pb_len(&r, &sub), PB_OK);
	CHECK_MEM(sub.p, pb_left(&sub), "abc", 3);
	CHECK_INT(pb_left(&r), 1);
	pb_reader_init(&r, p, 3);
	CHECK_INT(pb_len(&r, &sub), PB_ETRUNC);
	free(p);
	/* A length of 2^63 would be negative in Go. */
	p = unit_hex("80 80 80 80 80 80 80 80 80 01", &n);
	pb_reader_init(&r, p, n);
	CHECK_INT(pb_len(&r, &sub), PB_ELEN);
	free(p);
}

static void
skip_values_and_groups(void)
{
	/* varint, fixed64, bytes, group{ varint, group{} }, fixed32, then 0x08 01 */
	size_t n;
	uint8_t *p = unit_hex("08 96 01  11 01 02 03 04 05 06 07 08  1a 02 aa bb"
	    "  23 08 05 2b 2c 24  2d 01 02 03 04  08 01", &n);
	struct pb_reader r;
	uint64_t v = 0;

	pb_reader_init(&r, p, n);
	for (int i = 0; i < 5; i++) {
		CHECK_INT(pb_tag(&r), PB_OK);
		CHECK_INT(pb_skip(&r), PB_OK);
	}
	CHECK_INT(pb_tag(&r), PB_OK);
	CHECK_INT(r.field, 1);
	CHECK_INT(pb_varint(&r, &v), PB_OK);
	CHECK_U64(v, 1);
	CHECK(!pb_more(&r));
	free(p);

	/* An unclosed group, and wire types 6 and 7. */
	p = unit_hex("23 08 05", &n);
	pb_reader_init(&r, p, n);
	CHECK_INT(pb_tag(&r), PB_OK);
	CHECK_INT(pb_skip(&r), PB_ETRUNC);
	free(p);
	p = unit_hex("0e 00", &n);
	pb_reader_init(&r, p, n);
	CHECK_INT(pb_tag(&r), PB_OK);
	CHECK_INT(pb_skip(&r), PB_EWIRE);
	free(p);
}

static void
zigzag(void)
{
	CHECK_U64(pb_zigzag(0), 0);
	CHECK_U64(pb_zigzag(-1), 1);
	CHECK_U64(pb_zigzag(1), 2);
	CHECK_U64(pb_zigzag(-2), 3);
	CHECK_U64(pb_zigzag(INT64_MAX), UINT64_MAX - 1);
	CHECK_U64(pb_zigzag(INT64_MIN), UINT64_MAX);
	CHECK_INT(pb_unzigzag(3), -2);
	CHECK_INT(pb_unzigzag(UINT64_MAX) == INT64_MIN, 1);
	for (int64_t v = -300; v <= 300; v += 7)
		CHECK_INT(pb_unzigzag(pb_zigzag(v)), v);
}

static void
writer_lengths(void)
{
	struct buf b = { 0 };
	uint8_t big[200];
	size_t m, m2, n;
	uint8_t *want;

	CHECK_INT(pb_varint_size(0), 1);
	CHECK_INT(pb_varint_size(127), 1);
	CHECK_INT(pb_varint_size(128), 2);
	CHECK_INT(pb_varint_size(UINT64_MAX), 10);

	m = pb_open(&b, 1);
	pb_put_varint(&b, 2, 1700000000000ull);
	pb_put_fixed64(&b, 1, 0x3ff0000000000000ull);
	pb_put_bytes(&b, 3, "ab", 2);
	pb_close(&b, m);
	want = unit_hex("0a 14 10 80 d0 95 ff bc 31 09 00 00 00 00 00 00 f0 3f"
	    " 1a 02 61 62", &n);
	CHECK_MEM(b.p, b.len, want, n);
	free(want);

	/* A body of 200 bytes needs a two-byte length: the contents move. */
	buf_reset(&b);
	memset(big, 0x5a, sizeof(big));
	m = pb_open(&b, 2);
	m2 = pb_open(&b, 1);
	buf_put_bytes(&b, big, sizeof(big) - 3);
	pb_close(&b, m2);
	pb_close(&b, m);
	CHECK_INT(b.len, 3 + 3 + 197);
	CHECK_U64(b.p[0], 0x12);
	CHECK_U64(b.p[1], 0xc8);	/* 200 = c8 01 */
	CHECK_U64(b.p[2], 0x01);
	CHECK_U64(b.p[3], 0x0a);
	CHECK_U64(b.p[4], 0xc5);	/* 197 = c5 01 */
	CHECK_U64(b.p[5], 0x01);
	CHECK_MEM(b.p + 6, b.len - 6, big, 197);
	buf_free(&b);
}

static const struct pb_fielddef span_f[] = {
	{ 1, PB_K_VARINT, "offset", NULL },
};
static const struct pb_msgdef span_d = { span_f, 1 };
static const struct pb_fielddef top_f[] = {
	{ 1, PB_K_I64, "value", NULL },
	{ 2, PB_K_MSG, "span", &span_d },
	{ 3, PB_K_RI64, "counts", NULL },
	{ 4, PB_K_RVARINT, "deltas", NULL },
};
static const struct pb_msgdef top_d = { top_f, 4 };

static void
check_schema(void)
{
	struct err e;
	size_t n;
	uint8_t *p;

	/* counts packed and unpacked, deltas packed and unpacked, unknown field 9. */
	p = unit_hex("09 00 00 00 00 00 00 00 00  12 02 08 01  12 00"
	    "  1a 08 01 02 03 04 05 06 07 08  19 01 02 03 04 05 06 07 08"
	    "  22 03 01 96 01  20 05  48 01", &n);
	CHECK_INT(pb_check(&top_d, p, n, &e), 0);
	free(p);

	p = unit_hex("12 02 08 01  12 02 10 00  12 02 08 80", &n);
	CHECK_INT(pb_check(&top_d, p, n, &e), -1);
	CHECK_STR(e.msg, "span 2: offset: truncated");
	free(p);

	p = unit_hex("12 02 0d 01", &n);
	CHECK_INT(pb_check(&top_d, p, n, &e), -1);
	CHECK_STR(e.msg, "span 0: wrong wire type 5 for field offset");
	free(p);

	p = unit_hex("1a 05 01 02 03 04 05", &n);
	CHECK_INT(pb_check(&top_d, p, n, &e), -1);
	CHECK_STR(e.msg, "counts: packed length 5 is not a multiple of 8");
	free(p);

	p = unit_hex("22 02 80 80", &n);
	CHECK_INT(pb_check(&top_d, p, n, &e), -1);
	CHECK_STR(e.msg, "deltas: truncated");
	free(p);

	p = unit_hex("08 01", &n);
	CHECK_INT(pb_check(&top_d, p, n, &e), -1);
	CHECK_STR(e.msg, "wrong wire type 0 for field value");
	free(p);

	p = unit_hex("00", &n);
	CHECK_INT(pb_check(&top_d, p, n, &e), -1);
	CHECK_STR(e.msg, "illegal field number 0 (wire type 0)");
	free(p);
}

/* Packed and unpacked runs append to one array; a cut run is an error. */
static void
repeated_uint32(void)
{
	size_t n, ntok = 0;
	uint8_t *p = unit_hex("32 03 01 ac 02  30 05  32 00  32 05 80 80 80 80 10  32 02 07 80", &n);
	struct pb_reader r;
	uint32_t *tok = NULL;
	struct err e;

	pb_reader_init(&r, p, n);
	for (int i = 0; i < 4; i++) {
		CHECK_INT(pb_tag(&r), PB_OK);
		CHECK_INT(pb_get_repeated_uint32(&r, "tokens", &tok, &ntok, &e), 0);
	}
	CHECK_INT(ntok, 4);
	CHECK_INT(tok[0], 1);
	CHECK_INT(tok[1], 300);
	CHECK_INT(tok[2], 5);
	CHECK_INT(tok[3], 0);	/* 2^32, cut to 32 bits as Go does */
	CHECK_INT(pb_tag(&r), PB_OK);
	CHECK_INT(pb_get_repeated_uint32(&r, "tokens", &tok, &ntok, &e), -1);
	CHECK_INT(ntok, 5);	/* the value before the cut was appended; the caller drops the whole message */
	free(tok);
	free(p);
}

UNIT_CASES(
	UNIT_CASE(varint_known_encodings),
	UNIT_CASE(varint_go_edge_cases),
	UNIT_CASE(tag_rules),
	UNIT_CASE(fixed_and_len),
	UNIT_CASE(skip_values_and_groups),
	UNIT_CASE(zigzag),
	UNIT_CASE(writer_lengths),
	UNIT_CASE(check_schema),
	UNIT_CASE(repeated_uint32),
);
