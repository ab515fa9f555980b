/*
 * verify — a full consistency check of one block on disk, for
 * `block-inspect verify` and for any program that must not trust a block it
 * did not write (compactor, bucket-sync).
 *
 * Checked: meta.json (version, ULID, stats against the data found);
 * every CRC of the index (TOC, symbols, each series entry, label index,
 * postings list, both offset tables); series strictly ascending by label set,
 * labels sorted with unique names and no empty value; postings strictly
 * ascending and naming existing series, the all-series list equal to the
 * series found; chunk metas (mint <= maxt, ascending and non-overlapping,
 * inside [meta.minTime, meta.maxTime)); every chunk through its ref (segment
 * header, length, CRC, encoding, a sample count > 0, the decoded samples
 * strictly ascending from mint to maxt); the tombstones file.
 *
 * Never trusts a length or an offset it has not checked, so a corrupt block
 * yields faults, never a crash.
 */
#ifndef RINGTAIL_VERIFY_H
#define RINGTAIL_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"

/* Reporting stops after this many faults (one more line says so). */
#define VERIFY_MAX_FAULTS	1000

/* Called once per fault with a one-line description (no trailing newline). */
typedef void verify_fault_fn(void *arg, const char *what);

/* Check the block in dir; returns the number of faults reported (0: clean). */
size_t	verify_block(const char *dir, verify_fault_fn *fn, void *arg);

/*
 * The byte-level checks that reading a block does not make by itself: every
 * CRC, section layout and padding byte of the index (without decoding the
 * series) and the reserved bytes of each chunk segment header. A reader about
 * to read a block in full (dump) runs it first, so that no damaged byte goes
 * unnoticed; chunk CRCs are checked as chunks are read. 0, or -1 with the
 * first fault in the err.
 */
int	verify_block_bytes(const char *dir, struct err *);
/* The index part of verify_block_bytes, over a mapped index file. */
int	verify_index_bytes(const uint8_t *p, size_t len, struct err *);

#endif
