/*
 * meta_decode on arbitrary bytes: never crash, and whatever it accepts
 * re-encodes to a fixed point (encode, decode, encode gives the same bytes).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/tsdb/meta.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct block_meta m, again;
	struct buf a = { 0 }, b = { 0 };
	struct err e;

	if (meta_decode((const char *)data, size, &m, &e) == -1)
		return 0;
	meta_encode(&m, &a, m.has_thanos);
	if (meta_decode((const char *)a.p, a.len, &again, &e) == -1)
		abort();
	meta_encode(&again, &b, again.has_thanos);
	if (a.len != b.len || memcmp(a.p, b.p, a.len) != 0)
		abort();
	meta_free(&m);
	meta_free(&again);
	buf_free(&a);
	buf_free(&b);
	return 0;
}
