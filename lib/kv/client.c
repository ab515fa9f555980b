/*
 * client — -ring.store to a backend, -ring.prefix on every key, and
 * dskit's cortex_kv_request_duration_seconds around every call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/clock.h"
#include "lib/base/metrics.h"
#include "lib/base/xmalloc.h"
#include "lib/kv/api.h"
#include "lib/kv/client.h"

struct kv {
	struct kv_backend	*b;
	char			*prefix;
	struct metric_family	*duration;
	char			*kv_name;
	int			 gossiped;	/* memberlist is one of the stores */
};

static struct kv_backend *
open_store(const char *store, const struct kv_opts *c, struct err *e)
{
	char path[4096];

	if (strcmp(store, "memberlist") == 0 && c->gossip.njoin > 0)
		return kv_gossip_open(&c->gossip, e);
	if (strcmp(store, "memberlist") == 0) {
		if (snprintf(path, sizeof(path), "%s/%s", c->run_dir != NULL ? c->run_dir : ".",
		    KV_API_SOCKET) >= (int)sizeof(path)) {
			err_set(e, "-run-dir is too long");
			return NULL;
		}
		return kv_memberlist_open(path, e);
	}
	if (strcmp(store, "etcd") == 0)
		return kv_etcd_open(&c->etcd, e);
	if (strcmp(store, "inmemory") == 0)
		return kv_inmemory_open();
	if (strcmp(store, "consul") == 0)
		err_set(e, "-ring.store=consul is not supported: use memberlist, etcd or inmemory");
	else
		err_set(e, "unknown -ring.store %s: memberlist, etcd, inmemory or multi", store);
	return NULL;
}

static struct kv_backend *
open_multi(const struct kv_opts *c, struct metrics *reg, const char *kv_name,
    struct err *e)
{
	struct kv_multi_config mc = {
		c->multi_mirror_enabled, c->multi_mirror_timeout_ms, c->runtime_config_file,
		c->runtime_config_period_ms,
	};
	const char *p = c->multi_primary, *s = c->multi_secondary;
	struct kv_backend *primary, *secondary;

	if (p == NULL || s == NULL || *p == '\0' || *s == '\0') {
		err_set(e, "-ring.store=multi needs -ring.multi.primary and -ring.multi.secondary");
		return NULL;
	}
	if (strcmp(p, s) == 0 || strcmp(p, "multi") == 0 || strcmp(s, "multi") == 0) {
		err_set(e, "-ring.multi.primary and -ring.multi.secondary must be two different "
		    "stores other than multi");
		return NULL;
	}
	if ((primary = open_store(p, c, e)) == NULL)
		return NULL;
	if ((secondary = open_store(s, c, e)) == NULL) {
		primary->ops->close(primary);
		return NULL;
	}
	return kv_multi_open(primary, secondary, &mc, reg, kv_name);
}

struct kv *
kv_open(const struct kv_opts *c, struct metrics *reg, const char *kv_name, struct err *e)
{
	/* Sorted, as client_golang prints them. */
	static const char *const labels[] = { "kv_name", "operation", "role", "status_code", NULL };
	static const double buckets[] = { .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10 };
	struct kv_backend *b;
	struct kv *kv;

	if (strcmp(c->store, "multi") == 0)
		b = open_multi(c, reg, kv_name, e);
	else
		b = open_store(c->store, c, e);
	if (b == NULL)
		return NULL;
	kv = xcalloc(1, sizeof(*kv));
	kv->b = b;
	kv->prefix = xstrdup(c->prefix != NULL ? c->prefix : "");
	kv->kv_name = xstrdup(kv_name);
	kv->gossiped = strcmp(c->store, "memberlist") == 0 ||
	    (strcmp(c->store, "multi") == 0 && (strcmp(c->multi_primary, "memberlist") == 0 ||
	    strcmp(c->multi_secondary, "memberlist") == 0));
	if (reg != NULL)
		kv->duration = metrics_family(reg, METRIC_HISTOGRAM,
		    "cortex_kv_request_duration_seconds", "Time spent on KV store requests.",
		    labels, buckets, sizeof(buckets) / sizeof(buckets[0]));
	return kv;
}

void
kv_close(struct kv *kv)
{
	if (kv == NULL)
		return;
	kv->b->ops->close(kv->b);
	free(kv->prefix);
	free(kv->kv_name);
	free(kv);
}

int
kv_is_gossiped(const struct kv *kv)
{
	return kv->gossiped;
}

static char *
full_key(const struct kv *kv, const char *key)
{
	size_t n = strlen(kv->prefix) + strlen(key) + 1;
	char *k = xmalloc(n);

	snprintf(k, n, "%s%s", kv->prefix, key);
	return k;
}

static void
observe(struct kv *kv, const char *op, int64_t t0, int rc)
{
	if (kv->duration == NULL)
		return;
	metric_observe(metric_with(kv->duration, kv->kv_name, op, "primary",
	    rc == -1 ? "500" : "200"), (double)(clock_mono_ms() - t0) / 1000);
}

int
kv_get(struct kv *kv, const char *key, struct ring_desc *d, struct err *e)
{
	char *k = full_key(kv, key);
	int64_t t0 = clock_mono_ms();
	int rc = kv->b->ops->get(kv->b, k, d, e);

	observe(kv, "GET", t0, rc);
	free(k);
	return rc;
}

int
kv_cas(struct kv *kv, const char *key, kv_cas_fn fn, void *arg, struct err *e)
{
	char *k = full_key(kv, key);
	int64_t t0 = clock_mono_ms();
	int rc = kv->b->ops->cas(kv->b, k, fn, arg, e);

	observe(kv, "CAS", t0, rc);
	free(k);
	return rc;
}

/* dskit's operation label is "Delete", beside "GET" and "CAS". */
int
kv_delete(struct kv *kv, const char *key, struct err *e)
{
	char *k = full_key(kv, key);
	int64_t t0 = clock_mono_ms();
	int rc = kv->b->ops->del(kv->b, k, e);

	observe(kv, "Delete", t0, rc);
	free(k);
	return rc;
}

int
kv_watch(struct kv *kv, const char *key, int prefix, struct err *e)
{
	char *k = full_key(kv, key);
	int64_t t0 = clock_mono_ms();
	int rc = kv->b->ops->watch(kv->b, k, prefix, e);

	observe(kv, prefix ? "WatchPrefix" : "WatchKey", t0, rc);
	free(k);
	return rc;
}

int
kv_next(struct kv *kv, int timeout_ms, char **key, struct ring_desc *d, struct err *e)
{
	size_t n = strlen(kv->prefix);
	int rc;

	*key = NULL;
	if ((rc = kv->b->ops->next(kv->b, timeout_ms, key, d, e)) == 1 &&
	    strncmp(*key, kv->prefix, n) == 0)
		memmove(*key, *key + n, strlen(*key + n) + 1);
	return rc;
}
