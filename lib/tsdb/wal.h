/*
 * wal — the write-ahead log of a TSDB head, in Prometheus 2.42's format
 * (specs/wal-format.md §2, §7, §8): segment files %08d of 32 KiB pages;
 * each record is cut into fragments (7-byte header: type | 0x08 when
 * snappy-compressed, BE16 length, BE32 CRC-32C of the stored payload);
 * a record never crosses a segment; default segment size 128 MiB.
 *
 * Writing: wal_open repairs a damaged last segment and starts a new one
 * (Prometheus never appends to an old segment either). wal_log copies
 * records into the page buffer; wal_flush hands the buffered bytes to the
 * kernel (one write(2)); wal_sync also makes them durable (fdatasync). The
 * caller picks the fsync policy: Prometheus itself only flushes.
 *
 * Reading: struct wal_reader iterates records over ranges of segments,
 * checks every CRC and fragment sequence, reassembles and decompresses.
 * Damage is reported as struct wal_corruption: where, how much is good,
 * and whether it looks like a torn tail (the end of the last segment) or
 * corruption with data after it. wal_repair cuts the WAL there, as
 * Prometheus' Repair does.
 *
 * Return conventions: 0/-1 with struct err; readers 1 (record) / 0 (end) / -1.
 */
#ifndef RINGTAIL_WAL_H
#define RINGTAIL_WAL_H

#include <sys/uio.h>

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"

#define WAL_PAGE_SIZE		32768
#define WAL_HEADER_SIZE		7
#define WAL_SEGMENT_SIZE	(128u * 1024 * 1024)
/* The largest record the reader accepts after decompression (a sanity cap). */
#define WAL_MAX_RECORD		(1u << 30)

/* Fragment header, byte 0. */
#define WAL_FRAG_PAD		0	/* the rest of the page is zero */
#define WAL_FRAG_FULL		1
#define WAL_FRAG_FIRST		2
#define WAL_FRAG_MIDDLE		3
#define WAL_FRAG_LAST		4
#define WAL_FRAG_SNAPPY		0x08

struct wal_opts {
	uint64_t	segment_size;	/* 0: WAL_SEGMENT_SIZE; else a multiple of WAL_PAGE_SIZE */
	int		compress;	/* snappy-compress each record that shrinks */
};

/* Where a reader found damage. */
struct wal_corruption {
	char		dir[256];	/* the directory of the damaged segment */
	int		checkpoint;	/* 1: inside a checkpoint directory (wal_repair refuses) */
	int		segment;	/* its index */
	uint64_t	offset;		/* where the damage was found (fragment or record start) */
	uint64_t	good_end;	/* end of the last good record before it: cut here */
	int		torn;		/* 1: last segment, nothing but zeros after the damage */
	char		why[160];	/* "unexpected checksum 1234abcd, expected 9f13342d", ... */
};

/* What a repair dropped (wal_open, wal_repair). */
struct wal_repair {
	int		repaired;	/* 0: nothing was damaged; the rest is unset */
	struct wal_corruption c;
	uint64_t	bytes_dropped;	/* of the damaged segment and of the deleted ones */
	int		segments_deleted;
};

struct wal;
struct wal_reader;

/*
 * Open (create) the WAL in dir for writing: remove checkpoint.*.tmp leftovers,
 * check that the segments are contiguous, read the last segment through and
 * cut it at the first damaged record (filling *rep when rep is not NULL),
 * then create the next segment and make it the active one. When the newest
 * checkpoint covers every segment, those segments are deleted and the new
 * segment is checkpoint+1, so the next replay cannot skip it (§5).
 * The caller must replay (wal_reader) before logging, and may find damage in
 * older segments then: wal_repair. Returns 0 or -1.
 */
int	wal_open(struct wal **, const char *dir, const struct wal_opts *,
	    struct wal_repair *rep, struct err *);
/*
 * Pad the last page, flush, fsync and close (Prometheus' clean shutdown).
 * Frees w even on failure. Returns 0 or -1.
 */
int	wal_close(struct wal *, struct err *);

/*
 * Append n records to the page buffer, in order; full pages may be written
 * out on the way, the partial last page waits for wal_flush. No allocation
 * once the buffers have grown to the batch size. A record that does not fit
 * in the active segment starts a new segment (the finished one is padded,
 * flushed and fdatasync'd). After a failed write the WAL refuses everything
 * until it is closed and reopened (which repairs it). Returns 0 or -1.
 */
int	wal_log(struct wal *, const struct iovec *recs, size_t n, struct err *);
/* Write the buffered bytes with one write(2) (a Prometheus Log call ends so). 0 or -1. */
int	wal_flush(struct wal *, struct err *);
/* wal_flush, then fdatasync the segment (and fsync the directory after a new segment). 0 or -1. */
int	wal_sync(struct wal *, struct err *);
/*
 * Finish the active segment (pad and flush it if it holds data, fdatasync)
 * and start the next; *index (may be NULL) gets the new segment's index. 0 or -1.
 */
int	wal_next_segment(struct wal *, int *index, struct err *);
/* Delete the segments with an index below `before` (never the active one). 0 or -1. */
int	wal_truncate(struct wal *, int before, struct err *);
/*
 * Cut the WAL at c (from a reader of this WAL's directory): delete every
 * segment after c->segment, truncate that one to c->good_end, fsync, and
 * continue writing in the segment after it. Refuses a checkpoint's damage
 * and damage in the active segment. *rep (may be NULL) says what was
 * dropped. The reader that found c may only be freed afterwards (the cut
 * shortens a file it maps). Returns 0 or -1.
 */
int	wal_repair(struct wal *, const struct wal_corruption *c,
	    struct wal_repair *rep, struct err *);

const char *wal_dir(const struct wal *);
int	wal_compressing(const struct wal *);
int	wal_active_segment(const struct wal *);
/* Bytes logged but not yet handed to write(2). */
size_t	wal_pending(const struct wal *);

/*
 * The range [first, last] of the segments in dir (names of digits only,
 * as Prometheus lists them); both -1 when there are none. Fails when the
 * indexes have a gap ("segments are not sequential"). Returns 0 or -1.
 */
int	wal_segments(const char *dir, int *first, int *last, struct err *);
/* dir/%08d into buf; returns buf. */
char	*wal_segment_name(char *buf, size_t len, const char *dir, int index);

/*
 * Readers. A reader walks a list of segment ranges in order; each segment
 * is read on its own (records never cross segments), virtually padded with
 * zeros to a page boundary, as Prometheus' segment reader does.
 */
struct wal_reader *wal_reader_new(void);
/*
 * Append the segments of dir with first <= index <= last (-1: open end) to
 * the reader's list. checkpoint marks a checkpoint directory (its damage is
 * never repairable). Returns 0 or -1 (unreadable dir, gap in the indexes).
 */
int	wal_reader_add(struct wal_reader *, const char *dir, int first, int last,
	    int checkpoint, struct err *);
/* Read one segment's bytes from memory (tests, fuzzing): segment 0 of dir "". */
void	wal_reader_add_mem(struct wal_reader *, const uint8_t *p, size_t len);
/*
 * Next record: 1 with *rec and *len set (valid until the next call), 0 at
 * the end, -1 on error. After -1, wal_reader_corruption says whether it
 * was damage.
 */
int	wal_reader_next(struct wal_reader *, const uint8_t **rec, size_t *len,
	    struct err *);
/* 1 and *c when the last error was damage to the log, else 0. */
int	wal_reader_corruption(const struct wal_reader *, struct wal_corruption *c);
/*
 * Describe the record just returned as damage (it failed to decode, as
 * Prometheus' replay treats it): the cut goes at its start.
 */
void	wal_reader_bad_record(const struct wal_reader *, const char *why,
	    struct wal_corruption *c);
/*
 * Position of the record just returned: segment index, start and end
 * offsets. Any of the pointers may be NULL.
 */
void	wal_reader_pos(const struct wal_reader *, int *segment, uint64_t *start,
	    uint64_t *end);
void	wal_reader_free(struct wal_reader *);

#endif
