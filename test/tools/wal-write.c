/*
 * wal-write — write and read a TSDB directory's WAL the way tsdb-head does,
 * for the interop tests against Prometheus and promtool.
 *
 *   wal-write [-compress] [-segment-size N] [-batch N] [-cut N] [-checkpoint] [-crash] DIR < DUMP
 *   wal-write -dump DIR
 *   wal-write -repair DIR
 *
 * Writing reads `promtool tsdb dump` lines (`{a="b", ...} VALUE TIMESTAMP_MS`)
 * and commits them in batches of -batch samples, as a head commits a push:
 * a series record for the series the batch creates (refs 1, 2, 3, ... by
 * first appearance), a samples record, then one flush. -cut starts a new
 * segment every N commits (as head truncations do). -checkpoint ends
 * with a head truncation (checkpoint of the older segments, keeping every
 * series and sample); -crash skips the clean close (no padding, as after
 * kill -9).
 *
 * -dump replays DIR/wal (newest checkpoint, then the segments after it) and
 * prints its samples as `promtool tsdb dump` prints a head: series sorted
 * by labels, samples in time order, a sample not newer than its series'
 * last one dropped as the head drops it. Exit 1 if the WAL is damaged
 * (what came before the damage is still printed).
 *
 * -repair opens the WAL for writing, which cuts a damaged tail, and says
 * what was dropped.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base/err.h"
#include "lib/base/flags.h"
#include "lib/base/log.h"
#include "lib/base/xmalloc.h"
#include "lib/tsdb/checkpoint.h"
#include "lib/tsdb/encoding.h"
#include "lib/tsdb/gofmt.h"
#include "lib/tsdb/labels.h"
#include "lib/tsdb/textparse.h"
#include "lib/tsdb/wal.h"
#include "lib/tsdb/walrec.h"

#define USAGE	"wal-write [-compress] [-segment-size N] [-batch N] [-cut N] [-checkpoint] [-crash] DIR < DUMP\n" \
		"       wal-write -dump DIR\n" \
		"       wal-write -repair DIR"

struct point {
	int64_t		t;
	uint64_t	v;
};

struct series {
	struct labels	 ls;		/* owned copy */
	uint64_t	 ref;
	struct point	*pts;
	size_t		 npts, cap;
};

/* Series by label set, and refs to series: open addressing, index + 1 in slots. */
struct table {
	struct series	*v;
	size_t		 n, vcap;
	uint32_t	*slots;
	size_t		 scap;
	uint64_t	*rkeys;
	uint32_t	*rvals;
	size_t		 rcap, rn;
};

static uint64_t
mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static void
table_rehash(struct table *t)
{
	size_t cap = t->scap ? t->scap * 2 : 1024;

	free(t->slots);
	t->slots = xcalloc(cap, sizeof(*t->slots));
	t->scap = cap;
	for (size_t i = 0; i < t->n; i++) {
		size_t k = labels_hash(&t->v[i].ls) & (cap - 1);

		while (t->slots[k] != 0)
			k = (k + 1) & (cap - 1);
		t->slots[k] = (uint32_t)i + 1;
	}
}

/* The series of ls, created when new (*fresh = 1). */
static struct series *
table_get(struct table *t, const struct labels *ls, int *fresh)
{
	size_t k;

	if (2 * (t->n + 1) > t->scap)
		table_rehash(t);
	k = labels_hash(ls) & (t->scap - 1);
	for (; t->slots[k] != 0; k = (k + 1) & (t->scap - 1)) {
		struct series *s = &t->v[t->slots[k] - 1];

		if (labels_cmp(&s->ls, ls) == 0) {
			*fresh = 0;
			return s;
		}
	}
	if (t->n == t->vcap) {
		t->vcap = t->vcap ? t->vcap * 2 : 1024;
		t->v = xreallocarray(t->v, t->vcap, sizeof(*t->v));
	}
	memset(&t->v[t->n], 0, sizeof(t->v[0]));
	t->v[t->n].ls = labels_copy(ls);
	t->v[t->n].ref = t->n + 1;
	t->slots[k] = (uint32_t)++t->n;
	*fresh = 1;
	return &t->v[t->n - 1];
}

static void
ref_put(struct table *t, uint64_t ref, uint32_t idx)
{
	size_t k;

	if (2 * (t->rn + 1) > t->rcap) {
		struct table g = { 0 };

		g.rcap = t->rcap ? t->rcap * 2 : 1024;
		g.rkeys = xcalloc(g.rcap, sizeof(*g.rkeys));
		g.rvals = xcalloc(g.rcap, sizeof(*g.rvals));
		for (size_t i = 0; i < t->rcap; i++)
			if (t->rvals[i] != 0) {
				k = mix(t->rkeys[i]) & (g.rcap - 1);
				while (g.rvals[k] != 0)
					k = (k + 1) & (g.rcap - 1);
				g.rkeys[k] = t->rkeys[i];
				g.rvals[k] = t->rvals[i];
			}
		free(t->rkeys);
		free(t->rvals);
		t->rkeys = g.rkeys;
		t->rvals = g.rvals;
		t->rcap = g.rcap;
	}
	k = mix(ref) & (t->rcap - 1);
	while (t->rvals[k] != 0 && t->rkeys[k] != ref)
		k = (k + 1) & (t->rcap - 1);
	if (t->rvals[k] == 0)
		t->rn++;
	t->rkeys[k] = ref;
	t->rvals[k] = idx + 1;
}

static struct series *
ref_get(struct table *t, uint64_t ref)
{
	size_t k;

	if (t->rcap == 0)
		return NULL;
	for (k = mix(ref) & (t->rcap - 1); t->rvals[k] != 0; k = (k + 1) & (t->rcap - 1))
		if (t->rkeys[k] == ref)
			return &t->v[t->rvals[k] - 1];
	return NULL;
}

static void
table_free(struct table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		labels_free_copy(&t->v[i].ls);
		free(t->v[i].pts);
	}
	free(t->v);
	free(t->slots);
	free(t->rkeys);
	free(t->rvals);
}

struct writer {
	struct wal		*w;
	int64_t			 cut;
	int64_t			 commits;
	struct walrec_series	*ns;		/* series the batch creates */
	size_t			 nns, nscap;
	struct walrec_sample	*smp;
	size_t			 nsmp, smpcap;
	struct buf		 rec;
};

static void
commit(struct writer *wr)
{
	struct err e;
	struct iovec v;

	if (wr->nns > 0) {
		wr->rec.len = 0;
		walrec_put_series(&wr->rec, wr->ns, wr->nns);
		v = (struct iovec){ wr->rec.p, wr->rec.len };
		if (wal_log(wr->w, &v, 1, &e) == -1)
			fatalx("log series: %s", e.msg);
	}
	if (wr->nsmp > 0) {
		wr->rec.len = 0;
		walrec_put_samples(&wr->rec, wr->smp, wr->nsmp);
		v = (struct iovec){ wr->rec.p, wr->rec.len };
		if (wal_log(wr->w, &v, 1, &e) == -1)
			fatalx("log samples: %s", e.msg);
	}
	if (wal_flush(wr->w, &e) == -1)
		fatalx("flush: %s", e.msg);
	wr->nns = wr->nsmp = 0;
	if (wr->cut > 0 && ++wr->commits % wr->cut == 0 && wal_next_segment(wr->w, NULL, &e) == -1)
		fatalx("next segment: %s", e.msg);
}

static int
keep_all(uint64_t ref, void *arg)
{
	(void)ref;
	(void)arg;
	return 1;
}

static void
report_repair(const char *waldir, const struct wal_repair *rep)
{
	if (!rep->repaired) {
		log_info("wal clean", "dir=%s", log_q(waldir));
		return;
	}
	log_warn("wal repaired", "segment=%d offset=%" PRIu64 " kept=%" PRIu64
	    " dropped_bytes=%" PRIu64 " deleted_segments=%d torn=%d why=%s",
	    rep->c.segment, rep->c.offset, rep->c.good_end, rep->bytes_dropped,
	    rep->segments_deleted, rep->c.torn, log_q(rep->c.why));
}

static int
do_write(const char *waldir, const struct wal_opts *o, int64_t batch, int64_t cut,
    int checkpoint, int crash)
{
	struct writer wr = { 0 };
	struct table t = { 0 };
	struct text_parser tp;
	struct wal_repair rep;
	struct err e;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int started = 0;
	uint64_t total = 0;

	wr.cut = cut;
	if (wal_open(&wr.w, waldir, o, &rep, &e) == -1)
		fatalx("open: %s", e.msg);
	report_repair(waldir, &rep);
	while ((n = getline(&line, &cap, stdin)) != -1) {
		struct text_sample s;
		struct series *se;
		int fresh, rc;

		if (n > 0 && line[n - 1] == '\n')
			n--;
		if (!started) {
			text_parser_init(&tp, "stdin", text_detect(line, (size_t)n));
			started = 1;
		}
		if ((rc = text_parser_line(&tp, line, (size_t)n, &s, &e)) == -1)
			fatalx("%s", e.msg);
		if (rc == 0)
			continue;
		se = table_get(&t, &s.labels, &fresh);
		if (fresh) {
			if (wr.nns == wr.nscap) {
				wr.nscap = wr.nscap ? wr.nscap * 2 : 256;
				wr.ns = xreallocarray(wr.ns, wr.nscap, sizeof(*wr.ns));
			}
			/* t.v may move when it grows: refs are stable, labels copied */
			wr.ns[wr.nns].ref = se->ref;
			wr.ns[wr.nns].lset = se->ls;
			wr.nns++;
		}
		if (wr.nsmp == wr.smpcap) {
			wr.smpcap = wr.smpcap ? wr.smpcap * 2 : 256;
			wr.smp = xreallocarray(wr.smp, wr.smpcap, sizeof(*wr.smp));
		}
		wr.smp[wr.nsmp++] = (struct walrec_sample){ se->ref, s.t, s.v };
		total++;
		if ((int64_t)wr.nsmp >= batch)
			commit(&wr);
	}
	if (started && text_parser_finish(&tp, &e) == -1)
		fatalx("%s", e.msg);
	commit(&wr);
	if (checkpoint) {
		struct checkpoint_stats st;
		int idx;

		if (checkpoint_truncate_wal(wr.w, keep_all, NULL, INT64_MIN, &idx, &st, &e) == -1)
			fatalx("checkpoint: %s", e.msg);
		log_info("checkpoint", "index=%d series=%zu samples=%zu", idx,
		    st.total_series, st.total_samples);
	}
	log_info("wal written", "series=%zu samples=%" PRIu64 " segment=%d",
	    t.n, total, wal_active_segment(wr.w));
	if (crash)
		_exit(0);	/* the kernel has every flushed byte; no padding */
	if (wal_close(wr.w, &e) == -1)
		fatalx("close: %s", e.msg);
	if (started)
		text_parser_free(&tp);
	table_free(&t);
	free(wr.ns);
	free(wr.smp);
	buf_free(&wr.rec);
	free(line);
	return 0;
}

static int
series_order(const void *a, const void *b)
{
	const struct series *x = *(struct series *const *)a, *y = *(struct series *const *)b;

	return labels_cmp(&x->ls, &y->ls);
}

static void
print_series(const struct series *s, struct buf *out)
{
	char num[GOFMT_FLOAT_MAX];

	for (size_t i = 0; i < s->npts; i++) {
		out->len = 0;
		gofmt_labels(out, &s->ls);
		buf_put_u8(out, ' ');
		buf_put_bytes(out, num, gofmt_float(num, s->pts[i].v));
		buf_put_bytes(out, num, (size_t)snprintf(num, sizeof(num), " %" PRId64 "\n",
		    s->pts[i].t));
		fwrite(out->p, 1, out->len, stdout);
	}
}

static int
do_dump(const char *waldir)
{
	struct table t = { 0 };
	struct walrec_dec d = { 0 };
	struct wal_reader *r;
	struct wal_corruption c;
	struct series **order;
	struct buf out = { 0 };
	struct err e;
	const uint8_t *rec;
	size_t len;
	uint64_t nrec = 0, unknown = 0, dropped = 0, other = 0;
	int rc, damaged = 0, bad = 0;

	if (checkpoint_replay_open(&r, waldir, &e) == -1)
		fatalx("%s", e.msg);
	while ((rc = wal_reader_next(r, &rec, &len, &e)) == 1) {
		nrec++;
		if (walrec_decode(&d, rec, len, &e) == -1) {
			wal_reader_bad_record(r, e.msg, &c);
			bad = 1;
			rc = -1;
			break;
		}
		if (d.type == WALREC_SERIES) {
			for (size_t i = 0; i < d.nseries; i++) {
				int fresh;
				struct series *s = table_get(&t, &d.series[i].lset, &fresh);

				ref_put(&t, d.series[i].ref, (uint32_t)(s - t.v));
			}
		} else if (d.type == WALREC_SAMPLES) {
			for (size_t i = 0; i < d.nsamples; i++) {
				struct series *s = ref_get(&t, d.samples[i].ref);

				if (s == NULL) {
					unknown++;
					continue;
				}
				if (s->npts > 0 && d.samples[i].t <= s->pts[s->npts - 1].t) {
					dropped++;
					continue;
				}
				if (s->npts == s->cap) {
					s->cap = s->cap ? s->cap * 2 : 16;
					s->pts = xreallocarray(s->pts, s->cap, sizeof(*s->pts));
				}
				s->pts[s->npts++] = (struct point){ d.samples[i].t, d.samples[i].v };
			}
		} else
			other++;
	}
	if (rc == -1) {
		damaged = 1;
		if (!bad && !wal_reader_corruption(r, &c))
			fatalx("%s", e.msg);
		log_error("wal damaged", "segment=%d offset=%" PRIu64 " torn=%d why=%s",
		    c.segment, c.offset, c.torn, log_q(c.why));
	}
	wal_reader_free(r);
	order = xcalloc(t.n ? t.n : 1, sizeof(*order));
	for (size_t i = 0; i < t.n; i++)
		order[i] = &t.v[i];
	qsort(order, t.n, sizeof(*order), series_order);
	for (size_t i = 0; i < t.n; i++)
		print_series(order[i], &out);
	if (fflush(stdout) == EOF || ferror(stdout))
		fatal("write stdout");
	log_info("wal read", "records=%" PRIu64 " series=%zu unknown_refs=%" PRIu64
	    " out_of_order=%" PRIu64 " other_records=%" PRIu64, nrec, t.n, unknown,
	    dropped, other);
	free(order);
	buf_free(&out);
	walrec_dec_free(&d);
	table_free(&t);
	return damaged;
}

int
main(int argc, char **argv)
{
	int64_t segsize = 0, batch = 100, cut = 0;
	int compress = 0, checkpoint = 0, crash = 0, dump = 0, repair = 0;
	const struct flag flags[] = {
		{ "compress", FLAG_BOOL, &compress, "false", "snappy-compress records (Prometheus' default)" },
		{ "segment-size", FLAG_INT, &segsize, "0", "segment size in bytes, a multiple of 32768 (0: 128 MiB)" },
		{ "batch", FLAG_INT, &batch, "100", "samples per commit" },
		{ "cut", FLAG_INT, &cut, "0", "start a new segment every N commits (0: only when full)" },
		{ "checkpoint", FLAG_BOOL, &checkpoint, "false", "end with a head truncation: checkpoint the older segments" },
		{ "crash", FLAG_BOOL, &crash, "false", "exit without the clean close" },
		{ "dump", FLAG_BOOL, &dump, "false", "replay DIR/wal and print its samples as promtool tsdb dump does" },
		{ "repair", FLAG_BOOL, &repair, "false", "open DIR/wal, cutting a damaged tail" },
		{ NULL, 0, NULL, NULL, NULL },
	};
	struct wal_opts o;
	char *waldir;
	int nargs, rc;

	log_init("wal-write", LOG_INFO);
	nargs = flags_parse(flags, USAGE, argc, argv);
	if (nargs != 1 || batch < 1 || segsize < 0 || cut < 0) {
		flags_usage(stderr, USAGE, flags);
		return 100;
	}
	xasprintf(&waldir, "%s/wal", argv[0]);
	o.segment_size = (uint64_t)segsize;
	o.compress = compress;
	if (dump)
		rc = do_dump(waldir);
	else if (repair) {
		struct wal_repair rep;
		struct wal *w;
		struct err e;

		if (wal_open(&w, waldir, &o, &rep, &e) == -1 || wal_close(w, &e) == -1)
			fatalx("%s", e.msg);
		report_repair(waldir, &rep);
		rc = 0;
	} else
		rc = do_write(waldir, &o, batch, cut, checkpoint, crash);
	free(waldir);
	return rc;
}
