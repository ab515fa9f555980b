#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/err.h"
#include "lib/base/xmalloc.h"
#include "lib/rw/pbwire.h"
#include "lib/rw/remote_read.h"
#include "lib/rw/remote_write.h"
#include "lib/tsdb/crc32c.h"
#include "lib/tsdb/encoding.h"

static void	*grow(void *, size_t *, size_t, size_t);
static int	 matcher_decode(struct pb_reader *, struct rr_matcher *,
		    struct err *);
static int	 hints_decode(struct rr_request *, struct pb_reader *,
		    struct rr_hints *, struct err *);
static int	 query_decode(struct rr_request *, struct pb_reader *,
		    struct rr_query *, struct err *);
static void	 accepted_push(void *, uint64_t);
static void	 put_str(struct buf *, uint32_t, struct str);
static void	 put_int(struct buf *, uint32_t, int64_t);
static void	 query_encode(struct buf *, const struct rr_query *);
static size_t	 str_field_size(size_t);
static void	 stream_emit(struct rr_stream *);
static int	 result_decode(struct rr_response *, struct pb_reader *,
		    struct err *);
static int	 chunk_decode(struct pb_reader *, struct rr_chunk *,
		    struct err *);
static int	 cseries_decode(struct rr_chunked *, struct pb_reader *,
		    struct err *);
static int	 request_decode(struct rr_request *, const void *, size_t,
		    struct err *);
static int	 response_decode(struct rr_response *, const void *, size_t,
		    struct err *);
static int	 chunked_decode(struct rr_chunked *, const void *, size_t,
		    struct err *);

static void *
grow(void *p, size_t *cap, size_t len, size_t sz)
{
	if (len < *cap)
		return p;
	*cap = *cap == 0 ? 16 : *cap * 2;
	return xreallocarray(p, *cap, sz);
}

static int
matcher_decode(struct pb_reader *r, struct rr_matcher *m, struct err *e)
{
	struct pb_reader s;
	uint64_t v;

	m->type = 0;
	m->name = m->value = (struct str){ "", 0 };
	while (pb_more(r)) {
		if (pb_next(r, e) == -1)
			return -1;
		switch (r->field) {
		case 1:
			if (pb_get_varint(r, "type", &v, e) == -1)
				return -1;
			m->type = (int32_t)(uint32_t)v;
			break;
		case 2:
		case 3:
			if (pb_get_bytes(r, r->field == 2 ? "name" : "value", &s,
			    e) == -1)
				return -1;
			*(r->field == 2 ? &m->name : &m->value) =
			    (struct str){ (const char *)s.p, pb_left(&s) };
			break;
		default:
			if (pb_skip_field(r, e) == -1)
				return -1;
		}
	}
	return 0;
}

/* Hints sent twice merge, as gogo's Unmarshal into the existing message does. */
static int
hints_decode(struct rr_request *rq, struct pb_reader *r, struct rr_hints *h,
    struct err *e)
{
	static const char *names[] = { "step_ms", "func", "start_ms", "end_ms",
	    "grouping", "by", "range_ms" };
	int64_t *ints[] = { &h->step_ms, NULL, &h->start_ms, &h->end_ms, NULL,
	    NULL, &h->range_ms };
	struct pb_reader s;
	uint64_t v;

	while (pb_more(r)) {
		if (pb_next(r, e) == -1)
			return -1;
		if (r->field > 7) {
			if (pb_skip_field(r, e) == -1)
				return -1;
			continue;
		}
		if (r->field == 2 || r->field == 5) {
			if (pb_get_bytes(r, names[r->field - 1], &s, e) == -1)
				return -1;
			if (r->field == 2) {
				h->func = (struct str){ (const char *)s.p,
				    pb_left(&s) };
				continue;
			}
			rq->gpool = grow(rq->gpool, &rq->gpool_cap,
			    rq->gpool_len, sizeof(*rq->gpool));
			rq->gpool[rq->gpool_len++] = (struct str){
			    (const char *)s.p, pb_left(&s) };
			h->ngrouping++;
			continue;
		}
		if (pb_get_varint(r, names[r->field - 1], &v, e) == -1)
			return -1;
		if (r->field == 6)
			h->by = v != 0;
		else
			*ints[r->field - 1] = (int64_t)v;
	}
	return 0;
}

static int
query_decode(struct rr_request *rq, struct pb_reader *r, struct rr_query *q,
    struct err *e)
{
	struct pb_reader s;
	uint64_t v;

	while (pb_more(r)) {
		if (pb_next(r, e) == -1)
			return -1;
		switch (r->field) {
		case 1:
		case 2:
			if (pb_get_varint(r, r->field == 1 ? "start_timestamp_ms" :
			    "end_timestamp_ms", &v, e) == -1)
				return -1;
			*(r->field == 1 ? &q->start_ms : &q->end_ms) =
			    (int64_t)v;
			break;
		case 3:
			if (pb_get_bytes(r, "matchers", &s, e) == -1)
				return -1;
			rq->mpool = grow(rq->mpool, &rq->mpool_cap,
			    rq->mpool_len, sizeof(*rq->mpool));
			if (matcher_decode(&s, &rq->mpool[rq->mpool_len],
			    e) == -1)
				return err_wrap(e, "matcher %zu", q->nmatchers);
			rq->mpool_len++;
			q->nmatchers++;
			break;
		case 4:
			if (pb_get_bytes(r, "hints", &s, e) == -1)
				return -1;
			q->has_hints = 1;
			if (hints_decode(rq, &s, &q->hints, e) == -1)
				return err_wrap(e, "hints");
			break;
		default:
			if (pb_skip_field(r, e) == -1)
				return -1;
		}
	}
	return 0;
}

/* accepted_response_types, one value. */
static void
accepted_push(void *arg, uint64_t v)
{
	struct rr_request *rq = arg;

	rq->accepted = grow(rq->accepted, &rq->accepted_cap, rq->naccepted,
	    sizeof(*rq->accepted));
	rq->accepted[rq->naccepted++] = (int32_t)(uint32_t)v;
}

static int
request_decode(struct rr_request *rq, const void *p, size_t n, struct err *e)
{
	struct pb_reader r, s;
	struct rr_query *q;

	pb_reader_init(&r, p, n);
	while (pb_more(&r)) {
		if (pb_next(&r, e) == -1)
			return err_wrap(e, "proto");
		if (r.field == 2) {
			if (pb_get_repeated_varint(&r, "accepted_response_types", accepted_push, rq,
			    e) == -1)
				return err_wrap(e, "proto: accepted_response_types");
			continue;
		}
		if (r.field != 1) {
			if (pb_skip_field(&r, e) == -1)
				return err_wrap(e, "proto");
			continue;
		}
		if (pb_get_bytes(&r, "queries", &s, e) == -1)
			return err_wrap(e, "proto");
		rq->queries = grow(rq->queries, &rq->queries_cap, rq->nqueries,
		    sizeof(*rq->queries));
		q = &rq->queries[rq->nqueries];
		memset(q, 0, sizeof(*q));
		q->hints.func = (struct str){ "", 0 };
		q->m_off = rq->mpool_len;
		q->g_off = rq->gpool_len;
		if (query_decode(rq, &s, q, e) == -1)
			return err_wrap(e, "proto: query %zu", rq->nqueries);
		rq->nqueries++;
	}
	for (size_t i = 0; i < rq->nqueries; i++) {
		q = &rq->queries[i];
		q->matchers = q->nmatchers ? rq->mpool + q->m_off : NULL;
		q->hints.grouping = q->hints.ngrouping ? rq->gpool + q->g_off :
		    NULL;
	}
	return 0;
}

int
rr_decode_request(struct rr_request *rq, const void *p, size_t n,
    struct err *e)
{
	int rc;

	rq->nqueries = rq->naccepted = rq->mpool_len = rq->gpool_len = 0;
	if ((rc = request_decode(rq, p, n, e)) == -1)
		rq->nqueries = rq->naccepted = 0;
	return rc;
}

void
rr_request_free(struct rr_request *rq)
{
	free(rq->queries);
	free(rq->accepted);
	free(rq->mpool);
	free(rq->gpool);
	memset(rq, 0, sizeof(*rq));
}

static void
put_str(struct buf *b, uint32_t field, struct str s)
{
	if (s.len > 0)
		pb_put_bytes(b, field, s.p, s.len);
}

static void
put_int(struct buf *b, uint32_t field, int64_t v)
{
	if (v != 0)
		pb_put_varint(b, field, (uint64_t)v);
}

static void
query_encode(struct buf *b, const struct rr_query *q)
{
	const struct rr_hints *h = &q->hints;
	size_t mark = pb_open(b, 1), m;

	put_int(b, 1, q->start_ms);
	put_int(b, 2, q->end_ms);
	for (size_t i = 0; i < q->nmatchers; i++) {
		m = pb_open(b, 3);
		put_int(b, 1, q->matchers[i].type);
		put_str(b, 2, q->matchers[i].name);
		put_str(b, 3, q->matchers[i].value);
		pb_close(b, m);
	}
	if (q->has_hints) {
		m = pb_open(b, 4);
		put_int(b, 1, h->step_ms);
		put_str(b, 2, h->func);
		put_int(b, 3, h->start_ms);
		put_int(b, 4, h->end_ms);
		/* Repeated strings are written even when empty. */
		for (size_t i = 0; i < h->ngrouping; i++)
			pb_put_bytes(b, 5, h->grouping[i].p, h->grouping[i].len);
		if (h->by)
			pb_put_varint(b, 6, 1);
		put_int(b, 7, h->range_ms);
		pb_close(b, m);
	}
	pb_close(b, mark);
}

void
rr_encode_request(struct buf *b, const struct rr_request *rq)
{
	size_t mark;

	for (size_t i = 0; i < rq->nqueries; i++)
		query_encode(b, &rq->queries[i]);
	if (rq->naccepted == 0)
		return;
	mark = pb_open(b, 2);
	for (size_t i = 0; i < rq->naccepted; i++)
		buf_put_uvarint(b, (uint64_t)(int64_t)rq->accepted[i]);
	pb_close(b, mark);
}

int
rr_negotiate(const struct rr_request *rq, int32_t *type, struct err *e)
{
	char list[400];
	size_t len = 0;

	if (rq->naccepted == 0) {
		*type = RR_SAMPLES;
		return 0;
	}
	for (size_t i = 0; i < rq->naccepted; i++) {
		if (rq->accepted[i] == RR_SAMPLES ||
		    rq->accepted[i] == RR_STREAMED_XOR_CHUNKS) {
			*type = rq->accepted[i];
			return 0;
		}
	}
	/* Go's %v of the list: unknown enum values print as numbers. */
	for (size_t i = 0; i < rq->naccepted && len < sizeof(list) - 16; i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%d",
		    i ? " " : "", (int)rq->accepted[i]);
	return err_set(e, "server does not support any of the requested "
	    "response types: [%s]; supported: map[SAMPLES:{} "
	    "STREAMED_XOR_CHUNKS:{}]", list);
}

size_t
rr_result_open(struct buf *b)
{
	return pb_open(b, 1);
}

void
rr_result_close(struct buf *b, size_t mark)
{
	pb_close(b, mark);
}

static int
result_decode(struct rr_response *rs, struct pb_reader *r, struct err *e)
{
	struct pb_reader s;
	size_t nth = 0;

	while (pb_more(r)) {
		if (pb_next(r, e) == -1)
			return -1;
		if (r->field != 1) {
			if (pb_skip_field(r, e) == -1)
				return -1;
			continue;
		}
		if (pb_get_bytes(r, "timeseries", &s, e) == -1)
			return -1;
		if (rw_decode_series(&rs->ts, s.p, pb_left(&s), e) == -1)
			return err_wrap(e, "timeseries %zu", nth);
		nth++;
	}
	return 0;
}

static int
response_decode(struct rr_response *rs, const void *p, size_t n,
    struct err *e)
{
	struct pb_reader r, s;

	pb_reader_init(&r, p, n);
	while (pb_more(&r)) {
		if (pb_next(&r, e) == -1)
			return err_wrap(e, "proto");
		if (r.field != 1) {
			if (pb_skip_field(&r, e) == -1)
				return err_wrap(e, "proto");
			continue;
		}
		if (pb_get_bytes(&r, "results", &s, e) == -1)
			return err_wrap(e, "proto");
		rs->first = grow(rs->first, &rs->first_cap, rs->nresults,
		    sizeof(*rs->first));
		rs->first[rs->nresults] = rs->ts.nseries;
		if (result_decode(rs, &s, e) == -1)
			return err_wrap(e, "proto: result %zu", rs->nresults);
		rs->nresults++;
	}
	rw_request_finish(&rs->ts);
	return 0;
}

int
rr_decode_response(struct rr_response *rs, const void *p, size_t n,
    struct err *e)
{
	int rc;

	rw_request_reset(&rs->ts);
	rs->nresults = 0;
	if ((rc = response_decode(rs, p, n, e)) == -1) {
		rw_request_reset(&rs->ts);
		rs->nresults = 0;
	}
	return rc;
}

size_t
rr_response_nseries(const struct rr_response *rs, size_t i)
{
	size_t end = i + 1 < rs->nresults ? rs->first[i + 1] : rs->ts.nseries;

	return end - rs->first[i];
}

void
rr_response_free(struct rr_response *rs)
{
	rw_request_free(&rs->ts);
	free(rs->first);
	memset(rs, 0, sizeof(*rs));
}

/* The encoded size of a non-empty string field's contents, tag included. */
static size_t
str_field_size(size_t n)
{
	return n == 0 ? 0 : 1 + pb_varint_size(n) + n;
}

void
rr_stream_init(struct rr_stream *s, struct buf *out, size_t max_bytes)
{
	memset(s, 0, sizeof(*s));
	s->out = out;
	s->max_bytes = (int64_t)max_bytes;
	s->budget = s->left = s->max_bytes;
}

void
rr_stream_free(struct rr_stream *s)
{
	buf_free(&s->body);
}

/* Write body as one frame: ChunkedReadResponse{ chunked_series: [body], query_index }. */
static void
stream_emit(struct rr_stream *s)
{
	uint8_t head[1 + 10], tail[1 + 10];
	size_t hn, tn = 0, msglen;
	uint32_t crc;

	head[0] = 0x0a;
	hn = 1 + uvarint_put(head + 1, s->body.len);
	if (s->query_index != 0) {
		tail[0] = 0x10;
		tn = 1 + uvarint_put(tail + 1, (uint64_t)s->query_index);
	}
	msglen = hn + s->body.len + tn;
	crc = crc32c(0, head, hn);
	crc = crc32c(crc, s->body.p, s->body.len);
	crc = crc32c(crc, tail, tn);
	buf_put_uvarint(s->out, msglen);
	buf_put_be32(s->out, crc);
	buf_put_bytes(s->out, head, hn);
	buf_put_bytes(s->out, s->body.p, s->body.len);
	buf_put_bytes(s->out, tail, tn);
	s->body.len = s->labels_len;
	s->left = s->budget;
	s->pending = 0;
	s->nframes++;
}

void
rr_stream_series(struct rr_stream *s, int64_t query_index,
    const struct labels *ls)
{
	size_t m;

	rr_stream_flush(s);
	buf_reset(&s->body);
	s->query_index = query_index;
	s->budget = s->max_bytes;
	for (size_t i = 0; i < ls->n; i++) {
		const struct label *l = &ls->v[i];

		m = pb_open(&s->body, 1);
		put_str(&s->body, 1, l->name);
		put_str(&s->body, 2, l->value);
		pb_close(&s->body, m);
		s->budget -= (int64_t)(str_field_size(l->name.len) +
		    str_field_size(l->value.len));
	}
	s->labels_len = s->body.len;
	s->left = s->budget;
}

void
rr_stream_chunk(struct rr_stream *s, int64_t mint, int64_t maxt, int32_t type,
    const void *data, size_t n)
{
	size_t m = pb_open(&s->body, 2), size;

	put_int(&s->body, 1, mint);
	put_int(&s->body, 2, maxt);
	put_int(&s->body, 3, type);
	if (n > 0)
		pb_put_bytes(&s->body, 4, data, n);
	size = s->body.len - m - 1;
	pb_close(&s->body, m);
	s->pending++;
	s->left -= (int64_t)size;
	if (s->left <= 0)
		stream_emit(s);
}

void
rr_stream_flush(struct rr_stream *s)
{
	if (s->pending > 0)
		stream_emit(s);
}

void
rr_frames_init(struct rr_frames *f, const void *p, size_t n, size_t limit)
{
	f->p = p;
	f->left = n;
	f->limit = limit;
}

int
rr_frames_next(struct rr_frames *f, const uint8_t **msg, size_t *n,
    struct err *e)
{
	uint64_t size;
	size_t k;

	if (f->left == 0)
		return 0;
	if ((k = uvarint_get(f->p, f->left, &size)) == 0) {
		if (f->left >= 10)
			return err_set(e, "binary: varint overflows a 64-bit integer");
		return err_set(e, "unexpected EOF");
	}
	if (size > f->limit)
		return err_set(e, "chunkedReader: message size exceeded the limit "
		    "%zu bytes; got: %llu bytes", f->limit,
		    (unsigned long long)size);
	if (f->left - k < 4 || size > f->left - k - 4)
		return err_set(e, "unexpected EOF");
	if (crc32c(0, f->p + k + 4, size) != be32_get(f->p + k))
		return err_set(e, "chunkedReader: corrupted frame; checksum "
		    "mismatch");
	*msg = f->p + k + 4;
	*n = size;
	f->p += k + 4 + size;
	f->left -= k + 4 + size;
	return 1;
}

static int
chunk_decode(struct pb_reader *r, struct rr_chunk *c, struct err *e)
{
	static const char *names[] = { "min_time_ms", "max_time_ms", "type" };
	struct pb_reader s;
	uint64_t v;

	memset(c, 0, sizeof(*c));
	while (pb_more(r)) {
		if (pb_next(r, e) == -1)
			return -1;
		if (r->field > 4) {
			if (pb_skip_field(r, e) == -1)
				return -1;
			continue;
		}
		if (r->field == 4) {
			if (pb_get_bytes(r, "data", &s, e) == -1)
				return -1;
			c->data = s.p;
			c->len = pb_left(&s);
			continue;
		}
		if (pb_get_varint(r, names[r->field - 1], &v, e) == -1)
			return -1;
		if (r->field == 1)
			c->mint = (int64_t)v;
		else if (r->field == 2)
			c->maxt = (int64_t)v;
		else
			c->type = (int32_t)(uint32_t)v;
	}
	return 0;
}

static int
cseries_decode(struct rr_chunked *cr, struct pb_reader *r, struct err *e)
{
	struct rr_chunked_series *cs = &cr->series[cr->nseries];
	struct pb_reader s;

	memset(cs, 0, sizeof(*cs));
	cs->lab_off = cr->lpool_len;
	cs->chk_off = cr->cpool_len;
	while (pb_more(r)) {
		if (pb_next(r, e) == -1)
			return -1;
		if (r->field > 2) {
			if (pb_skip_field(r, e) == -1)
				return -1;
			continue;
		}
		if (pb_get_bytes(r, r->field == 1 ? "labels" : "chunks", &s,
		    e) == -1)
			return -1;
		if (r->field == 1) {
			cr->lpool = grow(cr->lpool, &cr->lpool_cap,
			    cr->lpool_len, sizeof(*cr->lpool));
			if (rw_decode_label(s.p, pb_left(&s),
			    &cr->lpool[cr->lpool_len], e) == -1)
				return err_wrap(e, "label %zu", cs->labels.n);
			cr->lpool_len++;
			cs->labels.n++;
			continue;
		}
		cr->cpool = grow(cr->cpool, &cr->cpool_cap, cr->cpool_len,
		    sizeof(*cr->cpool));
		if (chunk_decode(&s, &cr->cpool[cr->cpool_len], e) == -1)
			return err_wrap(e, "chunk %zu", cs->nchunks);
		cr->cpool_len++;
		cs->nchunks++;
	}
	return 0;
}

static int
chunked_decode(struct rr_chunked *cr, const void *p, size_t n, struct err *e)
{
	struct pb_reader r, s;
	uint64_t v;

	pb_reader_init(&r, p, n);
	while (pb_more(&r)) {
		if (pb_next(&r, e) == -1)
			return err_wrap(e, "proto");
		if (r.field == 2) {
			if (pb_get_varint(&r, "query_index", &v, e) == -1)
				return err_wrap(e, "proto");
			cr->query_index = (int64_t)v;
			continue;
		}
		if (r.field != 1) {
			if (pb_skip_field(&r, e) == -1)
				return err_wrap(e, "proto");
			continue;
		}
		if (pb_get_bytes(&r, "chunked_series", &s, e) == -1)
			return err_wrap(e, "proto");
		cr->series = grow(cr->series, &cr->series_cap, cr->nseries,
		    sizeof(*cr->series));
		if (cseries_decode(cr, &s, e) == -1)
			return err_wrap(e, "proto: chunked_series %zu",
			    cr->nseries);
		cr->nseries++;
	}
	for (size_t i = 0; i < cr->nseries; i++) {
		struct rr_chunked_series *cs = &cr->series[i];

		cs->labels.v = cs->labels.n ? cr->lpool + cs->lab_off : NULL;
		cs->chunks = cs->nchunks ? cr->cpool + cs->chk_off : NULL;
	}
	return 0;
}

int
rr_decode_chunked(struct rr_chunked *cr, const void *p, size_t n,
    struct err *e)
{
	int rc;

	cr->nseries = cr->lpool_len = cr->cpool_len = 0;
	cr->query_index = 0;
	if ((rc = chunked_decode(cr, p, n, e)) == -1)
		cr->nseries = 0;
	return rc;
}

void
rr_chunked_free(struct rr_chunked *cr)
{
	free(cr->series);
	free(cr->lpool);
	free(cr->cpool);
	memset(cr, 0, sizeof(*cr));
}
