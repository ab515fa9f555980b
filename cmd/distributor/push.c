/*
 * push — Cortex's distributor push (pkg/distributor Push): the tenant, the
 * body, the validation of every series (invalid ones are dropped, the first
 * text is the answer), the tenant's rate limit over what is left, then each
 * series to its replicas; the push is answered once every ingester
 * answered, 200 when every series reached its quorum.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/clock.h"
#include "lib/base/log.h"
#include "lib/base/xmalloc.h"
#include "lib/dist/replicate.h"
#include "lib/rw/push_http.h"
#include "cmd/distributor/distributor.h"

/* A push waiting for its ingesters. */
struct push {
	struct daemon		*d;
	struct httpd_req	*req;
	char			*tenant;
	struct repl		 repl;
	struct buf		 invalid;	/* the first validation text, if any */
	int64_t			*sent_ms;	/* per batch */
};

/* One batch's answer comes back with these. */
struct batch_call {
	struct push		*p;
	size_t			 i;
};

const struct ring *
current_ring(struct daemon *d)
{
	struct ring *r = ring_watcher_take(d->watcher, d->ring_status, sizeof(d->ring_status));

	if (r != NULL) {
		ring_free(d->ring);
		d->ring = r;
	}
	return d->ring;
}

static void
finish(struct push *p)
{
	struct daemon *d = p->d;
	struct buf msg = { 0 };
	int status = repl_result(&p->repl, &msg);

	if (status == 200 && p->invalid.len > 0)
		httpd_reply_text(p->req, 400, "%.*s", (int)p->invalid.len,
		    (const char *)p->invalid.p);
	else if (status == 200)
		httpd_reply(p->req, 200, NULL, NULL, 0);
	else
		httpd_reply_text(p->req, status, "%.*s", (int)msg.len, (const char *)msg.p);
	buf_free(&msg);
	buf_free(&p->invalid);
	repl_free(&p->repl);
	free(p->sent_ms);
	free(p->tenant);
	free(p);
	d->inflight--;
}

static void
on_batch(void *arg, int status, const void *body, size_t n)
{
	struct batch_call *c = arg;
	struct push *p = c->p;
	struct daemon *d = p->d;
	const struct repl_batch *b = &p->repl.b[c->i];
	char code[8];

	snprintf(code, sizeof(code), "%d", status);
	metric_observe(metric_with(d->f_client_duration, b->id, "/api/v1/push", code),
	    (double)(clock_mono_ms() - p->sent_ms[c->i]) / 1000);
	metric_inc(metric_with(d->f_appends, b->id, "samples"));
	if (status < 200 || status >= 300) {
		metric_inc(metric_with(d->f_append_failures, b->id,
		    status / 100 == 4 ? "4xx" : "5xx", "samples"));
		log_debug("ingester push failed", "ingester=%s status=%d", log_q(b->id), status);
	}
	repl_answer(&p->repl, c->i, status, body, n);
	free(c);
	if (p->repl.pending == 0)
		finish(p);
}

/* Validate every series; keep[i] set for those to send. Returns the samples kept. */
static size_t
validate(struct daemon *d, const char *tenant, uint8_t *keep, struct buf *first)
{
	struct rw_request *rq = &d->rq;
	int64_t now = clock_wall_ms();
	size_t kept = 0;

	for (size_t i = 0; i < rq->nseries; i++) {
		struct rw_series *s = &rq->series[i];
		int rc;

		buf_reset(&d->msg);
		rc = rw_validate_series(s, &d->limits, now, &d->msg);
		keep[i] = rc == RW_SERIES_OK && s->nsamples > 0;
		if (rc == RW_SERIES_INVALID) {
			metric_add(metric_with(d->f_discarded, rw_discard_reason(&d->msg), tenant),
			    (double)s->nsamples);
			if (first->len == 0)
				buf_put_bytes(first, d->msg.p, d->msg.len);
		}
		if (keep[i])
			kept += s->nsamples;
	}
	for (size_t i = 0; i < rq->nmetadata; i++) {
		buf_reset(&d->msg);
		if (rw_validate_metadata(&rq->metadata[i], &d->limits, &d->msg) == -1 &&
		    first->len == 0)
			buf_put_bytes(first, d->msg.p, d->msg.len);
	}
	return kept;
}

static void
send_batches(struct daemon *d, struct push *p)
{
	p->sent_ms = xcalloc(p->repl.nb + 1, sizeof(*p->sent_ms));
	d->inflight++;
	for (size_t i = 0; i < p->repl.nb; i++) {
		struct batch_call *c = xmalloc(sizeof(*c));

		c->p = p;
		c->i = i;
		p->sent_ms[i] = clock_mono_ms();
		pusher_push(d->pusher, p->repl.b[i].addr, p->tenant, p->repl.b[i].body.p,
		    p->repl.b[i].body.len, on_batch, c);
	}
}

static void
on_push(struct httpd_req *r, void *arg)
{
	struct daemon *d = arg;
	const struct ring *ring;
	struct push *p;
	uint8_t *keep;
	size_t idlen, kept;
	const char *id;
	struct err e;

	if (d->stopping) {
		httpd_reply_text(r, 503, "distributor is shutting down");
		return;
	}
	if ((id = rw_push_tenant(r, d->o.auth_enabled, &idlen)) == NULL)
		return;
	buf_reset(&d->msg);
	if (tenant_validate_msg(id, idlen, &d->msg) == -1) {
		httpd_reply_text(r, 400, "%.*s", (int)d->msg.len, (const char *)d->msg.p);
		return;
	}
	if (rw_push_read(r, (size_t)d->o.max_recv, &d->raw, &d->rq) == -1)
		return;
	metric_inc(metric_with(d->f_requests, id));
	metric_add(metric_with(d->f_samples_in, id), (double)d->rq.nsamples);
	metric_observe(d->series_per_request, (double)d->rq.nseries);
	buf_reset(&d->msg);
	if (rw_validate_request(&d->rq, &d->msg) == -1) {
		httpd_reply_text(r, 400, "%.*s", (int)d->msg.len, (const char *)d->msg.p);
		return;
	}
	p = xcalloc(1, sizeof(*p));
	p->d = d;
	p->req = r;
	p->tenant = xstrdup(id);
	keep = xcalloc(d->rq.nseries + 1, 1);
	kept = validate(d, p->tenant, keep, &p->invalid);
	if (kept > 0 && !limiter_allow(d->limiter, p->tenant, (double)kept, clock_mono_ms())) {
		metric_add(metric_with(d->f_discarded, "rate_limited", p->tenant), (double)kept);
		httpd_reply_text(r, 429, "ingestion rate limit (%s) exceeded while adding %zu "
		    "samples and %zu metadata", d->o.rate_limit_text, kept, d->rq.nmetadata);
		goto drop;
	}
	ring = current_ring(d);
	if (kept > 0 && ring == NULL) {
		httpd_reply_text(r, 500, "the ring is not available: %s", d->ring_status);
		goto drop;
	}
	if (kept > 0 && repl_build(&p->repl, ring, d->o.extend_writes ? RING_OP_WRITE :
	    RING_OP_WRITE_NO_EXTEND, d->o.shard_by_all_labels, p->tenant, &d->rq, keep,
	    clock_wall_ms(), &e) == -1) {
		httpd_reply_text(r, 500, "%s", e.msg);
		goto drop;
	}
	free(keep);
	metric_add(metric_with(d->f_received, p->tenant), (double)kept);
	if (p->repl.nb == 0) {
		d->inflight++;
		finish(p);
		return;
	}
	send_batches(d, p);
	return;
drop:
	free(keep);
	buf_free(&p->invalid);
	free(p->tenant);
	free(p);
}

void
push_routes(struct daemon *d)
{
	httpd_route(d->httpd, "/api/v1/push", "api_v1_push", HTTPD_POST, on_push, d);
	httpd_route(d->httpd, "/api/prom/push", "api_prom_push", HTTPD_POST, on_push, d);
}

void
push_free(struct daemon *d)
{
	rw_request_free(&d->rq);
	buf_free(&d->raw);
	buf_free(&d->msg);
}
