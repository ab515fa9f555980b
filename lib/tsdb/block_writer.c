/*
 * block_writer — publishes one block the way Prometheus' LeveledCompactor
 * does: everything is written under <ULID>.tmp-for-creation and the final
 * rename to <ULID> is the commit point.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/fileutil.h"
#include "lib/base/xmalloc.h"
#include "lib/tsdb/block.h"
#include "lib/tsdb/ulid.h"
#include "lib/tsdb/xor.h"

struct block_writer {
	char			 parent[PATH_MAX];
	char			 work[PATH_MAX];
	char			 final[PATH_MAX];
	uint64_t		 seg_size;
	struct index_writer	*iw;
	struct chunk_writer	*cw;		/* opened with the first series */
	struct block_meta	 meta;
	/* What the data says; copied into meta by writer_sync_meta. */
	uint64_t		 num_samples;
	uint64_t		 num_series;
	uint64_t		 num_chunks;
	int64_t			 first_t;
	int64_t			 last_t;
	/* The min/max last put into meta: a different value was set by the caller. */
	int64_t			 synced_min;
	int64_t			 synced_max;
};

static int	writer_check_chunks(const struct chunk *, size_t, struct err *);
static void	writer_sync_meta(struct block_writer *);
static void	writer_free(struct block_writer *);

struct block_writer *
block_writer_create(const char *parent_dir, struct err *e)
{
	struct block_writer *w;
	struct ulid id;
	char path[PATH_MAX];

	w = xcalloc(1, sizeof(*w));
	ulid_new(&id);
	ulid_format(&id, w->meta.ulid);
	if ((size_t)snprintf(w->parent, sizeof(w->parent), "%s", parent_dir) >= sizeof(w->parent) ||
	    (size_t)snprintf(w->work, sizeof(w->work), "%s/%s.tmp-for-creation",
	    parent_dir, w->meta.ulid) >= sizeof(w->work) ||
	    (size_t)snprintf(w->final, sizeof(w->final), "%s/%s",
	    parent_dir, w->meta.ulid) >= sizeof(w->final) ||
	    (size_t)snprintf(path, sizeof(path), "%s/index", w->work) >= sizeof(path)) {
		err_set(e, "block writer: path too long: %s", parent_dir);
		free(w);
		return NULL;
	}
	w->seg_size = CHUNK_SEGMENT_SIZE_DEFAULT;
	w->meta.version = 1;
	w->meta.level = 1;
	meta_add_source(&w->meta, w->meta.ulid);
	w->first_t = INT64_MAX;
	w->last_t = INT64_MIN;
	w->meta.min_time = w->synced_min = 0;
	w->meta.max_time = w->synced_max = 0;

	if (rm_rf(w->work, e) == -1 || mkdir_p(w->parent, 0777, e) == -1)
		goto fail;
	if (mkdir(w->work, 0777) == -1) {
		err_errno(e, "mkdir %s", w->work);
		goto fail;
	}
	if ((w->iw = index_writer_open(path, e)) == NULL) {
		rm_rf(w->work, NULL);
		goto fail;
	}
	return w;
fail:
	meta_free(&w->meta);
	free(w);
	return NULL;
}

void
block_writer_set_segment_size(struct block_writer *w, uint64_t size)
{
	w->seg_size = size != 0 ? size : CHUNK_SEGMENT_SIZE_DEFAULT;
}

int
block_writer_add_symbol(struct block_writer *w, struct str s, struct err *e)
{
	return index_writer_add_symbol(w->iw, s, e);
}

/*
 * The index encodes chunk gaps as unsigned deltas from the previous maxt, so
 * overlapping or unordered chunks would corrupt it: refuse them here.
 */
static int
writer_check_chunks(const struct chunk *c, size_t n, struct err *e)
{
	for (size_t i = 0; i < n; i++) {
		if (c[i].mint > c[i].maxt)
			return err_set(e, "chunk %zu: mint %lld > maxt %lld", i,
			    (long long)c[i].mint, (long long)c[i].maxt);
		if (i > 0 && c[i].mint <= c[i - 1].maxt)
			return err_set(e, "chunk %zu: mint %lld not after the previous "
			    "chunk's maxt %lld", i, (long long)c[i].mint,
			    (long long)c[i - 1].maxt);
	}
	return 0;
}

int
block_writer_add_series(struct block_writer *w, const struct labels *ls,
    struct chunk *chunks, size_t n, struct err *e)
{
	/* Prometheus writes no series whose chunks were all dropped. */
	if (n == 0)
		return 0;
	if (writer_check_chunks(chunks, n, e) == -1)
		return err_wrap(e, "block writer: add series");
	if (w->cw == NULL) {
		char path[PATH_MAX];

		if ((size_t)snprintf(path, sizeof(path), "%s/chunks", w->work) >= sizeof(path))
			return err_set(e, "block writer: path too long: %s", w->work);
		if ((w->cw = chunk_writer_open(path, w->seg_size, e)) == NULL)
			return -1;
	}
	if (chunk_writer_write(w->cw, chunks, n, e) == -1)
		return -1;
	if (index_writer_add_series(w->iw, ls, chunks, n, NULL, e) == -1)
		return -1;
	w->num_series++;
	w->num_chunks += n;
	for (size_t i = 0; i < n; i++)
		w->num_samples += xor_count(chunks[i].data, chunks[i].len);
	if (chunks[0].mint < w->first_t)
		w->first_t = chunks[0].mint;
	if (chunks[n - 1].maxt > w->last_t)
		w->last_t = chunks[n - 1].maxt;
	return 0;
}

/*
 * Stats always follow the data; min/max follow it unless the caller has
 * changed them since they were last handed out.
 */
static void
writer_sync_meta(struct block_writer *w)
{
	int64_t dmin = 0, dmax = 0;

	if (w->num_chunks > 0) {
		dmin = w->first_t;
		dmax = w->last_t == INT64_MAX ? INT64_MAX : w->last_t + 1;
	}
	if (w->meta.min_time == w->synced_min)
		w->meta.min_time = w->synced_min = dmin;
	if (w->meta.max_time == w->synced_max)
		w->meta.max_time = w->synced_max = dmax;
	w->meta.num_samples = w->num_samples;
	w->meta.num_series = w->num_series;
	w->meta.num_chunks = w->num_chunks;
}

struct block_meta *
block_writer_meta(struct block_writer *w)
{
	writer_sync_meta(w);
	return &w->meta;
}

int
block_writer_commit(struct block_writer *w, int *written, struct err *e)
{
	struct index_writer *iw = w->iw;
	struct chunk_writer *cw = w->cw;

	*written = 0;
	w->iw = NULL;
	w->cw = NULL;
	if (index_writer_close(iw, e) == -1) {
		if (cw != NULL)
			chunk_writer_close(cw, NULL);
		goto fail;
	}
	if (cw != NULL && chunk_writer_close(cw, e) == -1)
		goto fail;
	if (w->num_samples == 0) {
		if (rm_rf(w->work, e) == -1)
			goto fail;
		writer_free(w);
		return 0;
	}
	writer_sync_meta(w);
	if (meta_write(w->work, &w->meta, e) == -1 ||
	    tombstones_write(w->work, NULL, 0, e) == -1 ||
	    fsync_dir(w->work, e) == -1)
		goto fail;
	if (rename(w->work, w->final) == -1) {
		err_errno(e, "rename %s to %s", w->work, w->final);
		goto fail;
	}
	if (fsync_dir(w->parent, e) == -1) {
		writer_free(w);
		return -1;
	}
	*written = 1;
	writer_free(w);
	return 0;
fail:
	rm_rf(w->work, NULL);
	writer_free(w);
	return -1;
}

void
block_writer_abort(struct block_writer *w)
{
	if (w == NULL)
		return;
	if (w->iw != NULL)
		index_writer_abort(w->iw);
	if (w->cw != NULL)
		chunk_writer_close(w->cw, NULL);
	w->iw = NULL;
	w->cw = NULL;
	rm_rf(w->work, NULL);
	writer_free(w);
}

static void
writer_free(struct block_writer *w)
{
	meta_free(&w->meta);
	free(w);
}
