#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/xmalloc.h"
#include "lib/gossip/lzw.h"

#define LIT_WIDTH	8
#define CLEAR		256u
#define EOF_CODE	257u
#define MAX_WIDTH	12
#define MAX_CODE	((1u << MAX_WIDTH) - 1)
/*
 * The encoder's open-addressing table: 2 slots per code, at most half full.
 * (Go's has 4; the codes written do not depend on it.) Each thread keeps
 * one for good: allocated per gossip packet, 32 KiB was mapped, zeroed in
 * fresh pages and unmapped every time under musl's malloc (make
 * static-agent), two thirds of the agent's system calls.
 */
#define TABLE_SIZE	(2u << MAX_WIDTH)
#define TABLE_MASK	(TABLE_SIZE - 1)
#define EMPTY		0u		/* no valid entry is 0: its code is >= 258 */

struct lzw_writer {
	struct buf	*out;
	uint32_t	 bits;
	unsigned	 nbits;
	unsigned	 width;
	uint32_t	 hi;
	uint32_t	 overflow;
	uint32_t	*table;		/* key << 12 | code, key = prefix << 8 | byte */
};

static void
put_code(struct lzw_writer *w, uint32_t code)
{
	w->bits |= code << w->nbits;
	w->nbits += w->width;
	while (w->nbits >= 8) {
		buf_put_u8(w->out, (uint8_t)w->bits);
		w->bits >>= 8;
		w->nbits -= 8;
	}
}

static void
writer_reset(struct lzw_writer *w)
{
	w->width = LIT_WIDTH + 1;
	w->hi = EOF_CODE;
	w->overflow = 1u << w->width;
	memset(w->table, 0, TABLE_SIZE * sizeof(w->table[0]));
}

/* The next implied code; 1 when the codes ran out and the table was cleared (as Go). */
static int
inc_hi(struct lzw_writer *w)
{
	if (++w->hi == w->overflow) {
		w->width++;
		w->overflow <<= 1;
	}
	if (w->hi != MAX_CODE)
		return 0;
	put_code(w, CLEAR);
	writer_reset(w);
	return 1;
}

void
lzw_compress(struct buf *out, const void *in, size_t n)
{
	const uint8_t *p = in;
	struct lzw_writer w = { .out = out };
	uint32_t code;

	static _Thread_local uint32_t *table;

	if (table == NULL)
		table = xreallocarray(NULL, TABLE_SIZE, sizeof(table[0]));
	w.table = table;
	writer_reset(&w);	/* zeroes the table */
	put_code(&w, CLEAR);
	if (n > 0) {
		code = p[0];
		for (size_t i = 1; i < n; i++) {
			uint32_t key = code << 8 | p[i], h = (key >> 12 ^ key) & TABLE_MASK, t;
			int hit = 0;

			for (uint32_t j = h; (t = w.table[j]) != EMPTY; j = (j + 1) & TABLE_MASK)
				if (t >> 12 == key) {
					code = t & MAX_CODE;
					hit = 1;
					break;
				}
			if (hit)
				continue;
			put_code(&w, code);
			code = p[i];
			if (inc_hi(&w))
				continue;
			while (w.table[h] != EMPTY)
				h = (h + 1) & TABLE_MASK;
			w.table[h] = key << 12 | w.hi;
		}
		put_code(&w, code);
		inc_hi(&w);
	}
	put_code(&w, EOF_CODE);
	if (w.nbits > 0)
		buf_put_u8(out, (uint8_t)w.bits);
}

int
lzw_decompress(struct buf *out, const void *in, size_t n, size_t max, struct err *e)
{
	const uint8_t *p = in;
	uint16_t prefix[1u << MAX_WIDTH];
	uint8_t suffix[1u << MAX_WIDTH], stack[1u << MAX_WIDTH];
	unsigned width = LIT_WIDTH + 1, nbits = 0;
	uint32_t bits = 0, hi = EOF_CODE, overflow = 1u << width, last = UINT32_MAX;
	size_t pos = 0, start = out->len;

	for (;;) {
		uint32_t code, c;
		size_t k = 0;

		while (nbits < width) {
			if (pos == n)
				return err_set(e, "lzw: input ends before the eof code");
			bits |= (uint32_t)p[pos++] << nbits;
			nbits += 8;
		}
		code = bits & ((1u << width) - 1);
		bits >>= width;
		nbits -= width;
		if (code == CLEAR) {
			width = LIT_WIDTH + 1;
			hi = EOF_CODE;
			overflow = 1u << width;
			last = UINT32_MAX;
			continue;
		}
		if (code == EOF_CODE)
			return 0;
		if (code > hi)
			return err_set(e, "lzw: invalid code %u (next free %u)", code, hi);
		/* Expand code backwards onto the stack; the KwKwK case is last + first byte of last. */
		c = code;
		if (code == hi && last != UINT32_MAX) {
			uint32_t f = last;

			while (f >= CLEAR)
				f = prefix[f];
			stack[k++] = (uint8_t)f;
			c = last;
		}
		while (c >= CLEAR) {
			stack[k++] = suffix[c];
			c = prefix[c];
		}
		stack[k++] = (uint8_t)c;
		if (out->len - start + k > max)
			return err_set(e, "lzw: more than %zu bytes decompressed", max);
		buf_reserve(out, k);
		while (k > 0)
			out->p[out->len++] = stack[--k];
		if (last != UINT32_MAX && hi <= MAX_CODE) {
			suffix[hi] = (uint8_t)c;
			prefix[hi] = (uint16_t)last;
		}
		last = code;
		if (++hi >= overflow) {
			if (width == MAX_WIDTH) {
				last = UINT32_MAX;
				hi--;
			} else {
				width++;
				overflow = 1u << width;
			}
		}
	}
}
