/*
 * tenant — one tenant's TSDB inside tsdb-head, as a Cortex ingester keeps
 * it: <tsdb-dir>/<tenant>/ holds wal/ (Prometheus' WAL, with checkpoints)
 * and the blocks cut from the head, so the directory is a Prometheus data
 * directory that Prometheus itself can open.
 *
 *   open     replay the WAL (checkpoint, then segments) into a fresh head,
 *            repairing a torn or corrupt tail as Prometheus does
 *   push     validate each series as Cortex's distributor does, append as
 *            Prometheus' head does, log series and samples records to the
 *            WAL and write(2) them before the push is answered (the caller
 *            then fsyncs by its policy: tenant_sync)
 *   compact  cut a block of the oldest range while the head spans more
 *            than 1.5 block ranges (all of it when forced: flush), then
 *            truncate the head and checkpoint the WAL; delete local blocks
 *            beyond the retention once the shipper has uploaded them
 *   query    head and local blocks merged, for remote read
 *
 * Threading: a tenant is used by one thread at a time.
 */
#ifndef RINGTAIL_TENANT_H
#define RINGTAIL_TENANT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/base/metrics.h"
#include "lib/rw/remote_write.h"
#include "lib/rw/validate.h"
#include "lib/tsdb/chunks.h"
#include "lib/tsdb/encoding.h"
#include "lib/tsdb/labels.h"
#include "lib/tsdb/matcher.h"
#include "lib/tsdb/wal.h"

/* The shipper's record of uploaded blocks, in the tenant's directory (Thanos' name). */
#define TENANT_SHIPPER_FILE	"thanos.shipper.json"

struct tenant_opts {
	int64_t		 block_range;		/* ms: -blocks-storage.tsdb.block-ranges-period */
	int64_t		 retention;		/* ms: -blocks-storage.tsdb.retention-period */
	uint64_t	 max_series;		/* -ingester.max-series-per-user, 0 = off */
	uint64_t	 max_series_per_metric;	/* -ingester.max-series-per-metric, 0 = off */
	struct rw_limits limits;		/* the distributor's validation */
	struct wal_opts	 wal;
	size_t		 max_errors;		/* error lines in a push answer; 0 = 3 */
};

/* The metric families every tenant reports into (created by tenant_metrics_init). */
struct tenant_metrics {
	struct metric_family	*discarded;		/* {reason,user} */
	struct metric_family	*series_created;	/* {user} */
	struct metric_family	*series_removed;	/* {user} */
	struct metric		*ingested;
	struct metric		*ingest_failures;
	struct metric		*wal_fsync;		/* histogram */
	struct metric		*wal_writes_failed;
	struct metric		*wal_corruptions;
	struct metric		*wal_truncations;
	struct metric		*wal_truncations_failed;
	struct metric		*checkpoint_creations;
	struct metric		*checkpoint_creations_failed;
	struct metric		*checkpoint_deletions;
	struct metric		*compactions;
	struct metric		*compactions_failed;
	struct metric		*compaction_duration;	/* histogram */
	struct metric		*blocks_deleted;
	struct metric		*replay_samples;
};

void	tenant_metrics_init(struct tenant_metrics *, struct metrics *);

struct tenant;

/*
 * Open (creating if needed) <tsdb_dir>/<id>: remove leftovers of
 * interrupted block writes and deletions, open the local blocks, open the
 * WAL and replay it into the head; progress goes to the log. id must be a
 * valid tenant ID (tenant_validate). *stop (may be NULL) set to nonzero
 * interrupts a replay (-1, "interrupted"). Returns NULL on failure.
 */
struct tenant	*tenant_open(const char *tsdb_dir, const char *id,
		    const struct tenant_opts *, struct tenant_metrics *,
		    volatile int *stop, struct err *);
/* Flush and fsync the WAL, close it and the blocks, free. 0 or -1 (it is freed anyway). */
int		 tenant_close(struct tenant *, struct err *);
const char	*tenant_id(const struct tenant *);

/* What a push did; owned by the caller, reused across pushes (tenant_push_result_free). */
struct tenant_push_result {
	int		 status;	/* 200, 400 (some or all rejected), 500 (our fault) */
	struct buf	 msg;		/* the answer's body when status != 200, no trailing newline */
	size_t		 samples;	/* in the request */
	size_t		 stored;	/* appended (identical resends included) */
	size_t		 rejected;	/* by validation, limits or the head */
	size_t		 series_created;
};

void	tenant_push_result_free(struct tenant_push_result *);

/*
 * Ingest a decoded WriteRequest (its labels are sorted in place). A series
 * with no labels at all fails the whole request (400, nothing stored);
 * otherwise every good sample is stored and the bad ones are counted in
 * cortex_discarded_samples_total; the answer is 400 naming the first
 * errors (Cortex's texts, the first line exactly as Cortex answers) and
 * the count. The records are written to the WAL (write(2), no fsync)
 * before this returns; a WAL failure answers 500 and is retried first at
 * the next push. now_ms is the wall clock for the too-old/too-new checks.
 */
void	tenant_push(struct tenant *, struct rw_request *, int64_t now_ms,
	    struct tenant_push_result *);
/* 1 when records were written since the last tenant_sync. */
int	tenant_dirty(const struct tenant *);
/* fdatasync the WAL (timed into the fsync histogram). 0 or -1. */
int	tenant_sync(struct tenant *, struct err *);

/*
 * Head compaction as Cortex runs it every head-compaction-interval: while
 * the head spans more than 1.5 block ranges, write the oldest range as a
 * block, truncate the head and checkpoint the WAL. force (flush, shutdown,
 * idle) cuts the whole head into range-aligned blocks. Then local blocks
 * beyond the retention that the shipper lists as uploaded are deleted.
 * *cut (may be NULL) gets the number of blocks written. 0 or -1.
 */
int	tenant_compact(struct tenant *, int force, int *cut, struct err *);
/* Milliseconds of wall clock of the last push that stored something; 0 if none since open. */
int64_t	tenant_last_push(const struct tenant *);

struct tenant_stats {
	uint64_t	series;
	uint64_t	chunks;
	int64_t		min_time;	/* INT64_MAX when empty */
	int64_t		max_time;	/* INT64_MIN when empty */
	size_t		blocks;		/* local blocks */
};
void	tenant_stats(const struct tenant *, struct tenant_stats *);

/*
 * Queries: the series matching every matcher with samples in [mint, maxt]
 * (inclusive), from the head and the local blocks merged by label set, in
 * label order; a timestamp in several places is returned once. The tenant
 * must not change until the query is closed.
 */
struct tenant_query;

struct tenant_query *tenant_query_open(struct tenant *, const struct matcher *, size_t nm,
	    int64_t mint, int64_t maxt, struct err *);
/* 1: next series, labels in *ls (valid until the next call); 0: end; -1: error. */
int	tenant_query_next(struct tenant_query *, const struct labels **ls, struct err *);
/* 1: next sample of the series in time order; 0: end of series; -1: error. */
int	tenant_query_sample(struct tenant_query *, int64_t *t, uint64_t *v, struct err *);
/*
 * Instead of samples: the series' chunks overlapping [mint, maxt], in min
 * time order, XOR-encoded: the head's chunks as stored, the blocks' samples
 * in the range cut again as the head cuts them. Valid until the next call.
 */
int	tenant_query_chunks(struct tenant_query *, const struct chunk **c, size_t *n,
	    struct err *);
void	tenant_query_close(struct tenant_query *);

#endif
