/*
 * mlwire — HashiCorp memberlist's messages as they are on the wire, for
 * peers built on memberlist 0.2.2 (Debian), current memberlist, and dskit
 * (Cortex, Mimir, Loki). See specs/memberlist-wire.md.
 *
 * A message is one type byte and one msgpack map keyed by the Go field
 * names. The encoders write what Go writes (sorted keys, omitempty fields
 * left out, nil for absent byte slices); the decoders accept what Go
 * accepts (any msgpack form, unknown keys skipped, missing keys zero).
 * Decoded strings and byte slices point into the input.
 *
 * The packet layers, outermost first: label header (244), CRC header (12),
 * compress (9, LZW or snappy), compound (7), then the messages.
 */
#ifndef RINGTAIL_MLWIRE_H
#define RINGTAIL_MLWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/tsdb/encoding.h"

enum ml_type {
	ML_PING = 0,
	ML_INDIRECT_PING = 1,
	ML_ACK = 2,
	ML_SUSPECT = 3,
	ML_ALIVE = 4,
	ML_DEAD = 5,
	ML_PUSH_PULL = 6,
	ML_COMPOUND = 7,
	ML_USER = 8,
	ML_COMPRESS = 9,
	ML_ENCRYPT = 10,
	ML_NACK = 11,
	ML_HAS_CRC = 12,
	ML_ERR = 13,
	ML_HAS_LABEL = 244,
};

enum ml_state { ML_STATE_ALIVE = 0, ML_STATE_SUSPECT = 1, ML_STATE_DEAD = 2, ML_STATE_LEFT = 3 };

#define ML_VSN_LEN		6
#define ML_META_MAX		512
#define ML_LABEL_MAX		255
#define ML_COMPOUND_MAX_PARTS	255
#define ML_COMPOUND_MAX_PART	65535
/* The largest decompressed message accepted (current memberlist's limit). */
#define ML_DECOMPRESSED_MAX	(40u << 20)

/* Bytes of a Go string or []byte; p == NULL is a nil slice. */
struct ml_bytes {
	const uint8_t	*p;
	size_t		 n;
};

struct ml_ping {
	uint32_t	 seq_no;
	struct ml_bytes	 node;		/* the intended recipient */
	struct ml_bytes	 source_addr;	/* omitempty */
	struct ml_bytes	 source_node;	/* omitempty */
	uint16_t	 source_port;	/* omitempty */
};

struct ml_indirect_ping {
	uint32_t	 seq_no;
	struct ml_bytes	 target;	/* IP, 4 or 16 bytes */
	uint16_t	 port;
	struct ml_bytes	 node;
	int		 nack;
	struct ml_bytes	 source_addr;	/* omitempty */
	struct ml_bytes	 source_node;	/* omitempty */
	uint16_t	 source_port;	/* omitempty */
};

struct ml_ack {
	uint32_t	 seq_no;
	struct ml_bytes	 payload;
};

struct ml_nack {
	uint32_t	 seq_no;
};

/* suspect and dead; a dead with node == from is a graceful leave. */
struct ml_accuse {
	uint32_t	 incarnation;
	struct ml_bytes	 node;
	struct ml_bytes	 from;
};

struct ml_alive {
	uint32_t	 incarnation;
	struct ml_bytes	 node;
	struct ml_bytes	 addr;
	uint16_t	 port;
	struct ml_bytes	 meta;
	struct ml_bytes	 vsn;		/* [pmin pmax pcur dmin dmax dcur] */
};

struct ml_push_pull_header {
	int64_t		 nodes;
	int64_t		 user_state_len;
	int		 join;
};

struct ml_push_node_state {
	struct ml_bytes	 name;
	struct ml_bytes	 addr;
	uint16_t	 port;
	struct ml_bytes	 meta;
	uint32_t	 incarnation;
	int64_t		 state;		/* enum ml_state */
	struct ml_bytes	 vsn;
};

struct ml_user_msg_header {
	int64_t		 user_msg_len;
};

struct ml_err_resp {
	struct ml_bytes	 error;
};

struct ml_compress {
	uint8_t		 algo;		/* 0 LZW, 1 snappy (grafana fork) */
	struct ml_bytes	 buf;
};

/*
 * Encoders append the msgpack map only (no type byte: a push/pull carries
 * several values after one type byte). Decoders read exactly one value and
 * fail with a message naming the message and the field.
 */
#define ML_CODEC(name, type)						\
	void	ml_put_##name(struct buf *, const struct type *);	\
	int	ml_get_##name(struct decbuf *, struct type *, struct err *)
ML_CODEC(ping, ml_ping);
ML_CODEC(indirect_ping, ml_indirect_ping);
ML_CODEC(ack, ml_ack);
ML_CODEC(nack, ml_nack);
ML_CODEC(accuse, ml_accuse);
ML_CODEC(alive, ml_alive);
ML_CODEC(push_pull_header, ml_push_pull_header);
ML_CODEC(push_node_state, ml_push_node_state);
ML_CODEC(user_msg_header, ml_user_msg_header);
ML_CODEC(err_resp, ml_err_resp);
ML_CODEC(compress, ml_compress);
#undef ML_CODEC

/*
 * compound: 7, count, BE16 lengths, parts. Fails when there are more than
 * 255 parts or a part is longer than 65535 bytes (send those alone).
 */
int	ml_compound_put(struct buf *, const struct ml_bytes *parts, size_t n, struct err *);

/* The 5-byte CRC header (CRC-32 IEEE of the payload), then the payload. */
void	ml_crc_put(struct buf *, const void *payload, size_t n);

/* The label header; label is 1..255 bytes. */
int	ml_label_put(struct buf *, const void *label, size_t n, struct err *);
/*
 * Strip a label header if the packet or stream starts with one; *label is
 * then the label (else nil). A zero length or one running past the end is
 * an error.
 */
int	ml_label_strip(struct ml_bytes *pkt, struct ml_bytes *label, struct err *);

/*
 * What a sender compresses with: compress.Algo on the wire, or off. Every
 * receiver here decodes both; Go's memberlist decodes snappy only in
 * grafana's fork (dskit's -memberlist.compression-algorithm).
 */
enum ml_compression {
	ML_COMPRESS_OFF = -1,
	ML_COMPRESS_LZW = 0,
	ML_COMPRESS_SNAPPY = 1,
};
/* "lzw" or "snappy" (dskit's names): 0, or -1. */
int	ml_compression_parse(const char *, enum ml_compression *);

/* 9 + compress{Algo, Buf: msg compressed so}; algo is not ML_COMPRESS_OFF. */
void	ml_compress_put(struct buf *, const void *msg, size_t n, enum ml_compression algo);
/*
 * One packet as memberlist sends it: the label header (label_len 0: none),
 * then with crc the CRC header, then msg, compressed with algo when that
 * makes it smaller. out must not hold msg: each layer is written after the
 * one before. Read back by ml_label_strip, then ml_packet_walk. -1 only
 * for a label of the wrong size.
 */
int	ml_packet_put(struct buf *out, const void *msg, size_t n, enum ml_compression algo,
	    int crc, const void *label, size_t label_len, struct err *);
/*
 * body is a compress message after its type byte: decode it and append the
 * decompressed message to out (LZW or snappy, at most ML_DECOMPRESSED_MAX).
 */
int	ml_decompress(struct buf *out, struct ml_bytes body, struct err *);

/*
 * Walk one received packet (label already stripped): check and strip the
 * CRC header, decompress, split compounds, and call fn for every message
 * with its type and its body after the type byte. Truncated and empty
 * compound parts are dropped as Go drops them (counted in *dropped); any
 * other damage refuses the whole packet. Returns 0, or -1 when
 * the packet is refused (bad CRC, bad compression, nesting deeper than 4),
 * or whatever negative value fn returned to stop the walk.
 */
typedef int	(*ml_msg_fn)(void *arg, enum ml_type, struct ml_bytes body);
int	ml_packet_walk(struct ml_bytes pkt, ml_msg_fn fn, void *arg, size_t *dropped,
	    struct err *);

#endif
