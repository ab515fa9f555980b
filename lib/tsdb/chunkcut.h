/*
 * chunkcut — where Prometheus' head cuts a series' chunks (§6 of
 * specs/tsdb-format.md): 120-sample target with the even-fill end estimate
 * made at the 31st sample, the 240-sample cap, and never across a multiple
 * of the chunk range R. block-import uses R = 2 x block duration, as promtool
 * create-blocks-from does; a Prometheus server (and tsdb-head) uses R = 2h.
 *
 * Per series: feed samples in time order, then take the chunks.
 */
#ifndef RINGTAIL_CHUNKCUT_H
#define RINGTAIL_CHUNKCUT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/tsdb/chunks.h"
#include "lib/tsdb/encoding.h"
#include "lib/tsdb/xor.h"

struct chunk_cutter {
	int64_t			 range;		/* R, ms */
	int64_t			 next_at;
	int64_t			 cur_mint;
	int64_t			 cur_maxt;
	int			 has_cur;
	struct xor_chunk	 cur;
	/* closed chunks: their bytes live back to back in closed_data */
	struct chunk		*closed;	/* data == NULL; offset in closed_off */
	size_t			*closed_off;
	size_t			 nclosed;
	size_t			 cap;
	struct buf		 closed_data;
	struct chunk		*out;		/* scratch for chunk_cutter_chunks */
	size_t			 outcap;
};

/*
 * The rule itself, shared with the head's series (lib/tsdb/head_series.c),
 * which keep their own compact state. chunk_range_end is the end of t's
 * chunk range (Go's truncating division: for -R < t < 0 it is R).
 * chunk_cut_due: the open chunk started at cur_mint, holds n samples, the
 * last at cur_maxt, and must end before *next_at; returns 1 when t must
 * start a new chunk, updating *next_at with the estimate at the 31st sample.
 */
int64_t	chunk_range_end(int64_t t, int64_t range);
int	chunk_cut_due(uint16_t n, int64_t cur_mint, int64_t cur_maxt, int64_t *next_at, int64_t t);

void	chunk_cutter_init(struct chunk_cutter *, int64_t range);
/* Append one sample: 0 appended; 1 rejected because t <= the last appended t (out of order or duplicate). */
int	chunk_cutter_append(struct chunk_cutter *, int64_t t, uint64_t v);
/*
 * All chunks so far, closed ones and the open one, in time order. The array and
 * the bytes stay valid until the next append, reset or free.
 */
struct chunk *chunk_cutter_chunks(struct chunk_cutter *, size_t *n);
/* Forget every chunk (start a new series), keep memory. */
void	chunk_cutter_reset(struct chunk_cutter *);
void	chunk_cutter_free(struct chunk_cutter *);

#endif
