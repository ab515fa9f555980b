#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/gossip/msgpack.h"

/* Deepest container nesting mp_skip follows; memberlist itself needs 3. */
#define MP_MAXDEPTH	64

/* Tag byte, then the low n bytes of v big-endian (n is 0, 1, 2, 4 or 8). */
static void
put_tag(struct buf *b, uint8_t tag, uint64_t v, unsigned n)
{
	buf_reserve(b, 1 + n);
	b->p[b->len++] = tag;
	while (n-- > 0)
		b->p[b->len++] = (uint8_t)(v >> (8 * n));
}

/*
 * The fix/16/32 families (str, array, map). Sizes above 32 bits have no
 * msgpack form; Go would silently truncate the length and so desynchronise
 * the stream, so treat it as the programming error it is.
 */
static void
put_len(struct buf *b, uint8_t fix, unsigned fixmax, uint8_t tag16, uint64_t n)
{
	if (n <= fixmax)
		put_tag(b, (uint8_t)(fix | n), 0, 0);
	else if (n <= UINT16_MAX)
		put_tag(b, tag16, n, 2);
	else if (n <= UINT32_MAX)
		put_tag(b, (uint8_t)(tag16 + 1), n, 4);
	else
		abort();
}

void
mp_put_nil(struct buf *b)
{
	buf_put_u8(b, 0xc0);
}

void
mp_put_bool(struct buf *b, int v)
{
	buf_put_u8(b, v ? 0xc3 : 0xc2);
}

void
mp_put_uint(struct buf *b, uint64_t v)
{
	if (v <= 0x7f)
		put_tag(b, (uint8_t)v, 0, 0);
	else if (v <= UINT8_MAX)
		put_tag(b, 0xcc, v, 1);
	else if (v <= UINT16_MAX)
		put_tag(b, 0xcd, v, 2);
	else if (v <= UINT32_MAX)
		put_tag(b, 0xce, v, 4);
	else
		put_tag(b, 0xcf, v, 8);
}

/* go-msgpack 0.5.x: non-negative as unsigned, negative in the smallest signed form. */
void
mp_put_int(struct buf *b, int64_t v)
{
	if (v >= 0)
		mp_put_uint(b, (uint64_t)v);
	else if (v >= -32)
		put_tag(b, (uint8_t)v, 0, 0);
	else if (v >= INT8_MIN)
		put_tag(b, 0xd0, (uint64_t)v, 1);
	else if (v >= INT16_MIN)
		put_tag(b, 0xd1, (uint64_t)v, 2);
	else if (v >= INT32_MIN)
		put_tag(b, 0xd2, (uint64_t)v, 4);
	else
		put_tag(b, 0xd3, (uint64_t)v, 8);
}

/* Old-spec raw: no str8 (0xd9), which go-msgpack writes only with WriteExt. */
void
mp_put_str(struct buf *b, const void *p, size_t n)
{
	put_len(b, 0xa0, 31, 0xda, n);
	buf_put_bytes(b, p, n);
}

/*
 * Go writes a nil []byte struct field as nil and any other as a raw string.
 * (A bare top-level nil []byte takes a fast path in go-msgpack 0.5.5 and
 * comes out as 0xa0, but memberlist only ever encodes structs.)
 */
void
mp_put_bytes(struct buf *b, const void *p, size_t n)
{
	if (p == NULL)
		mp_put_nil(b);
	else
		mp_put_str(b, p, n);
}

void
mp_put_map(struct buf *b, uint32_t n)
{
	put_len(b, 0x80, 15, 0xde, n);
}

void
mp_put_array(struct buf *b, uint32_t n)
{
	put_len(b, 0x90, 15, 0xdc, n);
}

static int
fail(struct decbuf *d)
{
	d->err = 1;
	d->len = 0;
	return -1;
}

/* n (1, 2, 4 or 8) bytes big-endian; 0 and d->err set on overrun. */
static uint64_t
get_be(struct decbuf *d, unsigned n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | dec_u8(d);
	return v;
}

/* A length of lenbytes bytes (0: already known as n), then that much payload. */
static int
get_payload(struct decbuf *d, struct mp_obj *o, enum mp_type type, unsigned lenbytes,
    uint64_t n, int ext)
{
	if (lenbytes)
		n = get_be(d, lenbytes);
	o->type = type;
	if (ext)
		o->ext_type = (int8_t)dec_u8(d);
	if (d->err || n > d->len)
		return fail(d);
	o->v.s.p = d->p;
	o->v.s.n = (uint32_t)n;
	dec_skip(d, (size_t)n);
	return 0;
}

/*
 * A container header. Every element takes at least one byte, so a count
 * larger than what is left is refused here, before any caller loops (or
 * sizes an allocation) over it.
 */
static int
get_container(struct decbuf *d, struct mp_obj *o, enum mp_type type, uint64_t n)
{
	if (d->err || (type == MP_MAP ? 2 * n : n) > d->len)
		return fail(d);
	o->type = type;
	o->v.n = (uint32_t)n;
	return 0;
}

/* A signed value, reported as MP_UINT when non-negative (see the header). */
static int
get_signed(struct decbuf *d, struct mp_obj *o, int64_t i)
{
	if (d->err)
		return fail(d);
	if (i >= 0) {
		o->type = MP_UINT;
		o->v.u = (uint64_t)i;
	} else {
		o->type = MP_INT;
		o->v.i = i;
	}
	return 0;
}

int
mp_next(struct decbuf *d, struct mp_obj *o)
{
	uint64_t u;
	uint32_t f32;
	float f;
	double f64;
	uint8_t c;

	memset(o, 0, sizeof(*o));
	c = dec_u8(d);
	if (d->err)
		return fail(d);
	if (c <= 0x7f || (c >= 0xcc && c <= 0xcf)) {
		o->type = MP_UINT;
		o->v.u = c <= 0x7f ? c : get_be(d, 1u << (c - 0xcc));
		return d->err ? fail(d) : 0;
	}
	if (c >= 0xe0)
		return get_signed(d, o, (int8_t)c);
	if (c <= 0x8f)
		return get_container(d, o, MP_MAP, c & 0x0f);
	if (c <= 0x9f)
		return get_container(d, o, MP_ARRAY, c & 0x0f);
	if (c <= 0xbf)
		return get_payload(d, o, MP_STR, 0, c & 0x1f, 0);
	switch (c) {
	case 0xc0:
		o->type = MP_NIL;
		return 0;
	case 0xc2:
	case 0xc3:
		o->type = MP_BOOL;
		o->v.b = c == 0xc3;
		return 0;
	case 0xc4: case 0xc5: case 0xc6:
		return get_payload(d, o, MP_BIN, 1u << (c - 0xc4), 0, 0);
	case 0xc7: case 0xc8: case 0xc9:
		return get_payload(d, o, MP_EXT, 1u << (c - 0xc7), 0, 1);
	case 0xca:
		f32 = (uint32_t)get_be(d, 4);
		memcpy(&f, &f32, sizeof(f));
		o->type = MP_FLOAT;
		o->v.f = f;
		return d->err ? fail(d) : 0;
	case 0xcb:
		u = get_be(d, 8);
		memcpy(&f64, &u, sizeof(f64));
		o->type = MP_FLOAT;
		o->v.f = f64;
		return d->err ? fail(d) : 0;
	case 0xd0:
		return get_signed(d, o, (int8_t)get_be(d, 1));
	case 0xd1:
		return get_signed(d, o, (int16_t)get_be(d, 2));
	case 0xd2:
		return get_signed(d, o, (int32_t)get_be(d, 4));
	case 0xd3:
		return get_signed(d, o, (int64_t)get_be(d, 8));
	case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
		return get_payload(d, o, MP_EXT, 0, 1u << (c - 0xd4), 1);
	case 0xd9: case 0xda: case 0xdb:
		return get_payload(d, o, MP_STR, 1u << (c - 0xd9), 0, 0);
	case 0xdc: case 0xdd:
		return get_container(d, o, MP_ARRAY, get_be(d, 2u << (c - 0xdc)));
	case 0xde: case 0xdf:
		return get_container(d, o, MP_MAP, get_be(d, 2u << (c - 0xde)));
	default:	/* 0xc1: never used */
		return fail(d);
	}
}

/*
 * Iterative, with an explicit stack of "values still to skip" per level, so
 * hostile nesting costs neither C stack nor more than MP_MAXDEPTH levels.
 */
int
mp_skip(struct decbuf *d)
{
	uint64_t left[MP_MAXDEPTH + 1];
	struct mp_obj o;
	int depth = 0;

	left[0] = 1;
	while (depth >= 0) {
		if (left[depth] == 0) {
			depth--;
			continue;
		}
		left[depth]--;
		if (mp_next(d, &o) == -1)
			return -1;
		if (o.type != MP_ARRAY && o.type != MP_MAP)
			continue;
		if (depth == MP_MAXDEPTH)
			return fail(d);
		left[++depth] = o.type == MP_MAP ? 2 * (uint64_t)o.v.n : o.v.n;
	}
	return 0;
}

int
mp_get_uint(struct decbuf *d, uint64_t max, uint64_t *v)
{
	struct mp_obj o;

	*v = 0;
	if (mp_next(d, &o) == -1)
		return -1;
	if (o.type == MP_NIL)
		return 0;
	if (o.type != MP_UINT || o.v.u > max)
		return fail(d);
	*v = o.v.u;
	return 0;
}

int
mp_get_int(struct decbuf *d, int64_t *v)
{
	struct mp_obj o;

	*v = 0;
	if (mp_next(d, &o) == -1)
		return -1;
	if (o.type == MP_INT)
		*v = o.v.i;
	else if (o.type == MP_UINT && o.v.u <= INT64_MAX)
		*v = (int64_t)o.v.u;
	else if (o.type != MP_NIL)
		return fail(d);
	return 0;
}

/* go-msgpack 0.5.x takes fixint 0/1 as a bool; v2 any integer 0/1. */
int
mp_get_bool(struct decbuf *d, int *v)
{
	struct mp_obj o;

	*v = 0;
	if (mp_next(d, &o) == -1)
		return -1;
	if (o.type == MP_BOOL)
		*v = o.v.b;
	else if (o.type == MP_UINT && o.v.u <= 1)
		*v = (int)o.v.u;
	else if (o.type != MP_NIL)
		return fail(d);
	return 0;
}

int
mp_get_str(struct decbuf *d, const uint8_t **p, size_t *n)
{
	struct mp_obj o;

	*p = NULL;
	*n = 0;
	if (mp_next(d, &o) == -1)
		return -1;
	if (o.type == MP_NIL)
		return 0;
	if (o.type != MP_STR && o.type != MP_BIN)
		return fail(d);
	*p = o.v.s.p;
	*n = o.v.s.n;
	return 0;
}

static int
get_count(struct decbuf *d, enum mp_type type, uint32_t *n)
{
	struct mp_obj o;

	*n = 0;
	if (mp_next(d, &o) == -1)
		return -1;
	if (o.type == MP_NIL)
		return 0;
	if (o.type != type)
		return fail(d);
	*n = o.v.n;
	return 0;
}

int
mp_get_map(struct decbuf *d, uint32_t *n)
{
	return get_count(d, MP_MAP, n);
}

int
mp_get_array(struct decbuf *d, uint32_t *n)
{
	return get_count(d, MP_ARRAY, n);
}
