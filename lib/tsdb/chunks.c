#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base/fileutil.h"
#include "lib/base/xmalloc.h"
#include "lib/tsdb/chunks.h"
#include "lib/tsdb/crc32c.h"
#include "lib/tsdb/encoding.h"

#define SEGMENT_HEADER_SIZE	8
#define CHUNK_LEN_FIELD_MAX	5	/* a 32-bit uvarint, what Go budgets per chunk */
#define CHUNK_CRC_SIZE		4
#define WRITE_BUF_SIZE		((size_t)4 << 20)

struct chunk_writer {
	char		*dir;
	int		 dirfd;
	int		 fd;		/* current segment; -1 before the first */
	char		*path;		/* of the current segment, for messages */
	uint64_t	 segsize;
	uint64_t	 n;		/* bytes in the current segment, header included */
	uint64_t	 done;		/* bytes of the segments already closed */
	uint32_t	 nsegs;
	uint8_t		*wbuf;
	size_t		 wlen;
	int		 failed;
};

struct chunk_reader {
	size_t		 nsegs;
	const uint8_t	**segs;
	size_t		*lens;
	struct mapped	*maps;		/* NULL when the caller owns the bytes */
	uint64_t	 size;
};

static int	write_all(int, const uint8_t *, size_t);
static int	writer_flush(struct chunk_writer *, struct err *);
static int	writer_put(struct chunk_writer *, const void *, size_t, struct err *);
static int	writer_finish_segment(struct chunk_writer *, struct err *);
static int	writer_cut(struct chunk_writer *, struct err *);
static int	writer_record(struct chunk_writer *, struct chunk *, struct err *);
static int	name_cmp(const void *, const void *);
static int	reader_check(struct chunk_reader *, struct err *);

struct chunk_writer *
chunk_writer_open(const char *chunks_dir, uint64_t segment_size, struct err *e)
{
	struct chunk_writer *w;
	int fd;

	if (mkdir_p(chunks_dir, 0777, e) == -1)
		return NULL;
	if ((fd = open(chunks_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		err_errno(e, "open %s", chunks_dir);
		return NULL;
	}
	w = xcalloc(1, sizeof(*w));
	w->dir = xstrdup(chunks_dir);
	w->dirfd = fd;
	w->fd = -1;
	w->segsize = segment_size ? segment_size : CHUNK_SEGMENT_SIZE_DEFAULT;
	return w;
}

static int
write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t k = write(fd, p, len);

		if (k == -1 && errno == EINTR)
			continue;
		if (k == -1)
			return -1;
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

static int
writer_flush(struct chunk_writer *w, struct err *e)
{
	if (w->wlen == 0)
		return 0;
	if (write_all(w->fd, w->wbuf, w->wlen) == -1)
		return err_errno(e, "write %s", w->path);
	w->wlen = 0;
	return 0;
}

static int
writer_put(struct chunk_writer *w, const void *p, size_t len, struct err *e)
{
	if (len > WRITE_BUF_SIZE - w->wlen && writer_flush(w, e) == -1)
		return -1;
	if (len >= WRITE_BUF_SIZE) {
		/* Too big to be worth copying through the buffer. */
		if (write_all(w->fd, p, len) == -1)
			return err_errno(e, "write %s", w->path);
	} else {
		memcpy(w->wbuf + w->wlen, p, len);
		w->wlen += len;
	}
	w->n += len;
	return 0;
}

/* Flush and sync the current segment; it was never preallocated, so its size is exact. */
static int
writer_finish_segment(struct chunk_writer *w, struct err *e)
{
	int fd = w->fd, rc = 0;

	if (fd == -1)
		return 0;
	if (writer_flush(w, e) == -1)
		rc = -1;
	else if (fsync(fd) == -1)
		rc = err_errno(e, "fsync %s", w->path);
	w->fd = -1;
	if (close(fd) == -1 && rc == 0)
		rc = err_errno(e, "close %s", w->path);
	if (rc == 0) {
		w->done += w->n;
		w->n = 0;
	}
	return rc;
}

static int
writer_cut(struct chunk_writer *w, struct err *e)
{
	static const uint8_t hdr[SEGMENT_HEADER_SIZE] = { 0x85, 0xbd, 0x40, 0xdd, 0x01, 0, 0, 0 };

	if (writer_finish_segment(w, e) == -1)
		return -1;
	free(w->path);
	xasprintf(&w->path, "%s/%06u", w->dir, w->nsegs + 1);
	w->fd = open(w->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (w->fd == -1)
		return err_errno(e, "create %s", w->path);
	w->nsegs++;
	if (w->wbuf == NULL)
		w->wbuf = xmalloc(WRITE_BUF_SIZE);
	w->n = 0;
	return writer_put(w, hdr, sizeof(hdr), e);
}

static int
writer_record(struct chunk_writer *w, struct chunk *c, struct err *e)
{
	uint8_t head[11], crc[CHUNK_CRC_SIZE];
	size_t k;

	/* A ref holds a 32-bit offset. */
	if (w->n > UINT32_MAX)
		return err_set(e, "%s: segment offset %ju does not fit a chunk ref",
		    w->path, (uintmax_t)w->n);
	c->ref = (uint64_t)(w->nsegs - 1) << 32 | w->n;
	k = uvarint_put(head, c->len);
	head[k++] = c->enc;
	be32_put(crc, crc32c(crc32c(0, &c->enc, 1), c->data, c->len));
	if (writer_put(w, head, k, e) == -1 ||
	    writer_put(w, c->data, c->len, e) == -1 ||
	    writer_put(w, crc, sizeof(crc), e) == -1)
		return -1;
	return 0;
}

/*
 * Prometheus' WriteChunks: segments are cut between a series' chunks by an
 * estimate that budgets 5 bytes for every length field (§4). The decision
 * for chunk i depends only on the estimates and on the segment fill before
 * this call, so it can be taken while writing.
 */
int
chunk_writer_write(struct chunk_writer *w, struct chunk *chunks, size_t n, struct err *e)
{
	uint64_t n0 = w->n, batch = 0;
	int first = 1;

	if (w->failed)
		return err_set(e, "chunk writer %s: an earlier write failed", w->dir);
	if (w->fd == -1 && writer_cut(w, e) == -1)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		uint64_t est = CHUNK_LEN_FIELD_MAX + 1 + (uint64_t)chunks[i].len + CHUNK_CRC_SIZE;
		int cut;

		batch += est;
		cut = i != 0 && batch + SEGMENT_HEADER_SIZE > w->segsize;
		if (first && n0 > SEGMENT_HEADER_SIZE) {
			cut = batch + n0 > w->segsize;
			if (cut)
				first = 0;
		}
		if (cut) {
			batch = est;
			if (writer_cut(w, e) == -1)
				goto fail;
		}
		if (writer_record(w, &chunks[i], e) == -1)
			goto fail;
	}
	return 0;
fail:
	w->failed = 1;
	return -1;
}

uint64_t
chunk_writer_size(const struct chunk_writer *w)
{
	return w->done + w->n;
}

int
chunk_writer_close(struct chunk_writer *w, struct err *e)
{
	int rc = 0;

	if (w->failed) {
		if (w->fd != -1)
			close(w->fd);
		rc = err_set(e, "chunk writer %s: an earlier write failed", w->dir);
	} else if (writer_finish_segment(w, e) == -1)
		rc = -1;
	else if (fsync(w->dirfd) == -1)
		rc = err_errno(e, "fsync %s", w->dir);
	close(w->dirfd);
	free(w->wbuf);
	free(w->path);
	free(w->dir);
	free(w);
	return rc;
}

/* Go's strconv.ParseUint(name, 10, 64) succeeds: digits only, fits 64 bits. */
int
chunk_segment_name_ok(const char *name)
{
	uint64_t v = 0;

	if (*name == '\0')
		return 0;
	for (const char *p = name; *p; p++) {
		unsigned d;

		if (*p < '0' || *p > '9')
			return 0;
		d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	return 1;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
reader_check(struct chunk_reader *r, struct err *e)
{
	r->size = 0;
	for (size_t i = 0; i < r->nsegs; i++) {
		const uint8_t *p = r->segs[i];

		if (r->lens[i] < SEGMENT_HEADER_SIZE)
			return err_set(e, "invalid segment header in segment %zu: %zu bytes",
			    i, r->lens[i]);
		if (be32_get(p) != CHUNK_SEGMENT_MAGIC)
			return err_set(e, "segment %zu: invalid magic number %x", i, be32_get(p));
		if (p[4] != 1)
			return err_set(e, "segment %zu: invalid chunk format version %d", i, p[4]);
		r->size += r->lens[i];
	}
	return 0;
}

struct chunk_reader *
chunk_reader_open(const char *chunks_dir, struct err *e)
{
	struct chunk_reader *r;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	DIR *d;

	if ((d = opendir(chunks_dir)) == NULL) {
		err_errno(e, "open %s", chunks_dir);
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		if (!chunk_segment_name_ok(de->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			names = xreallocarray(names, cap, sizeof(*names));
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);

	r = xcalloc(1, sizeof(*r));
	r->segs = xcalloc(n ? n : 1, sizeof(*r->segs));
	r->lens = xcalloc(n ? n : 1, sizeof(*r->lens));
	r->maps = xcalloc(n ? n : 1, sizeof(*r->maps));
	for (size_t i = 0; i < n; i++) {
		char *path;
		int rc;

		xasprintf(&path, "%s/%s", chunks_dir, names[i]);
		rc = file_map(path, &r->maps[i], e);
		free(path);
		if (rc == -1) {
			r->nsegs = i;
			goto fail;
		}
		r->segs[i] = r->maps[i].p;
		r->lens[i] = r->maps[i].len;
	}
	r->nsegs = n;
	if (reader_check(r, e) == -1) {
		err_wrap(e, "%s", chunks_dir);
		goto fail;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
fail:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	chunk_reader_close(r);
	return NULL;
}

struct chunk_reader *
chunk_reader_open_mem(const uint8_t *const *segs, const size_t *lens, size_t nsegs,
    struct err *e)
{
	struct chunk_reader *r = xcalloc(1, sizeof(*r));

	r->nsegs = nsegs;
	r->segs = xcalloc(nsegs ? nsegs : 1, sizeof(*r->segs));
	r->lens = xcalloc(nsegs ? nsegs : 1, sizeof(*r->lens));
	for (size_t i = 0; i < nsegs; i++) {
		r->segs[i] = segs[i];
		r->lens[i] = lens[i];
	}
	if (reader_check(r, e) == -1) {
		chunk_reader_close(r);
		return NULL;
	}
	return r;
}

void
chunk_reader_close(struct chunk_reader *r)
{
	if (r == NULL)
		return;
	if (r->maps != NULL) {
		for (size_t i = 0; i < r->nsegs; i++)
			file_unmap(&r->maps[i]);
		free(r->maps);
	}
	free(r->segs);
	free(r->lens);
	free(r);
}

int
chunk_reader_get(struct chunk_reader *r, uint64_t ref, struct chunk *out, struct err *e)
{
	uint64_t seg = ref >> 32, off = ref & 0xffffffffu, dlen;
	const uint8_t *p;
	size_t len, k, start;

	if (seg >= r->nsegs)
		return err_set(e, "chunk ref 0x%jx: segment index %ju out of range",
		    (uintmax_t)ref, (uintmax_t)seg);
	p = r->segs[seg];
	len = r->lens[seg];
	if (off < SEGMENT_HEADER_SIZE || off + CHUNK_LEN_FIELD_MAX > len)
		return err_set(e, "chunk ref 0x%jx: offset %ju outside segment of %zu bytes",
		    (uintmax_t)ref, (uintmax_t)off, len);
	if ((k = uvarint_get(p + off, CHUNK_LEN_FIELD_MAX, &dlen)) == 0)
		return err_set(e, "chunk ref 0x%jx: bad length field", (uintmax_t)ref);
	start = (size_t)off + k;
	if (dlen > len - start || len - start - dlen < 1 + CHUNK_CRC_SIZE)
		return err_set(e, "chunk ref 0x%jx: %ju data bytes run past the segment end",
		    (uintmax_t)ref, (uintmax_t)dlen);
	if (crc32c(0, p + start, 1 + dlen) != be32_get(p + start + 1 + dlen))
		return err_set(e, "chunk ref 0x%jx: checksum mismatch", (uintmax_t)ref);
	switch (p[start]) {
	case 1:
	case 2:
	case 3:
		break;
	default:
		return err_set(e, "chunk ref 0x%jx: invalid chunk encoding %u",
		    (uintmax_t)ref, p[start]);
	}
	out->enc = p[start];
	out->data = p + start + 1;
	out->len = (size_t)dlen;
	return 0;
}

size_t
chunk_reader_nsegments(const struct chunk_reader *r)
{
	return r->nsegs;
}

uint64_t
chunk_reader_size(const struct chunk_reader *r)
{
	return r->size;
}
