/*
 * fuzz_wal — arbitrary bytes as a WAL segment (pages, fragments, CRCs,
 * snappy), and every record it yields, plus the input itself, through the
 * record decoder. Besides "no crash, no overread": damage is always
 * reported with a cut point inside the segment and not after the damage;
 * a decoded record re-encodes to one that decodes to the same entries; a
 * filtered samples record decodes to exactly the kept samples.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/tsdb/encoding.h"
#include "lib/tsdb/labels.h"
#include "lib/tsdb/wal.h"
#include "lib/tsdb/walrec.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct walrec_dec d1, d2;
static struct buf out;

static void
same_labels(const struct labels *a, const struct labels *b)
{
	if (a->n != b->n)
		abort();
	for (size_t i = 0; i < a->n; i++)
		if (!str_eq(a->v[i].name, b->v[i].name) || !str_eq(a->v[i].value, b->v[i].value))
			abort();
}

/* Re-encode what d1 decoded and check that it decodes to the same. */
static void
reencode(void)
{
	struct err e;

	out.len = 0;
	switch (d1.type) {
	case WALREC_SERIES:
		walrec_put_series(&out, d1.series, d1.nseries);
		break;
	case WALREC_SAMPLES:
		walrec_put_samples(&out, d1.samples, d1.nsamples);
		break;
	case WALREC_TOMBSTONES:
		walrec_put_tombstones(&out, d1.tombstones, d1.ntombstones);
		break;
	case WALREC_METADATA:
		walrec_put_metadata(&out, d1.metadata, d1.nmetadata);
		break;
	default:
		return;
	}
	if (walrec_decode(&d2, out.p, out.len, &e) == -1 || d2.type != d1.type)
		abort();
	if (d2.nseries != d1.nseries || d2.nsamples != d1.nsamples ||
	    d2.ntombstones != d1.ntombstones || d2.nmetadata != d1.nmetadata)
		abort();
	for (size_t i = 0; i < d1.nseries; i++) {
		if (d1.series[i].ref != d2.series[i].ref)
			abort();
		same_labels(&d1.series[i].lset, &d2.series[i].lset);
	}
	for (size_t i = 0; i < d1.nsamples; i++)
		if (d1.samples[i].ref != d2.samples[i].ref || d1.samples[i].t != d2.samples[i].t ||
		    d1.samples[i].v != d2.samples[i].v)
			abort();
	for (size_t i = 0; i < d1.ntombstones; i++)
		if (memcmp(&d1.tombstones[i], &d2.tombstones[i], sizeof(d1.tombstones[i])) != 0)
			abort();
	for (size_t i = 0; i < d1.nmetadata; i++)
		if (d1.metadata[i].ref != d2.metadata[i].ref ||
		    d1.metadata[i].type != d2.metadata[i].type ||
		    !str_eq(d1.metadata[i].unit, d2.metadata[i].unit) ||
		    !str_eq(d1.metadata[i].help, d2.metadata[i].help))
			abort();
}

/* Keep samples at or after the middle sample's time: exactly those come back. */
static void
filter(const uint8_t *rec, size_t len)
{
	struct err e;
	size_t total, kept, k = 0;
	int64_t mint;

	if (d1.type != WALREC_SAMPLES && d1.type != WALREC_EXEMPLARS &&
	    d1.type != WALREC_HISTOGRAMS)
		return;
	mint = d1.nsamples ? d1.samples[d1.nsamples / 2].t : 0;
	out.len = 0;
	if (walrec_filter_mint(&out, rec, len, mint, &total, &kept, &e) == -1)
		abort();
	if (d1.type != WALREC_SAMPLES)
		return;
	if (total != d1.nsamples)
		abort();
	if (kept == 0) {
		if (out.len != 0)
			abort();
		return;
	}
	if (walrec_decode(&d2, out.p, out.len, &e) == -1 || d2.nsamples != kept)
		abort();
	for (size_t i = 0; i < d1.nsamples; i++) {
		if (d1.samples[i].t < mint)
			continue;
		if (d2.samples[k].ref != d1.samples[i].ref || d2.samples[k].t != d1.samples[i].t ||
		    d2.samples[k].v != d1.samples[i].v)
			abort();
		k++;
	}
}

static void
record(const uint8_t *rec, size_t len)
{
	struct err e;

	if (walrec_decode(&d1, rec, len, &e) == -1)
		return;
	reencode();
	filter(rec, len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wal_reader *r = wal_reader_new();
	struct wal_corruption c;
	const uint8_t *rec;
	size_t len;
	uint64_t last_end = 0;
	int rc;

	wal_reader_add_mem(r, data, size);
	while ((rc = wal_reader_next(r, &rec, &len, NULL)) == 1) {
		int seg;
		uint64_t start, end;

		wal_reader_pos(r, &seg, &start, &end);
		if (seg != 0 || start < last_end || end <= start)
			abort();
		last_end = end;
		record(rec, len);
	}
	if (rc == -1) {
		if (!wal_reader_corruption(r, &c))
			abort();
		if (c.good_end != last_end || c.good_end > c.offset ||
		    c.offset > size + WAL_PAGE_SIZE)
			abort();
	}
	wal_reader_free(r);

	record(data, size);
	return 0;
}
