/*
 * ring.Desc on arbitrary bytes: unmarshal and the snappy codec never
 * crash; what unmarshal accepts re-marshals to a fixed point, what decode
 * accepts re-encodes to an equal descriptor, and merging a descriptor
 * into itself changes nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ring/desc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_codec(const uint8_t *data, size_t size)
{
	struct ring_desc d, again;
	struct buf z = { 0 };
	struct err e;

	if (ring_desc_decode(&d, data, size, &e) == -1)
		return;
	ring_desc_encode(&d, &z);
	if (ring_desc_decode(&again, z.p, z.len, &e) == -1 || !ring_desc_equal(&d, &again))
		abort();
	ring_desc_free(&d);
	ring_desc_free(&again);
	buf_free(&z);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ring_desc d, again, self, change;
	struct buf a = { 0 }, b = { 0 };
	struct err e;

	check_codec(data, size);
	if (ring_desc_unmarshal(&d, data, size, &e) == -1)
		return 0;
	ring_desc_marshal(&d, &a);
	if (ring_desc_unmarshal(&again, a.p, a.len, &e) == -1)
		abort();
	ring_desc_marshal(&again, &b);
	if (a.len != b.len || memcmp(a.p, b.p, a.len) != 0 || !ring_desc_equal(&d, &again))
		abort();
	/* same heartbeats on both sides: nothing to take, whatever the tokens */
	ring_desc_clone(&self, &d);
	if (ring_desc_merge(&self, &d, 0, 1, &change) != 0 || !ring_desc_equal(&self, &d))
		abort();
	ring_desc_free(&change);
	ring_desc_free(&self);
	ring_desc_free(&d);
	ring_desc_free(&again);
	buf_free(&a);
	buf_free(&b);
	return 0;
}
