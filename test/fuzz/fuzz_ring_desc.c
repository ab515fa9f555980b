/*
 * ring.Desc on arbitrary bytes: unmarshal and the snappy codec never
 * crash, and what unmarshal accepts re-marshals to a fixed point.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ring/desc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ring_desc d, again;
	struct buf a = { 0 }, b = { 0 };
	struct err e;

	if (ring_desc_decode(&d, data, size, &e) == 0)
		ring_desc_free(&d);
	if (ring_desc_unmarshal(&d, data, size, &e) == -1)
		return 0;
	ring_desc_marshal(&d, &a);
	if (ring_desc_unmarshal(&again, a.p, a.len, &e) == -1)
		abort();
	ring_desc_marshal(&again, &b);
	if (a.len != b.len || memcmp(a.p, b.p, a.len) != 0 || !ring_desc_equal(&d, &again))
		abort();
	ring_desc_free(&d);
	ring_desc_free(&again);
	buf_free(&a);
	buf_free(&b);
	return 0;
}
