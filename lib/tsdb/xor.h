/*
 * xor — Prometheus' XOR (Gorilla) float chunk, bit for bit
 * (specs/tsdb-format.md §5): BE16 sample count, then the bit stream with Go's
 * bstream quirks (the trailing zero byte after a byte-aligned write).
 * Values are raw float64 bit patterns; nothing canonicalises NaNs.
 */
#ifndef RINGTAIL_XOR_H
#define RINGTAIL_XOR_H

#include <stddef.h>
#include <stdint.h>

#include "lib/tsdb/encoding.h"

#define CHUNK_ENC_NONE	0
#define CHUNK_ENC_XOR	1

/*
 * The encoder's state apart from its bytes, for callers that keep the bytes
 * themselves (the head packs them into the series' own allocation).
 */
struct xor_enc {
	int64_t		 t;
	int64_t		 tdelta;
	uint64_t	 v;
	uint16_t	 n;
	uint8_t		 bits_free;	/* unused low-order bits of the last byte */
	uint8_t		 lead;		/* 0xff = no window yet */
	uint8_t		 trail;
};

/*
 * The most bytes one append can add: 147 bits of a sample plus the empty
 * trailing bytes, plus 8 because the writer stores whole 64-bit words.
 */
#define XOR_APPEND_MAX	40

/* An empty chunk's bytes are its two count bytes, both zero. */
#define XOR_EMPTY_LEN	2

void	xor_enc_init(struct xor_enc *);
/*
 * Append one sample (t greater than the last t) to the chunk p[0..len) the
 * state describes; p must have XOR_APPEND_MAX bytes of room past len.
 * Returns the new length.
 */
size_t	xor_enc_append(struct xor_enc *, uint8_t *p, size_t len, int64_t t, uint64_t v);

/* The encoder appends in place into its own buffer. Zero value is not valid: call xor_chunk_init. */
struct xor_chunk {
	struct buf	 b;		/* b.p[0..1] = BE16 count, then the stream */
	struct xor_enc	 e;
};

void	xor_chunk_init(struct xor_chunk *);
void	xor_chunk_reset(struct xor_chunk *);	/* empty again, keeps memory */
void	xor_chunk_free(struct xor_chunk *);
/* Append one sample; the caller guarantees t is greater than the last t. */
void	xor_chunk_append(struct xor_chunk *, int64_t t, uint64_t v);

static inline const uint8_t *
xor_chunk_bytes(const struct xor_chunk *c, size_t *len)
{
	*len = c->b.len;
	return c->b.p;
}

struct xor_iter {
	const uint8_t	*p;
	size_t		 len;
	size_t		 bitpos;	/* next bit to read, from the start of p */
	uint16_t	 total;
	uint16_t	 read;
	int64_t		 t;
	int64_t		 tdelta;
	uint64_t	 v;
	uint8_t		 lead;
	uint8_t		 trail;
	int		 err;
};

void	xor_iter_init(struct xor_iter *, const uint8_t *data, size_t len);
/* 1: next sample in *t, *v; 0: no more samples; -1: corrupt data (truncated stream). */
int	xor_iter_next(struct xor_iter *, int64_t *t, uint64_t *v);
/* The sample count of a chunk's data (its first two bytes); 0 if shorter than 2. */
uint16_t xor_count(const uint8_t *data, size_t len);

#endif
