/*
 * index — the block index, format v2 (§7 of specs/tsdb-format.md), written
 * byte-identical to Prometheus 2.42 and read with every length and CRC checked.
 *
 * Writer: add every symbol (strictly ascending), then every series (strictly
 * ascending label order, chunks already written so their refs are known),
 * then close. Memory grows only with the symbols and the postings (4 bytes per
 * label pair per series), never with samples or chunks.
 *
 * Reader: works on a read-only mapping; decoding never reads outside it and
 * every malformed byte becomes an error, not a crash.
 */
#ifndef RINGTAIL_INDEX_H
#define RINGTAIL_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/tsdb/chunks.h"
#include "lib/tsdb/labels.h"

#define INDEX_MAGIC	0xBAAAD700u

struct index_writer;

struct index_writer *index_writer_open(const char *path, struct err *);
int	index_writer_add_symbol(struct index_writer *, struct str, struct err *);
/*
 * labels: sorted by name, every name and value added as a symbol;
 * chunks: mint, maxt and ref set. Returns 0 and the series ID (offset / 16) in *id (may be NULL).
 */
int	index_writer_add_series(struct index_writer *, const struct labels *,
	    const struct chunk *chunks, size_t n, uint32_t *id, struct err *);
/* Write label indices, postings, the offset tables and the TOC; fsync; free. */
int	index_writer_close(struct index_writer *, struct err *);
/* Free without finishing (the file is left for the caller to remove). */
void	index_writer_abort(struct index_writer *);

struct index_toc {
	uint64_t	symbols;
	uint64_t	series;
	uint64_t	label_indices;
	uint64_t	label_indices_table;
	uint64_t	postings;
	uint64_t	postings_table;
};

struct index_reader;

struct index_reader *index_reader_open(const char *path, struct err *);
/*
 * Over bytes the caller keeps alive (fuzzing, tests). Open checks the magic,
 * version and TOC, that the sections tile the file, the CRC and layout of
 * the symbol table, label indices, label offset table and postings offset
 * table, and that the padding between them is zero; series and postings
 * reads check their own CRC and trailing padding. So every flipped byte is
 * an error for some read.
 */
struct index_reader *index_reader_open_mem(const uint8_t *p, size_t len, struct err *);
void	index_reader_close(struct index_reader *);
int	index_reader_version(const struct index_reader *);
const struct index_toc *index_reader_toc(const struct index_reader *);
size_t	index_reader_size(const struct index_reader *);

size_t	index_reader_nsymbols(const struct index_reader *);
/* Symbol i (v2: position in the table); points into the mapping. */
int	index_reader_symbol(const struct index_reader *, uint32_t i, struct str *out, struct err *);

/* A decoded postings list: series IDs, ascending. */
struct postings {
	uint32_t	*ids;
	size_t		 n;
	size_t		 cap;
};
void	postings_free(struct postings *);

/* The list for (name, value); a pair not in the index gives an empty list. CRC checked. */
int	index_reader_postings(struct index_reader *, struct str name, struct str value,
	    struct postings *out, struct err *);
/* Every series: the ("", "") list. */
int	index_reader_all_postings(struct index_reader *, struct postings *out, struct err *);
/*
 * Label names (without "") and the values of one name, ascending, from the
 * postings offset table. The arrays are owned by the reader (valid while open).
 */
int	index_reader_label_names(struct index_reader *, const struct str **names, size_t *n);
int	index_reader_label_values(struct index_reader *, struct str name,
	    const struct str **values, size_t *n);

/* One decoded series entry; reuse it across calls, free with index_series_free. */
struct index_series {
	struct labels	 labels;	/* strings point into the mapping */
	size_t		 lcap;
	struct chunk	*chunks;	/* mint, maxt, ref only */
	size_t		 nchunks;
	size_t		 ccap;
};
/* Decode series id (CRC checked; labels resolved through the symbol table). */
int	index_reader_series(struct index_reader *, uint32_t id, struct index_series *out, struct err *);
void	index_series_free(struct index_series *);

#endif
