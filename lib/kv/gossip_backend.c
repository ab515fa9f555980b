/*
 * gossip_backend — the KV store of a memberlist cluster read by joining it
 * as a member for the length of the program (ring-inspect
 * -memberlist.join): a memberlist and a KV store of our own on a private
 * event loop that runs only inside the calls. The join's push/pull brings
 * the whole store; a CAS is gossiped before the call returns; closing
 * leaves the cluster gracefully. This is how a tool looks into any
 * ringtail, Cortex, Mimir or Loki cluster without an agent on the host.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "lib/base/clock.h"
#include "lib/base/xmalloc.h"
#include "lib/gossip/dnssd.h"
#include "lib/gossip/memberlist.h"
#include "lib/gossip/transport.h"
#include "lib/kv/backend.h"
#include "lib/kv/store.h"

#define JOIN_TIMEOUT_MS		10000
#define SPREAD_MS		2000	/* a CAS's broadcast is sent for this long at most */
#define LEAVE_TIMEOUT_MS	2000
#define SLICE_MS		50

struct gossip_backend {
	struct kv_backend	 kb;
	struct event_base	*base;
	struct transport_opts	 tr;
	struct memberlist	*ml;
	struct kv_store		*kv;
	char			 name[128];
	int			 joined;	/* 1 done, -1 no address answered */
	struct kv_watch		*watch;
	char			**changes;	/* keys changed since the last next() */
	size_t			 nchanges;
	int			 left;
};

static size_t
num_members(void *arg)
{
	struct gossip_backend *b = arg;

	return b->ml != NULL ? ml_num_alive(b->ml) : 1;
}

/* Run the loop for up to ms, or until done(b) holds. */
static void
run_for(struct gossip_backend *b, int64_t ms, int (*done)(struct gossip_backend *))
{
	int64_t until = clock_mono_ms() + ms;
	struct timeval tv = { 0, SLICE_MS * 1000 };

	while (clock_mono_ms() < until && (done == NULL || !done(b))) {
		event_base_loopexit(b->base, &tv);
		event_base_dispatch(b->base);
	}
}

static int
is_joined(struct gossip_backend *b)
{
	return b->joined != 0;
}

static int
has_changes(struct gossip_backend *b)
{
	return b->nchanges > 0;
}

static int
drained(struct gossip_backend *b)
{
	struct kv_stats st;

	kv_store_stats(b->kv, &st);
	return st.queued_local == 0;
}

static int
has_left(struct gossip_backend *b)
{
	return b->left;
}

static int
wait_joined(struct gossip_backend *b, struct err *e)
{
	run_for(b, JOIN_TIMEOUT_MS, is_joined);
	if (b->joined == 1)
		return 0;
	return err_set(e, "memberlist: %s", b->joined == 0 ?
	    "no answer to the join in 10s" : "no -memberlist.join address answered");
}

static int
gossip_get(struct kv_backend *kb, const char *key, struct ring_desc *d, struct err *e)
{
	struct gossip_backend *b = (struct gossip_backend *)kb;
	uint64_t version;

	if (wait_joined(b, e) == -1)
		return -1;
	return kv_store_get(b->kv, key, d, &version) == 0;
}

static int
gossip_cas(struct kv_backend *kb, const char *key, kv_cas_fn fn, void *arg, struct err *e)
{
	struct gossip_backend *b = (struct gossip_backend *)kb;
	struct ring_desc d;
	uint64_t version, nv;
	int found, rc;

	if (wait_joined(b, e) == -1)
		return -1;
	ring_desc_init(&d);
	found = kv_store_get(b->kv, key, &d, &version) == 0;
	if (!found)
		version = 0;
	if ((rc = fn(&d, found, arg, e)) == 1) {
		/* One thread: nothing can change between the get and the CAS. */
		rc = kv_store_cas(b->kv, key, &d, version, &nv, e) == KV_CAS_CONFLICT ? -1 : 0;
		if (rc == 0)
			run_for(b, SPREAD_MS, drained);
	}
	ring_desc_free(&d);
	return rc;
}

static int
gossip_delete(struct kv_backend *kb, const char *key, struct err *e)
{
	struct gossip_backend *b = (struct gossip_backend *)kb;

	if (wait_joined(b, e) == -1)
		return -1;
	if (kv_store_delete(b->kv, key, clock_wall_ms()) == KV_CAS_CHANGED)
		run_for(b, SPREAD_MS, drained);
	return 0;
}

static void
on_change(void *arg, const char *key)
{
	struct gossip_backend *b = arg;

	for (size_t i = 0; i < b->nchanges; i++)
		if (strcmp(b->changes[i], key) == 0)
			return;
	b->changes = xreallocarray(b->changes, b->nchanges + 1, sizeof(*b->changes));
	b->changes[b->nchanges++] = xstrdup(key);
}

static int
gossip_watch(struct kv_backend *kb, const char *key, int prefix, struct err *e)
{
	struct gossip_backend *b = (struct gossip_backend *)kb;

	if (wait_joined(b, e) == -1)
		return -1;
	if (b->watch != NULL)
		kv_store_unwatch(b->kv, b->watch);
	b->watch = kv_store_watch(b->kv, key, prefix, on_change, b);
	/* The current value first: as if the key had just changed. */
	if (!prefix) {
		struct ring_desc d;
		uint64_t version;

		ring_desc_init(&d);
		if (kv_store_get(b->kv, key, &d, &version) == 0)
			on_change(b, key);
		ring_desc_free(&d);
	}
	return 0;
}

static int
gossip_next(struct kv_backend *kb, int timeout_ms, char **key, struct ring_desc *d,
    struct err *e)
{
	struct gossip_backend *b = (struct gossip_backend *)kb;
	uint64_t version;

	if (b->watch == NULL)
		return err_set(e, "no watch");
	run_for(b, timeout_ms, has_changes);
	if (b->nchanges == 0)
		return 0;
	*key = b->changes[0];
	memmove(b->changes, b->changes + 1, --b->nchanges * sizeof(*b->changes));
	kv_store_get(b->kv, *key, d, &version);
	return 1;
}

static void
on_left(void *arg)
{
	((struct gossip_backend *)arg)->left = 1;
}

static void
gossip_close(struct kv_backend *kb)
{
	struct gossip_backend *b = (struct gossip_backend *)kb;

	if (b->ml != NULL) {
		ml_leave(b->ml, LEAVE_TIMEOUT_MS, on_left, b);
		run_for(b, LEAVE_TIMEOUT_MS + 500, has_left);
	}
	if (b->watch != NULL)
		kv_store_unwatch(b->kv, b->watch);
	for (size_t i = 0; i < b->nchanges; i++)
		free(b->changes[i]);
	free(b->changes);
	if (b->ml != NULL)
		ml_free(b->ml);
	kv_store_free(b->kv);
	event_base_free(b->base);
	free(b);
}

static const struct kv_backend_ops gossip_ops = {
	gossip_get, gossip_cas, gossip_delete, gossip_watch, gossip_next, gossip_close,
};

static void
on_join(void *arg, int joined)
{
	struct gossip_backend *b = arg;

	b->joined = joined > 0 ? 1 : -1;
}

struct kv_backend *
kv_gossip_open(const struct kv_gossip_config *c, struct err *e)
{
	struct gossip_backend *b = xcalloc(1, sizeof(*b));
	struct kv_config kvc = { 0 };
	struct ml_config mc;
	struct ml_delegate d;
	struct strlist addrs = { 0 };

	b->kb.ops = &gossip_ops;
	b->kb.name = "memberlist";
	transport_opts_default(&b->tr);
	if (transport_mode_parse(c->transport, &b->tr.mode) == -1) {
		free(b);
		err_set(e, "bad -memberlist.transport %s: want tcp or udp", c->transport);
		return NULL;
	}
	if ((b->base = event_base_new()) == NULL) {
		free(b);
		err_set(e, "cannot create an event loop");
		return NULL;
	}
	snprintf(b->name, sizeof(b->name), "%s-%08x", c->node_name, arc4random());
	kvc.retransmit_mult = 4;
	kvc.num_members = num_members;
	kvc.arg = b;
	b->kv = kv_store_new(&kvc);
	kv_store_ml_delegate(b->kv, &d);
	ml_config_default(&mc);
	mc.name = b->name;
	mc.bind_addrs = &c->bind_addr;
	mc.nbind = 1;
	mc.bind_port = c->bind_port;
	mc.compression = c->compression ? ML_COMPRESS_LZW : ML_COMPRESS_OFF;
	mc.label = c->cluster_label;
	mc.transport = &b->tr;
	if (b->tr.mode == TRANSPORT_TCP)
		mc.packet_budget = 10u << 20;
	if ((b->ml = ml_create(b->base, &mc, &d, e)) == NULL) {
		gossip_close(&b->kb);
		return NULL;
	}
	dnssd_expand(c->join, c->njoin, &addrs);
	ml_join(b->ml, (const char *const *)addrs.v, addrs.n, on_join, b);
	strlist_free(&addrs);
	return &b->kb;
}
