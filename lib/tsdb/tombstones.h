/*
 * tombstones — a block's deletion intervals (§8 of specs/tsdb-format.md):
 * magic 0x0130BA30, version 1, entries (uvarint series ID, varint mint,
 * varint maxt), BE32 CRC32C over the entries only.
 */
#ifndef RINGTAIL_TOMBSTONES_H
#define RINGTAIL_TOMBSTONES_H

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"

#define TOMBSTONES_MAGIC 0x0130BA30u

struct tombstone {
	uint32_t	ref;	/* series ID in the block's index */
	int64_t		mint;	/* closed interval, ms */
	int64_t		maxt;
};

/* Write <block_dir>/tombstones via tombstones.tmp + rename (n == 0: the 9-byte empty file). */
int	tombstones_write(const char *block_dir, const struct tombstone *, size_t n, struct err *);
/* Read <block_dir>/tombstones; a missing file is no tombstones. *out is malloc'd. */
int	tombstones_read(const char *block_dir, struct tombstone **out, size_t *n, struct err *);
/* Sort by series ID, then interval start. */
void	tombstones_sort(struct tombstone *, size_t n);
int	tombstones_decode(const uint8_t *p, size_t len, struct tombstone **out, size_t *n, struct err *);

#endif
