/*
 * fuzz_remote_write — arbitrary bytes as a decompressed WriteRequest, and
 * as a snappy body. Besides "no crash, no overread": whatever decodes
 * re-encodes to a request that decodes to the same series (labels and
 * sample bits), and Cortex's checks run on every series without trouble.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/rw/remote_write.h"
#include "lib/rw/validate.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
same_series(const struct rw_series *a, const struct rw_series *b)
{
	if (a->labels.n != b->labels.n || a->nsamples != b->nsamples)
		abort();
	for (size_t i = 0; i < a->labels.n; i++)
		if (!str_eq(a->labels.v[i].name, b->labels.v[i].name) ||
		    !str_eq(a->labels.v[i].value, b->labels.v[i].value))
			abort();
	for (size_t i = 0; i < a->nsamples; i++) {
		uint64_t va = a->samples[i].v, vb = b->samples[i].v;

		/* -0.0 is written as an absent value, which reads back as 0. */
		if (va == 0x8000000000000000ull)
			va = 0;
		if (a->samples[i].t != b->samples[i].t || va != vb)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rw_request rq, again;
	struct buf enc = { 0 }, raw = { 0 }, msg = { 0 };
	struct rw_limits lim;
	struct err e;

	if (rw_snappy_decode(data, size, 1 << 20, &raw, &e) == 0)
		(void)rw_decode(&rq, raw.p, raw.len, &e);
	buf_free(&raw);
	(void)tenant_validate_msg((const char *)data, size < 200 ? size : 200,
	    &msg);

	if (rw_decode(&rq, data, size, &e) == -1)
		goto out;
	for (size_t i = 0; i < rq.nseries; i++)
		rw_encode_series(&enc, &rq.series[i].labels,
		    rq.series[i].samples, rq.series[i].nsamples);
	if (rw_decode(&again, enc.p, enc.len, &e) == -1)
		abort();
	if (again.nseries != rq.nseries)
		abort();
	for (size_t i = 0; i < rq.nseries; i++)
		same_series(&rq.series[i], &again.series[i]);

	rw_limits_default(&lim);
	lim.max_label_names_per_series = 3;
	lim.max_label_value_length = 40;
	lim.max_labels_size_bytes = 100;
	(void)rw_validate_request(&rq, &msg);
	for (size_t i = 0; i < rq.nseries; i++) {
		buf_reset(&msg);
		(void)rw_validate_series(&rq.series[i], &lim, 1700000000000LL,
		    &msg);
	}
	for (size_t i = 0; i < rq.nmetadata; i++)
		(void)rw_validate_metadata(&rq.metadata[i], &lim, &msg);
out:
	buf_free(&enc);
	buf_free(&msg);
	return 0;
}
