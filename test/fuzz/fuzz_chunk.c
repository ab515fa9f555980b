/*
 * fuzz_chunk — arbitrary bytes as an XOR chunk and as chunk segment files.
 * Besides "no crash, no overread", every stream that decodes must re-encode
 * to a chunk that decodes to the very same samples.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/tsdb/chunks.h"
#include "lib/tsdb/xor.h"

#define MAX_WALK	64

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int64_t	ts[65536];
static uint64_t	vs[65536];

static void
drain(const uint8_t *p, size_t len)
{
	struct xor_iter it;
	struct xor_chunk c;
	const uint8_t *q;
	size_t n = 0, qlen;
	int64_t t;
	uint64_t v;
	int rc;

	xor_iter_init(&it, p, len);
	while ((rc = xor_iter_next(&it, &t, &v)) == 1) {
		ts[n] = t;
		vs[n] = v;
		n++;
	}
	if (rc == -1 || n == 0)
		return;
	xor_chunk_init(&c);
	for (size_t i = 0; i < n; i++)
		xor_chunk_append(&c, ts[i], vs[i]);
	q = xor_chunk_bytes(&c, &qlen);
	xor_iter_init(&it, q, qlen);
	for (size_t i = 0; i < n; i++)
		if (xor_iter_next(&it, &t, &v) != 1 || t != ts[i] || v != vs[i])
			abort();
	if (xor_iter_next(&it, &t, &v) != 0)
		abort();
	xor_chunk_free(&c);
}

/* Follow records from the first one of segment seg, as a block reader would. */
static void
walk(struct chunk_reader *r, uint64_t seg, const uint8_t *base)
{
	uint64_t ref = seg << 32 | 8;
	struct err e;

	for (int i = 0; i < MAX_WALK; i++) {
		struct chunk c;

		if (chunk_reader_get(r, ref, &c, &e) == -1)
			return;
		if (c.enc == CHUNK_ENC_XOR)
			drain(c.data, c.len);
		ref = seg << 32 | (uint64_t)(c.data - base + c.len + 4);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *segs[2];
	size_t lens[2];
	struct chunk_reader *r;
	struct err e;

	drain(data, size);

	segs[0] = data;
	lens[0] = size;
	if ((r = chunk_reader_open_mem(segs, lens, 1, &e)) != NULL) {
		struct chunk c;

		walk(r, 0, data);
		if (size >= 16) {
			uint64_t ref = 0;

			for (int i = 0; i < 8; i++)
				ref = ref << 8 | data[size - 8 + i];
			(void)chunk_reader_get(r, ref, &c, &e);
			(void)chunk_reader_get(r, ref & 0xffffffffu, &c, &e);
		}
		chunk_reader_close(r);
	}

	/* A second segment starting where the header's padding byte says. */
	if (size >= 16 && (size_t)data[5] + 8 <= size) {
		segs[1] = data + data[5];
		lens[1] = size - data[5];
		if ((r = chunk_reader_open_mem(segs, lens, 2, &e)) != NULL) {
			walk(r, 1, segs[1]);
			chunk_reader_close(r);
		}
	}
	return 0;
}
