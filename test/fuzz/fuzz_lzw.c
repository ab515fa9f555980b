/*
 * lzw on arbitrary bytes: decompressing never crashes or passes its
 * limit, and compressing anything decompresses back to it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/gossip/lzw.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out = { 0 }, z = { 0 };
	struct err e;

	if (lzw_decompress(&out, data, size, 1 << 16, &e) == 0 && out.len > 1 << 16)
		abort();
	lzw_compress(&z, data, size);
	buf_reset(&out);
	if (lzw_decompress(&out, z.p, z.len, size, &e) == -1 || out.len != size ||
	    (size > 0 && memcmp(out.p, data, size) != 0))
		abort();
	buf_free(&out);
	buf_free(&z);
	return 0;
}
