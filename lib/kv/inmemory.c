/*
 * inmemory — -ring.store=inmemory: one store per process, for a
 * single-process setup (dskit's inmemory client). Values are kept encoded,
 * as the other stores keep them, so every handle gets its own copy. Each
 * key has a version; watchers remember the version they last gave out.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/base/clock.h"
#include "lib/base/xmalloc.h"
#include "lib/kv/backend.h"

struct mem_key {
	char		*key;
	struct buf	 value;
	uint64_t	 version;	/* 0: never written */
	int		 deleted;	/* kept so that watchers see the delete */
};

static struct {
	pthread_mutex_t	 mu;
	pthread_cond_t	 changed;
	struct mem_key	*v;
	size_t		 n;
	uint64_t	 version;
} store = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, 0 };

struct seen {
	char		*key;
	uint64_t	 version;
};

struct mem_backend {
	struct kv_backend	 kb;
	char			*watch_key;	/* NULL: no watch */
	int			 watch_prefix;
	struct seen		*seen;
	size_t			 nseen;
};

/* Under the lock; deleted keys too. */
static struct mem_key *
find(const char *key)
{
	for (size_t i = 0; i < store.n; i++)
		if (strcmp(store.v[i].key, key) == 0)
			return &store.v[i];
	return NULL;
}

/* Under the lock: the key unless it is absent or deleted. */
static struct mem_key *
find_live(const char *key)
{
	struct mem_key *k = find(key);

	return k != NULL && !k->deleted ? k : NULL;
}

/* A deleted key decodes empty (what watchers get). */
static int
decode(const struct mem_key *k, struct ring_desc *d, struct err *e)
{
	if (k->deleted) {
		ring_desc_init(d);
		return 1;
	}
	if (ring_desc_decode(d, k->value.p, k->value.len, e) == -1)
		return err_wrap(e, "inmemory key %s", k->key);
	return 1;
}

static int
mem_get(struct kv_backend *kb, const char *key, struct ring_desc *d, struct err *e)
{
	struct mem_key *k;
	int rc = 0;

	pthread_mutex_lock(&store.mu);
	if ((k = find_live(key)) != NULL)
		rc = decode(k, d, e);
	pthread_mutex_unlock(&store.mu);
	return rc;
}

/* The callback runs under the lock: nothing can change in between. */
static int
mem_cas(struct kv_backend *kb, const char *key, kv_cas_fn fn, void *arg, struct err *e)
{
	struct ring_desc d;
	struct mem_key *k;
	int rc = 0;

	ring_desc_init(&d);
	pthread_mutex_lock(&store.mu);
	k = find_live(key);
	if (k != NULL && decode(k, &d, e) == -1)
		rc = -1;
	else if ((rc = fn(&d, k != NULL, arg, e)) == 1) {
		if (k == NULL && (k = find(key)) == NULL) {
			store.v = xreallocarray(store.v, store.n + 1, sizeof(store.v[0]));
			k = &store.v[store.n++];
			memset(k, 0, sizeof(*k));
			k->key = xstrdup(key);
		}
		buf_reset(&k->value);
		ring_desc_encode(&d, &k->value);
		k->deleted = 0;
		k->version = ++store.version;
		pthread_cond_broadcast(&store.changed);
		rc = 0;
	}
	pthread_mutex_unlock(&store.mu);
	ring_desc_free(&d);
	return rc;
}

static int
mem_delete(struct kv_backend *kb, const char *key, struct err *e)
{
	struct mem_key *k;

	pthread_mutex_lock(&store.mu);
	if ((k = find_live(key)) != NULL) {
		buf_reset(&k->value);
		k->deleted = 1;
		k->version = ++store.version;
		pthread_cond_broadcast(&store.changed);
	}
	pthread_mutex_unlock(&store.mu);
	return 0;
}

static void
seen_clear(struct mem_backend *b)
{
	for (size_t i = 0; i < b->nseen; i++)
		free(b->seen[i].key);
	free(b->seen);
	b->seen = NULL;
	b->nseen = 0;
}

static int
mem_watch(struct kv_backend *kb, const char *key, int prefix, struct err *e)
{
	struct mem_backend *b = (struct mem_backend *)kb;

	free(b->watch_key);
	seen_clear(b);
	b->watch_key = xstrdup(key);
	b->watch_prefix = prefix;
	return 0;
}

static int
watched(const struct mem_backend *b, const char *key)
{
	if (b->watch_prefix)
		return strncmp(key, b->watch_key, strlen(b->watch_key)) == 0;
	return strcmp(key, b->watch_key) == 0;
}

static struct seen *
seen_of(struct mem_backend *b, const char *key)
{
	for (size_t i = 0; i < b->nseen; i++)
		if (strcmp(b->seen[i].key, key) == 0)
			return &b->seen[i];
	b->seen = xreallocarray(b->seen, b->nseen + 1, sizeof(b->seen[0]));
	b->seen[b->nseen].key = xstrdup(key);
	b->seen[b->nseen].version = 0;
	return &b->seen[b->nseen++];
}

/* Under the lock: the first watched key written since this handle last saw it. */
static struct mem_key *
next_change(struct mem_backend *b, struct seen **s)
{
	for (size_t i = 0; i < store.n; i++) {
		if (!watched(b, store.v[i].key))
			continue;
		*s = seen_of(b, store.v[i].key);
		if ((*s)->version < store.v[i].version)
			return &store.v[i];
	}
	return NULL;
}

static int
mem_next(struct kv_backend *kb, int timeout_ms, char **key, struct ring_desc *d,
    struct err *e)
{
	struct mem_backend *b = (struct mem_backend *)kb;
	struct timespec until;
	struct mem_key *k;
	struct seen *s;
	int rc = 0;

	if (b->watch_key == NULL)
		return err_set(e, "no watch");
	until = clock_deadline(CLOCK_REALTIME, timeout_ms);
	pthread_mutex_lock(&store.mu);
	while ((k = next_change(b, &s)) == NULL)
		if (pthread_cond_timedwait(&store.changed, &store.mu, &until) != 0)
			break;
	if (k != NULL) {
		s->version = k->version;
		*key = xstrdup(k->key);
		rc = decode(k, d, e);
	}
	pthread_mutex_unlock(&store.mu);
	return rc;
}

static void
mem_close(struct kv_backend *kb)
{
	struct mem_backend *b = (struct mem_backend *)kb;

	seen_clear(b);
	free(b->watch_key);
	free(b);
}

static const struct kv_backend_ops mem_ops = {
	mem_get, mem_cas, mem_delete, mem_watch, mem_next, mem_close,
};

struct kv_backend *
kv_inmemory_open(void)
{
	struct mem_backend *b = xcalloc(1, sizeof(*b));

	b->kb.ops = &mem_ops;
	b->kb.name = "inmemory";
	return &b->kb;
}
