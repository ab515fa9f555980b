/*
 * head — one tenant's in-memory TSDB head, as Prometheus 2.42's Head keeps
 * it (tsdb/head*.go) and as a Cortex ingester uses it: series looked up by
 * label set, samples appended to per-series XOR chunks cut exactly where
 * Prometheus cuts them (specs/tsdb-format.md §6), postings for selection,
 * blocks cut from the head, truncation, and the hooks WAL replay needs.
 *
 * Threading: a head is not locked. The daemon serializes every call for one
 * tenant (appends, queries, block cutting); different heads are independent.
 *
 * Lifetimes: label strings, label arrays and chunk bytes handed out by the
 * head stay valid until the next call that changes it (append, replay,
 * truncate, free). A series set must be closed before the head changes.
 *
 * Appends commit at once (there is no rollback): a request is a
 * head_append_begin followed by head_append per sample. Begin freezes the
 * append window ("min valid time") for the request, as Prometheus computes it
 * once per appender (specs/remote-write-read.md §3.3). Because each sample
 * commits, a sample older than an earlier sample of the same series in the
 * same request is "out of order" here, where Prometheus' appender lets it
 * pass and drops it silently at commit.
 */
#ifndef RINGTAIL_HEAD_H
#define RINGTAIL_HEAD_H

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/tsdb/block.h"
#include "lib/tsdb/chunks.h"
#include "lib/tsdb/encoding.h"
#include "lib/tsdb/labels.h"
#include "lib/tsdb/matcher.h"
#include "lib/tsdb/meta.h"
#include "lib/tsdb/xor.h"

#define HEAD_CHUNK_RANGE_DEFAULT	7200000		/* 2h, the server's min block duration */

struct head;

struct head_opts {
	int64_t		chunk_range;		/* R in ms; 0 = HEAD_CHUNK_RANGE_DEFAULT */
	/* Cortex -ingester.max-series-per-user / -per-metric; 0 = unlimited. */
	uint64_t	max_series;
	uint64_t	max_series_per_metric;
};

/*
 * Why an append was refused. The texts (head_err_text) are Prometheus' and
 * Cortex's error strings before any wrapping.
 */
enum head_err {
	HEAD_OK = 0,
	HEAD_ERR_OUT_OF_BOUNDS,		/* "out of bounds" */
	HEAD_ERR_OUT_OF_ORDER,		/* "out of order sample" */
	HEAD_ERR_DUPLICATE,		/* "duplicate sample for timestamp" */
	HEAD_ERR_EMPTY_LABELS,		/* "empty labelset: invalid sample" */
	HEAD_ERR_DUP_LABEL_NAME,	/* label name "a" is not unique: invalid sample */
	HEAD_ERR_SERIES_LIMIT,		/* "per-user series limit exceeded" */
	HEAD_ERR_METRIC_SERIES_LIMIT,	/* "per-metric series limit exceeded" */
};

const char *head_err_text(enum head_err);
/*
 * Append the full message: Prometheus' `label name "a" is not unique: ...`
 * for HEAD_ERR_DUP_LABEL_NAME (ls as passed to head_append), Cortex v1.21's
 * limit texts with this head's limits ("per-user series limit of N
 * exceeded, please contact administrator to raise it (local limit: N global
 * limit: 0 actual local limit: N)", and the per-metric one ending in
 * "for series {…}"); head_err_text for the rest.
 */
void	head_err_format(const struct head *, enum head_err, const struct labels *ls,
	    struct buf *out);

struct head *head_create(const struct head_opts *);
void	 head_free(struct head *);

/*
 * Start a request: freeze min valid time = max(head max time − R/2,
 * the head's min valid time). On a head without samples the first append
 * of the request sets the head's min and max time to its timestamp first.
 */
void	 head_append_begin(struct head *);
/*
 * Append one sample, in Prometheus' order of checks: out of bounds (before
 * the series is looked up or created); label set (labels sorted by name;
 * empty values dropped; none left or a repeated name is an error); series
 * limits (per head, then per metric name, only when a series would be
 * created; a set without __name__ has no per-metric limit); then against
 * the series' newest sample: older is out of order, the same timestamp with
 * other value bits is a duplicate, the same timestamp and bits is accepted
 * and changes nothing (Prometheus still writes it to the WAL). Values are
 * float64 bit patterns, stored as given (stale markers included).
 * *ref (may be NULL) gets the series ref on success; *created (may be NULL)
 * is 1 when this call created the series (the WAL logs it, with the labels
 * head_series_labels gives: empty values dropped).
 */
enum head_err head_append(struct head *, const struct labels *, int64_t t, uint64_t v,
	    uint64_t *ref, int *created);

/* Series refs, e.g. the series a truncation dropped. free(v) when done. */
struct head_refs {
	uint64_t	*v;
	size_t		 n;
	size_t		 cap;
};
void	 head_refs_free(struct head_refs *);

/*
 * WAL replay (specs/wal-format.md §6). Call head_set_min_valid_time with the
 * newest block's max time before replay (samples older than it are
 * dropped), then the records in WAL order, then head_replay_end.
 *
 * head_replay_series creates the series with the given ref, labels as given
 * (no limits apply). If the label set already exists under another ref, that
 * ref becomes an alias of the existing series until head_replay_end, and the
 * existing series loses its chunks, as Prometheus does. -1 if ref is
 * already a series with other labels.
 */
void	 head_set_min_valid_time(struct head *, int64_t);
int	 head_replay_series(struct head *, uint64_t ref, const struct labels *, struct err *);
/*
 * 1: appended; 0: dropped (older than the min valid time, not newer than the
 * series' newest sample, or an unknown ref — counted in head_stats).
 */
int	 head_replay_sample(struct head *, uint64_t ref, int64_t t, uint64_t v);
/*
 * Raise the head's min time to at least the min valid time, drop the
 * aliases, and garbage-collect: series without samples are removed and
 * their refs appended to *dropped (may be NULL).
 */
void	 head_replay_end(struct head *, struct head_refs *dropped);

/*
 * Prometheus' head compaction (db.Compact): 1 when the head spans more than
 * 1.5 R, with the block range [*mint, *maxt): mint = head min time, maxt =
 * the end of mint's chunk range.
 */
int	 head_compactable(const struct head *, int64_t *mint, int64_t *maxt);
/*
 * Write the samples in [mint, maxt) as a block under parent_dir: symbols are
 * every label string of the head (plus ""), series in label order, chunks
 * inside the range copied verbatim, chunks sticking out re-encoded with the
 * samples inside; meta min/max time = mint/maxt, level 1. *written = 0 when no
 * sample fell in the range (nothing is written). When written and meta is
 * not NULL, *meta gets the block's meta.json (meta_free it).
 */
int	 head_write_block(struct head *, int64_t mint, int64_t maxt, const char *parent_dir,
	    struct block_meta *meta, int *written, struct err *);
/*
 * Prometheus' truncateMemory: min time and min valid time become mint; chunks
 * ending before mint are dropped, then series left without chunks, whose
 * refs are appended to *dropped (may be NULL) for the WAL checkpoint. A head
 * whose min time is already >= mint is left alone.
 */
void	 head_truncate(struct head *, int64_t mint, struct head_refs *dropped);

struct head_stats {
	uint64_t	num_series;
	uint64_t	num_chunks;		/* closed and open */
	uint64_t	next_ref;		/* the ref the next new series gets */
	int64_t		min_time;		/* INT64_MAX while empty */
	int64_t		max_time;		/* INT64_MIN while empty */
	int64_t		min_valid_time;
	uint64_t	replay_unknown_refs;	/* samples of unknown refs dropped at replay */
	uint64_t	strings;		/* distinct interned label strings */
};
void	 head_stats(const struct head *, struct head_stats *);
int64_t	 head_min_time(const struct head *);
int64_t	 head_max_time(const struct head *);

/*
 * The labels of series ref: 1 found, 0 not; out->v is valid until the next
 * call on the head.
 */
int	 head_series_labels(struct head *, uint64_t ref, struct labels *out);

/*
 * Postings: the refs of the series with one label pair (none when absent),
 * and of all series, ascending, into out (out->n is reset first).
 */
void	 head_postings(struct head *, struct str name, struct str value, struct head_refs *out);
void	 head_all_postings(struct head *, struct head_refs *out);
/*
 * The refs of the series matching every matcher, ascending, with
 * PostingsForMatchers' semantics (a missing label matches as ""; see
 * block_select). out->n is reset first.
 */
void	 head_select_refs(struct head *, const struct matcher *, size_t nm, struct head_refs *out);
/*
 * Label names, and the values of one name, ascending; *out is malloc'd (free
 * it), the strings are the head's.
 */
void	 head_label_names(struct head *, struct str **out, size_t *n);
void	 head_label_values(struct head *, struct str name, struct str **out, size_t *n);

/*
 * Queries: the series matching every matcher that have a chunk overlapping
 * [mint, maxt] (inclusive), in label order; per series either its samples in
 * [mint, maxt] or its overlapping chunks as stored (closed chunks and the
 * open chunk's current bytes, not re-cut: what remote read's
 * STREAMED_XOR_CHUNKS sends).
 */
struct head_series_set;

struct head_series_set *head_select(struct head *, const struct matcher *, size_t nm,
	    int64_t mint, int64_t maxt);
/* 1: next series, its labels in *ls (valid until the next call); 0: end. */
int	 head_series_set_next(struct head_series_set *, const struct labels **ls);
uint64_t head_series_set_ref(const struct head_series_set *);
/* 1: next sample of the current series in [mint, maxt]; 0: end of series. */
int	 head_series_set_sample(struct head_series_set *, int64_t *t, uint64_t *v);
/*
 * The current series' chunks overlapping [mint, maxt]; enc XOR, ref 0;
 * valid until the next series.
 */
const struct chunk *head_series_set_chunks(struct head_series_set *, size_t *n);
void	 head_series_set_close(struct head_series_set *);

#ifdef HEAD_INTERNALS
/*
 * Shared by lib/tsdb/head*.c only; not API.
 *
 * Everything the head keeps per series is counted in bytes: strings, series,
 * postings lists and names live in id-indexed arrays, and the hash tables
 * and most lists hold 32-bit ids rather than pointers.
 */

#define HEAD_NO_ID	UINT32_MAX

/* Objects by id; freed ids are reused first. */
struct idarr {
	void		**v;		/* NULL: free */
	size_t		  n;		/* ids in use or freed: v[0 .. n) */
	size_t		  cap;
	uint32_t	 *free;
	size_t		  nfree;
	size_t		  free_cap;
};

/*
 * Open addressing, linear probing, backward-shift deletion over ids with 32
 * bits of their key's hash, which also pick the bucket; id 0 is empty, so
 * slots hold id + 1.
 */
struct islot {
	uint32_t	 h;
	uint32_t	 id;
};

struct itab {
	struct islot	*v;
	size_t		 mask;
	size_t		 n;
};

/* An interned label string: one copy per distinct string, refcounted by series. */
struct istr {
	uint32_t	 refs;
	uint32_t	 len;
	uint32_t	 hash;
	uint32_t	 pname;		/* as a label name: its pname id, or HEAD_NO_ID */
	char		 p[];
};

/* A closed chunk: final XOR bytes, in a list oldest first. */
struct hchunk {
	struct hchunk	*next;
	int64_t		 mint;
	int64_t		 maxt;
	uint32_t	 len;
	uint8_t		 data[];
};

/*
 * One series, in one allocation: the fields, the label string ids (name,
 * value, name, value, ...) as uvarints in lblen bytes, then cap bytes for
 * the open chunk, len of them used. A million of these is the head, so
 * nothing is kept that can be derived: the open chunk's first sample time
 * is read from its bytes, and the ids of the few label names and the first
 * thousands of values take one or two bytes. The allocation moves as the
 * chunk grows; the series is found by its id in head->series. enc.n == 0:
 * no open chunk (the series has no samples when it has no closed chunks
 * either); its newest sample is enc.t/enc.v.
 */
struct memseries {
	uint64_t		 ref;
	int64_t			 next_at;	/* the open chunk must end before this */
	struct hchunk		*closed;	/* oldest first */
	struct xor_enc		 enc;
	uint16_t		 len;
	uint16_t		 cap;
	uint32_t		 lblen;
	uint8_t			 lbl[];
};

/* Decode the label string id at p; returns the byte after it. */
static inline const uint8_t *
memseries_id(const uint8_t *p, uint32_t *id)
{
	uint32_t v = 0;
	unsigned shift = 0;

	while (*p >= 0x80) {
		v |= (uint32_t)(*p++ & 0x7f) << shift;
		shift += 7;
	}
	*id = v | (uint32_t)*p << shift;
	return p + 1;
}

/* The end of s's label ids, for loops over memseries_id. */
static inline const uint8_t *
memseries_lbl_end(const struct memseries *s)
{
	return s->lbl + s->lblen;
}

/* The open chunk's bytes, right after the label ids. */
static inline uint8_t *
memseries_bytes(const struct memseries *s)
{
	return (uint8_t *)memseries_lbl_end(s);
}

/*
 * Series refs, ascending: those below 2^32 in 32 bits (inline while there
 * are at most two), any others (only WAL replay brings them) in big, after
 * them.
 */
struct reflist {
	union {
		uint32_t	 one[2];
		uint32_t	*many;
	}			 u;
	uint32_t		 n;
	uint32_t		 cap;		/* <= 2: inline */
	struct head_refs	*big;
};

/* The postings list of one label pair. */
struct plist {
	struct reflist	 refs;
	uint32_t	 name;		/* string ids */
	uint32_t	 value;
	uint32_t	 vidx;		/* position in its pname's vals */
	uint32_t	 dirty;		/* queued for the gc's filter */
};

/* A label name and the ids of its plists. */
struct pname {
	uint32_t	 name;
	uint32_t	 nvals;
	uint32_t	 cap;
	uint32_t	*vals;
};

struct head {
	struct head_opts	 opts;
	int64_t			 min_time;
	int64_t			 max_time;
	int64_t			 min_valid_time;
	int64_t			 append_min_valid;	/* frozen by head_append_begin */
	int			 append_init;		/* min valid waits for the first sample */
	uint64_t		 last_ref;
	uint64_t		 replay_unknown;
	uint64_t		 nchunks;
	struct idarr		 strs;		/* struct istr */
	struct itab		 strings;	/* strs, hashed by content */
	struct idarr		 series;	/* struct memseries */
	struct itab		 by_labels;	/* series, hashed by labels_hash */
	struct itab		 by_ref;	/* series whose id is not ref - 1, hashed by ref */
	struct head_alias	*aliases;	/* replay: WAL refs mapped onto other series */
	size_t			 naliases;
	size_t			 aliases_cap;
	struct itab		 by_alias;	/* aliases, hashed by ref */
	struct idarr		 plists;	/* struct plist */
	struct itab		 pairs;		/* plists, hashed by (name, value) ids */
	struct idarr		 pnames;	/* struct pname */
	size_t			 npnames;
	struct reflist		 all;		/* every ref */
	struct label		*scratch;	/* labels without empty values; head_series_labels */
	size_t			 scratch_cap;
	uint8_t			*idbuf;		/* a new series' label ids */
	size_t			 idbuf_cap;
};

static inline struct istr *
head_str(const struct head *h, uint32_t id)
{
	return h->strs.v[id];
}

/* head.c: ids, tables, strings, series lookup. */
uint64_t	 head_hash_u64(uint64_t);
uint32_t	 head_idarr_add(struct idarr *, void *);
void		 head_idarr_del(struct idarr *, uint32_t);
void		 head_idarr_shrink(struct idarr *);
void		 head_idarr_free(struct idarr *);
void		 head_itab_init(struct itab *);
void		 head_itab_free(struct itab *);
/* The id eq() accepts, or HEAD_NO_ID. */
uint32_t	 head_itab_find(const struct head *, const struct itab *, uint32_t hash,
		    int (*eq)(const struct head *, uint32_t id, const void *key), const void *key);
void		 head_itab_put(struct itab *, uint32_t hash, uint32_t id);	/* id must be absent */
void		 head_itab_del(struct itab *, uint32_t hash, uint32_t id);	/* id must be present */
void		 head_itab_shrink(struct itab *);
/* The id of an interned string, or HEAD_NO_ID. */
uint32_t	 head_string_find(const struct head *, const char *p, size_t len);
struct memseries *head_series_get(const struct head *, uint64_t ref);

/* head_postings.c: postings upkeep. */
struct plist	*head_plist_get(const struct head *, uint32_t name, uint32_t value);
/* The pname of a name string id, or NULL. */
struct pname	*head_pname_get(const struct head *, uint32_t name);
void		 head_postings_add(struct head *, const struct memseries *);
/* Drop the refs of the series dead[], which head_series_get no longer finds. */
void		 head_postings_remove(struct head *, struct memseries *const *dead, size_t n);
void		 head_postings_shrink(struct head *);
void		 head_postings_free(struct head *);
size_t		 head_reflist_len(const struct reflist *);
/* Append the list's refs, ascending, to out. */
void		 head_reflist_get(const struct reflist *, struct head_refs *out);

/* head_series.c: one series, its chunks cut as Prometheus' head cuts them. */
/* A series without samples, with the label ids lbl[0 .. lblen). */
struct memseries *memseries_new(uint64_t ref, const uint8_t *lbl, size_t lblen);
/*
 * Append a sample newer than the newest to *sp, which may move; returns the
 * number of chunks started (0 or 1).
 */
int		 memseries_append(struct memseries **sp, int64_t t, uint64_t v, int64_t range);
/* Drop the chunks ending before mint; returns how many. */
size_t		 memseries_truncate(struct memseries *, int64_t mint);
void		 memseries_drop_chunks(struct memseries *);
size_t		 memseries_nchunks(const struct memseries *);
/* 1 and the first sample's time when the series has chunks, else 0. */
int		 memseries_min_time(const struct memseries *, int64_t *);
/* All chunks, oldest first, into *out (grown as needed): closed, then the open one. */
size_t		 memseries_chunks(const struct memseries *, struct chunk **out, size_t *cap);
/* s's labels as a struct labels over *scratch (grown as needed; the caller frees it). */
void		 memseries_labels(const struct head *, const struct memseries *,
		    struct label **scratch, size_t *cap, struct labels *out);
/* labels_cmp of two series. */
int		 memseries_cmp(const struct head *, const struct memseries *,
		    const struct memseries *);
#endif

#endif
