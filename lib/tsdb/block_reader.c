/*
 * block_reader — opening a block, selecting its series by matchers with
 * Prometheus' PostingsForMatchers semantics, and finding blocks on disk.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/fileutil.h"
#include "lib/base/xmalloc.h"
#include "lib/tsdb/block.h"
#include "lib/tsdb/ulid.h"

struct block {
	char			*dir;
	struct block_meta	 meta;
	struct index_reader	*ir;
	struct chunk_reader	*cr;
	struct tombstone	*stones;	/* sorted by ref, then mint */
	size_t			 nstones;
};

struct found_list;

static int	id_cmp(const void *, const void *);
static void	ids_sort_uniq(struct postings *);
static void	ids_intersect(struct postings *, const struct postings *);
static void	ids_subtract(struct postings *, const struct postings *);
static void	ids_append(struct postings *, const struct postings *);
static int	select_values(struct block *, const struct matcher *, int want_match,
		    struct postings *, struct err *);
static int	is_ulid_name(const char *);
static int	holds_meta(const char *);
static void	found_add(struct found_list *, const char *, const char *);
static int	found_cmp(const void *, const void *);
static int	scan_dir(struct found_list *, const char *, int, struct err *);

struct block *
block_open(const char *dir, struct err *e)
{
	struct block *b;
	char path[PATH_MAX];

	b = xcalloc(1, sizeof(*b));
	b->dir = xstrdup(dir);
	if (meta_read(dir, &b->meta, e) == -1) {
		err_wrap(e, "block %s", dir);
		goto fail;
	}
	if (b->meta.version != 1) {
		err_set(e, "block %s: meta.json version %d, want 1", dir, b->meta.version);
		goto fail;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/index", dir) >= sizeof(path)) {
		err_set(e, "block %s: path too long", dir);
		goto fail;
	}
	if ((b->ir = index_reader_open(path, e)) == NULL) {
		err_wrap(e, "block %s", dir);
		goto fail;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/chunks", dir) >= sizeof(path)) {
		err_set(e, "block %s: path too long", dir);
		goto fail;
	}
	if ((b->cr = chunk_reader_open(path, e)) == NULL) {
		err_wrap(e, "block %s", dir);
		goto fail;
	}
	if (tombstones_read(dir, &b->stones, &b->nstones, e) == -1) {
		err_wrap(e, "block %s", dir);
		goto fail;
	}
	if (b->nstones > 1)
		tombstones_sort(b->stones, b->nstones);
	return b;
fail:
	block_close(b);
	return NULL;
}

void
block_close(struct block *b)
{
	if (b == NULL)
		return;
	if (b->ir != NULL)
		index_reader_close(b->ir);
	if (b->cr != NULL)
		chunk_reader_close(b->cr);
	meta_free(&b->meta);
	free(b->stones);
	free(b->dir);
	free(b);
}

const char *
block_dir(const struct block *b)
{
	return b->dir;
}

const struct block_meta *
block_get_meta(const struct block *b)
{
	return &b->meta;
}

struct index_reader *
block_index(struct block *b)
{
	return b->ir;
}

struct chunk_reader *
block_chunks(struct block *b)
{
	return b->cr;
}

/* Sorted by series ref, then mint: a series' intervals are one run. */
const struct tombstone *
block_tombstones(const struct block *b, size_t *n)
{
	*n = b->nstones;
	return b->stones;
}

static int
id_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void
ids_sort_uniq(struct postings *p)
{
	size_t i, n = 0;

	if (p->n < 2)
		return;
	qsort(p->ids, p->n, sizeof(p->ids[0]), id_cmp);
	for (i = 0; i < p->n; i++)
		if (n == 0 || p->ids[n - 1] != p->ids[i])
			p->ids[n++] = p->ids[i];
	p->n = n;
}

/* a = a ∩ b; both ascending. */
static void
ids_intersect(struct postings *a, const struct postings *b)
{
	size_t i = 0, j = 0, n = 0;

	while (i < a->n && j < b->n) {
		if (a->ids[i] < b->ids[j])
			i++;
		else if (a->ids[i] > b->ids[j])
			j++;
		else {
			a->ids[n++] = a->ids[i];
			i++;
			j++;
		}
	}
	a->n = n;
}

/* a = a \ b; both ascending. */
static void
ids_subtract(struct postings *a, const struct postings *b)
{
	size_t i, j = 0, n = 0;

	for (i = 0; i < a->n; i++) {
		while (j < b->n && b->ids[j] < a->ids[i])
			j++;
		if (j < b->n && b->ids[j] == a->ids[i])
			continue;
		a->ids[n++] = a->ids[i];
	}
	a->n = n;
}

static void
ids_append(struct postings *dst, const struct postings *src)
{
	if (src->n == 0)
		return;
	if (dst->n + src->n > dst->cap) {
		dst->cap = (dst->n + src->n) * 2;
		dst->ids = xreallocarray(dst->ids, dst->cap, sizeof(dst->ids[0]));
	}
	memcpy(dst->ids + dst->n, src->ids, src->n * sizeof(src->ids[0]));
	dst->n += src->n;
}

/*
 * The union of the postings of every value of m's label for which
 * matcher_matches() == want_match: the series that have the label set to
 * such a value. Series without the label are never in it.
 */
static int
select_values(struct block *b, const struct matcher *m, int want_match,
    struct postings *out, struct err *e)
{
	struct str name = str_c(m->name);
	const struct str *vals;
	struct postings one = { 0 };
	size_t nvals;

	out->n = 0;
	if (m->type == MATCH_EQ && want_match) {
		struct str v = { m->value, m->value_len };

		return index_reader_postings(b->ir, name, v, out, e);
	}
	if (index_reader_label_values(b->ir, name, &vals, &nvals) == -1)
		return err_set(e, "label values of %s", m->name);
	for (size_t i = 0; i < nvals; i++) {
		if ((matcher_matches(m, vals[i]) != 0) != want_match)
			continue;
		one.n = 0;
		if (index_reader_postings(b->ir, name, vals[i], &one, e) == -1) {
			postings_free(&one);
			return -1;
		}
		ids_append(out, &one);
	}
	postings_free(&one);
	ids_sort_uniq(out);
	return 0;
}

/*
 * A series matches when every matcher matches its value of the label, a
 * missing label counting as "". A matcher that rejects "" selects through
 * the postings of the values it accepts (intersected); one that accepts ""
 * removes the series whose value it rejects.
 */
int
block_select(struct block *b, const struct matcher *ms, size_t nm,
    struct postings *out, struct err *e)
{
	struct postings tmp = { 0 };
	int have = 0, rc = -1;

	out->n = 0;
	for (size_t i = 0; i < nm; i++) {
		if (matcher_matches_empty(&ms[i]))
			continue;
		if (select_values(b, &ms[i], 1, have ? &tmp : out, e) == -1)
			goto done;
		if (have)
			ids_intersect(out, &tmp);
		have = 1;
		if (out->n == 0) {
			rc = 0;
			goto done;
		}
	}
	if (!have && index_reader_all_postings(b->ir, out, e) == -1)
		goto done;
	for (size_t i = 0; i < nm && out->n > 0; i++) {
		if (!matcher_matches_empty(&ms[i]))
			continue;
		if (select_values(b, &ms[i], 0, &tmp, e) == -1)
			goto done;
		ids_subtract(out, &tmp);
	}
	rc = 0;
done:
	postings_free(&tmp);
	return rc;
}

/*
 * block_find
 */

struct found {
	char	*dir;
	int64_t	 min_time;
	int	 has_meta;
	char	 ulid[ULID_LEN + 1];
};

struct found_list {
	struct found	*v;
	size_t		 n;
	size_t		 cap;
};

static int
is_ulid_name(const char *name)
{
	struct ulid id;

	return strlen(name) == ULID_LEN && ulid_parse(name, &id) == 0;
}

static int
holds_meta(const char *dir)
{
	char path[PATH_MAX];
	struct stat st;

	if ((size_t)snprintf(path, sizeof(path), "%s/meta.json", dir) >= sizeof(path))
		return 0;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void
found_add(struct found_list *l, const char *dir, const char *name)
{
	struct block_meta m;
	struct found *f;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xreallocarray(l->v, l->cap, sizeof(l->v[0]));
	}
	f = &l->v[l->n++];
	memset(f, 0, sizeof(*f));
	f->dir = xstrdup(dir);
	snprintf(f->ulid, sizeof(f->ulid), "%s", name);
	/* An unreadable meta.json sorts last; block_open will say what is wrong. */
	memset(&m, 0, sizeof(m));
	if (meta_read(dir, &m, NULL) == 0) {
		f->has_meta = 1;
		f->min_time = m.min_time;
	}
	meta_free(&m);
}

static int
found_cmp(const void *a, const void *b)
{
	const struct found *x = a, *y = b;

	if (x->has_meta != y->has_meta)
		return x->has_meta ? -1 : 1;
	if (x->min_time != y->min_time)
		return x->min_time < y->min_time ? -1 : 1;
	if (strcmp(x->ulid, y->ulid) != 0)
		return strcmp(x->ulid, y->ulid);
	return strcmp(x->dir, y->dir);
}

/* Add the block directories among dir's children; recurse once more when depth > 0. */
static int
scan_dir(struct found_list *l, const char *dir, int depth, struct err *e)
{
	struct dirent *de;
	char path[PATH_MAX];
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return err_errno(e, "open %s", dir);
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path))
			continue;
		if (!path_is_dir(path))
			continue;
		if (is_ulid_name(de->d_name)) {
			if (holds_meta(path))
				found_add(l, path, de->d_name);
		} else if (depth > 0 && scan_dir(l, path, depth - 1, e) == -1) {
			closedir(d);
			return -1;
		}
	}
	if (errno != 0) {
		err_errno(e, "read %s", dir);
		closedir(d);
		return -1;
	}
	closedir(d);
	return 0;
}

int
block_find(const char *path, char ***dirs, size_t *n, struct err *e)
{
	struct found_list l = { 0 };
	char clean[PATH_MAX];
	const char *base;
	size_t len;

	*dirs = NULL;
	*n = 0;
	len = strlen(path);
	if (len >= sizeof(clean))
		return err_set(e, "path too long: %s", path);
	memcpy(clean, path, len + 1);
	while (len > 1 && clean[len - 1] == '/')
		clean[--len] = '\0';
	if (!path_is_dir(clean))
		return err_set(e, "%s: not a directory", clean);
	/*
	 * The path itself counts as a block when it holds meta.json, whatever
	 * its name: a copied block need not keep its ULID as directory name.
	 */
	if (holds_meta(clean)) {
		base = strrchr(clean, '/') ? strrchr(clean, '/') + 1 : clean;
		found_add(&l, clean, base);
	} else if (scan_dir(&l, clean, 1, e) == -1) {
		for (size_t i = 0; i < l.n; i++)
			free(l.v[i].dir);
		free(l.v);
		return -1;
	}
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(l.v[0]), found_cmp);
	*dirs = xcalloc(l.n + 1, sizeof(char *));
	for (size_t i = 0; i < l.n; i++)
		(*dirs)[i] = l.v[i].dir;
	*n = l.n;
	free(l.v);
	return 0;
}

void
block_dirs_free(char **dirs, size_t n)
{
	if (dirs == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(dirs[i]);
	free(dirs);
}

/* The size of dir/name, 0 when it cannot be known. */
static uint64_t
file_size(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return 0;
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

uint64_t
block_size(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	uint64_t size;
	DIR *d;

	size = file_size(dir, "index") + file_size(dir, "tombstones") +
	    file_size(dir, "meta.json");
	if ((size_t)snprintf(path, sizeof(path), "%s/chunks", dir) >= sizeof(path) ||
	    (d = opendir(path)) == NULL)
		return size;
	while ((de = readdir(d)) != NULL)
		if (chunk_segment_name_ok(de->d_name))
			size += file_size(path, de->d_name);
	closedir(d);
	return size;
}
