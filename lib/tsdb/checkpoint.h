/*
 * checkpoint — WAL checkpoints as Prometheus 2.42 writes and replays them
 * (specs/wal-format.md §5, tsdb/wlog/checkpoint.go):
 *
 *   wal/checkpoint.NNNNNNNN/00000000 ...
 *
 * N is the last WAL segment the checkpoint covers. It holds, in the WAL's
 * own segment format, what survives of [previous checkpoint] + segments
 * [from, N]: series records of the refs keep() accepts, samples, histogram
 * samples (7) and exemplars with t >= mint, tombstones whose interval ends
 * at or after mint, and the latest metadata of each kept series (one record,
 * last). Every other record type is dropped (in 2.42 that includes float
 * histograms, type 8). Built in checkpoint.N.tmp, synced, renamed.
 *
 * Return conventions: 0/-1 with struct err; lookups 1 (found) / 0 / -1.
 */
#ifndef RINGTAIL_CHECKPOINT_H
#define RINGTAIL_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"

struct wal;
struct wal_reader;

/* Processed and dropped entries, as Prometheus' CheckpointStats counts them. */
struct checkpoint_stats {
	size_t	total_series, dropped_series;
	size_t	total_samples, dropped_samples;	/* float and integer-histogram samples */
	size_t	total_tombstones, dropped_tombstones;
	size_t	total_exemplars, dropped_exemplars;
	size_t	total_metadata, dropped_metadata;
};

/* Is the series ref still alive (in the head, or deleted but still referenced)? */
typedef int	(*checkpoint_keep_fn)(uint64_t ref, void *arg);

/*
 * The newest checkpoint of waldir: 1 with its index in *index (and, when
 * path is not NULL, a malloc'd "waldir/checkpoint.N" in *path), 0 when
 * there is none, -1 on error (unreadable dir; a checkpoint.N that is not
 * a directory). Names whose suffix is not a number (checkpoint.N.tmp) are
 * ignored, as Prometheus ignores them.
 */
int	checkpoint_last(const char *waldir, int *index, char **path, struct err *);

/*
 * Write waldir/checkpoint.<to> from the newest checkpoint (if any) and the
 * segments [from, to] (from is raised to that checkpoint's index + 1; a gap
 * between them is an error). compress: snappy as the WAL does. Damage in
 * what it reads is an error (never repaired: the head would not know which
 * series were lost). stats may be NULL. Returns 0 or -1.
 */
int	checkpoint_create(const char *waldir, int from, int to,
	    checkpoint_keep_fn keep, void *arg, int64_t mint, int compress,
	    struct checkpoint_stats *stats, struct err *);

/* Remove the checkpoints with an index below `index`. Returns 0 or -1. */
int	checkpoint_delete_older(const char *waldir, int index, struct err *);

/*
 * Prometheus' Head.truncateWAL after a head compaction to mint: start a new
 * segment; checkpoint the older two thirds of the segments before it; delete
 * the segments and the older checkpoints the new one covers. *index gets
 * the checkpoint's index, or -1 when there were too few segments to bother
 * (then nothing but the new segment happened). stats may be NULL. Returns
 * 0 or -1; -1 with *index >= 0 means the checkpoint is in place but old
 * segments or checkpoints could not be deleted (harmless: replay skips
 * what a checkpoint covers, and the next truncation retries).
 */
int	checkpoint_truncate_wal(struct wal *, checkpoint_keep_fn keep, void *arg,
	    int64_t mint, int *index, struct checkpoint_stats *stats, struct err *);

/*
 * A reader over what a replay reads, in Prometheus' order: the newest
 * checkpoint (all its segments), then the WAL segments from its index + 1
 * (from 0 without a checkpoint) to the last one. Like Prometheus it fails
 * when one of those segments is missing. Returns 0 or -1.
 */
int	checkpoint_replay_open(struct wal_reader **, const char *waldir, struct err *);

#endif
