/*
 * index_reader — reads a block index, format v2 or v1 (§7 of
 * specs/tsdb-format.md), from a mapping or from caller memory.
 *
 * Open checks the header, the TOC, the symbol table and the postings offset
 * table (lengths and CRCs) and keeps two indexes in memory: the offset of
 * every symbol, and the postings offset table as sorted arrays. Postings
 * lists and series entries are checked (bounds, CRC, contents) every time
 * they are read. No byte outside [p, p + len) is ever read.
 *
 * No byte of the file goes unchecked, so that any corrupted byte becomes an
 * error: the sections must tile the file exactly, the legacy label indices
 * and label offset table (which no query needs) are checked at open, and
 * the zero padding is checked at open (before the first series, label index
 * and postings list) or with the entry it follows (after each series and
 * each postings list).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/err.h"
#include "lib/base/fileutil.h"
#include "lib/base/xmalloc.h"
#include "lib/tsdb/crc32c.h"
#include "lib/tsdb/encoding.h"
#include "lib/tsdb/index.h"

#define HEADER_LEN	5
#define TOC_LEN		52
#define SERIES_LEN_MAX	5	/* bytes of a series entry's length uvarint */
#define SHOW		64	/* at most this much of a string in messages */

/* One entry of the postings offset table. */
struct pentry {
	struct str	name;
	struct str	value;
	uint64_t	off;		/* of the list's len field */
	uint64_t	end;		/* where the next list (or section) starts */
};

struct index_reader {
	const uint8_t	*p;
	size_t		 len;
	struct mapped	 map;
	int		 version;
	struct index_toc toc;

	uint64_t	 symbase;	/* file offset of the first symbol */
	uint32_t	*symoff;	/* per symbol: its offset from symbase */
	size_t		 nsyms;

	struct pentry	*ents;		/* sorted by name, then value */
	size_t		 nents;
	struct str	*values;	/* ents[i].value, for label_values */
	struct str	*names;		/* distinct names, ascending */
	size_t		*nstart;	/* name i owns ents [nstart[i], nstart[i+1]) */
	size_t		 nnames;
};

static uint64_t	align_up(uint64_t, uint64_t);
static int	zeros(const struct index_reader *, uint64_t, uint64_t);
static int	str_order(struct str, struct str);
static int	pentry_cmp(const void *, const void *);
static int	read_toc(struct index_reader *, struct err *);
static int	read_section(const struct index_reader *, uint64_t, uint64_t,
		    const char *, struct decbuf *, struct err *);
static int	read_whole_section(const struct index_reader *, uint64_t, uint64_t,
		    const char *, struct decbuf *, struct err *);
static int	read_symbols(struct index_reader *, struct err *);
static int	check_series_start(const struct index_reader *, struct err *);
static int	read_label_indices(const struct index_reader *, struct err *);
static int	read_label_index(const struct index_reader *, uint32_t, uint64_t,
		    uint64_t, uint64_t *, struct err *);
static int	read_postings_table(struct index_reader *, struct err *);
static int	place_postings(struct index_reader *, struct err *);
static int	sort_postings_table(struct index_reader *, struct err *);
static void	build_names(struct index_reader *);
static struct str sym_at(const struct index_reader *, size_t);
static int	resolve(const struct index_reader *, uint64_t, struct str *);
static int	read_postings_at(struct index_reader *, const struct pentry *,
		    struct postings *, struct err *);
static int	series_fail(struct index_series *, struct err *, uint32_t, const char *);
static int	decode_series(struct index_reader *, uint32_t, const uint8_t *, size_t,
		    struct index_series *, struct err *);

static uint64_t
align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

/* Whether padding p[from, to) is all zero; the caller keeps it in the file. */
static int
zeros(const struct index_reader *r, uint64_t from, uint64_t to)
{
	for (uint64_t i = from; i < to; i++)
		if (r->p[i] != 0)
			return 0;
	return 1;
}

/* Plain byte order: memcmp over the common length, then shorter first. */
static int
str_order(struct str a, struct str b)
{
	size_t n = a.len < b.len ? a.len : b.len;
	int c = n ? memcmp(a.p, b.p, n) : 0;

	if (c != 0)
		return c;
	return a.len < b.len ? -1 : a.len > b.len;
}

static int
pentry_cmp(const void *a, const void *b)
{
	const struct pentry *x = a, *y = b;
	int c = str_order(x->name, y->name);

	return c != 0 ? c : str_order(x->value, y->value);
}

/*
 * The TOC, and the order of the sections it names: file order is symbols,
 * series, label indices, postings, label offset table, postings offset
 * table, TOC.
 */
static int
read_toc(struct index_reader *r, struct err *e)
{
	const uint8_t *t = r->p + r->len - TOC_LEN;
	struct index_toc *toc = &r->toc;
	uint64_t end = r->len - TOC_LEN;

	if (crc32c(0, t, 48) != be32_get(t + 48))
		return err_set(e, "index: TOC: CRC mismatch");
	toc->symbols = be64_get(t);
	toc->series = be64_get(t + 8);
	toc->label_indices = be64_get(t + 16);
	toc->label_indices_table = be64_get(t + 24);
	toc->postings = be64_get(t + 32);
	toc->postings_table = be64_get(t + 40);
	if (toc->symbols != HEADER_LEN || toc->series < toc->symbols ||
	    toc->label_indices < toc->series || toc->postings < toc->label_indices ||
	    toc->label_indices_table < toc->postings ||
	    toc->postings_table < toc->label_indices_table || toc->postings_table >= end)
		return err_set(e, "index: TOC: section offsets out of order or outside "
		    "the file (symbols %" PRIu64 ", series %" PRIu64 ", label indices %"
		    PRIu64 ", postings %" PRIu64 ", label table %" PRIu64
		    ", postings table %" PRIu64 ", TOC %" PRIu64 ")", toc->symbols,
		    toc->series, toc->label_indices, toc->postings,
		    toc->label_indices_table, toc->postings_table, end);
	return 0;
}

/*
 * A BE32 len, len bytes, BE32 CRC of those bytes, all before limit. On
 * success d covers the len bytes.
 */
static int
read_section(const struct index_reader *r, uint64_t off, uint64_t limit,
    const char *what, struct decbuf *d, struct err *e)
{
	uint64_t len;

	if (off > limit || limit - off < 8)
		return err_set(e, "index: %s: offset %" PRIu64 " out of bounds", what, off);
	len = be32_get(r->p + off);
	if (len > limit - off - 8)
		return err_set(e, "index: %s: length %" PRIu64 " at offset %" PRIu64
		    " overruns its section", what, len, off);
	if (crc32c(0, r->p + off + 4, len) != be32_get(r->p + off + 4 + len))
		return err_set(e, "index: %s: CRC mismatch", what);
	decbuf_init(d, r->p + off + 4, len);
	return 0;
}

/* A section that the next one follows without padding. */
static int
read_whole_section(const struct index_reader *r, uint64_t off, uint64_t limit,
    const char *what, struct decbuf *d, struct err *e)
{
	uint64_t end;

	if (read_section(r, off, limit, what, d, e) == -1)
		return -1;
	end = off + 8 + d->len;
	if (end != limit)
		return err_set(e, "index: %s: %" PRIu64 " unused bytes before offset %"
		    PRIu64, what, limit - end, limit);
	return 0;
}

static int
read_symbols(struct index_reader *r, struct err *e)
{
	struct decbuf d;
	const uint8_t *start;
	uint32_t n;

	if (read_whole_section(r, r->toc.symbols, r->toc.series, "symbol table", &d,
	    e) == -1)
		return -1;
	n = dec_be32(&d);
	if (d.err || n > d.len)
		return err_set(e, "index: symbol table: bad symbol count %" PRIu32, n);
	start = d.p;
	r->symbase = (uint64_t)(start - r->p);
	r->symoff = xreallocarray(NULL, n ? n : 1, sizeof(*r->symoff));
	for (uint32_t i = 0; i < n; i++) {
		size_t len;

		r->symoff[i] = (uint32_t)(d.p - start);
		dec_uvarint_str(&d, &len);
		if (d.err)
			return err_set(e, "index: symbol table: symbol %" PRIu32 " truncated", i);
	}
	if (d.len != 0)
		return err_set(e, "index: symbol table: %zu bytes after the last symbol", d.len);
	r->nsyms = n;
	return 0;
}

/*
 * v2 pads the first series to a multiple of 16 (v1 does not pad series);
 * the padding after each series is checked when it is read.
 */
static int
check_series_start(const struct index_reader *r, struct err *e)
{
	uint64_t first = align_up(r->toc.series, 16);

	if (r->version == 1 || r->toc.label_indices == r->toc.series)
		return 0;
	if (first >= r->toc.label_indices)
		return err_set(e, "index: series area [%" PRIu64 ", %" PRIu64 ") holds no "
		    "series", r->toc.series, r->toc.label_indices);
	if (!zeros(r, r->toc.series, first))
		return err_set(e, "index: non-zero padding before the first series");
	return 0;
}

/*
 * The legacy label offset table and the label indices it names. Nothing
 * reads them, but a corrupted byte there must not go unnoticed: the table
 * is checked, and the label indices must tile [LabelIndices, Postings),
 * each at the next multiple of 4 after the previous one, in table order.
 * Linear in the size of both, which is small (4 bytes per label value).
 */
static int
read_label_indices(const struct index_reader *r, struct err *e)
{
	struct decbuf d;
	struct str name = { NULL, 0 }, prev = { NULL, 0 };
	uint64_t at = r->toc.label_indices;
	uint32_t n;

	if (read_whole_section(r, r->toc.label_indices_table, r->toc.postings_table,
	    "label offset table", &d, e) == -1)
		return -1;
	n = dec_be32(&d);
	/* Every entry takes at least 3 bytes: bound the loop first. */
	if (d.err || n > d.len / 3)
		return err_set(e, "index: label offset table: bad entry count %" PRIu32, n);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t keys = dec_uvarint(&d), off, want = align_up(at, 4);

		/* v1 allowed an index over several names; v2 writes one. */
		if (!d.err && (keys == 0 || keys > d.len || (r->version == 2 && keys != 1)))
			return err_set(e, "index: label offset table: entry %" PRIu32 " has %"
			    PRIu64 " names", i, keys);
		for (uint64_t k = 0; k < keys && !d.err; k++)
			name.p = (const char *)dec_uvarint_str(&d, &name.len);
		off = dec_uvarint(&d);
		if (d.err)
			return err_set(e, "index: label offset table: entry %" PRIu32
			    " truncated", i);
		if (r->version == 2 && i > 0 && str_order(prev, name) >= 0)
			return err_set(e, "index: label offset table: entry %" PRIu32
			    " (%.*s) not strictly after the previous one", i,
			    (int)(name.len > SHOW ? SHOW : name.len), name.p);
		prev = name;
		if (off != want)
			return err_set(e, "index: label offset table: entry %" PRIu32
			    " at offset %" PRIu64 ", want %" PRIu64, i, off, want);
		/* want <= Postings + 3, inside the file: the TOC follows. */
		if (!zeros(r, at, want))
			return err_set(e, "index: non-zero padding before label index %"
			    PRIu32, i);
		if (read_label_index(r, i, keys, off, &at, e) == -1)
			return -1;
	}
	if (d.len != 0)
		return err_set(e, "index: label offset table: %zu bytes after the last "
		    "entry", d.len);
	if (at != r->toc.postings)
		return err_set(e, "index: label indices end at %" PRIu64 ", postings start "
		    "at %" PRIu64, at, r->toc.postings);
	return 0;
}

/*
 * Label index i at off over names names: BE32 #names, BE32 #entries, the
 * entries (names symbol references each; v2: one, strictly ascending). Sets
 * *end to the first byte after its CRC.
 */
static int
read_label_index(const struct index_reader *r, uint32_t i, uint64_t names,
    uint64_t off, uint64_t *end, struct err *e)
{
	char what[32];
	struct decbuf d;
	struct str sym;
	uint32_t nn, n, v, prev = 0;

	snprintf(what, sizeof(what), "label index %" PRIu32, i);
	if (read_section(r, off, r->toc.postings, what, &d, e) == -1)
		return -1;
	*end = off + 8 + d.len;
	nn = dec_be32(&d);
	n = dec_be32(&d);
	if (d.err || nn != names)
		return err_set(e, "index: %s: %" PRIu32 " names, the label offset table "
		    "says %" PRIu64, what, nn, names);
	if (n > d.len / 4 / nn || d.len != (uint64_t)n * nn * 4)
		return err_set(e, "index: %s: %zu bytes for %" PRIu32 " entries", what,
		    d.len, n);
	for (uint64_t j = 0; j < (uint64_t)n * nn; j++) {
		v = be32_get(d.p + 4 * j);
		if (r->version == 1 ? resolve(r, v, &sym) == -1 : v >= r->nsyms)
			return err_set(e, "index: %s: value %" PRIu64 " refers to an unknown "
			    "symbol", what, j);
		if (r->version == 2 && j > 0 && v <= prev)
			return err_set(e, "index: %s: value %" PRIu64 " not ascending", what, j);
		prev = v;
	}
	return 0;
}

static int
read_postings_table(struct index_reader *r, struct err *e)
{
	struct decbuf d;
	uint32_t n;

	if (read_whole_section(r, r->toc.postings_table, r->len - TOC_LEN,
	    "postings offset table", &d, e) == -1)
		return -1;
	n = dec_be32(&d);
	/* Every entry takes at least 4 bytes: bound the allocation first. */
	if (d.err || n > d.len / 4)
		return err_set(e, "index: postings offset table: bad entry count %" PRIu32, n);
	r->ents = xreallocarray(NULL, n ? n : 1, sizeof(*r->ents));
	for (uint32_t i = 0; i < n; i++) {
		struct pentry *p = &r->ents[i];
		uint64_t keys = dec_uvarint(&d);

		if (!d.err && keys != 2)
			return err_set(e, "index: postings offset table: entry %" PRIu32
			    " has %" PRIu64 " keys, want 2", i, keys);
		p->name.p = (const char *)dec_uvarint_str(&d, &p->name.len);
		p->value.p = (const char *)dec_uvarint_str(&d, &p->value.len);
		p->off = dec_uvarint(&d);
		if (d.err)
			return err_set(e, "index: postings offset table: entry %" PRIu32
			    " truncated", i);
	}
	if (d.len != 0)
		return err_set(e, "index: postings offset table: %zu bytes after the last "
		    "entry", d.len);
	r->nents = n;
	if (place_postings(r, e) == -1)
		return -1;
	return sort_postings_table(r, e);
}

/*
 * In file order, which is table order (in v1 too), the lists tile
 * [Postings, LabelIndicesTable): the first at the next multiple of 4, each
 * later one at a multiple of 4 after the previous. Each entry learns where
 * the next list starts, so that reading a list checks the padding after it.
 */
static int
place_postings(struct index_reader *r, struct err *e)
{
	uint64_t first = align_up(r->toc.postings, 4), lit = r->toc.label_indices_table;

	/* first <= Postings + 3, inside the file: the TOC follows. */
	if (r->nents == 0) {
		if (lit > first || !zeros(r, r->toc.postings, lit))
			return err_set(e, "index: postings area [%" PRIu64 ", %" PRIu64
			    ") holds no list", r->toc.postings, lit);
		return 0;
	}
	if (r->ents[0].off != first)
		return err_set(e, "index: postings offset table: entry 0 at offset %" PRIu64
		    ", want %" PRIu64, r->ents[0].off, first);
	if (!zeros(r, r->toc.postings, first))
		return err_set(e, "index: non-zero padding before the first postings list");
	for (size_t i = 1; i < r->nents; i++) {
		if (r->ents[i].off <= r->ents[i - 1].off)
			return err_set(e, "index: postings offset table: entry %zu at offset %"
			    PRIu64 ", not after the previous one at %" PRIu64, i,
			    r->ents[i].off, r->ents[i - 1].off);
		if (r->ents[i].off % 4 != 0)
			return err_set(e, "index: postings offset table: entry %zu at offset %"
			    PRIu64 ", not a multiple of 4", i, r->ents[i].off);
		r->ents[i - 1].end = r->ents[i].off;
	}
	r->ents[r->nents - 1].end = lit;
	return 0;
}

/* v2 writes the table sorted (and readers rely on it); v1 did not. */
static int
sort_postings_table(struct index_reader *r, struct err *e)
{
	if (r->version == 1)
		qsort(r->ents, r->nents, sizeof(*r->ents), pentry_cmp);
	for (size_t i = 1; i < r->nents; i++) {
		if (pentry_cmp(&r->ents[i - 1], &r->ents[i]) >= 0)
			return err_set(e, "index: postings offset table: entry %zu (%.*s=\"%.*s\") "
			    "not strictly after the previous one", i,
			    (int)(r->ents[i].name.len > SHOW ? SHOW : r->ents[i].name.len),
			    r->ents[i].name.p,
			    (int)(r->ents[i].value.len > SHOW ? SHOW : r->ents[i].value.len),
			    r->ents[i].value.p);
	}
	return 0;
}

static void
build_names(struct index_reader *r)
{
	size_t n = 0;

	r->values = xreallocarray(NULL, r->nents ? r->nents : 1, sizeof(*r->values));
	r->names = xreallocarray(NULL, r->nents ? r->nents : 1, sizeof(*r->names));
	r->nstart = xreallocarray(NULL, r->nents + 1, sizeof(*r->nstart));
	for (size_t i = 0; i < r->nents; i++) {
		r->values[i] = r->ents[i].value;
		if (n > 0 && str_order(r->names[n - 1], r->ents[i].name) == 0)
			continue;
		r->names[n] = r->ents[i].name;
		r->nstart[n++] = i;
	}
	r->nstart[n] = r->nents;
	r->nnames = n;
}

struct index_reader *
index_reader_open_mem(const uint8_t *p, size_t len, struct err *e)
{
	struct index_reader *r;

	if (len < HEADER_LEN + TOC_LEN) {
		err_set(e, "index: file too short (%zu bytes)", len);
		return NULL;
	}
	if (be32_get(p) != INDEX_MAGIC) {
		err_set(e, "index: bad magic 0x%08" PRIx32, be32_get(p));
		return NULL;
	}
	if (p[4] != 1 && p[4] != 2) {
		err_set(e, "index: unknown format version %u", p[4]);
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->p = p;
	r->len = len;
	r->version = p[4];
	if (read_toc(r, e) == -1 || read_symbols(r, e) == -1 ||
	    check_series_start(r, e) == -1 || read_label_indices(r, e) == -1 ||
	    read_postings_table(r, e) == -1) {
		index_reader_close(r);
		return NULL;
	}
	build_names(r);
	return r;
}

struct index_reader *
index_reader_open(const char *path, struct err *e)
{
	struct index_reader *r;
	struct mapped m;

	if (file_map(path, &m, e) == -1)
		return NULL;
	if ((r = index_reader_open_mem(m.p, m.len, e)) == NULL) {
		err_wrap(e, "%s", path);
		file_unmap(&m);
		return NULL;
	}
	r->map = m;
	return r;
}

void
index_reader_close(struct index_reader *r)
{
	if (r == NULL)
		return;
	file_unmap(&r->map);
	free(r->symoff);
	free(r->ents);
	free(r->values);
	free(r->names);
	free(r->nstart);
	free(r);
}

int
index_reader_version(const struct index_reader *r)
{
	return r->version;
}

const struct index_toc *
index_reader_toc(const struct index_reader *r)
{
	return &r->toc;
}

size_t
index_reader_size(const struct index_reader *r)
{
	return r->len;
}

size_t
index_reader_nsymbols(const struct index_reader *r)
{
	return r->nsyms;
}

/* Symbol i; its entry was checked at open. */
static struct str
sym_at(const struct index_reader *r, size_t i)
{
	uint64_t at = r->symbase + r->symoff[i];
	uint64_t n = 0;
	size_t k = uvarint_get(r->p + at, r->len - at, &n);

	return (struct str){ (const char *)r->p + at + k, (size_t)n };
}

/* Symbol position i in either version (v1 series refer by offset instead). */
int
index_reader_symbol(const struct index_reader *r, uint32_t i, struct str *out,
    struct err *e)
{
	if (i >= r->nsyms)
		return err_set(e, "index: symbol %" PRIu32 " out of range (%zu symbols)",
		    i, r->nsyms);
	*out = sym_at(r, i);
	return 0;
}

/* A series' symbol reference: v2 the position, v1 the file offset. */
static int
resolve(const struct index_reader *r, uint64_t ref, struct str *out)
{
	size_t lo = 0, hi = r->nsyms;

	if (r->version == 2) {
		if (ref >= r->nsyms)
			return -1;
		*out = sym_at(r, (size_t)ref);
		return 0;
	}
	if (ref < r->symbase)
		return -1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->symoff[mid] < ref - r->symbase)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == r->nsyms || r->symoff[lo] != ref - r->symbase)
		return -1;
	*out = sym_at(r, lo);
	return 0;
}

void
postings_free(struct postings *pl)
{
	free(pl->ids);
	pl->ids = NULL;
	pl->n = pl->cap = 0;
}

static int
read_postings_at(struct index_reader *r, const struct pentry *pe, struct postings *out,
    struct err *e)
{
	char what[2 * SHOW + 32];
	struct decbuf d;
	uint64_t end;
	uint32_t n;

	out->n = 0;
	snprintf(what, sizeof(what), "postings %.*s=\"%.*s\"",
	    (int)(pe->name.len > SHOW ? SHOW : pe->name.len), pe->name.p,
	    (int)(pe->value.len > SHOW ? SHOW : pe->value.len), pe->value.p);
	if (read_section(r, pe->off, pe->end, what, &d, e) == -1)
		return -1;
	/* Up to the next list: padding to a multiple of 4; the last list: none. */
	end = pe->off + 8 + d.len;
	if (pe->end == r->toc.label_indices_table ? end != pe->end : pe->end - end >= 4)
		return err_set(e, "index: %s: %" PRIu64 " unused bytes before offset %"
		    PRIu64, what, pe->end - end, pe->end);
	if (!zeros(r, end, pe->end))
		return err_set(e, "index: %s: non-zero padding", what);
	n = dec_be32(&d);
	if (d.err || d.len != (uint64_t)n * 4)
		return err_set(e, "index: %s: %zu bytes for %" PRIu32 " entries", what,
		    d.len, n);
	if (n > out->cap) {
		out->ids = xreallocarray(out->ids, n, sizeof(*out->ids));
		out->cap = n;
	}
	for (uint32_t i = 0; i < n; i++) {
		out->ids[i] = be32_get(d.p + 4 * (size_t)i);
		if (i > 0 && out->ids[i] <= out->ids[i - 1]) {
			out->n = 0;
			return err_set(e, "index: %s: series %" PRIu32 " after %" PRIu32
			    " (not ascending)", what, out->ids[i], out->ids[i - 1]);
		}
	}
	out->n = n;
	return 0;
}

int
index_reader_postings(struct index_reader *r, struct str name, struct str value,
    struct postings *out, struct err *e)
{
	struct pentry key = { name, value, 0, 0 };
	const struct pentry *pe;

	out->n = 0;
	pe = bsearch(&key, r->ents, r->nents, sizeof(*r->ents), pentry_cmp);
	if (pe == NULL)
		return 0;
	return read_postings_at(r, pe, out, e);
}

int
index_reader_all_postings(struct index_reader *r, struct postings *out, struct err *e)
{
	return index_reader_postings(r, STR_LIT(""), STR_LIT(""), out, e);
}

int
index_reader_label_names(struct index_reader *r, const struct str **names, size_t *n)
{
	size_t skip = r->nnames > 0 && r->names[0].len == 0;

	*names = r->names + skip;
	*n = r->nnames - skip;
	return 0;
}

int
index_reader_label_values(struct index_reader *r, struct str name,
    const struct str **values, size_t *n)
{
	size_t lo = 0, hi = r->nnames;

	*values = NULL;
	*n = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = str_order(r->names[mid], name);

		if (c == 0) {
			*values = r->values + r->nstart[mid];
			*n = r->nstart[mid + 1] - r->nstart[mid];
			return 0;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static int
series_fail(struct index_series *s, struct err *e, uint32_t id, const char *why)
{
	s->labels.n = 0;
	s->nchunks = 0;
	return err_set(e, "index: series %" PRIu32 ": %s", id, why);
}

/*
 * The body: labels as symbol references, then chunk metas delta-encoded
 * (first mint signed, later mints as unsigned gaps after the previous maxt,
 * spans unsigned, first ref unsigned, later refs as signed differences).
 * Arithmetic wraps in uint64 as Go's does.
 */
static int
decode_series(struct index_reader *r, uint32_t id, const uint8_t *p, size_t len,
    struct index_series *s, struct err *e)
{
	struct decbuf d;
	uint64_t nl, nc, mint, maxt, ref;

	decbuf_init(&d, p, len);
	if ((nl = dec_uvarint(&d)) > d.len / 2)
		return series_fail(s, e, id, "bad label count");
	if (nl > s->lcap) {
		s->labels.v = xreallocarray(s->labels.v, nl, sizeof(*s->labels.v));
		s->lcap = nl;
	}
	for (size_t i = 0; i < nl; i++) {
		uint64_t nref = dec_uvarint(&d), vref = dec_uvarint(&d);

		if (d.err)
			return series_fail(s, e, id, "labels truncated");
		if (resolve(r, nref, &s->labels.v[i].name) == -1 ||
		    resolve(r, vref, &s->labels.v[i].value) == -1)
			return series_fail(s, e, id, "label refers to an unknown symbol");
	}
	if ((nc = dec_uvarint(&d)) > d.len / 3)
		return series_fail(s, e, id, "bad chunk count");
	if (nc > s->ccap) {
		s->chunks = xreallocarray(s->chunks, nc, sizeof(*s->chunks));
		s->ccap = nc;
	}
	maxt = ref = 0;
	for (size_t i = 0; i < nc; i++) {
		if (i == 0) {
			mint = (uint64_t)dec_varint(&d);
			maxt = mint + dec_uvarint(&d);
			ref = dec_uvarint(&d);
		} else {
			mint = maxt + dec_uvarint(&d);
			maxt = mint + dec_uvarint(&d);
			ref += (uint64_t)dec_varint(&d);
		}
		s->chunks[i] = (struct chunk){ .mint = (int64_t)mint, .maxt = (int64_t)maxt,
		    .ref = ref };
	}
	if (d.err)
		return series_fail(s, e, id, "chunk metas truncated");
	if (d.len != 0)
		return series_fail(s, e, id, "bytes after the last chunk meta");
	s->labels.n = (size_t)nl;
	s->nchunks = (size_t)nc;
	return 0;
}

int
index_reader_series(struct index_reader *r, uint32_t id, struct index_series *s,
    struct err *e)
{
	uint64_t off = r->version == 2 ? (uint64_t)id * 16 : id;
	uint64_t end = r->toc.label_indices, blen, pad;
	size_t n;

	s->labels.n = 0;
	s->nchunks = 0;
	if (off < r->toc.series || off >= end)
		return series_fail(s, e, id, "outside the series area");
	n = uvarint_get(r->p + off, end - off < SERIES_LEN_MAX ? end - off : SERIES_LEN_MAX,
	    &blen);
	if (n == 0)
		return series_fail(s, e, id, "bad length");
	if (blen > end - off - n || end - off - n - blen < 4)
		return series_fail(s, e, id, "length overruns the series area");
	off += n;
	if (crc32c(0, r->p + off, blen) != be32_get(r->p + off + blen))
		return series_fail(s, e, id, "CRC mismatch");
	/* v2: padding up to the next series at a multiple of 16 (v1 has none). */
	if (r->version == 2) {
		pad = align_up(off + blen + 4, 16);
		if (!zeros(r, off + blen + 4, pad < end ? pad : end))
			return series_fail(s, e, id, "non-zero padding");
	}
	return decode_series(r, id, r->p + off, blen, s, e);
}

void
index_series_free(struct index_series *s)
{
	free(s->labels.v);
	free(s->chunks);
	memset(s, 0, sizeof(*s));
}
