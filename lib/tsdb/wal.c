#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <snappy-c.h>

#include "lib/base/fileutil.h"
#include "lib/base/xmalloc.h"
#include "lib/tsdb/checkpoint.h"
#include "lib/tsdb/crc32c.h"
#include "lib/tsdb/encoding.h"
#include "lib/tsdb/wal.h"

#define PAGE		WAL_PAGE_SIZE
#define HDR		WAL_HEADER_SIZE
#define MAX_FRAG	(PAGE - HDR)
/* The page buffer grows to this many pages before full pages are written out. */
#define BUF_MAX_PAGES	16

struct wal {
	char		*dir;
	int		 fd;		/* the active segment */
	int		 seg;		/* its index */
	long		 pages_per_seg;
	int		 compress;
	int		 broken;	/* a write failed: the file no longer matches the buffer */
	long		 done_pages;	/* finished pages of the active segment, written or buffered */
	/*
	 * Whole pages; [pstart, pstart + PAGE) is the page being filled, the
	 * pages before it are finished; [0, flushed) was written already.
	 */
	uint8_t		*buf;
	size_t		 bufcap;
	size_t		 pstart;
	size_t		 palloc;
	size_t		 flushed;
	char		*zbuf;		/* snappy output, reused */
	size_t		 zcap;
};

struct rseg {
	char		*dir;		/* NULL: mem */
	int		 index;
	int		 checkpoint;
	int		 last;		/* the newest segment of its directory */
	const uint8_t	*mem;
	size_t		 memlen;
};

struct wal_reader {
	struct rseg	*segs;
	size_t		 nsegs;
	size_t		 segcap;
	size_t		 cur;
	int		 open;
	struct mapped	 map;
	const uint8_t	*p;
	size_t		 len;		/* real bytes of the segment */
	size_t		 vlen;		/* len rounded up to a page: the rest reads as zeros */
	size_t		 off;		/* next byte to read */
	size_t		 good_end;	/* end of the last complete record */
	size_t		 rec_start;	/* first fragment of the record being read / returned */
	size_t		 rec_end;
	int		 nfrag;		/* fragments of the record so far */
	int		 comp;		/* its fragments are snappy-compressed */
	struct buf	 rec;
	struct buf	 out;
	uint8_t		 scratch[PAGE];	/* a fragment that reaches into the virtual zeros */
	int		 failed;
	struct err	 err;		/* repeated after a failure */
	int		 corrupt;
	struct wal_corruption c;
};

static int	segment_create(struct wal *, int, struct err *);
static int	write_all(struct wal *, const uint8_t *, size_t, struct err *);
static int	page_done(struct wal *, struct err *);
static int	flush(struct wal *, struct err *);
static int	finish_segment(struct wal *, struct err *);
static int	log_one(struct wal *, const uint8_t *, size_t, struct err *);
static int	delete_segments(const char *, int, struct err *);
static int	remove_tmp_checkpoints(const char *, struct err *);
static int	check_last_segment(struct wal *, int, struct wal_repair *, struct err *);
static int	cut(const char *, const struct wal_corruption *, int,
		    struct wal_repair *, struct err *);
static int	list_segments(const char *, int **, size_t *, struct err *);
static int	seg_open(struct wal_reader *, struct err *);
static void	seg_close(struct wal_reader *);
static int	seg_next(struct wal_reader *, const uint8_t **, size_t *, struct err *);
static int	damage(struct wal_reader *, size_t, size_t, struct err *,
		    const char *, ...) __attribute__((format(printf, 5, 6)));
static int	tail_is_zero(const struct wal_reader *, size_t);

char *
wal_segment_name(char *buf, size_t len, const char *dir, int index)
{
	snprintf(buf, len, "%s/%08d", dir, index);
	return buf;
}

static int
int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : x > y;
}

/* The segment indexes of dir, sorted; names of digits only, as strconv.Atoi reads them. */
static int
list_segments(const char *dir, int **out, size_t *n, struct err *e)
{
	DIR *d;
	struct dirent *de;
	int *v = NULL;
	size_t nv = 0, cap = 0;

	if ((d = opendir(dir)) == NULL)
		return err_errno(e, "open %s", dir);
	while ((de = readdir(d)) != NULL) {
		const char *s = de->d_name;
		long long k = 0;
		size_t i;

		for (i = 0; s[i] >= '0' && s[i] <= '9' && k <= INT_MAX; i++)
			k = k * 10 + (s[i] - '0');
		if (i == 0 || s[i] != '\0' || k > INT_MAX)
			continue;
		if (nv == cap) {
			cap = cap ? cap * 2 : 16;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[nv++] = (int)k;
	}
	closedir(d);
	if (nv > 0)
		qsort(v, nv, sizeof(*v), int_cmp);
	for (size_t i = 0; i + 1 < nv; i++) {
		if (v[i] + 1 != v[i + 1]) {
			err_set(e, "%s: segments are not sequential (%08d, %08d)",
			    dir, v[i], v[i + 1]);
			free(v);
			return -1;
		}
	}
	*out = v;
	*n = nv;
	return 0;
}

int
wal_segments(const char *dir, int *first, int *last, struct err *e)
{
	int *v;
	size_t n;

	if (list_segments(dir, &v, &n, e) == -1)
		return -1;
	*first = n ? v[0] : -1;
	*last = n ? v[n - 1] : -1;
	free(v);
	return 0;
}

/* ---- writer ---- */

static int
segment_create(struct wal *w, int index, struct err *e)
{
	char path[PATH_MAX];
	int fd;

	/* O_EXCL: the page accounting starts at offset 0 of a new file. */
	wal_segment_name(path, sizeof(path), w->dir, index);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0666);
	if (fd == -1)
		return err_errno(e, "create segment %s", path);
	/* Make the new name durable now: this happens once per segment. */
	if (fsync_dir(w->dir, e) == -1) {
		close(fd);
		return -1;
	}
	w->fd = fd;
	w->seg = index;
	w->done_pages = 0;
	w->pstart = w->palloc = w->flushed = 0;
	return 0;
}

static int
write_all(struct wal *w, const uint8_t *p, size_t n, struct err *e)
{
	while (n > 0) {
		ssize_t r = write(w->fd, p, n);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			w->broken = 1;
			return err_errno(e, "write segment %s/%08d", w->dir, w->seg);
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Zero the rest of the current page and start a new one. */
static int
page_done(struct wal *w, struct err *e)
{
	memset(w->buf + w->pstart + w->palloc, 0, PAGE - w->palloc);
	w->pstart += PAGE;
	w->palloc = 0;
	w->done_pages++;
	if (w->pstart < w->bufcap)
		return 0;
	if (w->bufcap < BUF_MAX_PAGES * PAGE) {
		w->bufcap *= 2;
		w->buf = xrealloc(w->buf, w->bufcap);
		return 0;
	}
	if (write_all(w, w->buf + w->flushed, w->pstart - w->flushed, e) == -1)
		return -1;
	w->pstart = w->flushed = 0;
	return 0;
}

/* Write what is buffered; keep only the partial page, at the buffer's start. */
static int
flush(struct wal *w, struct err *e)
{
	size_t end = w->pstart + w->palloc;

	if (end > w->flushed &&
	    write_all(w, w->buf + w->flushed, end - w->flushed, e) == -1)
		return -1;
	w->flushed = end;
	if (w->pstart > 0) {
		memmove(w->buf, w->buf + w->pstart, w->palloc);
		w->flushed -= w->pstart;
		w->pstart = 0;
	}
	return 0;
}

/* Pad, flush and sync the active segment, then close it. */
static int
finish_segment(struct wal *w, struct err *e)
{
	if (w->palloc > 0 && page_done(w, e) == -1)
		return -1;
	if (flush(w, e) == -1)
		return -1;
	if (fdatasync(w->fd) == -1) {
		w->broken = 1;
		return err_errno(e, "fdatasync segment %s/%08d", w->dir, w->seg);
	}
	close(w->fd);
	w->fd = -1;
	return 0;
}

static int
log_one(struct wal *w, const uint8_t *p, size_t n, struct err *e)
{
	uint8_t flag = 0;
	long long left;
	int first = 1;

	if (w->compress && n > 0) {
		size_t need = snappy_max_compressed_length(n), zlen;

		if (need > w->zcap) {
			w->zcap = need;
			w->zbuf = xrealloc(w->zbuf, w->zcap);
		}
		zlen = w->zcap;
		if (snappy_compress((const char *)p, n, w->zbuf, &zlen) == SNAPPY_OK &&
		    zlen < n) {
			p = (const uint8_t *)w->zbuf;
			n = zlen;
			flag = WAL_FRAG_SNAPPY;
		}
	}

	/* Records never cross segments (a record larger than a segment gets its own). */
	left = (long long)(PAGE - w->palloc - HDR) +
	    (long long)MAX_FRAG * (w->pages_per_seg - w->done_pages - 1);
	if ((long long)n > left && wal_next_segment(w, NULL, e) == -1)
		return -1;

	do {	/* at least once: an empty record is one empty FULL fragment */
		size_t room = PAGE - w->palloc - HDR;
		size_t l = n < room ? n : room;
		uint8_t *h = w->buf + w->pstart + w->palloc;
		uint8_t type;

		if (first && l == n)
			type = WAL_FRAG_FULL;
		else if (l == n)
			type = WAL_FRAG_LAST;
		else if (first)
			type = WAL_FRAG_FIRST;
		else
			type = WAL_FRAG_MIDDLE;
		h[0] = type | flag;
		h[1] = (uint8_t)(l >> 8);
		h[2] = (uint8_t)l;
		be32_put(h + 3, crc32c(0, p, l));
		if (l > 0)
			memcpy(h + HDR, p, l);
		w->palloc += HDR + l;
		if (PAGE - w->palloc < HDR && page_done(w, e) == -1)
			return -1;
		p += l;
		n -= l;
		first = 0;
	} while (n > 0);
	return 0;
}

int
wal_log(struct wal *w, const struct iovec *recs, size_t n, struct err *e)
{
	if (w->broken)
		return err_set(e, "wal %s: an earlier write failed; reopen to repair", w->dir);
	for (size_t i = 0; i < n; i++)
		if (log_one(w, recs[i].iov_base, recs[i].iov_len, e) == -1)
			return -1;
	return 0;
}

int
wal_flush(struct wal *w, struct err *e)
{
	if (w->broken)
		return err_set(e, "wal %s: an earlier write failed; reopen to repair", w->dir);
	return flush(w, e);
}

int
wal_sync(struct wal *w, struct err *e)
{
	if (wal_flush(w, e) == -1)
		return -1;
	if (fdatasync(w->fd) == -1) {
		w->broken = 1;
		return err_errno(e, "fdatasync segment %s/%08d", w->dir, w->seg);
	}
	return 0;
}

int
wal_next_segment(struct wal *w, int *index, struct err *e)
{
	if (w->broken)
		return err_set(e, "wal %s: an earlier write failed; reopen to repair", w->dir);
	if (finish_segment(w, e) == -1)
		return -1;
	if (segment_create(w, w->seg + 1, e) == -1) {
		w->broken = 1;
		return -1;
	}
	if (index != NULL)
		*index = w->seg;
	return 0;
}

static int
delete_segments(const char *dir, int before, struct err *e)
{
	char path[PATH_MAX];
	int *v;
	size_t n;

	if (list_segments(dir, &v, &n, e) == -1)
		return -1;
	for (size_t i = 0; i < n && v[i] < before; i++) {
		wal_segment_name(path, sizeof(path), dir, v[i]);
		if (unlink(path) == -1 && errno != ENOENT) {
			free(v);
			return err_errno(e, "delete segment %s", path);
		}
	}
	free(v);
	return 0;
}

int
wal_truncate(struct wal *w, int before, struct err *e)
{
	return delete_segments(w->dir, before < w->seg ? before : w->seg, e);
}

static int
is_tmp_checkpoint(const char *name)
{
	static const char *const sfx[] = { ".tmp", ".tmp-for-deletion", ".tmp-for-creation" };
	size_t n = strlen(name);

	if (strncmp(name, "checkpoint.", 11) != 0)
		return 0;
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		size_t k = strlen(sfx[i]);

		if (n > k && strcmp(name + n - k, sfx[i]) == 0)
			return 1;
	}
	return 0;
}

/* A crash while checkpointing leaves checkpoint.N.tmp; Prometheus removes it at start. */
static int
remove_tmp_checkpoints(const char *dir, struct err *e)
{
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if ((d = opendir(dir)) == NULL)
		return err_errno(e, "open %s", dir);
	while (rc == 0 && (de = readdir(d)) != NULL) {
		char path[PATH_MAX];

		if (!is_tmp_checkpoint(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (path_is_dir(path))
			rc = rm_rf(path, e);
	}
	closedir(d);
	return rc;
}

/*
 * Cut dir at c: delete the segments after c->segment, truncate that one to
 * c->good_end, sync. last is the newest segment index of dir.
 */
static int
cut(const char *dir, const struct wal_corruption *c, int last,
    struct wal_repair *rep, struct err *e)
{
	char path[PATH_MAX];
	struct stat st;
	struct wal_repair r;
	int fd;

	memset(&r, 0, sizeof(r));
	r.repaired = 1;
	r.c = *c;
	for (int i = last; i > c->segment; i--) {
		wal_segment_name(path, sizeof(path), dir, i);
		if (stat(path, &st) == 0)
			r.bytes_dropped += (uint64_t)st.st_size;
		if (unlink(path) == -1 && errno != ENOENT)
			return err_errno(e, "delete segment %s", path);
		r.segments_deleted++;
	}
	wal_segment_name(path, sizeof(path), dir, c->segment);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return err_errno(e, "open segment %s", path);
	if (fstat(fd, &st) == -1) {
		close(fd);
		return err_errno(e, "stat %s", path);
	}
	if ((uint64_t)st.st_size > c->good_end) {
		r.bytes_dropped += (uint64_t)st.st_size - c->good_end;
		if (ftruncate(fd, (off_t)c->good_end) == -1) {
			close(fd);
			return err_errno(e, "truncate segment %s", path);
		}
	}
	if (fsync(fd) == -1) {
		close(fd);
		return err_errno(e, "fsync segment %s", path);
	}
	close(fd);
	if (fsync_dir(dir, e) == -1)
		return -1;
	if (rep != NULL)
		*rep = r;
	return 0;
}

/* Read the last segment through; cut it at its first damage. */
static int
check_last_segment(struct wal *w, int last, struct wal_repair *rep, struct err *e)
{
	struct wal_reader *r = wal_reader_new();
	struct wal_corruption c;
	const uint8_t *rec;
	size_t len;
	int rc;

	if (wal_reader_add(r, w->dir, last, last, 0, e) == -1) {
		wal_reader_free(r);
		return -1;
	}
	while ((rc = wal_reader_next(r, &rec, &len, e)) == 1)
		;
	if (rc == 0) {
		wal_reader_free(r);
		return 0;
	}
	if (!wal_reader_corruption(r, &c)) {
		wal_reader_free(r);
		return -1;
	}
	wal_reader_free(r);	/* unmap before truncating */
	return cut(w->dir, &c, last, rep, e);
}

int
wal_open(struct wal **out, const char *dir, const struct wal_opts *opts,
    struct wal_repair *rep, struct err *e)
{
	uint64_t segsize = opts && opts->segment_size ? opts->segment_size : WAL_SEGMENT_SIZE;
	struct wal *w;
	int first, last, cp, next, found;

	*out = NULL;
	if (rep != NULL)
		memset(rep, 0, sizeof(*rep));
	if (segsize % PAGE != 0 || segsize / PAGE > LONG_MAX)
		return err_set(e, "wal %s: segment size %llu is not a multiple of %d",
		    dir, (unsigned long long)segsize, PAGE);
	if (mkdir_p(dir, 0777, e) == -1)
		return -1;
	if (remove_tmp_checkpoints(dir, e) == -1)
		return -1;
	if (wal_segments(dir, &first, &last, e) == -1)
		return -1;
	if ((found = checkpoint_last(dir, &cp, NULL, e)) == -1)
		return -1;
	if (!found)
		cp = -1;

	w = xcalloc(1, sizeof(*w));
	w->dir = xstrdup(dir);
	w->fd = -1;
	w->pages_per_seg = (long)(segsize / PAGE);
	w->compress = opts ? opts->compress : 0;
	w->bufcap = PAGE;
	w->buf = xmalloc(w->bufcap);

	if (cp >= 0 && last <= cp) {
		/*
		 * The checkpoint covers every segment (a crash before they were
		 * deleted, or none left): writing into last+1 would put new data
		 * where the next replay does not look.
		 */
		if (delete_segments(dir, last + 1, e) == -1)
			goto fail;
		next = cp + 1;
	} else if (last >= 0) {
		if (check_last_segment(w, last, rep, e) == -1)
			goto fail;
		next = last + 1;
	} else
		next = 0;
	if (segment_create(w, next, e) == -1)
		goto fail;
	*out = w;
	return 0;
fail:
	free(w->buf);
	free(w->dir);
	free(w);
	return -1;
}

int
wal_repair(struct wal *w, const struct wal_corruption *c, struct wal_repair *rep,
    struct err *e)
{
	int first, last;

	if (rep != NULL)
		memset(rep, 0, sizeof(*rep));
	if (c->checkpoint)
		return err_set(e, "wal %s: damage in checkpoint %s cannot be repaired: %s",
		    w->dir, c->dir, c->why);
	if (c->segment < 0 || c->segment >= w->seg)
		return err_set(e, "wal %s: cannot repair segment %d (active segment %d)",
		    w->dir, c->segment, w->seg);
	if (w->fd != -1)
		close(w->fd);
	w->fd = -1;
	w->broken = 1;		/* until the new active segment exists */
	if (wal_segments(w->dir, &first, &last, e) == -1)
		return -1;
	if (last < c->segment)
		return err_set(e, "wal %s: segment %08d does not exist", w->dir, c->segment);
	if (cut(w->dir, c, last, rep, e) == -1)
		return -1;
	if (segment_create(w, c->segment + 1, e) == -1)
		return -1;
	w->broken = 0;
	return 0;
}

int
wal_close(struct wal *w, struct err *e)
{
	int rc = 0;

	if (w == NULL)
		return 0;
	if (w->fd != -1) {
		if (w->broken)
			rc = err_set(e, "wal %s: closed after a failed write", w->dir);
		else
			rc = finish_segment(w, e);
		if (w->fd != -1)
			close(w->fd);
	}
	free(w->buf);
	free(w->zbuf);
	free(w->dir);
	free(w);
	return rc;
}

const char *
wal_dir(const struct wal *w)
{
	return w->dir;
}

int
wal_compressing(const struct wal *w)
{
	return w->compress;
}

int
wal_active_segment(const struct wal *w)
{
	return w->seg;
}

size_t
wal_pending(const struct wal *w)
{
	return w->pstart + w->palloc - w->flushed;
}

/* ---- reader ---- */

struct wal_reader *
wal_reader_new(void)
{
	struct wal_reader *r = xcalloc(1, sizeof(*r));

	return r;
}

static struct rseg *
add_seg(struct wal_reader *r)
{
	if (r->nsegs == r->segcap) {
		r->segcap = r->segcap ? r->segcap * 2 : 8;
		r->segs = xreallocarray(r->segs, r->segcap, sizeof(*r->segs));
	}
	memset(&r->segs[r->nsegs], 0, sizeof(r->segs[0]));
	return &r->segs[r->nsegs++];
}

int
wal_reader_add(struct wal_reader *r, const char *dir, int first, int last,
    int checkpoint, struct err *e)
{
	int *v;
	size_t n;

	if (list_segments(dir, &v, &n, e) == -1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct rseg *s;

		if ((first >= 0 && v[i] < first) || (last >= 0 && v[i] > last))
			continue;
		s = add_seg(r);
		s->dir = xstrdup(dir);
		s->index = v[i];
		s->checkpoint = checkpoint;
		s->last = i == n - 1;
	}
	free(v);
	return 0;
}

void
wal_reader_add_mem(struct wal_reader *r, const uint8_t *p, size_t len)
{
	struct rseg *s = add_seg(r);

	s->mem = p;
	s->memlen = len;
	s->last = 1;
}

static int
seg_open(struct wal_reader *r, struct err *e)
{
	struct rseg *s = &r->segs[r->cur];

	if (s->dir == NULL) {
		r->p = s->mem;
		r->len = s->memlen;
	} else {
		char path[PATH_MAX];

		wal_segment_name(path, sizeof(path), s->dir, s->index);
		if (file_map(path, &r->map, e) == -1)
			return err_wrap(e, "open WAL segment %d", s->index);
		r->p = r->map.p;
		r->len = r->map.len;
	}
	r->vlen = (r->len + PAGE - 1) / PAGE * PAGE;
	r->off = r->good_end = r->rec_start = r->rec_end = 0;
	r->nfrag = 0;
	r->open = 1;
	return 0;
}

static void
seg_close(struct wal_reader *r)
{
	file_unmap(&r->map);
	r->p = NULL;
	r->len = r->vlen = 0;
	r->open = 0;
}

/* n bytes at off, the part past the real end read as zeros. */
static const uint8_t *
bytes_at(struct wal_reader *r, size_t off, size_t n)
{
	size_t real;

	if (off + n <= r->len)
		return r->p + off;
	real = off < r->len ? r->len - off : 0;
	if (real > 0)
		memcpy(r->scratch, r->p + off, real);
	memset(r->scratch + real, 0, n - real);
	return r->scratch;
}

static int
tail_is_zero(const struct wal_reader *r, size_t from)
{
	for (size_t i = from; i < r->len; i++)
		if (r->p[i] != 0)
			return 0;
	return 1;
}

/*
 * Record damage found at off in the open segment. A torn tail is damage in
 * the newest segment of a WAL with nothing but zeros after `after` (what a
 * crash mid-write leaves: a short file, or pages the kernel had only
 * partly persisted).
 */
static int
damage(struct wal_reader *r, size_t off, size_t after, struct err *e,
    const char *fmt, ...)
{
	const struct rseg *s = &r->segs[r->cur];
	struct wal_corruption *c = &r->c;
	va_list ap;

	memset(c, 0, sizeof(*c));
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	snprintf(c->dir, sizeof(c->dir), "%s", s->dir ? s->dir : "");
	c->checkpoint = s->checkpoint;
	c->segment = s->index;
	c->offset = off;
	c->good_end = r->good_end;
	c->torn = s->last && !s->checkpoint && tail_is_zero(r, after);
	r->corrupt = 1;
	r->failed = 1;
	err_set(&r->err, "corruption in segment %s/%08d at %zu: %s",
	    s->dir ? s->dir : "", s->index, off, c->why);
	if (e != NULL)
		*e = r->err;
	return -1;
}

/* The record is complete in r->rec (or, zero-copy, at r->p + rec_start + HDR). */
static int
complete(struct wal_reader *r, const uint8_t **rec, size_t *len, int direct,
    struct err *e)
{
	const uint8_t *p = direct ? r->p + r->rec_start + HDR : r->rec.p;
	size_t n = direct ? r->off - r->rec_start - HDR : r->rec.len;
	size_t ulen;

	r->rec_end = r->off;
	if (r->comp && n > 0) {
		if (snappy_uncompressed_length((const char *)p, n, &ulen) != SNAPPY_OK ||
		    ulen > WAL_MAX_RECORD || ulen > n * 22)	/* snappy expands 21.3x at most */
			return damage(r, r->rec_start, r->rec_end, e,
			    "snappy: corrupt input");
		r->out.len = 0;
		buf_reserve(&r->out, ulen + 1);
		if (snappy_uncompress((const char *)p, n, (char *)r->out.p, &ulen) != SNAPPY_OK)
			return damage(r, r->rec_start, r->rec_end, e,
			    "snappy: corrupt input");
		p = r->out.p;
		n = ulen;
	}
	r->good_end = r->off;
	r->nfrag = 0;
	*rec = p;
	*len = n;
	return 1;
}

static int
seg_next(struct wal_reader *r, const uint8_t **rec, size_t *len, struct err *e)
{
	for (;;) {
		const uint8_t *h, *pl;
		size_t start = r->off, n;
		uint32_t crc, got;
		int type, comp;

		if (r->off >= r->vlen) {
			if (r->nfrag > 0)
				return damage(r, r->rec_start, r->vlen, e,
				    "last record is torn");
			return 0;
		}
		h = bytes_at(r, r->off, 1);
		type = h[0] & 7;
		comp = (h[0] & WAL_FRAG_SNAPPY) != 0;
		if (type == WAL_FRAG_PAD) {
			size_t end = (r->off / PAGE + 1) * PAGE;

			for (size_t i = r->off + 1; i < end && i < r->len; i++)
				if (r->p[i] != 0)
					return damage(r, i, end, e,
					    "unexpected non-zero byte in padded page");
			r->off = end;
			continue;
		}
		if (h[0] & 0xf0)
			return damage(r, start, start + HDR, e,
			    "unsupported fragment flags 0x%02x", h[0]);
		if (r->off + HDR > r->vlen)
			return damage(r, start, r->vlen, e,
			    "read remaining header: unexpected EOF");
		h = bytes_at(r, r->off, HDR);
		n = (size_t)h[1] << 8 | h[2];
		crc = be32_get(h + 3);
		if (n > MAX_FRAG)
			return damage(r, start, start + HDR, e, "invalid record size %zu", n);
		if (r->off + HDR + n > r->vlen)
			return damage(r, start, r->vlen, e, "unexpected EOF");
		pl = bytes_at(r, r->off + HDR, n);
		if ((got = crc32c(0, pl, n)) != crc)
			return damage(r, start, start + HDR + n, e,
			    "unexpected checksum %x, expected %x", got, crc);
		switch (type) {
		case WAL_FRAG_FULL:
			if (r->nfrag > 0)
				return damage(r, start, start + HDR + n, e,
				    "unexpected full record");
			break;
		case WAL_FRAG_FIRST:
			if (r->nfrag > 0)
				return damage(r, start, start + HDR + n, e,
				    "unexpected first record, dropping buffer");
			break;
		case WAL_FRAG_MIDDLE:
		case WAL_FRAG_LAST:
			if (r->nfrag == 0)
				return damage(r, start, start + HDR + n, e,
				    "unexpected %s record, dropping buffer",
				    type == WAL_FRAG_MIDDLE ? "middle" : "last");
			if (comp != r->comp)
				return damage(r, start, start + HDR + n, e,
				    "fragments of one record differ in compression");
			break;
		default:
			return damage(r, start, start + HDR + n, e,
			    "unexpected record type %d", type);
		}
		r->off += HDR + n;
		if (r->nfrag++ == 0) {
			r->rec_start = start;
			r->comp = comp;
			r->rec.len = 0;
		}
		/* A whole record in one fragment of real bytes is returned in place. */
		if (type == WAL_FRAG_FULL && r->off <= r->len)
			return complete(r, rec, len, 1, e);
		if (n > 0) {
			if (r->rec.len + n > WAL_MAX_RECORD)
				return damage(r, r->rec_start, r->off, e,
				    "record larger than %u bytes", WAL_MAX_RECORD);
			buf_put_bytes(&r->rec, pl, n);
		}
		if (type == WAL_FRAG_FULL || type == WAL_FRAG_LAST)
			return complete(r, rec, len, 0, e);
	}
}

int
wal_reader_next(struct wal_reader *r, const uint8_t **rec, size_t *len, struct err *e)
{
	if (r->failed) {
		if (e != NULL)
			*e = r->err;
		return -1;
	}
	for (;;) {
		int rc;

		if (!r->open) {
			if (r->cur >= r->nsegs)
				return 0;
			if (seg_open(r, &r->err) == -1) {
				r->failed = 1;
				if (e != NULL)
					*e = r->err;
				return -1;
			}
		}
		if ((rc = seg_next(r, rec, len, e)) != 0)
			return rc;
		seg_close(r);
		r->cur++;
	}
}

int
wal_reader_corruption(const struct wal_reader *r, struct wal_corruption *c)
{
	if (!r->corrupt)
		return 0;
	*c = r->c;
	return 1;
}

void
wal_reader_bad_record(const struct wal_reader *r, const char *why,
    struct wal_corruption *c)
{
	const struct rseg *s = &r->segs[r->cur < r->nsegs ? r->cur : r->nsegs - 1];

	memset(c, 0, sizeof(*c));
	snprintf(c->why, sizeof(c->why), "%s", why);
	snprintf(c->dir, sizeof(c->dir), "%s", s->dir ? s->dir : "");
	c->checkpoint = s->checkpoint;
	c->segment = s->index;
	c->offset = r->rec_start;
	c->good_end = r->rec_start;
	c->torn = s->last && !s->checkpoint && r->open && tail_is_zero(r, r->rec_end);
}

void
wal_reader_pos(const struct wal_reader *r, int *segment, uint64_t *start, uint64_t *end)
{
	if (segment != NULL)
		*segment = r->cur < r->nsegs ? r->segs[r->cur].index : -1;
	if (start != NULL)
		*start = r->rec_start;
	if (end != NULL)
		*end = r->rec_end;
}

void
wal_reader_free(struct wal_reader *r)
{
	if (r == NULL)
		return;
	seg_close(r);
	for (size_t i = 0; i < r->nsegs; i++)
		free(r->segs[i].dir);
	free(r->segs);
	buf_free(&r->rec);
	buf_free(&r->out);
	free(r);
}
