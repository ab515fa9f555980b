#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdarg.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "lib/base/httpd.h"
#include "lib/base/log.h"
#include "lib/base/xmalloc.h"

/* dskit's instrument.DefBuckets, which Cortex's HTTP server uses. */
static const double duration_buckets[] = {
	.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 25, 50, 100,
};

struct route {
	char		*path;
	const char	*name;
	int		 methods;
	httpd_handler	*fn;
	void		*arg;
};

struct httpd {
	struct event_base	*base;
	struct evhttp		*http;
	struct evhttp_bound_socket *sock;
	int			 port;
	struct metric_family	*duration;
	struct route		*routes;
	size_t			 nroutes;
};

struct httpd_req {
	struct httpd		*h;
	struct evhttp_request	*ev;
	const char		*route;
	int			 method;
	int			 code;		/* of a chunked reply */
	struct timespec		 start;
	char			*path;
	int			 params_parsed;
	struct evkeyvalq	 params;
};

static void	dispatch(struct evhttp_request *, void *);
static int	method_of(enum evhttp_cmd_type);
static const char *method_name(int);
static const char *reason(int);
static void	req_done(struct httpd_req *, int);

static int
method_of(enum evhttp_cmd_type t)
{
	switch (t) {
	case EVHTTP_REQ_GET:
		return HTTPD_GET;
	case EVHTTP_REQ_POST:
		return HTTPD_POST;
	case EVHTTP_REQ_PUT:
		return HTTPD_PUT;
	case EVHTTP_REQ_DELETE:
		return HTTPD_DELETE;
	case EVHTTP_REQ_HEAD:
		return HTTPD_HEAD;
	default:
		return 0;
	}
}

static const char *
method_name(int m)
{
	switch (m) {
	case HTTPD_GET:
		return "GET";
	case HTTPD_POST:
		return "POST";
	case HTTPD_PUT:
		return "PUT";
	case HTTPD_DELETE:
		return "DELETE";
	case HTTPD_HEAD:
		return "HEAD";
	default:
		return "OTHER";
	}
}

static const char *
reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 302: return "Found";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Request Entity Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return code < 400 ? "OK" : code < 500 ? "Client Error" : "Server Error";
	}
}

struct httpd *
httpd_create(struct event_base *base, struct metrics *m, size_t max_body)
{
	static const char *const labels[] = { "method", "route", "status_code", "ws", NULL };
	struct httpd *h = xcalloc(1, sizeof(*h));

	h->base = base;
	h->port = -1;
	if ((h->http = evhttp_new(base)) == NULL)
		fatalx("evhttp_new: out of memory");
	evhttp_set_max_body_size(h->http, (ev_ssize_t)max_body);
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS |
	    EVHTTP_REQ_PATCH);
	evhttp_set_gencb(h->http, dispatch, h);
	if (m != NULL)
		h->duration = metrics_family(m, METRIC_HISTOGRAM,
		    "cortex_request_duration_seconds",
		    "Time (in seconds) spent serving HTTP requests.", labels,
		    duration_buckets, sizeof(duration_buckets) / sizeof(duration_buckets[0]));
	return h;
}

int
httpd_bind(struct httpd *h, const char *addr, int port, struct err *e)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	const char *try = *addr != '\0' ? addr : "::";

	h->sock = evhttp_bind_socket_with_handle(h->http, try, (ev_uint16_t)port);
	/* No IPv6 on this host: every IPv4 address then. */
	if (h->sock == NULL && *addr == '\0')
		h->sock = evhttp_bind_socket_with_handle(h->http, "0.0.0.0", (ev_uint16_t)port);
	if (h->sock == NULL)
		return err_errno(e, "listen on %s:%d", *addr ? addr : "*", port);
	if (getsockname(evhttp_bound_socket_get_fd(h->sock), (struct sockaddr *)&ss, &sl) == 0)
		h->port = ss.ss_family == AF_INET6 ?
		    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) :
		    ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

int
httpd_port(const struct httpd *h)
{
	return h->port;
}

void
httpd_route(struct httpd *h, const char *path, const char *route, int methods,
    httpd_handler *fn, void *arg)
{
	h->routes = xreallocarray(h->routes, h->nroutes + 1, sizeof(*h->routes));
	h->routes[h->nroutes++] = (struct route){ xstrdup(path), route, methods, fn, arg };
}

void
httpd_stop_listening(struct httpd *h)
{
	if (h->sock != NULL) {
		evhttp_del_accept_socket(h->http, h->sock);
		h->sock = NULL;
	}
}

void
httpd_free(struct httpd *h)
{
	if (h == NULL)
		return;
	evhttp_free(h->http);
	for (size_t i = 0; i < h->nroutes; i++)
		free(h->routes[i].path);
	free(h->routes);
	free(h);
}

static void
dispatch(struct evhttp_request *ev, void *arg)
{
	struct httpd *h = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
	const char *raw = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	struct httpd_req *r = xcalloc(1, sizeof(*r));
	const struct route *rt = NULL;

	r->h = h;
	r->ev = ev;
	r->method = method_of(evhttp_request_get_command(ev));
	r->route = "other";
	clock_gettime(CLOCK_MONOTONIC, &r->start);
	TAILQ_INIT(&r->params);
	if (raw == NULL || *raw == '\0')
		raw = "/";
	if ((r->path = evhttp_uridecode(raw, 0, NULL)) == NULL)
		r->path = xstrdup(raw);
	for (size_t i = 0; i < h->nroutes; i++)
		if (strcmp(h->routes[i].path, r->path) == 0)
			rt = &h->routes[i];
	if (rt == NULL) {
		httpd_reply_text(r, 404, "404 page not found");
		return;
	}
	r->route = rt->name;
	if ((rt->methods & r->method) == 0) {
		httpd_reply_text(r, 405, "method not allowed");
		return;
	}
	rt->fn(r, rt->arg);
}

int
httpd_req_method(const struct httpd_req *r)
{
	return r->method;
}

const char *
httpd_req_path(const struct httpd_req *r)
{
	return r->path;
}

const char *
httpd_req_header(struct httpd_req *r, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(r->ev), name);
}

const uint8_t *
httpd_req_body(struct httpd_req *r, size_t *n)
{
	struct evbuffer *b = evhttp_request_get_input_buffer(r->ev);

	*n = evbuffer_get_length(b);
	if (*n == 0)
		return (const uint8_t *)"";
	return evbuffer_pullup(b, -1);
}

static void
parse_params(struct httpd_req *r)
{
	const char *q, *ct;
	const uint8_t *body;
	size_t n;
	char *s;

	r->params_parsed = 1;
	q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(r->ev));
	if (q != NULL)
		evhttp_parse_query_str(q, &r->params);
	ct = httpd_req_header(r, "Content-Type");
	if (r->method != HTTPD_POST || ct == NULL ||
	    strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0)
		return;
	body = httpd_req_body(r, &n);
	s = xmalloc(n + 1);
	memcpy(s, body, n);
	s[n] = '\0';
	evhttp_parse_query_str(s, &r->params);
	free(s);
}

size_t
httpd_req_params(struct httpd_req *r, const char *key, const char **out, size_t max)
{
	struct evkeyval *kv;
	size_t n = 0;

	if (!r->params_parsed)
		parse_params(r);
	TAILQ_FOREACH(kv, &r->params, next) {
		if (strcmp(kv->key, key) != 0)
			continue;
		if (n < max)
			out[n] = kv->value;
		n++;
	}
	return n;
}

double
httpd_req_age(const struct httpd_req *r)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - r->start.tv_sec) +
	    (double)(now.tv_nsec - r->start.tv_nsec) / 1e9;
}

struct evhttp_request *
httpd_req_ev(struct httpd_req *r)
{
	return r->ev;
}

/* Time the request into the histogram and free it. */
static void
req_done(struct httpd_req *r, int code)
{
	if (r->h->duration != NULL) {
		char status[16];

		snprintf(status, sizeof(status), "%d", code);
		metric_observe(metric_with(r->h->duration, method_name(r->method), r->route,
		    status, "false"), httpd_req_age(r));
	}
	evhttp_clear_headers(&r->params);
	free(r->path);
	free(r);
}

void
httpd_reply_header(struct httpd_req *r, const char *name, const char *value)
{
	evhttp_add_header(evhttp_request_get_output_headers(r->ev), name, value);
}

void
httpd_reply(struct httpd_req *r, int code, const char *ctype, const void *body, size_t n)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL)
		fatalx("evbuffer_new: out of memory");
	if (ctype != NULL)
		httpd_reply_header(r, "Content-Type", ctype);
	if (n > 0)
		evbuffer_add(b, body, n);
	evhttp_send_reply(r->ev, code, reason(code), b);
	evbuffer_free(b);
	req_done(r, code);
}

void
httpd_reply_text(struct httpd_req *r, int code, const char *fmt, ...)
{
	char *s;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatalx("vasprintf: out of memory");
	httpd_reply_header(r, "X-Content-Type-Options", "nosniff");
	s[n] = '\n';
	httpd_reply(r, code, "text/plain; charset=utf-8", s, (size_t)n + 1);
	free(s);
}

void
httpd_reply_start(struct httpd_req *r, int code, const char *ctype)
{
	if (ctype != NULL)
		httpd_reply_header(r, "Content-Type", ctype);
	evhttp_send_reply_start(r->ev, code, reason(code));
	r->code = code;
}

void
httpd_reply_chunk(struct httpd_req *r, const void *p, size_t n)
{
	struct evbuffer *b;

	if (n == 0)
		return;
	if ((b = evbuffer_new()) == NULL)
		fatalx("evbuffer_new: out of memory");
	evbuffer_add(b, p, n);
	evhttp_send_reply_chunk(r->ev, b);
	evbuffer_free(b);
}

void
httpd_reply_end(struct httpd_req *r)
{
	evhttp_send_reply_end(r->ev);
	req_done(r, r->code);
}

void
httpd_reply_metrics(struct httpd_req *r, struct metrics *m)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp;

	if ((fp = open_memstream(&text, &len)) == NULL) {
		httpd_reply_text(r, 500, "open_memstream: %s", strerror(errno));
		return;
	}
	metrics_write(m, fp);
	fclose(fp);
	httpd_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
	free(text);
}

void
httpd_html_text(FILE *fp, const char *s)
{
	for (; *s != '\0'; s++)
		switch (*s) {
		case '<': fputs("&lt;", fp); break;
		case '>': fputs("&gt;", fp); break;
		case '&': fputs("&amp;", fp); break;
		case '"': fputs("&#34;", fp); break;
		case '\'': fputs("&#39;", fp); break;
		default: fputc(*s, fp);
		}
}
