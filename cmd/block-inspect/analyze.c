/*
 * analyze — the report of `promtool tsdb analyze`, number for number.
 *
 * promtool walks every series and counts label pairs in hash maps; the same
 * sums come out of the postings lists: a pair's count is the length of its
 * list, and its churn the sum of the uncovered time of the series in it.
 * Ties are printed in key order (promtool's order of ties is random).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/duration.h"
#include "lib/base/err.h"
#include "lib/base/log.h"
#include "lib/base/xmalloc.h"
#include "lib/tsdb/block.h"
#include "lib/tsdb/xor.h"
#include "cmd/block-inspect/inspect.h"

struct info {
	char		*key;
	uint64_t	 metric;
};

struct infos {
	struct info	*v;
	size_t		 n;
	size_t		 cap;
};

struct analysis {
	struct block		*b;
	int64_t			 dur;
	struct postings		 all;		/* every series ID, ascending */
	uint64_t		*uncovered;	/* per entry of all */
	uint64_t		 entries;
	struct infos		 pair_churn;
	struct infos		 name_churn;
	struct infos		 pair_count;
	struct infos		 name_length;
	struct infos		 name_card;
	struct infos		 metric_card;
};

static void
infos_add(struct infos *l, const char *name, size_t nlen, const char *value,
    size_t vlen, int with_value, uint64_t metric)
{
	struct info *in;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = xreallocarray(l->v, l->cap, sizeof(l->v[0]));
	}
	in = &l->v[l->n++];
	in->metric = metric;
	in->key = xmalloc(nlen + vlen + 2);
	memcpy(in->key, name, nlen);
	if (with_value) {
		in->key[nlen] = '=';
		memcpy(in->key + nlen + 1, value, vlen);
		in->key[nlen + 1 + vlen] = '\0';
	} else
		in->key[nlen] = '\0';
}

static void
infos_free(struct infos *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].key);
	free(l->v);
}

static int
info_cmp(const void *a, const void *b)
{
	const struct info *x = a, *y = b;

	if (x->metric != y->metric)
		return x->metric > y->metric ? -1 : 1;
	return strcmp(x->key, y->key);
}

static void
infos_print(const char *title, struct infos *l, int64_t limit)
{
	printf("\n%s:\n", title);
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(l->v[0]), info_cmp);
	for (size_t i = 0; i < l->n && (int64_t)i < limit; i++)
		printf("%" PRIu64 " %s\n", l->v[i].metric, l->v[i].key);
}

/* Go's uint64(float64(m) / float64(dur)). */
static uint64_t
churn(uint64_t m, int64_t dur)
{
	double q;

	if (dur <= 0)
		return 0;
	q = (double)m / (double)dur;
	return q >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)q;
}

static size_t
find_id(const struct postings *p, uint32_t id)
{
	size_t lo = 0, hi = p->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < p->n && p->ids[lo] == id ? lo : SIZE_MAX;
}

/* Per series: block duration minus the span of its chunks, in uint64 as promtool. */
static int
series_uncovered(struct analysis *a, struct err *e)
{
	struct index_reader *ir = block_index(a->b);
	struct index_series s = { 0 };

	if (index_reader_all_postings(ir, &a->all, e) == -1)
		return -1;
	a->uncovered = xcalloc(a->all.n + 1, sizeof(a->uncovered[0]));
	for (size_t i = 0; i < a->all.n; i++) {
		uint64_t span = 0;

		if (index_reader_series(ir, a->all.ids[i], &s, e) == -1) {
			index_series_free(&s);
			return err_wrap(e, "series %u", a->all.ids[i]);
		}
		if (s.nchunks > 0)
			span = (uint64_t)s.chunks[s.nchunks - 1].maxt -
			    (uint64_t)s.chunks[0].mint;
		a->uncovered[i] = (uint64_t)a->dur - span;
	}
	index_series_free(&s);
	return 0;
}

static int
label_stats(struct analysis *a, struct err *e)
{
	struct index_reader *ir = block_index(a->b);
	const struct str *names, *vals;
	struct postings p = { 0 };
	size_t nnames, nvals;

	if (index_reader_label_names(ir, &names, &nnames) == -1)
		return err_set(e, "cannot read the label names");
	for (size_t i = 0; i < nnames; i++) {
		uint64_t name_unc = 0, cum = 0;
		int present = 0;

		if (index_reader_label_values(ir, names[i], &vals, &nvals) == -1) {
			postings_free(&p);
			return err_set(e, "cannot read the values of %.*s",
			    (int)names[i].len, names[i].p);
		}
		for (size_t j = 0; j < nvals; j++) {
			uint64_t unc = 0;

			cum += vals[j].len;
			p.n = 0;
			if (index_reader_postings(ir, names[i], vals[j], &p, e) == -1) {
				postings_free(&p);
				return -1;
			}
			for (size_t k = 0; k < p.n; k++) {
				size_t at = find_id(&a->all, p.ids[k]);

				if (at != SIZE_MAX)
					unc += a->uncovered[at];
			}
			if (str_eq(names[i], STR_LIT("__name__")))
				infos_add(&a->metric_card, vals[j].p, vals[j].len, NULL, 0, 0, p.n);
			if (p.n == 0)
				continue;
			present = 1;
			a->entries += p.n;
			name_unc += unc;
			infos_add(&a->pair_churn, names[i].p, names[i].len, vals[j].p,
			    vals[j].len, 1, churn(unc, a->dur));
			infos_add(&a->pair_count, names[i].p, names[i].len, vals[j].p,
			    vals[j].len, 1, p.n);
		}
		if (present)
			infos_add(&a->name_churn, names[i].p, names[i].len, NULL, 0, 0,
			    churn(name_unc, a->dur));
		infos_add(&a->name_length, names[i].p, names[i].len, NULL, 0, 0, cum);
		infos_add(&a->name_card, names[i].p, names[i].len, NULL, 0, 0, nvals);
	}
	postings_free(&p);
	return 0;
}

/* promtool's -extended: how full the chunks are, in tenths of 120 samples. */
static int
compaction_stats(struct analysis *a, struct err *e)
{
	struct index_series s = { 0 };
	uint64_t hist[10] = { 0 }, total = 0;

	for (size_t i = 0; i < a->all.n; i++) {
		if (index_reader_series(block_index(a->b), a->all.ids[i], &s, e) == -1) {
			index_series_free(&s);
			return err_wrap(e, "series %u", a->all.ids[i]);
		}
		for (size_t j = 0; j < s.nchunks; j++) {
			struct chunk c = { 0 };
			double n;
			int bucket;

			if (chunk_reader_get(block_chunks(a->b), s.chunks[j].ref, &c, e) == -1) {
				index_series_free(&s);
				return err_wrap(e, "series %u", a->all.ids[i]);
			}
			n = fmin((double)xor_count(c.data, c.len), 120.0);
			bucket = (int)ceil(10.0 * n / 120.0) - 1;
			hist[bucket < 0 ? 0 : bucket]++;
			total++;
		}
	}
	index_series_free(&s);
	printf("\nCompaction analysis:\n");
	printf("Fullness: Amount of samples in chunks (100%% is 120 samples)\n");
	for (int b = 0; b < 10; b++) {
		uint64_t pct = total ? 100 * hist[b] / total : 0;

		printf("%7d%%: ", (b + 1) * 10);
		for (uint64_t k = 0; k < pct; k++)
			putchar('#');
		putchar('\n');
	}
	return 0;
}

static int
analyze(struct analysis *a, int64_t limit, int extended, struct err *e)
{
	const struct block_meta *m = block_get_meta(a->b);
	const struct str *names;
	size_t nnames;
	char dur[64];

	a->dur = (int64_t)((uint64_t)m->max_time - (uint64_t)m->min_time);
	duration_format(dur, sizeof(dur), a->dur);
	printf("Block ID: %s\nDuration: %s\nSeries: %" PRIu64 "\n", m->ulid, dur,
	    m->num_series);
	if (index_reader_label_names(block_index(a->b), &names, &nnames) == -1)
		return err_set(e, "cannot read the label names");
	printf("Label names: %zu\n", nnames);
	if (series_uncovered(a, e) == -1 || label_stats(a, e) == -1)
		return -1;
	printf("Postings (unique label pairs): %zu\n", a->pair_count.n);
	printf("Postings entries (total label pairs): %" PRIu64 "\n", a->entries);
	infos_print("Label pairs most involved in churning", &a->pair_churn, limit);
	infos_print("Label names most involved in churning", &a->name_churn, limit);
	infos_print("Most common label pairs", &a->pair_count, limit);
	infos_print("Label names with highest cumulative label value length",
	    &a->name_length, limit);
	infos_print("Highest cardinality labels", &a->name_card, limit);
	infos_print("Highest cardinality metric names", &a->metric_card, limit);
	if (extended)
		return compaction_stats(a, e);
	return 0;
}

/* The block named by id, else the last by min time (promtool's default). */
static const char *
pick_block(char **dirs, size_t n, const char *id)
{
	if (id == NULL)
		return n > 0 ? dirs[n - 1] : NULL;
	for (size_t i = 0; i < n; i++) {
		struct block_meta m = { 0 };
		int match;

		if (meta_read(dirs[i], &m, NULL) == -1) {
			meta_free(&m);
			match = strcmp(inspect_base(dirs[i]), id) == 0;
		} else {
			match = strcmp(m.ulid, id) == 0;
			meta_free(&m);
		}
		if (match)
			return dirs[i];
	}
	return NULL;
}

int
cmd_analyze(int argc, char **argv)
{
	const char *level = NULL, *dir;
	int64_t limit = 20;
	int extended = 0, rc, n;
	const struct flag tbl[] = {
		{ "limit", FLAG_INT, &limit, "20", "how many items to show in each list" },
		{ "extended", FLAG_BOOL, &extended, NULL, "add the chunk fullness histogram" },
		INSPECT_LOG_FLAG(&level),
		{ 0 },
	};
	struct analysis a;
	struct err e;
	char **dirs;
	size_t ndirs;

	n = inspect_args(tbl, "block-inspect analyze [-limit N] [-extended] PATH [BLOCK-ULID]",
	    &level, argc, argv, 1, 2);
	if ((rc = inspect_find(argv[0], &dirs, &ndirs)) != 0)
		return rc;
	if ((dir = pick_block(dirs, ndirs, n > 1 ? argv[1] : NULL)) == NULL) {
		log_error("block not found", "block=%s path=%s", log_q(n > 1 ? argv[1] : ""),
		    log_q(argv[0]));
		block_dirs_free(dirs, ndirs);
		return EXIT_USAGE;
	}
	memset(&a, 0, sizeof(a));
	rc = EXIT_OK;
	if ((a.b = block_open(dir, &e)) == NULL || analyze(&a, limit, extended, &e) == -1) {
		fflush(stdout);
		log_error("analyze failed", "block=%s err=%s", log_q(dir), log_q(e.msg));
		rc = EXIT_SYSTEM;
	}
	if (fflush(stdout) == EOF && rc == EXIT_OK) {
		log_error("write stdout", "%s", "");
		rc = EXIT_SYSTEM;
	}
	block_close(a.b);
	postings_free(&a.all);
	free(a.uncovered);
	infos_free(&a.pair_churn);
	infos_free(&a.name_churn);
	infos_free(&a.pair_count);
	infos_free(&a.name_length);
	infos_free(&a.name_card);
	infos_free(&a.metric_card);
	block_dirs_free(dirs, ndirs);
	return rc;
}
