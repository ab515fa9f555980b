/*
 * remote_read — Prometheus remote read: the ReadRequest a client sends, the
 * SAMPLES response (a snappy block of ReadResponse) and the
 * STREAMED_XOR_CHUNKS response (a stream of frames, each
 *
 *	uvarint len | big-endian CRC-32C of msg | msg = ChunkedReadResponse
 *
 * holding chunks of one series), as storage/remote/codec.go and chunked.go
 * of Prometheus 2.42 write them.
 *
 * Decoders follow remote_write's rules: one pass, strings point into the
 * caller's buffer, structures are reused across calls and only grow.
 * Encoders append to a struct buf, fields in Prometheus' order and with
 * proto3 zero values left out, so that the bytes equal Prometheus' own.
 */
#ifndef RINGTAIL_REMOTE_READ_H
#define RINGTAIL_REMOTE_READ_H

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/rw/remote_write.h"
#include "lib/tsdb/encoding.h"
#include "lib/tsdb/labels.h"

/* ReadRequest.accepted_response_types. */
#define RR_SAMPLES		0
#define RR_STREAMED_XOR_CHUNKS	1

/* LabelMatcher.type; regular expressions are fully anchored. */
#define RR_MATCH_EQ		0
#define RR_MATCH_NEQ		1
#define RR_MATCH_RE		2
#define RR_MATCH_NRE		3

/* Chunk.type. */
#define RR_CHUNK_UNKNOWN	0
#define RR_CHUNK_XOR		1
#define RR_CHUNK_HISTOGRAM	2

/* --storage.remote.read-max-bytes-in-frame default. */
#define RR_MAX_BYTES_IN_FRAME	1048576
/* chunked.go DefaultChunkedReadLimit: the largest frame a reader should take. */
#define RR_CHUNKED_READ_LIMIT	50000000
/* Prometheus' server reads at most this much request body (decodeReadLimit). */
#define RR_DECODE_READ_LIMIT	(32 * 1024 * 1024)
/* Cortex's remote read takes at most 1 MiB of request. */
#define RR_CORTEX_READ_LIMIT	(1024 * 1024)
/* Prometheus' text when --storage.remote.read-sample-limit is hit (400). */
#define RR_ERR_SAMPLE_LIMIT	"exceeded sample limit (%d)"

struct rr_matcher {
	int32_t		 type;		/* RR_MATCH_*, or whatever was sent */
	struct str	 name;
	struct str	 value;
};

struct rr_hints {
	int64_t		 step_ms;
	struct str	 func;
	int64_t		 start_ms;
	int64_t		 end_ms;
	struct str	*grouping;
	size_t		 ngrouping;
	int		 by;
	int64_t		 range_ms;
};

struct rr_query {
	int64_t		 start_ms;	/* inclusive */
	int64_t		 end_ms;	/* inclusive */
	struct rr_matcher *matchers;
	size_t		 nmatchers;
	int		 has_hints;	/* hints were sent (maybe empty) */
	struct rr_hints	 hints;
	size_t		 m_off;		/* the decoder's own bookkeeping */
	size_t		 g_off;
};

/* The zero value is empty; free with rr_request_free. */
struct rr_request {
	struct rr_query	*queries;
	size_t		 nqueries;
	int32_t		*accepted;	/* accepted_response_types, in order */
	size_t		 naccepted;

	size_t		 queries_cap;
	size_t		 accepted_cap;
	struct rr_matcher *mpool;
	size_t		 mpool_len;
	size_t		 mpool_cap;
	struct str	*gpool;
	size_t		 gpool_len;
	size_t		 gpool_cap;
};

/*
 * Decode a (decompressed) ReadRequest; on malformed input -1, rq empty,
 * and a message such as "proto: query 0: matcher 1: truncated".
 */
int	rr_decode_request(struct rr_request *, const void *p, size_t n,
	    struct err *);
void	rr_request_free(struct rr_request *);
/* Append the ReadRequest protobuf as Prometheus' client encodes it. */
void	rr_encode_request(struct buf *, const struct rr_request *);
/*
 * Prometheus' NegotiateResponseType: the first accepted type this server
 * speaks (SAMPLES when none are listed), else -1 with Prometheus' text
 * (its HTTP status is 400).
 */
int	rr_negotiate(const struct rr_request *, int32_t *type, struct err *);

/*
 * SAMPLES: a ReadResponse is one QueryResult per query, in request order:
 *
 *	mark = rr_result_open(b);
 *	rw_encode_series(b, ...) or rw_series_open/_sample/_close, per series
 *	rr_result_close(b, mark);
 *
 * then rw_snappy_encode the whole buffer into the response body.
 */
size_t	rr_result_open(struct buf *);
void	rr_result_close(struct buf *, size_t mark);

/* A decoded SAMPLES response: results[i] are series first[i] .. first[i+1]-1. */
struct rr_response {
	struct rw_request ts;
	size_t		*first;
	size_t		 nresults;
	size_t		 first_cap;
};

int	rr_decode_response(struct rr_response *, const void *p, size_t n,
	    struct err *);
/* The number of series of result i. */
size_t	rr_response_nseries(const struct rr_response *, size_t i);
void	rr_response_free(struct rr_response *);

/*
 * STREAMED_XOR_CHUNKS encoder. Frames are appended to out as they are cut,
 * so a server can write and reset out after every call. Prometheus' rule:
 * a frame holds chunks of one series; the budget per frame is max_bytes
 * minus the encoded size of the series' labels, each chunk takes its
 * encoded size, and the frame is cut once the budget is <= 0 (so a frame
 * may pass it by one chunk) or the series ends.
 */
struct rr_stream {
	struct buf	*out;
	int64_t		 max_bytes;
	int64_t		 query_index;
	struct buf	 body;		/* the ChunkedSeries being built */
	size_t		 labels_len;	/* its labels part */
	int64_t		 budget;	/* per frame, after the labels */
	int64_t		 left;
	size_t		 pending;	/* chunks in body */
	size_t		 nframes;	/* frames written so far */
};

void	rr_stream_init(struct rr_stream *, struct buf *out, size_t max_bytes);
void	rr_stream_free(struct rr_stream *);
/* Start a series (sorted labels, external labels merged in); ends the previous one. */
void	rr_stream_series(struct rr_stream *, int64_t query_index,
	    const struct labels *);
/* Add one chunk of the current series (data: the TSDB chunk bytes). */
void	rr_stream_chunk(struct rr_stream *, int64_t mint, int64_t maxt,
	    int32_t type, const void *data, size_t n);
/* End the current series: write its pending chunks, if any. */
void	rr_stream_flush(struct rr_stream *);

/* Reading a stream of frames held in memory. */
struct rr_frames {
	const uint8_t	*p;
	size_t		 left;
	size_t		 limit;		/* largest message accepted */
};

void	rr_frames_init(struct rr_frames *, const void *p, size_t n, size_t limit);
/*
 * The next frame's message, its CRC checked: 1 with msg and n set, 0 at the
 * end of the stream, -1 on a bad frame (chunked.go's texts).
 */
int	rr_frames_next(struct rr_frames *, const uint8_t **msg, size_t *n,
	    struct err *);

struct rr_chunk {
	int64_t		 mint;
	int64_t		 maxt;
	int32_t		 type;
	const uint8_t	*data;
	size_t		 len;
};

struct rr_chunked_series {
	struct labels	 labels;
	struct rr_chunk	*chunks;
	size_t		 nchunks;
	size_t		 lab_off;	/* the decoder's own bookkeeping */
	size_t		 chk_off;
};

/* A decoded ChunkedReadResponse; the zero value is empty. */
struct rr_chunked {
	struct rr_chunked_series *series;
	size_t		 nseries;
	int64_t		 query_index;

	size_t		 series_cap;
	struct label	*lpool;
	size_t		 lpool_len;
	size_t		 lpool_cap;
	struct rr_chunk	*cpool;
	size_t		 cpool_len;
	size_t		 cpool_cap;
};

int	rr_decode_chunked(struct rr_chunked *, const void *p, size_t n,
	    struct err *);
void	rr_chunked_free(struct rr_chunked *);

#endif
