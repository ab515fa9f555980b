#include <sys/stat.h>
#include <sys/uio.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base/fileutil.h"
#include "lib/base/xmalloc.h"
#include "lib/tsdb/checkpoint.h"
#include "lib/tsdb/encoding.h"
#include "lib/tsdb/wal.h"
#include "lib/tsdb/walrec.h"

#define PREFIX		"checkpoint."
#define PREFIX_LEN	(sizeof(PREFIX) - 1)

/* The latest metadata of each kept series, by ref (open addressing). */
struct meta_slot {
	int		 used;
	uint64_t	 ref;
	uint8_t		 type;
	char		*unit;
	size_t		 unit_len;
	char		*help;
	size_t		 help_len;
};

struct meta_map {
	struct meta_slot *v;
	size_t		  cap;	/* a power of two */
	size_t		  n;
};

struct cp_state {
	struct wal		*cp;
	checkpoint_keep_fn	 keep;
	void			*arg;
	int64_t			 mint;
	struct checkpoint_stats	 st;
	struct walrec_dec	 dec;
	struct buf		 out;
	struct meta_map		 meta;
};

static int	list_checkpoints(const char *, int **, size_t *, struct err *);
static int	meta_put(struct meta_map *, const struct walrec_metadata *);
static void	meta_free(struct meta_map *);
static int	process(struct cp_state *, const uint8_t *, size_t, struct err *);
static int	write_metadata(struct cp_state *, struct err *);

static int
int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : x > y;
}

/* Indexes of the checkpoint.N directories of dir, sorted. */
static int
list_checkpoints(const char *dir, int **out, size_t *n, struct err *e)
{
	DIR *d;
	struct dirent *de;
	int *v = NULL;
	size_t nv = 0, cap = 0;

	if ((d = opendir(dir)) == NULL)
		return err_errno(e, "open %s", dir);
	while ((de = readdir(d)) != NULL) {
		const char *s = de->d_name;
		char path[PATH_MAX];
		struct stat st;
		long long k = 0;
		size_t i;

		if (strncmp(s, PREFIX, PREFIX_LEN) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, s);
		if (lstat(path, &st) == -1 || !S_ISDIR(st.st_mode)) {
			err_set(e, "checkpoint %s is not a directory", s);
			closedir(d);
			free(v);
			return -1;
		}
		s += PREFIX_LEN;
		for (i = 0; s[i] >= '0' && s[i] <= '9' && k <= INT_MAX; i++)
			k = k * 10 + (s[i] - '0');
		if (i == 0 || s[i] != '\0' || k > INT_MAX)
			continue;
		if (nv == cap) {
			cap = cap ? cap * 2 : 8;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[nv++] = (int)k;
	}
	closedir(d);
	if (nv > 0)
		qsort(v, nv, sizeof(*v), int_cmp);
	*out = v;
	*n = nv;
	return 0;
}

int
checkpoint_last(const char *waldir, int *index, char **path, struct err *e)
{
	int *v;
	size_t n;

	if (list_checkpoints(waldir, &v, &n, e) == -1)
		return -1;
	if (n == 0) {
		free(v);
		return 0;
	}
	*index = v[n - 1];
	if (path != NULL)
		xasprintf(path, "%s/" PREFIX "%08d", waldir, v[n - 1]);
	free(v);
	return 1;
}

int
checkpoint_delete_older(const char *waldir, int index, struct err *e)
{
	int *v, rc = 0;
	size_t n;

	if (list_checkpoints(waldir, &v, &n, e) == -1)
		return -1;
	for (size_t i = 0; i < n && v[i] < index && rc == 0; i++) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/" PREFIX "%08d", waldir, v[i]);
		rc = rm_rf(path, e);
	}
	free(v);
	return rc;
}

static uint64_t
ref_hash(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static struct meta_slot *
meta_slot(struct meta_map *m, uint64_t ref)
{
	size_t i = ref_hash(ref) & (m->cap - 1);

	while (m->v[i].used && m->v[i].ref != ref)
		i = (i + 1) & (m->cap - 1);
	return &m->v[i];
}

/* Keep md as the latest metadata of its ref; 1 when the ref is new. */
static int
meta_put(struct meta_map *m, const struct walrec_metadata *md)
{
	struct meta_slot *s;
	int fresh;

	if (2 * (m->n + 1) > m->cap) {
		struct meta_map g = { xcalloc(m->cap ? m->cap * 2 : 64, sizeof(*g.v)),
		    m->cap ? m->cap * 2 : 64, m->n };

		for (size_t i = 0; i < m->cap; i++)
			if (m->v[i].used)
				*meta_slot(&g, m->v[i].ref) = m->v[i];
		free(m->v);
		*m = g;
	}
	s = meta_slot(m, md->ref);
	fresh = !s->used;
	if (fresh)
		m->n++;
	free(s->unit);
	free(s->help);
	s->used = 1;
	s->ref = md->ref;
	s->type = md->type;
	s->unit = xmemdup(md->unit.p ? md->unit.p : "", md->unit.len + 1);
	s->unit_len = md->unit.len;
	s->help = xmemdup(md->help.p ? md->help.p : "", md->help.len + 1);
	s->help_len = md->help.len;
	return fresh;
}

static void
meta_free(struct meta_map *m)
{
	for (size_t i = 0; i < m->cap; i++) {
		free(m->v[i].unit);
		free(m->v[i].help);
	}
	free(m->v);
	memset(m, 0, sizeof(*m));
}

static int
log_out(struct cp_state *s, struct err *e)
{
	struct iovec iov = { s->out.p, s->out.len };

	if (s->out.len == 0)
		return 0;
	return wal_log(s->cp, &iov, 1, e);
}

/* One record of the input: what survives goes to the checkpoint. */
static int
process(struct cp_state *s, const uint8_t *rec, size_t len, struct err *e)
{
	struct walrec_dec *d = &s->dec;
	size_t total, kept = 0;

	s->out.len = 0;
	switch (walrec_type(rec, len)) {
	case WALREC_SERIES:
		if (walrec_decode(d, rec, len, e) == -1)
			return -1;
		for (size_t i = 0; i < d->nseries; i++)
			if (s->keep(d->series[i].ref, s->arg))
				d->series[kept++] = d->series[i];
		if (kept > 0)
			walrec_put_series(&s->out, d->series, kept);
		s->st.total_series += d->nseries;
		s->st.dropped_series += d->nseries - kept;
		break;
	case WALREC_SAMPLES:
	case WALREC_HISTOGRAMS:
		if (walrec_filter_mint(&s->out, rec, len, s->mint, &total, &kept, e) == -1)
			return -1;
		s->st.total_samples += total;
		s->st.dropped_samples += total - kept;
		break;
	case WALREC_EXEMPLARS:
		if (walrec_filter_mint(&s->out, rec, len, s->mint, &total, &kept, e) == -1)
			return -1;
		s->st.total_exemplars += total;
		s->st.dropped_exemplars += total - kept;
		break;
	case WALREC_TOMBSTONES:
		if (walrec_decode(d, rec, len, e) == -1)
			return -1;
		for (size_t i = 0; i < d->ntombstones; i++)
			if (d->tombstones[i].maxt >= s->mint)
				d->tombstones[kept++] = d->tombstones[i];
		if (kept > 0)
			walrec_put_tombstones(&s->out, d->tombstones, kept);
		s->st.total_tombstones += d->ntombstones;
		s->st.dropped_tombstones += d->ntombstones - kept;
		break;
	case WALREC_METADATA:
		if (walrec_decode(d, rec, len, e) == -1)
			return -1;
		for (size_t i = 0; i < d->nmetadata; i++)
			if (s->keep(d->metadata[i].ref, s->arg))
				kept += (size_t)meta_put(&s->meta, &d->metadata[i]);
		s->st.total_metadata += d->nmetadata;
		s->st.dropped_metadata += d->nmetadata - kept;
		return 0;
	default:
		/* 2.42 drops the rest, float histograms (8) included. */
		return 0;
	}
	return log_out(s, e);
}

static int
ref_cmp(const void *a, const void *b)
{
	const struct walrec_metadata *x = a, *y = b;

	return x->ref < y->ref ? -1 : x->ref > y->ref;
}

/* The latest metadata of every kept series, one record, last (by ref: Go's order is random). */
static int
write_metadata(struct cp_state *s, struct err *e)
{
	struct walrec_metadata *v;
	size_t n = 0;
	int rc;

	if (s->meta.n == 0)
		return 0;
	v = xreallocarray(NULL, s->meta.n, sizeof(*v));
	for (size_t i = 0; i < s->meta.cap; i++) {
		const struct meta_slot *m = &s->meta.v[i];

		if (!m->used)
			continue;
		v[n].ref = m->ref;
		v[n].type = m->type;
		v[n].unit = (struct str){ m->unit, m->unit_len };
		v[n].help = (struct str){ m->help, m->help_len };
		n++;
	}
	qsort(v, n, sizeof(*v), ref_cmp);
	s->out.len = 0;
	walrec_put_metadata(&s->out, v, n);
	rc = log_out(s, e);
	free(v);
	return rc;
}

int
checkpoint_create(const char *waldir, int from, int to, checkpoint_keep_fn keep,
    void *arg, int64_t mint, int compress, struct checkpoint_stats *stats,
    struct err *e)
{
	struct wal_opts opts = { 0, compress };
	struct cp_state s;
	struct wal_reader *r = wal_reader_new();
	char cpdir[PATH_MAX], tmp[PATH_MAX + 8];
	char *prev = NULL;
	const uint8_t *rec;
	size_t len;
	int idx, found, rc;

	memset(&s, 0, sizeof(s));
	s.keep = keep;
	s.arg = arg;
	s.mint = mint;
	if ((found = checkpoint_last(waldir, &idx, &prev, e)) == -1)
		goto fail_reader;
	if (found) {
		if (from > idx + 1) {
			err_set(e, "unexpected gap to last checkpoint. expected:%d, requested:%d",
			    idx + 1, from);
			goto fail_reader;
		}
		/* Segments below the checkpoint should not exist; ignore them. */
		from = idx + 1;
		if (wal_reader_add(r, prev, -1, -1, 1, e) == -1)
			goto fail_reader;
	}
	if (wal_reader_add(r, waldir, from, to, 0, e) == -1)
		goto fail_reader;

	snprintf(cpdir, sizeof(cpdir), "%s/" PREFIX "%08d", waldir, to);
	snprintf(tmp, sizeof(tmp), "%s.tmp", cpdir);
	if (rm_rf(tmp, e) == -1)
		goto fail_reader;
	if (wal_open(&s.cp, tmp, &opts, NULL, e) == -1)
		goto fail;

	while ((rc = wal_reader_next(r, &rec, &len, e)) == 1)
		if (process(&s, rec, len, e) == -1) {
			err_wrap(e, "checkpoint %s", cpdir);
			goto fail;
		}
	if (rc == -1) {
		/* The head would not know which series are lost: no repair here. */
		err_wrap(e, "checkpoint %s: read segments", cpdir);
		goto fail;
	}
	if (write_metadata(&s, e) == -1)
		goto fail;
	rc = wal_close(s.cp, e);
	s.cp = NULL;
	if (rc == -1 || fsync_dir(tmp, e) == -1 || rm_rf(cpdir, e) == -1)
		goto fail;
	if (rename(tmp, cpdir) == -1) {
		err_errno(e, "rename %s", tmp);
		goto fail;
	}
	if (fsync_dir(waldir, e) == -1)
		goto fail;
	if (stats != NULL)
		*stats = s.st;
	wal_reader_free(r);
	walrec_dec_free(&s.dec);
	buf_free(&s.out);
	meta_free(&s.meta);
	free(prev);
	return 0;
fail:
	if (s.cp != NULL)
		wal_close(s.cp, NULL);
	rm_rf(tmp, NULL);
fail_reader:
	wal_reader_free(r);
	walrec_dec_free(&s.dec);
	buf_free(&s.out);
	meta_free(&s.meta);
	free(prev);
	return -1;
}

int
checkpoint_truncate_wal(struct wal *w, checkpoint_keep_fn keep, void *arg,
    int64_t mint, int *index, struct checkpoint_stats *stats, struct err *e)
{
	int first, last;

	*index = -1;
	if (stats != NULL)
		memset(stats, 0, sizeof(*stats));
	if (wal_segments(wal_dir(w), &first, &last, e) == -1)
		return -1;
	/* A new segment, so a quiet WAL does not keep old data around. */
	if (wal_next_segment(w, NULL, e) == -1)
		return -1;
	last--;			/* never the segment that was active */
	if (last < 0)
		return 0;
	/* The older two thirds hold mostly obsolete samples. */
	last = first + (last - first) * 2 / 3;
	if (last <= first)
		return 0;
	if (checkpoint_create(wal_dir(w), first, last, keep, arg, mint,
	    wal_compressing(w), stats, e) == -1)
		return -1;
	*index = last;
	/* Leftovers are harmless (replay skips what a checkpoint covers): report only. */
	if (wal_truncate(w, last + 1, e) == -1)
		return -1;
	return checkpoint_delete_older(wal_dir(w), last, e);
}

int
checkpoint_replay_open(struct wal_reader **out, const char *waldir, struct err *e)
{
	struct wal_reader *r;
	char *cp = NULL;
	int idx, found, first, last, start = 0;

	*out = NULL;
	if ((found = checkpoint_last(waldir, &idx, &cp, e)) == -1)
		return -1;
	if (wal_segments(waldir, &first, &last, e) == -1) {
		free(cp);
		return -1;
	}
	r = wal_reader_new();
	if (found) {
		start = idx + 1;
		if (wal_reader_add(r, cp, -1, -1, 1, e) == -1)
			goto fail;
	}
	if (last >= start) {
		/* Prometheus opens segments start..last by name. */
		if (first > start) {
			err_set(e, "open WAL segment: %d: %s/%08d: no such file or directory",
			    start, waldir, start);
			goto fail;
		}
		if (wal_reader_add(r, waldir, start, last, 0, e) == -1)
			goto fail;
	}
	free(cp);
	*out = r;
	return 0;
fail:
	free(cp);
	wal_reader_free(r);
	return -1;
}
