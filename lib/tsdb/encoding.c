#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/xmalloc.h"
#include "lib/tsdb/encoding.h"

/*
 * Each thread keeps a few freed small buffers for its next ones to start
 * from. Gossip builds and frees several 1 KiB buffers per packet, whose
 * pages musl's allocator (make static-agent) mapped and unmapped every
 * time: a fifth of the static agent's CPU went to page faults and TLB
 * flushes. A thread's spares are freed when it exits.
 */
#define SPARES		8
#define SPARE_CAP_MAX	4096

struct spares {
	int	registered;	/* with spares_key, for its destructor */
	size_t	n;
	struct {
		uint8_t	*p;
		size_t	 cap;
	} b[SPARES];
};

static _Thread_local struct spares spares;
static pthread_key_t spares_key;
static pthread_once_t spares_once = PTHREAD_ONCE_INIT;

static void
spares_free(void *arg)
{
	struct spares *s = arg;

	while (s->n > 0)
		free(s->b[--s->n].p);
}

static void
spares_key_create(void)
{
	if (pthread_key_create(&spares_key, spares_free) != 0)
		abort();
}

void
buf_reserve(struct buf *b, size_t extra)
{
	size_t need = b->len + extra;

	if (need <= b->cap)
		return;
	if (b->p == NULL && spares.n > 0) {
		spares.n--;
		b->p = spares.b[spares.n].p;
		b->cap = spares.b[spares.n].cap;
		if (need <= b->cap)
			return;
	}
	if (b->cap == 0)
		b->cap = 64;
	while (b->cap < need)
		b->cap *= 2;
	b->p = xrealloc(b->p, b->cap);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
}

void
buf_free(struct buf *b)
{
	if (b->p != NULL && b->cap <= SPARE_CAP_MAX && spares.n < SPARES) {
		if (!spares.registered) {
			/* the destructor runs only for a thread that set a value */
			pthread_once(&spares_once, spares_key_create);
			pthread_setspecific(spares_key, &spares);
			spares.registered = 1;
		}
		spares.b[spares.n].p = b->p;
		spares.b[spares.n].cap = b->cap;
		spares.n++;
	} else
		free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void
buf_put_u8(struct buf *b, uint8_t v)
{
	buf_reserve(b, 1);
	b->p[b->len++] = v;
}

void
buf_put_be32(struct buf *b, uint32_t v)
{
	buf_reserve(b, 4);
	be32_put(b->p + b->len, v);
	b->len += 4;
}

void
buf_put_be64(struct buf *b, uint64_t v)
{
	buf_reserve(b, 8);
	be64_put(b->p + b->len, v);
	b->len += 8;
}

size_t
uvarint_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

size_t
uvarint_get(const uint8_t *p, size_t len, uint64_t *v)
{
	uint64_t x = 0;
	unsigned shift = 0;

	for (size_t i = 0; i < len && i < 10; i++) {
		uint8_t c = p[i];
		if (c < 0x80) {
			if (i == 9 && c > 1)
				return 0;	/* overflows 64 bits */
			*v = x | (uint64_t)c << shift;
			return i + 1;
		}
		x |= (uint64_t)(c & 0x7f) << shift;
		shift += 7;
	}
	return 0;
}

void
buf_put_uvarint(struct buf *b, uint64_t v)
{
	buf_reserve(b, 10);
	b->len += uvarint_put(b->p + b->len, v);
}

void
buf_put_varint(struct buf *b, int64_t v)
{
	buf_put_uvarint(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void
buf_put_bytes(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	buf_reserve(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void
buf_put_uvarint_str(struct buf *b, const void *p, size_t n)
{
	buf_put_uvarint(b, n);
	buf_put_bytes(b, p, n);
}

void
buf_put_zeros(struct buf *b, size_t n)
{
	buf_reserve(b, n);
	memset(b->p + b->len, 0, n);
	b->len += n;
}

static int
dec_need(struct decbuf *d, size_t n)
{
	if (d->err || d->len < n) {
		d->err = 1;
		d->len = 0;
		return 0;
	}
	return 1;
}

uint8_t
dec_u8(struct decbuf *d)
{
	uint8_t v;

	if (!dec_need(d, 1))
		return 0;
	v = d->p[0];
	d->p++;
	d->len--;
	return v;
}

uint32_t
dec_be32(struct decbuf *d)
{
	uint32_t v;

	if (!dec_need(d, 4))
		return 0;
	v = be32_get(d->p);
	d->p += 4;
	d->len -= 4;
	return v;
}

uint64_t
dec_be64(struct decbuf *d)
{
	uint64_t v;

	if (!dec_need(d, 8))
		return 0;
	v = be64_get(d->p);
	d->p += 8;
	d->len -= 8;
	return v;
}

uint64_t
dec_uvarint(struct decbuf *d)
{
	uint64_t v = 0;
	size_t n;

	if (d->err)
		return 0;
	if ((n = uvarint_get(d->p, d->len, &v)) == 0) {
		d->err = 1;
		d->len = 0;
		return 0;
	}
	d->p += n;
	d->len -= n;
	return v;
}

int64_t
dec_varint(struct decbuf *d)
{
	uint64_t u = dec_uvarint(d);

	return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

const uint8_t *
dec_uvarint_str(struct decbuf *d, size_t *n)
{
	uint64_t len = dec_uvarint(d);
	const uint8_t *s;

	*n = 0;
	if (d->err || !dec_need(d, len))
		return NULL;
	s = d->p;
	d->p += len;
	d->len -= len;
	*n = (size_t)len;
	return s;
}

void
dec_skip(struct decbuf *d, size_t n)
{
	if (!dec_need(d, n))
		return;
	d->p += n;
	d->len -= n;
}
