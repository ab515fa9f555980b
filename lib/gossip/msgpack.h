/*
 * msgpack — what Go memberlist puts on the wire and reads from it.
 *
 * memberlist encodes with hashicorp/go-msgpack's default MsgpackHandle: the
 * old msgpack spec, so Go strings and byte slices are both written with the
 * raw/str family (fixstr, str16, str32; never str8, bin or ext), a nil byte
 * slice as nil, unsigned integers in their smallest unsigned form, and
 * (go-msgpack 0.5.x, Debian's memberlist 0.2.2) non-negative signed ints as
 * unsigned. The encoder writes exactly that. The decoder accepts every
 * msgpack format, as Go's decoder does, and never reads outside its input:
 * every length is checked against what is left.
 */
#ifndef RINGTAIL_MSGPACK_H
#define RINGTAIL_MSGPACK_H

#include <stddef.h>
#include <stdint.h>

#include "lib/tsdb/encoding.h"

/* Encoder: appends one value (or a container header) to b. */
void	mp_put_nil(struct buf *);
void	mp_put_bool(struct buf *, int);
void	mp_put_uint(struct buf *, uint64_t);	/* fixint, 0xcc, 0xcd, 0xce, 0xcf */
void	mp_put_int(struct buf *, int64_t);	/* >= 0 as mp_put_uint; < 0 smallest signed form */
void	mp_put_str(struct buf *, const void *, size_t);	/* fixstr, 0xda, 0xdb */
/*
 * A Go []byte struct field: nil (0xc0) when p is NULL, else written as a
 * string. (go-msgpack writes a bare top-level nil []byte as 0xa0; memberlist
 * never does that.)
 */
void	mp_put_bytes(struct buf *, const void *p, size_t n);
void	mp_put_map(struct buf *, uint32_t n);	/* fixmap, 0xde, 0xdf */
void	mp_put_array(struct buf *, uint32_t n);	/* fixarray, 0xdc, 0xdd */

enum mp_type {
	MP_NIL, MP_BOOL, MP_UINT, MP_INT, MP_FLOAT, MP_STR, MP_BIN, MP_ARRAY, MP_MAP, MP_EXT,
};

/*
 * One value's header. For MP_STR, MP_BIN and MP_EXT the payload is consumed
 * and s points into the input; for MP_ARRAY and MP_MAP only the header is
 * consumed and n is the element (pair) count. MP_INT is only used for
 * negative values; non-negative ones in any integer format are MP_UINT.
 */
struct mp_obj {
	enum mp_type	 type;
	int8_t		 ext_type;
	union {
		int		 b;
		uint64_t	 u;
		int64_t		 i;
		double		 f;
		uint32_t	 n;
		struct {
			const uint8_t	*p;
			uint32_t	 n;
		}		 s;
	}		 v;
};

/*
 * Read one header; 0, or -1 with d->err set on truncation, the reserved byte
 * 0xc1, or an array (map) count larger than the bytes (half the bytes) left:
 * every element takes at least one byte, so such a count is truncation too,
 * and callers may loop over n without further checks.
 */
int	mp_next(struct decbuf *d, struct mp_obj *);
/*
 * Skip one whole value, containers included (nesting deeper than 64 is an
 * error); iterative, so hostile input cannot exhaust the stack.
 */
int	mp_skip(struct decbuf *d);

/*
 * Typed readers: each accepts every form Go's decoder accepts for that Go
 * type, nil giving the zero value, and fails (-1, d->err set) on any other
 * type or on a value out of range.
 */
int	mp_get_uint(struct decbuf *, uint64_t max, uint64_t *);	/* any integer in [0, max] */
int	mp_get_int(struct decbuf *, int64_t *);			/* any integer in int64 range */
int	mp_get_bool(struct decbuf *, int *);			/* bool, or integer 0/1 */
/* string or []byte: str or bin; nil gives *p = NULL, *n = 0. */
int	mp_get_str(struct decbuf *, const uint8_t **p, size_t *n);
int	mp_get_map(struct decbuf *, uint32_t *n);		/* nil gives 0 */
int	mp_get_array(struct decbuf *, uint32_t *n);		/* nil gives 0 */

#endif
