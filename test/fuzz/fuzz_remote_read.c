/*
 * fuzz_remote_read — arbitrary bytes as a ReadRequest, a SAMPLES
 * ReadResponse and a STREAMED_XOR_CHUNKS stream. Whatever decodes must
 * re-encode to a fixed point (encode, decode, encode gives the same bytes),
 * and a stream's chunks cut anew into frames must read back whole.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/rw/remote_read.h"
#include "lib/rw/remote_write.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
same_bytes(const struct buf *a, const struct buf *b)
{
	if (a->len != b->len || (a->len > 0 && memcmp(a->p, b->p, a->len) != 0))
		abort();
}

static void
request(const uint8_t *data, size_t size)
{
	static struct rr_request rq;
	struct buf a = { 0 }, b = { 0 };
	struct err e;
	int32_t type;

	if (rr_decode_request(&rq, data, size, &e) == -1)
		return;
	(void)rr_negotiate(&rq, &type, &e);
	rr_encode_request(&a, &rq);
	if (rr_decode_request(&rq, a.p, a.len, &e) == -1)
		abort();
	rr_encode_request(&b, &rq);
	same_bytes(&a, &b);
	buf_free(&a);
	buf_free(&b);
}

static void
encode_response(const struct rr_response *rs, struct buf *out)
{
	for (size_t r = 0; r < rs->nresults; r++) {
		size_t mark = rr_result_open(out);

		for (size_t i = 0; i < rr_response_nseries(rs, r); i++) {
			const struct rw_series *s = &rs->ts.series[rs->first[r] + i];

			rw_encode_series(out, &s->labels, s->samples,
			    s->nsamples);
		}
		rr_result_close(out, mark);
	}
}

static void
response(const uint8_t *data, size_t size)
{
	static struct rr_response rs;
	struct buf a = { 0 }, b = { 0 };
	struct err e;

	if (rr_decode_response(&rs, data, size, &e) == -1)
		return;
	encode_response(&rs, &a);
	if (rr_decode_response(&rs, a.p, a.len, &e) == -1)
		abort();
	encode_response(&rs, &b);
	same_bytes(&a, &b);
	buf_free(&a);
	buf_free(&b);
}

/* Count the chunks of a stream; -1 if it does not read back. */
static long
count_chunks(const uint8_t *p, size_t n, struct rr_stream *st)
{
	static struct rr_chunked cr;
	struct rr_frames f;
	const uint8_t *msg;
	size_t len;
	long total = 0;
	struct err e;
	int rc;

	rr_frames_init(&f, p, n, RR_CHUNKED_READ_LIMIT);
	while ((rc = rr_frames_next(&f, &msg, &len, &e)) == 1) {
		if (rr_decode_chunked(&cr, msg, len, &e) == -1)
			return -1;
		for (size_t i = 0; i < cr.nseries; i++) {
			struct rr_chunked_series *cs = &cr.series[i];

			if (st != NULL)
				rr_stream_series(st, cr.query_index, &cs->labels);
			for (size_t j = 0; j < cs->nchunks; j++) {
				if (st != NULL)
					rr_stream_chunk(st, cs->chunks[j].mint,
					    cs->chunks[j].maxt, cs->chunks[j].type,
					    cs->chunks[j].data, cs->chunks[j].len);
				total++;
			}
			if (st != NULL)
				rr_stream_flush(st);
		}
	}
	return rc == 0 ? total : -1;
}

static void
stream(const uint8_t *data, size_t size)
{
	struct buf out = { 0 };
	struct rr_stream st;
	long n;

	rr_stream_init(&st, &out, 100);
	n = count_chunks(data, size, &st);
	rr_stream_free(&st);
	if (n >= 0 && count_chunks(out.p, out.len, NULL) != n)
		abort();
	buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	request(data, size);
	response(data, size);
	stream(data, size);
	return 0;
}
