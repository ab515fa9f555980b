#include <string.h>

#include "lib/base/err.h"
#include "lib/base/xmalloc.h"
#include "lib/rw/pbwire.h"
#include "lib/tsdb/encoding.h"

static int	skip_one(struct pb_reader *, int);
static int	check_packed(struct pb_reader *, int, struct err *);
static int	check_field(const struct pb_fielddef *, size_t,
		    struct pb_reader *, struct err *);

int
pb_varint_slow(struct pb_reader *r, uint64_t *v)
{
	const uint8_t *p = r->p;
	uint64_t x = 0;

	/* gogo's loop: at most 10 bytes, bits past 64 silently dropped. */
	for (unsigned shift = 0;; shift += 7) {
		if (shift >= 64)
			return PB_EOVERFLOW;
		if (p >= r->end)
			return PB_ETRUNC;
		x |= (uint64_t)(*p & 0x7f) << shift;
		if (*p++ < 0x80)
			break;
	}
	r->p = p;
	*v = x;
	return PB_OK;
}

/* Skip one value of wire type wt (not a group). */
static int
skip_one(struct pb_reader *r, int wt)
{
	struct pb_reader sub;
	uint64_t v;

	switch (wt) {
	case PB_VARINT:
		return pb_varint(r, &v);
	case PB_I64:
		if (pb_left(r) < 8)
			return PB_ETRUNC;
		r->p += 8;
		return PB_OK;
	case PB_LEN:
		return pb_len(r, &sub);
	case PB_I32:
		if (pb_left(r) < 4)
			return PB_ETRUNC;
		r->p += 4;
		return PB_OK;
	default:
		return PB_EWIRE;
	}
}

int
pb_skip(struct pb_reader *r)
{
	uint64_t tag;
	size_t depth = 0;
	int wt = r->wt, rc;

	/* Groups nest by depth alone: like gogo, end tags are not matched. */
	for (;;) {
		if (wt == PB_SGROUP)
			depth++;
		else if (wt == PB_EGROUP) {
			if (depth == 0)
				return PB_EENDGROUP;
			depth--;
		} else if ((rc = skip_one(r, wt)) != PB_OK)
			return rc;
		if (depth == 0)
			return PB_OK;
		if ((rc = pb_varint(r, &tag)) != PB_OK)
			return rc;
		wt = (int)(tag & 7);
	}
}

/* The body of a packed repeated field: varints, or a whole number of fixed64s. */
static int
check_packed(struct pb_reader *r, int kind, struct err *e)
{
	struct pb_reader sub;
	uint64_t v;
	int rc;

	if ((rc = pb_len(r, &sub)) != PB_OK)
		return pb_err(e, rc, r);
	if (kind == PB_K_RI64) {
		/* gogo would read on past the field: a ragged tail is an error. */
		if (pb_left(&sub) % 8 != 0)
			return err_set(e, "packed length %zu is not a multiple of 8",
			    pb_left(&sub));
		return 0;
	}
	while (pb_more(&sub))
		if ((rc = pb_varint(&sub, &v)) != PB_OK)
			return pb_err(e, rc, &sub);
	return 0;
}

static int
check_field(const struct pb_fielddef *f, size_t nth, struct pb_reader *r,
    struct err *e)
{
	struct pb_reader sub;
	uint64_t v;
	int rc = PB_OK;

	switch (f->kind) {
	case PB_K_VARINT:
		if (r->wt != PB_VARINT)
			return pb_err_wiretype(e, r, f->name);
		rc = pb_varint(r, &v);
		break;
	case PB_K_I64:
		if (r->wt != PB_I64)
			return pb_err_wiretype(e, r, f->name);
		rc = pb_fixed64(r, &v);
		break;
	case PB_K_BYTES:
		if (r->wt != PB_LEN)
			return pb_err_wiretype(e, r, f->name);
		rc = pb_len(r, &sub);
		break;
	case PB_K_MSG:
		if (r->wt != PB_LEN)
			return pb_err_wiretype(e, r, f->name);
		if ((rc = pb_len(r, &sub)) != PB_OK)
			break;
		if (pb_check(f->msg, sub.p, pb_left(&sub), e) == -1)
			return err_wrap(e, "%s %zu", f->name, nth);
		return 0;
	case PB_K_RVARINT:
	case PB_K_RI64:
		if (r->wt == PB_LEN) {
			if (check_packed(r, f->kind, e) == -1)
				return err_wrap(e, "%s", f->name);
			return 0;
		}
		if (r->wt != (f->kind == PB_K_RVARINT ? PB_VARINT : PB_I64))
			return pb_err_wiretype(e, r, f->name);
		rc = f->kind == PB_K_RVARINT ? pb_varint(r, &v) : pb_fixed64(r, &v);
		break;
	}
	if (rc != PB_OK) {
		pb_err(e, rc, r);
		return err_wrap(e, "%s", f->name);
	}
	return 0;
}

int
pb_check(const struct pb_msgdef *def, const uint8_t *p, size_t n, struct err *e)
{
	size_t seen[PB_MAX_FIELDS] = { 0 }, i;
	struct pb_reader r;
	int rc;

	pb_reader_init(&r, p, n);
	while (pb_more(&r)) {
		if ((rc = pb_tag(&r)) != PB_OK)
			return pb_err(e, rc, &r);
		for (i = 0; i < def->nfields; i++)
			if (def->fields[i].num == r.field)
				break;
		if (i == def->nfields) {
			if ((rc = pb_skip(&r)) != PB_OK)
				return pb_err(e, rc, &r);
			continue;
		}
		if (check_field(&def->fields[i], seen[i]++, &r, e) == -1)
			return -1;
	}
	return 0;
}

int
pb_err(struct err *e, int rc, const struct pb_reader *r)
{
	switch (rc) {
	case PB_ETRUNC:
		return err_set(e, "truncated");
	case PB_EOVERFLOW:
		return err_set(e, "varint overflows 64 bits");
	case PB_EENDGROUP:
		return err_set(e, "end-group tag outside a group");
	case PB_EFIELD:
		return err_set(e, "illegal field number %d (wire type %d)",
		    (int)r->field, r->wt);
	case PB_EWIRE:
		return err_set(e, "field %d: illegal wire type", (int)r->field);
	case PB_ELEN:
		return err_set(e, "length overflows");
	default:
		return err_set(e, "unknown protobuf error %d", rc);
	}
}

int
pb_err_wiretype(struct err *e, const struct pb_reader *r, const char *name)
{
	return err_set(e, "wrong wire type %d for field %s", r->wt, name);
}

size_t
pb_varint_size(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

void
pb_put_tag(struct buf *b, uint32_t field, int wt)
{
	buf_put_uvarint(b, (uint64_t)field << 3 | (uint64_t)wt);
}

void
pb_put_varint(struct buf *b, uint32_t field, uint64_t v)
{
	pb_put_tag(b, field, PB_VARINT);
	buf_put_uvarint(b, v);
}

void
pb_put_fixed64(struct buf *b, uint32_t field, uint64_t v)
{
	uint8_t le[8];

	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	pb_put_tag(b, field, PB_I64);
	buf_put_bytes(b, le, sizeof(le));
}

void
pb_put_bytes(struct buf *b, uint32_t field, const void *p, size_t n)
{
	pb_put_tag(b, field, PB_LEN);
	buf_put_uvarint_str(b, p, n);
}

size_t
pb_open(struct buf *b, uint32_t field)
{
	pb_put_tag(b, field, PB_LEN);
	buf_put_u8(b, 0);
	return b->len - 1;
}

void
pb_close(struct buf *b, size_t mark)
{
	size_t n = b->len - mark - 1, k = pb_varint_size(n);

	if (k > 1) {
		buf_reserve(b, k - 1);
		memmove(b->p + mark + k, b->p + mark + 1, n);
		b->len += k - 1;
	}
	uvarint_put(b->p + mark, n);
}

int
pb_get_varint(struct pb_reader *r, const char *name, uint64_t *v, struct err *e)
{
	int rc;

	if (r->wt != PB_VARINT)
		return pb_err_wiretype(e, r, name);
	if ((rc = pb_varint(r, v)) != PB_OK)
		return pb_err(e, rc, r);
	return 0;
}

int
pb_get_bytes(struct pb_reader *r, const char *name, struct pb_reader *sub, struct err *e)
{
	int rc;

	if (r->wt != PB_LEN)
		return pb_err_wiretype(e, r, name);
	if ((rc = pb_len(r, sub)) != PB_OK)
		return pb_err(e, rc, r);
	return 0;
}

int
pb_get_repeated_varint(struct pb_reader *r, const char *name, void (*push)(void *, uint64_t),
    void *arg, struct err *e)
{
	struct pb_reader sub = { NULL, NULL, 0, 0 };
	uint64_t v;
	int rc;

	if (r->wt == PB_VARINT) {
		if ((rc = pb_varint(r, &v)) != PB_OK)
			return pb_err(e, rc, r);
		push(arg, v);
		return 0;
	}
	if (pb_get_bytes(r, name, &sub, e) == -1)
		return -1;
	while (pb_more(&sub)) {
		if ((rc = pb_varint(&sub, &v)) != PB_OK)
			return pb_err(e, rc, &sub);
		push(arg, v);
	}
	return 0;
}

int
pb_get_repeated_uint32(struct pb_reader *r, const char *name, uint32_t **arr, size_t *n,
    struct err *e)
{
	struct pb_reader sub = { NULL, NULL, 0, 0 };
	size_t count = 0;
	uint64_t v;
	int rc;

	if (r->wt == PB_VARINT) {
		if ((rc = pb_varint(r, &v)) != PB_OK)
			return pb_err(e, rc, r);
		*arr = xreallocarray(*arr, *n + 1, sizeof(**arr));
		(*arr)[(*n)++] = (uint32_t)v;
		return 0;
	}
	if (pb_get_bytes(r, name, &sub, e) == -1)
		return -1;
	/* every varint ends in the one byte of it below 0x80 */
	for (const uint8_t *p = sub.p; p < sub.end; p++)
		count += *p < 0x80;
	if (count > 0)
		*arr = xreallocarray(*arr, *n + count, sizeof(**arr));
	while (pb_more(&sub)) {
		if ((rc = pb_varint(&sub, &v)) != PB_OK)
			return pb_err(e, rc, &sub);
		(*arr)[(*n)++] = (uint32_t)v;
	}
	return 0;
}
