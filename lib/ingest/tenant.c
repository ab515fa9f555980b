#include <sys/stat.h>
#include <sys/uio.h>

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "lib/base/fileutil.h"
#include "lib/base/log.h"
#include "lib/base/xmalloc.h"
#include "lib/ingest/tenant.h"
#include "lib/tsdb/block.h"
#include "lib/tsdb/checkpoint.h"
#include "lib/tsdb/chunkcut.h"
#include "lib/tsdb/gofmt.h"
#include "lib/tsdb/head.h"
#include "lib/tsdb/walrec.h"

/*
 * Why samples were discarded: cortex_discarded_samples_total's reason
 * label, as Cortex names them (pkg/util/validation, pkg/ingester).
 */
enum reason {
	R_OUT_OF_BOUNDS,
	R_OUT_OF_ORDER,
	R_DUPLICATE,
	R_USER_LIMIT,
	R_METRIC_LIMIT,
	R_MISSING_NAME,
	R_INVALID_NAME,
	R_TOO_MANY_LABELS,
	R_INVALID_LABEL,
	R_NAME_TOO_LONG,
	R_VALUE_TOO_LONG,
	R_DUP_LABEL,
	R_NOT_SORTED,
	R_LABELS_SIZE,
	R_TOO_OLD,
	R_TOO_NEW,
	R_HISTOGRAM,
	R_INVALID,
	NREASONS
};

static const char *const reason_names[NREASONS] = {
	[R_OUT_OF_BOUNDS] = "sample-out-of-bounds",
	[R_OUT_OF_ORDER] = "sample-out-of-order",
	[R_DUPLICATE] = "new-value-for-timestamp",
	[R_USER_LIMIT] = "per_user_series_limit",
	[R_METRIC_LIMIT] = "per_metric_series_limit",
	[R_MISSING_NAME] = "missing_metric_name",
	[R_INVALID_NAME] = "metric_name_invalid",
	[R_TOO_MANY_LABELS] = "max_label_names_per_series",
	[R_INVALID_LABEL] = "label_invalid",
	[R_NAME_TOO_LONG] = "label_name_too_long",
	[R_VALUE_TOO_LONG] = "label_value_too_long",
	[R_DUP_LABEL] = "duplicate_label_names",
	[R_NOT_SORTED] = "labels_not_sorted",
	[R_LABELS_SIZE] = "labels_size_bytes_exceeded",
	[R_TOO_OLD] = "greater_than_max_sample_age",
	[R_TOO_NEW] = "too_far_in_future",
	[R_HISTOGRAM] = "native-histogram-sample",
	[R_INVALID] = "invalid",
};

/* Series removed from the head, kept in checkpoints until the WAL moves past them. */
struct deleted {
	uint64_t	ref;	/* 0: empty slot */
	int		seg;	/* the WAL's last segment when it was removed */
};

struct local_block {
	struct block	*b;
	char		*dir;
	char		 ulid[ULID_LEN + 1];
	int64_t		 min_time;
	int64_t		 max_time;
};

struct tenant {
	char			*id;
	char			*dir;
	char			*waldir;
	struct tenant_opts	 opts;
	struct tenant_metrics	*m;
	struct metric		*created;
	struct metric		*removed;
	struct metric		*disc[NREASONS];
	struct head		*head;
	struct wal		*wal;
	int			 wal_broken;
	int			 dirty;
	int64_t			 last_push;

	struct local_block	*blocks;	/* by min time */
	size_t			 nblocks;

	struct deleted		*del;		/* open addressing; cap a power of 2 */
	size_t			 ndel;
	size_t			 delcap;

	/* Records a failed WAL write left behind: logged again first. */
	struct buf		 pending;
	size_t			*pending_len;
	size_t			 npending;

	/* Push scratch, reused: no allocation per sample. */
	struct walrec_series	*ws;
	size_t			 nws;
	size_t			 wscap;
	struct walrec_sample	*smp;
	size_t			 nsmp;
	size_t			 smpcap;
	struct buf		 rec_series;
	struct buf		 rec_samples;
	struct buf		 msg;
	size_t			 nerrors;
};

static uint64_t	mix64(uint64_t);
static struct metric *discard_metric(struct tenant *, enum reason);
static void	add_error(struct tenant *, struct tenant_push_result *, const void *, size_t);
static void	format_ts(struct buf *, int64_t);
static void	ingest_error(struct tenant *, struct tenant_push_result *, enum head_err,
		    const struct labels *, int64_t);
static enum reason validation_reason(const struct buf *);
static enum reason head_reason(enum head_err);
static void	push_series(struct tenant *, struct rw_series *, struct tenant_push_result *);
static int	wal_write(struct tenant *, struct err *);
static int	wal_recover(struct tenant *, struct err *);
static void	del_put(struct tenant *, uint64_t, int);
static int	del_has(const struct tenant *, uint64_t);
static void	del_prune(struct tenant *, int);
static int	keep_ref(uint64_t, void *);
static void	note_dropped(struct tenant *, const struct head_refs *);
static int	ends_with(const char *, size_t, const char *);
static int	clean_leftovers(const char *, struct err *);
static int	open_blocks(struct tenant *, struct err *);
static int	add_block(struct tenant *, const char *, struct err *);
static int	replay(struct tenant *, volatile int *, struct err *);
static int	cut_range(struct tenant *, int64_t, int64_t, int *, struct err *);
static int	truncate_wal(struct tenant *, int64_t, struct err *);
static int	retention(struct tenant *, struct err *);
static int	shipped_has(json_t *, const char *);
static json_t	*shipped_load(const struct tenant *);

void
tenant_metrics_init(struct tenant_metrics *tm, struct metrics *m)
{
	static const char *const user[] = { "user", NULL };
	static const char *const reason_user[] = { "reason", "user", NULL };
	static const double fsync_buckets[] = {
		.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1,
	};
	static const double compaction_buckets[] = {
		1, 2, 4, 8, 16, 32, 64, 128, 256, 512,
	};

#define C(name, help) metric_with(metrics_family(m, METRIC_COUNTER, name, help, NULL, NULL, 0))
	tm->discarded = metrics_family(m, METRIC_COUNTER, "cortex_discarded_samples_total",
	    "The total number of samples that were discarded.", reason_user, NULL, 0);
	tm->series_created = metrics_family(m, METRIC_COUNTER,
	    "cortex_ingester_memory_series_created_total",
	    "The total number of series that were created per user.", user, NULL, 0);
	tm->series_removed = metrics_family(m, METRIC_COUNTER,
	    "cortex_ingester_memory_series_removed_total",
	    "The total number of series that were removed per user.", user, NULL, 0);
	tm->ingested = C("cortex_ingester_ingested_samples_total",
	    "The total number of samples ingested.");
	tm->ingest_failures = C("cortex_ingester_ingested_samples_failures_total",
	    "The total number of samples that errored on ingestion.");
	tm->wal_fsync = metric_with(metrics_family(m, METRIC_HISTOGRAM,
	    "cortex_ingester_tsdb_wal_fsync_duration_seconds",
	    "Duration of TSDB WAL fsync.", NULL, fsync_buckets,
	    sizeof(fsync_buckets) / sizeof(fsync_buckets[0])));
	tm->wal_writes_failed = C("cortex_ingester_tsdb_wal_writes_failed_total",
	    "Number of TSDB WAL writes that failed.");
	tm->wal_corruptions = C("cortex_ingester_tsdb_wal_corruptions_total",
	    "Total number of TSDB WAL corruptions.");
	tm->wal_truncations = C("cortex_ingester_tsdb_wal_truncations_total",
	    "Total number of TSDB WAL truncations attempted.");
	tm->wal_truncations_failed = C("cortex_ingester_tsdb_wal_truncations_failed_total",
	    "Total number of TSDB WAL truncations that failed.");
	tm->checkpoint_creations = C("cortex_ingester_tsdb_checkpoint_creations_total",
	    "Total number of TSDB checkpoint creations attempted.");
	tm->checkpoint_creations_failed = C("cortex_ingester_tsdb_checkpoint_creations_failed_total",
	    "Total number of TSDB checkpoint creations that failed.");
	tm->checkpoint_deletions = C("cortex_ingester_tsdb_checkpoint_deletions_total",
	    "Total number of TSDB checkpoint deletions attempted.");
	tm->compactions = C("cortex_ingester_tsdb_compactions_total",
	    "Total number of TSDB compactions that were executed.");
	tm->compactions_failed = C("cortex_ingester_tsdb_compactions_failed_total",
	    "Total number of TSDB compactions that failed.");
	tm->compaction_duration = metric_with(metrics_family(m, METRIC_HISTOGRAM,
	    "cortex_ingester_tsdb_compaction_duration_seconds",
	    "Duration of TSDB compaction runs.", NULL, compaction_buckets,
	    sizeof(compaction_buckets) / sizeof(compaction_buckets[0])));
	tm->blocks_deleted = C("cortex_ingester_tsdb_blocks_deleted_total",
	    "Local blocks deleted by the retention once shipped.");
	tm->replay_samples = C("cortex_ingester_tsdb_wal_replayed_samples_total",
	    "Samples read back from the WAL at startup.");
#undef C
}

const char *
tenant_id(const struct tenant *t)
{
	return t->id;
}

int64_t
tenant_last_push(const struct tenant *t)
{
	return t->last_push;
}

int
tenant_dirty(const struct tenant *t)
{
	return t->dirty;
}

void
tenant_stats(const struct tenant *t, struct tenant_stats *st)
{
	struct head_stats hs;

	head_stats(t->head, &hs);
	st->series = hs.num_series;
	st->chunks = hs.num_chunks;
	st->min_time = hs.min_time;
	st->max_time = hs.max_time;
	st->blocks = t->nblocks;
}

void
tenant_push_result_free(struct tenant_push_result *r)
{
	buf_free(&r->msg);
}

static struct metric *
discard_metric(struct tenant *t, enum reason r)
{
	if (t->disc[r] == NULL)
		t->disc[r] = metric_with(t->m->discarded, reason_names[r], t->id);
	return t->disc[r];
}

/*
 * Deleted series: a small hash set of refs.
 */

static uint64_t
mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

static void
del_put(struct tenant *t, uint64_t ref, int seg)
{
	size_t i;

	if ((t->ndel + 1) * 2 > t->delcap) {
		struct deleted *old = t->del;
		size_t oldcap = t->delcap;

		t->delcap = t->delcap ? t->delcap * 2 : 64;
		t->del = xcalloc(t->delcap, sizeof(*t->del));
		t->ndel = 0;
		for (size_t k = 0; k < oldcap; k++)
			if (old[k].ref != 0)
				del_put(t, old[k].ref, old[k].seg);
		free(old);
	}
	for (i = mix64(ref) & (t->delcap - 1); t->del[i].ref != 0;
	    i = (i + 1) & (t->delcap - 1))
		if (t->del[i].ref == ref) {
			t->del[i].seg = seg;
			return;
		}
	t->del[i] = (struct deleted){ ref, seg };
	t->ndel++;
}

static int
del_has(const struct tenant *t, uint64_t ref)
{
	if (t->delcap == 0)
		return 0;
	for (size_t i = mix64(ref) & (t->delcap - 1); t->del[i].ref != 0;
	    i = (i + 1) & (t->delcap - 1))
		if (t->del[i].ref == ref)
			return 1;
	return 0;
}

/* Forget the series removed while a segment below `first` was the newest. */
static void
del_prune(struct tenant *t, int first)
{
	struct deleted *old = t->del;
	size_t oldcap = t->delcap;

	t->del = NULL;
	t->delcap = 0;
	t->ndel = 0;
	for (size_t k = 0; k < oldcap; k++)
		if (old[k].ref != 0 && old[k].seg >= first)
			del_put(t, old[k].ref, old[k].seg);
	free(old);
}

/* Prometheus' checkpoint keep(): in the head, or removed but maybe still referenced. */
static int
keep_ref(uint64_t ref, void *arg)
{
	struct tenant *t = arg;
	struct labels ls;

	return head_series_labels(t->head, ref, &ls) == 1 || del_has(t, ref);
}

static void
note_dropped(struct tenant *t, const struct head_refs *dropped)
{
	int first, last;
	struct err e;

	if (dropped->n == 0)
		return;
	if (wal_segments(t->waldir, &first, &last, &e) == -1)
		last = t->wal != NULL ? wal_active_segment(t->wal) : 0;
	for (size_t i = 0; i < dropped->n; i++)
		del_put(t, dropped->v[i], last);
	metric_add(t->removed, (double)dropped->n);
}

/*
 * Push answers.
 */

/* One error line; past the limit only counted. */
static void
add_error(struct tenant *t, struct tenant_push_result *r, const void *p, size_t n)
{
	size_t max = t->opts.max_errors ? t->opts.max_errors : 3;

	if (t->nerrors++ >= max)
		return;
	if (r->msg.len > 0)
		buf_put_u8(&r->msg, '\n');
	buf_put_bytes(&r->msg, p, n);
}

/* Go's time.Format(time.RFC3339Nano) of a millisecond timestamp, in UTC. */
static void
format_ts(struct buf *b, int64_t ms)
{
	time_t sec = (time_t)(ms / 1000);
	int frac = (int)(ms % 1000);
	struct tm tm;
	char s[64];
	size_t n;

	if (frac < 0) {
		frac += 1000;
		sec--;
	}
	gmtime_r(&sec, &tm);
	n = strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	if (frac != 0) {
		n += (size_t)snprintf(s + n, sizeof(s) - n, ".%03d", frac);
		while (s[n - 1] == '0')
			n--;
	}
	s[n++] = 'Z';
	buf_put_bytes(b, s, n);
}

/* Cortex's ingester texts, wrapped with the user as its push answer does. */
static void
ingest_error(struct tenant *t, struct tenant_push_result *r, enum head_err he,
    const struct labels *ls, int64_t ts)
{
	size_t max = t->opts.max_errors ? t->opts.max_errors : 3;
	const char *text;

	if (t->nerrors >= max) {
		t->nerrors++;
		return;
	}
	buf_reset(&t->msg);
	buf_put_bytes(&t->msg, "user=", 5);
	buf_put_bytes(&t->msg, t->id, strlen(t->id));
	buf_put_bytes(&t->msg, ": ", 2);
	if (he == HEAD_ERR_SERIES_LIMIT || he == HEAD_ERR_METRIC_SERIES_LIMIT)
		head_err_format(t->head, he, ls, &t->msg);
	else {
		text = head_err_text(he);
		buf_put_bytes(&t->msg, "err: ", 5);
		buf_put_bytes(&t->msg, text, strlen(text));
		buf_put_bytes(&t->msg, ". timestamp=", 12);
		format_ts(&t->msg, ts);
		buf_put_bytes(&t->msg, ", series=", 9);
		gofmt_labels(&t->msg, ls);
	}
	add_error(t, r, t->msg.p, t->msg.len);
}

static enum reason
validation_reason(const struct buf *msg)
{
	const char *name = rw_discard_reason(msg);

	for (int r = 0; r < NREASONS; r++)
		if (strcmp(reason_names[r], name) == 0)
			return (enum reason)r;
	return R_INVALID;
}

static enum reason
head_reason(enum head_err he)
{
	switch (he) {
	case HEAD_ERR_OUT_OF_BOUNDS:
		return R_OUT_OF_BOUNDS;
	case HEAD_ERR_OUT_OF_ORDER:
		return R_OUT_OF_ORDER;
	case HEAD_ERR_DUPLICATE:
		return R_DUPLICATE;
	case HEAD_ERR_SERIES_LIMIT:
		return R_USER_LIMIT;
	case HEAD_ERR_METRIC_SERIES_LIMIT:
		return R_METRIC_LIMIT;
	case HEAD_ERR_DUP_LABEL_NAME:
		return R_DUP_LABEL;
	default:
		return R_INVALID;
	}
}

/*
 * The WAL.
 */

/* Log the pending records, then this push's, and write(2) them. */
static int
wal_write(struct tenant *t, struct err *e)
{
	struct iovec iov[2];
	size_t n = 0;

	if (t->rec_series.len > 0)
		iov[n++] = (struct iovec){ t->rec_series.p, t->rec_series.len };
	if (t->rec_samples.len > 0)
		iov[n++] = (struct iovec){ t->rec_samples.p, t->rec_samples.len };
	if (n == 0)
		return 0;
	if (wal_log(t->wal, iov, n, e) == 0 && wal_flush(t->wal, e) == 0) {
		t->dirty = 1;
		return 0;
	}
	/* Keep the records: the head has them, the WAL must get them too. */
	for (size_t i = 0; i < n; i++) {
		buf_put_bytes(&t->pending, iov[i].iov_base, iov[i].iov_len);
		t->pending_len = xreallocarray(t->pending_len, t->npending + 1,
		    sizeof(*t->pending_len));
		t->pending_len[t->npending++] = iov[i].iov_len;
	}
	t->wal_broken = 1;
	metric_inc(t->m->wal_writes_failed);
	log_error("WAL write failed; pushes fail until it is reopened", "user=%s err=%s",
	    log_q(t->id), log_q(e->msg));
	return -1;
}

/*
 * After a failed write the WAL refuses everything: reopen it (which cuts a
 * torn tail and starts a new segment) and log what the failure left behind.
 */
static int
wal_recover(struct tenant *t, struct err *e)
{
	struct wal_repair rep;
	struct iovec *iov;
	size_t off = 0;
	int rc;

	if (t->wal != NULL) {
		struct err ce;

		wal_close(t->wal, &ce);
		t->wal = NULL;
	}
	if (wal_open(&t->wal, t->waldir, &t->opts.wal, &rep, e) == -1) {
		t->wal = NULL;
		return err_wrap(e, "reopen WAL");
	}
	iov = xcalloc(t->npending + 1, sizeof(*iov));
	for (size_t i = 0; i < t->npending; i++) {
		iov[i] = (struct iovec){ t->pending.p + off, t->pending_len[i] };
		off += t->pending_len[i];
	}
	rc = t->npending == 0 ? 0 : wal_log(t->wal, iov, t->npending, e);
	free(iov);
	if (rc == 0)
		rc = wal_sync(t->wal, e);
	if (rc == -1)
		return err_wrap(e, "rewrite WAL records");
	buf_reset(&t->pending);
	t->npending = 0;
	t->wal_broken = 0;
	log_info("WAL reopened", "user=%s repaired=%d", log_q(t->id), rep.repaired);
	return 0;
}

int
tenant_sync(struct tenant *t, struct err *e)
{
	struct timespec a, b;

	if (!t->dirty)
		return 0;
	if (t->wal_broken)
		return err_set(e, "WAL unavailable");
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (wal_sync(t->wal, e) == -1) {
		t->wal_broken = 1;
		metric_inc(t->m->wal_writes_failed);
		log_error("WAL fsync failed", "user=%s err=%s", log_q(t->id), log_q(e->msg));
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	metric_observe(t->m->wal_fsync, (double)(b.tv_sec - a.tv_sec) +
	    (double)(b.tv_nsec - a.tv_nsec) / 1e9);
	t->dirty = 0;
	return 0;
}

/*
 * Push.
 */

static void
push_series(struct tenant *t, struct rw_series *s, struct tenant_push_result *r)
{
	for (size_t i = 0; i < s->nsamples; i++) {
		const struct rw_sample *sm = &s->samples[i];
		enum head_err he;
		uint64_t ref;
		int created;

		he = head_append(t->head, &s->labels, sm->t, sm->v, &ref, &created);
		if (he != HEAD_OK) {
			r->rejected++;
			metric_inc(t->m->ingest_failures);
			metric_inc(discard_metric(t, head_reason(he)));
			ingest_error(t, r, he, &s->labels, sm->t);
			continue;
		}
		if (created) {
			if (t->nws == t->wscap) {
				t->wscap = t->wscap ? t->wscap * 2 : 64;
				t->ws = xreallocarray(t->ws, t->wscap, sizeof(*t->ws));
			}
			t->ws[t->nws++] = (struct walrec_series){ ref, s->labels };
		}
		if (t->nsmp == t->smpcap) {
			t->smpcap = t->smpcap ? t->smpcap * 2 : 512;
			t->smp = xreallocarray(t->smp, t->smpcap, sizeof(*t->smp));
		}
		t->smp[t->nsmp++] = (struct walrec_sample){ ref, sm->t, sm->v };
		r->stored++;
	}
}

void
tenant_push(struct tenant *t, struct rw_request *rq, int64_t now_ms,
    struct tenant_push_result *r)
{
	struct err e;
	char tail[160];

	buf_reset(&r->msg);
	r->status = 200;
	r->samples = rq->nsamples + rq->nhistograms;
	r->stored = r->rejected = r->series_created = 0;
	t->nerrors = 0;
	if (t->wal_broken && wal_recover(t, &e) == -1) {
		r->status = 500;
		buf_put_bytes(&r->msg, "user=", 5);
		buf_put_bytes(&r->msg, t->id, strlen(t->id));
		buf_put_bytes(&r->msg, ": WAL unavailable: ", 19);
		buf_put_bytes(&r->msg, e.msg, strlen(e.msg));
		return;
	}
	if (rw_validate_request(rq, &r->msg) == -1) {
		r->status = 400;
		r->rejected = r->samples;
		return;
	}
	t->nws = t->nsmp = 0;
	head_append_begin(t->head);
	for (size_t i = 0; i < rq->nseries; i++) {
		struct rw_series *s = &rq->series[i];
		int rc;

		buf_reset(&t->msg);
		rc = rw_validate_series(s, &t->opts.limits, now_ms, &t->msg);
		if (rc == RW_SERIES_INVALID) {
			r->rejected += s->nsamples + s->nhistograms;
			metric_add(discard_metric(t, validation_reason(&t->msg)),
			    (double)(s->nsamples + s->nhistograms));
			add_error(t, r, t->msg.p, t->msg.len);
			continue;
		}
		if (s->nhistograms > 0) {
			r->rejected += s->nhistograms;
			metric_add(discard_metric(t, R_HISTOGRAM), (double)s->nhistograms);
			buf_reset(&t->msg);
			buf_put_bytes(&t->msg, "native histograms are not supported: ", 37);
			gofmt_labels(&t->msg, &s->labels);
			add_error(t, r, t->msg.p, t->msg.len);
		}
		if (rc == RW_SERIES_DROP)
			continue;
		push_series(t, s, r);
	}
	for (size_t i = 0; i < rq->nmetadata; i++) {
		buf_reset(&t->msg);
		if (rw_validate_metadata(&rq->metadata[i], &t->opts.limits, &t->msg) == -1)
			add_error(t, r, t->msg.p, t->msg.len);
	}

	/* Series before the samples that use them, as Prometheus' commit logs them. */
	buf_reset(&t->rec_series);
	buf_reset(&t->rec_samples);
	if (t->nws > 0)
		walrec_put_series(&t->rec_series, t->ws, t->nws);
	if (t->nsmp > 0)
		walrec_put_samples(&t->rec_samples, t->smp, t->nsmp);
	r->series_created = t->nws;
	if (t->nws > 0)
		metric_add(t->created, (double)t->nws);
	if (r->stored > 0) {
		metric_add(t->m->ingested, (double)r->stored);
		t->last_push = now_ms;
	}
	if (wal_write(t, &e) == -1) {
		buf_reset(&r->msg);
		r->status = 500;
		buf_put_bytes(&r->msg, "user=", 5);
		buf_put_bytes(&r->msg, t->id, strlen(t->id));
		buf_put_bytes(&r->msg, ": WAL write failed: ", 20);
		buf_put_bytes(&r->msg, e.msg, strlen(e.msg));
		return;
	}
	if (t->nerrors == 0)
		return;
	r->status = 400;
	snprintf(tail, sizeof(tail), "\n%zu error%s; %zu of %zu samples rejected",
	    t->nerrors, t->nerrors == 1 ? "" : "s", r->rejected, r->samples);
	buf_put_bytes(&r->msg, tail, strlen(tail));
}

/*
 * Open and replay.
 */

static int
ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n > k && memcmp(s + n - k, suffix, k) == 0;
}

/* Interrupted block writes and deletions, as Prometheus removes them at open. */
static int
clean_leftovers(const char *dir, struct err *e)
{
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if ((d = opendir(dir)) == NULL)
		return err_errno(e, "open %s", dir);
	while (rc == 0 && (de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		char path[PATH_MAX];

		if (!ends_with(de->d_name, n, ".tmp-for-creation") &&
		    !ends_with(de->d_name, n, ".tmp-for-deletion"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		log_info("removing a leftover block directory", "dir=%s", log_q(path));
		rc = rm_rf(path, e);
	}
	closedir(d);
	return rc;
}

static int
add_block(struct tenant *t, const char *dir, struct err *e)
{
	const struct block_meta *m;
	struct local_block *lb;
	struct block *b;
	size_t at;

	if ((b = block_open(dir, e)) == NULL)
		return err_wrap(e, "open block %s", dir);
	m = block_get_meta(b);
	for (at = t->nblocks; at > 0 && t->blocks[at - 1].min_time > m->min_time; at--)
		;
	t->blocks = xreallocarray(t->blocks, t->nblocks + 1, sizeof(*t->blocks));
	memmove(t->blocks + at + 1, t->blocks + at, (t->nblocks - at) * sizeof(*t->blocks));
	lb = &t->blocks[at];
	lb->b = b;
	lb->dir = xstrdup(dir);
	memcpy(lb->ulid, m->ulid, sizeof(lb->ulid));
	lb->min_time = m->min_time;
	lb->max_time = m->max_time;
	t->nblocks++;
	return 0;
}

static int
open_blocks(struct tenant *t, struct err *e)
{
	char **dirs;
	size_t n;
	int rc = 0;

	if (block_find(t->dir, &dirs, &n, e) == -1)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = add_block(t, dirs[i], e);
	block_dirs_free(dirs, n);
	return rc;
}

/*
 * Prometheus' loadWAL: the checkpoint, then the segments after it. Damage
 * in a segment cuts the WAL there (what came before it stays loaded);
 * damage in the checkpoint is refused, never repaired (2.42 would delete
 * the whole WAL).
 */
static int
replay(struct tenant *t, volatile int *stop, struct err *e)
{
	struct walrec_dec dec = { 0 };
	struct wal_reader *rd;
	struct wal_corruption c;
	struct wal_repair rep;
	struct head_refs dropped = { 0 };
	struct head_stats hs;
	uint64_t nsamples = 0, nseries = 0, bad_series = 0;
	const uint8_t *rec;
	struct timespec a, b;
	size_t len;
	int seg = -2, rc = 0, first, last;

	clock_gettime(CLOCK_MONOTONIC, &a);
	if (wal_segments(t->waldir, &first, &last, e) == -1 ||
	    checkpoint_replay_open(&rd, t->waldir, e) == -1)
		return err_wrap(e, "replay WAL of %s", t->id);
	log_info("replaying WAL", "user=%s first_segment=%d last_segment=%d",
	    log_q(t->id), first, last);
	while ((rc = wal_reader_next(rd, &rec, &len, e)) == 1) {
		int s;

		if (stop != NULL && *stop) {
			rc = err_set(e, "interrupted");
			break;
		}
		wal_reader_pos(rd, &s, NULL, NULL);
		if (s != seg) {
			if (seg != -2)
				log_info("WAL segment loaded", "user=%s segment=%d maxSegment=%d",
				    log_q(t->id), seg, last);
			seg = s;
		}
		if (walrec_decode(&dec, rec, len, e) == -1) {
			wal_reader_bad_record(rd, e->msg, &c);
			rc = -2;
			break;
		}
		if (dec.type == WALREC_SERIES) {
			for (size_t i = 0; i < dec.nseries; i++) {
				struct err se;

				if (head_replay_series(t->head, dec.series[i].ref,
				    &dec.series[i].lset, &se) == -1) {
					if (bad_series++ == 0)
						log_warn("WAL series record skipped", "user=%s err=%s",
						    log_q(t->id), log_q(se.msg));
				} else
					nseries++;
			}
		} else if (dec.type == WALREC_SAMPLES) {
			for (size_t i = 0; i < dec.nsamples; i++)
				nsamples += (uint64_t)head_replay_sample(t->head, dec.samples[i].ref,
				    dec.samples[i].t, dec.samples[i].v);
		}
	}
	if (rc == -1 && wal_reader_corruption(rd, &c))
		rc = -2;
	if (rc == -2) {
		metric_inc(t->m->wal_corruptions);
		log_warn("WAL damaged, cutting it there", "user=%s dir=%s segment=%d offset=%" PRIu64
		    " why=%s", log_q(t->id), log_q(c.dir), c.segment, c.offset, log_q(c.why));
		if (c.checkpoint) {
			rc = err_set(e, "checkpoint %s is damaged at %" PRIu64 ": %s", c.dir,
			    c.offset, c.why);
		} else if (wal_repair(t->wal, &c, &rep, e) == -1) {
			rc = err_wrap(e, "repair WAL");
		} else {
			log_info("WAL repaired", "user=%s segment=%d bytes_dropped=%" PRIu64
			    " segments_deleted=%d", log_q(t->id), c.segment, rep.bytes_dropped,
			    rep.segments_deleted);
			rc = 0;
		}
	}
	wal_reader_free(rd);
	walrec_dec_free(&dec);
	if (rc != 0)
		return -1;
	if (seg != -2)
		log_info("WAL segment loaded", "user=%s segment=%d maxSegment=%d",
		    log_q(t->id), seg, last);
	head_replay_end(t->head, &dropped);
	note_dropped(t, &dropped);
	head_refs_free(&dropped);
	metric_add(t->m->replay_samples, (double)nsamples);
	clock_gettime(CLOCK_MONOTONIC, &b);
	head_stats(t->head, &hs);
	if (hs.replay_unknown_refs > 0)
		log_warn("Unknown series references", "user=%s samples=%" PRIu64, log_q(t->id),
		    hs.replay_unknown_refs);
	log_info("WAL replay completed", "user=%s series=%" PRIu64 " samples=%" PRIu64
	    " duration=%.3fs", log_q(t->id), nseries, nsamples,
	    (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
	return 0;
}

struct tenant *
tenant_open(const char *tsdb_dir, const char *id, const struct tenant_opts *o,
    struct tenant_metrics *m, volatile int *stop, struct err *e)
{
	struct tenant *t = xcalloc(1, sizeof(*t));
	struct head_opts ho;
	struct wal_repair rep;
	int64_t min_valid = INT64_MIN;

	t->id = xstrdup(id);
	xasprintf(&t->dir, "%s/%s", tsdb_dir, id);
	xasprintf(&t->waldir, "%s/wal", t->dir);
	t->opts = *o;
	t->m = m;
	t->created = metric_with(m->series_created, id);
	t->removed = metric_with(m->series_removed, id);
	if (mkdir_p(t->waldir, 0777, e) == -1 || clean_leftovers(t->dir, e) == -1 ||
	    open_blocks(t, e) == -1)
		goto fail;
	for (size_t i = 0; i < t->nblocks; i++)
		if (t->blocks[i].max_time > min_valid)
			min_valid = t->blocks[i].max_time;
	memset(&ho, 0, sizeof(ho));
	ho.chunk_range = o->block_range;
	ho.max_series = o->max_series;
	ho.max_series_per_metric = o->max_series_per_metric;
	t->head = head_create(&ho);
	head_set_min_valid_time(t->head, min_valid);
	if (wal_open(&t->wal, t->waldir, &o->wal, &rep, e) == -1) {
		t->wal = NULL;
		err_wrap(e, "open WAL %s", t->waldir);
		goto fail;
	}
	if (rep.repaired) {
		metric_inc(m->wal_corruptions);
		log_warn("WAL tail repaired", "user=%s segment=%d offset=%" PRIu64 " why=%s"
		    " bytes_dropped=%" PRIu64, log_q(id), rep.c.segment, rep.c.offset,
		    log_q(rep.c.why), rep.bytes_dropped);
	}
	if (replay(t, stop, e) == -1)
		goto fail;
	return t;
fail:
	tenant_close(t, NULL);
	return NULL;
}

int
tenant_close(struct tenant *t, struct err *e)
{
	int rc = 0;

	if (t == NULL)
		return 0;
	if (t->wal != NULL && !t->wal_broken)
		rc = wal_close(t->wal, e);
	else if (t->wal != NULL) {
		struct err ignored;

		wal_close(t->wal, &ignored);
	}
	for (size_t i = 0; i < t->nblocks; i++) {
		block_close(t->blocks[i].b);
		free(t->blocks[i].dir);
	}
	free(t->blocks);
	if (t->head != NULL)
		head_free(t->head);
	free(t->del);
	buf_free(&t->pending);
	free(t->pending_len);
	free(t->ws);
	free(t->smp);
	buf_free(&t->rec_series);
	buf_free(&t->rec_samples);
	buf_free(&t->msg);
	free(t->id);
	free(t->dir);
	free(t->waldir);
	free(t);
	return rc;
}

/*
 * Head compaction.
 */

/* Prometheus' rangeForTimestamp: the end of t's range of width w (Go's division). */
static int64_t
range_end(int64_t t, int64_t w)
{
	return (t / w) * w + w;
}

/* Write [mint, maxt) as a block (when it holds samples), then truncate the head to maxt. */
static int
cut_range(struct tenant *t, int64_t mint, int64_t maxt, int *cut, struct err *e)
{
	struct head_refs dropped = { 0 };
	struct block_meta meta;
	char dir[PATH_MAX];
	int written = 0, rc = 0;

	memset(&meta, 0, sizeof(meta));
	if (head_write_block(t->head, mint, maxt, t->dir, &meta, &written, e) == -1)
		return err_wrap(e, "write block [%" PRId64 ", %" PRId64 ")", mint, maxt);
	if (written) {
		log_info("block written", "user=%s ulid=%s mint=%" PRId64 " maxt=%" PRId64
		    " series=%" PRIu64 " samples=%" PRIu64, log_q(t->id), meta.ulid, mint, maxt,
		    meta.num_series, meta.num_samples);
		snprintf(dir, sizeof(dir), "%s/%s", t->dir, meta.ulid);
		meta_free(&meta);
		rc = add_block(t, dir, e);
		(*cut)++;
	}
	head_truncate(t->head, maxt, &dropped);
	note_dropped(t, &dropped);
	head_refs_free(&dropped);
	return rc;
}

/* Prometheus' truncateWAL: checkpoint the older segments, keeping what the head still needs. */
static int
truncate_wal(struct tenant *t, int64_t mint, struct err *e)
{
	struct checkpoint_stats st;
	int first, last, idx;

	if (wal_segments(t->waldir, &first, &last, e) == -1)
		return -1;
	metric_inc(t->m->wal_truncations);
	if (checkpoint_truncate_wal(t->wal, keep_ref, t, mint, &idx, &st, e) == -1) {
		metric_inc(t->m->wal_truncations_failed);
		metric_inc(t->m->checkpoint_creations_failed);
		/* The WAL may be half way to a new segment: reopen it at the next push. */
		t->wal_broken = 1;
		return err_wrap(e, "truncate WAL");
	}
	if (idx < 0)
		return 0;
	metric_inc(t->m->checkpoint_creations);
	metric_inc(t->m->checkpoint_deletions);
	del_prune(t, first);
	log_info("WAL checkpoint complete", "user=%s first=%d last=%d mint=%" PRId64
	    " series_kept=%zu samples_kept=%zu", log_q(t->id), first, idx, mint,
	    st.total_series - st.dropped_series, st.total_samples - st.dropped_samples);
	return 0;
}

int
tenant_compact(struct tenant *t, int force, int *cutp, struct err *e)
{
	struct timespec a, b;
	int64_t mint, maxt, truncated = INT64_MIN;
	int cut = 0, rc = 0;

	if (cutp != NULL)
		*cutp = 0;
	if (t->wal_broken && wal_recover(t, e) == -1)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (;;) {
		if (force) {
			/* Cortex's compactHead: the whole head, split at range boundaries. */
			struct head_stats hs;

			/* After a truncation the head's min time is where it was cut. */
			head_stats(t->head, &hs);
			mint = hs.min_time;
			if (hs.num_series == 0 || mint == INT64_MAX || mint > hs.max_time)
				break;
			maxt = range_end(mint, t->opts.block_range);
			if (maxt > head_max_time(t->head))
				maxt = head_max_time(t->head) + 1;
		} else if (!head_compactable(t->head, &mint, &maxt))
			break;
		if ((rc = cut_range(t, mint, maxt, &cut, e)) == -1)
			break;
		truncated = maxt;
	}
	if (rc == 0 && truncated != INT64_MIN)
		rc = truncate_wal(t, truncated, e);
	if (truncated != INT64_MIN) {
		clock_gettime(CLOCK_MONOTONIC, &b);
		metric_inc(t->m->compactions);
		metric_observe(t->m->compaction_duration, (double)(b.tv_sec - a.tv_sec) +
		    (double)(b.tv_nsec - a.tv_nsec) / 1e9);
	}
	if (rc == -1)
		metric_inc(t->m->compactions_failed);
	if (cutp != NULL)
		*cutp = cut;
	if (rc == 0)
		rc = retention(t, e);
	return rc;
}

/*
 * Retention: Prometheus' BeyondTimeRetention (relative to the newest
 * block's max time, not the clock), intersected with what the shipper
 * uploaded, as Cortex's ingester does: unshipped blocks are never deleted.
 */

static json_t *
shipped_load(const struct tenant *t)
{
	json_t *all = json_array(), *doc, *v, *up;
	char path[PATH_MAX];
	json_error_t je;

	/* block-ship's record, under Thanos' name; missing means nothing shipped yet. */
	snprintf(path, sizeof(path), "%s/%s", t->dir, TENANT_SHIPPER_FILE);
	if (!path_exists(path))
		return all;
	if ((doc = json_load_file(path, 0, &je)) == NULL) {
		log_warn("cannot read the shipper file", "file=%s err=%s", log_q(path),
		    log_q(je.text));
		return all;
	}
	v = json_object_get(doc, "version");
	up = json_object_get(doc, "uploaded");
	if (!json_is_integer(v) || json_integer_value(v) != 1)
		log_warn("shipper file of an unknown version ignored", "file=%s", log_q(path));
	else if (json_is_array(up))
		json_array_extend(all, up);
	json_decref(doc);
	return all;
}

static int
shipped_has(json_t *list, const char *ulid)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), ulid) == 0)
			return 1;
	return 0;
}

static int
retention(struct tenant *t, struct err *e)
{
	int64_t newest = INT64_MIN;
	json_t *shipped = NULL;
	size_t keep = 0;
	int rc = 0;

	if (t->nblocks == 0 || t->opts.retention <= 0)
		return 0;
	for (size_t i = 0; i < t->nblocks; i++)
		if (t->blocks[i].max_time > newest)
			newest = t->blocks[i].max_time;
	for (size_t i = 0; i < t->nblocks; i++) {
		struct local_block *lb = &t->blocks[i];
		char tmp[PATH_MAX];

		if (rc == -1 || newest - lb->max_time <= t->opts.retention) {
			t->blocks[keep++] = *lb;
			continue;
		}
		if (shipped == NULL)
			shipped = shipped_load(t);
		if (!shipped_has(shipped, lb->ulid)) {
			t->blocks[keep++] = *lb;
			continue;
		}
		/* Renamed first, so no reader of the directory sees a block half gone. */
		block_close(lb->b);
		snprintf(tmp, sizeof(tmp), "%s.tmp-for-deletion", lb->dir);
		if (rename(lb->dir, tmp) == -1)
			rc = err_errno(e, "rename %s", lb->dir);
		else
			rc = rm_rf(tmp, e);
		log_info("block deleted: beyond the retention and shipped", "user=%s ulid=%s "
		    "maxt=%" PRId64, log_q(t->id), lb->ulid, lb->max_time);
		metric_inc(t->m->blocks_deleted);
		free(lb->dir);
	}
	t->nblocks = keep;
	if (shipped != NULL)
		json_decref(shipped);
	return rc;
}

/*
 * Queries: a merge join by label set of the head's series set and the
 * blocks' series set, each already in label order.
 */

struct tenant_query {
	struct tenant		*t;
	struct head_series_set	*hs;
	struct series_set	*bs;
	int64_t			 mint;
	int64_t			 maxt;
	int			 started;
	int			 h_has;		/* hl is the head's next unconsumed series */
	int			 b_has;
	const struct labels	*hl;
	const struct labels	*bl;
	int			 cur_h;		/* the current series has a head part */
	int			 cur_b;
	int			 h_pend;	/* a sample read ahead */
	int			 b_pend;
	int			 h_done;
	int			 b_done;
	int64_t			 ht;
	int64_t			 bt;
	uint64_t		 hv;
	uint64_t		 bv;
	struct chunk_cutter	 cutter;
	struct chunk		*chunks;
	size_t			 chunks_cap;
};

struct tenant_query *
tenant_query_open(struct tenant *t, const struct matcher *ms, size_t nm, int64_t mint,
    int64_t maxt, struct err *e)
{
	struct tenant_query *q = xcalloc(1, sizeof(*q));
	int64_t hmin = head_min_time(t->head);

	q->t = t;
	q->mint = mint;
	q->maxt = maxt;
	chunk_cutter_init(&q->cutter, t->opts.block_range);
	/* The head answers from its min time on; older samples are the blocks'. */
	if (hmin != INT64_MAX && hmin <= maxt)
		q->hs = head_select(t->head, ms, nm, hmin > mint ? hmin : mint, maxt);
	if (t->nblocks > 0) {
		struct block **bv = xcalloc(t->nblocks, sizeof(*bv));
		size_t n = 0;

		for (size_t i = 0; i < t->nblocks; i++)
			if (t->blocks[i].min_time <= maxt && t->blocks[i].max_time > mint)
				bv[n++] = t->blocks[i].b;
		if (n > 0 && (q->bs = series_set_open(bv, n, ms, nm, mint, maxt, e)) == NULL) {
			free(bv);
			tenant_query_close(q);
			return NULL;
		}
		free(bv);
	}
	return q;
}

int
tenant_query_next(struct tenant_query *q, const struct labels **ls, struct err *e)
{
	int c;

	/* Advance the sources the previous series consumed. */
	if (!q->started || q->cur_h)
		q->h_has = q->hs != NULL && head_series_set_next(q->hs, &q->hl) == 1;
	if (!q->started || q->cur_b) {
		int r = q->bs != NULL ? series_set_next(q->bs, &q->bl, e) : 0;

		if (r == -1)
			return -1;
		q->b_has = r == 1;
	}
	q->started = 1;
	q->cur_h = q->cur_b = 0;
	q->h_pend = q->b_pend = q->h_done = q->b_done = 0;
	if (!q->h_has && !q->b_has)
		return 0;
	if (q->h_has && q->b_has)
		c = labels_cmp(q->hl, q->bl);
	else
		c = q->h_has ? -1 : 1;
	q->cur_h = c <= 0;
	q->cur_b = c >= 0;
	*ls = q->cur_h ? q->hl : q->bl;
	return 1;
}

int
tenant_query_sample(struct tenant_query *q, int64_t *t, uint64_t *v, struct err *e)
{
	if (q->cur_h && !q->h_pend && !q->h_done) {
		if (head_series_set_sample(q->hs, &q->ht, &q->hv) == 1)
			q->h_pend = 1;
		else
			q->h_done = 1;
	}
	if (q->cur_b && !q->b_pend && !q->b_done) {
		int r = series_set_sample(q->bs, &q->bt, &q->bv, e);

		if (r == -1)
			return -1;
		if (r == 1)
			q->b_pend = 1;
		else
			q->b_done = 1;
	}
	if (q->h_pend && (!q->b_pend || q->ht <= q->bt)) {
		*t = q->ht;
		*v = q->hv;
		q->h_pend = 0;
		/* The same timestamp in a block and in the head: once. */
		if (q->b_pend && q->bt == q->ht)
			q->b_pend = 0;
		return 1;
	}
	if (q->b_pend) {
		*t = q->bt;
		*v = q->bv;
		q->b_pend = 0;
		return 1;
	}
	return 0;
}

static int
cmp_chunk_mint(const void *a, const void *b)
{
	const struct chunk *x = a, *y = b;

	return x->mint < y->mint ? -1 : x->mint > y->mint;
}

int
tenant_query_chunks(struct tenant_query *q, const struct chunk **out, size_t *n,
    struct err *e)
{
	const struct chunk *hc = NULL, *bc = NULL;
	size_t nh = 0, nb = 0;

	if (q->cur_b) {
		int64_t t;
		uint64_t v;
		int r;

		chunk_cutter_reset(&q->cutter);
		while ((r = series_set_sample(q->bs, &t, &v, e)) == 1)
			chunk_cutter_append(&q->cutter, t, v);
		if (r == -1)
			return -1;
		q->b_done = 1;
		bc = chunk_cutter_chunks(&q->cutter, &nb);
	}
	if (q->cur_h) {
		hc = head_series_set_chunks(q->hs, &nh);
		q->h_done = 1;
	}
	if (nh + nb > q->chunks_cap) {
		q->chunks_cap = nh + nb;
		q->chunks = xreallocarray(q->chunks, q->chunks_cap, sizeof(*q->chunks));
	}
	if (nb > 0)
		memcpy(q->chunks, bc, nb * sizeof(*bc));
	if (nh > 0)
		memcpy(q->chunks + nb, hc, nh * sizeof(*hc));
	for (size_t i = 0; i < nh + nb; i++)
		q->chunks[i].enc = CHUNK_ENC_XOR;
	if (nb > 0 && nh > 0)
		qsort(q->chunks, nh + nb, sizeof(*q->chunks), cmp_chunk_mint);
	*out = q->chunks;
	*n = nh + nb;
	return 0;
}

void
tenant_query_close(struct tenant_query *q)
{
	if (q == NULL)
		return;
	head_series_set_close(q->hs);
	series_set_close(q->bs);
	chunk_cutter_free(&q->cutter);
	free(q->chunks);
	free(q);
}
