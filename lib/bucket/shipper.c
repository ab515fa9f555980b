#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "lib/base/fileutil.h"
#include "lib/base/xmalloc.h"
#include "lib/bucket/shipper.h"

#define COPY_BUF	(128 * 1024)

static int	copy_fd(int, int, const char *, uint64_t *, struct err *);
static int	copy_file(const char *, const char *, int64_t, struct err *);
static int	cmp_names(const void *, const void *);
static int	list_chunks(const char *, char ***, size_t *, struct err *);
static void	thanos_clear(struct thanos_meta *);
static void	tmp_path(char *, size_t, const char *, const char *);
static int	stage_block(const char *, const char *, struct block_meta *,
		    uint64_t *, struct err *);
static int	publish(const char *, const char *, const char *, struct err *);

int
shipper_state_decode(const char *json, size_t len, struct shipper_state *st,
    struct err *e)
{
	json_error_t jerr;
	json_t *root, *v, *el;
	size_t i;

	memset(st, 0, sizeof(*st));
	if ((root = json_loadb(json, len, 0, &jerr)) == NULL)
		return err_set(e, "line %d column %d: %s", jerr.line, jerr.column,
		    jerr.text);
	if (!json_is_object(root)) {
		err_set(e, "not a JSON object");
		goto fail;
	}
	v = json_object_get(root, "version");
	if (!json_is_integer(v) || json_integer_value(v) != 1) {
		err_set(e, "unexpected shipper file version (want 1)");
		goto fail;
	}
	v = json_object_get(root, "uploaded");
	if (v == NULL || json_is_null(v)) {
		json_decref(root);
		return 0;
	}
	if (!json_is_array(v)) {
		err_set(e, "uploaded: not an array");
		goto fail;
	}
	json_array_foreach(v, i, el) {
		char canon[ULID_LEN + 1];
		struct ulid u;

		if (!json_is_string(el) || ulid_parse(json_string_value(el), &u) == -1) {
			err_set(e, "uploaded[%zu]: not a ULID", i);
			goto fail;
		}
		/* Lower case is a valid spelling of the same ULID; keep the canonical one. */
		ulid_format(&u, canon);
		shipper_state_add(st, canon);
	}
	json_decref(root);
	return 0;
fail:
	json_decref(root);
	shipper_state_free(st);
	return -1;
}

void
shipper_state_encode(const struct shipper_state *st, struct buf *b)
{
	static const char head[] = "{\n\t\"version\": 1,\n\t\"uploaded\": ";

	buf_put_bytes(b, head, sizeof(head) - 1);
	if (st->n == 0)
		buf_put_bytes(b, "null", 4);
	else {
		buf_put_u8(b, '[');
		for (size_t i = 0; i < st->n; i++) {
			buf_put_bytes(b, i == 0 ? "\n\t\t\"" : ",\n\t\t\"", i == 0 ? 4 : 5);
			buf_put_bytes(b, st->uploaded[i], ULID_LEN);
			buf_put_u8(b, '"');
		}
		buf_put_bytes(b, "\n\t]", 3);
	}
	buf_put_bytes(b, "\n}\n", 3);
}

int
shipper_state_read(const char *tenant_dir, struct shipper_state *st, struct err *e)
{
	char *path, *data;
	struct stat sb;
	size_t len;
	int rc;

	memset(st, 0, sizeof(*st));
	xasprintf(&path, "%s/%s", tenant_dir, SHIPPER_STATE_FILE);
	if (stat(path, &sb) == -1 && errno == ENOENT) {
		free(path);
		return 0;
	}
	if (file_read_all(path, &data, &len, e) == -1) {
		free(path);
		return -1;
	}
	rc = shipper_state_decode(data, len, st, e);
	if (rc == -1)
		err_wrap(e, "%s", path);
	free(data);
	free(path);
	return rc == -1 ? -1 : 1;
}

int
shipper_state_write(const char *tenant_dir, const struct shipper_state *st,
    struct err *e)
{
	struct buf b = { 0 };
	char *path;
	int rc;

	shipper_state_encode(st, &b);
	xasprintf(&path, "%s/%s", tenant_dir, SHIPPER_STATE_FILE);
	rc = file_write_atomic(path, b.p, b.len, e);
	free(path);
	buf_free(&b);
	return rc;
}

int
shipper_state_has(const struct shipper_state *st, const char *ulid)
{
	for (size_t i = 0; i < st->n; i++)
		if (strcmp(st->uploaded[i], ulid) == 0)
			return 1;
	return 0;
}

void
shipper_state_add(struct shipper_state *st, const char *ulid)
{
	if (shipper_state_has(st, ulid))
		return;
	if (st->n == st->cap) {
		st->cap = st->cap == 0 ? 16 : st->cap * 2;
		st->uploaded = xreallocarray(st->uploaded, st->cap, sizeof(*st->uploaded));
	}
	strlcpy(st->uploaded[st->n++], ulid, ULID_LEN + 1);
}

int
shipper_state_equal(const struct shipper_state *a, const struct shipper_state *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->uploaded[i], b->uploaded[i]) != 0)
			return 0;
	return 1;
}

void
shipper_state_free(struct shipper_state *st)
{
	free(st->uploaded);
	memset(st, 0, sizeof(*st));
}

int
bucket_block_state(const char *tenant_dir, const char *ulid, struct err *e)
{
	struct block_meta m;
	struct stat sb;
	struct err me;
	char *dir, *mark;
	int state;

	xasprintf(&dir, "%s/%s", tenant_dir, ulid);
	if (lstat(dir, &sb) == -1) {
		if (errno != ENOENT) {
			err_errno(e, "stat %s", dir);
			free(dir);
			return -1;
		}
		free(dir);
		return BUCKET_BLOCK_ABSENT;
	}
	/* Cortex writers upload meta.json in place: present but unparseable is partial. */
	if (meta_read(dir, &m, &me) == 0) {
		meta_free(&m);
		free(dir);
		return BUCKET_BLOCK_COMPLETE;
	}
	xasprintf(&mark, "%s/deletion-mark.json", dir);
	state = path_exists(mark) ? BUCKET_BLOCK_DELETING : BUCKET_BLOCK_PARTIAL;
	free(mark);
	free(dir);
	return state;
}

static void
thanos_clear(struct thanos_meta *t)
{
	for (size_t i = 0; i < t->nlabels; i++) {
		free(t->label_names[i]);
		free(t->label_values[i]);
	}
	free(t->label_names);
	free(t->label_values);
	free(t->source);
	for (size_t i = 0; i < t->nsegment_files; i++)
		free(t->segment_files[i]);
	free(t->segment_files);
	for (size_t i = 0; i < t->nfiles; i++)
		free(t->files[i].rel_path);
	free(t->files);
	memset(t, 0, sizeof(*t));
}

void
bucket_meta_thanos(struct block_meta *m, const char *const *names,
    const char *const *values, size_t nlabels, const char *source)
{
	thanos_clear(&m->thanos);
	m->has_thanos = 1;
	/* The shipper and the compactor leave thanos.version unset (§1.3). */
	for (size_t i = 0; i < nlabels; i++)
		meta_thanos_add_label(m, names[i], values[i]);
	m->thanos.source = xstrdup(source);
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The regular files of <block>/chunks, sorted bytewise. */
static int
list_chunks(const char *block, char ***names, size_t *n, struct err *e)
{
	struct dirent *de;
	char *dir;
	DIR *d;

	*names = NULL;
	*n = 0;
	xasprintf(&dir, "%s/chunks", block);
	if ((d = opendir(dir)) == NULL) {
		err_errno(e, "opendir %s", dir);
		free(dir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, 0) == -1 || !S_ISREG(st.st_mode))
			continue;
		*names = xreallocarray(*names, *n + 1, sizeof(char *));
		(*names)[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
	free(dir);
	if (*n > 1)
		qsort(*names, *n, sizeof(char *), cmp_names);
	return 0;
}

/* Copy everything from in to out; *copied counts the bytes. */
static int
copy_fd(int in, int out, const char *what, uint64_t *copied, struct err *e)
{
	static __thread char buf[COPY_BUF];
	ssize_t n;

	*copied = 0;
	/* In-kernel copy first; other filesystems or old kernels fall back to read/write. */
	for (;;) {
		n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
		if (n > 0) {
			*copied += (uint64_t)n;
			continue;
		}
		if (n == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (*copied == 0 && (errno == EXDEV || errno == ENOSYS ||
		    errno == EINVAL || errno == EOPNOTSUPP))
			break;
		return err_errno(e, "copy %s", what);
	}
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return err_errno(e, "read %s", what);
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));

			if (w == -1) {
				if (errno == EINTR)
					continue;
				return err_errno(e, "write %s", what);
			}
			off += w;
		}
		*copied += (uint64_t)n;
	}
	return 0;
}

/* src to a new file dst, fsynced; it must have exactly size bytes. */
static int
copy_file(const char *src, const char *dst, int64_t size, struct err *e)
{
	uint64_t copied;
	int in, out, rc;

	if ((in = open(src, O_RDONLY | O_CLOEXEC)) == -1)
		return err_errno(e, "open %s", src);
	if ((out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666)) == -1) {
		close(in);
		return err_errno(e, "create %s", dst);
	}
	rc = copy_fd(in, out, src, &copied, e);
	if (rc == 0 && copied != (uint64_t)size)
		rc = err_set(e, "%s changed size while being copied (%lld, then %llu bytes)",
		    src, (long long)size, (unsigned long long)copied);
	if (rc == 0 && fsync(out) == -1)
		rc = err_errno(e, "fsync %s", dst);
	close(in);
	if (close(out) == -1 && rc == 0)
		rc = err_errno(e, "close %s", dst);
	return rc;
}

static void
tmp_path(char *out, size_t cap, const char *tenant_dir, const char *ulid)
{
	snprintf(out, cap, "%s/%s%s%08x%08x", tenant_dir, ulid, BUCKET_TMP_INFIX,
	    arc4random(), arc4random());
}

/*
 * Fill tmp with the block: chunks and index copied and fsynced, then
 * meta.json with the file list, then the directories fsynced.
 */
static int
stage_block(const char *src, const char *tmp, struct block_meta *m,
    uint64_t *bytes, struct err *e)
{
	char **segs = NULL, *s = NULL, *d = NULL;
	size_t nsegs = 0;
	struct stat st;
	int rc = -1;

	*bytes = 0;
	if (list_chunks(src, &segs, &nsegs, e) == -1)
		return -1;
	for (size_t i = 0; i < m->thanos.nsegment_files; i++)
		free(m->thanos.segment_files[i]);
	free(m->thanos.segment_files);
	m->thanos.segment_files = segs;
	m->thanos.nsegment_files = nsegs;
	for (size_t i = 0; i < m->thanos.nfiles; i++)
		free(m->thanos.files[i].rel_path);
	free(m->thanos.files);
	m->thanos.files = NULL;
	m->thanos.nfiles = 0;

	xasprintf(&d, "%s/chunks", tmp);
	if (mkdir(tmp, 0777) == -1) {
		err_errno(e, "mkdir %s", tmp);
		goto out;
	}
	if (mkdir(d, 0777) == -1) {
		err_errno(e, "mkdir %s", d);
		goto out;
	}
	for (size_t i = 0; i <= nsegs; i++) {
		const char *rel = NULL;
		char relbuf[PATH_MAX];

		if (i < nsegs) {
			snprintf(relbuf, sizeof(relbuf), "chunks/%s", segs[i]);
			rel = relbuf;
		} else
			rel = "index";
		free(s);
		free(d);
		xasprintf(&s, "%s/%s", src, rel);
		xasprintf(&d, "%s/%s", tmp, rel);
		if (stat(s, &st) == -1) {
			err_errno(e, "stat %s", s);
			goto out;
		}
		if (copy_file(s, d, st.st_size, e) == -1)
			goto out;
		meta_thanos_add_file(m, rel, st.st_size);
		*bytes += (uint64_t)st.st_size;
	}
	meta_thanos_add_file(m, "meta.json", 0);
	free(d);
	xasprintf(&d, "%s/chunks", tmp);
	if (fsync_dir(d, e) == -1 || meta_write(tmp, m, e) == -1 ||
	    fsync_dir(tmp, e) == -1)
		goto out;
	rc = 0;
out:
	free(s);
	free(d);
	return rc;
}

/*
 * Rename the staged tmp to <tenant_dir>/<ulid>. A partial directory in the
 * way is moved aside first, then removed; a complete one wins (returns 1).
 */
static int
publish(const char *tmp, const char *tenant_dir, const char *ulid, struct err *e)
{
	char final[PATH_MAX], aside[PATH_MAX];
	int state;

	snprintf(final, sizeof(final), "%s/%s", tenant_dir, ulid);
	if (rename(tmp, final) == 0)
		return fsync_dir(tenant_dir, e);
	if (errno != ENOTEMPTY && errno != EEXIST)
		return err_errno(e, "rename %s", tmp);
	if ((state = bucket_block_state(tenant_dir, ulid, e)) == -1)
		return -1;
	if (state == BUCKET_BLOCK_COMPLETE)
		return 1;
	if (state == BUCKET_BLOCK_DELETING)
		return err_set(e, "%s is being deleted from the bucket", final);
	tmp_path(aside, sizeof(aside), tenant_dir, ulid);
	if (rename(final, aside) == -1)
		return err_errno(e, "rename %s", final);
	if (rename(tmp, final) == -1)
		return err_errno(e, "rename %s", tmp);
	if (fsync_dir(tenant_dir, e) == -1)
		return -1;
	return rm_rf(aside, e);
}

int
bucket_block_upload(const char *src_dir, const char *tenant_dir,
    struct block_meta *m, uint64_t *bytes, struct err *e)
{
	char tmp[PATH_MAX];
	uint64_t n = 0;
	struct err ce;
	int state, rc;

	if (bytes != NULL)
		*bytes = 0;
	if ((state = bucket_block_state(tenant_dir, m->ulid, e)) == -1)
		return -1;
	if (state == BUCKET_BLOCK_COMPLETE)
		return 1;
	if (state == BUCKET_BLOCK_DELETING)
		return err_set(e, "%s/%s is being deleted from the bucket",
		    tenant_dir, m->ulid);
	tmp_path(tmp, sizeof(tmp), tenant_dir, m->ulid);
	if (stage_block(src_dir, tmp, m, &n, e) == -1 ||
	    (rc = publish(tmp, tenant_dir, m->ulid, e)) == -1) {
		rm_rf(tmp, &ce);
		return -1;
	}
	if (rc == 1) {
		if (rm_rf(tmp, e) == -1)
			return -1;
		return 1;
	}
	if (bytes != NULL)
		*bytes = n;
	return 0;
}

int
bucket_tmp_name(const char *name, char ulid[ULID_LEN + 1])
{
	struct ulid u;

	if (strlen(name) < ULID_LEN + sizeof(BUCKET_TMP_INFIX) - 1 ||
	    strncmp(name + ULID_LEN, BUCKET_TMP_INFIX, sizeof(BUCKET_TMP_INFIX) - 1) != 0)
		return 0;
	memcpy(ulid, name, ULID_LEN);
	ulid[ULID_LEN] = '\0';
	return ulid_parse(ulid, &u) == 0;
}

int
bucket_tmp_remove(const char *tenant_dir,
    int (*mine)(const char *ulid, void *arg), void *arg, struct err *e)
{
	char ulid[ULID_LEN + 1], *path;
	struct dirent *de;
	int removed = 0;
	DIR *d;

	if ((d = opendir(tenant_dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		return err_errno(e, "opendir %s", tenant_dir);
	}
	while ((de = readdir(d)) != NULL) {
		if (!bucket_tmp_name(de->d_name, ulid))
			continue;
		if (mine != NULL && !mine(ulid, arg))
			continue;
		xasprintf(&path, "%s/%s", tenant_dir, de->d_name);
		if (rm_rf(path, e) == -1) {
			free(path);
			closedir(d);
			return -1;
		}
		free(path);
		removed++;
	}
	closedir(d);
	return removed;
}
