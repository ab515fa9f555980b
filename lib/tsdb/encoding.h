/*
 * encoding — the byte-level primitives of the TSDB formats: big-endian
 * integers, Go's uvarint/varint, a growable output buffer and a
 * bounds-checked input cursor. Every decoder of outside bytes reads through
 * struct decbuf: a read past the end sets err and yields zeros, never
 * touches memory outside [p, p+len).
 */
#ifndef RINGTAIL_ENCODING_H
#define RINGTAIL_ENCODING_H

#include <stddef.h>
#include <stdint.h>

/* Growable output buffer; the zero value is an empty buffer. */
struct buf {
	uint8_t	*p;
	size_t	 len;
	size_t	 cap;
};

void	buf_reserve(struct buf *, size_t extra);
void	buf_reset(struct buf *);		/* len = 0, keeps memory */
void	buf_free(struct buf *);
void	buf_put_u8(struct buf *, uint8_t);
void	buf_put_be32(struct buf *, uint32_t);
void	buf_put_be64(struct buf *, uint64_t);
void	buf_put_uvarint(struct buf *, uint64_t);
void	buf_put_varint(struct buf *, int64_t);
void	buf_put_bytes(struct buf *, const void *, size_t);
/* uvarint length, then the bytes (the TSDB "string"). */
void	buf_put_uvarint_str(struct buf *, const void *, size_t);
void	buf_put_zeros(struct buf *, size_t);

/* Bounds-checked reader; err is set (and stays set) on the first overrun or bad varint. */
struct decbuf {
	const uint8_t	*p;
	size_t		 len;
	int		 err;
};

static inline void
decbuf_init(struct decbuf *d, const void *p, size_t len)
{
	d->p = p;
	d->len = len;
	d->err = 0;
}

uint8_t		 dec_u8(struct decbuf *);
uint32_t	 dec_be32(struct decbuf *);
uint64_t	 dec_be64(struct decbuf *);
uint64_t	 dec_uvarint(struct decbuf *);
int64_t		 dec_varint(struct decbuf *);
/* uvarint-prefixed string: returns a pointer into the buffer, length in *n. */
const uint8_t	*dec_uvarint_str(struct decbuf *, size_t *n);
/* Skip n bytes. */
void		 dec_skip(struct decbuf *, size_t n);

static inline uint32_t
be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t
be64_get(const uint8_t *p)
{
	return (uint64_t)be32_get(p) << 32 | be32_get(p + 4);
}

static inline void
be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void
be64_put(uint8_t *p, uint64_t v)
{
	be32_put(p, (uint32_t)(v >> 32));
	be32_put(p + 4, (uint32_t)v);
}

/* Encode v as a uvarint into p (at least 10 bytes); returns the length. */
size_t	uvarint_put(uint8_t *p, uint64_t v);
/* Decode a uvarint from p[0..len); returns bytes used, 0 on overrun or overflow. */
size_t	uvarint_get(const uint8_t *p, size_t len, uint64_t *v);

#endif
