/*
 * importer — the block-import pipeline: text samples in, TSDB blocks out.
 *
 * The input is read once, as a stream. Each series is interned into a
 * table the first time it is seen (that table grows with the number of
 * distinct series and is the one memory cost without a bound); samples go
 * into per-block buffers keyed by floor(t / block duration). When the
 * buffers outgrow the memory budget they are spilled to an unlinked scratch
 * file. Only when the whole input has been read and parsed is any block
 * written: then, block by block in time order, the samples are ordered by
 * (series label order, timestamp, input order) — sorted in memory, or as
 * sorted runs merged from the scratch file — the first sample of a
 * repeated timestamp is kept, chunks are cut as promtool's head cuts them
 * with chunk range 2 x block duration, and the block is published by
 * block_writer (temporary name, fsync, rename).
 */
#ifndef RINGTAIL_IMPORTER_H
#define RINGTAIL_IMPORTER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/tsdb/textparse.h"
#include "lib/tsdb/ulid.h"

struct importer_stats {
	uint64_t	bytes;		/* input bytes read */
	uint64_t	lines;
	uint64_t	samples;	/* samples parsed */
	uint64_t	series;		/* distinct series */
	uint64_t	spills;		/* times the buffers went to the scratch file */
	uint64_t	spilled_bytes;
	uint64_t	duplicates;	/* samples dropped: same series, same timestamp */
	uint64_t	blocks;		/* blocks written */
	uint64_t	written;	/* samples written into blocks */
};

/* One published block, for the caller to report. */
struct importer_block {
	const char	*dir;		/* <out_dir>/<ULID> */
	char		 ulid[ULID_LEN + 1];
	int64_t		 min_time;
	int64_t		 max_time;	/* exclusive */
	uint64_t	 num_samples;
	uint64_t	 num_chunks;
	uint64_t	 num_series;
	uint64_t	 size;		/* bytes of chunks, index, tombstones, meta.json */
};

struct importer_config {
	const char	*out_dir;
	const char	*tmp_dir;		/* scratch files; NULL: out_dir */
	int64_t		 block_duration;	/* ms, > 0 */
	uint64_t	 max_memory;		/* bytes for sample buffers */
	/* Thanos external labels for meta.json; none: no Thanos section. */
	const char	*const *label_names;
	const char	*const *label_values;
	size_t		 nlabels;
	/* When set (by a signal handler), the work stops at the next check. */
	volatile sig_atomic_t *stop;
	/* Called now and then while reading, and after each block; may be NULL. */
	void		(*progress)(const struct importer_stats *, void *);
	void		(*block_done)(const struct importer_block *, void *);
	void		*arg;
};

struct importer;

struct importer	*importer_create(const struct importer_config *, struct err *);
/*
 * Read one whole input from fd to its end: OpenMetrics or dump lines (the
 * first line decides). name is the file name errors start with.
 */
int		 importer_read(struct importer *, int fd, const char *name, struct err *);
/*
 * Add one parsed sample. same_series may be set only when the labels are
 * those of the previous sample given to this importer.
 */
int		 importer_add(struct importer *, const struct text_sample *, struct err *);
/* After the input: write every block, in time order. */
int		 importer_write_blocks(struct importer *, struct err *);
/* 1 when the last failure was the input's fault (exit 1), not the system's. */
int		 importer_bad_input(const struct importer *);
const struct importer_stats *importer_stats(const struct importer *);
void		 importer_free(struct importer *);

#endif
