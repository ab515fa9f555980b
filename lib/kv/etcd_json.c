#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/base/base64.h"
#include "lib/base/log.h"
#include "lib/base/xmalloc.h"
#include "lib/kv/etcd_json.h"

/* Bounds on what a reply may hold. */
#define MAX_KEY		(64 * 1024)		/* etcd's own limit is 1.5 MiB a request */
#define MAX_KVS		(1u << 20)

void
etcd_msg_free(struct etcd_msg *m)
{
	for (size_t i = 0; i < m->nkvs; i++) {
		free(m->kvs[i].key);
		free(m->kvs[i].value);
	}
	free(m->kvs);
	memset(m, 0, sizeof(*m));
}

/* int64 fields: a JSON string of decimal digits (grpc-gateway), or a number. Absent: 0. */
static int
get_i64(json_t *obj, const char *name, int64_t *out, struct err *e)
{
	json_t *v = json_object_get(obj, name);
	const char *s;
	int64_t x = 0;
	int neg;

	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return err_set(e, "field %s: not an integer string", name);
	s = json_string_value(v);
	neg = *s == '-';
	s += neg;
	if (*s == '\0' || json_string_length(v) > 20)
		return err_set(e, "field %s: bad integer", name);
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || x > (INT64_MAX - (*s - '0')) / 10)
			return err_set(e, "field %s: bad integer", name);
		x = x * 10 + (*s - '0');
	}
	*out = neg ? -x : x;
	return 0;
}

static int
get_bool(json_t *obj, const char *name, int *out, struct err *e)
{
	json_t *v = json_object_get(obj, name);

	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return err_set(e, "field %s: not a boolean", name);
	*out = json_is_true(v);
	return 0;
}

/* A base64 field into malloc'd bytes; absent is empty. */
static int
get_bytes(json_t *obj, const char *name, size_t max, uint8_t **p, size_t *n, struct err *e)
{
	json_t *v = json_object_get(obj, name);
	struct buf b = { 0 };

	*p = NULL;
	*n = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return err_set(e, "field %s: not a base64 string", name);
	if (json_string_length(v) / 4 * 3 > max)
		return err_set(e, "field %s: %zu base64 characters, too long", name,
		    json_string_length(v));
	if (b64_decode(json_string_value(v), json_string_length(v), &b, e) == -1) {
		buf_free(&b);
		return err_wrap(e, "field %s", name);
	}
	*p = b.p;
	*n = b.len;
	return 0;
}

static int
decode_kv(json_t *o, struct etcd_kv *kv, struct err *e)
{
	uint8_t *k;
	size_t kn;

	memset(kv, 0, sizeof(*kv));
	if (!json_is_object(o))
		return err_set(e, "kv: not an object");
	if (get_bytes(o, "key", MAX_KEY, &k, &kn, e) == -1)
		return -1;
	if (kn == 0 || memchr(k, '\0', kn) != NULL) {
		free(k);
		return err_set(e, "kv: %s key", kn == 0 ? "missing or empty" : "NUL byte in the");
	}
	kv->key = xmalloc(kn + 1);
	memcpy(kv->key, k, kn);
	kv->key[kn] = '\0';
	free(k);
	if (get_bytes(o, "value", SIZE_MAX / 2, &kv->value, &kv->vlen, e) == -1 ||
	    get_i64(o, "create_revision", &kv->create_revision, e) == -1 ||
	    get_i64(o, "mod_revision", &kv->mod_revision, e) == -1 ||
	    get_i64(o, "version", &kv->version, e) == -1) {
		free(kv->key);
		free(kv->value);
		memset(kv, 0, sizeof(*kv));
		return err_wrap(e, "kv");
	}
	return 0;
}

static int
decode_header(json_t *root, struct etcd_msg *m, struct err *e)
{
	json_t *h = json_object_get(root, "header");

	if (h == NULL || json_is_null(h))
		return 0;
	if (!json_is_object(h))
		return err_set(e, "header: not an object");
	if (get_i64(h, "revision", &m->revision, e) == -1)
		return err_wrap(e, "header");
	if (m->revision < 0)
		return err_set(e, "header: negative revision");
	return 0;
}

static json_t *
load(const void *p, size_t n, struct err *e)
{
	json_error_t jerr;
	json_t *root = json_loadb(p, n, 0, &jerr);

	if (root == NULL) {
		err_set(e, "bad JSON: %s (line %d)", jerr.text, jerr.line);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		err_set(e, "bad JSON: not an object");
		return NULL;
	}
	return root;
}

/* The "kvs" of a range reply, or the "events" of a watch message. */
static int
decode_list(json_t *root, const char *name, int events, struct etcd_msg *m, struct err *e)
{
	json_t *a = json_object_get(root, name), *x;
	size_t i;

	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return err_set(e, "%s: not an array", name);
	if (json_array_size(a) > MAX_KVS)
		return err_set(e, "%s: %zu entries, too many", name, json_array_size(a));
	m->kvs = xcalloc(json_array_size(a) + 1, sizeof(*m->kvs));
	json_array_foreach(a, i, x) {
		json_t *kv = x, *type;
		int deleted = 0;

		if (events) {
			if (!json_is_object(x))
				return err_set(e, "%s[%zu]: not an object", name, i);
			type = json_object_get(x, "type");
			if (type == NULL || json_is_null(type) ||
			    (json_is_string(type) && strcmp(json_string_value(type), "PUT") == 0) ||
			    (json_is_integer(type) && json_integer_value(type) == 0))
				deleted = 0;
			else if ((json_is_string(type) &&
			    strcmp(json_string_value(type), "DELETE") == 0) ||
			    (json_is_integer(type) && json_integer_value(type) == 1))
				deleted = 1;
			else
				return err_set(e, "%s[%zu]: unknown event type", name, i);
			kv = json_object_get(x, "kv");
		}
		if (decode_kv(kv, &m->kvs[m->nkvs], e) == -1)
			return err_wrap(e, "%s[%zu]", name, i);
		m->kvs[m->nkvs++].deleted = deleted;
	}
	return 0;
}

/* A unary reply: the header, then a range's kvs or a txn's verdict. */
static int
decode_reply(const void *p, size_t n, int txn, struct etcd_msg *m, struct err *e)
{
	json_t *root;

	memset(m, 0, sizeof(*m));
	if ((root = load(p, n, e)) == NULL)
		return -1;
	if (decode_header(root, m, e) == -1 ||
	    (txn ? get_bool(root, "succeeded", &m->succeeded, e) :
	    decode_list(root, "kvs", 0, m, e)) == -1) {
		json_decref(root);
		etcd_msg_free(m);
		return err_wrap(e, "%s reply", txn ? "txn" : "range");
	}
	json_decref(root);
	return 0;
}

int
etcd_decode_range(const void *p, size_t n, struct etcd_msg *m, struct err *e)
{
	return decode_reply(p, n, 0, m, e);
}

int
etcd_decode_txn(const void *p, size_t n, struct etcd_msg *m, struct err *e)
{
	return decode_reply(p, n, 1, m, e);
}

/* {"error":{"grpc_code":N,"http_code":N,"message":"...","http_status":"..."}} or a string. */
static void
error_text(json_t *v, char *msg, size_t msgsz, int *code)
{
	json_t *s = NULL, *c = NULL;

	if (json_is_string(v)) {
		s = v;
	} else if (json_is_object(v)) {
		s = json_object_get(v, "message");
		if (!json_is_string(s))
			s = json_object_get(v, "error");
		c = json_object_get(v, "code");
		if (!json_is_integer(c))
			c = json_object_get(v, "grpc_code");
	}
	if (code != NULL)
		*code = json_is_integer(c) ? (int)json_integer_value(c) : -1;
	snprintf(msg, msgsz, "%s", json_is_string(s) ? json_string_value(s) : "(no message)");
}

int
etcd_decode_watch(const void *p, size_t n, struct etcd_msg *m, struct err *e)
{
	json_t *root, *r, *v;
	char msg[256];

	memset(m, 0, sizeof(*m));
	if ((root = load(p, n, e)) == NULL)
		return -1;
	if ((v = json_object_get(root, "error")) != NULL) {
		error_text(v, msg, sizeof(msg), NULL);
		json_decref(root);
		return err_set(e, "watch error: %s", msg);
	}
	r = json_object_get(root, "result");
	if (!json_is_object(r)) {
		json_decref(root);
		return err_set(e, "watch message: no result object");
	}
	if (decode_header(r, m, e) == -1 || get_bool(r, "created", &m->created, e) == -1 ||
	    get_bool(r, "canceled", &m->canceled, e) == -1 ||
	    get_i64(r, "compact_revision", &m->compact_revision, e) == -1 ||
	    decode_list(r, "events", 1, m, e) == -1) {
		json_decref(root);
		etcd_msg_free(m);
		return err_wrap(e, "watch message");
	}
	v = json_object_get(r, "cancel_reason");
	if (json_is_string(v))
		snprintf(m->reason, sizeof(m->reason), "%s", json_string_value(v));
	json_decref(root);
	return 0;
}

int
etcd_decode_auth(const void *p, size_t n, char **token, struct err *e)
{
	json_t *root, *t;

	*token = NULL;
	if ((root = load(p, n, e)) == NULL)
		return -1;
	t = json_object_get(root, "token");
	if (!json_is_string(t) || json_string_length(t) == 0 || json_string_length(t) > 4096 ||
	    strlen(json_string_value(t)) != json_string_length(t)) {
		json_decref(root);
		return err_set(e, "authenticate reply: no token");
	}
	for (const char *s = json_string_value(t); *s; s++)
		if (!isgraph((unsigned char)*s)) {
			json_decref(root);
			return err_set(e, "authenticate reply: bad character in the token");
		}
	*token = xstrdup(json_string_value(t));
	json_decref(root);
	return 0;
}

void
etcd_decode_error(const void *p, size_t n, int *code, char *msg, size_t msgsz)
{
	json_t *root = json_loadb(p, n, 0, NULL);
	size_t i, j;

	*code = -1;
	if (root != NULL && json_is_object(root)) {
		json_t *v = json_object_get(root, "error");

		/* etcd 3.4: {"error":"...","message":"...","code":N}; streams: {"error":{...}} */
		error_text(json_is_object(v) ? v : root, msg, msgsz, code);
		json_decref(root);
		return;
	}
	json_decref(root);
	/* Not JSON ("Not Found"): its printable start. */
	for (i = j = 0; i < n && j + 1 < msgsz && j < 200; i++) {
		unsigned char c = ((const unsigned char *)p)[i];

		msg[j++] = isprint(c) ? (char)c : c == '\n' || c == '\r' ? ' ' : '?';
	}
	while (j > 0 && msg[j - 1] == ' ')
		j--;
	if (msgsz > 0)
		msg[j] = '\0';
	if (j == 0)
		snprintf(msg, msgsz, "(empty body)");
}

static char *
b64str(const void *p, size_t n)
{
	struct buf b = { 0 };

	b64_encode(p, n, &b);
	buf_put_u8(&b, 0);
	return (char *)b.p;
}

void
etcd_prefix_end(const char *key, struct buf *out)
{
	size_t n = strlen(key);

	while (n > 0 && (uint8_t)key[n - 1] == 0xff)
		n--;
	if (n == 0) {
		/* Every key from key on. */
		buf_put_u8(out, 0);
		return;
	}
	buf_put_bytes(out, key, n);
	out->p[out->len - 1]++;
}

int
etcd_key_matches(const char *watched, int prefix, const char *key)
{
	if (!prefix)
		return strcmp(watched, key) == 0;
	return strncmp(watched, key, strlen(watched)) == 0;
}

static char *
dump(json_t *root)
{
	char *s = json_dumps(root, JSON_COMPACT);

	json_decref(root);
	if (s == NULL)
		fatalx("etcd: cannot build a request body");
	return s;
}

/* "range_end" of a prefix request. */
static void
set_range_end(json_t *obj, const char *key)
{
	struct buf end = { 0 };
	char *re;

	etcd_prefix_end(key, &end);
	re = b64str(end.p, end.len);
	json_object_set_new(obj, "range_end", json_string(re));
	free(re);
	buf_free(&end);
}

char *
etcd_range_body(const char *key, int prefix)
{
	char *k = b64str(key, strlen(key));
	json_t *root = json_pack("{s:s}", "key", k);

	free(k);
	if (prefix)
		set_range_end(root, key);
	return dump(root);
}

char *
etcd_txn_put_body(const char *key, int64_t version, const void *value, size_t vlen)
{
	char *k = b64str(key, strlen(key)), *v = b64str(value, vlen), ver[24];
	json_t *root;

	snprintf(ver, sizeof(ver), "%" PRId64, version);
	root = json_pack("{s:[{s:s,s:s,s:s,s:s}],s:[{s:{s:s,s:s}}]}",
	    "compare", "key", k, "target", "VERSION", "result", "EQUAL", "version", ver,
	    "success", "request_put", "key", k, "value", v);
	free(k);
	free(v);
	return dump(root);
}

char *
etcd_watch_body(const char *key, int prefix, int64_t start_revision)
{
	char *k = b64str(key, strlen(key)), rev[24];
	json_t *req;

	snprintf(rev, sizeof(rev), "%" PRId64, start_revision);
	req = json_pack("{s:s,s:s}", "key", k, "start_revision", rev);
	free(k);
	if (prefix)
		set_range_end(req, key);
	return dump(json_pack("{s:o}", "create_request", req));
}

char *
etcd_auth_body(const char *user, const char *password)
{
	return dump(json_pack("{s:s,s:s}", "name", user, "password", password));
}

void
etcd_stream_init(struct etcd_stream *s, size_t max_line)
{
	memset(s, 0, sizeof(*s));
	s->max = max_line;
}

void
etcd_stream_free(struct etcd_stream *s)
{
	buf_free(&s->b);
	s->off = 0;
}

int
etcd_stream_feed(struct etcd_stream *s, const void *p, size_t n, struct err *e)
{
	const uint8_t *nl;
	size_t tail;

	if (s->off > 0) {
		memmove(s->b.p, s->b.p + s->off, s->b.len - s->off);
		s->b.len -= s->off;
		s->off = 0;
	}
	buf_put_bytes(&s->b, p, n);
	/* The unfinished last line. */
	nl = s->b.len > 0 ? memrchr(s->b.p, '\n', s->b.len) : NULL;
	tail = nl == NULL ? s->b.len : s->b.len - (size_t)(nl + 1 - s->b.p);
	if (tail > s->max)
		return err_set(e, "watch message longer than %zu bytes", s->max);
	return 0;
}

int
etcd_stream_line(struct etcd_stream *s, const char **p, size_t *n)
{
	for (;;) {
		const uint8_t *start = s->b.p + s->off, *nl;
		size_t len;

		if (s->off >= s->b.len)
			return 0;
		if ((nl = memchr(start, '\n', s->b.len - s->off)) == NULL)
			return 0;
		len = (size_t)(nl - start);
		s->off += len + 1;
		while (len > 0 && (start[len - 1] == '\r' || start[len - 1] == ' '))
			len--;
		if (len == 0)
			continue;	/* blank line */
		*p = (const char *)start;
		*n = len;
		return 1;
	}
}
