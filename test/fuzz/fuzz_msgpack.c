/*
 * fuzz_msgpack — arbitrary bytes as a stream of msgpack values. Besides "no
 * crash, no overread, no hang on hostile counts or nesting": mp_skip and a
 * header-by-header walk agree on where each value ends; every header
 * re-encodes (scalars and strings whole, containers as header) to bytes that
 * decode to the same; the typed readers agree with mp_next.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/gossip/msgpack.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct buf out;

static int
same_obj(const struct mp_obj *a, const struct mp_obj *b)
{
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case MP_NIL:
		return 1;
	case MP_BOOL:
		return a->v.b == b->v.b;
	case MP_UINT:
		return a->v.u == b->v.u;
	case MP_INT:
		return a->v.i == b->v.i;
	case MP_ARRAY:
	case MP_MAP:
		return a->v.n == b->v.n;
	case MP_STR:
		return a->v.s.n == b->v.s.n && memcmp(a->v.s.p, b->v.s.p, a->v.s.n) == 0;
	default:
		return 0;
	}
}

/* The typed readers, from the same position, must agree with mp_next. */
static void
typed(const struct decbuf *at, const struct mp_obj *o)
{
	struct decbuf d;
	const uint8_t *p;
	uint64_t u;
	int64_t i;
	uint32_t n;
	size_t len;
	int b, rc;

	d = *at;
	rc = mp_get_uint(&d, UINT64_MAX, &u);
	if (rc != (o->type == MP_UINT || o->type == MP_NIL ? 0 : -1) ||
	    (rc == 0 && u != (o->type == MP_UINT ? o->v.u : 0)))
		abort();
	d = *at;
	rc = mp_get_int(&d, &i);
	if (rc != (o->type == MP_INT || o->type == MP_NIL ||
	    (o->type == MP_UINT && o->v.u <= INT64_MAX) ? 0 : -1) ||
	    (rc == 0 && o->type == MP_INT && i != o->v.i) ||
	    (rc == 0 && o->type == MP_UINT && (uint64_t)i != o->v.u))
		abort();
	d = *at;
	rc = mp_get_bool(&d, &b);
	if (rc == 0 && o->type == MP_BOOL && b != o->v.b)
		abort();
	d = *at;
	rc = mp_get_str(&d, &p, &len);
	if (rc != (o->type == MP_STR || o->type == MP_BIN || o->type == MP_NIL ? 0 : -1) ||
	    (rc == 0 && o->type != MP_NIL && (p != o->v.s.p || len != o->v.s.n)))
		abort();
	d = *at;
	rc = o->type == MP_MAP ? mp_get_map(&d, &n) : mp_get_array(&d, &n);
	if (rc != (o->type == MP_MAP || o->type == MP_ARRAY || o->type == MP_NIL ? 0 : -1) ||
	    (rc == 0 && o->type != MP_NIL && n != o->v.n))
		abort();
}

/* Re-encode o and decode it again: the same value (bin comes back as str). */
static void
reencode(const struct mp_obj *o)
{
	struct decbuf d;
	struct mp_obj a = *o, b;
	uint64_t fill = 0;

	buf_reset(&out);
	switch (o->type) {
	case MP_NIL:
		mp_put_nil(&out);
		break;
	case MP_BOOL:
		mp_put_bool(&out, o->v.b);
		break;
	case MP_UINT:
		mp_put_uint(&out, o->v.u);
		break;
	case MP_INT:
		mp_put_int(&out, o->v.i);
		break;
	case MP_BIN:
		a.type = MP_STR;
		/* FALLTHROUGH */
	case MP_STR:
		mp_put_str(&out, o->v.s.p, o->v.s.n);
		break;
	case MP_ARRAY:
	case MP_MAP:
		/* The count must be backed by bytes; a hostile one was refused already. */
		fill = o->type == MP_MAP ? 2 * (uint64_t)o->v.n : o->v.n;
		if (o->type == MP_MAP)
			mp_put_map(&out, o->v.n);
		else
			mp_put_array(&out, o->v.n);
		buf_reserve(&out, (size_t)fill);
		memset(out.p + out.len, 0xc0, (size_t)fill);
		out.len += (size_t)fill;
		break;
	default:
		return;		/* float and ext: memberlist never writes them */
	}
	decbuf_init(&d, out.p, out.len);
	if (mp_next(&d, &b) == -1 || d.len != fill || !same_obj(&a, &b))
		abort();
	decbuf_init(&d, out.p, out.len);
	if (mp_skip(&d) == -1 || d.len != 0)
		abort();
}

/*
 * Walk one value header by header with a plain counter (no depth limit);
 * returns 0 with d past the value, or -1.
 */
static int
walk(struct decbuf *d)
{
	struct decbuf at;
	struct mp_obj o;
	uint64_t left = 1;

	while (left > 0) {
		left--;
		at = *d;
		if (mp_next(d, &o) == -1) {
			if (!d->err || d->len != 0)
				abort();
			return -1;
		}
		if (d->len > at.len)
			abort();
		typed(&at, &o);
		reencode(&o);
		if (o.type == MP_ARRAY)
			left += o.v.n;
		else if (o.type == MP_MAP)
			left += 2 * (uint64_t)o.v.n;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct decbuf d, w;
	int rc;

	decbuf_init(&d, data, size);
	while (d.len > 0) {
		w = d;
		rc = mp_skip(&d);
		/* Past the 64-level limit only mp_skip fails; otherwise they agree. */
		if (walk(&w) == 0) {
			if (rc == 0 && (w.p != d.p || w.len != d.len))
				abort();
		} else if (rc == 0) {
			abort();
		}
		if (rc == -1) {
			if (!d.err || d.len != 0)
				abort();
			break;
		}
	}
	return 0;
}
