#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include <jansson.h>

#include "lib/base/base64.h"
#include "lib/base/clock.h"
#include "lib/base/hostport.h"
#include "lib/base/httpd.h"
#include "lib/gossip/memberlist.h"
#include "lib/gossip/zone.h"
#include "lib/kv/history.h"
#include "lib/kv/status.h"
#include "lib/kv/store.h"
#include "lib/ring/desc.h"
#include "proto/kv.pb-c.h"

/* v (taken) as JSON, indented if pretty; a 500 only when there is no memory for it. */
static void
reply_json(struct httpd_req *r, json_t *v, int pretty)
{
	char *s = v != NULL ?
	    json_dumps(v, JSON_PRESERVE_ORDER | (pretty ? JSON_INDENT(4) : JSON_COMPACT)) : NULL;

	json_decref(v);
	if (s == NULL) {
		httpd_reply_text(r, 500, "cannot encode the page as JSON");
		return;
	}
	httpd_reply(r, 200, "application/json", s, strlen(s));
	free(s);
}

static const char *
param(struct httpd_req *r, const char *name)
{
	const char *v = NULL;

	return httpd_req_params(r, name, &v, 1) > 0 ? v : NULL;
}

/* A value as JSON in the format asked for (dskit's json and json-pretty). */
static void
reply_value(struct httpd_req *r, const struct ring_desc *d, const char *format)
{
	if (format != NULL && strcmp(format, "json") != 0 && strcmp(format, "json-pretty") != 0) {
		httpd_reply_text(r, 400, "unknown format %s: json or json-pretty", format);
		return;
	}
	reply_json(r, ring_desc_json(d), format != NULL && strcmp(format, "json-pretty") == 0);
}

struct key_find {
	const char	*key;
	struct httpd_req *r;
	const char	*format;		/* NULL: download the bytes */
	int		 found;
};

static int
serve_key(void *arg, const struct kv_key_info *ki)
{
	struct key_find *f = arg;
	struct buf b = { 0 };
	char disp[512];

	if (strcmp(ki->key, f->key) != 0)
		return 0;
	f->found = 1;
	if (f->format != NULL) {
		reply_value(f->r, ki->value, f->format);
		return 1;
	}
	ring_desc_encode(ki->value, &b);
	snprintf(disp, sizeof(disp), "attachment; filename=%" PRIu64 "-%s", ki->version,
	    strrchr(ki->key, '/') != NULL ? strrchr(ki->key, '/') + 1 : ki->key);
	httpd_reply_header(f->r, "Content-Disposition", disp);
	httpd_reply(f->r, 200, "application/octet-stream", b.p, b.len);
	buf_free(&b);
	return 1;
}

static void
view_key(struct kv_status *st, struct httpd_req *r, const char *key, const char *format)
{
	struct key_find f = { key, r, format, 0 };

	kv_store_foreach(st->kv, serve_key, &f);
	if (!f.found)
		httpd_reply_text(r, 404, "value not found");
}

static void
view_message(struct kv_status *st, struct httpd_req *r, const char *id, const char *format)
{
	const struct kv_message *m;
	Memberlist__KeyValuePair *kv;
	struct ring_desc d;
	struct err e;
	char *end;
	unsigned long long n = strtoull(id, &end, 10);

	if (*id == '\0' || *end != '\0') {
		httpd_reply_text(r, 400, "viewMsg: %s is not a message ID", id);
		return;
	}
	if ((m = kv_history_find(st->history, n)) == NULL) {
		httpd_reply_text(r, 404, "message not found");
		return;
	}
	/* A peer's value that does not decode is kept too (as dskit): it is no fault of ours. */
	kv = memberlist__key_value_pair__unpack(NULL, m->size, m->pair);
	if (kv == NULL || ring_desc_decode(&d, kv->value.data, kv->value.len, &e) == -1) {
		httpd_reply_text(r, 422, "message %llu: failed to decode: %s", n,
		    kv == NULL ? "not a KeyValuePair" : e.msg);
	} else {
		reply_value(r, &d, format);
		ring_desc_free(&d);
	}
	if (kv != NULL)
		memberlist__key_value_pair__free_unpacked(kv, NULL);
}

struct key_rows {
	FILE		*fp;
	size_t		 total;			/* encoded bytes of every key */
};

static int
html_key(void *arg, const struct kv_key_info *ki)
{
	struct key_rows *kr = arg;
	FILE *fp = kr->fp;
	char when[32];

	clock_rfc3339(when, sizeof(when), ki->update_time_ms / 1000);
	fputs("<tr><td>", fp);
	httpd_html_text(fp, ki->key);
	fprintf(fp, "</td><td>%s</td><td>%" PRIu64 "</td><td>%s</td><td>%s</td><td>%zu</td>"
	    "<td>%zu</td><td>", RING_CODEC_ID, ki->version, ki->deleted ? "true" : "false",
	    ki->update_time_ms > 0 ? when : "", ki->instances, ki->encoded_size);
	/* Keys are ring names ("collectors/ring"): nothing to escape in a query but HTML. */
	fputs("<a href=\"?viewKey=", fp);
	httpd_html_text(fp, ki->key);
	fputs("&amp;format=json\">json</a> | <a href=\"?viewKey=", fp);
	httpd_html_text(fp, ki->key);
	fputs("&amp;format=json-pretty\">json-pretty</a> | <a href=\"?downloadKey=", fp);
	httpd_html_text(fp, ki->key);
	fputs("\">download</a></td></tr>\n", fp);
	kr->total += ki->encoded_size;
	return 0;
}

static int
html_message(void *arg, const struct kv_message *m)
{
	FILE *fp = arg;
	char when[32];
	int64_t s = m->time_ms / 1000;

	snprintf(when, sizeof(when), "%02d:%02d:%02d.%03d", (int)(s / 3600 % 24),
	    (int)(s / 60 % 60), (int)(s % 60), (int)(m->time_ms % 1000));
	fprintf(fp, "<tr><td>%" PRIu64 "</td><td>%s</td><td>", m->id, when);
	httpd_html_text(fp, m->key);
	fprintf(fp, "</td><td>size: %zu, codec: %s</td><td>%" PRIu64 "</td><td>", m->size,
	    RING_CODEC_ID, m->version);
	httpd_html_text(fp, m->changes);
	fprintf(fp, "</td><td><a href=\"?viewMsg=%" PRIu64 "&amp;format=json\">json</a> | "
	    "<a href=\"?viewMsg=%" PRIu64 "&amp;format=json-pretty\">json-pretty</a></td></tr>\n",
	    m->id, m->id);
	return 0;
}

static void
html_messages(struct kv_status *st, FILE *fp, enum kv_history_dir dir)
{
	fprintf(fp, "<h3>%s Messages</h3>\n<a href=\"?deleteMessages=true\">Delete All Messages "
	    "(received and sent)</a>\n<table width=\"100%%\" border=\"1\">\n<thead><tr><th>ID</th>"
	    "<th>Time</th><th>Key</th><th>Value in the Message</th><th>%s</th><th>Changes</th>"
	    "<th>Actions</th></tr></thead>\n<tbody>\n", dir == KV_SENT ? "Sent" : "Received",
	    dir == KV_SENT ? "Version" : "Version After Update (0 = no change)");
	kv_history_foreach(st->history, dir, html_message, fp);
	fputs("</tbody>\n</table>\n", fp);
}

/* A member's Zone and Role cells, from its metadata. */
static void
html_zone(FILE *fp, struct ml_bytes meta)
{
	struct ml_bytes zone;
	char role[24], *z;
	int r;

	zone_meta_read(meta, &r, &zone);
	z = zone.n > 0 ? strndup((const char *)zone.p, zone.n) : NULL;
	fputs("<td>", fp);
	httpd_html_text(fp, z != NULL ? z : "");
	fprintf(fp, "</td><td>%s</td>", zone_role_name(r, role, sizeof(role)));
	free(z);
}

static void
page_html(struct kv_status *st, FILE *fp)
{
	struct ml_member *v;
	size_t n = ml_members(st->ml, &v);
	struct ml_stats ms;
	struct key_rows kr = { fp, 0 };
	char now[32], role[24];

	ml_stats(st->ml, &ms);
	clock_rfc3339(now, sizeof(now), clock_wall_ms() / 1000);
	fprintf(fp, "<!DOCTYPE html>\n<html>\n<head><meta charset=\"UTF-8\">"
	    "<title>Memberlist Status</title></head>\n<body>\n<h1>Memberlist Status</h1>\n"
	    "<p>Current time: %s</p>\n<ul>\n<li>Health Score: %d (lower is better, 0 = "
	    "healthy)</li>\n<li>Members: %zu</li>\n", now, ms.health_score, ml_num_alive(st->ml));
	if (st->zones != NULL) {
		fputs("<li>Zone-aware routing: enabled (zone ", fp);
		httpd_html_text(fp, st->zones->zone);
		fprintf(fp, ", role %s)</li>\n", zone_role_name((int)st->zones->role, role,
		    sizeof(role)));
	} else
		fputs("<li>Zone-aware routing: disabled</li>\n", fp);
	fprintf(fp, "</ul>\n<h2>KV Store</h2>\n"
	    "<table width=\"100%%\" border=\"1\">\n<thead><tr><th>Key</th><th>Codec</th>"
	    "<th>Version</th><th>Deleted</th><th>Update Time</th><th>Instances</th><th>Size</th>"
	    "<th>Actions</th></tr></thead>\n<tbody>\n");
	kv_store_foreach(st->kv, html_key, &kr);
	fprintf(fp, "</tbody>\n<tfoot><tr><td colspan=\"6\">Total size</td><td>%zu</td><td></td></tr>"
	    "</tfoot>\n</table>\n", kr.total);
	fputs("<p>Note that value \"version\" is node-specific. It starts with "
	    "0 (on restart), and increases on each received update. Size is in bytes.</p>\n"
	    "<h2>Memberlist Cluster Members</h2>\n<table width=\"100%\" border=\"1\">\n"
	    "<thead><tr><th>Name</th><th>Address</th><th>State</th>", fp);
	fputs(st->zones != NULL ? "<th>Zone</th><th>Role</th></tr></thead>\n<tbody>\n" :
	    "</tr></thead>\n<tbody>\n", fp);
	for (size_t i = 0; i < n; i++) {
		if (v[i].state == ML_STATE_DEAD || v[i].state == ML_STATE_LEFT)
			continue;
		fputs("<tr><td>", fp);
		httpd_html_text(fp, v[i].name);
		fprintf(fp, "</td><td>%s</td><td>%d</td>", v[i].addr, (int)v[i].state);
		if (st->zones != NULL)
			html_zone(fp, v[i].meta);
		fputs("</tr>\n", fp);
	}
	fputs("</tbody>\n</table>\n<p>State: 0 = Alive, 1 = Suspect, 2 = Dead, 3 = Left</p>\n"
	    "<h2>Message History</h2>\n", fp);
	if (st->history != NULL) {
		fprintf(fp, "<p>Each of the two buffers keeps up to %zu bytes of messages.</p>\n",
		    kv_history_limit(st->history));
		html_messages(st, fp, KV_RECEIVED);
		html_messages(st, fp, KV_SENT);
	} else {
		fputs("<p><i>Message history buffer is disabled, refer to the configuration to "
		    "enable it in order to troubleshoot the message history "
		    "(-memberlist.message-history-buffer-bytes).</i></p>\n", fp);
	}
	fputs("</body>\n</html>\n", fp);
	free(v);
}

static json_t *
members_json(struct kv_status *st)
{
	struct ml_member *v;
	size_t n = ml_members(st->ml, &v);
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object();

		json_object_set_new(o, "name", json_string(v[i].name));
		json_object_set_new(o, "addr", json_string(v[i].addr));
		json_object_set_new(o, "state", json_string(ml_state_name(v[i].state)));
		json_object_set_new(o, "incarnation", json_integer(v[i].incarnation));
		json_object_set_new(o, "state_change_ms", json_integer(v[i].state_change));
		json_object_set_new(o, "protocol", json_pack("[iii]", v[i].vsn[0], v[i].vsn[1],
		    v[i].vsn[2]));
		json_object_set_new(o, "self", json_boolean(strcmp(v[i].name, ml_name(st->ml)) == 0));
		json_array_append_new(arr, o);
	}
	free(v);
	return arr;
}

/* Go's time.Time in JSON: RFC 3339, the fraction without trailing zeros; 0 is Go's zero time. */
static json_t *
go_time(int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	char s[48];
	size_t n;
	struct tm tm;

	if (ms <= 0 || gmtime_r(&t, &tm) == NULL)
		return json_string("0001-01-01T00:00:00Z");
	n = strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	if (ms % 1000 != 0) {
		n += (size_t)snprintf(s + n, sizeof(s) - n, ".%03d", (int)(ms % 1000));
		while (s[n - 1] == '0')
			n--;
	}
	snprintf(s + n, sizeof(s) - n, "Z");
	return json_string(s);
}

/* []byte as Go's encoding/json writes it: base64, or null when empty. */
static json_t *
go_bytes(const void *p, size_t n)
{
	struct buf b = { 0 };
	json_t *v;

	if (n == 0)
		return json_null();
	b64_encode(p, n, &b);
	v = json_stringn((const char *)b.p, b.len);
	buf_free(&b);
	return v;
}

/* memberlist.Node: the members that are not dead or left, by name. */
static json_t *
dskit_members(struct kv_status *st)
{
	static const char *const vsn[] = { "PMin", "PMax", "PCur", "DMin", "DMax", "DCur" };
	struct ml_member *v;
	size_t n = ml_members(st->ml, &v);
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++) {
		json_t *o;
		char host[64];
		int port = 0;

		if (v[i].state == ML_STATE_DEAD || v[i].state == ML_STATE_LEFT)
			continue;
		o = json_object();
		if (hostport_parse(v[i].addr, host, sizeof(host), 0, &port) == -1)
			host[0] = '\0';
		json_object_set_new(o, "Name", json_string(v[i].name));
		json_object_set_new(o, "Addr", json_string(host));
		json_object_set_new(o, "Port", json_integer(port));
		json_object_set_new(o, "Meta", go_bytes(v[i].meta.p, v[i].meta.n));
		json_object_set_new(o, "State", json_integer(v[i].state));
		for (size_t k = 0; k < 6; k++)
			json_object_set_new(o, vsn[k], json_integer(v[i].vsn[k]));
		json_array_append_new(arr, o);
	}
	free(v);
	return arr;
}

static int
dskit_key(void *arg, const struct kv_key_info *ki)
{
	json_object_set_new(arg, ki->key, json_pack("{s:I,s:s,s:b,s:o}", "Version",
	    (json_int_t)ki->version, "CodecID", RING_CODEC_ID, "Deleted", ki->deleted,
	    "UpdateTime", go_time(ki->update_time_ms)));
	return 0;
}

/* dskit's Message: the KeyValuePair with gogo's omitempty JSON names. */
static int
dskit_message(void *arg, const struct kv_message *m)
{
	Memberlist__KeyValuePair *kv = memberlist__key_value_pair__unpack(NULL, m->size, m->pair);
	json_t *o = json_object(), *pair = json_object(), *changes = json_null();

	json_object_set_new(o, "ID", json_integer((json_int_t)m->id));
	json_object_set_new(o, "Time", go_time(m->time_ms));
	json_object_set_new(o, "Size", json_integer((json_int_t)m->size));
	if (kv != NULL) {	/* only pairs that unpacked are kept */
		if (kv->key != NULL && *kv->key != '\0')
			json_object_set_new(pair, "key", json_string(kv->key));
		if (kv->value.len > 0)
			json_object_set_new(pair, "value", go_bytes(kv->value.data, kv->value.len));
		if (kv->codec != NULL && *kv->codec != '\0')
			json_object_set_new(pair, "codec", json_string(kv->codec));
		if (kv->deleted)
			json_object_set_new(pair, "deleted", json_true());
		if (kv->update_time_millis != 0)
			json_object_set_new(pair, "update_time_millis",
			    json_integer(kv->update_time_millis));
		memberlist__key_value_pair__free_unpacked(kv, NULL);
	}
	json_object_set_new(o, "Pair", pair);
	json_object_set_new(o, "Version", json_integer((json_int_t)m->version));
	for (const char *c = m->changes, *e; *c != '\0'; c = *e ? e + 2 : e) {
		if (json_is_null(changes))
			changes = json_array();
		e = strstr(c, ", ");
		e = e != NULL ? e : c + strlen(c);
		json_array_append_new(changes, json_stringn(c, (size_t)(e - c)));
	}
	json_object_set_new(o, "Changes", changes);
	json_array_append_new(arg, o);
	return 0;
}

/* A message list, null when empty (Go's nil slice). */
static json_t *
dskit_messages(struct kv_status *st, enum kv_history_dir dir)
{
	json_t *arr = json_array();

	kv_history_foreach(st->history, dir, dskit_message, arr);
	if (json_array_size(arr) == 0) {
		json_decref(arr);
		return json_null();
	}
	return arr;
}

/* dskit's StatusPageData as Go's encoding/json writes it. */
static json_t *
dskit_page(struct kv_status *st)
{
	json_t *store = json_object();

	kv_store_foreach(st->kv, dskit_key, store);
	return json_pack("{s:o,s:{},s:o,s:o,s:o,s:o}", "Now", go_time(clock_wall_ms()),
	    "Memberlist", "SortedMembers", dskit_members(st), "Store", store, "SentMessages",
	    dskit_messages(st, KV_SENT), "ReceivedMessages", dskit_messages(st, KV_RECEIVED));
}

static void
on_memberlist(struct httpd_req *r, void *arg)
{
	struct kv_status *st = arg;
	const char *accept = httpd_req_header(r, "Accept"), *v, *format = param(r, "format");
	char *text = NULL;
	size_t len = 0;
	FILE *fp;

	if ((v = param(r, "viewKey")) != NULL) {
		view_key(st, r, v, format != NULL ? format : "json");
		return;
	}
	if ((v = param(r, "downloadKey")) != NULL) {
		view_key(st, r, v, NULL);
		return;
	}
	if ((v = param(r, "viewMsg")) != NULL) {
		view_message(st, r, v, format);
		return;
	}
	if ((v = param(r, "deleteMessages")) != NULL && strcmp(v, "true") == 0) {
		kv_history_clear(st->history);
		httpd_reply_header(r, "Location", "?deleteMessages=false");
		httpd_reply(r, 302, NULL, NULL, 0);
		return;
	}
	if (accept != NULL && strstr(accept, "application/json") != NULL) {
		reply_json(r, dskit_page(st), 0);
		return;
	}
	fp = open_memstream(&text, &len);
	page_html(st, fp);
	fclose(fp);
	httpd_reply(r, 200, "text/html; charset=utf-8", text, len);
	free(text);
}

static int
json_key(void *arg, const struct kv_key_info *ki)
{
	json_array_append_new(arg, json_pack("{s:s,s:I,s:I,s:I,s:b}", "key", ki->key, "version",
	    (json_int_t)ki->version, "instances", (json_int_t)ki->instances, "bytes",
	    (json_int_t)ki->encoded_size, "deleted", ki->deleted));
	return 0;
}

/* GET /memberlist/members: ours, for scripts: every member, dead and left too. */
static void
on_memberlist_members(struct httpd_req *r, void *arg)
{
	reply_json(r, members_json(arg), 0);
}

static void
on_memberlist_kv(struct httpd_req *r, void *arg)
{
	struct kv_status *st = arg;
	json_t *arr = json_array();

	kv_store_foreach(st->kv, json_key, arr);
	reply_json(r, arr, 0);
}

void
kv_status_route(struct httpd *h, struct kv_status *st)
{
	httpd_route(h, "/memberlist", "memberlist", HTTPD_GET, on_memberlist, st);
	httpd_route(h, "/memberlist/kv", "memberlist_kv", HTTPD_GET, on_memberlist_kv, st);
	httpd_route(h, "/memberlist/members", "memberlist_members", HTTPD_GET, on_memberlist_members,
	    st);
}
