/*
 * etcd — the KV backend on a real etcd v3 (dskit kv/etcd), through etcd's
 * JSON gateway over HTTP/1.1 with libevent's client (over TLS with
 * -ring.etcd.tls-*), on an event_base of the handle's own: every call runs
 * that loop until its reply is in.
 *
 * The value at a key is the ring codec's bytes (snappy of the ring.Desc
 * protobuf), the same bytes Cortex/dskit keep there. CAS: range-get the key
 * and remember its version (0 when absent), call the callback, then a txn
 * "version(key) == remembered → put"; a failed compare starts over after a
 * short random pause, up to max_retries times. Watch: a range get of the key or prefix, its values
 * delivered first, then an etcd watch from that revision + 1, so no change
 * falls in between; a stream that ends quietly (idle timeout, etcd closing
 * it) is reopened from the revision after the last event seen.
 *
 * Endpoints are tried in order, moving on when one cannot be reached.
 * Errors name the endpoint and what failed; a value that does not decode
 * names its key.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "lib/base/hostport.h"
#include "lib/base/log.h"
#include "lib/base/tls.h"
#include "lib/base/xmalloc.h"
#include "lib/kv/backend.h"
#include "lib/kv/etcd_json.h"

#define DEFAULT_DIAL_MS		10000
#define DEFAULT_RETRIES		10
/* A reply must come this long after the connection is up. */
#define REQUEST_TIMEOUT_MS	10000
/* A watch stream silent this long is closed and reopened where it stopped. */
#define WATCH_IDLE_MS		60000
#define MAX_REPLY		(256u << 20)
/* The longest pause between CAS attempts grows from this, doubling (up to 32x). */
#define CAS_BACKOFF_MS		10

struct endpoint {
	char	*host;
	int	 port;
	char	*name;		/* "host:port", for messages and the Host header */
};

/* One request/reply in flight. */
struct call {
	int		 timed_out;	/* first: see note_timeout */
	int		 done;
	int		 code;		/* HTTP status, 0 when none came */
	struct buf	 body;
};

struct wevent {
	char		*key;
	uint8_t		*value;
	size_t		 vlen;
	int		 deleted;
};

struct watch {
	int		 timed_out;	/* first: see note_timeout */
	char		*key;
	int		 prefix;
	const struct endpoint *ep;
	struct evhttp_connection *conn;
	int64_t		 next_rev;	/* where a reopened stream starts */
	int		 code;		/* HTTP status of the stream */
	int		 created;	/* etcd confirmed the watch */
	int		 ended;		/* the stream ended without an error: reopen it */
	int		 broken;	/* err says why */
	struct err	 err;
	struct etcd_stream s;
	struct wevent	*q;		/* events not yet taken by next */
	size_t		 qhead, qlen, qcap;
};

struct etcd {
	struct kv_backend base;
	struct event_base *ev;
	struct endpoint	*eps;
	size_t		 neps, cur;
	struct evhttp_connection *conn;	/* to eps[cur] */
	int64_t		 dial_ms, req_ms;
	int		 max_retries;
	char		*user, *password, *token;
	struct tls_client *tls;		/* NULL: plain HTTP */
	struct watch	*w;
};

/* ---- the loop ---- */

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	*(int *)arg = 1;
}

static struct timeval
ms_tv(int64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000 * 1000) };

	return tv;
}

/* Runs the loop until one of the flags is set, or ms pass; 1 when a flag is set. */
static int
run_until(struct etcd *h, const int *a, const int *b, const int *c, int64_t ms)
{
	int fired = 0;
	struct event *t = evtimer_new(h->ev, on_timer, &fired);
	struct timeval tv = ms_tv(ms);

	evtimer_add(t, &tv);
	while (!*a && !*b && !*c && !fired)
		event_base_loop(h->ev, EVLOOP_ONCE);
	event_free(t);
	return *a || *b || *c;
}

/* Waits ms with the loop running (a watch keeps reading). */
static void
pause_ms(struct etcd *h, int64_t ms)
{
	int never = 0;

	if (ms > 0)
		run_until(h, &never, &never, &never, ms);
}

static int
conn_up(struct evhttp_connection *conn)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(conn);
	evutil_socket_t fd = bev != NULL ? bufferevent_getfd(bev) : -1;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	return fd >= 0 && getpeername(fd, (struct sockaddr *)&ss, &len) == 0;
}

/*
 * libevent reports a failed connect only as "no reply": connect once more
 * ourselves to say why ("connection refused", an unknown host, a timeout).
 */
static void
probe(const struct endpoint *ep, int64_t ms, char *out, size_t outsz)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	char port[16];
	int fd, rc, soerr = 0;
	socklen_t len = sizeof(soerr);

	snprintf(port, sizeof(port), "%d", ep->port);
	if ((rc = getaddrinfo(ep->host, port, &hints, &res)) != 0) {
		snprintf(out, outsz, "cannot resolve %s: %s", ep->host, gai_strerror(rc));
		return;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		soerr = errno;
	} else if (connect(fd, res->ai_addr, res->ai_addrlen) == -1) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };

		soerr = errno;
		if (soerr == EINPROGRESS) {
			soerr = 0;
			if ((rc = poll(&p, 1, ms > INT32_MAX ? INT32_MAX : (int)ms)) == 0)
				soerr = ETIMEDOUT;
			else if (rc == -1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
				soerr = errno;
		}
	}
	if (fd != -1)
		close(fd);
	freeaddrinfo(res);
	if (soerr == ETIMEDOUT)
		snprintf(out, outsz, "connect timeout after %lld ms", (long long)ms);
	else if (soerr != 0)
		snprintf(out, outsz, "%s", strerror(soerr));
	else
		snprintf(out, outsz, "connection closed before a reply");
	if (out[0] >= 'A' && out[0] <= 'Z' && out[1] >= 'a' && out[1] <= 'z')
		out[0] = (char)(out[0] - 'A' + 'a');
}

/* Why conn to ep brought no reply: its failed TLS handshake, else what probe finds. */
static void
no_reply_reason(struct etcd *h, struct evhttp_connection *conn, const struct endpoint *ep,
    char *out, size_t outsz)
{
	if (h->tls != NULL) {
		tls_client_error(evhttp_connection_get_bufferevent(conn), out, outsz);
		if (*out != '\0')
			return;
	}
	probe(ep, h->dial_ms, out, outsz);
}

static void
take_input(struct evhttp_request *req, struct buf *b, size_t max)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);

	if (n > max - b->len)
		n = max - b->len;
	buf_reserve(b, n + 1);
	b->len += (size_t)evbuffer_remove(in, b->p + b->len, n);
	evbuffer_drain(in, evbuffer_get_length(in));
}

static struct evhttp_request *
new_request(struct etcd *h, const struct endpoint *ep, void (*cb)(struct evhttp_request *, void *),
    void (*errcb)(enum evhttp_request_error, void *), void *arg, const char *body)
{
	struct evhttp_request *req = evhttp_request_new(cb, arg);
	struct evkeyvalq *hd = evhttp_request_get_output_headers(req);

	evhttp_request_set_error_cb(req, errcb);
	evhttp_add_header(hd, "Host", ep->name);
	evhttp_add_header(hd, "Content-Type", "application/json");
	if (h->token != NULL)
		evhttp_add_header(hd, "Authorization", h->token);
	evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
	return req;
}

static struct evhttp_connection *
new_conn(struct etcd *h, const struct endpoint *ep, int64_t timeout_ms)
{
	struct evhttp_connection *c;
	struct timeval tv = ms_tv(timeout_ms);

	if (h->tls != NULL) {
		struct bufferevent *bev = tls_client_bufferevent(h->tls, h->ev, ep->host);

		c = bev == NULL ? NULL :
		    evhttp_connection_base_bufferevent_new(h->ev, NULL, bev, ep->host,
		    (uint16_t)ep->port);
	} else {
		c = evhttp_connection_base_new(h->ev, NULL, ep->host, (uint16_t)ep->port);
	}
	if (c != NULL)
		evhttp_connection_set_timeout_tv(c, &tv);
	return c;
}

/* ---- requests ---- */

static void
call_done(struct evhttp_request *req, void *arg)
{
	struct call *c = arg;

	c->done = 1;
	if (req == NULL)
		return;
	c->code = evhttp_request_get_response_code(req);
	if (c->code != 0)
		take_input(req, &c->body, MAX_REPLY);
}

/* The error callback of calls and watches: both start with int timed_out. */
static void
note_timeout(enum evhttp_request_error err, void *arg)
{
	if (err == EVREQ_HTTP_TIMEOUT)
		*(int *)arg = 1;
}

static void
free_conn(struct evhttp_connection **c)
{
	if (*c != NULL)
		evhttp_connection_free(*c);	/* frees its requests, no callbacks */
	*c = NULL;
}

/*
 * One POST to eps[cur]: 0 with the reply of an HTTP 200; -1 with e after
 * another status (*code etcd's gRPC code, -1 if none); -2 with e when no
 * reply came (the next endpoint may do better).
 */
static int
call_once(struct etcd *h, const char *path, const char *body, struct buf *reply, int *code,
    struct err *e)
{
	const struct endpoint *ep = &h->eps[h->cur];
	struct call c = { 0 };
	struct evhttp_request *req;
	char why[256], msg[300];
	int never = 0;

	*code = -1;
	if (h->conn == NULL) {
		if ((h->conn = new_conn(h, ep, h->req_ms)) == NULL) {
			err_set(e, "etcd %s: cannot set up a connection", ep->name);
			return -2;
		}
		evhttp_connection_set_max_body_size(h->conn, MAX_REPLY);
	}
	req = new_request(h, ep, call_done, note_timeout, &c, body);
	if (evhttp_make_request(h->conn, req, EVHTTP_REQ_POST, path) == -1) {
		free_conn(&h->conn);
		err_set(e, "etcd %s: %s: cannot send the request", ep->name, path);
		return -2;
	}
	if (!run_until(h, &c.done, &never, &never, h->dial_ms) && !conn_up(h->conn)) {
		free_conn(&h->conn);
		err_set(e, "etcd %s: connect timeout after %lld ms", ep->name, (long long)h->dial_ms);
		return -2;
	}
	if (!c.done && !run_until(h, &c.done, &never, &never, h->req_ms)) {
		free_conn(&h->conn);
		err_set(e, "etcd %s: %s: no reply within %lld ms", ep->name, path,
		    (long long)h->req_ms);
		return -2;
	}
	if (c.code == 0) {
		if (c.timed_out)
			snprintf(why, sizeof(why), "%s: no reply within %lld ms", path,
			    (long long)h->req_ms);
		else
			no_reply_reason(h, h->conn, ep, why, sizeof(why));
		free_conn(&h->conn);
		err_set(e, "etcd %s: %s", ep->name, why);
		return -2;
	}
	/*
	 * libevent reconnects a closed keep-alive connection on the same
	 * bufferevent, which a used TLS session cannot do: one per request.
	 */
	if (h->tls != NULL)
		free_conn(&h->conn);
	if (c.code != 200) {
		etcd_decode_error(c.body.p, c.body.len, code, msg, sizeof(msg));
		buf_free(&c.body);
		return err_set(e, "etcd %s: %s: HTTP %d: %s", ep->name, path, c.code, msg);
	}
	*reply = c.body;
	return 0;
}

static int	authenticate(struct etcd *, struct err *);

/* Adds "; msg" (or msg) to dst, cut to its size. */
static void
append_msg(char *dst, size_t size, const char *msg)
{
	size_t n = strlen(dst);

	if (n > 0 && n + 2 < size) {
		memcpy(dst + n, "; ", 2);
		n += 2;
	}
	while (*msg && n + 1 < size)
		dst[n++] = *msg++;
	dst[n] = '\0';
}

/* A POST to the first endpoint that answers; with a token when a user is set. */
static int
etcd_call(struct etcd *h, const char *path, const char *body, struct buf *reply, int noauth,
    struct err *e)
{
	char msgs[sizeof(e->msg)] = "";
	int reauthed = 0, code, rc;
	size_t tried = 0;

	if (!noauth && h->user != NULL && h->token == NULL && authenticate(h, e) == -1)
		return -1;
	while (tried < h->neps) {
		rc = call_once(h, path, body, reply, &code, e);
		if (rc == 0)
			return 0;
		if (rc == -1) {
			/* 16 Unauthenticated: the token expired (etcd's simple tokens do). */
			if (code == 16 && !noauth && h->user != NULL && !reauthed) {
				reauthed = 1;
				free(h->token);
				h->token = NULL;
				if (authenticate(h, e) == -1)
					return -1;
				continue;
			}
			return -1;
		}
		append_msg(msgs, sizeof(msgs), e->msg);
		h->cur = (h->cur + 1) % h->neps;
		tried++;
	}
	return err_set(e, "%s", msgs);
}

static int
authenticate(struct etcd *h, struct err *e)
{
	char *body = etcd_auth_body(h->user, h->password ? h->password : "");
	struct buf reply = { 0 };
	int rc;

	rc = etcd_call(h, "/v3/auth/authenticate", body, &reply, 1, e);
	free(body);
	if (rc == -1)
		return err_wrap(e, "etcd: authenticate as %s", h->user);
	rc = etcd_decode_auth(reply.p, reply.len, &h->token, e);
	buf_free(&reply);
	if (rc == -1)
		return err_wrap(e, "etcd %s", h->eps[h->cur].name);
	return 0;
}

/* Range-get the key, or every key under it. */
static int
range(struct etcd *h, const char *key, int prefix, struct etcd_msg *m, struct err *e)
{
	char *body = etcd_range_body(key, prefix);
	struct buf reply = { 0 };
	int rc;

	rc = etcd_call(h, "/v3/kv/range", body, &reply, 0, e);
	free(body);
	if (rc == -1)
		return -1;
	rc = etcd_decode_range(reply.p, reply.len, m, e);
	buf_free(&reply);
	if (rc == -1)
		return err_wrap(e, "etcd %s: key %s", h->eps[h->cur].name, key);
	for (size_t i = 0; i < m->nkvs; i++)
		if (!etcd_key_matches(key, prefix, m->kvs[i].key)) {
			err_set(e, "etcd %s: key %s: the reply holds key %s", h->eps[h->cur].name,
			    key, m->kvs[i].key);
			etcd_msg_free(m);
			return -1;
		}
	if (!prefix && m->nkvs > 1) {
		err_set(e, "etcd %s: key %s: %zu values in the reply", h->eps[h->cur].name, key,
		    m->nkvs);
		etcd_msg_free(m);
		return -1;
	}
	return 0;
}

static int
decode_value(const char *key, const uint8_t *p, size_t n, struct ring_desc *d, struct err *e)
{
	if (ring_desc_decode(d, p, n, e) == -1)
		return err_wrap(e, "etcd: key %s", key);
	return 0;
}

/* ---- get, CAS ---- */

static int
etcd_get(struct kv_backend *b, const char *key, struct ring_desc *d, struct err *e)
{
	struct etcd *h = (struct etcd *)b;
	struct etcd_msg m;
	int rc;

	ring_desc_init(d);
	if (range(h, key, 0, &m, e) == -1)
		return -1;
	rc = m.nkvs == 0 ? 0 : decode_value(key, m.kvs[0].value, m.kvs[0].vlen, d, e) == -1 ? -1 : 1;
	etcd_msg_free(&m);
	return rc;
}

static int
etcd_cas(struct kv_backend *b, const char *key, kv_cas_fn fn, void *arg, struct err *e)
{
	struct etcd *h = (struct etcd *)b;

	for (int attempt = 0; attempt < h->max_retries; attempt++) {
		struct etcd_msg m;
		struct ring_desc d;
		struct buf val = { 0 }, reply = { 0 };
		int64_t version = 0;
		int found, rc;
		char *body;

		if (range(h, key, 0, &m, e) == -1)
			return -1;
		ring_desc_init(&d);
		found = m.nkvs == 1;
		if (found) {
			version = m.kvs[0].version;
			if (decode_value(key, m.kvs[0].value, m.kvs[0].vlen, &d, e) == -1) {
				etcd_msg_free(&m);
				return -1;
			}
		}
		etcd_msg_free(&m);
		rc = fn(&d, found, arg, e);
		if (rc != 1) {
			ring_desc_free(&d);
			return rc == 0 ? 0 : -1;
		}
		ring_desc_encode(&d, &val);
		ring_desc_free(&d);
		body = etcd_txn_put_body(key, version, val.p, val.len);
		buf_free(&val);
		rc = etcd_call(h, "/v3/kv/txn", body, &reply, 0, e);
		free(body);
		if (rc == -1)
			return err_wrap(e, "etcd: CAS %s", key);
		rc = etcd_decode_txn(reply.p, reply.len, &m, e);
		buf_free(&reply);
		if (rc == -1)
			return err_wrap(e, "etcd %s: CAS %s", h->eps[h->cur].name, key);
		if (m.succeeded)
			return 0;
		/*
		 * The key changed since the read: read it again, after a random
		 * pause so that writers in step do not keep colliding (dskit's
		 * Consul client does the same; its etcd client retries at once).
		 */
		if (attempt + 1 < h->max_retries)
			pause_ms(h, arc4random_uniform(
			    (uint32_t)CAS_BACKOFF_MS << (attempt < 5 ? attempt : 5)));
	}
	return err_set(e, "etcd: CAS %s: the key changed under each of %d attempts", key,
	    h->max_retries);
}

/* dskit's etcd client: a plain DeleteRange; etcd answers 200 whether the key was there or not. */
static int
etcd_delete(struct kv_backend *b, const char *key, struct err *e)
{
	struct etcd *h = (struct etcd *)b;
	char *body = etcd_range_body(key, 0);
	struct buf reply = { 0 };
	int rc;

	rc = etcd_call(h, "/v3/kv/deleterange", body, &reply, 0, e);
	free(body);
	buf_free(&reply);
	return rc == -1 ? err_wrap(e, "etcd: delete %s", key) : 0;
}

/* ---- watch ---- */

static void
watch_push(struct watch *w, struct etcd_kv *kv)
{
	struct wevent *x;

	if (w->qhead > 0 && w->qhead == w->qlen)
		w->qhead = w->qlen = 0;
	if (w->qlen == w->qcap) {
		w->qcap = w->qcap ? 2 * w->qcap : 16;
		w->q = xreallocarray(w->q, w->qcap, sizeof(*w->q));
	}
	x = &w->q[w->qlen++];
	x->key = kv->key;
	x->value = kv->value;
	x->vlen = kv->vlen;
	x->deleted = kv->deleted;
	kv->key = NULL;
	kv->value = NULL;
	kv->vlen = 0;
}

static void
watch_break(struct watch *w, const char *detail)
{
	if (w->broken)
		return;
	w->broken = 1;
	err_set(&w->err, "etcd %s: watch %s%s: %s", w->ep->name, w->key, w->prefix ? "*" : "",
	    detail);
}

/* Whole lines of the stream: events queued, "created" noted, errors break the watch. */
static void
watch_process(struct watch *w)
{
	const char *p;
	size_t n;
	char why[sizeof(w->err.msg)];

	while (!w->broken && etcd_stream_line(&w->s, &p, &n) == 1) {
		struct etcd_msg m;
		struct err e;

		if (etcd_decode_watch(p, n, &m, &e) == -1) {
			watch_break(w, e.msg);
			return;
		}
		if (m.created)
			w->created = 1;
		for (size_t i = 0; i < m.nkvs; i++) {
			if (!etcd_key_matches(w->key, w->prefix, m.kvs[i].key)) {
				snprintf(why, sizeof(why), "an event for key %s", m.kvs[i].key);
				watch_break(w, why);
				break;
			}
			if (m.kvs[i].mod_revision >= w->next_rev)
				w->next_rev = m.kvs[i].mod_revision + 1;
			watch_push(w, &m.kvs[i]);
		}
		if (m.canceled) {
			if (m.compact_revision > 0)
				snprintf(why, sizeof(why), "canceled, history compacted up to revision "
				    "%lld%s%s", (long long)m.compact_revision, m.reason[0] ? ": " : "",
				    m.reason);
			else
				snprintf(why, sizeof(why), "canceled%s%s", m.reason[0] ? ": " : "",
				    m.reason);
			watch_break(w, why);
		}
		etcd_msg_free(&m);
	}
}

static void
watch_chunk(struct evhttp_request *req, void *arg)
{
	struct watch *w = arg;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	uint8_t tmp[16384];
	int r;
	struct err e;

	w->code = evhttp_request_get_response_code(req);
	while ((r = evbuffer_remove(in, tmp, sizeof(tmp))) > 0) {
		if (w->broken)
			continue;
		if (etcd_stream_feed(&w->s, tmp, (size_t)r, &e) == -1)
			watch_break(w, e.msg);
	}
	if (w->code == 200)
		watch_process(w);
}

static void
watch_done(struct evhttp_request *req, void *arg)
{
	struct watch *w = arg;
	char msg[300], why[400];
	int code;

	if (req != NULL && (w->code = evhttp_request_get_response_code(req)) != 0) {
		watch_chunk(req, w);
		if (w->code != 200) {
			etcd_decode_error(w->s.b.p + w->s.off, w->s.b.len - w->s.off, &code, msg,
			    sizeof(msg));
			snprintf(why, sizeof(why), "HTTP %d: %s", w->code, msg);
			watch_break(w, why);
		}
	}
	w->ended = 1;
}

static void
watch_free(struct watch *w)
{
	if (w == NULL)
		return;
	free_conn(&w->conn);
	for (size_t i = w->qhead; i < w->qlen; i++) {
		free(w->q[i].key);
		free(w->q[i].value);
	}
	free(w->q);
	etcd_stream_free(&w->s);
	free(w->key);
	free(w);
}

/* Opens the stream from next_rev on the first endpoint that confirms it. */
static int
watch_open(struct etcd *h, struct watch *w, struct err *e)
{
	char msgs[sizeof(e->msg)] = "", why[256], one[400];

	for (size_t tried = 0; tried < h->neps; tried++, h->cur = (h->cur + 1) % h->neps) {
		const struct endpoint *ep = &h->eps[h->cur];
		char *body = etcd_watch_body(w->key, w->prefix, w->next_rev);
		struct evhttp_request *req;

		free_conn(&w->conn);
		etcd_stream_free(&w->s);
		w->ep = ep;
		w->code = w->timed_out = w->created = w->ended = w->broken = 0;
		why[0] = '\0';
		/* The idle timeout closes a silent stream, and next reopens it. */
		if ((w->conn = new_conn(h, ep, WATCH_IDLE_MS)) == NULL) {
			free(body);
			snprintf(why, sizeof(why), "cannot set up a connection");
			goto next;
		}
		req = new_request(h, ep, watch_done, note_timeout, w, body);
		free(body);
		evhttp_request_set_chunked_cb(req, watch_chunk);
		if (evhttp_make_request(w->conn, req, EVHTTP_REQ_POST, "/v3/watch") == -1) {
			snprintf(why, sizeof(why), "cannot send the request");
			goto next;
		}
		if (!run_until(h, &w->created, &w->broken, &w->ended, h->dial_ms) &&
		    !conn_up(w->conn)) {
			snprintf(why, sizeof(why), "connect timeout after %lld ms",
			    (long long)h->dial_ms);
			goto next;
		}
		if (!run_until(h, &w->created, &w->broken, &w->ended, h->req_ms)) {
			snprintf(why, sizeof(why), "watch %s: not confirmed within %lld ms", w->key,
			    (long long)h->req_ms);
			goto next;
		}
		if (w->broken) {
			*e = w->err;
			free_conn(&w->conn);
			return -1;
		}
		if (w->created)
			return 0;
		/* Ended without a reply: the endpoint is unreachable. */
		if (w->timed_out)
			snprintf(why, sizeof(why), "watch %s: no reply within %d ms", w->key,
			    WATCH_IDLE_MS);
		else
			no_reply_reason(h, w->conn, ep, why, sizeof(why));
next:
		free_conn(&w->conn);
		snprintf(one, sizeof(one), "etcd %s: %s", ep->name, why);
		append_msg(msgs, sizeof(msgs), one);
	}
	return err_set(e, "%s", msgs);
}

static int
etcd_watch(struct kv_backend *b, const char *key, int prefix, struct err *e)
{
	struct etcd *h = (struct etcd *)b;
	struct watch *w;
	struct etcd_msg m;

	watch_free(h->w);
	h->w = NULL;
	w = xcalloc(1, sizeof(*w));
	w->key = xstrdup(key);
	w->prefix = prefix;
	etcd_stream_init(&w->s, MAX_REPLY);
	if (range(h, key, prefix, &m, e) == -1) {
		watch_free(w);
		return -1;
	}
	for (size_t i = 0; i < m.nkvs; i++)
		watch_push(w, &m.kvs[i]);
	w->next_rev = m.revision + 1;
	etcd_msg_free(&m);
	if (watch_open(h, w, e) == -1) {
		watch_free(w);
		return -1;
	}
	h->w = w;
	return 0;
}

static int
etcd_next(struct kv_backend *b, int timeout_ms, char **key, struct ring_desc *d, struct err *e)
{
	struct etcd *h = (struct etcd *)b;
	struct watch *w = h->w;
	struct event *t = NULL;
	int fired = 0, rc;

	*key = NULL;
	ring_desc_init(d);
	if (w == NULL)
		return err_set(e, "etcd: next without a watch");
	if (timeout_ms >= 0) {
		struct timeval tv = ms_tv(timeout_ms);

		t = evtimer_new(h->ev, on_timer, &fired);
		evtimer_add(t, &tv);
	}
	for (;;) {
		if (w->qhead < w->qlen) {
			struct wevent x = w->q[w->qhead++];

			if (x.deleted || decode_value(x.key, x.value, x.vlen, d, e) == 0) {
				free(x.value);
				*key = x.key;
				rc = 1;
				break;
			}
			/* As dskit: a value that does not decode is logged and skipped. */
			log_warn("etcd watch: skipping a value", "err=%s", log_q(e->msg));
			free(x.key);
			free(x.value);
			continue;
		}
		if (w->broken) {
			*e = w->err;
			rc = -1;
			break;
		}
		if (w->ended) {
			if (watch_open(h, w, e) == -1) {
				w->broken = 1;
				w->err = *e;
				rc = -1;
				break;
			}
			continue;
		}
		if (fired) {
			rc = 0;
			break;
		}
		event_base_loop(h->ev, EVLOOP_ONCE);
	}
	if (t != NULL)
		event_free(t);
	return rc;
}

/* ---- open, close ---- */

static void
etcd_close(struct kv_backend *b)
{
	struct etcd *h = (struct etcd *)b;

	if (h == NULL)
		return;
	watch_free(h->w);
	free_conn(&h->conn);
	if (h->ev != NULL)
		event_base_free(h->ev);
	for (size_t i = 0; i < h->neps; i++) {
		free(h->eps[i].host);
		free(h->eps[i].name);
	}
	free(h->eps);
	free(h->user);
	free(h->password);
	free(h->token);
	tls_client_free(h->tls);
	free(h);
}

static const struct kv_backend_ops etcd_ops = {
	.get = etcd_get,
	.cas = etcd_cas,
	.del = etcd_delete,
	.watch = etcd_watch,
	.next = etcd_next,
	.close = etcd_close,
};

/* "host:port", "[v6]:port", "host" (port 2379), with an optional http:// in front. */
static int
parse_endpoint(const char *s, size_t len, struct endpoint *ep, struct err *e)
{
	char *t = xmemdup(s, len + 1), *hp = t, *end, host[256];
	int p;

	t[len] = '\0';
	if (strncmp(hp, "https://", 8) == 0) {
		err_set(e, "etcd endpoint %s: give host:port, with -ring.etcd.tls-enabled for TLS", t);
		free(t);
		return -1;
	}
	if (strncmp(hp, "http://", 7) == 0)
		hp += 7;
	if ((end = strchr(hp, '/')) != NULL)
		*end = '\0';
	if (hostport_parse(hp, host, sizeof(host), 2379, &p) == -1) {
		err_set(e, "etcd endpoint \"%.*s\": want host:port", (int)len, s);
		free(t);
		return -1;
	}
	ep->host = xstrdup(host);
	ep->port = p;
	xasprintf(&ep->name, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, ep->port);
	free(t);
	return 0;
}

struct kv_backend *
kv_etcd_open(const struct kv_etcd_config *cfg, struct err *e)
{
	struct etcd *h = xcalloc(1, sizeof(*h));
	const char *s = cfg->endpoints ? cfg->endpoints : "";

	h->base.ops = &etcd_ops;
	h->base.name = "etcd";
	while (*s) {
		size_t len = strcspn(s, ",");
		const char *t = s;

		s += len + (s[len] == ',');
		while (len > 0 && (*t == ' ' || *t == '\t'))
			t++, len--;
		while (len > 0 && (t[len - 1] == ' ' || t[len - 1] == '\t'))
			len--;
		if (len == 0)
			continue;
		h->eps = xreallocarray(h->eps, h->neps + 1, sizeof(*h->eps));
		if (parse_endpoint(t, len, &h->eps[h->neps], e) == -1) {
			etcd_close(&h->base);
			return NULL;
		}
		h->neps++;
	}
	if (h->neps == 0) {
		etcd_close(&h->base);
		err_set(e, "etcd: no endpoints");
		return NULL;
	}
	h->dial_ms = cfg->dial_timeout_ms > 0 ? cfg->dial_timeout_ms : DEFAULT_DIAL_MS;
	h->req_ms = h->dial_ms > REQUEST_TIMEOUT_MS ? h->dial_ms : REQUEST_TIMEOUT_MS;
	h->max_retries = cfg->max_retries > 0 ? cfg->max_retries : DEFAULT_RETRIES;
	if (cfg->username != NULL && cfg->username[0] != '\0') {
		h->user = xstrdup(cfg->username);
		h->password = xstrdup(cfg->password ? cfg->password : "");
	}
	if (cfg->tls.enabled && (h->tls = tls_client_new(&cfg->tls, e)) == NULL) {
		etcd_close(&h->base);
		err_wrap(e, "etcd");
		return NULL;
	}
	if ((h->ev = event_base_new()) == NULL) {
		etcd_close(&h->base);
		err_set(e, "etcd: cannot create an event base");
		return NULL;
	}
	return &h->base;
}
