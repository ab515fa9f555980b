/*
 * block — whole TSDB blocks: the writer that publishes a block atomically and
 * the reader that selects series by matchers over a time range.
 *
 * Writer: block_writer_create makes <parent>/<ULID>.tmp-for-creation; add
 * every symbol (ascending), then series in label order with their chunks
 * (chunks are written to chunks/ at once, the index entry after them);
 * block_writer_commit writes the index, meta.json and an empty tombstones
 * file, fsyncs, and renames the directory to <ULID>: the rename is the
 * commit point, so no reader ever sees a partial block. A block with no
 * samples is not published. Memory does not grow with samples.
 *
 * Reader: block_open checks meta.json, the index (TOC, symbol and postings
 * table CRCs) and the chunk segment headers; series entries, postings and
 * chunks are CRC-checked when read.
 */
#ifndef RINGTAIL_BLOCK_H
#define RINGTAIL_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/tsdb/chunks.h"
#include "lib/tsdb/index.h"
#include "lib/tsdb/labels.h"
#include "lib/tsdb/matcher.h"
#include "lib/tsdb/meta.h"
#include "lib/tsdb/tombstones.h"

struct block_writer;

struct block_writer *block_writer_create(const char *parent_dir, struct err *);
/* Before the first series; default CHUNK_SEGMENT_SIZE_DEFAULT. */
void	 block_writer_set_segment_size(struct block_writer *, uint64_t);
int	 block_writer_add_symbol(struct block_writer *, struct str, struct err *);
/* Chunks in time order, non-overlapping; their refs are set on return. */
int	 block_writer_add_series(struct block_writer *, const struct labels *,
	    struct chunk *chunks, size_t n, struct err *);
/*
 * The meta.json to be written, for the caller to adjust before commit
 * (Thanos section, level, sources, min/max time). Defaults: ULID of the
 * block, level 1, sources = [ULID], min_time = first sample,
 * max_time = last sample + 1, stats from the data.
 */
struct block_meta *block_writer_meta(struct block_writer *);
/*
 * Finish and publish. *written is 0 when the block had no samples (nothing is
 * left on disk). The writer is freed in every case.
 */
int	 block_writer_commit(struct block_writer *, int *written, struct err *);
/* Drop the work directory and free the writer. */
void	 block_writer_abort(struct block_writer *);

struct block;

struct block *block_open(const char *dir, struct err *);
void	 block_close(struct block *);
const char *block_dir(const struct block *);
const struct block_meta *block_get_meta(const struct block *);
struct index_reader *block_index(struct block *);
struct chunk_reader *block_chunks(struct block *);
const struct tombstone *block_tombstones(const struct block *, size_t *n);
/* What promtool's Block.Size adds up: chunk segments, index, tombstones, meta.json. */
uint64_t block_size(const char *dir);

/* IDs of the series matching every matcher, ascending (= label order). */
int	 block_select(struct block *, const struct matcher *, size_t nm,
	    struct postings *out, struct err *);

/*
 * A series set over one or more blocks: the series matching every matcher,
 * merged by label set across blocks and returned in label order; per series,
 * the samples in [mint, maxt] (inclusive) in time order, deleted intervals
 * (tombstones) removed, a timestamp present in several blocks returned once.
 */
struct series_set;

struct series_set *series_set_open(struct block **blocks, size_t nblocks,
	    const struct matcher *, size_t nm, int64_t mint, int64_t maxt, struct err *);
/* 1: next series, its labels in *ls (valid until the next call); 0: end; -1: error. */
int	 series_set_next(struct series_set *, const struct labels **ls, struct err *);
/* 1: next sample of the current series; 0: end of series; -1: error (corrupt chunk). */
int	 series_set_sample(struct series_set *, int64_t *t, uint64_t *v, struct err *);
void	 series_set_close(struct series_set *);

/*
 * Find blocks under path: path itself when it is a block, its children that
 * are blocks (a data dir), or blocks two levels down (<bucket>/<tenant>/<ULID>).
 * A block is a directory named by a valid ULID holding meta.json. Sorted by
 * min time, then ULID. *dirs is malloc'd, free with block_dirs_free.
 */
int	 block_find(const char *path, char ***dirs, size_t *n, struct err *);
void	 block_dirs_free(char **dirs, size_t n);

#endif
