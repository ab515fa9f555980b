/*
 * index_writer — writes the block index, format v2 (§7 of
 * specs/tsdb-format.md), byte-identical to Prometheus 2.42.
 *
 * The file streams out through one large buffer. Symbols are held until the
 * first series (their count and CRC head the table), series entries go out
 * as they arrive, and at close the postings kept in memory become the label
 * indices, postings lists and the two offset tables. Memory therefore grows
 * with the symbols and with 4 bytes per label pair per series, never with
 * chunks.
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base/err.h"
#include "lib/base/xmalloc.h"
#include "lib/tsdb/crc32c.h"
#include "lib/tsdb/encoding.h"
#include "lib/tsdb/index.h"

#define WBUF_SIZE	(1u << 20)
#define SERIES_ALIGN	16
#define SECTION_ALIGN	4

/* A symbol's bytes, as an offset into the arena (which may move). */
struct wsym {
	size_t	off;
	size_t	len;
};

struct idlist {
	uint32_t	*v;
	size_t		 n;
	size_t		 cap;
};

/* One (name, value) pair of the written series and the series that carry it. */
struct wpair {
	uint64_t	key;		/* name symbol << 32 | value symbol */
	struct idlist	ids;
	uint64_t	off;		/* where its postings list went */
};

/* A label index written at close, for the label offset table. */
struct windex {
	uint32_t	name;
	uint64_t	off;
};

struct index_writer {
	int		 fd;
	uint8_t		*wbuf;
	size_t		 wlen;
	uint64_t	 pos;		/* file offset of the next byte */
	int		 ioerr;		/* errno of the first failed write */
	uint32_t	 crc;		/* running CRC of the current section */

	struct buf	 arena;		/* symbol bytes */
	struct wsym	*syms;
	size_t		 nsyms;
	size_t		 symcap;
	uint32_t	*symtab;	/* open addressing: symbol index + 1, 0 free */
	size_t		 symtab_size;
	int		 symbols_done;

	struct wpair	*pairs;
	size_t		 npairs;
	size_t		 paircap;
	uint32_t	*pairtab;	/* open addressing: pair index + 1, 0 free */
	size_t		 pairtab_size;
	struct idlist	 all;
	uint64_t	 alloff;	/* where the all-series list went */

	uint32_t	*prev;		/* name, value symbols of the last series */
	size_t		 nprev;
	size_t		 prevcap;
	uint32_t	*cur;
	size_t		 curcap;
	struct buf	 body;

	struct windex	*lidx;
	size_t		 nlidx;

	struct index_toc toc;
};

static void	w_flush(struct index_writer *);
static void	w_put(struct index_writer *, const void *, size_t);
static void	w_put_crc(struct index_writer *, const void *, size_t);
static void	w_put_be32(struct index_writer *, uint32_t);
static void	w_put_crc_be32(struct index_writer *, uint32_t);
static void	w_put_crc_uvarint(struct index_writer *, uint64_t);
static void	w_put_crc_str(struct index_writer *, const void *, size_t);
static void	w_pad(struct index_writer *, unsigned);
static size_t	uvarint_size(uint64_t);
static uint64_t	str_fnv(const void *, size_t);
static uint64_t	mix64(uint64_t);
static int	sym_cmp(const struct index_writer *, size_t, const void *, size_t);
static int	sym_find(const struct index_writer *, const void *, size_t, uint32_t *);
static void	symtab_insert(struct index_writer *, uint32_t);
static void	symtab_build(struct index_writer *);
static struct wpair *pair_get(struct index_writer *, uint64_t);
static void	pairtab_grow(struct index_writer *);
static void	idlist_push(struct idlist *, uint32_t);
static int	finish_symbols(struct index_writer *, struct err *);
static int	series_symbols(struct index_writer *, const struct labels *, struct err *);
static int	series_cmp(const uint32_t *, size_t, const uint32_t *, size_t);
static int	check_chunks(const struct labels *, const struct chunk *, size_t, struct err *);
static void	encode_series(struct index_writer *, size_t, const struct chunk *, size_t);
static void	fmt_labels(char *, size_t, const struct labels *);
static int	pair_key_cmp(const void *, const void *);
static int	write_label_indices(struct index_writer *, struct err *);
static void	write_ids(struct index_writer *, const uint32_t *, size_t);
static int	write_postings_list(struct index_writer *, const struct idlist *, struct err *);
static int	write_postings(struct index_writer *, struct err *);
static int	write_label_table(struct index_writer *, struct err *);
static int	write_postings_table(struct index_writer *, struct err *);
static void	write_toc(struct index_writer *);
static int	io_check(struct index_writer *, struct err *);
static int	finish(struct index_writer *, struct err *);
static void	writer_free(struct index_writer *);

static void
w_flush(struct index_writer *w)
{
	size_t done = 0;

	while (done < w->wlen && w->ioerr == 0) {
		ssize_t n = write(w->fd, w->wbuf + done, w->wlen - done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			w->ioerr = n == -1 ? errno : EIO;
			break;
		}
		done += (size_t)n;
	}
	w->wlen = 0;
}

/* Write errors are sticky and reported by the next public call (io_check). */
static void
w_put(struct index_writer *w, const void *p, size_t n)
{
	const uint8_t *s = p;

	if (n == 0)
		return;
	w->pos += n;
	while (n > 0) {
		size_t room = WBUF_SIZE - w->wlen, k = n < room ? n : room;

		memcpy(w->wbuf + w->wlen, s, k);
		w->wlen += k;
		s += k;
		n -= k;
		if (w->wlen == WBUF_SIZE)
			w_flush(w);
	}
}

static void
w_put_crc(struct index_writer *w, const void *p, size_t n)
{
	if (n == 0)
		return;
	w->crc = crc32c(w->crc, p, n);
	w_put(w, p, n);
}

static void
w_put_be32(struct index_writer *w, uint32_t v)
{
	uint8_t b[4];

	be32_put(b, v);
	w_put(w, b, 4);
}

static void
w_put_crc_be32(struct index_writer *w, uint32_t v)
{
	uint8_t b[4];

	be32_put(b, v);
	w_put_crc(w, b, 4);
}

static void
w_put_crc_uvarint(struct index_writer *w, uint64_t v)
{
	uint8_t b[10];

	w_put_crc(w, b, uvarint_put(b, v));
}

static void
w_put_crc_str(struct index_writer *w, const void *p, size_t n)
{
	w_put_crc_uvarint(w, n);
	w_put_crc(w, p, n);
}

static void
w_pad(struct index_writer *w, unsigned align)
{
	static const uint8_t zeros[SERIES_ALIGN];
	size_t n = (align - w->pos % align) % align;

	w_put(w, zeros, n);
}

static size_t
uvarint_size(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static uint64_t
str_fnv(const void *p, size_t n)
{
	const uint8_t *s = p;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* splitmix64's finalizer: every key bit reaches the low bits used as slot. */
static uint64_t
mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ x >> 31;
}

/* Plain byte order: memcmp over the common length, then shorter first. */
static int
sym_cmp(const struct index_writer *w, size_t i, const void *p, size_t n)
{
	const struct wsym *s = &w->syms[i];
	size_t m = s->len < n ? s->len : n;
	int c = m ? memcmp(w->arena.p + s->off, p, m) : 0;

	if (c != 0)
		return c;
	return s->len < n ? -1 : s->len > n;
}

static int
sym_find(const struct index_writer *w, const void *p, size_t n, uint32_t *out)
{
	size_t mask, i;

	if (w->symtab_size == 0)
		return 0;
	mask = w->symtab_size - 1;
	i = (size_t)str_fnv(p, n) & mask;
	for (; w->symtab[i] != 0; i = (i + 1) & mask) {
		uint32_t s = w->symtab[i] - 1;
		if (w->syms[s].len == n && sym_cmp(w, s, p, n) == 0) {
			*out = s;
			return 1;
		}
	}
	return 0;
}

static void
symtab_insert(struct index_writer *w, uint32_t s)
{
	size_t mask = w->symtab_size - 1;
	size_t i = (size_t)str_fnv(w->arena.p + w->syms[s].off, w->syms[s].len) & mask;

	while (w->symtab[i] != 0)
		i = (i + 1) & mask;
	w->symtab[i] = s + 1;
}

/* Built once, when the symbols are complete; at most half full. */
static void
symtab_build(struct index_writer *w)
{
	w->symtab_size = 64;
	while (w->symtab_size < 2 * w->nsyms)
		w->symtab_size *= 2;
	w->symtab = xcalloc(w->symtab_size, sizeof(*w->symtab));
	for (size_t s = 0; s < w->nsyms; s++)
		symtab_insert(w, (uint32_t)s);
}

int
index_writer_add_symbol(struct index_writer *w, struct str sym, struct err *e)
{
	if (w->symbols_done)
		return err_set(e, "index: symbol \"%.*s\" added after the first series",
		    (int)(sym.len > 64 ? 64 : sym.len), sym.p);
	if (w->nsyms > 0 && sym_cmp(w, w->nsyms - 1, sym.p, sym.len) >= 0)
		return err_set(e, "index: symbol \"%.*s\" out of order (symbols must be "
		    "strictly ascending)", (int)(sym.len > 64 ? 64 : sym.len), sym.p);
	if (w->nsyms == UINT32_MAX)
		return err_set(e, "index: too many symbols");
	if (w->nsyms == w->symcap) {
		w->symcap = w->symcap ? w->symcap * 2 : 256;
		w->syms = xreallocarray(w->syms, w->symcap, sizeof(*w->syms));
	}
	w->syms[w->nsyms].off = w->arena.len;
	w->syms[w->nsyms].len = sym.len;
	buf_put_bytes(&w->arena, sym.p, sym.len);
	w->nsyms++;
	return 0;
}

static struct wpair *
pair_get(struct index_writer *w, uint64_t key)
{
	size_t mask, i;

	if (w->npairs * 2 >= w->pairtab_size)
		pairtab_grow(w);
	mask = w->pairtab_size - 1;
	i = (size_t)mix64(key) & mask;
	for (; w->pairtab[i] != 0; i = (i + 1) & mask) {
		struct wpair *p = &w->pairs[w->pairtab[i] - 1];
		if (p->key == key)
			return p;
	}
	if (w->npairs == w->paircap) {
		w->paircap = w->paircap ? w->paircap * 2 : 256;
		w->pairs = xreallocarray(w->pairs, w->paircap, sizeof(*w->pairs));
	}
	w->pairs[w->npairs] = (struct wpair){ .key = key };
	w->pairtab[i] = (uint32_t)++w->npairs;
	return &w->pairs[w->npairs - 1];
}

static void
pairtab_grow(struct index_writer *w)
{
	size_t mask;

	w->pairtab_size = w->pairtab_size ? w->pairtab_size * 2 : 1024;
	mask = w->pairtab_size - 1;
	free(w->pairtab);
	w->pairtab = xcalloc(w->pairtab_size, sizeof(*w->pairtab));
	for (size_t p = 0; p < w->npairs; p++) {
		size_t i = (size_t)mix64(w->pairs[p].key) & mask;
		while (w->pairtab[i] != 0)
			i = (i + 1) & mask;
		w->pairtab[i] = (uint32_t)(p + 1);
	}
}

static void
idlist_push(struct idlist *l, uint32_t id)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = id;
}

struct index_writer *
index_writer_open(const char *path, struct err *e)
{
	static const uint8_t header[5] = { 0xba, 0xaa, 0xd7, 0x00, 0x02 };
	struct index_writer *w;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)) == -1) {
		err_errno(e, "index: create %s", path);
		return NULL;
	}
	w = xcalloc(1, sizeof(*w));
	w->fd = fd;
	w->wbuf = xmalloc(WBUF_SIZE);
	buf_reserve(&w->arena, 4096);	/* never NULL, even if every symbol is "" */
	w_put(w, header, sizeof(header));
	w->toc.symbols = w->pos;
	return w;
}

/*
 * The symbol table: len, count, entries, CRC over count and entries. It is
 * written when the first series comes, once the count (which the CRC
 * covers) is known.
 */
static int
finish_symbols(struct index_writer *w, struct err *e)
{
	uint64_t len = 4;

	for (size_t i = 0; i < w->nsyms; i++)
		len += uvarint_size(w->syms[i].len) + w->syms[i].len;
	if (len > UINT32_MAX)
		return err_set(e, "index: symbol table size %" PRIu64 " exceeds 4 GiB", len);
	w->symbols_done = 1;
	w_put_be32(w, (uint32_t)len);
	w->crc = 0;
	w_put_crc_be32(w, (uint32_t)w->nsyms);
	for (size_t i = 0; i < w->nsyms; i++)
		w_put_crc_str(w, w->arena.p + w->syms[i].off, w->syms[i].len);
	w_put_be32(w, w->crc);
	w->toc.series = w->pos;
	symtab_build(w);
	return 0;
}

static void
fmt_labels(char *dst, size_t size, const struct labels *ls)
{
	size_t n = 0;

	n += (size_t)snprintf(dst, size, "{");
	for (size_t i = 0; i < ls->n && n < size; i++) {
		const struct label *l = &ls->v[i];
		n += (size_t)snprintf(dst + n, size - n, "%s%.*s=\"%.*s\"",
		    i ? ", " : "", (int)(l->name.len > 64 ? 64 : l->name.len), l->name.p,
		    (int)(l->value.len > 64 ? 64 : l->value.len), l->value.p);
	}
	if (n < size)
		snprintf(dst + n, size - n, "}");
}

/* Resolve the labels to symbols in w->cur, checking names ascend. */
static int
series_symbols(struct index_writer *w, const struct labels *ls, struct err *e)
{
	char desc[256];

	if (ls->n == 0)
		return err_set(e, "index: series without labels");
	if (ls->n > SIZE_MAX / 2 - 1)
		return err_set(e, "index: too many labels");
	if (2 * ls->n > w->curcap) {
		w->curcap = 2 * ls->n;
		w->cur = xreallocarray(w->cur, w->curcap, sizeof(*w->cur));
	}
	for (size_t i = 0; i < ls->n; i++) {
		const struct label *l = &ls->v[i];

		if (l->name.len == 0) {
			fmt_labels(desc, sizeof(desc), ls);
			return err_set(e, "index: series %s: empty label name", desc);
		}
		if (!sym_find(w, l->name.p, l->name.len, &w->cur[2 * i]) ||
		    !sym_find(w, l->value.p, l->value.len, &w->cur[2 * i + 1])) {
			fmt_labels(desc, sizeof(desc), ls);
			return err_set(e, "index: series %s: label %.*s=\"%.*s\" is not in the "
			    "symbol table", desc, (int)(l->name.len > 64 ? 64 : l->name.len),
			    l->name.p, (int)(l->value.len > 64 ? 64 : l->value.len), l->value.p);
		}
		if (i > 0 && w->cur[2 * i] <= w->cur[2 * i - 2]) {
			fmt_labels(desc, sizeof(desc), ls);
			return err_set(e, "index: series %s: label names not strictly ascending",
			    desc);
		}
	}
	return 0;
}

/*
 * Symbols are numbered in byte order, so comparing symbol numbers is
 * comparing the strings: this is Prometheus' labels.Compare.
 */
static int
series_cmp(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
	size_t n = na < nb ? na : nb;

	for (size_t i = 0; i < n; i++) {
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	}
	return na < nb ? -1 : na > nb;
}

static int
check_chunks(const struct labels *ls, const struct chunk *c, size_t n, struct err *e)
{
	char desc[256];

	for (size_t i = 0; i < n; i++) {
		const char *why = NULL;

		if (c[i].maxt < c[i].mint)
			why = "maxt before mint";
		else if (i > 0 && c[i].mint < c[i - 1].maxt)
			why = "overlaps the previous chunk";
		if (why == NULL)
			continue;
		fmt_labels(desc, sizeof(desc), ls);
		return err_set(e, "index: series %s: chunk %zu [%" PRId64 ", %" PRId64 "]: %s",
		    desc, i, c[i].mint, c[i].maxt, why);
	}
	return 0;
}

/*
 * Chunk metas are delta-encoded with a varint kind per field: the first
 * mint signed, every later mint as an unsigned gap after the previous maxt,
 * spans unsigned, the first ref unsigned, later refs as signed differences.
 */
static void
encode_series(struct index_writer *w, size_t nlabels, const struct chunk *c, size_t n)
{
	struct buf *b = &w->body;

	buf_reset(b);
	buf_put_uvarint(b, nlabels);
	for (size_t i = 0; i < 2 * nlabels; i++)
		buf_put_uvarint(b, w->cur[i]);
	buf_put_uvarint(b, n);
	if (n == 0)
		return;
	buf_put_varint(b, c[0].mint);
	buf_put_uvarint(b, (uint64_t)c[0].maxt - (uint64_t)c[0].mint);
	buf_put_uvarint(b, c[0].ref);
	for (size_t i = 1; i < n; i++) {
		buf_put_uvarint(b, (uint64_t)c[i].mint - (uint64_t)c[i - 1].maxt);
		buf_put_uvarint(b, (uint64_t)c[i].maxt - (uint64_t)c[i].mint);
		buf_put_varint(b, (int64_t)(c[i].ref - c[i - 1].ref));
	}
}

int
index_writer_add_series(struct index_writer *w, const struct labels *ls,
    const struct chunk *chunks, size_t n, uint32_t *id, struct err *e)
{
	char desc[256];
	uint8_t len[10], crc[4];
	uint64_t sid;
	uint32_t *tmp;
	size_t ncap;

	if (!w->symbols_done && finish_symbols(w, e) == -1)
		return -1;
	if (series_symbols(w, ls, e) == -1)
		return -1;
	if (series_cmp(w->cur, 2 * ls->n, w->prev, w->nprev) <= 0) {
		fmt_labels(desc, sizeof(desc), ls);
		return err_set(e, "index: series %s out of order (not strictly after the "
		    "previous series)", desc);
	}
	if (check_chunks(ls, chunks, n, e) == -1)
		return -1;
	w_pad(w, SERIES_ALIGN);
	sid = w->pos / SERIES_ALIGN;
	if (sid > UINT32_MAX)
		return err_set(e, "index: series area exceeds 64 GiB");

	encode_series(w, ls->n, chunks, n);
	w_put(w, len, uvarint_put(len, w->body.len));
	w_put(w, w->body.p, w->body.len);
	be32_put(crc, crc32c(0, w->body.p, w->body.len));
	w_put(w, crc, 4);

	idlist_push(&w->all, (uint32_t)sid);
	for (size_t i = 0; i < ls->n; i++) {
		uint64_t key = (uint64_t)w->cur[2 * i] << 32 | w->cur[2 * i + 1];
		idlist_push(&pair_get(w, key)->ids, (uint32_t)sid);
	}
	tmp = w->prev;
	w->prev = w->cur;
	w->cur = tmp;
	ncap = w->prevcap;
	w->prevcap = w->curcap;
	w->curcap = ncap;
	w->nprev = 2 * ls->n;
	if (id != NULL)
		*id = (uint32_t)sid;
	return io_check(w, e);
}

static int
pair_key_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct wpair *)a)->key, y = ((const struct wpair *)b)->key;

	return x < y ? -1 : x > y;
}

/* One label index per name: the symbol numbers of its values, ascending. */
static int
write_label_indices(struct index_writer *w, struct err *e)
{
	size_t i = 0;

	while (i < w->npairs) {
		uint32_t name = (uint32_t)(w->pairs[i].key >> 32);
		size_t j = i;

		while (j < w->npairs && (uint32_t)(w->pairs[j].key >> 32) == name)
			j++;
		if ((uint64_t)(j - i) > (UINT32_MAX - 8) / 4)
			return err_set(e, "index: label index too large");
		w_pad(w, SECTION_ALIGN);
		w->lidx = xreallocarray(w->lidx, w->nlidx + 1, sizeof(*w->lidx));
		w->lidx[w->nlidx].name = name;
		w->lidx[w->nlidx++].off = w->pos;
		w_put_be32(w, (uint32_t)(8 + 4 * (j - i)));
		w->crc = 0;
		w_put_crc_be32(w, 1);
		w_put_crc_be32(w, (uint32_t)(j - i));
		for (; i < j; i++)
			w_put_crc_be32(w, (uint32_t)w->pairs[i].key);
		w_put_be32(w, w->crc);
	}
	return 0;
}

static void
write_ids(struct index_writer *w, const uint32_t *ids, size_t n)
{
	uint8_t b[4096];

	while (n > 0) {
		size_t k = n < sizeof(b) / 4 ? n : sizeof(b) / 4;

		for (size_t i = 0; i < k; i++)
			be32_put(b + 4 * i, ids[i]);
		w_put_crc(w, b, 4 * k);
		ids += k;
		n -= k;
	}
}

static int
write_postings_list(struct index_writer *w, const struct idlist *l, struct err *e)
{
	if ((uint64_t)l->n > (UINT32_MAX - 4) / 4)
		return err_set(e, "index: postings list too large");
	w_put_be32(w, (uint32_t)(4 + 4 * l->n));
	w->crc = 0;
	w_put_crc_be32(w, (uint32_t)l->n);
	write_ids(w, l->v, l->n);
	w_put_be32(w, w->crc);
	return 0;
}

/* The all-series list first, then one list per pair in (name, value) order. */
static int
write_postings(struct index_writer *w, struct err *e)
{
	w_pad(w, SECTION_ALIGN);
	w->alloff = w->pos;
	if (write_postings_list(w, &w->all, e) == -1)
		return -1;
	for (size_t i = 0; i < w->npairs; i++) {
		w_pad(w, SECTION_ALIGN);
		w->pairs[i].off = w->pos;
		if (write_postings_list(w, &w->pairs[i].ids, e) == -1)
			return -1;
	}
	return 0;
}

static int
write_label_table(struct index_writer *w, struct err *e)
{
	uint64_t len = 4;

	for (size_t i = 0; i < w->nlidx; i++) {
		size_t n = w->syms[w->lidx[i].name].len;
		len += 1 + uvarint_size(n) + n + uvarint_size(w->lidx[i].off);
	}
	if (len > UINT32_MAX)
		return err_set(e, "index: label offset table exceeds 4 GiB");
	w_put_be32(w, (uint32_t)len);
	w->crc = 0;
	w_put_crc_be32(w, (uint32_t)w->nlidx);
	for (size_t i = 0; i < w->nlidx; i++) {
		const struct wsym *s = &w->syms[w->lidx[i].name];

		w_put_crc_uvarint(w, 1);
		w_put_crc_str(w, w->arena.p + s->off, s->len);
		w_put_crc_uvarint(w, w->lidx[i].off);
	}
	w_put_be32(w, w->crc);
	return 0;
}

static int
write_postings_table(struct index_writer *w, struct err *e)
{
	uint64_t len = 4 + 3 + uvarint_size(w->alloff);

	for (size_t i = 0; i < w->npairs; i++) {
		size_t n = w->syms[w->pairs[i].key >> 32].len;
		size_t v = w->syms[(uint32_t)w->pairs[i].key].len;
		len += 1 + uvarint_size(n) + n + uvarint_size(v) + v +
		    uvarint_size(w->pairs[i].off);
	}
	if (len > UINT32_MAX || w->npairs >= UINT32_MAX)
		return err_set(e, "index: postings offset table exceeds 4 GiB");
	w->toc.postings_table = w->pos;
	w_put_be32(w, (uint32_t)len);
	w->crc = 0;
	w_put_crc_be32(w, (uint32_t)(w->npairs + 1));
	w_put_crc_uvarint(w, 2);
	w_put_crc_str(w, "", 0);
	w_put_crc_str(w, "", 0);
	w_put_crc_uvarint(w, w->alloff);
	for (size_t i = 0; i < w->npairs; i++) {
		const struct wsym *n = &w->syms[w->pairs[i].key >> 32];
		const struct wsym *v = &w->syms[(uint32_t)w->pairs[i].key];

		w_put_crc_uvarint(w, 2);
		w_put_crc_str(w, w->arena.p + n->off, n->len);
		w_put_crc_str(w, w->arena.p + v->off, v->len);
		w_put_crc_uvarint(w, w->pairs[i].off);
	}
	w_put_be32(w, w->crc);
	return 0;
}

/* Six BE64 offsets in TOC order (not file order), then their CRC. */
static void
write_toc(struct index_writer *w)
{
	uint8_t b[8];
	const uint64_t v[6] = { w->toc.symbols, w->toc.series, w->toc.label_indices,
	    w->toc.label_indices_table, w->toc.postings, w->toc.postings_table };

	w->crc = 0;
	for (size_t i = 0; i < 6; i++) {
		be64_put(b, v[i]);
		w_put_crc(w, b, 8);
	}
	w_put_be32(w, w->crc);
}

static int
io_check(struct index_writer *w, struct err *e)
{
	if (w->ioerr == 0)
		return 0;
	errno = w->ioerr;
	return err_errno(e, "index: write");
}

static int
finish(struct index_writer *w, struct err *e)
{
	if (!w->symbols_done && finish_symbols(w, e) == -1)
		return -1;
	w->toc.label_indices = w->pos;
	if (w->npairs > 0)
		qsort(w->pairs, w->npairs, sizeof(*w->pairs), pair_key_cmp);
	if (write_label_indices(w, e) == -1)
		return -1;
	w->toc.postings = w->pos;
	if (write_postings(w, e) == -1)
		return -1;
	w->toc.label_indices_table = w->pos;
	if (write_label_table(w, e) == -1)
		return -1;
	if (write_postings_table(w, e) == -1)
		return -1;
	write_toc(w);
	w_flush(w);
	if (io_check(w, e) == -1)
		return -1;
	if (fsync(w->fd) == -1)
		return err_errno(e, "index: fsync");
	if (close(w->fd) == -1) {
		w->fd = -1;
		return err_errno(e, "index: close");
	}
	w->fd = -1;
	return 0;
}

int
index_writer_close(struct index_writer *w, struct err *e)
{
	int rc = finish(w, e);

	writer_free(w);
	return rc;
}

void
index_writer_abort(struct index_writer *w)
{
	writer_free(w);
}

static void
writer_free(struct index_writer *w)
{
	if (w == NULL)
		return;
	if (w->fd != -1)
		close(w->fd);
	free(w->wbuf);
	buf_free(&w->arena);
	free(w->syms);
	free(w->symtab);
	for (size_t i = 0; i < w->npairs; i++)
		free(w->pairs[i].ids.v);
	free(w->pairs);
	free(w->pairtab);
	free(w->all.v);
	free(w->prev);
	free(w->cur);
	buf_free(&w->body);
	free(w->lidx);
	free(w);
}
