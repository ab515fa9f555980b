/*
 * walrec — the records inside the WAL, as tsdb/record/record.go (2.42)
 * encodes them (specs/wal-format.md §3). The first byte is the type:
 *
 *   1 series      BE64 ref, uvarint #labels, (str name, str value)...   repeated
 *   2 samples     BE64 base ref, BE64 base t, then per sample (the first too)
 *                 varint ref delta, varint t delta, BE64 float64 bits
 *   3 tombstones  BE64 ref, varint mint, varint maxt                    repeated
 *   4 exemplars, 5 mmap markers, 6 metadata, 7/8 (float) histogram samples
 *
 * The encoders write series, samples, tombstones and metadata. The decoder
 * fills series, samples, tombstones and metadata; it checks exemplars and
 * histogram records whole (Prometheus' replay fails on a bad one) and skips
 * them, and skips mmap markers (ignored in wal/) and unknown types.
 *
 * Return conventions: 0/-1 with struct err.
 */
#ifndef RINGTAIL_WALREC_H
#define RINGTAIL_WALREC_H

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/tsdb/encoding.h"
#include "lib/tsdb/labels.h"

enum walrec_type {
	WALREC_SERIES = 1,
	WALREC_SAMPLES = 2,
	WALREC_TOMBSTONES = 3,
	WALREC_EXEMPLARS = 4,
	WALREC_MMAP_MARKERS = 5,
	WALREC_METADATA = 6,
	WALREC_HISTOGRAMS = 7,
	WALREC_FLOAT_HISTOGRAMS = 8,
	WALREC_UNKNOWN = 255,	/* any other first byte, or an empty record */
};

struct walrec_series {
	uint64_t	ref;
	struct labels	lset;	/* in record order (Prometheus writes them sorted) */
};

struct walrec_sample {
	uint64_t	ref;
	int64_t		t;	/* ms */
	uint64_t	v;	/* float64 bits: stale markers survive */
};

struct walrec_tombstone {
	uint64_t	ref;
	int64_t		mint;	/* closed interval */
	int64_t		maxt;
};

/* Metric types of metadata records (textparse.MetricType order). */
struct walrec_metadata {
	uint64_t	ref;
	uint8_t		type;	/* 0 unknown 1 counter 2 gauge 3 histogram 4 gaugehistogram 5 summary 6 info 7 stateset */
	struct str	unit;
	struct str	help;
};

/* The type of a record (WALREC_UNKNOWN for an empty one or an unknown byte). */
enum walrec_type walrec_type(const uint8_t *rec, size_t len);

/* Encoders: append one whole record to out (which is not reset). */
/*
 * Labels are written as given: Prometheus' replay does not sort them, so
 * they must be sorted by name, unique, with non-empty values (§6.4).
 */
void	walrec_put_series(struct buf *out, const struct walrec_series *, size_t n);
/* n == 0 gives the 1-byte record Prometheus writes for no samples. */
void	walrec_put_samples(struct buf *out, const struct walrec_sample *, size_t n);
void	walrec_put_tombstones(struct buf *out, const struct walrec_tombstone *, size_t n);
/* Each entry with the fields UNIT and HELP, as Prometheus writes them. */
void	walrec_put_metadata(struct buf *out, const struct walrec_metadata *, size_t n);

/*
 * A decoder: the zero value is ready; its arrays are reused from record to
 * record (no allocation in steady state). Strings point into the record.
 */
struct walrec_dec {
	enum walrec_type	 type;		/* of the last record decoded */
	struct walrec_series	*series;
	size_t			 nseries;
	struct walrec_sample	*samples;
	size_t			 nsamples;
	struct walrec_tombstone	*tombstones;
	size_t			 ntombstones;
	struct walrec_metadata	*metadata;
	size_t			 nmetadata;
	size_t			 nchecked;	/* entries of a checked-and-skipped record (4, 7, 8) */

	struct label		*lv;		/* private */
	size_t			 nlv, lvcap;
	size_t			 seriescap, samplescap, tombstonescap, metadatacap;
};

/*
 * Decode rec: 0 with d->type and the array of that type filled (the others
 * are emptied); -1 when the record does not decode completely, which
 * Prometheus' replay treats as corruption.
 */
int	walrec_decode(struct walrec_dec *d, const uint8_t *rec, size_t len, struct err *);
void	walrec_dec_free(struct walrec_dec *d);

/*
 * For checkpoints: the entries with t >= mint of a samples (2), exemplars
 * (4) or histogram samples (7) record, re-based on the first kept entry and
 * appended to out as one record of the same type, as Prometheus re-encodes
 * them; nothing is appended when none is kept. *total and *kept (may be
 * NULL) get the counts. Returns 0, or -1 on a malformed record or another type.
 */
int	walrec_filter_mint(struct buf *out, const uint8_t *rec, size_t len,
	    int64_t mint, size_t *total, size_t *kept, struct err *);

#endif
