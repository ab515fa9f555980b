/*
 * verify — walks every byte range of a block that a reader may touch and
 * reports what does not hold. The index sections are walked raw (with the
 * same bounds-checked decoding the readers use), so that entries no lookup
 * would reach are checked too; the series and postings found are then read
 * again through index_reader, the way queries read them.
 */
#include <sys/types.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base/fileutil.h"
#include "lib/base/xmalloc.h"
#include "lib/tsdb/chunks.h"
#include "lib/tsdb/crc32c.h"
#include "lib/tsdb/encoding.h"
#include "lib/tsdb/gofmt.h"
#include "lib/tsdb/index.h"
#include "lib/tsdb/meta.h"
#include "lib/tsdb/tombstones.h"
#include "lib/tsdb/ulid.h"
#include "lib/tsdb/verify.h"
#include "lib/tsdb/xor.h"

struct vctx {
	const char		*dir;
	verify_fault_fn		*fn;
	void			*arg;
	size_t			 nfaults;
	size_t			 max_faults;
	int			 stopped;

	int			 have_meta;
	struct block_meta	 meta;

	struct mapped		 imap;
	struct index_reader	*ir;
	struct chunk_reader	*cr;

	uint32_t		*ids;		/* series found, ascending */
	size_t			 nids;
	size_t			 idcap;
	int			 series_complete;
	uint64_t		 label_pairs;
	uint64_t		 nchunks;
	uint64_t		 nsamples;
	int			 samples_known;
	struct buf		 lbuf;		/* labels text for messages */
};

static void	fault(struct vctx *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static const char *series_name(struct vctx *, uint32_t, const struct labels *);
static void	verify_meta(struct vctx *);
static void	verify_segment_headers(struct vctx *, const char *);
static void	verify_index_sections(struct vctx *);
static void	verify_series(struct vctx *, int);
static void	verify_series_labels(struct vctx *, uint32_t, const struct labels *);
static void	verify_series_chunks(struct vctx *, uint32_t, const struct index_series *);
static void	verify_chunk_data(struct vctx *, uint32_t, const struct index_series *, size_t);
static void	verify_postings(struct vctx *);
static void	verify_tombstones(struct vctx *);
static void	verify_stats(struct vctx *);

static void
fault(struct vctx *v, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (v->stopped)
		return;
	if (v->nfaults == VERIFY_MAX_FAULTS) {
		snprintf(line, sizeof(line), "too many faults, stopped after %d",
		    VERIFY_MAX_FAULTS);
		v->fn(v->arg, line);
		v->nfaults++;
		v->stopped = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	v->fn(v->arg, line);
	v->nfaults++;
	if (v->max_faults != 0 && v->nfaults >= v->max_faults)
		v->stopped = 1;
}

/* "series ID {labels}", the labels cut short; valid until the next call. */
static const char *
series_name(struct vctx *v, uint32_t id, const struct labels *ls)
{
	char head[32];
	size_t n;

	buf_reset(&v->lbuf);
	n = (size_t)snprintf(head, sizeof(head), "series %u ", id);
	buf_put_bytes(&v->lbuf, head, n);
	if (ls != NULL)
		gofmt_labels(&v->lbuf, ls);
	if (v->lbuf.len > 300) {
		v->lbuf.len = 300;
		buf_put_bytes(&v->lbuf, "...", 3);
	}
	buf_put_u8(&v->lbuf, '\0');
	return (const char *)v->lbuf.p;
}

/* A reader's message without the prefix the fault line already has. */
static const char *
unprefix(const char *msg, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(msg, prefix, n) == 0 ? msg + n : msg;
}

static size_t
align_up(size_t off, size_t a)
{
	return (off + a - 1) / a * a;
}

size_t
verify_block(const char *dir, verify_fault_fn *fn, void *arg)
{
	char cpath[PATH_MAX], ipath[PATH_MAX];
	struct vctx v;
	struct err e;

	memset(&v, 0, sizeof(v));
	v.dir = dir;
	v.fn = fn;
	v.arg = arg;
	v.samples_known = 1;
	if ((size_t)snprintf(cpath, sizeof(cpath), "%s/chunks", dir) >= sizeof(cpath) ||
	    (size_t)snprintf(ipath, sizeof(ipath), "%s/index", dir) >= sizeof(ipath)) {
		fault(&v, "path too long");
		return v.nfaults;
	}

	verify_meta(&v);
	if ((v.cr = chunk_reader_open(cpath, &e)) == NULL) {
		fault(&v, "chunks: %s", unprefix(e.msg, "chunks: "));
		v.samples_known = 0;
	} else
		verify_segment_headers(&v, cpath);
	if (file_map(ipath, &v.imap, &e) == -1)
		fault(&v, "index: %s", unprefix(e.msg, "index: "));
	else if ((v.ir = index_reader_open_mem(v.imap.p, v.imap.len, &e)) == NULL)
		fault(&v, "index: %s", unprefix(e.msg, "index: "));
	if (v.ir != NULL) {
		verify_index_sections(&v);
		verify_series(&v, 1);
		verify_postings(&v);
	}
	verify_tombstones(&v);
	if (v.ir != NULL)
		verify_stats(&v);

	if (v.ir != NULL)
		index_reader_close(v.ir);
	if (v.imap.p != NULL)
		file_unmap(&v.imap);
	if (v.cr != NULL)
		chunk_reader_close(v.cr);
	if (v.have_meta)
		meta_free(&v.meta);
	free(v.ids);
	buf_free(&v.lbuf);
	return v.nfaults;
}

/*
 * The chunk reader checks magic and version; the three reserved bytes of a
 * segment header are checked here, so that no flipped byte of a segment
 * goes unseen.
 */
static void
verify_segment_headers(struct vctx *v, const char *chunks_dir)
{
	char path[2 * PATH_MAX];
	struct dirent *de;
	uint8_t h[8];
	DIR *d;
	int fd;

	if ((d = opendir(chunks_dir)) == NULL) {
		fault(v, "chunks: cannot open %s", chunks_dir);
		return;
	}
	while ((de = readdir(d)) != NULL && !v->stopped) {
		if (!chunk_segment_name_ok(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", chunks_dir, de->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
			fault(v, "chunks/%s: cannot open", de->d_name);
			continue;
		}
		if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
		    be32_get(h) != CHUNK_SEGMENT_MAGIC || h[4] != 1 ||
		    h[5] != 0 || h[6] != 0 || h[7] != 0)
			fault(v, "chunks/%s: bad segment header", de->d_name);
		close(fd);
	}
	closedir(d);
}

static void
verify_meta(struct vctx *v)
{
	const char *base = strrchr(v->dir, '/') ? strrchr(v->dir, '/') + 1 : v->dir;
	struct ulid id;
	struct err e;

	memset(&v->meta, 0, sizeof(v->meta));
	if (meta_read(v->dir, &v->meta, &e) == -1) {
		fault(v, "meta.json: %s", unprefix(e.msg, "meta.json: "));
		meta_free(&v->meta);
		return;
	}
	v->have_meta = 1;
	if (v->meta.version != 1)
		fault(v, "meta.json: version %d, want 1", v->meta.version);
	if (strlen(base) == ULID_LEN && ulid_parse(base, &id) == 0 &&
	    strcmp(base, v->meta.ulid) != 0)
		fault(v, "meta.json: ulid %s differs from the directory name", v->meta.ulid);
	if (v->meta.min_time >= v->meta.max_time)
		fault(v, "meta.json: minTime %lld is not below maxTime %lld",
		    (long long)v->meta.min_time, (long long)v->meta.max_time);
}

/* Padding must be zero bytes: then no flipped byte of an index goes unseen. */
static int
check_padding(struct vctx *v, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		if (v->imap.p[i] != 0) {
			fault(v, "index: nonzero padding byte at offset %zu", i);
			return -1;
		}
	}
	return 0;
}

/*
 * One section at off: BE32 len, len bytes, BE32 CRC32C of those bytes, all
 * before end. Returns the offset after it, or 0 after reporting a fault.
 */
static size_t
check_section(struct vctx *v, const char *what, size_t off, size_t end)
{
	const uint8_t *p = v->imap.p;
	uint32_t len;

	if (off > end || end - off < 8) {
		fault(v, "index: %s at offset %zu: truncated", what, off);
		return 0;
	}
	len = be32_get(p + off);
	if (len > end - off - 8) {
		fault(v, "index: %s at offset %zu: length %u runs past the section end %zu",
		    what, off, len, end);
		return 0;
	}
	if (crc32c(0, p + off + 4, len) != be32_get(p + off + 4 + len)) {
		fault(v, "index: %s at offset %zu: checksum mismatch", what, off);
		return 0;
	}
	return off + 8 + (size_t)len;
}

/* A label index: #names 1, n values, len = 8 + 4n. */
static int
check_label_index(struct vctx *v, size_t off)
{
	const uint8_t *p = v->imap.p + off;
	uint32_t len = be32_get(p);

	if (len < 8 || be32_get(p + 4) != 1 || (uint64_t)be32_get(p + 8) * 4 + 8 != len) {
		fault(v, "index: label index at offset %zu: bad layout", off);
		return -1;
	}
	return 0;
}

/* A postings list: n, then n strictly ascending series IDs; len = 4 + 4n. */
static int
check_postings_list(struct vctx *v, size_t off)
{
	const uint8_t *p = v->imap.p + off;
	uint32_t len = be32_get(p), n;

	if (len < 4 || (uint64_t)(n = be32_get(p + 4)) * 4 + 4 != len) {
		fault(v, "index: postings list at offset %zu: bad layout", off);
		return -1;
	}
	for (uint32_t i = 1; i < n; i++) {
		if (be32_get(p + 8 + 4 * i) <= be32_get(p + 4 + 4 * i)) {
			fault(v, "index: postings list at offset %zu: entry %u not ascending",
			    off, i);
			return -1;
		}
	}
	return 0;
}

/* A run of sections, each aligned to 4 after zero padding, from start to end. */
static void
walk_sections(struct vctx *v, const char *what, size_t start, size_t end,
    int (*check)(struct vctx *, size_t))
{
	size_t off = start, at;

	for (;;) {
		at = align_up(off, 4);
		if (at > end)
			at = end;
		if (check_padding(v, off, at) == -1 || at >= end)
			return;
		if ((off = check_section(v, what, at, end)) == 0 || check(v, at) == -1)
			return;
	}
}

/* Everything but the series and the parts index_reader_open checked. */
static void
verify_index_sections(struct vctx *v)
{
	const struct index_toc *toc = index_reader_toc(v->ir);
	size_t len = v->imap.len, end;

	if (toc->label_indices > toc->postings || toc->postings > toc->label_indices_table ||
	    toc->label_indices_table > toc->postings_table || len < 52 ||
	    toc->postings_table > len - 52 ||
	    toc->series > toc->label_indices || toc->symbols > toc->series) {
		fault(v, "index: TOC offsets out of order or past the end of the file");
		return;
	}
	walk_sections(v, "label index", (size_t)toc->label_indices, (size_t)toc->postings,
	    check_label_index);
	walk_sections(v, "postings list", (size_t)toc->postings,
	    (size_t)toc->label_indices_table, check_postings_list);
	/* Both offset tables are unaligned, back to back, and end at the TOC. */
	end = check_section(v, "label offset table", (size_t)toc->label_indices_table,
	    (size_t)toc->postings_table);
	if (end != 0 && end != (size_t)toc->postings_table)
		fault(v, "index: label offset table does not end where the postings "
		    "offset table starts");
	end = check_section(v, "postings offset table", (size_t)toc->postings_table,
	    len - 52);
	if (end != 0 && end != len - 52)
		fault(v, "index: postings offset table does not end where the TOC starts");
}

static void
add_id(struct vctx *v, uint32_t id)
{
	if (v->nids == v->idcap) {
		v->idcap = v->idcap ? v->idcap * 2 : 1024;
		v->ids = xreallocarray(v->ids, v->idcap, sizeof(v->ids[0]));
	}
	v->ids[v->nids++] = id;
}

static int
have_id(const struct vctx *v, uint32_t id)
{
	size_t lo = 0, hi = v->nids;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v->ids[mid] == id)
			return 1;
		if (v->ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/*
 * Series entries: zero padding to a multiple of 16, uvarint len, body, BE32
 * CRC. With decode, each is also read through the index reader and checked.
 */
static void
verify_series(struct vctx *v, int decode)
{
	const struct index_toc *toc = index_reader_toc(v->ir);
	const uint8_t *p = v->imap.p;
	struct index_series ser[2];
	int cur = 0, have_prev = 0, version = index_reader_version(v->ir);
	uint32_t prev_id = 0;
	size_t off, at, end = (size_t)toc->label_indices;

	memset(ser, 0, sizeof(ser));
	if (toc->series > toc->label_indices || toc->label_indices > v->imap.len) {
		fault(v, "index: series section [%llu, %llu) outside the file",
		    (unsigned long long)toc->series, (unsigned long long)toc->label_indices);
		return;
	}
	for (off = (size_t)toc->series; !v->stopped; ) {
		uint64_t blen;
		size_t n, body;
		uint32_t id;
		struct err e;

		at = align_up(off, 16);
		if (at > end)
			at = end;
		if (check_padding(v, off, at) == -1)
			break;
		if ((off = at) >= end) {
			v->series_complete = 1;
			break;
		}
		n = uvarint_get(p + off, end - off < 10 ? end - off : 10, &blen);
		/* A body holds at least the label and chunk counts. */
		if (n == 0 || n > 5 || blen < 2 || blen > end - off - n ||
		    end - off - n - blen < 4) {
			fault(v, "index: series entry at offset %zu: bad length", off);
			break;
		}
		body = off + n;
		if (crc32c(0, p + body, (size_t)blen) != be32_get(p + body + blen)) {
			fault(v, "index: series entry at offset %zu: checksum mismatch", off);
			break;
		}
		if (version == 2)
			id = (uint32_t)(off / 16);
		else if (off > UINT32_MAX) {
			fault(v, "index: series entry at offset %zu: beyond v1 reach", off);
			break;
		} else
			id = (uint32_t)off;
		off = body + (size_t)blen + 4;
		add_id(v, id);
		if (!decode)
			continue;
		if (index_reader_series(v->ir, id, &ser[cur], &e) == -1) {
			fault(v, "index: %s", unprefix(e.msg, "index: "));
			have_prev = 0;
			continue;
		}
		v->label_pairs += ser[cur].labels.n;
		verify_series_labels(v, id, &ser[cur].labels);
		if (have_prev && labels_cmp(&ser[!cur].labels, &ser[cur].labels) >= 0) {
			char prev[64];

			snprintf(prev, sizeof(prev), "%u", prev_id);
			fault(v, "index: %s is not after series %s in label order",
			    series_name(v, id, &ser[cur].labels), prev);
		}
		verify_series_chunks(v, id, &ser[cur]);
		have_prev = 1;
		prev_id = id;
		cur = !cur;
	}
	index_series_free(&ser[0]);
	index_series_free(&ser[1]);
}

static void
verify_series_labels(struct vctx *v, uint32_t id, const struct labels *ls)
{
	if (ls->n == 0) {
		fault(v, "index: series %u has no labels", id);
		return;
	}
	for (size_t i = 0; i < ls->n; i++) {
		if (ls->v[i].value.len == 0)
			fault(v, "index: %s: label %zu has an empty value",
			    series_name(v, id, ls), i);
		if (i > 0 && str_cmp(ls->v[i - 1].name, ls->v[i].name) >= 0)
			fault(v, "index: %s: label names not strictly ascending",
			    series_name(v, id, ls));
	}
}

static void
verify_series_chunks(struct vctx *v, uint32_t id, const struct index_series *s)
{
	if (s->nchunks == 0)
		fault(v, "index: %s has no chunks", series_name(v, id, &s->labels));
	for (size_t i = 0; i < s->nchunks && !v->stopped; i++) {
		const struct chunk *c = &s->chunks[i];

		v->nchunks++;
		if (c->mint > c->maxt)
			fault(v, "index: %s: chunk %zu: mint %lld > maxt %lld",
			    series_name(v, id, &s->labels), i,
			    (long long)c->mint, (long long)c->maxt);
		if (i > 0 && c->mint <= s->chunks[i - 1].maxt)
			fault(v, "index: %s: chunk %zu [%lld, %lld] overlaps or precedes "
			    "chunk %zu ending at %lld", series_name(v, id, &s->labels), i,
			    (long long)c->mint, (long long)c->maxt, i - 1,
			    (long long)s->chunks[i - 1].maxt);
		if (v->have_meta && (c->mint < v->meta.min_time || c->maxt >= v->meta.max_time))
			fault(v, "index: %s: chunk %zu [%lld, %lld] outside the block's "
			    "[%lld, %lld)", series_name(v, id, &s->labels), i,
			    (long long)c->mint, (long long)c->maxt,
			    (long long)v->meta.min_time, (long long)v->meta.max_time);
		if (v->cr != NULL)
			verify_chunk_data(v, id, s, i);
	}
}

static void
verify_chunk_data(struct vctx *v, uint32_t id, const struct index_series *s, size_t i)
{
	const struct chunk *meta = &s->chunks[i];
	struct xor_iter it;
	struct chunk c;
	struct err e;
	uint16_t count;
	uint64_t val;
	int64_t t, prev = 0;
	size_t n = 0;
	int r;

	memset(&c, 0, sizeof(c));
	if (chunk_reader_get(v->cr, meta->ref, &c, &e) == -1) {
		fault(v, "chunks: %s: chunk %zu (ref %llu): %s", series_name(v, id, &s->labels),
		    i, (unsigned long long)meta->ref, e.msg);
		v->samples_known = 0;
		return;
	}
	if (c.enc != CHUNK_ENC_XOR) {
		fault(v, "chunks: %s: chunk %zu (ref %llu): encoding %u cannot be checked",
		    series_name(v, id, &s->labels), i, (unsigned long long)meta->ref, c.enc);
		v->samples_known = 0;
		return;
	}
	count = xor_count(c.data, c.len);
	v->nsamples += count;
	if (count == 0) {
		fault(v, "chunks: %s: chunk %zu (ref %llu): no samples",
		    series_name(v, id, &s->labels), i, (unsigned long long)meta->ref);
		return;
	}
	xor_iter_init(&it, c.data, c.len);
	while ((r = xor_iter_next(&it, &t, &val)) == 1) {
		if (n == 0 && t != meta->mint)
			fault(v, "chunks: %s: chunk %zu (ref %llu): first sample at %lld, "
			    "index says mint %lld", series_name(v, id, &s->labels), i,
			    (unsigned long long)meta->ref, (long long)t, (long long)meta->mint);
		if (n > 0 && t <= prev) {
			fault(v, "chunks: %s: chunk %zu (ref %llu): sample %zu at %lld "
			    "not after %lld", series_name(v, id, &s->labels), i,
			    (unsigned long long)meta->ref, n, (long long)t, (long long)prev);
			return;
		}
		prev = t;
		n++;
	}
	if (r == -1) {
		fault(v, "chunks: %s: chunk %zu (ref %llu): corrupt data after %zu of %u "
		    "samples", series_name(v, id, &s->labels), i,
		    (unsigned long long)meta->ref, n, count);
		return;
	}
	if (prev != meta->maxt)
		fault(v, "chunks: %s: chunk %zu (ref %llu): last sample at %lld, index "
		    "says maxt %lld", series_name(v, id, &s->labels), i,
		    (unsigned long long)meta->ref, (long long)prev, (long long)meta->maxt);
}

/* One list read through the postings offset table: order, targets; returns its length. */
static size_t
check_list(struct vctx *v, const char *key, const struct postings *p)
{
	for (size_t i = 0; i < p->n; i++) {
		if (i > 0 && p->ids[i] <= p->ids[i - 1]) {
			fault(v, "index: postings %s: not strictly ascending at entry %zu",
			    key, i);
			break;
		}
		if (v->series_complete && !have_id(v, p->ids[i])) {
			fault(v, "index: postings %s: entry %zu names series %u, which "
			    "does not exist", key, i, p->ids[i]);
			break;
		}
	}
	return p->n;
}

static void
verify_postings(struct vctx *v)
{
	struct postings p = { 0 };
	const struct str *names, *vals;
	size_t nnames, nvals;
	uint64_t entries = 0;
	int complete = 1;
	struct err e;

	if (index_reader_all_postings(v->ir, &p, &e) == -1) {
		fault(v, "index: all-series postings: %s", unprefix(e.msg, "index: "));
		complete = 0;
	} else {
		check_list(v, "of all series", &p);
		if (v->series_complete && (p.n != v->nids ||
		    (p.n > 0 && memcmp(p.ids, v->ids, p.n * sizeof(p.ids[0])) != 0)))
			fault(v, "index: the all-series postings list (%zu series) differs "
			    "from the %zu series entries", p.n, v->nids);
	}
	if (index_reader_label_names(v->ir, &names, &nnames) == -1) {
		fault(v, "index: cannot list label names");
		postings_free(&p);
		return;
	}
	for (size_t i = 0; i < nnames && !v->stopped; i++) {
		if (index_reader_label_values(v->ir, names[i], &vals, &nvals) == -1) {
			fault(v, "index: cannot list the values of label %.*s",
			    (int)names[i].len, names[i].p);
			complete = 0;
			continue;
		}
		for (size_t j = 0; j < nvals && !v->stopped; j++) {
			char key[256];

			snprintf(key, sizeof(key), "%.*s=%.*s", (int)(names[i].len > 100 ?
			    100 : names[i].len), names[i].p, (int)(vals[j].len > 100 ?
			    100 : vals[j].len), vals[j].p);
			p.n = 0;
			if (index_reader_postings(v->ir, names[i], vals[j], &p, &e) == -1) {
				fault(v, "index: postings %s: %s", key, unprefix(e.msg, "index: "));
				complete = 0;
				continue;
			}
			if (p.n == 0)
				fault(v, "index: postings %s: empty list", key);
			entries += check_list(v, key, &p);
		}
	}
	if (complete && v->series_complete && entries != v->label_pairs)
		fault(v, "index: postings hold %llu label pairs, the series entries %llu",
		    (unsigned long long)entries, (unsigned long long)v->label_pairs);
	postings_free(&p);
}

static void
verify_tombstones(struct vctx *v)
{
	struct tombstone *st = NULL;
	size_t n = 0, merged = 0;
	struct err e;

	if (tombstones_read(v->dir, &st, &n, &e) == -1) {
		fault(v, "tombstones: %s", unprefix(e.msg, "tombstones: "));
		return;
	}
	if (n > 1)
		tombstones_sort(st, n);
	/* Prometheus counts intervals after merging each series' overlapping ones. */
	for (size_t i = 0; i < n; i++) {
		if (st[i].mint > st[i].maxt)
			fault(v, "tombstones: series %u: interval [%lld, %lld] is empty",
			    st[i].ref, (long long)st[i].mint, (long long)st[i].maxt);
		if (v->ir != NULL && v->series_complete && !have_id(v, st[i].ref))
			fault(v, "tombstones: series %u does not exist", st[i].ref);
		if (i == 0 || st[i].ref != st[i - 1].ref ||
		    (st[i - 1].maxt != INT64_MAX && st[i].mint > st[i - 1].maxt + 1))
			merged++;
		else if (st[i].maxt < st[i - 1].maxt)
			st[i].maxt = st[i - 1].maxt;
	}
	if (v->have_meta && merged != v->meta.num_tombstones)
		fault(v, "meta.json: numTombstones %llu, the tombstones file holds %zu",
		    (unsigned long long)v->meta.num_tombstones, merged);
	free(st);
}

static void
verify_stats(struct vctx *v)
{
	if (!v->have_meta || !v->series_complete || v->stopped)
		return;
	if (v->meta.num_series != v->nids)
		fault(v, "meta.json: numSeries %llu, the index holds %zu series",
		    (unsigned long long)v->meta.num_series, v->nids);
	if (v->meta.num_chunks != v->nchunks)
		fault(v, "meta.json: numChunks %llu, the index holds %llu chunks",
		    (unsigned long long)v->meta.num_chunks, (unsigned long long)v->nchunks);
	if (v->samples_known && v->meta.num_samples != v->nsamples)
		fault(v, "meta.json: numSamples %llu, the chunks hold %llu samples",
		    (unsigned long long)v->meta.num_samples, (unsigned long long)v->nsamples);
}

static void
first_fault(void *arg, const char *what)
{
	err_set(arg, "%s", what);
}

int
verify_index_bytes(const uint8_t *p, size_t len, struct err *e)
{
	struct vctx v;

	memset(&v, 0, sizeof(v));
	v.fn = first_fault;
	v.arg = e;
	v.max_faults = 1;
	v.imap.p = p;
	v.imap.len = len;
	if ((v.ir = index_reader_open_mem(p, len, e)) == NULL)
		return err_wrap(e, "index");
	verify_index_sections(&v);
	verify_series(&v, 0);
	index_reader_close(v.ir);
	free(v.ids);
	return v.nfaults > 0 ? -1 : 0;
}

int
verify_block_bytes(const char *dir, struct err *e)
{
	char path[PATH_MAX];
	struct mapped m;
	struct vctx v;
	int rc;

	if ((size_t)snprintf(path, sizeof(path), "%s/index", dir) >= sizeof(path))
		return err_set(e, "%s: path too long", dir);
	if (file_map(path, &m, e) == -1)
		return -1;
	rc = verify_index_bytes(m.p, m.len, e);
	file_unmap(&m);
	if (rc == -1)
		return -1;
	memset(&v, 0, sizeof(v));
	v.fn = first_fault;
	v.arg = e;
	v.max_faults = 1;
	snprintf(path, sizeof(path), "%s/chunks", dir);
	verify_segment_headers(&v, path);
	return v.nfaults > 0 ? -1 : 0;
}
