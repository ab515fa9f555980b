/*
 * spill — one anonymous scratch file for data that does not fit in memory.
 *
 * The file is unlinked from the start (O_TMPFILE, or a hidden mkstemp name
 * removed at once), so it disappears with the process however the process
 * ends, SIGKILL included. Appends go through a write buffer; reads are
 * positional and see everything appended so far.
 */
#ifndef RINGTAIL_SPILL_H
#define RINGTAIL_SPILL_H

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"

struct spill;

/* A new empty scratch file in dir. */
struct spill	*spill_create(const char *dir, struct err *);
/* Append; the data's offset was spill_size() before the call. */
int		 spill_append(struct spill *, const void *, size_t, struct err *);
/* Bytes appended so far. */
uint64_t	 spill_size(const struct spill *);
/* Read exactly n bytes at off (flushes pending appends first). */
int		 spill_read(struct spill *, uint64_t off, void *, size_t n, struct err *);
void		 spill_close(struct spill *);

#endif
