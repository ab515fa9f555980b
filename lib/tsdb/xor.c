#include <stdint.h>
#include <string.h>

#include "lib/tsdb/xor.h"

/* The bit writer of one append: the chunk's bytes and its partial last byte. */
struct bitw {
	uint8_t		*p;
	size_t		 len;
	unsigned	 nfree;		/* unused low-order bits of p[len - 1] */
};

static void	put_bits(struct bitw *, uint64_t, unsigned);
static void	put_tail_quirk(struct bitw *, unsigned);
static void	put_uvarint_bytes(struct bitw *, uint64_t);
static void	put_value(struct bitw *, struct xor_enc *, uint64_t);
static uint64_t	load_be64(const uint8_t *);
static uint64_t	peek64(const struct xor_iter *);
static size_t	bits_left(const struct xor_iter *);
static int	read_bits(struct xor_iter *, unsigned, uint64_t *);
static int	read_uvarint(struct xor_iter *, uint64_t *);
static int	read_value(struct xor_iter *);
static int	read_sample(struct xor_iter *);

void
xor_enc_init(struct xor_enc *e)
{
	memset(e, 0, sizeof(*e));
	e->lead = 0xff;
}

void
xor_chunk_init(struct xor_chunk *c)
{
	memset(c, 0, sizeof(*c));
	xor_chunk_reset(c);
}

void
xor_chunk_reset(struct xor_chunk *c)
{
	buf_reset(&c->b);
	buf_reserve(&c->b, 128);
	c->b.p[0] = 0;
	c->b.p[1] = 0;
	c->b.len = XOR_EMPTY_LEN;
	xor_enc_init(&c->e);
}

void
xor_chunk_free(struct xor_chunk *c)
{
	buf_free(&c->b);
	memset(c, 0, sizeof(*c));
}

/*
 * Append the low n bits of u (1 <= n <= 64), most significant first, as a
 * plain bit stream: the partial last byte is filled, then the rest is stored
 * as one big-endian word whose unused low bytes are zero.
 */
static inline void
put_bits(struct bitw *w, uint64_t u, unsigned n)
{
	uint64_t v = n == 64 ? u : u << (64 - n);

	if (w->nfree > 0) {
		unsigned k = w->nfree < n ? w->nfree : n;

		w->p[w->len - 1] |= (uint8_t)((v >> (64 - k)) << (w->nfree - k));
		v <<= k;
		n -= k;
		w->nfree -= k;
	}
	if (n > 0) {
		be64_put(w->p + w->len, v);
		w->len += (n + 7) / 8;
		w->nfree = (8 - (n & 7)) & 7;
	}
}

/*
 * Go's bstream writes whole bytes by appending a fresh byte each time, so a
 * writeBits of a multiple of 8 bits that ends byte-aligned leaves an empty
 * byte behind (§5.1). Call after the last write of an append.
 */
static inline void
put_tail_quirk(struct bitw *w, unsigned n)
{
	if (n >= 8 && (n & 7) == 0 && w->nfree == 0) {
		w->p[w->len++] = 0;
		w->nfree = 8;
	}
}

static void
put_uvarint_bytes(struct bitw *w, uint64_t u)
{
	uint8_t tmp[10];
	size_t k = uvarint_put(tmp, u);

	for (size_t i = 0; i < k; i++)
		put_bits(w, tmp[i], 8);
	put_tail_quirk(w, 8);
}

static inline void
put_value(struct bitw *w, struct xor_enc *e, uint64_t v)
{
	uint64_t x = v ^ e->v;
	unsigned lz, tz, sig;

	if (x == 0) {
		put_bits(w, 0, 1);
		return;
	}
	lz = (unsigned)__builtin_clzll(x);
	tz = (unsigned)__builtin_ctzll(x);
	if (lz >= 32)
		lz = 31;
	if (e->lead != 0xff && lz >= e->lead && tz >= e->trail) {
		sig = 64 - e->lead - e->trail;
		if (sig <= 62)
			put_bits(w, (uint64_t)0x2 << sig | x >> e->trail, sig + 2);
		else {
			put_bits(w, 0x2, 2);
			put_bits(w, x >> e->trail, sig);
		}
		put_tail_quirk(w, sig);
		return;
	}
	e->lead = (uint8_t)lz;
	e->trail = (uint8_t)tz;
	sig = 64 - lz - tz;
	put_bits(w, (uint64_t)0x3 << 11 | (uint64_t)lz << 6 | (sig & 0x3f), 13);
	put_bits(w, x >> tz, sig);
	put_tail_quirk(w, sig);
}

size_t
xor_enc_append(struct xor_enc *e, uint8_t *p, size_t len, int64_t t, uint64_t v)
{
	struct bitw w = { p, len, e->bits_free };
	uint64_t tdelta = 0;

	if (e->n == 0) {
		put_uvarint_bytes(&w, (uint64_t)t << 1 ^ (uint64_t)(t >> 63));
		put_bits(&w, v, 64);
		put_tail_quirk(&w, 64);
	} else if (e->n == 1) {
		tdelta = (uint64_t)t - (uint64_t)e->t;
		put_uvarint_bytes(&w, tdelta);
		put_value(&w, e, v);
	} else {
		int64_t dod;

		tdelta = (uint64_t)t - (uint64_t)e->t;
		dod = (int64_t)(tdelta - (uint64_t)e->tdelta);
		/* Bucket bounds are asymmetric: -(2^(N-1)-1) ... 2^(N-1). */
		if (dod == 0)
			put_bits(&w, 0, 1);
		else if (dod >= -8191 && dod <= 8192)
			put_bits(&w, (uint64_t)0x2 << 14 | ((uint64_t)dod & 0x3fff), 16);
		else if (dod >= -65535 && dod <= 65536)
			put_bits(&w, (uint64_t)0x6 << 17 | ((uint64_t)dod & 0x1ffff), 20);
		else if (dod >= -524287 && dod <= 524288)
			put_bits(&w, (uint64_t)0xe << 20 | ((uint64_t)dod & 0xfffff), 24);
		else {
			put_bits(&w, 0xf, 4);
			put_bits(&w, (uint64_t)dod, 64);
			put_tail_quirk(&w, 64);
		}
		put_value(&w, e, v);
	}
	e->t = t;
	e->v = v;
	e->tdelta = (int64_t)tdelta;
	e->n++;
	e->bits_free = (uint8_t)w.nfree;
	p[0] = (uint8_t)(e->n >> 8);
	p[1] = (uint8_t)e->n;
	return w.len;
}

void
xor_chunk_append(struct xor_chunk *c, int64_t t, uint64_t v)
{
	if (c->b.cap - c->b.len < XOR_APPEND_MAX)
		buf_reserve(&c->b, XOR_APPEND_MAX);
	c->b.len = xor_enc_append(&c->e, c->b.p, c->b.len, t, v);
}


uint16_t
xor_count(const uint8_t *data, size_t len)
{
	if (len < 2)
		return 0;
	return (uint16_t)(data[0] << 8 | data[1]);
}

void
xor_iter_init(struct xor_iter *it, const uint8_t *data, size_t len)
{
	memset(it, 0, sizeof(*it));
	it->p = data;
	it->len = len;
	it->bitpos = 16;
	/* Shorter than the count field: not a chunk at all. */
	if (len < 2)
		it->err = 1;
	else
		it->total = xor_count(data, len);
}

static inline uint64_t
load_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

/* The 64 bits from bitpos on; bits past the end read as zero. */
static inline uint64_t
peek64(const struct xor_iter *it)
{
	size_t byte = it->bitpos >> 3;
	unsigned off = it->bitpos & 7;
	uint8_t tmp[9];
	const uint8_t *q;
	uint64_t w;

	if (byte + 9 <= it->len)
		q = it->p + byte;
	else {
		memset(tmp, 0, sizeof(tmp));
		if (byte < it->len)
			memcpy(tmp, it->p + byte, it->len - byte);
		q = tmp;
	}
	w = load_be64(q);
	if (off != 0)
		w = w << off | q[8] >> (8 - off);
	return w;
}

static inline size_t
bits_left(const struct xor_iter *it)
{
	return it->len * 8 - it->bitpos;
}

/* Read n bits (1 <= n <= 64); -1 if the stream has fewer. */
static inline int
read_bits(struct xor_iter *it, unsigned n, uint64_t *out)
{
	uint64_t w;

	if (n > bits_left(it))
		return -1;
	w = peek64(it);
	*out = n == 64 ? w : w >> (64 - n);
	it->bitpos += n;
	return 0;
}

/* The uvarints of the first two samples are always byte-aligned. */
static int
read_uvarint(struct xor_iter *it, uint64_t *u)
{
	size_t byte = it->bitpos >> 3, k;

	if ((it->bitpos & 7) != 0 || byte >= it->len)
		return -1;
	if ((k = uvarint_get(it->p + byte, it->len - byte, u)) == 0)
		return -1;
	it->bitpos += k * 8;
	return 0;
}

static inline int
read_value(struct xor_iter *it)
{
	size_t left = bits_left(it);
	uint64_t w, payload;
	unsigned lead, sig, trail;

	if (left < 1)
		return -1;
	w = peek64(it);
	if ((w >> 63) == 0) {
		it->bitpos++;
		return 0;
	}
	if (left < 2)
		return -1;
	if ((w >> 62 & 1) == 0) {
		lead = it->lead;
		trail = it->trail;
		sig = 64 - lead - trail;
		it->bitpos += 2;
	} else {
		if (left < 13)
			return -1;
		lead = (unsigned)(w >> 57) & 0x1f;
		sig = (unsigned)(w >> 51) & 0x3f;
		if (sig == 0)
			sig = 64;
		/* A window wider than 64 bits only comes from corrupt data. */
		if (lead + sig > 64)
			return -1;
		trail = 64 - lead - sig;
		it->lead = (uint8_t)lead;
		it->trail = (uint8_t)trail;
		it->bitpos += 13;
	}
	if (read_bits(it, sig, &payload) == -1)
		return -1;
	it->v ^= payload << trail;
	return 0;
}

/*
 * Sample 2 onwards: the delta of delta and the value usually fit one 64-bit
 * window (at most 24 + 13 header bits), so most samples cost one load. Bits
 * past the end read as zero; the total is checked against what is left.
 */
static inline int
read_sample(struct xor_iter *it)
{
	size_t left = bits_left(it);
	uint64_t w = peek64(it), bits, payload;
	unsigned used, sz, lead, trail, sig, hdr;
	int64_t dod;

	if ((w >> 63) == 0) {
		used = 1;
		sz = 0;
	} else if ((w >> 62 & 1) == 0) {
		used = 2;
		sz = 14;
	} else if ((w >> 61 & 1) == 0) {
		used = 3;
		sz = 17;
	} else if ((w >> 60 & 1) == 0) {
		used = 4;
		sz = 20;
	} else {
		/* A 64-bit dod: rare, take the slow road. */
		if (left < 4)
			return -1;
		it->bitpos += 4;
		if (read_bits(it, 64, &bits) == -1)
			return -1;
		it->tdelta = (int64_t)((uint64_t)it->tdelta + bits);
		it->t = (int64_t)((uint64_t)it->t + (uint64_t)it->tdelta);
		return read_value(it);
	}
	dod = 0;
	if (sz != 0) {
		bits = w << used >> (64 - sz);
		if (bits > (uint64_t)1 << (sz - 1))
			bits -= (uint64_t)1 << sz;
		dod = (int64_t)bits;
		used += sz;
	}
	it->tdelta = (int64_t)((uint64_t)it->tdelta + (uint64_t)dod);
	it->t = (int64_t)((uint64_t)it->t + (uint64_t)it->tdelta);

	w <<= used;
	if ((w >> 63) == 0) {
		used++;
		goto done;
	}
	if ((w >> 62 & 1) == 0) {
		lead = it->lead;
		trail = it->trail;
		sig = 64 - lead - trail;
		hdr = 2;
	} else {
		lead = (unsigned)(w >> 57) & 0x1f;
		sig = (unsigned)(w >> 51) & 0x3f;
		if (sig == 0)
			sig = 64;
		/* A window wider than 64 bits only comes from corrupt data. */
		if (lead + sig > 64)
			return -1;
		trail = 64 - lead - sig;
		it->lead = (uint8_t)lead;
		it->trail = (uint8_t)trail;
		hdr = 13;
	}
	if (used + hdr + sig <= 64) {
		payload = w << hdr >> (64 - sig);
		used += hdr + sig;
	} else {
		if (used + hdr > left)
			return -1;
		it->bitpos += used + hdr;
		if (read_bits(it, sig, &payload) == -1)
			return -1;
		used = 0;
		left = bits_left(it);
	}
	it->v ^= payload << trail;
done:
	if (used > left)
		return -1;
	it->bitpos += used;
	return 0;
}

int
xor_iter_next(struct xor_iter *it, int64_t *t, uint64_t *v)
{
	uint64_t u;

	if (it->err)
		return -1;
	if (it->read == it->total)
		return 0;
	if (it->read == 0) {
		if (read_uvarint(it, &u) == -1 || read_bits(it, 64, &it->v) == -1)
			goto corrupt;
		it->t = (int64_t)(u >> 1 ^ -(u & 1));
	} else if (it->read == 1) {
		if (read_uvarint(it, &u) == -1)
			goto corrupt;
		it->tdelta = (int64_t)u;
		it->t = (int64_t)((uint64_t)it->t + u);
		if (read_value(it) == -1)
			goto corrupt;
	} else {
		if (read_sample(it) == -1)
			goto corrupt;
	}
	it->read++;
	*t = it->t;
	*v = it->v;
	return 1;
corrupt:
	it->err = 1;
	return -1;
}
