/*
 * read — Prometheus remote read over a tenant's head and local blocks,
 * answered as Prometheus 2.42's read handler does: SAMPLES as a snappy
 * ReadResponse with one QueryResult per query, STREAMED_XOR_CHUNKS as
 * CRC-framed ChunkedReadResponse messages in a chunked reply. A tenant
 * that never pushed has no series. Bad requests, matchers and regular
 * expressions answer 400 (Cortex's remote read answers 400 for every
 * error of the request).
 */
#include <stdlib.h>
#include <string.h>

#include "lib/base/log.h"
#include "lib/base/xmalloc.h"
#include "lib/tsdb/matcher.h"
#include "lib/rw/push_http.h"
#include "cmd/tsdb-head/tsdb-head.h"

/* --storage.remote.read-sample-limit's default. */
#define READ_SAMPLE_LIMIT	50000000
/* Frames are handed to the connection in pieces of about this size. */
#define READ_CHUNK		(1 << 20)

static int	make_matchers(const struct rr_query *, struct matcher **, struct err *);
static int	answer_samples(struct daemon *, struct tenant *, struct err *, int *);
static int	answer_chunks(struct daemon *, struct tenant *, struct err *);
static void	on_read(struct httpd_req *, void *);

static int
make_matchers(const struct rr_query *q, struct matcher **out, struct err *e)
{
	struct matcher *ms = xcalloc(q->nmatchers + 1, sizeof(*ms));
	enum match_type type;

	for (size_t i = 0; i < q->nmatchers; i++) {
		const struct rr_matcher *m = &q->matchers[i];
		char *name;

		switch (m->type) {
		case RR_MATCH_EQ:
			type = MATCH_EQ;
			break;
		case RR_MATCH_NEQ:
			type = MATCH_NE;
			break;
		case RR_MATCH_RE:
			type = MATCH_RE;
			break;
		case RR_MATCH_NRE:
			type = MATCH_NRE;
			break;
		default:
			matchers_free(ms, i);
			return err_set(e, "invalid matcher type");
		}
		name = xmalloc(m->name.len + 1);
		memcpy(name, m->name.p, m->name.len);
		name[m->name.len] = '\0';
		if (matcher_init(&ms[i], type, name, m->value.p != NULL ? m->value.p : "",
		    m->value.len, e) == -1) {
			free(name);
			matchers_free(ms, i);
			return -1;
		}
		free(name);
	}
	*out = ms;
	return 0;
}

/* One QueryResult per query into d->out; *limit set when the sample limit was hit. */
static int
answer_samples(struct daemon *d, struct tenant *t, struct err *e, int *limit)
{
	uint64_t total = 0;

	*limit = 0;
	for (size_t i = 0; i < d->rr.nqueries; i++) {
		const struct rr_query *q = &d->rr.queries[i];
		struct tenant_query *tq = NULL;
		const struct labels *ls;
		struct matcher *ms;
		size_t mark = rr_result_open(&d->out);
		int r = 0;

		if (t != NULL) {
			if (make_matchers(q, &ms, e) == -1)
				return -1;
			tq = tenant_query_open(t, ms, q->nmatchers, q->start_ms, q->end_ms, e);
			if (tq == NULL) {
				matchers_free(ms, q->nmatchers);
				return -1;
			}
			while ((r = tenant_query_next(tq, &ls, e)) == 1) {
				size_t before = d->out.len, sm = rw_series_open(&d->out, ls);
				uint64_t n = 0;
				int64_t ts;
				uint64_t v;

				while ((r = tenant_query_sample(tq, &ts, &v, e)) == 1) {
					rw_series_sample(&d->out, ts, v);
					n++;
				}
				if (r == -1)
					break;
				/* A series with chunks in the range but no sample in it is left out. */
				if (n == 0) {
					d->out.len = before;
					continue;
				}
				rw_series_close(&d->out, sm);
				if ((total += n) > READ_SAMPLE_LIMIT) {
					*limit = 1;
					r = -1;
					err_set(e, RR_ERR_SAMPLE_LIMIT, READ_SAMPLE_LIMIT);
					break;
				}
			}
			tenant_query_close(tq);
			matchers_free(ms, q->nmatchers);
			if (r == -1)
				return -1;
		}
		rr_result_close(&d->out, mark);
	}
	return 0;
}

/* The frames of every query into d->out. */
static int
answer_chunks(struct daemon *d, struct tenant *t, struct err *e)
{
	struct rr_stream st;
	int rc = 0;

	rr_stream_init(&st, &d->out, RR_MAX_BYTES_IN_FRAME);
	for (size_t i = 0; t != NULL && i < d->rr.nqueries && rc == 0; i++) {
		const struct rr_query *q = &d->rr.queries[i];
		struct tenant_query *tq;
		const struct labels *ls;
		struct matcher *ms;
		int r;

		if (make_matchers(q, &ms, e) == -1) {
			rc = -1;
			break;
		}
		if ((tq = tenant_query_open(t, ms, q->nmatchers, q->start_ms, q->end_ms, e)) == NULL) {
			matchers_free(ms, q->nmatchers);
			rc = -1;
			break;
		}
		while ((r = tenant_query_next(tq, &ls, e)) == 1) {
			const struct chunk *c;
			size_t n;

			if (tenant_query_chunks(tq, &c, &n, e) == -1) {
				r = -1;
				break;
			}
			if (n == 0)
				continue;
			rr_stream_series(&st, (int64_t)i, ls);
			for (size_t k = 0; k < n; k++)
				rr_stream_chunk(&st, c[k].mint, c[k].maxt, RR_CHUNK_XOR, c[k].data,
				    c[k].len);
			rr_stream_flush(&st);
		}
		if (r == -1)
			rc = -1;
		tenant_query_close(tq);
		matchers_free(ms, q->nmatchers);
	}
	rr_stream_flush(&st);
	rr_stream_free(&st);
	return rc;
}

static void
on_read(struct httpd_req *r, void *arg)
{
	struct daemon *d = arg;
	const uint8_t *body;
	const char *id;
	size_t n, idlen;
	struct tenant *t;
	struct err e;
	int32_t type;
	int invalid, limit;

	if (!d->ready) {
		httpd_reply_text(r, 503, "ingester not ready: replaying the WAL");
		return;
	}
	if ((id = rw_push_tenant(r, d->o.auth_enabled, &idlen)) == NULL)
		return;
	body = httpd_req_body(r, &n);
	if (n > RR_DECODE_READ_LIMIT) {
		httpd_reply_text(r, 413, "received message larger than max (%zu vs %d)", n,
		    RR_DECODE_READ_LIMIT);
		return;
	}
	if (rw_snappy_decode(body, n, (size_t)d->o.max_recv, &d->rraw, &e) == -1 ||
	    rr_decode_request(&d->rr, d->rraw.p, d->rraw.len, &e) == -1 ||
	    rr_negotiate(&d->rr, &type, &e) == -1) {
		httpd_reply_text(r, 400, "%s", e.msg);
		return;
	}
	t = tenants_get(d->tenants, id, idlen, 0, &invalid, &e);
	if (invalid) {
		httpd_reply_text(r, 400, "%s", e.msg);
		return;
	}
	buf_reset(&d->out);
	if (type == RR_SAMPLES) {
		if (answer_samples(d, t, &e, &limit) == -1) {
			httpd_reply_text(r, 400, "%s", e.msg);
			return;
		}
		buf_reset(&d->body);
		rw_snappy_encode(d->out.p, d->out.len, &d->body);
		httpd_reply_header(r, "Content-Encoding", "snappy");
		httpd_reply(r, 200, "application/x-protobuf", d->body.p, d->body.len);
		return;
	}
	if (answer_chunks(d, t, &e) == -1) {
		httpd_reply_text(r, 400, "%s", e.msg);
		return;
	}
	httpd_reply_start(r, 200,
	    "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse");
	for (size_t off = 0; off < d->out.len; off += READ_CHUNK)
		httpd_reply_chunk(r, d->out.p + off,
		    d->out.len - off < READ_CHUNK ? d->out.len - off : READ_CHUNK);
	httpd_reply_end(r);
}

void
read_routes(struct daemon *d)
{
	httpd_route(d->httpd, "/api/v1/read", "api_v1_read", HTTPD_POST, on_read, d);
	httpd_route(d->httpd, "/api/prom/api/v1/read", "api_prom_api_v1_read", HTTPD_POST,
	    on_read, d);
	httpd_route(d->httpd, "/prometheus/api/v1/read", "prometheus_api_v1_read", HTTPD_POST,
	    on_read, d);
}

void
read_free(struct daemon *d)
{
	buf_free(&d->rraw);
	rr_request_free(&d->rr);
	buf_free(&d->out);
	buf_free(&d->body);
}
