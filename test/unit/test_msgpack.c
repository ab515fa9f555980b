#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/gossip/msgpack.h"
#include "test/unit/unit.h"

/*
 * Every encoder vector below was produced by go-msgpack 0.5.5 (Debian
 * package golang-github-hashicorp-go-msgpack-dev 0.5.5-1, go 1.19) through
 * codec.NewEncoder(buf, &codec.MsgpackHandle{}), exactly as memberlist's
 * util.go encodes. Long strings are given as their header; the payload is
 * n bytes of 'a' (strings) or 00 01 02 ... (byte slices).
 */

/* b must hold exactly hex; then b is emptied for the next vector. */
static void
check_buf(struct buf *b, const char *hex)
{
	size_t wlen;
	uint8_t *want = unit_hex(hex, &wlen);

	CHECK_MEM(b->p, b->len, want, wlen);
	free(want);
	buf_reset(b);
}

static const struct {
	size_t		 n;
	const char	*hdr;
} str_vec[] = {
	{ 0, "a0" }, { 5, "a5" }, { 31, "bf" }, { 32, "da 0020" }, { 255, "da 00ff" },
	{ 256, "da 0100" }, { 65535, "da ffff" }, { 65536, "db 00010000" },
};

static void
msgpack_str_matches_go(void)
{
	struct buf b = { 0 };
	struct decbuf d;
	const uint8_t *p;
	size_t n, hlen;
	uint8_t *hdr;
	char *s = malloc(65536);

	memset(s, 'a', 65536);
	for (size_t i = 0; i < sizeof(str_vec) / sizeof(str_vec[0]); i++) {
		hdr = unit_hex(str_vec[i].hdr, &hlen);
		mp_put_str(&b, s, str_vec[i].n);
		CHECK_INT(b.len, hlen + str_vec[i].n);
		CHECK_MEM(b.p, hlen, hdr, hlen);
		CHECK(memcmp(b.p + hlen, s, str_vec[i].n) == 0);
		decbuf_init(&d, b.p, b.len);
		CHECK_INT(mp_get_str(&d, &p, &n), 0);
		CHECK(p == b.p + hlen);
		CHECK_INT(n, str_vec[i].n);
		CHECK_INT(d.len, 0);
		buf_reset(&b);
		free(hdr);
	}
	buf_free(&b);
	free(s);
}

/*
 * Go differs from the spec here in one corner: a nil []byte struct field is
 * 0xc0 (as the spec says) but a bare top-level nil []byte is 0xa0 (the
 * encoder's []byte fast path skips the nil check). memberlist only encodes
 * structs, so mp_put_bytes follows the struct-field behaviour.
 */
static void
msgpack_bytes_match_go(void)
{
	struct buf b = { 0 };
	uint8_t b40[40];

	for (size_t i = 0; i < sizeof(b40); i++)
		b40[i] = (uint8_t)i;
	mp_put_bytes(&b, NULL, 0);
	check_buf(&b, "c0");			/* struct{B []byte}{nil}: 81 a1 42 c0 */
	mp_put_bytes(&b, b40, 0);
	check_buf(&b, "a0");
	mp_put_bytes(&b, "\1\2\3", 3);
	check_buf(&b, "a3 010203");
	mp_put_bytes(&b, b40, 40);
	check_buf(&b, "da 0028 000102030405060708090a0b0c0d0e0f"
	    "101112131415161718191a1b1c1d1e1f2021222324252627");
	buf_free(&b);
}

static const struct {
	uint64_t	 v;
	const char	*hex;
} uint_vec[] = {
	{ 0, "00" }, { 127, "7f" }, { 128, "cc80" }, { 255, "ccff" }, { 256, "cd0100" },
	{ 65535, "cdffff" }, { 65536, "ce00010000" }, { 4294967295u, "ceffffffff" },
	{ 4294967296u, "cf0000000100000000" }, { UINT64_MAX, "cfffffffffffffffff" },
};

/* go-msgpack 0.5.5 writes int, int8 and int64 identically. */
static const struct {
	int64_t		 v;
	const char	*hex;
} int_vec[] = {
	{ 0, "00" }, { 1, "01" }, { 127, "7f" }, { 128, "cc80" }, { 300, "cd012c" },
	{ 70000, "ce00011170" }, { 1099511627776, "cf0000010000000000" },
	{ -1, "ff" }, { -32, "e0" }, { -33, "d0df" }, { -128, "d080" }, { -129, "d1ff7f" },
	{ -32768, "d18000" }, { -32769, "d2ffff7fff" }, { -2147483648, "d280000000" },
	{ -2147483649, "d3ffffffff7fffffff" }, { -1099511627776, "d3ffffff0000000000" },
	{ INT64_MIN, "d38000000000000000" },
};

static void
msgpack_ints_match_go(void)
{
	struct buf b = { 0 };
	struct decbuf d;
	struct mp_obj o;
	uint64_t u;
	int64_t i;

	for (size_t k = 0; k < sizeof(uint_vec) / sizeof(uint_vec[0]); k++) {
		mp_put_uint(&b, uint_vec[k].v);
		decbuf_init(&d, b.p, b.len);
		CHECK_INT(mp_next(&d, &o), 0);
		CHECK_INT(o.type, MP_UINT);
		CHECK_U64(o.v.u, uint_vec[k].v);
		decbuf_init(&d, b.p, b.len);
		CHECK_INT(mp_get_uint(&d, UINT64_MAX, &u), 0);
		CHECK_U64(u, uint_vec[k].v);
		CHECK_INT(d.len, 0);
		check_buf(&b, uint_vec[k].hex);
	}
	for (size_t k = 0; k < sizeof(int_vec) / sizeof(int_vec[0]); k++) {
		mp_put_int(&b, int_vec[k].v);
		decbuf_init(&d, b.p, b.len);
		CHECK_INT(mp_next(&d, &o), 0);
		CHECK_INT(o.type, int_vec[k].v < 0 ? MP_INT : MP_UINT);
		decbuf_init(&d, b.p, b.len);
		CHECK_INT(mp_get_int(&d, &i), 0);
		CHECK_INT(i, int_vec[k].v);
		CHECK_INT(d.len, 0);
		check_buf(&b, int_vec[k].hex);
	}
	buf_free(&b);
}

static void
msgpack_misc_match_go(void)
{
	struct buf b = { 0 };

	mp_put_bool(&b, 0);
	mp_put_bool(&b, 7);
	mp_put_nil(&b);
	check_buf(&b, "c2 c3 c0");
	mp_put_array(&b, 2);
	mp_put_int(&b, 1);
	mp_put_int(&b, 2);
	check_buf(&b, "92 01 02");			/* []int{1, 2} */
	mp_put_array(&b, 15);
	mp_put_array(&b, 16);
	mp_put_array(&b, 65536);
	check_buf(&b, "9f dc0010 dd00010000");		/* make([]int, 16): dc 0010 00... */
	mp_put_map(&b, 15);
	mp_put_map(&b, 16);
	mp_put_map(&b, 65536);
	check_buf(&b, "8f de0010 df00010000");		/* 16-entry map[string]int: de 0010 ... */
	buf_free(&b);
}

static const uint8_t addr[16] = { [10] = 0xff, [11] = 0xff, [12] = 10, [15] = 1 };

#define KEY(b, s)	mp_put_str(b, s, sizeof(s) - 1)

/*
 * Go structs as memberlist sends them. go-msgpack sorts the keys bytewise
 * (memberlist declares ping as SeqNo, Node, SourceAddr, SourcePort,
 * SourceNode; Go writes Node, SeqNo, SourceAddr, SourceNode, SourcePort).
 */
static void
msgpack_structs_match_go(void)
{
	struct buf b = { 0 };

	mp_put_map(&b, 5);				/* ping */
	KEY(&b, "Node"); KEY(&b, "n2");
	KEY(&b, "SeqNo"); mp_put_uint(&b, 1);
	KEY(&b, "SourceAddr"); mp_put_bytes(&b, addr, sizeof(addr));
	KEY(&b, "SourceNode"); KEY(&b, "n1");
	KEY(&b, "SourcePort"); mp_put_uint(&b, 7946);
	check_buf(&b, "85a44e6f6465a26e32a55365714e6f01aa536f7572636541646472b0"
	    "00000000000000000000ffff0a000001aa536f757263654e6f6465a26e31"
	    "aa536f75726365506f7274cd1f0a");

	mp_put_map(&b, 6);				/* alive, Meta nil */
	KEY(&b, "Addr"); mp_put_bytes(&b, addr, sizeof(addr));
	KEY(&b, "Incarnation"); mp_put_uint(&b, 1);
	KEY(&b, "Meta"); mp_put_bytes(&b, NULL, 0);
	KEY(&b, "Node"); KEY(&b, "n1");
	KEY(&b, "Port"); mp_put_uint(&b, 7946);
	KEY(&b, "Vsn"); mp_put_bytes(&b, "\1\5\2\0\0\0", 6);
	check_buf(&b, "86a441646472b000000000000000000000ffff0a000001ab496e6361726e"
	    "6174696f6e01a44d657461c0a44e6f6465a26e31a4506f7274cd1f0aa356736e"
	    "a6010502000000");

	mp_put_map(&b, 3);				/* pushPullHeader, int fields */
	KEY(&b, "Join"); mp_put_bool(&b, 1);
	KEY(&b, "Nodes"); mp_put_int(&b, 1);
	KEY(&b, "UserStateLen"); mp_put_int(&b, 300);
	check_buf(&b, "83a44a6f696ec3a54e6f64657301ac5573657253746174654c656ecd012c");
	buf_free(&b);
}

struct form {
	const char	*hex;
	enum mp_type	 type;
	uint64_t	 u;		/* value, payload length or count */
	int8_t		 ext;
};

/* Forms go-msgpack never writes but every decoder must take. */
static const struct form forms[] = {
	{ "d9 03 616263", MP_STR, 3, 0 },
	{ "d9 00", MP_STR, 0, 0 },
	{ "c4 02 0102", MP_BIN, 2, 0 },
	{ "c5 0001 ff", MP_BIN, 1, 0 },
	{ "c6 00000000", MP_BIN, 0, 0 },
	{ "d4 05 aa", MP_EXT, 1, 5 },
	{ "d5 ff aabb", MP_EXT, 2, -1 },
	{ "d6 01 00000000", MP_EXT, 4, 1 },
	{ "d7 01 0000000000000000", MP_EXT, 8, 1 },
	{ "d8 7f 00000000000000000000000000000000", MP_EXT, 16, 127 },
	{ "c7 02 fe 0102", MP_EXT, 2, -2 },
	{ "c8 0000 03", MP_EXT, 0, 3 },
	{ "c9 00000001 03 00", MP_EXT, 1, 3 },
	{ "d0 05", MP_UINT, 5, 0 },
	{ "d1 7fff", MP_UINT, 32767, 0 },
	{ "d2 00010000", MP_UINT, 65536, 0 },
	{ "d3 7fffffffffffffff", MP_UINT, INT64_MAX, 0 },
	{ "d0 ff", MP_INT, (uint64_t)-1, 0 },
	{ "d1 ff7f", MP_INT, (uint64_t)-129, 0 },
	{ "d3 8000000000000000", MP_INT, (uint64_t)INT64_MIN, 0 },
	{ "cc 05", MP_UINT, 5, 0 },
	{ "cf 0000000000000001", MP_UINT, 1, 0 },
	{ "dc 0001 c0", MP_ARRAY, 1, 0 },
	{ "dd 00000002 c0c0", MP_ARRAY, 2, 0 },
	{ "de 0001 c0c0", MP_MAP, 1, 0 },
	{ "df 00000000", MP_MAP, 0, 0 },
};

static void
msgpack_decodes_every_form(void)
{
	struct decbuf d;
	struct mp_obj o;
	size_t len;
	uint8_t *p;

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		const struct form *f = &forms[i];

		p = unit_hex(f->hex, &len);
		decbuf_init(&d, p, len);
		CHECK_INT(mp_next(&d, &o), 0);
		CHECK_INT(o.type, f->type);
		switch (f->type) {
		case MP_UINT:
			CHECK_U64(o.v.u, f->u);
			break;
		case MP_INT:
			CHECK_INT(o.v.i, (int64_t)f->u);
			break;
		case MP_ARRAY:
		case MP_MAP:
			CHECK_INT(o.v.n, f->u);
			break;
		default:
			CHECK_INT(o.v.s.n, f->u);
			CHECK(o.v.s.p == p + len - f->u);
			CHECK_INT(o.ext_type, f->ext);
			break;
		}
		decbuf_init(&d, p, len);
		CHECK_INT(mp_skip(&d), 0);
		CHECK_INT(d.len, 0);
		free(p);
	}

	p = unit_hex("ca 3fc00000 cb 3ff8000000000000 cb fff0000000000000", &len);
	decbuf_init(&d, p, len);
	CHECK_INT(mp_next(&d, &o), 0);
	CHECK(o.type == MP_FLOAT && o.v.f == 1.5);
	CHECK_INT(mp_next(&d, &o), 0);
	CHECK(o.type == MP_FLOAT && o.v.f == 1.5);
	CHECK_INT(mp_next(&d, &o), 0);
	CHECK(o.type == MP_FLOAT && o.v.f < -1e308);
	CHECK_INT(d.len, 0);
	free(p);
}

/* Run one typed reader over hex; returns its result, *rest the bytes left. */
enum rd { RD_UINT8, RD_UINT64, RD_INT, RD_BOOL, RD_STR, RD_MAP, RD_ARRAY };

static int
rd(enum rd which, const char *hex, uint64_t *v, const uint8_t **sp)
{
	struct decbuf d;
	const uint8_t *s = NULL;
	uint8_t *p;
	size_t len, n = 0;
	uint32_t c = 0;
	int64_t i = 0;
	int b = 0, rc = -1;

	p = unit_hex(hex, &len);
	decbuf_init(&d, p, len);
	switch (which) {
	case RD_UINT8:
		rc = mp_get_uint(&d, UINT8_MAX, v);
		break;
	case RD_UINT64:
		rc = mp_get_uint(&d, UINT64_MAX, v);
		break;
	case RD_INT:
		rc = mp_get_int(&d, &i);
		*v = (uint64_t)i;
		break;
	case RD_BOOL:
		rc = mp_get_bool(&d, &b);
		*v = (uint64_t)b;
		break;
	case RD_STR:
		rc = mp_get_str(&d, &s, &n);
		*v = n;
		if (sp)
			*sp = s == NULL ? NULL : (const uint8_t *)"";
		break;
	case RD_MAP:
		rc = mp_get_map(&d, &c);
		*v = c;
		break;
	case RD_ARRAY:
		rc = mp_get_array(&d, &c);
		*v = c;
		break;
	}
	CHECK_INT(d.err, rc == -1);
	free(p);
	return rc;
}

static void
msgpack_typed_readers(void)
{
	const uint8_t *s;
	uint64_t v;

#define OK(w, hex, want) do { CHECK_INT(rd(w, hex, &v, NULL), 0); CHECK_U64(v, want); } while (0)
#define BAD(w, hex) CHECK_INT(rd(w, hex, &v, NULL), -1)
	OK(RD_UINT8, "ccff", 255);
	OK(RD_UINT8, "d0 05", 5);
	OK(RD_UINT8, "cf 00000000000000ff", 255);
	OK(RD_UINT8, "c0", 0);
	BAD(RD_UINT8, "cd0100");
	BAD(RD_UINT8, "ff");
	BAD(RD_UINT8, "d0 80");
	BAD(RD_UINT8, "c3");
	BAD(RD_UINT8, "a0");
	BAD(RD_UINT8, "ca 3f800000");		/* go-msgpack: no float for ints */
	OK(RD_UINT64, "cfffffffffffffffff", UINT64_MAX);
	OK(RD_INT, "e0", (uint64_t)-32);
	OK(RD_INT, "cf7fffffffffffffff", INT64_MAX);
	OK(RD_INT, "c0", 0);
	BAD(RD_INT, "cf8000000000000000");
	BAD(RD_INT, "c2");
	OK(RD_BOOL, "c3", 1);
	OK(RD_BOOL, "c2", 0);
	OK(RD_BOOL, "00", 0);
	OK(RD_BOOL, "01", 1);
	OK(RD_BOOL, "cc01", 1);
	OK(RD_BOOL, "c0", 0);
	BAD(RD_BOOL, "02");
	BAD(RD_BOOL, "ff");
	BAD(RD_BOOL, "a0");
	OK(RD_MAP, "83 c0c0c0c0c0c0", 3);
	BAD(RD_MAP, "83 c0c0c0c0c0");		/* 3 pairs cannot fit in 5 bytes */
	OK(RD_MAP, "de 0000", 0);
	OK(RD_MAP, "c0", 0);
	BAD(RD_MAP, "90");
	OK(RD_ARRAY, "91 c0", 1);
	OK(RD_ARRAY, "c0", 0);
	BAD(RD_ARRAY, "80");
	BAD(RD_ARRAY, "a0");
	OK(RD_STR, "a3 616263", 3);
	OK(RD_STR, "c4 01 00", 1);
	OK(RD_STR, "d9 01 00", 1);
	BAD(RD_STR, "01");
	BAD(RD_STR, "d4 01 00");
	BAD(RD_STR, "90");
	/* nil and empty stay apart: NULL for nil, a pointer for "". */
	CHECK_INT(rd(RD_STR, "c0", &v, &s), 0);
	CHECK(s == NULL && v == 0);
	CHECK_INT(rd(RD_STR, "a0", &v, &s), 0);
	CHECK(s != NULL && v == 0);
	CHECK_INT(rd(RD_STR, "c4 00", &v, &s), 0);
	CHECK(s != NULL && v == 0);
#undef OK
#undef BAD
}

static void
msgpack_rejects_c1_and_sticks(void)
{
	const uint8_t in[] = { 0xc1, 0x01 }, ok[] = { 0x01 };
	struct decbuf d;
	struct mp_obj o;

	decbuf_init(&d, in, sizeof(in));
	CHECK_INT(mp_next(&d, &o), -1);
	CHECK(d.err);
	CHECK_INT(mp_next(&d, &o), -1);
	decbuf_init(&d, in, sizeof(in));
	CHECK_INT(mp_skip(&d), -1);
	/* An error stays: nothing reads on from a failed cursor. */
	decbuf_init(&d, ok, sizeof(ok));
	d.err = 1;
	CHECK_INT(mp_next(&d, &o), -1);
	CHECK_INT(mp_skip(&d), -1);
	decbuf_init(&d, NULL, 0);
	CHECK_INT(mp_next(&d, &o), -1);
	CHECK(d.err);
}

/* Valid whole, so every strict prefix must fail cleanly, never overread. */
static const char *const whole[] = {
	"85a44e6f6465a26e32a55365714e6f01aa536f7572636541646472b0"
	    "00000000000000000000ffff0a000001aa536f757263654e6f6465a26e31"
	    "aa536f75726365506f7274cd1f0a",
	"cf 0102030405060708",
	"d3 ffffffff7fffffff",
	"cb 3ff8000000000000",
	"db 00000003 616263",
	"c6 00000002 0102",
	"c9 00000002 05 0102",
	"d8 01 000102030405060708090a0b0c0d0e0f",
	"dc 0002 92 c0 81 a1 61 c3 dd 00000001 cd 0102",
	"df 00000001 de 0001 c0 c0 91 90",
};

static void
msgpack_truncation_fails_cleanly(void)
{
	struct decbuf d;
	struct mp_obj o;
	size_t len;
	uint8_t *p, *cut;

	for (size_t i = 0; i < sizeof(whole) / sizeof(whole[0]); i++) {
		p = unit_hex(whole[i], &len);
		decbuf_init(&d, p, len);
		CHECK_INT(mp_skip(&d), 0);
		CHECK_INT(d.len, 0);
		for (size_t k = 0; k < len; k++) {
			/* A heap copy of exactly k bytes, so ASan sees any overread. */
			cut = malloc(k ? k : 1);
			memcpy(cut, p, k);
			decbuf_init(&d, cut, k);
			CHECK_INT(mp_skip(&d), -1);
			CHECK(d.err);
			CHECK_INT(d.len, 0);
			/* Header by header: the walk must end in an error, not run on. */
			decbuf_init(&d, cut, k);
			while (mp_next(&d, &o) == 0)
				continue;
			CHECK(d.err);
			CHECK_INT(d.len, 0);
			free(cut);
		}
		free(p);
	}
}

static void
msgpack_hostile_counts_fail(void)
{
	static const char *const hostile[] = {
		"df ffffffff", "dd ffffffff", "de ffff c0c0c0", "dc ffff c0c0c0",
		"8f c0", "9f c0c0", "db ffffffff 61", "c6 ffffffff", "c9 ffffffff 01",
		"df 80000000 c0",
	};
	static const char *const exact[] = {
		"82 c0c0c0c0", "93 c0c0c0", "de 0002 c0c0c0c0", "dd 00000001 c0",
	};
	struct decbuf d;
	struct mp_obj o;
	size_t len;
	uint8_t *p;

	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		p = unit_hex(hostile[i], &len);
		decbuf_init(&d, p, len);
		CHECK_INT(mp_next(&d, &o), -1);
		CHECK(d.err);
		decbuf_init(&d, p, len);
		CHECK_INT(mp_skip(&d), -1);
		CHECK(d.err);
		free(p);
	}
	/* Exactly enough bytes for the count is fine. */
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++) {
		p = unit_hex(exact[i], &len);
		decbuf_init(&d, p, len);
		CHECK_INT(mp_skip(&d), 0);
		CHECK_INT(d.len, 0);
		free(p);
	}
}

static void
msgpack_deep_nesting_fails(void)
{
	uint8_t in[1001];
	struct decbuf d;

	memset(in, 0x91, 1000);
	in[1000] = 0xc0;
	decbuf_init(&d, in, sizeof(in));
	CHECK_INT(mp_skip(&d), -1);
	CHECK(d.err);
	/* 64 levels are fine, 65 are not; maps nest the same way. */
	decbuf_init(&d, in + 1000 - 64, 65);
	CHECK_INT(mp_skip(&d), 0);
	CHECK_INT(d.len, 0);
	decbuf_init(&d, in + 1000 - 65, 66);
	CHECK_INT(mp_skip(&d), -1);
	for (size_t i = 0; i < 1000; i += 2) {
		in[i] = 0x81;
		in[i + 1] = 0xc0;
	}
	decbuf_init(&d, in, sizeof(in));
	CHECK_INT(mp_skip(&d), -1);
	CHECK(d.err);
}

/* mp_skip leaves the cursor exactly after the value, nested values included. */
static void
msgpack_skip_stops_after_value(void)
{
	struct decbuf d;
	struct mp_obj o;
	size_t len;
	uint8_t *p;

	p = unit_hex("82 a1 61 92 90 80 a1 62 83 01 c4 01 00 02 91 c3 03 d4 01 00"
	    " 2a", &len);
	decbuf_init(&d, p, len);
	CHECK_INT(mp_skip(&d), 0);
	CHECK_INT(d.len, 1);
	CHECK_INT(mp_next(&d, &o), 0);
	CHECK_U64(o.v.u, 42);
	free(p);
}

UNIT_CASES(
	UNIT_CASE(msgpack_str_matches_go),
	UNIT_CASE(msgpack_bytes_match_go),
	UNIT_CASE(msgpack_ints_match_go),
	UNIT_CASE(msgpack_misc_match_go),
	UNIT_CASE(msgpack_structs_match_go),
	UNIT_CASE(msgpack_decodes_every_form),
	UNIT_CASE(msgpack_typed_readers),
	UNIT_CASE(msgpack_rejects_c1_and_sticks),
	UNIT_CASE(msgpack_truncation_fails_cleanly),
	UNIT_CASE(msgpack_hostile_counts_fail),
	UNIT_CASE(msgpack_deep_nesting_fails),
	UNIT_CASE(msgpack_skip_stops_after_value),
);
