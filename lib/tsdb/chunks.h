/*
 * chunks — a block's chunk segment files (chunks/000001 …), §4 of
 * specs/tsdb-format.md: 8-byte header, records of uvarint len, encoding byte,
 * data, BE32 CRC32C(encoding + data); refs are segment_index << 32 | offset.
 */
#ifndef RINGTAIL_CHUNKS_H
#define RINGTAIL_CHUNKS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"

#define CHUNK_SEGMENT_MAGIC		0x85BD40DDu
#define CHUNK_SEGMENT_SIZE_DEFAULT	((uint64_t)512 << 20)

/*
 * One chunk: its closed time range [mint, maxt] (first and last sample),
 * its reference in the block, and its bytes. Whether data is owned depends
 * on who filled it in (each producer says so).
 */
struct chunk {
	int64_t		 mint;
	int64_t		 maxt;
	uint64_t	 ref;
	uint8_t		 enc;
	const uint8_t	*data;
	size_t		 len;
};

struct chunk_writer;

/* Create chunks_dir (mode 0777 before umask); segments are cut at segment_size (0 = default). */
struct chunk_writer *chunk_writer_open(const char *chunks_dir, uint64_t segment_size, struct err *);
/*
 * Write one series' chunks (time order), splitting across segments exactly as
 * Prometheus' WriteChunks does; sets each chunk's ref.
 */
int	chunk_writer_write(struct chunk_writer *, struct chunk *chunks, size_t n, struct err *);
/* Flush, fsync and truncate the last segment, free the writer (also on error). */
int	chunk_writer_close(struct chunk_writer *, struct err *);
/* Bytes written so far over all segments. */
uint64_t chunk_writer_size(const struct chunk_writer *);

struct chunk_reader;

/* Map every segment of chunks_dir (names that parse as decimal, lexical order); checks headers. */
struct chunk_reader *chunk_reader_open(const char *chunks_dir, struct err *);
/* From already-mapped segments (fuzzing, tests); the caller keeps them alive. */
struct chunk_reader *chunk_reader_open_mem(const uint8_t *const *segs, const size_t *lens,
	    size_t nsegs, struct err *);
void	chunk_reader_close(struct chunk_reader *);
/*
 * Look up ref: checks bounds, the length and the CRC on every call; fills
 * out->enc, data (pointing into the mapping) and len. mint/maxt are left alone.
 */
int	chunk_reader_get(struct chunk_reader *, uint64_t ref, struct chunk *out, struct err *);
size_t	chunk_reader_nsegments(const struct chunk_reader *);
/* 1 if name is a segment file name as the reader sees one (Go's ParseUint(name, 10, 64)). */
int	chunk_segment_name_ok(const char *name);
uint64_t chunk_reader_size(const struct chunk_reader *);	/* total bytes of all segments */

#endif
