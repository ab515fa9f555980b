/*
 * agent_backend — -ring.store=memberlist: the node's gossip-agent through
 * its socket (lib/kv/api). The agent's CAS merges the value as dskit's
 * memberlist KV does (instances left out become LEFT tombstones), so a CAS
 * here is get, callback, CAS at the version read, again on conflict.
 * Watches use a second connection, so a watch and requests can interleave.
 */
#include <stdlib.h>

#include "lib/base/xmalloc.h"
#include "lib/kv/api.h"
#include "lib/kv/backend.h"

#define CAS_TRIES	10

struct agent_backend {
	struct kv_backend	 kb;
	char			*path;
	struct kv_client	*c;
	struct kv_client	*watch;
};

static struct kv_client *
conn(struct agent_backend *b, struct err *e)
{
	if (b->c == NULL)
		b->c = kv_client_open(b->path, e);
	return b->c;
}

/* A broken connection is dropped, to be dialled again at the next call. */
static int
fail(struct agent_backend *b, struct kv_client **c, struct err *e)
{
	kv_client_close(*c);
	*c = NULL;
	return err_wrap(e, "gossip-agent %s", b->path);
}

static int
agent_get(struct kv_backend *kb, const char *key, struct ring_desc *d, struct err *e)
{
	struct agent_backend *b = (struct agent_backend *)kb;
	uint64_t version;
	int rc;

	if (conn(b, e) == NULL)
		return err_wrap(e, "gossip-agent %s", b->path);
	if ((rc = kv_client_get(b->c, key, d, &version, e)) == -1)
		return fail(b, &b->c, e);
	return rc == KV_OK;
}

static int
agent_cas(struct kv_backend *kb, const char *key, kv_cas_fn fn, void *arg, struct err *e)
{
	struct agent_backend *b = (struct agent_backend *)kb;
	struct ring_desc d;
	uint64_t version;
	int rc, found;

	for (int i = 0; i < CAS_TRIES; i++) {
		if (conn(b, e) == NULL)
			return err_wrap(e, "gossip-agent %s", b->path);
		ring_desc_init(&d);
		if ((rc = kv_client_get(b->c, key, &d, &version, e)) == -1) {
			ring_desc_free(&d);
			return fail(b, &b->c, e);
		}
		found = rc == KV_OK;
		if (!found)
			version = 0;
		rc = fn(&d, found, arg, e);
		if (rc <= 0) {
			ring_desc_free(&d);
			return rc;
		}
		rc = kv_client_cas(b->c, key, &d, &version, e);
		ring_desc_free(&d);
		if (rc == -1)
			return fail(b, &b->c, e);
		if (rc == KV_OK || rc == KV_NO_CHANGE)
			return 0;
		if (rc != KV_CONFLICT)
			return err_wrap(e, "gossip-agent refused the CAS of %s", key);
	}
	return err_set(e, "CAS of %s: still conflicting after %d tries", key, CAS_TRIES);
}

static int
agent_delete(struct kv_backend *kb, const char *key, struct err *e)
{
	struct agent_backend *b = (struct agent_backend *)kb;

	if (conn(b, e) == NULL)
		return err_wrap(e, "gossip-agent %s", b->path);
	if (kv_client_delete(b->c, key, e) == -1)
		return fail(b, &b->c, e);
	return 0;
}

static int
agent_watch(struct kv_backend *kb, const char *key, int prefix, struct err *e)
{
	struct agent_backend *b = (struct agent_backend *)kb;

	kv_client_close(b->watch);
	if ((b->watch = kv_client_open(b->path, e)) == NULL)
		return err_wrap(e, "gossip-agent %s", b->path);
	if (kv_client_watch(b->watch, key, prefix, KV_API_WATCH_INTERVAL, e) != KV_OK)
		return fail(b, &b->watch, e);
	return 0;
}

static int
agent_next(struct kv_backend *kb, int timeout_ms, char **key, struct ring_desc *d,
    struct err *e)
{
	struct agent_backend *b = (struct agent_backend *)kb;
	uint64_t version;
	int rc;

	if (b->watch == NULL)
		return err_set(e, "no watch");
	if ((rc = kv_client_wait(b->watch, timeout_ms, e)) <= 0)
		return rc == 0 ? 0 : fail(b, &b->watch, e);
	if (kv_client_next(b->watch, key, d, &version, e) == -1)
		return fail(b, &b->watch, e);
	return 1;
}

static void
agent_close(struct kv_backend *kb)
{
	struct agent_backend *b = (struct agent_backend *)kb;

	kv_client_close(b->c);
	kv_client_close(b->watch);
	free(b->path);
	free(b);
}

static const struct kv_backend_ops agent_ops = {
	agent_get, agent_cas, agent_delete, agent_watch, agent_next, agent_close,
};

/* The socket is dialled at the first call: the agent may start after the program. */
struct kv_backend *
kv_memberlist_open(const char *socket_path, struct err *e)
{
	struct agent_backend *b = xcalloc(1, sizeof(*b));

	(void)e;
	b->kb.ops = &agent_ops;
	b->kb.name = "memberlist";
	b->path = xstrdup(socket_path);
	return &b->kb;
}
