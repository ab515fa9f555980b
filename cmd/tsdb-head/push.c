/*
 * push — Cortex's remote-write endpoints, POST /api/v1/push and the legacy
 * /api/prom/push: check the headers as Cortex v1.21's push handler does,
 * snappy-decode and protobuf-decode into buffers reused from request to
 * request (no allocation per sample), hand the request to the tenant, and
 * answer once the records are in the WAL: at once after write(2) with
 * -blocks-storage.tsdb.wal-fsync-interval > 0, else after an fdatasync
 * shared by every push handled in the same pass of the event loop.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "lib/base/clock.h"
#include "lib/base/log.h"
#include "lib/base/xmalloc.h"
#include "lib/rw/push_http.h"
#include "lib/rw/validate.h"
#include "cmd/tsdb-head/tsdb-head.h"

static void	defer(struct daemon *, struct httpd_req *, struct tenant *, int, const struct buf *);
static void	commit_cb(evutil_socket_t, short, void *);
static void	on_push(struct httpd_req *, void *);

static void
on_push(struct httpd_req *r, void *arg)
{
	struct daemon *d = arg;
	size_t idlen;
	const char *id;
	struct tenant *t;
	struct err e;
	int invalid;

	if (d->stopping) {
		httpd_reply_text(r, 503, "ingester is shutting down");
		return;
	}
	if (!d->ready) {
		httpd_reply_text(r, 503, "ingester not ready: replaying the WAL");
		return;
	}
	if ((id = rw_push_tenant(r, d->o.auth_enabled, &idlen)) == NULL ||
	    rw_push_read(r, (size_t)d->o.max_recv, &d->raw, &d->rq) == -1)
		return;
	t = tenants_get(d->tenants, id, idlen, 1, &invalid, &e);
	if (t == NULL) {
		/*
		 * Cortex answers an invalid ID with 500, which makes Prometheus
		 * retry forever; it is the sender's fault, so 400.
		 */
		if (invalid)
			httpd_reply_text(r, 400, "%s", e.msg);
		else {
			log_error("cannot open tenant", "user=%s err=%s", log_q(id), log_q(e.msg));
			httpd_reply_text(r, 500, "cannot open the TSDB of this tenant: %s", e.msg);
		}
		return;
	}
	tenant_push(t, &d->rq, clock_wall_ms(), &d->res);
	if (d->res.status == 500) {
		httpd_reply_text(r, 500, "%.*s", (int)d->res.msg.len, (const char *)d->res.msg.p);
		return;
	}
	if (d->o.wal_fsync_interval > 0 || !tenant_dirty(t)) {
		if (d->res.status == 200)
			httpd_reply(r, 200, NULL, NULL, 0);
		else
			httpd_reply_text(r, d->res.status, "%.*s", (int)d->res.msg.len,
			    (const char *)d->res.msg.p);
		return;
	}
	defer(d, r, t, d->res.status, &d->res.msg);
}

/* Answer after the next fsync of t's WAL; the fsync runs once this loop pass is done. */
static void
defer(struct daemon *d, struct httpd_req *r, struct tenant *t, int status,
    const struct buf *msg)
{
	struct pending *p;

	if (d->npend == d->pendcap) {
		d->pendcap = d->pendcap ? d->pendcap * 2 : 64;
		d->pend = xreallocarray(d->pend, d->pendcap, sizeof(*d->pend));
	}
	p = &d->pend[d->npend++];
	p->req = r;
	p->tenant = t;
	p->status = status;
	p->body = NULL;
	if (status != 200) {
		p->body = xmalloc(msg->len + 1);
		memcpy(p->body, msg->p, msg->len);
		p->body[msg->len] = '\0';
	}
	if (d->npend == 1)
		event_active(d->commit_ev, EV_TIMEOUT, 0);
}

static void
commit_cb(evutil_socket_t fd, short what, void *arg)
{
	push_commit(arg);
}

void
push_commit(struct daemon *d)
{
	struct err e;

	for (size_t i = 0; i < d->npend; i++) {
		struct pending *p = &d->pend[i];

		/* Already failed with an earlier push of its tenant. */
		if (p->status == 500)
			continue;
		/* tenant_sync is a no-op once the tenant is clean: one fsync per tenant. */
		if (tenant_sync(p->tenant, &e) == -1) {
			free(p->body);
			xasprintf(&p->body, "user=%s: WAL fsync failed: %s", tenant_id(p->tenant),
			    e.msg);
			p->status = 500;
			/* The other pushes of this tenant share the failure. */
			for (size_t k = i + 1; k < d->npend; k++)
				if (d->pend[k].tenant == p->tenant && d->pend[k].status != 500) {
					free(d->pend[k].body);
					d->pend[k].body = xstrdup(p->body);
					d->pend[k].status = 500;
				}
		}
	}
	for (size_t i = 0; i < d->npend; i++) {
		struct pending *p = &d->pend[i];

		if (p->status == 200)
			httpd_reply(p->req, 200, NULL, NULL, 0);
		else
			httpd_reply_text(p->req, p->status, "%s", p->body);
		free(p->body);
	}
	d->npend = 0;
}

void
push_fsync_tick(int fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct err e;

	for (size_t i = 0; i < tenants_count(d->tenants); i++) {
		struct tenant *t = tenants_at(d->tenants, i);

		if (tenant_dirty(t) && tenant_sync(t, &e) == -1)
			log_error("WAL fsync failed", "user=%s err=%s", log_q(tenant_id(t)),
			    log_q(e.msg));
	}
}

void
push_routes(struct daemon *d)
{
	d->commit_ev = event_new(d->base, -1, 0, commit_cb, d);
	httpd_route(d->httpd, "/api/v1/push", "api_v1_push", HTTPD_POST, on_push, d);
	httpd_route(d->httpd, "/api/prom/push", "api_prom_push", HTTPD_POST, on_push, d);
}

void
push_free(struct daemon *d)
{
	if (d->commit_ev != NULL)
		event_free(d->commit_ev);
	free(d->pend);
	buf_free(&d->raw);
	rw_request_free(&d->rq);
	tenant_push_result_free(&d->res);
}
