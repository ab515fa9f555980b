/*
 * importer — see importer.h for the pipeline. Memory layout:
 *
 *  - strings: interned once (id -> bytes in one arena);
 *  - series: a pool of uint32 per series: label count, then name and value
 *    string ids; a series number (sid) is its order of first appearance;
 *  - samples: per block range, a list of pages of (sid, t, v) in input
 *    order; a spill writes every range's pages to the scratch file as one
 *    segment per range (sids, then times, then values) and frees them;
 *  - writing a block: a counting sort by series rank (stable, so input
 *    order survives within a series), then a stable in-place sort by time
 *    for the series whose input was not in time order. A range larger
 *    than the budget is sorted piece by piece into runs of (rank, t, v)
 *    records that a heap merges, earlier runs first on ties.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base/fileutil.h"
#include "lib/base/spill.h"
#include "lib/base/xmalloc.h"
#include "lib/tsdb/block.h"
#include "lib/tsdb/chunkcut.h"
#include "lib/tsdb/importer.h"

#define PAGE_N		1024
#define SLAB_PAGES	64		/* at most 1.3 MB: mapped apart by malloc */
#define READ_BUF	(4u << 20)
#define SCAN_N		(64u << 10)	/* samples per read of a spilled segment */
#define PROGRESS_LINES	(1u << 20)
#define RUN_REC		20		/* rank u32, t i64, v u64, packed */
#define RUN_BUF_MIN	(64u << 10)

struct page {
	struct page	*next;
	uint32_t	 n;
	uint32_t	 sid[PAGE_N];
	int64_t		 t[PAGE_N];
	uint64_t	 v[PAGE_N];
};

/* A stretch of the scratch file: n sids, then n times, then n values. */
struct seg {
	uint64_t	 off;
	uint64_t	 n;
};

struct brange {
	int64_t		 r;		/* floor(t / block duration) */
	struct page	*head;
	struct page	*tail;
	uint64_t	 nmem;
	struct seg	*segs;
	size_t		 nsegs;
	size_t		 segcap;
	uint64_t	 nspilled;
};

struct strtab {
	char		*arena;
	size_t		 alen;
	size_t		 acap;
	uint64_t	*off;
	uint32_t	*len;
	uint32_t	*hash;
	size_t		 n;
	size_t		 cap;
	uint32_t	*slots;		/* id + 1; 0 = empty */
	size_t		 mask;
};

struct sertab {
	uint32_t	*pool;
	size_t		 plen;
	size_t		 pcap;
	uint64_t	*poff;
	uint64_t	*hash;
	size_t		 n;
	size_t		 cap;
	uint32_t	*slots;		/* sid + 1; 0 = empty */
	size_t		 mask;
};

/* Where a pass over a range's samples stands: segments first, then pages. */
struct scan {
	const struct brange *br;
	size_t		 seg;
	uint64_t	 segpos;
	const struct page *pg;
	uint32_t	 pgpos;
};

struct run {
	uint64_t	 off;
	uint64_t	 end;
	uint8_t		*buf;
	size_t		 blen;
	size_t		 bpos;
	uint32_t	 rank;
	int64_t		 t;
	uint64_t	 v;
};

struct importer {
	char		*out_dir;
	char		*tmp_dir;
	int64_t		 dur;
	uint64_t	 budget;
	char		**lnames;
	char		**lvalues;
	size_t		 nlabels;
	volatile sig_atomic_t *stop;
	void		(*progress)(const struct importer_stats *, void *);
	void		(*block_done)(const struct importer_block *, void *);
	void		*arg;

	struct importer_stats stats;
	int		 bad_input;
	struct strtab	 st;
	struct sertab	 se;
	uint32_t	 last_sid;
	int		 has_last;

	struct brange	*ranges;
	size_t		 nranges;
	size_t		 rcap;
	uint32_t	*rslots;	/* range index + 1 */
	size_t		 rmask;
	size_t		 last_range;

	struct page	*free_pages;
	struct page	**slabs;
	size_t		 nslabs;
	size_t		 slab_pages;
	size_t		 npages;
	size_t		 max_pages;
	struct spill	*sp;

	/* Writing. */
	uint32_t	*rank_of;	/* sid -> rank */
	uint32_t	*by_rank;	/* rank -> sid */
	uint32_t	*srank;		/* string id -> rank */
	uint32_t	*sorder;	/* rank -> string id */
	uint64_t	*symbits;
	uint32_t	*cnt;		/* per sid: count, then position */
	uint32_t	*mark;		/* per sid: last piece that saw it */
	uint32_t	*rmark;		/* per sid: last range that saw it */
	uint32_t	 pepoch;
	uint32_t	 repoch;
	uint32_t	*present;
	size_t		 npresent;
	uint32_t	*rpresent;
	size_t		 nrpresent;
	int64_t		*T;
	uint64_t	*V;
	size_t		 tvcap;
	uint32_t	*ssid;
	int64_t		*st_buf;
	uint64_t	*sv_buf;
	struct chunk_cutter cc;
	int		 cc_init;
	struct label	*lbuf;
	size_t		 lbufcap;
	/* The block being written. */
	struct block_writer *w;
	uint64_t	 blk_dups;
};

static int	 stopped(struct importer *, struct err *);
static int64_t	 floor_div(int64_t, int64_t);
static uint32_t	 str_intern(struct strtab *, const char *, size_t);
static struct str str_get(const struct strtab *, uint32_t);
static uint32_t	 series_get(struct importer *, const struct labels *);
static size_t	 range_get(struct importer *, int64_t);
static int	 page_add(struct importer *, size_t, uint32_t, int64_t, uint64_t,
		    struct err *);
static int	 spill_pages(struct importer *, struct err *);
static void	 prepare_ranks(struct importer *);
static int	 write_range(struct importer *, struct brange *, struct err *);
static int	 write_sorted(struct importer *, struct scan *, uint64_t,
		    struct err *);
static int	 write_merged(struct importer *, struct scan *, uint64_t, uint64_t,
		    struct err *);
static int	 run_write(struct importer *, struct run *, struct err *);
static int	 run_next(struct importer *, struct run *, size_t, struct err *);
static int	 merge_runs(struct importer *, struct run *, size_t, struct err *);
static int	 scan_next(struct importer *, struct scan *, uint64_t,
		    const uint32_t **, const int64_t **, const uint64_t **, size_t *,
		    struct err *);
static int	 sort_piece(struct importer *, struct scan *, uint64_t,
		    struct err *);
static void	 sort_by_time(int64_t *, uint64_t *, size_t);
static int	 block_begin(struct importer *, const uint32_t *, size_t,
		    struct err *);
static int	 block_series(struct importer *, uint32_t, struct err *);
static int	 block_end(struct importer *, struct err *);

struct importer *
importer_create(const struct importer_config *c, struct err *e)
{
	struct importer *imp;
	uint64_t b1;

	if (c->block_duration <= 0 || c->block_duration > INT64_MAX / 4) {
		err_set(e, "block duration out of range");
		return NULL;
	}
	imp = xcalloc(1, sizeof(*imp));
	imp->out_dir = xstrdup(c->out_dir);
	imp->tmp_dir = xstrdup(c->tmp_dir != NULL ? c->tmp_dir : c->out_dir);
	imp->dur = c->block_duration;
	imp->budget = c->max_memory;
	imp->nlabels = c->nlabels;
	if (c->nlabels > 0) {
		imp->lnames = xcalloc(c->nlabels, sizeof(char *));
		imp->lvalues = xcalloc(c->nlabels, sizeof(char *));
		for (size_t i = 0; i < c->nlabels; i++) {
			imp->lnames[i] = xstrdup(c->label_names[i]);
			imp->lvalues[i] = xstrdup(c->label_values[i]);
		}
	}
	imp->stop = c->stop;
	imp->progress = c->progress;
	imp->block_done = c->block_done;
	imp->arg = c->arg;
	/*
	 * Pages may take 20/36 of the budget: if nothing spills, the largest
	 * block's sort array (16 bytes a sample) must fit beside them.
	 */
	b1 = imp->budget / 36 * 20;
	imp->max_pages = (size_t)(b1 / sizeof(struct page));
	imp->slab_pages = imp->max_pages < SLAB_PAGES ? imp->max_pages : SLAB_PAGES;
	if (imp->slab_pages == 0)
		imp->slab_pages = 1;
	return imp;
}

static int
stopped(struct importer *imp, struct err *e)
{
	if (imp->stop != NULL && *imp->stop) {
		imp->bad_input = 0;
		return err_set(e, "interrupted");
	}
	return 0;
}

int
importer_bad_input(const struct importer *imp)
{
	return imp->bad_input;
}

const struct importer_stats *
importer_stats(const struct importer *imp)
{
	return &imp->stats;
}

/* Go's floor, not C's truncation: block ranges are [k D, (k+1) D) for every k. */
static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if (a % b != 0 && (a < 0) != (b < 0))
		q--;
	return q;
}

static uint64_t
mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

/* Grow an open-addressing table of ids to hold n + 1 entries at load <= 1/2. */
static int
slots_need_grow(size_t n, size_t mask)
{
	return mask == 0 || (n + 1) * 2 > mask + 1;
}

static struct str
str_get(const struct strtab *st, uint32_t id)
{
	struct str s;

	s.p = st->arena + st->off[id];
	s.len = st->len[id];
	return s;
}

static void
strtab_rehash(struct strtab *st)
{
	size_t size = st->mask == 0 ? 1024 : (st->mask + 1) * 2;

	free(st->slots);
	st->slots = xcalloc(size, sizeof(uint32_t));
	st->mask = size - 1;
	for (uint32_t id = 0; id < st->n; id++) {
		size_t i = st->hash[id] & st->mask;

		while (st->slots[i] != 0)
			i = (i + 1) & st->mask;
		st->slots[i] = id + 1;
	}
}

static uint32_t
str_intern(struct strtab *st, const char *p, size_t n)
{
	uint32_t h = (uint32_t)str_hash(p, n, 0x5bd1e995);
	size_t i;
	uint32_t id;

	if (slots_need_grow(st->n, st->mask))
		strtab_rehash(st);
	for (i = h & st->mask; st->slots[i] != 0; i = (i + 1) & st->mask) {
		id = st->slots[i] - 1;
		if (st->hash[id] == h && st->len[id] == n &&
		    memcmp(st->arena + st->off[id], p, n) == 0)
			return id;
	}
	if (st->n == st->cap) {
		st->cap = st->cap == 0 ? 1024 : st->cap * 2;
		st->off = xreallocarray(st->off, st->cap, sizeof(*st->off));
		st->len = xreallocarray(st->len, st->cap, sizeof(*st->len));
		st->hash = xreallocarray(st->hash, st->cap, sizeof(*st->hash));
	}
	if (st->alen + n > st->acap) {
		while (st->alen + n > st->acap)
			st->acap = st->acap == 0 ? 65536 : st->acap * 2;
		st->arena = xrealloc(st->arena, st->acap);
	}
	if (n > 0)
		memcpy(st->arena + st->alen, p, n);
	id = (uint32_t)st->n++;
	st->off[id] = st->alen;
	st->len[id] = (uint32_t)n;
	st->hash[id] = h;
	st->alen += n;
	st->slots[i] = id + 1;
	return id;
}

static int
series_eq(const struct importer *imp, uint32_t sid, const struct labels *ls)
{
	const uint32_t *e = imp->se.pool + imp->se.poff[sid];

	if (e[0] != ls->n)
		return 0;
	for (size_t i = 0; i < ls->n; i++)
		if (!str_eq(str_get(&imp->st, e[1 + 2 * i]), ls->v[i].name) ||
		    !str_eq(str_get(&imp->st, e[2 + 2 * i]), ls->v[i].value))
			return 0;
	return 1;
}

static void
sertab_rehash(struct sertab *se)
{
	size_t size = se->mask == 0 ? 1024 : (se->mask + 1) * 2;

	free(se->slots);
	se->slots = xcalloc(size, sizeof(uint32_t));
	se->mask = size - 1;
	for (uint32_t sid = 0; sid < se->n; sid++) {
		size_t i = se->hash[sid] & se->mask;

		while (se->slots[i] != 0)
			i = (i + 1) & se->mask;
		se->slots[i] = sid + 1;
	}
}

/* The series number of a label set, interning it the first time. */
static uint32_t
series_get(struct importer *imp, const struct labels *ls)
{
	struct sertab *se = &imp->se;
	uint64_t h = labels_hash(ls);
	uint32_t sid;
	size_t i;

	if (slots_need_grow(se->n, se->mask))
		sertab_rehash(se);
	for (i = h & se->mask; se->slots[i] != 0; i = (i + 1) & se->mask) {
		sid = se->slots[i] - 1;
		if (se->hash[sid] == h && series_eq(imp, sid, ls))
			return sid;
	}
	if (se->n == se->cap) {
		se->cap = se->cap == 0 ? 1024 : se->cap * 2;
		se->poff = xreallocarray(se->poff, se->cap, sizeof(*se->poff));
		se->hash = xreallocarray(se->hash, se->cap, sizeof(*se->hash));
	}
	if (se->plen + 1 + 2 * ls->n > se->pcap) {
		while (se->plen + 1 + 2 * ls->n > se->pcap)
			se->pcap = se->pcap == 0 ? 65536 : se->pcap * 2;
		se->pool = xreallocarray(se->pool, se->pcap, sizeof(uint32_t));
	}
	sid = (uint32_t)se->n++;
	se->poff[sid] = se->plen;
	se->hash[sid] = h;
	se->pool[se->plen++] = (uint32_t)ls->n;
	for (size_t k = 0; k < ls->n; k++) {
		se->pool[se->plen++] = str_intern(&imp->st, ls->v[k].name.p, ls->v[k].name.len);
		se->pool[se->plen++] = str_intern(&imp->st, ls->v[k].value.p, ls->v[k].value.len);
	}
	se->slots[i] = sid + 1;
	imp->stats.series = se->n;
	return sid;
}

static void
ranges_rehash(struct importer *imp)
{
	size_t size = imp->rmask == 0 ? 64 : (imp->rmask + 1) * 2;

	free(imp->rslots);
	imp->rslots = xcalloc(size, sizeof(uint32_t));
	imp->rmask = size - 1;
	for (size_t k = 0; k < imp->nranges; k++) {
		size_t i = mix64((uint64_t)imp->ranges[k].r) & imp->rmask;

		while (imp->rslots[i] != 0)
			i = (i + 1) & imp->rmask;
		imp->rslots[i] = (uint32_t)k + 1;
	}
}

/* The index of block range r, created on first use. */
static size_t
range_get(struct importer *imp, int64_t r)
{
	size_t i, k;

	if (imp->nranges > 0 && imp->ranges[imp->last_range].r == r)
		return imp->last_range;
	if (slots_need_grow(imp->nranges, imp->rmask))
		ranges_rehash(imp);
	for (i = mix64((uint64_t)r) & imp->rmask; imp->rslots[i] != 0;
	    i = (i + 1) & imp->rmask) {
		k = imp->rslots[i] - 1;
		if (imp->ranges[k].r == r)
			return imp->last_range = k;
	}
	if (imp->nranges == imp->rcap) {
		imp->rcap = imp->rcap == 0 ? 16 : imp->rcap * 2;
		imp->ranges = xreallocarray(imp->ranges, imp->rcap, sizeof(*imp->ranges));
	}
	k = imp->nranges++;
	memset(&imp->ranges[k], 0, sizeof(imp->ranges[k]));
	imp->ranges[k].r = r;
	imp->rslots[i] = (uint32_t)k + 1;
	return imp->last_range = k;
}

/*
 * Pages come in slabs large enough for malloc to map them on their own, so
 * that freeing the slabs before the sort gives the memory back to the system.
 */
static void
slab_add(struct importer *imp)
{
	struct page *pg;

	pg = xreallocarray(NULL, imp->slab_pages, sizeof(*pg));
	imp->slabs = xreallocarray(imp->slabs, imp->nslabs + 1, sizeof(*imp->slabs));
	imp->slabs[imp->nslabs++] = pg;
	for (size_t i = 0; i < imp->slab_pages; i++) {
		pg[i].next = imp->free_pages;
		imp->free_pages = &pg[i];
	}
	imp->npages += imp->slab_pages;
}

static void
slabs_free(struct importer *imp)
{
	for (size_t i = 0; i < imp->nslabs; i++)
		free(imp->slabs[i]);
	free(imp->slabs);
	imp->slabs = NULL;
	imp->nslabs = 0;
	imp->free_pages = NULL;
	imp->npages = 0;
}

static struct page *
page_alloc(struct importer *imp)
{
	struct page *pg;

	if (imp->free_pages == NULL)
		slab_add(imp);
	pg = imp->free_pages;
	imp->free_pages = pg->next;
	pg->next = NULL;
	pg->n = 0;
	return pg;
}

static int
page_add(struct importer *imp, size_t ri, uint32_t sid, int64_t t, uint64_t v,
    struct err *e)
{
	struct brange *br = &imp->ranges[ri];
	struct page *pg = br->tail;

	if (pg == NULL || pg->n == PAGE_N) {
		if (imp->free_pages == NULL && imp->npages + imp->slab_pages > imp->max_pages &&
		    imp->npages > 0) {
			if (spill_pages(imp, e) == -1)
				return -1;
			br = &imp->ranges[ri];
		}
		pg = page_alloc(imp);
		if (br->tail != NULL)
			br->tail->next = pg;
		else
			br->head = pg;
		br->tail = pg;
	}
	pg->sid[pg->n] = sid;
	pg->t[pg->n] = t;
	pg->v[pg->n] = v;
	pg->n++;
	br->nmem++;
	return 0;
}

int
importer_add(struct importer *imp, const struct text_sample *s, struct err *e)
{
	uint32_t sid;

	if (s->same_series && imp->has_last)
		sid = imp->last_sid;
	else {
		/* Series numbers, string ids and positions are 32-bit. */
		if (imp->se.n >= UINT32_MAX / 2 || imp->st.n >= UINT32_MAX / 2 - 2 * s->labels.n)
			return err_set(e, "too many distinct series or label strings");
		sid = series_get(imp, &s->labels);
		imp->last_sid = sid;
		imp->has_last = 1;
	}
	imp->stats.samples++;
	return page_add(imp, range_get(imp, floor_div(s->t, imp->dur)), sid, s->t,
	    s->v, e);
}

/* Write every range's pages to the scratch file, one segment per range. */
static int
spill_pages(struct importer *imp, struct err *e)
{
	uint64_t before;

	if (stopped(imp, e) == -1)
		return -1;
	if (imp->sp == NULL && (imp->sp = spill_create(imp->tmp_dir, e)) == NULL)
		return -1;
	before = spill_size(imp->sp);
	for (size_t k = 0; k < imp->nranges; k++) {
		struct brange *br = &imp->ranges[k];
		struct seg sg;
		struct page *pg, *next;

		if (br->nmem == 0)
			continue;
		sg.off = spill_size(imp->sp);
		sg.n = br->nmem;
		for (pg = br->head; pg != NULL; pg = pg->next)
			if (spill_append(imp->sp, pg->sid, pg->n * sizeof(uint32_t), e) == -1)
				return -1;
		for (pg = br->head; pg != NULL; pg = pg->next)
			if (spill_append(imp->sp, pg->t, pg->n * sizeof(int64_t), e) == -1)
				return -1;
		for (pg = br->head; pg != NULL; pg = pg->next)
			if (spill_append(imp->sp, pg->v, pg->n * sizeof(uint64_t), e) == -1)
				return -1;
		if (br->nsegs == br->segcap) {
			br->segcap = br->segcap == 0 ? 4 : br->segcap * 2;
			br->segs = xreallocarray(br->segs, br->segcap, sizeof(*br->segs));
		}
		br->segs[br->nsegs++] = sg;
		br->nspilled += br->nmem;
		for (pg = br->head; pg != NULL; pg = next) {
			next = pg->next;
			pg->next = imp->free_pages;
			imp->free_pages = pg;
		}
		br->head = br->tail = NULL;
		br->nmem = 0;
	}
	imp->stats.spills++;
	imp->stats.spilled_bytes += spill_size(imp->sp) - before;
	return 0;
}

int
importer_read(struct importer *imp, int fd, const char *name, struct err *e)
{
	struct text_parser p;
	struct text_sample s;
	char *buf;
	size_t cap = READ_BUF, have = 0, start = 0;
	int started = 0, eof = 0, rc = -1;
	uint64_t next_progress = PROGRESS_LINES;

	buf = xmalloc(cap);
	memset(&p, 0, sizeof(p));
	imp->has_last = 0;
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (;;) {
		char *nl;
		size_t len;

		nl = memchr(buf + start, '\n', have - start);
		if (nl == NULL) {
			if (eof) {
				if (start == have)
					break;
				nl = buf + have;	/* the last line, without '\n' */
			} else {
				ssize_t n;

				if (stopped(imp, e) == -1)
					goto out;
				memmove(buf, buf + start, have - start);
				have -= start;
				start = 0;
				if (have == cap) {
					cap *= 2;
					buf = xrealloc(buf, cap);
				}
				n = read(fd, buf + have, cap - have);
				if (n == -1) {
					if (errno == EINTR)
						continue;
					err_errno(e, "read %s", name);
					goto out;
				}
				if (n == 0)
					eof = 1;
				have += (size_t)n;
				imp->stats.bytes += (uint64_t)n;
				continue;
			}
		}
		len = (size_t)(nl - (buf + start));
		if (!started) {
			text_parser_init(&p, name, text_detect(buf + start, len));
			started = 1;
		}
		p.no_newline = nl == buf + have;
		switch (text_parser_line(&p, buf + start, len, &s, e)) {
		case -1:
			imp->bad_input = 1;
			goto out;
		case 1:
			if (importer_add(imp, &s, e) == -1)
				goto out;
			break;
		}
		imp->stats.lines++;
		start += len + (nl != buf + have);
		if (imp->stats.lines >= next_progress) {
			next_progress += PROGRESS_LINES;
			if (imp->progress != NULL)
				imp->progress(&imp->stats, imp->arg);
		}
	}
	if (!started)
		text_parser_init(&p, name, TEXT_OPENMETRICS);
	if (text_parser_finish(&p, e) == -1) {
		imp->bad_input = 1;
		goto out;
	}
	rc = 0;
out:
	text_parser_free(&p);
	free(buf);
	imp->has_last = 0;
	return rc;
}

static int
cmp_str_id(const void *a, const void *b, void *arg)
{
	const struct strtab *st = arg;

	return str_cmp(str_get(st, *(const uint32_t *)a), str_get(st, *(const uint32_t *)b));
}

/* labels_cmp on interned series, through string ranks. */
static int
cmp_series(const void *a, const void *b, void *arg)
{
	const struct importer *imp = arg;
	const uint32_t *x = imp->se.pool + imp->se.poff[*(const uint32_t *)a];
	const uint32_t *y = imp->se.pool + imp->se.poff[*(const uint32_t *)b];
	size_t n = x[0] < y[0] ? x[0] : y[0];

	for (size_t i = 1; i <= 2 * n; i++) {
		uint32_t rx = imp->srank[x[i]], ry = imp->srank[y[i]];

		if (rx != ry)
			return rx < ry ? -1 : 1;
	}
	if (x[0] == y[0])
		return 0;
	return x[0] < y[0] ? -1 : 1;
}

static int
cmp_rank(const void *a, const void *b, void *arg)
{
	const uint32_t *rank_of = arg;
	uint32_t x = rank_of[*(const uint32_t *)a], y = rank_of[*(const uint32_t *)b];

	return x < y ? -1 : x > y;
}

static int
cmp_range(const void *a, const void *b)
{
	const struct brange *x = a, *y = b;

	return x->r < y->r ? -1 : x->r > y->r;
}

/* Sort strings and series once; ranks give label order with integer compares. */
static void
prepare_ranks(struct importer *imp)
{
	size_t ns = imp->st.n, nse = imp->se.n;

	imp->sorder = xreallocarray(NULL, ns + 1, sizeof(uint32_t));
	imp->srank = xreallocarray(NULL, ns + 1, sizeof(uint32_t));
	for (size_t i = 0; i < ns; i++)
		imp->sorder[i] = (uint32_t)i;
	qsort_r(imp->sorder, ns, sizeof(uint32_t), cmp_str_id, &imp->st);
	for (size_t i = 0; i < ns; i++)
		imp->srank[imp->sorder[i]] = (uint32_t)i;
	imp->symbits = xcalloc(ns / 64 + 1, sizeof(uint64_t));

	imp->by_rank = xreallocarray(NULL, nse + 1, sizeof(uint32_t));
	imp->rank_of = xreallocarray(NULL, nse + 1, sizeof(uint32_t));
	for (size_t i = 0; i < nse; i++)
		imp->by_rank[i] = (uint32_t)i;
	qsort_r(imp->by_rank, nse, sizeof(uint32_t), cmp_series, imp);
	for (size_t i = 0; i < nse; i++)
		imp->rank_of[imp->by_rank[i]] = (uint32_t)i;
	imp->cnt = xcalloc(nse + 1, sizeof(uint32_t));
	imp->mark = xcalloc(nse + 1, sizeof(uint32_t));
	imp->rmark = xcalloc(nse + 1, sizeof(uint32_t));
	imp->present = xreallocarray(NULL, nse + 1, sizeof(uint32_t));
	imp->rpresent = xreallocarray(NULL, nse + 1, sizeof(uint32_t));
	imp->ssid = xreallocarray(NULL, SCAN_N, sizeof(uint32_t));
	imp->st_buf = xreallocarray(NULL, SCAN_N, sizeof(int64_t));
	imp->sv_buf = xreallocarray(NULL, SCAN_N, sizeof(uint64_t));
	chunk_cutter_init(&imp->cc, 2 * imp->dur);
	imp->cc_init = 1;
}

int
importer_write_blocks(struct importer *imp, struct err *e)
{
	imp->bad_input = 0;
	if (imp->stats.samples == 0)
		return 0;
	prepare_ranks(imp);
	/* Once anything spilled, spill the rest too: the sort gets the whole budget. */
	if (imp->sp != NULL) {
		if (spill_pages(imp, e) == -1)
			return -1;
		slabs_free(imp);
	}
	qsort(imp->ranges, imp->nranges, sizeof(imp->ranges[0]), cmp_range);
	imp->last_range = 0;
	for (size_t k = 0; k < imp->nranges; k++) {
		if (write_range(imp, &imp->ranges[k], e) == -1) {
			if (imp->w != NULL) {
				block_writer_abort(imp->w);
				imp->w = NULL;
			}
			return -1;
		}
	}
	return 0;
}

/* The next run of at most max samples of a range, in input order; 0 at the end. */
static int
scan_next(struct importer *imp, struct scan *sc, uint64_t max,
    const uint32_t **sid, const int64_t **t, const uint64_t **v, size_t *n,
    struct err *e)
{
	const struct brange *br = sc->br;

	while (sc->seg < br->nsegs) {
		const struct seg *sg = &br->segs[sc->seg];
		uint64_t k = sg->n - sc->segpos;

		if (k == 0) {
			sc->seg++;
			sc->segpos = 0;
			continue;
		}
		if (k > SCAN_N)
			k = SCAN_N;
		if (k > max)
			k = max;
		if (spill_read(imp->sp, sg->off + sc->segpos * 4, imp->ssid, k * 4, e) == -1 ||
		    spill_read(imp->sp, sg->off + sg->n * 4 + sc->segpos * 8, imp->st_buf,
		    k * 8, e) == -1 ||
		    spill_read(imp->sp, sg->off + sg->n * 12 + sc->segpos * 8, imp->sv_buf,
		    k * 8, e) == -1)
			return -1;
		sc->segpos += k;
		*sid = imp->ssid;
		*t = imp->st_buf;
		*v = imp->sv_buf;
		*n = (size_t)k;
		return 1;
	}
	while (sc->pg != NULL) {
		uint64_t k = sc->pg->n - sc->pgpos;

		if (k == 0) {
			sc->pg = sc->pg->next;
			sc->pgpos = 0;
			continue;
		}
		if (k > max)
			k = max;
		*sid = sc->pg->sid + sc->pgpos;
		*t = sc->pg->t + sc->pgpos;
		*v = sc->pg->v + sc->pgpos;
		*n = (size_t)k;
		sc->pgpos += (uint32_t)k;
		return 1;
	}
	return 0;
}

/*
 * The next count samples of a range into T/V, grouped by series in rank
 * order (present[0..npresent)), each group in time order, ties in input order.
 */
static int
sort_piece(struct importer *imp, struct scan *sc, uint64_t count, struct err *e)
{
	struct scan start = *sc;
	const uint32_t *sid;
	const int64_t *t;
	const uint64_t *v;
	uint64_t left;
	size_t n, pos = 0;
	int rc;

	if (++imp->pepoch == 0) {
		memset(imp->mark, 0, imp->se.n * sizeof(uint32_t));
		imp->pepoch = 1;
	}
	imp->npresent = 0;
	for (left = count; left > 0; left -= n) {
		if ((rc = scan_next(imp, sc, left, &sid, &t, &v, &n, e)) != 1)
			return rc == 0 ? err_set(e, "scratch data ended early") : -1;
		for (size_t i = 0; i < n; i++) {
			uint32_t s = sid[i];

			if (imp->mark[s] != imp->pepoch) {
				imp->mark[s] = imp->pepoch;
				imp->cnt[s] = 0;
				imp->present[imp->npresent++] = s;
			}
			imp->cnt[s]++;
		}
	}
	qsort_r(imp->present, imp->npresent, sizeof(uint32_t), cmp_rank, imp->rank_of);
	for (size_t i = 0; i < imp->npresent; i++) {
		uint32_t c = imp->cnt[imp->present[i]];

		imp->cnt[imp->present[i]] = (uint32_t)pos;
		pos += c;
	}
	if (count > imp->tvcap) {
		free(imp->T);
		free(imp->V);
		imp->tvcap = (size_t)count;
		imp->T = xreallocarray(NULL, imp->tvcap, sizeof(int64_t));
		imp->V = xreallocarray(NULL, imp->tvcap, sizeof(uint64_t));
	}
	*sc = start;
	for (left = count; left > 0; left -= n) {
		if ((rc = scan_next(imp, sc, left, &sid, &t, &v, &n, e)) != 1)
			return rc == 0 ? err_set(e, "scratch data ended early") : -1;
		for (size_t i = 0; i < n; i++) {
			uint32_t p = imp->cnt[sid[i]]++;

			imp->T[p] = t[i];
			imp->V[p] = v[i];
		}
	}
	/* cnt[s] is now the end of series s; the previous one's end is its start. */
	for (size_t i = 0, lo = 0; i < imp->npresent; i++) {
		size_t hi = imp->cnt[imp->present[i]];

		sort_by_time(imp->T + lo, imp->V + lo, hi - lo);
		lo = hi;
	}
	return 0;
}

static void
swap_tv(int64_t *t, uint64_t *v, size_t i, size_t j)
{
	int64_t tt = t[i];
	uint64_t vv = v[i];

	t[i] = t[j];
	v[i] = v[j];
	t[j] = tt;
	v[j] = vv;
}

static void
reverse_tv(int64_t *t, uint64_t *v, size_t lo, size_t hi)
{
	while (lo + 1 < hi)
		swap_tv(t, v, lo++, --hi);
}

/* [lo, mid) and [mid, hi) swap places. */
static void
rotate_tv(int64_t *t, uint64_t *v, size_t lo, size_t mid, size_t hi)
{
	reverse_tv(t, v, lo, mid);
	reverse_tv(t, v, mid, hi);
	reverse_tv(t, v, lo, hi);
}

/*
 * Merge two sorted neighbours without a buffer (rotations), keeping equal
 * times in their order: O(n log n) moves, used only for unsorted input.
 */
static void
merge_tv(int64_t *t, uint64_t *v, size_t lo, size_t mid, size_t hi)
{
	size_t cut1, cut2, a, b;

	if (lo >= mid || mid >= hi || t[mid - 1] <= t[mid])
		return;
	if (hi - lo == 2) {
		swap_tv(t, v, lo, mid);
		return;
	}
	if (mid - lo >= hi - mid) {
		cut1 = lo + (mid - lo) / 2;
		/* first in [mid, hi) not below t[cut1]: equal ones stay after it */
		for (a = mid, b = hi; a < b;) {
			size_t m = a + (b - a) / 2;

			if (t[m] < t[cut1])
				a = m + 1;
			else
				b = m;
		}
		cut2 = a;
	} else {
		cut2 = mid + (hi - mid) / 2;
		/* first in [lo, mid) above t[cut2] */
		for (a = lo, b = mid; a < b;) {
			size_t m = a + (b - a) / 2;

			if (t[m] <= t[cut2])
				a = m + 1;
			else
				b = m;
		}
		cut1 = a;
	}
	rotate_tv(t, v, cut1, mid, cut2);
	mid = cut1 + (cut2 - mid);
	merge_tv(t, v, lo, cut1, mid);
	merge_tv(t, v, mid, cut2, hi);
}

/* Stable sort of one series' samples by time; sorted input costs one pass. */
static void
sort_by_time(int64_t *t, uint64_t *v, size_t n)
{
	size_t i, w;

	for (i = 1; i < n && t[i - 1] <= t[i]; i++)
		;
	if (i >= n)
		return;
	for (i = 0; i < n; i += 16) {
		size_t end = i + 16 < n ? i + 16 : n;

		for (size_t j = i + 1; j < end; j++)
			for (size_t k = j; k > i && t[k - 1] > t[k]; k--)
				swap_tv(t, v, k - 1, k);
	}
	for (w = 16; w < n; w *= 2)
		for (i = 0; i + w < n; i += 2 * w)
			merge_tv(t, v, i, i + w, i + 2 * w < n ? i + 2 * w : n);
}

/* A range that fits the budget: sort it at once, then write its block. */
static int
write_sorted(struct importer *imp, struct scan *sc, uint64_t total, struct err *e)
{
	if (sort_piece(imp, sc, total, e) == -1 ||
	    block_begin(imp, imp->present, imp->npresent, e) == -1)
		return -1;
	for (size_t i = 0, lo = 0; i < imp->npresent; i++) {
		uint32_t s = imp->present[i];
		size_t hi = imp->cnt[s];

		if (stopped(imp, e) == -1)
			return -1;
		chunk_cutter_reset(&imp->cc);
		for (size_t k = lo; k < hi; k++)
			imp->blk_dups += (uint64_t)chunk_cutter_append(&imp->cc,
			    imp->T[k], imp->V[k]);
		if (block_series(imp, s, e) == -1)
			return -1;
		lo = hi;
	}
	return block_end(imp, e);
}

/* Append the sorted piece in T/V to the scratch file as (rank, t, v) records. */
static int
run_write(struct importer *imp, struct run *r, struct err *e)
{
	uint8_t rec[RUN_REC * 256];
	size_t nrec = 0;

	memset(r, 0, sizeof(*r));
	r->off = spill_size(imp->sp);
	for (size_t i = 0, lo = 0; i < imp->npresent; i++) {
		uint32_t s = imp->present[i], rank = imp->rank_of[s];
		size_t hi = imp->cnt[s];

		if (imp->rmark[s] != imp->repoch) {
			imp->rmark[s] = imp->repoch;
			imp->rpresent[imp->nrpresent++] = s;
		}
		for (size_t j = lo; j < hi; j++) {
			uint8_t *p = rec + RUN_REC * nrec;

			memcpy(p, &rank, 4);
			memcpy(p + 4, &imp->T[j], 8);
			memcpy(p + 12, &imp->V[j], 8);
			if (++nrec == 256) {
				if (spill_append(imp->sp, rec, sizeof(rec), e) == -1)
					return -1;
				nrec = 0;
			}
		}
		lo = hi;
	}
	if (nrec > 0 && spill_append(imp->sp, rec, RUN_REC * nrec, e) == -1)
		return -1;
	r->end = spill_size(imp->sp);
	return 0;
}

/* The run's next record into rank/t/v: 1, or 0 at its end. */
static int
run_next(struct importer *imp, struct run *r, size_t bufsize, struct err *e)
{
	if (r->bpos == r->blen) {
		size_t want = r->end - r->off < bufsize ? (size_t)(r->end - r->off) : bufsize;

		if (want == 0)
			return 0;
		if (spill_read(imp->sp, r->off, r->buf, want, e) == -1)
			return -1;
		r->off += want;
		r->blen = want;
		r->bpos = 0;
	}
	memcpy(&r->rank, r->buf + r->bpos, 4);
	memcpy(&r->t, r->buf + r->bpos + 4, 8);
	memcpy(&r->v, r->buf + r->bpos + 12, 8);
	r->bpos += RUN_REC;
	return 1;
}

/* Heap order: rank, then time, then the earlier run (earlier input) first. */
static int
run_less(const struct run *runs, size_t a, size_t b)
{
	if (runs[a].rank != runs[b].rank)
		return runs[a].rank < runs[b].rank;
	if (runs[a].t != runs[b].t)
		return runs[a].t < runs[b].t;
	return a < b;
}

static void
heap_down(const struct run *runs, size_t *heap, size_t n, size_t c)
{
	for (;;) {
		size_t l = 2 * c + 1, m = c, tmp;

		if (l < n && run_less(runs, heap[l], heap[m]))
			m = l;
		if (l + 1 < n && run_less(runs, heap[l + 1], heap[m]))
			m = l + 1;
		if (m == c)
			return;
		tmp = heap[c];
		heap[c] = heap[m];
		heap[m] = tmp;
		c = m;
	}
}

/* Merge the runs into the block: a heap of the runs' current records. */
static int
merge_runs(struct importer *imp, struct run *runs, size_t nruns, struct err *e)
{
	size_t bufsize, *heap, nheap = 0;
	uint32_t cur = UINT32_MAX;
	int rc = -1, more;

	bufsize = (size_t)(imp->budget / 2 / nruns / RUN_REC * RUN_REC);
	if (bufsize < RUN_BUF_MIN / RUN_REC * RUN_REC)
		bufsize = RUN_BUF_MIN / RUN_REC * RUN_REC;
	heap = xreallocarray(NULL, nruns, sizeof(size_t));
	for (size_t i = 0; i < nruns; i++) {
		runs[i].buf = xmalloc(bufsize);
		if ((more = run_next(imp, &runs[i], bufsize, e)) == -1)
			goto out;
		if (more)
			heap[nheap++] = i;
	}
	for (size_t i = nheap / 2; i-- > 0;)
		heap_down(runs, heap, nheap, i);
	while (nheap > 0) {
		struct run *r = &runs[heap[0]];

		if (r->rank != cur) {
			if (cur != UINT32_MAX && block_series(imp, imp->by_rank[cur], e) == -1)
				goto out;
			if (stopped(imp, e) == -1)
				goto out;
			cur = r->rank;
			chunk_cutter_reset(&imp->cc);
		}
		imp->blk_dups += (uint64_t)chunk_cutter_append(&imp->cc, r->t, r->v);
		if ((more = run_next(imp, r, bufsize, e)) == -1)
			goto out;
		if (!more)
			heap[0] = heap[--nheap];
		heap_down(runs, heap, nheap, 0);
	}
	if (cur != UINT32_MAX && block_series(imp, imp->by_rank[cur], e) == -1)
		goto out;
	rc = 0;
out:
	for (size_t i = 0; i < nruns; i++)
		free(runs[i].buf);
	free(heap);
	return rc;
}

/*
 * A range too big for the budget: sorted pieces become runs in the scratch
 * file, and a merge of the runs writes the block.
 */
static int
write_merged(struct importer *imp, struct scan *sc, uint64_t total, uint64_t piece,
    struct err *e)
{
	struct run *runs = NULL;
	size_t nruns = 0;
	int rc = -1;

	if (++imp->repoch == 0) {
		memset(imp->rmark, 0, imp->se.n * sizeof(uint32_t));
		imp->repoch = 1;
	}
	imp->nrpresent = 0;
	if (imp->sp == NULL && (imp->sp = spill_create(imp->tmp_dir, e)) == NULL)
		return -1;
	for (uint64_t done = 0; done < total; done += piece) {
		uint64_t k = total - done < piece ? total - done : piece;

		runs = xreallocarray(runs, nruns + 1, sizeof(*runs));
		if (stopped(imp, e) == -1 || sort_piece(imp, sc, k, e) == -1 ||
		    run_write(imp, &runs[nruns], e) == -1)
			goto out;
		nruns++;
	}
	/* The sort arrays are free now; the merge buffers share the budget. */
	free(imp->T);
	free(imp->V);
	imp->T = NULL;
	imp->V = NULL;
	imp->tvcap = 0;
	qsort_r(imp->rpresent, imp->nrpresent, sizeof(uint32_t), cmp_rank, imp->rank_of);
	if (block_begin(imp, imp->rpresent, imp->nrpresent, e) == -1 ||
	    merge_runs(imp, runs, nruns, e) == -1)
		goto out;
	rc = block_end(imp, e);
out:
	free(runs);
	return rc;
}

/* The block of one range: one sorted piece, or sorted runs merged. */
static int
write_range(struct importer *imp, struct brange *br, struct err *e)
{
	struct scan sc;
	uint64_t total = br->nmem + br->nspilled, piece;

	memset(&sc, 0, sizeof(sc));
	sc.br = br;
	sc.pg = br->head;
	/* Spilled mode: the sort arrays (16 bytes a sample) get the budget. */
	piece = imp->sp == NULL ? total : imp->budget / 16;
	if (piece < SCAN_N)
		piece = SCAN_N;
	/* Positions within a piece are 32-bit. */
	if (piece > UINT32_MAX - 1)
		piece = UINT32_MAX - 1;
	if (total <= piece)
		return write_sorted(imp, &sc, total, e);
	return write_merged(imp, &sc, total, piece, e);
}

/* A new block writer with the symbols of the given series (rank order) and "". */
static int
block_begin(struct importer *imp, const uint32_t *sids, size_t n, struct err *e)
{
	size_t nw = imp->st.n / 64 + 1;

	if ((imp->w = block_writer_create(imp->out_dir, e)) == NULL)
		return -1;
	imp->blk_dups = 0;
	for (size_t i = 0; i < n; i++) {
		const uint32_t *ent = imp->se.pool + imp->se.poff[sids[i]];

		for (uint32_t k = 1; k <= 2 * ent[0]; k++) {
			uint32_t r = imp->srank[ent[k]];

			/* "" is always symbol 0, added below. */
			if (imp->st.len[ent[k]] == 0)
				continue;
			imp->symbits[r / 64] |= 1ULL << (r % 64);
		}
	}
	if (block_writer_add_symbol(imp->w, STR_LIT(""), e) == -1)
		return -1;
	for (size_t wi = 0; wi < nw; wi++) {
		uint64_t bits = imp->symbits[wi];

		imp->symbits[wi] = 0;
		while (bits != 0) {
			size_t r = wi * 64 + (size_t)__builtin_ctzll(bits);

			bits &= bits - 1;
			if (block_writer_add_symbol(imp->w, str_get(&imp->st, imp->sorder[r]),
			    e) == -1) {
				memset(imp->symbits, 0, nw * sizeof(uint64_t));
				return -1;
			}
		}
	}
	return 0;
}

/* The chunks the cutter holds become series sid of the block. */
static int
block_series(struct importer *imp, uint32_t sid, struct err *e)
{
	const uint32_t *ent = imp->se.pool + imp->se.poff[sid];
	struct labels ls;
	struct chunk *chunks;
	size_t n;

	if (ent[0] > imp->lbufcap) {
		imp->lbufcap = ent[0];
		imp->lbuf = xreallocarray(imp->lbuf, imp->lbufcap, sizeof(*imp->lbuf));
	}
	for (uint32_t k = 0; k < ent[0]; k++) {
		imp->lbuf[k].name = str_get(&imp->st, ent[1 + 2 * k]);
		imp->lbuf[k].value = str_get(&imp->st, ent[2 + 2 * k]);
	}
	ls.v = imp->lbuf;
	ls.n = ent[0];
	chunks = chunk_cutter_chunks(&imp->cc, &n);
	return block_writer_add_series(imp->w, &ls, chunks, n, e);
}

static int
block_end(struct importer *imp, struct err *e)
{
	struct block_meta *m = block_writer_meta(imp->w);
	struct importer_block b;
	char dir[4096];
	int written;

	if (imp->nlabels > 0) {
		for (size_t i = 0; i < imp->nlabels; i++)
			meta_thanos_add_label(m, imp->lnames[i], imp->lvalues[i]);
		m->has_thanos = 1;
		m->thanos.version = 1;
		free(m->thanos.source);
		m->thanos.source = xstrdup("");
	}
	memset(&b, 0, sizeof(b));
	memcpy(b.ulid, m->ulid, sizeof(b.ulid));
	b.min_time = m->min_time;
	b.max_time = m->max_time;
	b.num_samples = m->num_samples;
	b.num_chunks = m->num_chunks;
	b.num_series = m->num_series;
	imp->stats.duplicates += imp->blk_dups;
	if (block_writer_commit(imp->w, &written, e) == -1) {
		imp->w = NULL;
		return -1;
	}
	imp->w = NULL;
	if (!written)
		return 0;
	snprintf(dir, sizeof(dir), "%s/%s", imp->out_dir, b.ulid);
	b.dir = dir;
	b.size = block_size(dir);
	imp->stats.blocks++;
	imp->stats.written += b.num_samples;
	if (imp->block_done != NULL)
		imp->block_done(&b, imp->arg);
	if (imp->progress != NULL)
		imp->progress(&imp->stats, imp->arg);
	return 0;
}

void
importer_free(struct importer *imp)
{
	if (imp == NULL)
		return;
	if (imp->w != NULL)
		block_writer_abort(imp->w);
	for (size_t k = 0; k < imp->nranges; k++)
		free(imp->ranges[k].segs);
	slabs_free(imp);
	free(imp->ranges);
	free(imp->rslots);
	spill_close(imp->sp);
	free(imp->st.arena);
	free(imp->st.off);
	free(imp->st.len);
	free(imp->st.hash);
	free(imp->st.slots);
	free(imp->se.pool);
	free(imp->se.poff);
	free(imp->se.hash);
	free(imp->se.slots);
	free(imp->rank_of);
	free(imp->by_rank);
	free(imp->srank);
	free(imp->sorder);
	free(imp->symbits);
	free(imp->cnt);
	free(imp->mark);
	free(imp->rmark);
	free(imp->present);
	free(imp->rpresent);
	free(imp->T);
	free(imp->V);
	free(imp->ssid);
	free(imp->st_buf);
	free(imp->sv_buf);
	if (imp->cc_init)
		chunk_cutter_free(&imp->cc);
	free(imp->lbuf);
	for (size_t i = 0; i < imp->nlabels; i++) {
		free(imp->lnames[i]);
		free(imp->lvalues[i]);
	}
	free(imp->lnames);
	free(imp->lvalues);
	free(imp->out_dir);
	free(imp->tmp_dir);
	free(imp);
}
