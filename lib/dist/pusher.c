/*
 * pusher — one evhttp_connection per slot; libevent queues requests on a
 * connection and reconnects it when the peer closed it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "lib/base/hostport.h"
#include "lib/base/xmalloc.h"
#include "lib/dist/pusher.h"

struct target {
	char			*addr;
	struct evhttp_connection **conns;
	unsigned		 next;
};

struct pusher {
	struct event_base	*base;
	int64_t			 timeout_ms;
	int			 nconns;
	struct target		*t;
	size_t			 nt;
};

struct call {
	pusher_done		*done;
	void			*arg;
	char			 addr[300];
};

struct pusher *
pusher_new(struct event_base *base, int64_t timeout_ms, int conns_per_addr)
{
	struct pusher *p = xcalloc(1, sizeof(*p));

	p->base = base;
	p->timeout_ms = timeout_ms;
	p->nconns = conns_per_addr > 0 ? conns_per_addr : 1;
	return p;
}

void
pusher_free(struct pusher *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->nt; i++) {
		for (int k = 0; k < p->nconns; k++)
			if (p->t[i].conns[k] != NULL)
				evhttp_connection_free(p->t[i].conns[k]);
		free(p->t[i].conns);
		free(p->t[i].addr);
	}
	free(p->t);
	free(p);
}

static struct evhttp_connection *
conn_for(struct pusher *p, const char *addr)
{
	struct target *t = NULL;
	struct evhttp_connection **c;
	char host[256];
	int port;

	for (size_t i = 0; i < p->nt && t == NULL; i++)
		if (strcmp(p->t[i].addr, addr) == 0)
			t = &p->t[i];
	if (t == NULL) {
		p->t = xreallocarray(p->t, p->nt + 1, sizeof(*p->t));
		t = &p->t[p->nt++];
		t->addr = xstrdup(addr);
		t->conns = xcalloc((size_t)p->nconns, sizeof(*t->conns));
		t->next = 0;
	}
	c = &t->conns[t->next++ % (unsigned)p->nconns];
	if (*c == NULL) {
		if (hostport_parse(addr, host, sizeof(host), -1, &port) == -1)
			return NULL;
		if ((*c = evhttp_connection_base_new(p->base, NULL, host, (uint16_t)port)) == NULL)
			return NULL;
		evhttp_connection_set_timeout_tv(*c, &(struct timeval){ p->timeout_ms / 1000,
		    (p->timeout_ms % 1000) * 1000 });
		evhttp_connection_set_retries(*c, 0);
	}
	return *c;
}

static void
on_answer(struct evhttp_request *req, void *arg)
{
	struct call *c = arg;
	struct evbuffer *in;
	char msg[400];
	size_t n;

	if (req == NULL || evhttp_request_get_response_code(req) == 0) {
		n = (size_t)snprintf(msg, sizeof(msg), "%s: no answer (connection refused, "
		    "reset or timed out)", c->addr);
		c->done(c->arg, 0, msg, n);
		free(c);
		return;
	}
	in = evhttp_request_get_input_buffer(req);
	n = evbuffer_get_length(in);
	c->done(c->arg, evhttp_request_get_response_code(req), evbuffer_pullup(in, -1), n);
	free(c);
}

void
pusher_push(struct pusher *p, const char *addr, const char *tenant, const void *body,
    size_t n, pusher_done *done, void *arg)
{
	struct evhttp_connection *conn = conn_for(p, addr);
	struct evhttp_request *req;
	struct evkeyvalq *h;
	struct call *c;
	char msg[400];
	int len;

	if (conn == NULL) {
		len = snprintf(msg, sizeof(msg), "%s: not a host:port address", addr);
		done(arg, 0, msg, (size_t)len);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->done = done;
	c->arg = arg;
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	req = evhttp_request_new(on_answer, c);
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", addr);
	evhttp_add_header(h, "Content-Type", "application/x-protobuf");
	evhttp_add_header(h, "Content-Encoding", "snappy");
	evhttp_add_header(h, "X-Prometheus-Remote-Write-Version", "0.1.0");
	evhttp_add_header(h, "X-Scope-OrgID", tenant);
	evbuffer_add(evhttp_request_get_output_buffer(req), body, n);
	if (evhttp_make_request(conn, req, EVHTTP_REQ_POST, "/api/v1/push") == -1) {
		/* libevent freed req and will not call back. */
		len = snprintf(msg, sizeof(msg), "%s: cannot send the request", addr);
		free(c);
		done(arg, 0, msg, (size_t)len);
	}
}
