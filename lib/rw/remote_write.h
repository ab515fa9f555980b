/*
 * remote_write — Prometheus remote write 1.0: the snappy block body and the
 * WriteRequest protobuf (prompb/remote.proto, types.proto).
 *
 * rw_decode reads a decompressed WriteRequest in one pass into a struct
 * rw_request the caller keeps and reuses: its arrays only grow, so a warm
 * decoder allocates nothing. Label strings point into the caller's buffer,
 * which must outlive the decoded request. Samples keep the float64 bits as
 * sent (NaN payloads such as Prometheus' stale marker survive). Exemplars
 * and native histograms are checked for well-formedness and counted, not
 * kept; metadata entries are kept (Cortex validates them).
 *
 * Nothing is validated beyond the wire format: labels stay in the order
 * sent, with duplicates and empty values (see validate.h).
 */
#ifndef RINGTAIL_REMOTE_WRITE_H
#define RINGTAIL_REMOTE_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/tsdb/encoding.h"
#include "lib/tsdb/labels.h"

/* Cortex's -distributor.max-recv-msg-size default (100 MiB). */
#define RW_MAX_RECV_MSG_SIZE	104857600

struct rw_sample {
	int64_t		 t;		/* milliseconds */
	uint64_t	 v;		/* float64 bits, exactly as sent */
};

struct rw_series {
	struct labels	 labels;	/* as sent; strings point into the request */
	struct rw_sample *samples;
	size_t		 nsamples;
	size_t		 nexemplars;
	size_t		 nhistograms;
	const uint8_t	*raw;		/* the TimeSeries message, to forward as is */
	size_t		 rawlen;
	size_t		 lab_off;	/* the decoder's own bookkeeping */
	size_t		 smp_off;
};

/* MetricMetadata.type values. */
#define RW_METRIC_UNKNOWN		0
#define RW_METRIC_COUNTER		1
#define RW_METRIC_GAUGE			2
#define RW_METRIC_HISTOGRAM		3
#define RW_METRIC_GAUGEHISTOGRAM	4
#define RW_METRIC_SUMMARY		5
#define RW_METRIC_INFO			6
#define RW_METRIC_STATESET		7

struct rw_metadata {
	int32_t		 type;
	struct str	 family;
	struct str	 help;
	struct str	 unit;
	const uint8_t	*raw;
	size_t		 rawlen;
};

/* The zero value is an empty request; free with rw_request_free. */
struct rw_request {
	struct rw_series	*series;
	size_t			 nseries;
	struct rw_metadata	*metadata;
	size_t			 nmetadata;
	size_t			 nsamples;	/* totals over all series */
	size_t			 nexemplars;
	size_t			 nhistograms;

	size_t			 series_cap;
	size_t			 metadata_cap;
	struct label		*lpool;
	size_t			 lpool_len;
	size_t			 lpool_cap;
	struct rw_sample	*spool;
	size_t			 spool_len;
	size_t			 spool_cap;
};

/*
 * Decode a WriteRequest from p[0..n), replacing what rq held. On malformed
 * input returns -1, rq empty, with a message naming where it broke,
 * indices counted from 0 within their repeated field: "proto: timeseries
 * 3: label 2: truncated".
 */
int	rw_decode(struct rw_request *rq, const void *p, size_t n, struct err *);
void	rw_request_free(struct rw_request *);

/* Empty rq, keeping its memory. */
void	rw_request_reset(struct rw_request *rq);
/*
 * Decode one TimeSeries message (a WriteRequest or QueryResult element)
 * and append it to rq; remote read's response decoder shares it. The
 * series' pointers are set by rw_request_finish.
 */
int	rw_decode_series(struct rw_request *rq, const uint8_t *p, size_t n,
	    struct err *);
/* Decode one Label message (name 1, value 2; absent means ""). */
int	rw_decode_label(const uint8_t *p, size_t n, struct label *,
	    struct err *);
/* Set the series' label and sample pointers once the pools stop moving. */
void	rw_request_finish(struct rw_request *rq);

/*
 * Append field 1 (WriteRequest.timeseries, QueryResult.timeseries) holding
 * one series, encoded as Prometheus' gogo Marshal does: labels in the
 * order given, empty strings and zero values left out.
 */
void	rw_encode_series(struct buf *, const struct labels *,
	    const struct rw_sample *, size_t n);
/* The same, one sample at a time: open, samples, close with open's mark. */
size_t	rw_series_open(struct buf *, const struct labels *);
void	rw_series_sample(struct buf *, int64_t t, uint64_t v);
void	rw_series_close(struct buf *, size_t mark);

/*
 * Snappy block format. rw_snappy_decode replaces out's contents with the
 * decompressed bytes; it refuses input, or a decoded length read from the
 * block header, larger than max before allocating (Cortex's text:
 * "received message larger than max (N vs MAX)"), and corrupt input with
 * "snappy: corrupt input" (Prometheus' and Cortex's text).
 */
int	rw_snappy_decode(const void *in, size_t n, size_t max, struct buf *out,
	    struct err *);
/* Append the snappy block of in[0..n) to out. */
void	rw_snappy_encode(const void *in, size_t n, struct buf *out);

#endif
