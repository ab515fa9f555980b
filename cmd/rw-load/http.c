/*
 * A minimal HTTP/1.1 client for one job: POST a remote-write body on a
 * keep-alive connection and read the status and the body of the answer
 * (Content-Length, chunked, or up to the close). Blocking sockets with
 * timeouts: each worker thread owns its connection.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cmd/rw-load/load.h"

#define HEAD_MAX	(64 * 1024)
#define BODY_MAX	(16 * 1024 * 1024)

struct resp {
	int	 status;
	int	 close;		/* the server will close after this answer */
	int	 chunked;
	int64_t	 length;	/* -1: none given */
};

int
http_target_parse(const char *url, struct http_target *t, struct err *e)
{
	struct addrinfo hints, *res;
	const char *p, *host, *slash;
	size_t hl;
	int rc;

	memset(t, 0, sizeof(*t));
	if (strncmp(url, "http://", 7) != 0)
		return err_set(e, "only http:// URLs are supported: %s", url);
	host = url + 7;
	slash = strchr(host, '/');
	hl = slash != NULL ? (size_t)(slash - host) : strlen(host);
	if (hl == 0 || hl >= sizeof(t->host))
		return err_set(e, "bad host in %s", url);
	strlcpy(t->path, slash != NULL ? slash : "/", sizeof(t->path));
	if (host[0] == '[') {
		/* [v6]:port */
		const char *close = memchr(host, ']', hl);

		if (close == NULL)
			return err_set(e, "bad host in %s", url);
		memcpy(t->host, host + 1, (size_t)(close - host - 1));
		p = close + 1;
	} else {
		const char *colon = memchr(host, ':', hl);

		memcpy(t->host, host, colon != NULL ? (size_t)(colon - host) : hl);
		p = colon != NULL ? colon : host + hl;
	}
	if (*p == ':') {
		size_t pl = (size_t)(host + hl - p - 1);

		if (pl == 0 || pl >= sizeof(t->port))
			return err_set(e, "bad port in %s", url);
		memcpy(t->port, p + 1, pl);
	} else
		strlcpy(t->port, "80", sizeof(t->port));
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(t->host, t->port, &hints, &res)) != 0)
		return err_set(e, "%s:%s: %s", t->host, t->port, gai_strerror(rc));
	memcpy(&t->addr, res->ai_addr, res->ai_addrlen);
	t->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

void
http_conn_init(struct http_conn *c, int64_t timeout_ms)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->timeout_ms = timeout_ms;
}

void
http_conn_close(struct http_conn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	buf_reset(&c->in);
}

static int
conn_open(struct http_conn *c, const struct http_target *t, struct err *e)
{
	struct timeval tv;
	int one = 1;

	if ((c->fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return err_errno(e, "socket");
	tv.tv_sec = c->timeout_ms / 1000;
	tv.tv_usec = (c->timeout_ms % 1000) * 1000;
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (const struct sockaddr *)&t->addr, t->addrlen) == -1) {
		err_errno(e, "connect %s:%s", t->host, t->port);
		http_conn_close(c);
		return -1;
	}
	buf_reset(&c->in);
	return 0;
}

static int
send_all(struct http_conn *c, struct iovec *iov, int n, struct err *e)
{
	while (n > 0) {
		ssize_t w = writev(c->fd, iov, n);

		if (w == -1) {
			if (errno == EINTR)
				continue;
			err_errno(e, "send");
			return errno == EPIPE || errno == ECONNRESET ? -2 : -1;
		}
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* Read more into c->in; 0 at EOF, -1 on error. */
static ssize_t
fill(struct http_conn *c, struct err *e)
{
	ssize_t r;

	buf_reserve(&c->in, 16384);
	for (;;) {
		r = read(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len);
		if (r == -1 && errno == EINTR)
			continue;
		break;
	}
	if (r == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return err_set(e, "timeout waiting for the response");
		return err_errno(e, "receive");
	}
	c->in.len += (size_t)r;
	return r;
}

static const uint8_t *
find_crlf(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++)
		if (p[i] == '\r' && p[i + 1] == '\n')
			return p + i;
	return NULL;
}

static const uint8_t *
find_head_end(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 3 < n; i++)
		if (memcmp(p + i, "\r\n\r\n", 4) == 0)
			return p + i + 4;
	return NULL;
}

/* Status line and the headers that decide how the body is framed. */
static int
parse_head(const char *h, size_t n, struct resp *r, struct err *e)
{
	const char *line = h, *end = h + n;
	int minor;

	memset(r, 0, sizeof(*r));
	r->length = -1;
	if (n < 12 || sscanf(h, "HTTP/1.%d %3d", &minor, &r->status) != 2 ||
	    r->status < 100 || r->status > 599)
		return err_set(e, "malformed status line");
	r->close = minor == 0;
	while ((line = memchr(line, '\n', (size_t)(end - line))) != NULL) {
		const char *colon, *v;
		size_t nl;

		line++;
		if ((colon = memchr(line, ':', (size_t)(end - line))) == NULL)
			break;
		nl = (size_t)(colon - line);
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		if (nl == 14 && strncasecmp(line, "Content-Length", nl) == 0) {
			char *ep;

			r->length = strtoll(v, &ep, 10);
			if (ep == v || r->length < 0)
				return err_set(e, "bad Content-Length");
		} else if (nl == 17 && strncasecmp(line, "Transfer-Encoding", nl) == 0)
			r->chunked = strncasecmp(v, "chunked", 7) == 0;
		else if (nl == 10 && strncasecmp(line, "Connection", nl) == 0) {
			if (strncasecmp(v, "close", 5) == 0)
				r->close = 1;
			else if (strncasecmp(v, "keep-alive", 10) == 0)
				r->close = 0;
		}
	}
	return 0;
}

/* Make sure c->in holds at least off + n bytes. */
static int
need(struct http_conn *c, size_t off, size_t n, struct err *e)
{
	while (c->in.len < off + n) {
		ssize_t r = fill(c, e);

		if (r == -1)
			return -1;
		if (r == 0)
			return err_set(e, "connection closed in the middle of the response");
	}
	return 0;
}

/* The body of a chunked answer starting at off; copied to msg. */
static int
read_chunked(struct http_conn *c, size_t off, struct buf *body, struct err *e)
{
	for (;;) {
		const uint8_t *crlf;
		unsigned long long sz;
		char *ep;

		while ((crlf = find_crlf(c->in.p + off, c->in.len - off)) == NULL) {
			if (c->in.len - off > 1024)
				return err_set(e, "bad chunk header");
			if (need(c, off, c->in.len - off + 1, e) == -1)
				return -1;
		}
		sz = strtoull((const char *)c->in.p + off, &ep, 16);
		if (ep == (const char *)c->in.p + off || sz > BODY_MAX)
			return err_set(e, "bad chunk size");
		off = (size_t)(crlf - c->in.p) + 2;
		if (sz == 0) {
			/* Trailers, then the empty line. */
			for (;;) {
				while ((crlf = find_crlf(c->in.p + off, c->in.len - off)) == NULL)
					if (need(c, off, c->in.len - off + 1, e) == -1)
						return -1;
				if (crlf == c->in.p + off)
					return 0;
				off = (size_t)(crlf - c->in.p) + 2;
			}
		}
		if (need(c, off, sz + 2, e) == -1)
			return -1;
		if (body->len + sz > BODY_MAX)
			return err_set(e, "response body too large");
		buf_put_bytes(body, c->in.p + off, sz);
		off += sz + 2;
	}
}

static int
read_response(struct http_conn *c, struct resp *r, struct buf *body, struct err *e)
{
	const uint8_t *end;
	size_t hlen;

	while ((end = find_head_end(c->in.p, c->in.len)) == NULL) {
		ssize_t n;

		if (c->in.len > HEAD_MAX)
			return err_set(e, "response headers too large");
		if ((n = fill(c, e)) == -1)
			return c->in.len == 0 && errno == ECONNRESET ? -2 : -1;
		if (n == 0) {
			err_set(e, "connection closed before the response");
			return c->in.len == 0 ? -2 : -1;
		}
	}
	hlen = (size_t)(end - c->in.p);
	if (parse_head((const char *)c->in.p, hlen, r, e) == -1)
		return -1;
	if (r->status == 204 || r->status == 304 || r->status < 200)
		return 0;
	if (r->chunked)
		return read_chunked(c, hlen, body, e);
	if (r->length >= 0) {
		if (r->length > BODY_MAX)
			return err_set(e, "response body too large");
		if (need(c, hlen, (size_t)r->length, e) == -1)
			return -1;
		buf_put_bytes(body, c->in.p + hlen, (size_t)r->length);
		return 0;
	}
	/* No framing: the body ends with the connection. */
	r->close = 1;
	for (;;) {
		ssize_t n = fill(c, e);

		if (n == -1)
			return -1;
		if (n == 0)
			break;
		if (c->in.len - hlen > BODY_MAX)
			return err_set(e, "response body too large");
	}
	buf_put_bytes(body, c->in.p + hlen, c->in.len - hlen);
	return 0;
}

/*
 * One exchange on an open connection: 0, -1 on error, -2 when the server
 * had closed the connection before answering anything (safe to resend).
 */
static int
exchange(struct http_conn *c, const char *head, size_t hn, const void *body,
    size_t n, struct resp *r, struct buf *rbody, struct err *e)
{
	struct iovec iov[2];
	int rc;

	iov[0].iov_base = (void *)head;
	iov[0].iov_len = hn;
	iov[1].iov_base = (void *)body;
	iov[1].iov_len = n;
	buf_reset(&c->in);
	buf_reset(rbody);
	if ((rc = send_all(c, iov, 2, e)) != 0)
		return rc;
	return read_response(c, r, rbody, e);
}

int
http_post(struct http_conn *c, const struct http_target *t, const char *tenant,
    const void *body, size_t n, int *status, char *msg, size_t msgcap,
    struct err *e)
{
	struct buf rbody = { 0 };
	char head[2048];
	struct resp r;
	int hn, reused, rc, v6 = strchr(t->host, ':') != NULL;

	hn = snprintf(head, sizeof(head),
	    "POST %s HTTP/1.1\r\n"
	    "Host: %s%s%s:%s\r\n"
	    "User-Agent: ringtail-rw-load\r\n"
	    "Content-Encoding: snappy\r\n"
	    "Content-Type: application/x-protobuf\r\n"
	    "X-Prometheus-Remote-Write-Version: 0.1.0\r\n"
	    "%s%s%s"
	    "Content-Length: %zu\r\n\r\n",
	    t->path, v6 ? "[" : "", t->host, v6 ? "]" : "", t->port,
	    *tenant != '\0' ? "X-Scope-OrgID: " : "", tenant,
	    *tenant != '\0' ? "\r\n" : "", n);
	if (hn < 0 || (size_t)hn >= sizeof(head))
		return err_set(e, "request head too long");
	reused = c->fd != -1;
	if (!reused && conn_open(c, t, e) == -1)
		return -1;
	rc = exchange(c, head, (size_t)hn, body, n, &r, &rbody, e);
	if (rc == -2 && reused) {
		/* An idle keep-alive connection the server dropped: once more, fresh. */
		http_conn_close(c);
		if (conn_open(c, t, e) == -1) {
			buf_free(&rbody);
			return -1;
		}
		rc = exchange(c, head, (size_t)hn, body, n, &r, &rbody, e);
	}
	if (rc != 0) {
		http_conn_close(c);
		buf_free(&rbody);
		return -1;
	}
	*status = r.status;
	if (msgcap > 0) {
		size_t k = 0;

		while (k < rbody.len && k + 1 < msgcap && rbody.p[k] != '\n')
			k++;
		if (k > 0)
			memcpy(msg, rbody.p, k);
		msg[k] = '\0';
	}
	if (r.close)
		http_conn_close(c);
	buf_free(&rbody);
	return 0;
}
