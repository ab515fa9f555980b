#include <sys/queue.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/base/clock.h"
#include "lib/base/log.h"
#include "lib/base/xmalloc.h"
#include "lib/gossip/memberlist.h"
#include "lib/kv/api.h"
#include "lib/kv/store.h"
#include "proto/agent.pb-c.h"

struct watcher;

/* One client connection: its watches go when it goes. */
struct api_conn {
	struct kv_api		*api;
	struct usock_conn	*conn;
	LIST_HEAD(, watcher)	 watchers;
};

/* Changed keys are collected and sent at most once per interval each. */
struct watcher {
	LIST_ENTRY(watcher)	 link;
	struct api_conn		*ac;
	uint64_t		 id;
	struct kv_watch		*w;
	struct event		*timer;
	int64_t			 interval_ms;
	int			 armed;
	char			**dirty;
	size_t			 ndirty;
};

struct kv_api {
	struct event_base	*base;
	struct usock_server	*srv;
	struct kv_store		*store;
	struct memberlist	*ml;
	int64_t			 min_interval_ms;	/* -memberlist.notify-interval */
	uint64_t		 watch_events;
};

static void
send_response(struct usock_conn *c, const Ringtail__Agent__Response *r)
{
	size_t n = ringtail__agent__response__get_packed_size(r);
	uint8_t *p = xmalloc(n ? n : 1);

	ringtail__agent__response__pack(r, p);
	usock_send(c, p, n);
	free(p);
}

static void
reply_status(struct usock_conn *c, uint64_t id, Ringtail__Agent__Status st, const char *error)
{
	Ringtail__Agent__Response r = RINGTAIL__AGENT__RESPONSE__INIT;

	r.id = id;
	r.status = st;
	r.error = (char *)(error != NULL ? error : "");
	send_response(c, &r);
}

/* A response carrying key's current value (tombstones removed). */
static void
reply_value(struct kv_api *api, struct usock_conn *c, uint64_t id, const char *key)
{
	Ringtail__Agent__Response r = RINGTAIL__AGENT__RESPONSE__INIT;
	Ringtail__Agent__KeyValue kv = RINGTAIL__AGENT__KEY_VALUE__INIT;
	struct ring_desc d;
	struct buf b = { 0 };

	r.id = id;
	if (kv_store_get(api->store, key, &d, &kv.version) == 1) {
		r.status = RINGTAIL__AGENT__STATUS__NOT_FOUND;
		r.error = (char *)"no such key";
	} else {
		ring_desc_encode(&d, &b);
		kv.value.data = b.p;
		kv.value.len = b.len;
	}
	kv.key = (char *)key;
	kv.codec = (char *)RING_CODEC_ID;
	r.value = &kv;
	send_response(c, &r);
	ring_desc_free(&d);
	buf_free(&b);
}

static void
do_cas(struct kv_api *api, struct usock_conn *c, uint64_t id, const Ringtail__Agent__CasRequest *q)
{
	Ringtail__Agent__Response r = RINGTAIL__AGENT__RESPONSE__INIT;
	Ringtail__Agent__KeyValue kv = RINGTAIL__AGENT__KEY_VALUE__INIT;
	struct ring_desc d;
	struct err e;

	if (*q->key == '\0' || strcmp(q->codec, RING_CODEC_ID) != 0) {
		reply_status(c, id, RINGTAIL__AGENT__STATUS__BAD_REQUEST,
		    *q->key == '\0' ? "empty key" : "unknown codec: want ringDesc");
		return;
	}
	if (ring_desc_decode(&d, q->value.data, q->value.len, &e) == -1) {
		reply_status(c, id, RINGTAIL__AGENT__STATUS__BAD_REQUEST, e.msg);
		return;
	}
	r.id = id;
	r.error = (char *)"";
	switch (kv_store_cas(api->store, q->key, &d, q->version, &kv.version, &e)) {
	case KV_CAS_CHANGED:
		break;
	case KV_CAS_NO_CHANGE:
		r.status = RINGTAIL__AGENT__STATUS__NO_CHANGE;
		break;
	case KV_CAS_CONFLICT:
		r.status = RINGTAIL__AGENT__STATUS__CONFLICT;
		r.error = e.msg;
		break;
	}
	kv.key = q->key;
	kv.codec = (char *)RING_CODEC_ID;
	r.value = &kv;
	send_response(c, &r);
	ring_desc_free(&d);
}

/* A tombstone with a fresh heartbeat wins every merge (ring-kv.md §8.3). */
static void
do_forget(struct kv_api *api, struct usock_conn *c, uint64_t id,
    const Ringtail__Agent__ForgetRequest *q)
{
	struct ring_desc d, one;
	struct ring_instance *inst;
	uint64_t version, nv;
	struct err e;

	if (kv_store_get(api->store, q->key, &d, &version) == 1 ||
	    (inst = ring_desc_find(&d, q->instance)) == NULL) {
		ring_desc_free(&d);
		reply_status(c, id, RINGTAIL__AGENT__STATUS__NOT_FOUND, "no such instance");
		return;
	}
	inst->state = RING_LEFT;
	if (inst->timestamp < time(NULL))
		inst->timestamp = time(NULL);
	ring_desc_init(&one);
	ring_desc_set(&one, inst);
	kv_store_cas(api->store, q->key, &one, 0, &nv, &e);
	reply_status(c, id, RINGTAIL__AGENT__STATUS__OK, NULL);
	ring_desc_free(&one);
	ring_desc_free(&d);
}

static void
do_delete(struct kv_api *api, struct usock_conn *c, uint64_t id,
    const Ringtail__Agent__DeleteRequest *q)
{
	if (kv_store_delete(api->store, q->key, clock_wall_ms()) == KV_CAS_NO_CHANGE) {
		reply_status(c, id, RINGTAIL__AGENT__STATUS__NOT_FOUND, "no such key");
		return;
	}
	log_info("deleted a key", "key=%s", log_q(q->key));
	reply_status(c, id, RINGTAIL__AGENT__STATUS__OK, NULL);
}

static void
do_members(struct kv_api *api, struct usock_conn *c, uint64_t id)
{
	static const char *const states[] = { "alive", "suspect", "dead", "left" };
	Ringtail__Agent__Response r = RINGTAIL__AGENT__RESPONSE__INIT;
	struct ml_member *v;
	size_t n = ml_members(api->ml, &v);
	Ringtail__Agent__Member *m = xcalloc(n ? n : 1, sizeof(*m));
	Ringtail__Agent__Member **pm = xcalloc(n ? n : 1, sizeof(*pm));

	for (size_t i = 0; i < n; i++) {
		ringtail__agent__member__init(&m[i]);
		m[i].name = (char *)v[i].name;
		m[i].addr = v[i].addr;
		m[i].state = (char *)((unsigned)v[i].state < 4 ? states[v[i].state] : "unknown");
		m[i].incarnation = v[i].incarnation;
		m[i].state_change_ms = v[i].state_change;
		pm[i] = &m[i];
	}
	r.id = id;
	r.error = (char *)"";
	r.n_members = n;
	r.members = pm;
	send_response(c, &r);
	free(pm);
	free(m);
	free(v);
}

/* ---- watches ---- */

static void
watcher_flush(struct watcher *w)
{
	for (size_t i = 0; i < w->ndirty; i++) {
		reply_value(w->ac->api, w->ac->conn, w->id, w->dirty[i]);
		w->ac->api->watch_events++;
		free(w->dirty[i]);
	}
	w->ndirty = 0;
}

static void
watcher_arm(struct watcher *w)
{
	struct timeval tv = { w->interval_ms / 1000, (w->interval_ms % 1000) * 1000 };

	evtimer_add(w->timer, &tv);
	w->armed = 1;
}

static void
watcher_tick(evutil_socket_t fd, short what, void *arg)
{
	struct watcher *w = arg;

	w->armed = 0;
	if (w->ndirty == 0)
		return;
	watcher_flush(w);
	watcher_arm(w);
}

static void
watcher_changed(void *arg, const char *key)
{
	struct watcher *w = arg;

	for (size_t i = 0; i < w->ndirty; i++)
		if (strcmp(w->dirty[i], key) == 0)
			return;
	w->dirty = xreallocarray(w->dirty, w->ndirty + 1, sizeof(*w->dirty));
	w->dirty[w->ndirty++] = xstrdup(key);
	if (!w->armed) {
		watcher_flush(w);
		watcher_arm(w);
	}
}

static void
watcher_free(struct watcher *w)
{
	LIST_REMOVE(w, link);
	kv_store_unwatch(w->ac->api->store, w->w);
	event_free(w->timer);
	for (size_t i = 0; i < w->ndirty; i++)
		free(w->dirty[i]);
	free(w->dirty);
	free(w);
}

static void
do_watch(struct kv_api *api, struct api_conn *ac, uint64_t id,
    const Ringtail__Agent__WatchRequest *q)
{
	struct watcher *w = xcalloc(1, sizeof(*w));

	w->ac = ac;
	w->id = id;
	w->interval_ms = q->min_interval_ms > 0 ? q->min_interval_ms : KV_API_WATCH_INTERVAL;
	if (w->interval_ms < api->min_interval_ms)
		w->interval_ms = api->min_interval_ms;
	w->timer = evtimer_new(api->base, watcher_tick, w);
	w->w = kv_store_watch(api->store, q->key, q->prefix, watcher_changed, w);
	LIST_INSERT_HEAD(&ac->watchers, w, link);
	reply_status(ac->conn, id, RINGTAIL__AGENT__STATUS__OK, NULL);
	/* A key watch starts with the current value, as dskit's WatchKey. */
	if (!q->prefix)
		watcher_changed(w, q->key);
}

/* ---- connections ---- */

static void
on_frame(void *arg, struct usock_conn *c, const uint8_t *p, size_t n)
{
	struct kv_api *api = arg;
	struct api_conn *ac = usock_conn_data(c);
	Ringtail__Agent__Request *q = ringtail__agent__request__unpack(NULL, n, p);

	if (ac == NULL) {
		ac = xcalloc(1, sizeof(*ac));
		ac->api = api;
		ac->conn = c;
		LIST_INIT(&ac->watchers);
		usock_conn_set_data(c, ac);
	}
	if (q == NULL) {
		reply_status(c, 0, RINGTAIL__AGENT__STATUS__BAD_REQUEST, "undecodable request");
		return;
	}
	switch (q->op_case) {
	case RINGTAIL__AGENT__REQUEST__OP_GET:
		reply_value(api, c, q->id, q->get->key);
		break;
	case RINGTAIL__AGENT__REQUEST__OP_CAS:
		do_cas(api, c, q->id, q->cas);
		break;
	case RINGTAIL__AGENT__REQUEST__OP_WATCH:
		do_watch(api, ac, q->id, q->watch);
		break;
	case RINGTAIL__AGENT__REQUEST__OP_MEMBERS:
		do_members(api, c, q->id);
		break;
	case RINGTAIL__AGENT__REQUEST__OP_FORGET:
		do_forget(api, c, q->id, q->forget);
		break;
	case RINGTAIL__AGENT__REQUEST__OP_DELETE:
		do_delete(api, c, q->id, q->delete_);
		break;
	default:
		reply_status(c, q->id, RINGTAIL__AGENT__STATUS__BAD_REQUEST, "no operation");
	}
	ringtail__agent__request__free_unpacked(q, NULL);
}

static void
on_closed(void *arg, struct usock_conn *c)
{
	struct api_conn *ac = usock_conn_data(c);
	struct watcher *w;

	if (ac == NULL)
		return;
	while ((w = LIST_FIRST(&ac->watchers)) != NULL)
		watcher_free(w);
	free(ac);
}

struct kv_api *
kv_api_listen(struct event_base *base, const char *path, struct kv_store *store,
    struct memberlist *ml, int64_t min_interval_ms, struct err *e)
{
	static const struct usock_cb cb = { on_frame, on_closed };
	struct kv_api *api = xcalloc(1, sizeof(*api));

	api->base = base;
	api->store = store;
	api->ml = ml;
	api->min_interval_ms = min_interval_ms;
	if ((api->srv = usock_listen(base, path, &cb, api, e)) == NULL) {
		free(api);
		return NULL;
	}
	return api;
}

void
kv_api_free(struct kv_api *api)
{
	if (api == NULL)
		return;
	usock_server_free(api->srv);
	free(api);
}

void
kv_api_stats(const struct kv_api *api, struct usock_stats *st, uint64_t *watch_events)
{
	usock_server_stats(api->srv, st);
	*watch_events = api->watch_events;
}

/* ---- client ---- */

struct kv_client {
	int		 fd;
	uint64_t	 next_id;
	uint64_t	 watch_id;
	struct buf	 in;
};

struct kv_client *
kv_client_open(const char *path, struct err *e)
{
	struct kv_client *c;
	int fd = usock_dial(path, e);

	if (fd == -1)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	return c;
}

void
kv_client_close(struct kv_client *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	buf_free(&c->in);
	free(c);
}

static Ringtail__Agent__Response *
read_response(struct kv_client *c, struct err *e)
{
	Ringtail__Agent__Response *r;

	if (usock_read_frame(c->fd, &c->in, e) == -1)
		return NULL;
	if ((r = ringtail__agent__response__unpack(NULL, c->in.len, c->in.p)) == NULL)
		err_set(e, "undecodable response from the agent");
	return r;
}

/* Send q, wait for its response (watch events of an earlier watch are not expected here). */
static Ringtail__Agent__Response *
call(struct kv_client *c, Ringtail__Agent__Request *q, struct err *e)
{
	Ringtail__Agent__Response *r;
	size_t n;
	uint8_t *p;
	int rc;

	q->id = ++c->next_id;
	n = ringtail__agent__request__get_packed_size(q);
	p = xmalloc(n ? n : 1);
	ringtail__agent__request__pack(q, p);
	rc = usock_write_frame(c->fd, p, n, e);
	free(p);
	if (rc == -1 || (r = read_response(c, e)) == NULL)
		return NULL;
	if (r->id != q->id) {
		ringtail__agent__response__free_unpacked(r, NULL);
		err_set(e, "response %llu to request %llu", (unsigned long long)r->id,
		    (unsigned long long)q->id);
		return NULL;
	}
	if (r->status == RINGTAIL__AGENT__STATUS__BAD_REQUEST) {
		err_set(e, "agent: %s", r->error);
		ringtail__agent__response__free_unpacked(r, NULL);
		return NULL;
	}
	return r;
}

/* call() for a request answered by its status alone: the status, or -1 with e. */
static int
call_status(struct kv_client *c, Ringtail__Agent__Request *q, struct err *e)
{
	Ringtail__Agent__Response *r = call(c, q, e);
	int rc;

	if (r == NULL)
		return -1;
	rc = (int)r->status;
	ringtail__agent__response__free_unpacked(r, NULL);
	return rc;
}

/* The value of a response, decoded. */
static int
response_value(Ringtail__Agent__Response *r, struct ring_desc *d, uint64_t *version,
    struct err *e)
{
	ring_desc_init(d);
	*version = 0;
	if (r->status == RINGTAIL__AGENT__STATUS__NOT_FOUND || r->value == NULL)
		return KV_NOT_FOUND;
	*version = r->value->version;
	if (ring_desc_decode(d, r->value->value.data, r->value->value.len, e) == -1)
		return err_wrap(e, "value of %s", r->value->key);
	return KV_OK;
}

int
kv_client_get(struct kv_client *c, const char *key, struct ring_desc *d, uint64_t *version,
    struct err *e)
{
	Ringtail__Agent__Request q = RINGTAIL__AGENT__REQUEST__INIT;
	Ringtail__Agent__GetRequest g = RINGTAIL__AGENT__GET_REQUEST__INIT;
	Ringtail__Agent__Response *r;
	int rc;

	g.key = (char *)key;
	q.op_case = RINGTAIL__AGENT__REQUEST__OP_GET;
	q.get = &g;
	if ((r = call(c, &q, e)) == NULL)
		return -1;
	rc = response_value(r, d, version, e);
	ringtail__agent__response__free_unpacked(r, NULL);
	return rc;
}

int
kv_client_cas(struct kv_client *c, const char *key, const struct ring_desc *d, uint64_t *version,
    struct err *e)
{
	Ringtail__Agent__Request q = RINGTAIL__AGENT__REQUEST__INIT;
	Ringtail__Agent__CasRequest cas = RINGTAIL__AGENT__CAS_REQUEST__INIT;
	Ringtail__Agent__Response *r;
	struct buf b = { 0 };
	int rc;

	ring_desc_encode(d, &b);
	cas.key = (char *)key;
	cas.value.data = b.p;
	cas.value.len = b.len;
	cas.codec = (char *)RING_CODEC_ID;
	cas.version = *version;
	q.op_case = RINGTAIL__AGENT__REQUEST__OP_CAS;
	q.cas = &cas;
	r = call(c, &q, e);
	buf_free(&b);
	if (r == NULL)
		return -1;
	rc = (int)r->status;
	if (r->value != NULL)
		*version = r->value->version;
	if (rc == KV_CONFLICT)
		err_set(e, "%s", r->error);
	ringtail__agent__response__free_unpacked(r, NULL);
	return rc;
}

int
kv_client_forget(struct kv_client *c, const char *key, const char *instance, struct err *e)
{
	Ringtail__Agent__Request q = RINGTAIL__AGENT__REQUEST__INIT;
	Ringtail__Agent__ForgetRequest f = RINGTAIL__AGENT__FORGET_REQUEST__INIT;

	f.key = (char *)key;
	f.instance = (char *)instance;
	q.op_case = RINGTAIL__AGENT__REQUEST__OP_FORGET;
	q.forget = &f;
	return call_status(c, &q, e);
}

int
kv_client_delete(struct kv_client *c, const char *key, struct err *e)
{
	Ringtail__Agent__Request q = RINGTAIL__AGENT__REQUEST__INIT;
	Ringtail__Agent__DeleteRequest d = RINGTAIL__AGENT__DELETE_REQUEST__INIT;

	d.key = (char *)key;
	q.op_case = RINGTAIL__AGENT__REQUEST__OP_DELETE;
	q.delete_ = &d;
	return call_status(c, &q, e);
}

int
kv_client_watch(struct kv_client *c, const char *key, int prefix, unsigned min_interval_ms,
    struct err *e)
{
	Ringtail__Agent__Request q = RINGTAIL__AGENT__REQUEST__INIT;
	Ringtail__Agent__WatchRequest w = RINGTAIL__AGENT__WATCH_REQUEST__INIT;
	Ringtail__Agent__Response *r;

	w.key = (char *)key;
	w.prefix = prefix;
	w.min_interval_ms = min_interval_ms;
	q.op_case = RINGTAIL__AGENT__REQUEST__OP_WATCH;
	q.watch = &w;
	if ((r = call(c, &q, e)) == NULL)
		return -1;
	c->watch_id = q.id;
	ringtail__agent__response__free_unpacked(r, NULL);
	return KV_OK;
}

int
kv_client_next(struct kv_client *c, char **key, struct ring_desc *d, uint64_t *version,
    struct err *e)
{
	Ringtail__Agent__Response *r;
	int rc;

	if ((r = read_response(c, e)) == NULL)
		return -1;
	rc = response_value(r, d, version, e);
	*key = xstrdup(r->value != NULL ? r->value->key : "");
	ringtail__agent__response__free_unpacked(r, NULL);
	return rc;
}

int
kv_client_wait(struct kv_client *c, int timeout_ms, struct err *e)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	int n;

	while ((n = poll(&pfd, 1, timeout_ms)) == -1 && errno == EINTR)
		;
	if (n == -1)
		return err_errno(e, "poll on the agent's socket");
	return n > 0;
}

int
kv_client_members(struct kv_client *c, struct kv_member **out, size_t *n, struct err *e)
{
	Ringtail__Agent__Request q = RINGTAIL__AGENT__REQUEST__INIT;
	Ringtail__Agent__MembersRequest m = RINGTAIL__AGENT__MEMBERS_REQUEST__INIT;
	Ringtail__Agent__Response *r;

	q.op_case = RINGTAIL__AGENT__REQUEST__OP_MEMBERS;
	q.members = &m;
	if ((r = call(c, &q, e)) == NULL)
		return -1;
	*n = r->n_members;
	*out = xcalloc(*n ? *n : 1, sizeof(**out));
	for (size_t i = 0; i < *n; i++) {
		(*out)[i].name = xstrdup(r->members[i]->name);
		(*out)[i].addr = xstrdup(r->members[i]->addr);
		(*out)[i].state = xstrdup(r->members[i]->state);
		(*out)[i].incarnation = r->members[i]->incarnation;
		(*out)[i].state_change_ms = r->members[i]->state_change_ms;
	}
	ringtail__agent__response__free_unpacked(r, NULL);
	return KV_OK;
}

void
kv_members_free(struct kv_member *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].addr);
		free(v[i].state);
	}
	free(v);
}
