/*
 * rw-push — a small remote-write and remote-read client for tests and
 * measurements of tsdb-head.
 *
 *   rw-push [-u URL] [-t TENANT] [options] [FILE]    push, print status and body
 *   rw-push -read SELECTOR -start MS -end MS [-streamed] [-u URL] [-t TENANT]
 *   rw-push -seq N -series S [-ts MS] [-step MS]    sequential pushes, "ack K" per 2xx
 *   rw-push -bench -series S -requests R [-batch B] [-c CONNS]
 *
 * Push input, one TimeSeries per line, labels exactly as written (order,
 * duplicates and empty values kept):
 *
 *   {__name__="up", job="x"} 1 1700000000000 [VALUE TS]...
 *
 * VALUE is a float, NaN, +Inf, -Inf, "stale" (Prometheus' stale marker)
 * or 0x followed by the 16 hex digits of the float64 bits. Bad-input
 * switches: -raw (no snappy), -truncate N (cut the protobuf), -body FILE
 * (send the file as the body), -content-type, -content-encoding.
 * Output of a push: the status code on the first line, then the body.
 * Read output: promtool tsdb dump's lines, `{labels} value timestamp` (-bits:
 * the value as 0x and its float64 bits).
 * Exit: 0 on 2xx, 1 on another status, 2 on errors.
 */
#include <sys/socket.h>

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "lib/base/fileutil.h"
#include "lib/base/flags.h"
#include "lib/base/xmalloc.h"
#include "lib/rw/remote_read.h"
#include "lib/rw/remote_write.h"
#include "lib/tsdb/gofmt.h"
#include "lib/tsdb/matcher.h"
#include "lib/tsdb/xor.h"

#define USAGE	"rw-push [-u URL] [-t TENANT] [-read SELECTOR | -seq N | -bench] [FILE]"
#define STALE_NAN	0x7ff0000000000002ULL

struct conn {
	char		 host[256];
	char		 port[16];
	char		 path[1024];
	int		 fd;
};

struct resp {
	int		 status;
	struct buf	 body;
	struct buf	 head;
};

struct opts {
	const char	*url;
	const char	*tenant;
	const char	*ctype;
	const char	*cenc;
	const char	*body_file;
	const char	*read_sel;
	int		 raw;
	int64_t		 truncate;
	int64_t		 start;
	int64_t		 end;
	int		 streamed;
	int		 bits;
	int64_t		 seq;
	int64_t		 series;
	int64_t		 ts;
	int64_t		 step;
	int		 bench;
	int64_t		 requests;
	int64_t		 batch;
	int64_t		 conns;
};

static struct opts o;

static void
parse_url(struct conn *c, const char *url, const char *defpath)
{
	const char *p = url, *slash, *colon;

	if (strncmp(p, "http://", 7) == 0)
		p += 7;
	slash = strchr(p, '/');
	colon = memchr(p, ':', slash ? (size_t)(slash - p) : strlen(p));
	if (colon == NULL)
		errx(2, "URL needs host:port: %s", url);
	snprintf(c->host, sizeof(c->host), "%.*s", (int)(colon - p), p);
	snprintf(c->port, sizeof(c->port), "%.*s",
	    (int)((slash ? slash : p + strlen(p)) - colon - 1), colon + 1);
	snprintf(c->path, sizeof(c->path), "%s", slash && slash[1] ? slash : defpath);
	c->fd = -1;
}

static int
conn_open(struct conn *c)
{
	struct addrinfo hints, *res;
	int one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(c->host, c->port, &hints, &res) != 0)
		return -1;
	c->fd = socket(res->ai_family, SOCK_STREAM, 0);
	if (c->fd == -1 || connect(c->fd, res->ai_addr, res->ai_addrlen) == -1) {
		freeaddrinfo(res);
		if (c->fd != -1)
			close(c->fd);
		c->fd = -1;
		return -1;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	freeaddrinfo(res);
	return 0;
}

static int
write_all(int fd, const void *p, size_t n)
{
	const char *s = p;

	while (n > 0) {
		ssize_t w = write(fd, s, n);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read until buf holds at least n bytes past off; 0, or -1 at EOF or error. */
static int
fill(int fd, struct buf *b, size_t need)
{
	while (b->len < need) {
		ssize_t r;

		buf_reserve(b, 65536);
		r = read(fd, b->p + b->len, b->cap - b->len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		b->len += (size_t)r;
	}
	return 0;
}

/* One HTTP/1.1 exchange over c (connecting if needed); -1 when the connection failed. */
static int
http_post(struct conn *c, const char *path, const char *hdrs, const void *body, size_t n,
    struct resp *r)
{
	struct buf in = { 0 };
	char head[4096], *end, *cl, *te;
	size_t hlen, pos;
	int len;

	if (c->fd == -1 && conn_open(c) == -1)
		return -1;
	len = snprintf(head, sizeof(head), "POST %s HTTP/1.1\r\nHost: %s:%s\r\n%s"
	    "Content-Length: %zu\r\n\r\n", path, c->host, c->port, hdrs, n);
	if (write_all(c->fd, head, (size_t)len) == -1 || write_all(c->fd, body, n) == -1)
		goto fail;
	for (;;) {
		if (fill(c->fd, &in, in.len + 1) == -1)
			goto fail;
		buf_put_u8(&in, 0);
		in.len--;
		if ((end = strstr((char *)in.p, "\r\n\r\n")) != NULL)
			break;
	}
	hlen = (size_t)(end - (char *)in.p) + 4;
	buf_reset(&r->head);
	buf_put_bytes(&r->head, in.p, hlen);
	buf_put_u8(&r->head, 0);
	r->status = atoi((char *)in.p + 9);
	buf_reset(&r->body);
	cl = strcasestr((char *)r->head.p, "\r\nContent-Length:");
	te = strcasestr((char *)r->head.p, "\r\nTransfer-Encoding: chunked");
	pos = hlen;
	if (te != NULL) {
		for (;;) {
			char *nl;
			size_t sz;

			while ((nl = memmem(in.p + pos, in.len - pos, "\r\n", 2)) == NULL)
				if (fill(c->fd, &in, in.len + 1) == -1)
					goto fail;
			sz = strtoul((char *)in.p + pos, NULL, 16);
			pos = (size_t)((uint8_t *)nl - in.p) + 2;
			if (fill(c->fd, &in, pos + sz + 2) == -1)
				goto fail;
			buf_put_bytes(&r->body, in.p + pos, sz);
			pos += sz + 2;
			if (sz == 0)
				break;
		}
	} else {
		size_t blen = cl != NULL ? strtoul(cl + 17, NULL, 10) : 0;

		if (fill(c->fd, &in, hlen + blen) == -1)
			goto fail;
		buf_put_bytes(&r->body, in.p + hlen, blen);
	}
	if (strcasestr((char *)r->head.p, "\r\nConnection: close") != NULL) {
		close(c->fd);
		c->fd = -1;
	}
	buf_free(&in);
	return 0;
fail:
	buf_free(&in);
	close(c->fd);
	c->fd = -1;
	return -1;
}

static int
parse_value(const char *s, uint64_t *bits)
{
	double d;
	char *end;

	if (strcmp(s, "stale") == 0) {
		*bits = STALE_NAN;
		return 0;
	}
	if (strncmp(s, "0x", 2) == 0) {
		*bits = strtoull(s + 2, &end, 16);
		return *end == '\0' ? 0 : -1;
	}
	if (strcmp(s, "NaN") == 0)
		d = NAN;
	else if (strcmp(s, "+Inf") == 0)
		d = INFINITY;
	else if (strcmp(s, "-Inf") == 0)
		d = -INFINITY;
	else {
		d = strtod(s, &end);
		if (end == s || *end != '\0')
			return -1;
	}
	memcpy(bits, &d, sizeof(d));
	return 0;
}

/* One line into the WriteRequest: labels as written, then value/timestamp pairs. */
static void
encode_line(struct buf *req, char *line, size_t lineno)
{
	struct buf strs = { 0 };
	struct label lv[256];
	size_t nl = 0, offs[512], no = 0;
	struct labels ls;
	struct rw_sample smp[256];
	size_t ns = 0;
	char *p = line, *tok, *save = NULL;

	if (*p != '{')
		errx(2, "line %zu: want {labels}", lineno);
	p++;
	while (*p == ' ')
		p++;
	while (*p != '}') {
		char *eq = strchr(p, '=');
		size_t used;

		if (eq == NULL || nl == 256)
			errx(2, "line %zu: bad labels", lineno);
		offs[no++] = strs.len;
		buf_put_bytes(&strs, p, (size_t)(eq - p));
		offs[no++] = strs.len;
		if ((used = gofmt_unquote(eq + 1, strlen(eq + 1), &strs)) == 0)
			errx(2, "line %zu: bad quoted value", lineno);
		nl++;
		p = eq + 1 + used;
		while (*p == ',' || *p == ' ')
			p++;
		if (*p == '\0')
			errx(2, "line %zu: unterminated labels", lineno);
	}
	offs[no] = strs.len;
	for (size_t i = 0; i < nl; i++) {
		lv[i].name.p = (const char *)strs.p + offs[2 * i];
		lv[i].name.len = offs[2 * i + 1] - offs[2 * i];
		lv[i].value.p = (const char *)strs.p + offs[2 * i + 1];
		lv[i].value.len = offs[2 * i + 2] - offs[2 * i + 1];
	}
	ls.v = lv;
	ls.n = nl;
	for (tok = strtok_r(p + 1, " \t\n", &save); tok != NULL; tok = strtok_r(NULL, " \t\n", &save)) {
		char *ts = strtok_r(NULL, " \t\n", &save);

		if (ts == NULL || ns == 256 || parse_value(tok, &smp[ns].v) == -1)
			errx(2, "line %zu: want VALUE TIMESTAMP pairs", lineno);
		smp[ns++].t = strtoll(ts, NULL, 10);
	}
	rw_encode_series(req, &ls, smp, ns);
	buf_free(&strs);
}

/* Free a response and close its connection; 0 for a 2xx, else 1. */
static int
resp_done(struct resp *r, struct conn *c)
{
	int rc = r->status / 100 == 2 ? 0 : 1;

	buf_free(&r->body);
	buf_free(&r->head);
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	return rc;
}

static void
print_resp(const struct resp *r)
{
	printf("%d\n", r->status);
	if (r->body.len > 0)
		fwrite(r->body.p, 1, r->body.len, stdout);
}

static void
push_headers(char *h, size_t cap)
{
	size_t n = 0;

	if (o.tenant != NULL && *o.tenant != '\0')
		n += (size_t)snprintf(h + n, cap - n, "X-Scope-OrgID: %s\r\n", o.tenant);
	n += (size_t)snprintf(h + n, cap - n, "Content-Type: %s\r\n",
	    o.ctype ? o.ctype : "application/x-protobuf");
	if (o.cenc == NULL || *o.cenc != '\0')
		n += (size_t)snprintf(h + n, cap - n, "Content-Encoding: %s\r\n",
		    o.cenc ? o.cenc : "snappy");
	snprintf(h + n, cap - n, "X-Prometheus-Remote-Write-Version: 0.1.0\r\n");
}

static int
do_push(const char *file)
{
	struct buf req = { 0 }, body = { 0 };
	struct resp r = { 0 };
	struct conn c;
	char *line = NULL, hdrs[1024];
	size_t cap = 0, lineno = 0;
	FILE *fp = stdin;

	parse_url(&c, o.url, "/api/v1/push");
	if (o.body_file != NULL) {
		char *data;
		size_t n;
		struct err e;

		if (file_read_all(o.body_file, &data, &n, &e) == -1)
			errx(2, "%s", e.msg);
		buf_put_bytes(&body, data, n);
		free(data);
	} else {
		if (file != NULL && (fp = fopen(file, "r")) == NULL)
			err(2, "%s", file);
		while (getline(&line, &cap, fp) != -1) {
			lineno++;
			line[strcspn(line, "\n")] = '\0';
			if (*line == '\0' || *line == '#')
				continue;
			encode_line(&req, line, lineno);
		}
		free(line);
		if (o.truncate > 0 && (size_t)o.truncate < req.len)
			req.len = (size_t)o.truncate;
		if (o.raw)
			buf_put_bytes(&body, req.p, req.len);
		else
			rw_snappy_encode(req.p, req.len, &body);
	}
	push_headers(hdrs, sizeof(hdrs));
	if (http_post(&c, c.path, hdrs, body.p, body.len, &r) == -1)
		err(2, "POST %s", o.url);
	print_resp(&r);
	buf_free(&req);
	buf_free(&body);
	return resp_done(&r, &c);
}

/* A selector into the Query's matchers. */
static void
build_read(struct buf *out)
{
	struct rr_request rq = { 0 };
	struct rr_query q;
	struct rr_matcher rm[64];
	int32_t acc = RR_STREAMED_XOR_CHUNKS;
	struct matcher *ms;
	size_t n;
	struct err e;

	if (selector_parse(o.read_sel, &ms, &n, &e) == -1 || n > 64)
		errx(2, "bad selector: %s", e.msg);
	for (size_t i = 0; i < n; i++) {
		rm[i].type = ms[i].type == MATCH_EQ ? RR_MATCH_EQ : ms[i].type == MATCH_NE ?
		    RR_MATCH_NEQ : ms[i].type == MATCH_RE ? RR_MATCH_RE : RR_MATCH_NRE;
		rm[i].name = str_c(ms[i].name);
		rm[i].value = (struct str){ ms[i].value, ms[i].value_len };
	}
	memset(&q, 0, sizeof(q));
	q.start_ms = o.start;
	q.end_ms = o.end;
	q.matchers = rm;
	q.nmatchers = n;
	rq.queries = &q;
	rq.nqueries = 1;
	if (o.streamed) {
		rq.accepted = &acc;
		rq.naccepted = 1;
	}
	rr_encode_request(out, &rq);
	matchers_free(ms, n);
}

static void
print_sample(struct buf *line, const struct labels *ls, int64_t t, uint64_t v)
{
	char f[GOFMT_FLOAT_MAX];

	buf_reset(line);
	gofmt_labels(line, ls);
	if (o.bits)
		snprintf(f, sizeof(f), "0x%016" PRIx64, v);
	else
		gofmt_float(f, v);
	printf("%.*s %s %" PRId64 "\n", (int)line->len, (const char *)line->p, f, t);
}

static int
print_streamed(const struct resp *r)
{
	struct rr_chunked ch = { 0 };
	struct rr_frames fr;
	struct buf line = { 0 };
	const uint8_t *msg;
	size_t n, frames = 0;
	struct err e;
	int rc;

	rr_frames_init(&fr, r->body.p, r->body.len, RR_CHUNKED_READ_LIMIT);
	while ((rc = rr_frames_next(&fr, &msg, &n, &e)) == 1) {
		frames++;
		if (rr_decode_chunked(&ch, msg, n, &e) == -1)
			errx(2, "frame %zu: %s", frames, e.msg);
		for (size_t s = 0; s < ch.nseries; s++) {
			const struct rr_chunked_series *cs = &ch.series[s];

			for (size_t k = 0; k < cs->nchunks; k++) {
				struct xor_iter it;
				int64_t t;
				uint64_t v;

				xor_iter_init(&it, cs->chunks[k].data, cs->chunks[k].len);
				while (xor_iter_next(&it, &t, &v) == 1)
					if (t >= o.start && t <= o.end)
						print_sample(&line, &cs->labels, t, v);
			}
		}
	}
	if (rc == -1)
		errx(2, "bad frame: %s", e.msg);
	rr_chunked_free(&ch);
	buf_free(&line);
	return 0;
}

static int
do_read(void)
{
	struct buf req = { 0 }, body = { 0 }, raw = { 0 }, line = { 0 };
	struct rr_response rs = { 0 };
	struct resp r = { 0 };
	struct conn c;
	char hdrs[512];
	struct err e;

	parse_url(&c, o.url, "/api/v1/read");
	build_read(&req);
	rw_snappy_encode(req.p, req.len, &body);
	snprintf(hdrs, sizeof(hdrs), "%s%s%sContent-Encoding: snappy\r\n"
	    "Content-Type: application/x-protobuf\r\n",
	    o.tenant && *o.tenant ? "X-Scope-OrgID: " : "", o.tenant && *o.tenant ? o.tenant : "",
	    o.tenant && *o.tenant ? "\r\n" : "");
	if (http_post(&c, c.path, hdrs, body.p, body.len, &r) == -1)
		err(2, "POST %s", o.url);
	buf_free(&req);
	buf_free(&body);
	if (r.status != 200) {
		print_resp(&r);
		return resp_done(&r, &c);
	}
	if (o.streamed) {
		print_streamed(&r);
		return resp_done(&r, &c);
	}
	if (rw_snappy_decode(r.body.p, r.body.len, 1u << 30, &raw, &e) == -1 ||
	    rr_decode_response(&rs, raw.p, raw.len, &e) == -1)
		errx(2, "bad response: %s", e.msg);
	for (size_t i = 0; i < rs.ts.nseries; i++) {
		const struct rw_series *s = &rs.ts.series[i];

		for (size_t k = 0; k < s->nsamples; k++)
			print_sample(&line, &s->labels, s->samples[k].t, s->samples[k].v);
	}
	rr_response_free(&rs);
	buf_free(&raw);
	buf_free(&line);
	return resp_done(&r, &c);
}

/* Request k of a sequence: every series with the sample (k, ts + k*step). */
static void
build_seq(struct buf *body, int64_t k, int64_t base_series)
{
	struct buf req = { 0 };
	char name[64];
	struct label lv[3];
	struct labels ls = { lv, 3 };
	struct rw_sample smp;
	double v = (double)k;

	lv[0] = (struct label){ STR_LIT("__name__"), STR_LIT("seq_total") };
	lv[1] = (struct label){ STR_LIT("job"), STR_LIT("rw-push") };
	lv[2].name = STR_LIT("series");
	smp.t = o.ts + k * o.step;
	memcpy(&smp.v, &v, sizeof(v));
	for (int64_t s = 0; s < o.series; s++) {
		snprintf(name, sizeof(name), "%" PRId64, base_series + s);
		lv[2].value = str_c(name);
		rw_encode_series(&req, &ls, &smp, 1);
	}
	buf_reset(body);
	rw_snappy_encode(req.p, req.len, body);
	buf_free(&req);
}

static int
do_seq(void)
{
	struct buf body = { 0 };
	struct resp r = { 0 };
	struct conn c;
	char hdrs[1024];

	parse_url(&c, o.url, "/api/v1/push");
	push_headers(hdrs, sizeof(hdrs));
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int64_t k = 0; k < o.seq; k++) {
		build_seq(&body, k, 0);
		if (http_post(&c, c.path, hdrs, body.p, body.len, &r) == -1) {
			buf_free(&body);
			resp_done(&r, &c);
			return 2;
		}
		if (r.status / 100 == 2)
			printf("ack %" PRId64 " %" PRId64 "\n", k, o.ts + k * o.step);
		else
			printf("status %d at %" PRId64 ": %.*s\n", r.status, k, (int)r.body.len,
			    (const char *)r.body.p);
	}
	buf_free(&body);
	resp_done(&r, &c);
	return 0;
}

/*
 * Bench: CONNS connections, each pushing REQUESTS requests of BATCH
 * series (one sample each) out of its own SERIES/CONNS series, as
 * Prometheus sends (one sample per TimeSeries); the payloads are built
 * before the clock starts.
 */
struct worker {
	int64_t		 id;
	struct buf	*bodies;
	size_t		 nbodies;
	int64_t		 ok;
	int64_t		 failed;
	pthread_t	 th;
};

static void *
bench_worker(void *arg)
{
	struct worker *w = arg;
	struct resp r = { 0 };
	struct conn c;
	char hdrs[1024];

	parse_url(&c, o.url, "/api/v1/push");
	push_headers(hdrs, sizeof(hdrs));
	for (size_t i = 0; i < w->nbodies; i++) {
		if (http_post(&c, c.path, hdrs, w->bodies[i].p, w->bodies[i].len, &r) == -1 ||
		    r.status / 100 != 2)
			w->failed++;
		else
			w->ok++;
	}
	resp_done(&r, &c);
	return NULL;
}

static int
do_bench(void)
{
	int64_t per = o.series / o.conns, rounds = per / o.batch, total = 0, failed = 0;
	struct worker *ws = xcalloc((size_t)o.conns, sizeof(*ws));
	struct timespec a, b;
	double secs;

	if (rounds == 0)
		errx(2, "-series / -c must be at least -batch");
	for (int64_t i = 0; i < o.conns; i++) {
		struct worker *w = &ws[i];

		w->id = i;
		w->nbodies = (size_t)o.requests;
		w->bodies = xcalloc(w->nbodies, sizeof(*w->bodies));
		for (int64_t k = 0; k < o.requests; k++) {
			int64_t round = k % rounds, pass = k / rounds;
			struct buf req = { 0 };
			char name[64], inst[64];
			struct label lv[4];
			struct labels ls = { lv, 4 };
			struct rw_sample smp;

			for (int64_t s = 0; s < o.batch; s++) {
				int64_t sid = i * per + round * o.batch + s;
				double v = (double)pass;

				snprintf(name, sizeof(name), "bench_metric_%" PRId64 "_total", sid % 200);
				snprintf(inst, sizeof(inst), "host-%" PRId64 ":9100", sid / 200);
				lv[0] = (struct label){ STR_LIT("__name__"), str_c(name) };
				lv[1] = (struct label){ STR_LIT("instance"), str_c(inst) };
				lv[2] = (struct label){ STR_LIT("job"), STR_LIT("node") };
				lv[3] = (struct label){ STR_LIT("mode"), STR_LIT("user") };
				smp.t = o.ts + pass * o.step;
				memcpy(&smp.v, &v, sizeof(v));
				rw_encode_series(&req, &ls, &smp, 1);
			}
			rw_snappy_encode(req.p, req.len, &w->bodies[k]);
			buf_free(&req);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int64_t i = 0; i < o.conns; i++)
		pthread_create(&ws[i].th, NULL, bench_worker, &ws[i]);
	for (int64_t i = 0; i < o.conns; i++) {
		pthread_join(ws[i].th, NULL);
		total += ws[i].ok;
		failed += ws[i].failed;
		for (size_t k = 0; k < ws[i].nbodies; k++)
			buf_free(&ws[i].bodies[k]);
		free(ws[i].bodies);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	printf("requests=%" PRId64 " failed=%" PRId64 " samples=%" PRId64 " seconds=%.3f "
	    "samples_per_second=%.0f\n", total, failed, total * o.batch, secs,
	    (double)(total * o.batch) / secs);
	free(ws);
	return failed > 0;
}

int
main(int argc, char **argv)
{
	int nargs;
	const struct flag flags[] = {
		{ "u", FLAG_STRING, &o.url, "http://127.0.0.1:9009", "base URL or full URL" },
		{ "t", FLAG_STRING, &o.tenant, "", "X-Scope-OrgID (empty: none)" },
		{ "content-type", FLAG_STRING, &o.ctype, NULL, "Content-Type to send" },
		{ "content-encoding", FLAG_STRING, &o.cenc, NULL, "Content-Encoding (\"\": none)" },
		{ "body", FLAG_STRING, &o.body_file, NULL, "send this file as the body" },
		{ "raw", FLAG_BOOL, &o.raw, NULL, "send the protobuf without snappy" },
		{ "truncate", FLAG_INT, &o.truncate, "0", "cut the protobuf to N bytes" },
		{ "read", FLAG_STRING, &o.read_sel, NULL, "remote read with this selector" },
		{ "start", FLAG_INT, &o.start, "0", "read: start, ms" },
		{ "end", FLAG_INT, &o.end, "9223372036854775807", "read: end, ms" },
		{ "streamed", FLAG_BOOL, &o.streamed, NULL, "read: ask for STREAMED_XOR_CHUNKS" },
		{ "bits", FLAG_BOOL, &o.bits, NULL, "read: print values as 0x float64 bits" },
		{ "seq", FLAG_INT, &o.seq, "0", "push N sequential requests, print acks" },
		{ "series", FLAG_INT, &o.series, "1", "seq/bench: series" },
		{ "ts", FLAG_INT, &o.ts, "1700000000000", "seq/bench: first timestamp" },
		{ "step", FLAG_INT, &o.step, "1000", "seq/bench: ms between requests" },
		{ "bench", FLAG_BOOL, &o.bench, NULL, "measure pushes" },
		{ "requests", FLAG_INT, &o.requests, "1000", "bench: requests per connection" },
		{ "batch", FLAG_INT, &o.batch, "500", "bench: series (samples) per request" },
		{ "c", FLAG_INT, &o.conns, "1", "bench: connections" },
		{ NULL, 0, NULL, NULL, NULL },
	};

	nargs = flags_parse(flags, USAGE, argc, argv);
	if (o.read_sel != NULL)
		return do_read();
	if (o.seq > 0)
		return do_seq();
	if (o.bench)
		return do_bench();
	return do_push(nargs > 0 ? argv[0] : NULL);
}
