#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>
#include <zlib.h>

#include "lib/gossip/lzw.h"
#include "lib/gossip/mlwire.h"
#include "lib/gossip/msgpack.h"

/*
 * Each message is described by a table of its Go fields in wire order
 * (go-msgpack writes struct keys sorted byte-wise); one encoder and one
 * decoder walk the tables.
 */
enum ftype { F_BOOL, F_U8, F_U16, F_U32, F_INT, F_STR, F_BYTES };

struct field {
	const char	*key;
	enum ftype	 type;
	int		 omitempty;
	size_t		 off;
};

#define FIELD(st, key, type, member)	{ key, type, 0, offsetof(struct st, member) }
#define OMITEMPTY(st, key, type, member) { key, type, 1, offsetof(struct st, member) }
#define NFIELDS(a)	(sizeof(a) / sizeof((a)[0]))

/* Nesting of compress and compound inside one packet; Go peers use two. */
#define MAX_DEPTH	4

static const uint64_t umax[] = { [F_U8] = UINT8_MAX, [F_U16] = UINT16_MAX, [F_U32] = UINT32_MAX };

static int
is_empty(const struct field *f, const void *s)
{
	const char *p = (const char *)s + f->off;

	switch (f->type) {
	case F_BOOL:
		return *(const int *)p == 0;
	case F_U8:
		return *(const uint8_t *)p == 0;
	case F_U16:
		return *(const uint16_t *)p == 0;
	case F_U32:
		return *(const uint32_t *)p == 0;
	case F_INT:
		return *(const int64_t *)p == 0;
	case F_STR:
	case F_BYTES:
		return ((const struct ml_bytes *)p)->n == 0;
	}
	return 0;
}

static void
put_field(struct buf *b, const struct field *f, const void *s)
{
	const char *p = (const char *)s + f->off;
	const struct ml_bytes *bs = (const struct ml_bytes *)p;

	switch (f->type) {
	case F_BOOL:
		mp_put_bool(b, *(const int *)p);
		break;
	case F_U8:
		mp_put_uint(b, *(const uint8_t *)p);
		break;
	case F_U16:
		mp_put_uint(b, *(const uint16_t *)p);
		break;
	case F_U32:
		mp_put_uint(b, *(const uint32_t *)p);
		break;
	case F_INT:
		mp_put_int(b, *(const int64_t *)p);
		break;
	case F_STR:
		mp_put_str(b, bs->p, bs->n);
		break;
	case F_BYTES:
		mp_put_bytes(b, bs->p, bs->n);
		break;
	}
}

static void
put_struct(struct buf *b, const struct field *fs, size_t nf, const void *s)
{
	uint32_t n = 0;

	for (size_t i = 0; i < nf; i++)
		n += !(fs[i].omitempty && is_empty(&fs[i], s));
	mp_put_map(b, n);
	for (size_t i = 0; i < nf; i++) {
		if (fs[i].omitempty && is_empty(&fs[i], s))
			continue;
		mp_put_str(b, fs[i].key, strlen(fs[i].key));
		put_field(b, &fs[i], s);
	}
}

static int
get_field(struct decbuf *d, const struct field *f, void *s)
{
	char *p = (char *)s + f->off;
	struct ml_bytes *bs = (struct ml_bytes *)p;
	uint64_t u;

	switch (f->type) {
	case F_BOOL:
		return mp_get_bool(d, (int *)p);
	case F_U8:
	case F_U16:
	case F_U32:
		if (mp_get_uint(d, umax[f->type], &u) == -1)
			return -1;
		if (f->type == F_U8)
			*(uint8_t *)p = (uint8_t)u;
		else if (f->type == F_U16)
			*(uint16_t *)p = (uint16_t)u;
		else
			*(uint32_t *)p = (uint32_t)u;
		return 0;
	case F_INT:
		return mp_get_int(d, (int64_t *)p);
	case F_STR:
	case F_BYTES:
		return mp_get_str(d, &bs->p, &bs->n);
	}
	return -1;
}

static int
get_struct(struct decbuf *d, const char *what, const struct field *fs, size_t nf, void *s,
    size_t size, struct err *e)
{
	uint32_t n;

	memset(s, 0, size);
	if (mp_get_map(d, &n) == -1)
		return err_set(e, "%s: not a msgpack map", what);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *k;
		size_t kn, j;

		if (mp_get_str(d, &k, &kn) == -1)
			return err_set(e, "%s: key %u is not a string", what, i);
		for (j = 0; j < nf; j++)
			if (strlen(fs[j].key) == kn && memcmp(fs[j].key, k, kn) == 0)
				break;
		if (j == nf) {
			if (mp_skip(d) == -1)
				return err_set(e, "%s: truncated value of an unknown key", what);
			continue;
		}
		if (get_field(d, &fs[j], s) == -1)
			return err_set(e, "%s: bad value for %s", what, fs[j].key);
	}
	return 0;
}

static const struct field ping_fields[] = {
	FIELD(ml_ping, "Node", F_STR, node),
	FIELD(ml_ping, "SeqNo", F_U32, seq_no),
	OMITEMPTY(ml_ping, "SourceAddr", F_BYTES, source_addr),
	OMITEMPTY(ml_ping, "SourceNode", F_STR, source_node),
	OMITEMPTY(ml_ping, "SourcePort", F_U16, source_port),
};
static const struct field indirect_ping_fields[] = {
	FIELD(ml_indirect_ping, "Nack", F_BOOL, nack),
	FIELD(ml_indirect_ping, "Node", F_STR, node),
	FIELD(ml_indirect_ping, "Port", F_U16, port),
	FIELD(ml_indirect_ping, "SeqNo", F_U32, seq_no),
	OMITEMPTY(ml_indirect_ping, "SourceAddr", F_BYTES, source_addr),
	OMITEMPTY(ml_indirect_ping, "SourceNode", F_STR, source_node),
	OMITEMPTY(ml_indirect_ping, "SourcePort", F_U16, source_port),
	FIELD(ml_indirect_ping, "Target", F_BYTES, target),
};
static const struct field ack_fields[] = {
	FIELD(ml_ack, "Payload", F_BYTES, payload),
	FIELD(ml_ack, "SeqNo", F_U32, seq_no),
};
static const struct field nack_fields[] = {
	FIELD(ml_nack, "SeqNo", F_U32, seq_no),
};
static const struct field accuse_fields[] = {
	FIELD(ml_accuse, "From", F_STR, from),
	FIELD(ml_accuse, "Incarnation", F_U32, incarnation),
	FIELD(ml_accuse, "Node", F_STR, node),
};
static const struct field alive_fields[] = {
	FIELD(ml_alive, "Addr", F_BYTES, addr),
	FIELD(ml_alive, "Incarnation", F_U32, incarnation),
	FIELD(ml_alive, "Meta", F_BYTES, meta),
	FIELD(ml_alive, "Node", F_STR, node),
	FIELD(ml_alive, "Port", F_U16, port),
	FIELD(ml_alive, "Vsn", F_BYTES, vsn),
};
static const struct field push_pull_header_fields[] = {
	FIELD(ml_push_pull_header, "Join", F_BOOL, join),
	FIELD(ml_push_pull_header, "Nodes", F_INT, nodes),
	FIELD(ml_push_pull_header, "UserStateLen", F_INT, user_state_len),
};
static const struct field push_node_state_fields[] = {
	FIELD(ml_push_node_state, "Addr", F_BYTES, addr),
	FIELD(ml_push_node_state, "Incarnation", F_U32, incarnation),
	FIELD(ml_push_node_state, "Meta", F_BYTES, meta),
	FIELD(ml_push_node_state, "Name", F_STR, name),
	FIELD(ml_push_node_state, "Port", F_U16, port),
	FIELD(ml_push_node_state, "State", F_INT, state),
	FIELD(ml_push_node_state, "Vsn", F_BYTES, vsn),
};
static const struct field user_msg_header_fields[] = {
	FIELD(ml_user_msg_header, "UserMsgLen", F_INT, user_msg_len),
};
static const struct field err_resp_fields[] = {
	FIELD(ml_err_resp, "Error", F_STR, error),
};
static const struct field compress_fields[] = {
	FIELD(ml_compress, "Algo", F_U8, algo),
	FIELD(ml_compress, "Buf", F_BYTES, buf),
};

#define ML_CODEC(name, type, what)						\
void										\
ml_put_##name(struct buf *b, const struct type *m)				\
{										\
	put_struct(b, name##_fields, NFIELDS(name##_fields), m);		\
}										\
int										\
ml_get_##name(struct decbuf *d, struct type *m, struct err *e)			\
{										\
	return get_struct(d, what, name##_fields, NFIELDS(name##_fields), m,	\
	    sizeof(*m), e);							\
}
ML_CODEC(ping, ml_ping, "ping")
ML_CODEC(indirect_ping, ml_indirect_ping, "indirect ping")
ML_CODEC(ack, ml_ack, "ack")
ML_CODEC(nack, ml_nack, "nack")
ML_CODEC(accuse, ml_accuse, "suspect/dead")
ML_CODEC(alive, ml_alive, "alive")
ML_CODEC(push_pull_header, ml_push_pull_header, "push/pull header")
ML_CODEC(push_node_state, ml_push_node_state, "push/pull node state")
ML_CODEC(user_msg_header, ml_user_msg_header, "user message header")
ML_CODEC(err_resp, ml_err_resp, "error response")
ML_CODEC(compress, ml_compress, "compress")

int
ml_compound_put(struct buf *b, const struct ml_bytes *parts, size_t n, struct err *e)
{
	if (n == 0 || n > ML_COMPOUND_MAX_PARTS)
		return err_set(e, "compound of %zu messages (1 to %d)", n, ML_COMPOUND_MAX_PARTS);
	for (size_t i = 0; i < n; i++)
		if (parts[i].n > ML_COMPOUND_MAX_PART)
			return err_set(e, "compound part of %zu bytes (at most %d)", parts[i].n,
			    ML_COMPOUND_MAX_PART);
	buf_put_u8(b, ML_COMPOUND);
	buf_put_u8(b, (uint8_t)n);
	for (size_t i = 0; i < n; i++) {
		buf_put_u8(b, (uint8_t)(parts[i].n >> 8));
		buf_put_u8(b, (uint8_t)parts[i].n);
	}
	for (size_t i = 0; i < n; i++)
		buf_put_bytes(b, parts[i].p, parts[i].n);
	return 0;
}

void
ml_crc_put(struct buf *b, const void *payload, size_t n)
{
	buf_put_u8(b, ML_HAS_CRC);
	buf_put_be32(b, (uint32_t)crc32(0, payload, (uInt)n));
	buf_put_bytes(b, payload, n);
}

int
ml_label_put(struct buf *b, const void *label, size_t n, struct err *e)
{
	if (n == 0 || n > ML_LABEL_MAX)
		return err_set(e, "label of %zu bytes (1 to %d)", n, ML_LABEL_MAX);
	buf_put_u8(b, ML_HAS_LABEL);
	buf_put_u8(b, (uint8_t)n);
	buf_put_bytes(b, label, n);
	return 0;
}

int
ml_label_strip(struct ml_bytes *pkt, struct ml_bytes *label, struct err *e)
{
	size_t n;

	label->p = NULL;
	label->n = 0;
	if (pkt->n == 0 || pkt->p[0] != ML_HAS_LABEL)
		return 0;
	if (pkt->n < 2)
		return err_set(e, "label header cut short");
	n = pkt->p[1];
	if (n == 0)
		return err_set(e, "label header of length 0");
	if (pkt->n - 2 < n)
		return err_set(e, "label of %zu bytes, %zu left", n, pkt->n - 2);
	label->p = pkt->p + 2;
	label->n = n;
	pkt->p += 2 + n;
	pkt->n -= 2 + n;
	return 0;
}

int
ml_compression_parse(const char *s, enum ml_compression *out)
{
	if (strcmp(s, "lzw") == 0)
		*out = ML_COMPRESS_LZW;
	else if (strcmp(s, "snappy") == 0)
		*out = ML_COMPRESS_SNAPPY;
	else
		return -1;
	return 0;
}

static void
snappy_put(struct buf *z, const void *msg, size_t n)
{
	size_t len = snappy_max_compressed_length(n);

	buf_reserve(z, len);
	if (snappy_compress(msg, n, (char *)z->p + z->len, &len) != SNAPPY_OK)
		abort();	/* only for an output buffer below the maximum length */
	z->len += len;
}

void
ml_compress_put(struct buf *b, const void *msg, size_t n, enum ml_compression algo)
{
	struct buf z = { 0 };
	struct ml_compress c;

	if (algo == ML_COMPRESS_SNAPPY)
		snappy_put(&z, msg, n);
	else
		lzw_compress(&z, msg, n);
	c.algo = (uint8_t)algo;
	c.buf.p = z.p != NULL ? z.p : (const uint8_t *)"";
	c.buf.n = z.len;
	buf_put_u8(b, ML_COMPRESS);
	ml_put_compress(b, &c);
	buf_free(&z);
}

int
ml_packet_put(struct buf *out, const void *msg, size_t n, enum ml_compression algo, int crc,
    const void *label, size_t label_len, struct err *e)
{
	struct buf z = { 0 };

	if (label_len > 0 && ml_label_put(out, label, label_len, e) == -1)
		return -1;
	if (algo != ML_COMPRESS_OFF) {
		ml_compress_put(&z, msg, n, algo);
		if (z.len < n) {
			msg = z.p;
			n = z.len;
		}
	}
	if (crc)
		ml_crc_put(out, msg, n);
	else
		buf_put_bytes(out, msg, n);
	buf_free(&z);
	return 0;
}

static int
unsnappy(struct buf *out, struct ml_bytes in, struct err *e)
{
	size_t n;

	if (snappy_uncompressed_length((const char *)in.p, in.n, &n) != SNAPPY_OK)
		return err_set(e, "compress: bad snappy length");
	if (n > ML_DECOMPRESSED_MAX)
		return err_set(e, "compress: %zu bytes decompressed (at most %u)", n,
		    ML_DECOMPRESSED_MAX);
	buf_reserve(out, n);
	if (snappy_uncompress((const char *)in.p, in.n, (char *)out->p + out->len, &n) != SNAPPY_OK)
		return err_set(e, "compress: corrupt snappy block");
	out->len += n;
	return 0;
}

int
ml_decompress(struct buf *out, struct ml_bytes body, struct err *e)
{
	struct ml_compress c;
	struct decbuf d;
	size_t before = out->len;

	decbuf_init(&d, body.p, body.n);
	if (ml_get_compress(&d, &c, e) == -1)
		return -1;
	switch (c.algo) {
	case 0:
		if (lzw_decompress(out, c.buf.p, c.buf.n, ML_DECOMPRESSED_MAX, e) == -1)
			return err_wrap(e, "compress");
		break;
	case 1:
		if (unsnappy(out, c.buf, e) == -1)
			return -1;
		break;
	default:
		return err_set(e, "compress: unknown algorithm %u", c.algo);
	}
	if (out->len == before)
		return err_set(e, "compress: empty message");
	return 0;
}

static int	walk(struct ml_bytes, int, ml_msg_fn, void *, size_t *, struct err *);

static int
walk_compound(struct ml_bytes body, int depth, ml_msg_fn fn, void *arg, size_t *dropped,
    struct err *e)
{
	size_t nparts, off;

	if (body.n < 1)
		return err_set(e, "compound: no part count");
	nparts = body.p[0];
	if (body.n - 1 < 2 * nparts)
		return err_set(e, "compound: %zu part lengths, %zu bytes", nparts, body.n - 1);
	off = 1 + 2 * nparts;
	for (size_t i = 0; i < nparts; i++) {
		size_t len = (size_t)body.p[1 + 2 * i] << 8 | body.p[2 + 2 * i];
		struct ml_bytes part;
		int rc;

		if (body.n - off < len) {
			/* As Go: the parts that do not fit are dropped, the others kept. */
			*dropped += nparts - i;
			break;
		}
		part.p = body.p + off;
		part.n = len;
		off += len;
		if (len == 0) {
			(*dropped)++;	/* Go logs it and goes on with the next part */
			continue;
		}
		if ((rc = walk(part, depth + 1, fn, arg, dropped, e)) < 0)
			return rc;
	}
	return 0;
}

static int
walk(struct ml_bytes msg, int depth, ml_msg_fn fn, void *arg, size_t *dropped, struct err *e)
{
	struct ml_bytes body;
	struct buf out = { 0 };
	int rc;

	if (msg.n == 0)
		return err_set(e, "empty message");
	if (depth > MAX_DEPTH)
		return err_set(e, "messages nested deeper than %d", MAX_DEPTH);
	body.p = msg.p + 1;
	body.n = msg.n - 1;
	switch (msg.p[0]) {
	case ML_COMPOUND:
		return walk_compound(body, depth, fn, arg, dropped, e);
	case ML_COMPRESS:
		if (ml_decompress(&out, body, e) == -1) {
			buf_free(&out);
			return -1;
		}
		body.p = out.p;
		body.n = out.len;
		rc = walk(body, depth + 1, fn, arg, dropped, e);
		buf_free(&out);
		return rc;
	default:
		return fn(arg, msg.p[0], body);
	}
}

int
ml_packet_walk(struct ml_bytes pkt, ml_msg_fn fn, void *arg, size_t *dropped, struct err *e)
{
	size_t ignored = 0;

	if (dropped == NULL)
		dropped = &ignored;
	/* Only the outermost layer may carry a CRC, and only with room for it (as Go). */
	if (pkt.n >= 5 && pkt.p[0] == ML_HAS_CRC) {
		uint32_t want = be32_get(pkt.p + 1);
		uint32_t got = (uint32_t)crc32(0, pkt.p + 5, (uInt)(pkt.n - 5));

		if (got != want)
			return err_set(e, "packet CRC %08x, computed %08x", want, got);
		pkt.p += 5;
		pkt.n -= 5;
	}
	return walk(pkt, 0, fn, arg, dropped, e);
}
