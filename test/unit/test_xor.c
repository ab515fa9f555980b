#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/tsdb/xor.h"
#include "test/unit/unit.h"

#define STALE_NAN	0x7FF0000000000002ull
#define GO_NAN		0x7FF8000000000001ull
#define POS_INF		0x7FF0000000000000ull
#define NEG_INF		0xFFF0000000000000ull
#define NEG_ZERO	0x8000000000000000ull

struct sample {
	int64_t		t;
	uint64_t	v;
};

static uint64_t
f64(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	return u;
}

static void
encode(struct xor_chunk *c, const struct sample *s, size_t n)
{
	xor_chunk_init(c);
	for (size_t i = 0; i < n; i++)
		xor_chunk_append(c, s[i].t, s[i].v);
}

/* Decode everything; the samples must come back exactly, then end cleanly. */
static void
check_decode(const uint8_t *p, size_t len, const struct sample *s, size_t n)
{
	struct xor_iter it;
	int64_t t;
	uint64_t v;
	size_t i;

	CHECK_INT(xor_count(p, len), n);
	xor_iter_init(&it, p, len);
	for (i = 0; i < n; i++) {
		int rc = xor_iter_next(&it, &t, &v);

		CHECK_INT(rc, 1);
		if (rc != 1)
			return;
		CHECK_INT(t, s[i].t);
		CHECK_U64(v, s[i].v);
	}
	CHECK_INT(xor_iter_next(&it, &t, &v), 0);
	CHECK_INT(xor_iter_next(&it, &t, &v), 0);
}

static void
check_vector(const struct sample *s, size_t n, const char *hex)
{
	struct xor_chunk c;
	const uint8_t *got;
	uint8_t *want;
	size_t glen, wlen;

	want = unit_hex(hex, &wlen);
	encode(&c, s, n);
	got = xor_chunk_bytes(&c, &glen);
	CHECK_MEM(got, glen, want, wlen);
	check_decode(want, wlen, s, n);
	xor_chunk_free(&c);
	free(want);
}

static const struct sample demo[] = {
	{ 0, 0x3FF0000000000000ull },		/* 1 */
	{ 15000, 0x3FF0000000000000ull },	/* 1 */
	{ 30000, 0x4000000000000000ull },	/* 2 */
	{ 46000, 0x4004000000000000ull },	/* 2.5 */
	{ 60000, 0x4000000000000000ull },	/* 2 */
	{ 90000, 0x4000000000000000ull },	/* 2 */
};
static const char demo_hex[] =
    "00 06 00 3f f0 00 00 00 00 00 00 98 75 30 97 ff e0 fa 36 83 b8 30 b8 7d 00";

static const struct sample odd[] = {
	{ 0, GO_NAN },
	{ 1500, POS_INF },
	{ 2000, NEG_INF },
	{ 3000, NEG_ZERO },
	{ 4000, 0x412E848000000000ull },	/* 1e6 */
	{ 5000, 0x3EE9E3ABE16FC70Dull },	/* 0.000012345 */
};
/* Appendix A.2, bytes 0x29 .. 0x55 of chunks/000001. */
static const char odd_hex[] =
    "00 06 00 7f f8 00 00 00 00 00 01 dc 0b d9 a4 00 00 00 00 00 00 de 0c"
    "60 07 03 e9 84 bf fe c0 ce 09 74 25 87 ff f8 ec e5 7c 2d f8 e1 a0";

static const struct sample four[] = {
	{ 1000, 0x4000000000000000ull },	/* 2 */
	{ 2000, 0x3FE0000000000000ull },	/* 0.5 */
	{ 3000, 0x4046800000000000ull },	/* 45 */
	{ 4000, 0x4008000000000000ull },	/* 3 */
};
static const char four_hex[] =
    "00 04 d0 0f 40 00 00 00 00 00 00 00 e8 07 c2 57 fe c2 87 fa 6a 00 9d 00";

static void
xor_demo_chunk_matches_promtool(void)
{
	check_vector(demo, 6, demo_hex);
}

static void
xor_one_sample_chunks_have_trailing_byte(void)
{
	static const struct sample a[] = { { 0, 0x3FF0000000000000ull } };
	static const struct sample b[] = { { 1000, 0x4045000000000000ull } };

	check_vector(a, 1, "00 01 00 3f f0 00 00 00 00 00 00 00");
	check_vector(b, 1, "00 01 d0 0f 40 45 00 00 00 00 00 00 00");
}

static void
xor_four_sample_chunk_has_trailing_empty_byte(void)
{
	check_vector(four, 4, four_hex);
}

static void
xor_odd_chunk_nan_inf_negzero(void)
{
	check_vector(odd, 6, odd_hex);
	CHECK(f64(1e6) == odd[4].v);
	CHECK(f64(0.000012345) == odd[5].v);
}

static void
xor_nan_payloads_survive(void)
{
	static const struct sample s[] = {
		{ 0, STALE_NAN }, { 10, STALE_NAN }, { 20, GO_NAN }, { 30, STALE_NAN },
		{ 40, 0x7FF4000000000000ull }, { 50, 0xFFFFFFFFFFFFFFFFull }, { 60, 0 },
		{ 70, STALE_NAN },
	};
	struct xor_chunk c;
	const uint8_t *p;
	size_t len;

	encode(&c, s, 8);
	p = xor_chunk_bytes(&c, &len);
	check_decode(p, len, s, 8);
	xor_chunk_free(&c);
}

/*
 * A naive model of Go's bstream (§5.1: write_bit / write_byte / write_bits)
 * and of the XOR appender, one bit at a time, to check the word-at-a-time
 * encoder against on arbitrary input.
 */
struct model {
	uint8_t		s[8192];
	size_t		len;
	unsigned	count;
	uint16_t	n;
	int64_t		t;
	uint64_t	tdelta;
	uint64_t	v;
	unsigned	lead, trail;
};

static void
m_bit(struct model *m, int b)
{
	if (m->count == 0) {
		m->s[m->len++] = 0;
		m->count = 8;
	}
	if (b)
		m->s[m->len - 1] |= (uint8_t)(1u << (m->count - 1));
	m->count--;
}

static void
m_byte(struct model *m, uint8_t x)
{
	if (m->count == 0) {
		m->s[m->len++] = 0;
		m->count = 8;
	}
	m->s[m->len - 1] |= (uint8_t)(x >> (8 - m->count));
	m->s[m->len++] = (uint8_t)(x << m->count);
}

static void
m_bits(struct model *m, uint64_t u, int n)
{
	for (; n >= 8; n -= 8)
		m_byte(m, (uint8_t)(u >> (n - 8)));
	for (; n > 0; n--)
		m_bit(m, (int)(u >> (n - 1) & 1));
}

static void
m_uvarint(struct model *m, uint64_t u)
{
	while (u >= 0x80) {
		m_byte(m, (uint8_t)(u | 0x80));
		u >>= 7;
	}
	m_byte(m, (uint8_t)u);
}

static int
fits(int64_t x, int n)
{
	int64_t lim = (int64_t)1 << (n - 1);

	return x >= -(lim - 1) && x <= lim;
}

static void
m_value(struct model *m, uint64_t v)
{
	uint64_t x = v ^ m->v;
	unsigned lz = 0, tz = 0;

	if (x == 0) {
		m_bit(m, 0);
		return;
	}
	m_bit(m, 1);
	while (!(x >> (63 - lz) & 1))
		lz++;
	while (!(x >> tz & 1))
		tz++;
	if (lz > 31)
		lz = 31;
	if (m->lead != 0xff && lz >= m->lead && tz >= m->trail) {
		m_bit(m, 0);
		m_bits(m, x >> m->trail, (int)(64 - m->lead - m->trail));
		return;
	}
	m->lead = lz;
	m->trail = tz;
	m_bit(m, 1);
	m_bits(m, lz, 5);
	m_bits(m, 64 - lz - tz, 6);
	m_bits(m, x >> tz, (int)(64 - lz - tz));
}

static void
m_append(struct model *m, int64_t t, uint64_t v)
{
	uint64_t d = (uint64_t)t - (uint64_t)m->t;

	if (m->n == 0) {
		m_uvarint(m, (uint64_t)t << 1 ^ (uint64_t)(t >> 63));
		m_bits(m, v, 64);
		d = 0;
	} else if (m->n == 1) {
		m_uvarint(m, d);
		m_value(m, v);
	} else {
		int64_t dod = (int64_t)(d - m->tdelta);

		if (dod == 0)
			m_bit(m, 0);
		else if (fits(dod, 14)) {
			m_bits(m, 2, 2);
			m_bits(m, (uint64_t)dod, 14);
		} else if (fits(dod, 17)) {
			m_bits(m, 6, 3);
			m_bits(m, (uint64_t)dod, 17);
		} else if (fits(dod, 20)) {
			m_bits(m, 14, 4);
			m_bits(m, (uint64_t)dod, 20);
		} else {
			m_bits(m, 15, 4);
			m_bits(m, (uint64_t)dod, 64);
		}
		m_value(m, v);
	}
	m->t = t;
	m->v = v;
	m->tdelta = d;
	m->n++;
	m->s[0] = (uint8_t)(m->n >> 8);
	m->s[1] = (uint8_t)m->n;
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int64_t
pick_delta(int64_t prev)
{
	static const int64_t edges[] = {
		0, 1, 8192, -8191, -8192, 8193, 65536, -65535, -65536, 65537,
		524288, -524287, -524288, 524289, 1000000000, -1000000,
	};

	switch (rnd() % 6) {
	case 0:
		return prev;
	case 1:
		return prev + edges[rnd() % (sizeof(edges) / sizeof(edges[0]))];
	case 2:
		return 1 + (int64_t)(rnd() % 100000);
	case 3:
		return 1 + (int64_t)(rnd() % ((uint64_t)1 << (rnd() % 40)));
	default:
		return 15000 + (int64_t)(rnd() % 21) - 10;
	}
}

static uint64_t
pick_value(uint64_t prev)
{
	switch (rnd() % 7) {
	case 0:
		return prev;
	case 1:
		return rnd();
	case 2:
		return prev ^ (uint64_t)1 << (rnd() % 64);
	case 3:
		return f64((double)(rnd() % 1000) / 8);
	case 4:
		return (rnd() & 1) ? STALE_NAN : GO_NAN;
	case 5:
		return prev ^ (rnd() & 0xffff) << (rnd() % 48);
	default:
		return f64((double)(int64_t)rnd() / 3.0);
	}
}

static void
xor_encoder_matches_bit_model(void)
{
	static struct model m;
	static struct sample s[240];

	for (int round = 0; round < 3000; round++) {
		struct xor_chunk c;
		const uint8_t *p;
		size_t len, n = 1 + rnd() % 240;
		int64_t t = (int64_t)(rnd() % 4000000000000ull) - 2000000000000ll, delta = 15000;
		uint64_t v = rnd();

		memset(&m, 0, sizeof(m));
		m.len = 2;
		m.lead = 0xff;
		xor_chunk_init(&c);
		for (size_t i = 0; i < n; i++) {
			if (i > 0) {
				int64_t d = pick_delta(delta);

				delta = d > 0 ? d : 1;
				t += delta;
			}
			v = pick_value(v);
			s[i].t = t;
			s[i].v = v;
			m_append(&m, t, v);
			xor_chunk_append(&c, t, v);
			p = xor_chunk_bytes(&c, &len);
			if (len != m.len || memcmp(p, m.s, len) != 0) {
				CHECK_MEM(p, len, m.s, m.len);
				xor_chunk_free(&c);
				return;
			}
		}
		p = xor_chunk_bytes(&c, &len);
		check_decode(p, len, s, n);
		if (unit_failed)
			return;
		xor_chunk_free(&c);
	}
}

static void
xor_reset_reuses_chunk(void)
{
	struct xor_chunk c;
	const uint8_t *p;
	uint8_t *want;
	size_t len, wlen;

	encode(&c, odd, 6);
	xor_chunk_reset(&c);
	for (size_t i = 0; i < 6; i++)
		xor_chunk_append(&c, demo[i].t, demo[i].v);
	p = xor_chunk_bytes(&c, &len);
	want = unit_hex(demo_hex, &wlen);
	CHECK_MEM(p, len, want, wlen);
	free(want);
	xor_chunk_free(&c);
}

/* Decode a copy of exactly len bytes so that ASan sees any overread. */
static int
decode_all(const uint8_t *p, size_t len, size_t *nread)
{
	uint8_t *q = calloc(1, len ? len : 1);
	struct xor_iter it;
	int64_t t;
	uint64_t v;
	int rc;

	if (len)
		memcpy(q, p, len);
	xor_iter_init(&it, q, len);
	*nread = 0;
	while ((rc = xor_iter_next(&it, &t, &v)) == 1)
		(*nread)++;
	free(q);
	return rc;
}

static void
xor_truncated_streams_are_errors(void)
{
	static const char *hex[] = { demo_hex, odd_hex, four_hex };
	static const size_t trailing_empty[] = { 0, 0, 1 };

	for (size_t k = 0; k < 3; k++) {
		size_t len, nread;
		uint8_t *p = unit_hex(hex[k], &len);

		/* The empty trailing byte is never read. */
		for (size_t cut = 0; cut < len - trailing_empty[k]; cut++) {
			CHECK_INT(decode_all(p, cut, &nread), -1);
			CHECK(nread < xor_count(p, len));
		}
		for (size_t cut = len - trailing_empty[k]; cut <= len; cut++) {
			CHECK_INT(decode_all(p, cut, &nread), 0);
			CHECK_INT(nread, xor_count(p, len));
		}
		free(p);
	}
}

static void
xor_count_beyond_data_is_error(void)
{
	size_t len, nread;
	uint8_t *p = unit_hex(demo_hex, &len);

	p[1] = 7;
	CHECK_INT(decode_all(p, len, &nread), -1);
	CHECK_INT(nread, 6);
	p[0] = 0xff;
	p[1] = 0xff;
	CHECK_INT(decode_all(p, len, &nread), -1);
	CHECK(nread < 100);
	p[0] = 0;
	p[1] = 0;
	CHECK_INT(decode_all(p, len, &nread), 0);
	CHECK_INT(nread, 0);
	free(p);
}

static void
xor_tiny_and_garbage_inputs(void)
{
	static const uint8_t ones[64] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	};
	uint8_t buf[300];
	size_t nread;

	CHECK_INT(decode_all(NULL, 0, &nread), -1);
	CHECK_INT(decode_all((const uint8_t *)"\x00", 1, &nread), -1);
	CHECK_INT(xor_count((const uint8_t *)"\x01", 1), 0);
	CHECK_INT(decode_all((const uint8_t *)"\x00\x00", 2, &nread), 0);
	CHECK_INT(decode_all((const uint8_t *)"\x00\x01", 2, &nread), -1);
	/* An 11-byte varint for t0 overflows. */
	CHECK_INT(decode_all(ones, sizeof(ones), &nread), -1);
	CHECK_INT(nread, 0);
	/* Random streams: any outcome but a crash or an overread. */
	for (int round = 0; round < 20000; round++) {
		size_t len = 2 + rnd() % (sizeof(buf) - 2);

		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)rnd();
		buf[0] = (uint8_t)(rnd() % 3);
		CHECK(decode_all(buf, len, &nread) <= 0);
	}
}

static void
xor_wide_timestamps_wrap_like_go(void)
{
	static const struct sample s[] = {
		{ INT64_MIN + 1, 1 }, { -1, 2 }, { 0, 3 }, { INT64_MAX - 5, 4 },
		{ INT64_MAX - 4, 5 }, { INT64_MAX, 6 },
	};
	struct xor_chunk c;
	const uint8_t *p;
	size_t len;

	encode(&c, s, 6);
	p = xor_chunk_bytes(&c, &len);
	check_decode(p, len, s, 6);
	xor_chunk_free(&c);
}

UNIT_CASES(
	UNIT_CASE(xor_demo_chunk_matches_promtool),
	UNIT_CASE(xor_one_sample_chunks_have_trailing_byte),
	UNIT_CASE(xor_four_sample_chunk_has_trailing_empty_byte),
	UNIT_CASE(xor_odd_chunk_nan_inf_negzero),
	UNIT_CASE(xor_nan_payloads_survive),
	UNIT_CASE(xor_encoder_matches_bit_model),
	UNIT_CASE(xor_reset_reuses_chunk),
	UNIT_CASE(xor_truncated_streams_are_errors),
	UNIT_CASE(xor_count_beyond_data_is_error),
	UNIT_CASE(xor_tiny_and_garbage_inputs),
	UNIT_CASE(xor_wide_timestamps_wrap_like_go),
);
