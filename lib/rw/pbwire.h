/*
 * pbwire — the protobuf wire format, by hand: a bounds-checked reader over a
 * byte range and a writer into a struct buf. Just enough for the remote
 * write and remote read messages, on the ingestion hot path: the reader
 * never allocates, a varint of one byte costs a compare, and every length
 * is checked against the bytes left before it is trusted.
 *
 * Reading follows gogo/protobuf's generated Unmarshal (what Prometheus and
 * Cortex run): a varint is at most 10 bytes and bits past 64 are dropped,
 * the field number is the tag shifted right by 3 and truncated to int32,
 * an end-group tag outside a group is an error, unknown fields (groups
 * included) are skipped.
 */
#ifndef RINGTAIL_PBWIRE_H
#define RINGTAIL_PBWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/tsdb/encoding.h"

/* Wire types. */
#define PB_VARINT	0
#define PB_I64		1
#define PB_LEN		2
#define PB_SGROUP	3
#define PB_EGROUP	4
#define PB_I32		5

/* Reader results; 0 is success. pb_err turns them into text. */
#define PB_OK		0
#define PB_ETRUNC	1	/* a value runs past the end */
#define PB_EOVERFLOW	2	/* a varint longer than 10 bytes */
#define PB_EENDGROUP	3	/* an end-group tag outside a group */
#define PB_EFIELD	4	/* field number <= 0 */
#define PB_EWIRE	5	/* wire type 6 or 7 */
#define PB_ELEN		6	/* a length >= 2^63 */

/* A cursor over [p, end); field and wt describe the last tag read. */
struct pb_reader {
	const uint8_t	*p;
	const uint8_t	*end;
	int32_t		 field;
	int		 wt;
};

static inline void
pb_reader_init(struct pb_reader *r, const void *p, size_t n)
{
	r->p = p;
	r->end = r->p + n;
	r->field = 0;
	r->wt = 0;
}

static inline int
pb_more(const struct pb_reader *r)
{
	return r->p < r->end;
}

static inline size_t
pb_left(const struct pb_reader *r)
{
	return (size_t)(r->end - r->p);
}

int	pb_varint_slow(struct pb_reader *, uint64_t *);

/* A varint, as uint64 (int64 and enums are casts of it). */
static inline int
pb_varint(struct pb_reader *r, uint64_t *v)
{
	if (r->p < r->end && *r->p < 0x80) {
		*v = *r->p++;
		return PB_OK;
	}
	return pb_varint_slow(r, v);
}

/* The next tag: sets r->field and r->wt. */
static inline int
pb_tag(struct pb_reader *r)
{
	uint64_t tag;
	int rc;

	if ((rc = pb_varint(r, &tag)) != PB_OK)
		return rc;
	r->wt = (int)(tag & 7);
	r->field = (int32_t)(uint32_t)(tag >> 3);
	if (r->wt == PB_EGROUP)
		return PB_EENDGROUP;
	if (r->field <= 0)
		return PB_EFIELD;
	return PB_OK;
}

/* 8 bytes little-endian (double bits, fixed64). */
static inline int
pb_fixed64(struct pb_reader *r, uint64_t *v)
{
	uint64_t x = 0;

	if (pb_left(r) < 8)
		return PB_ETRUNC;
	for (int i = 7; i >= 0; i--)
		x = x << 8 | r->p[i];
	r->p += 8;
	*v = x;
	return PB_OK;
}

static inline int
pb_fixed32(struct pb_reader *r, uint32_t *v)
{
	if (pb_left(r) < 4)
		return PB_ETRUNC;
	*v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 |
	    (uint32_t)r->p[2] << 16 | (uint32_t)r->p[3] << 24;
	r->p += 4;
	return PB_OK;
}

/* A length-delimited value: sub covers its bytes, r moves past them. */
static inline int
pb_len(struct pb_reader *r, struct pb_reader *sub)
{
	uint64_t n;
	int rc;

	if ((rc = pb_varint(r, &n)) != PB_OK)
		return rc;
	if (n >> 63)
		return PB_ELEN;
	if (n > pb_left(r))
		return PB_ETRUNC;
	pb_reader_init(sub, r->p, (size_t)n);
	r->p += n;
	return PB_OK;
}

/* Skip the value of the last tag read (r->wt), a whole group for PB_SGROUP. */
int	pb_skip(struct pb_reader *);

/*
 * Describe rc in e ("truncated", "illegal field number 0 (wire type 0)", ...);
 * returns -1. The field and wire type come from r's last tag.
 */
int	pb_err(struct err *e, int rc, const struct pb_reader *r);

/* pb_tag and pb_skip with a failure described in e: 0, or -1. */
static inline int
pb_next(struct pb_reader *r, struct err *e)
{
	int rc = pb_tag(r);

	return rc == PB_OK ? 0 : pb_err(e, rc, r);
}

static inline int
pb_skip_field(struct pb_reader *r, struct err *e)
{
	int rc = pb_skip(r);

	return rc == PB_OK ? 0 : pb_err(e, rc, r);
}
/* A varint, or a length-delimited field, named name for errors, its tag already read. */
int	pb_get_varint(struct pb_reader *, const char *name, uint64_t *, struct err *);
int	pb_get_bytes(struct pb_reader *, const char *name, struct pb_reader *sub, struct err *);
/* A repeated varint field, packed or one value per tag: push(arg, v) for each value. */
int	pb_get_repeated_varint(struct pb_reader *, const char *name,
	    void (*push)(void *arg, uint64_t), void *arg, struct err *);
/*
 * A repeated uint32 field appended to *arr (*n values): the array grows once
 * per packed run, not once per value. Values beyond 32 bits are truncated,
 * as Go's protobuf decoder does.
 */
int	pb_get_repeated_uint32(struct pb_reader *, const char *name, uint32_t **arr, size_t *n,
	    struct err *);
/* "wrong wire type N for field NAME"; returns -1. */
int	pb_err_wiretype(struct err *e, const struct pb_reader *r, const char *name);

/*
 * Well-formedness of a message that is only counted, never kept (exemplars,
 * native histograms): every field of a known number must have its wire
 * type, embedded messages are checked by their own schema, unknown fields
 * are skipped. At most PB_MAX_FIELDS fields per schema.
 */
#define PB_K_VARINT	0	/* int, enum, bool, sint */
#define PB_K_I64	1	/* double, fixed64 */
#define PB_K_BYTES	2	/* string, bytes */
#define PB_K_MSG	3	/* embedded message, by msg */
#define PB_K_RVARINT	4	/* repeated varint, packed or not */
#define PB_K_RI64	5	/* repeated double, packed or not */
#define PB_MAX_FIELDS	16

struct pb_msgdef;

struct pb_fielddef {
	int32_t			 num;
	int			 kind;
	const char		*name;
	const struct pb_msgdef	*msg;
};

struct pb_msgdef {
	const struct pb_fielddef *fields;
	size_t			 nfields;
};

/* 0 if p[0..n) is a well-formed message of def, else -1 with the place in e. */
int	pb_check(const struct pb_msgdef *def, const uint8_t *p, size_t n,
	    struct err *e);

/* Zigzag, for sint32/sint64. */
static inline uint64_t
pb_zigzag(int64_t v)
{
	return v < 0 ? ~((uint64_t)v << 1) : (uint64_t)v << 1;
}

static inline int64_t
pb_unzigzag(uint64_t v)
{
	return (v & 1) ? (int64_t)~(v >> 1) : (int64_t)(v >> 1);
}

/*
 * Writing. Encoders emit fields in field-number order and leave out proto3
 * zero values themselves, as gogo's Marshal does; these helpers always write.
 */
size_t	pb_varint_size(uint64_t);
void	pb_put_tag(struct buf *, uint32_t field, int wt);
void	pb_put_varint(struct buf *, uint32_t field, uint64_t);
void	pb_put_fixed64(struct buf *, uint32_t field, uint64_t);
void	pb_put_bytes(struct buf *, uint32_t field, const void *, size_t);
/*
 * An embedded message: pb_open writes the tag and a one-byte length
 * placeholder and returns its offset; pb_close writes the real length,
 * moving the contents when the length needs more than one byte.
 */
size_t	pb_open(struct buf *, uint32_t field);
void	pb_close(struct buf *, size_t mark);

#endif
