#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/base/tree.h"
#include "lib/base/xmalloc.h"
#include "lib/gossip/bqueue.h"
#include "lib/gossip/memberlist.h"
#include "lib/gossip/scale.h"
#include "lib/kv/history.h"
#include "lib/kv/store.h"
#include "proto/kv.pb-c.h"

struct entry {
	RB_ENTRY(entry)	 link;
	char		*key;
	struct ring_desc value;
	uint64_t	 version;
	int		 deleted;
	int64_t		 update_time_ms;
	uint64_t	 tombstones_removed;
	size_t		 encoded_size;		/* of the value at sized_version */
	uint64_t	 sized_version;
};

static int
entry_cmp(struct entry *a, struct entry *b)
{
	return strcmp(a->key, b->key);
}

RB_HEAD(entry_tree, entry);
RB_GENERATE_STATIC(entry_tree, entry, link, entry_cmp)

struct kv_watch {
	TAILQ_ENTRY(kv_watch) link;
	char		*key;
	int		 prefix;
	void		(*fn)(void *, const char *);
	void		*arg;
};

struct kv_store {
	struct kv_config	 cfg;
	struct entry_tree	 entries;
	TAILQ_HEAD(, kv_watch)	 watches;
	/* Changes made here go out before changes relayed for others (as dskit). */
	struct bqueue		*local, *gossip;
	struct kv_stats		 st;		/* keys: entries in the tree */
};

struct kv_store *
kv_store_new(const struct kv_config *cfg)
{
	struct kv_store *s = xcalloc(1, sizeof(*s));

	s->cfg = *cfg;
	RB_INIT(&s->entries);
	TAILQ_INIT(&s->watches);
	s->local = bqueue_new();
	s->gossip = bqueue_new();
	return s;
}

static void
entry_remove(struct kv_store *s, struct entry *e)
{
	RB_REMOVE(entry_tree, &s->entries, e);
	ring_desc_free(&e->value);
	free(e->key);
	free(e);
	s->st.keys--;
}

void
kv_store_free(struct kv_store *s)
{
	struct entry *e, *te;
	struct kv_watch *w;

	if (s == NULL)
		return;
	RB_FOREACH_SAFE(e, entry_tree, &s->entries, te)
		entry_remove(s, e);
	while ((w = TAILQ_FIRST(&s->watches)) != NULL)
		kv_store_unwatch(s, w);
	bqueue_free(s->local);
	bqueue_free(s->gossip);
	free(s);
}

static struct entry *
entry_find(struct kv_store *s, const char *key)
{
	struct entry k = { .key = (char *)key };

	return RB_FIND(entry_tree, &s->entries, &k);
}

void
kv_pair_marshal(const char *key, const struct ring_desc *d, int deleted, int64_t update_time_ms,
    struct buf *out)
{
	Memberlist__KeyValuePair p = MEMBERLIST__KEY_VALUE_PAIR__INIT;
	struct buf v = { 0 };

	ring_desc_encode(d, &v);
	p.key = (char *)key;
	p.value.data = v.p;
	p.value.len = v.len;
	p.codec = (char *)RING_CODEC_ID;
	p.deleted = deleted;
	p.update_time_millis = update_time_ms;
	buf_reserve(out, memberlist__key_value_pair__get_packed_size(&p));
	out->len += memberlist__key_value_pair__pack(&p, out->p + out->len);
	buf_free(&v);
}

/* Keeps a message in the history, if on, with the instance IDs of change (may be NULL). */
static void
remember(struct kv_store *s, enum kv_history_dir dir, const char *key, const uint8_t *pair,
    size_t n, uint64_t version, const struct ring_desc *change)
{
	struct buf ids = { 0 };

	if (s->cfg.history == NULL)
		return;
	for (size_t i = 0; change != NULL && i < change->n; i++) {
		if (i > 0)
			buf_put_bytes(&ids, ", ", 2);
		buf_put_bytes(&ids, change->inst[i].id, strlen(change->inst[i].id));
	}
	buf_put_bytes(&ids, "", 1);
	kv_history_add(s->cfg.history, dir, key, pair, n, version, (const char *)ids.p);
	buf_free(&ids);
}

/*
 * Queue a change; it supersedes the queued changes of the key that carry
 * no instance it does not (dskit's MergeContent and Invalidates).
 */
static void
broadcast(struct kv_store *s, struct bqueue *q, const char *key, const struct ring_desc *change,
    int deleted, int64_t update_time_ms, uint64_t version)
{
	struct buf b = { 0 }, ids = { 0 };

	kv_pair_marshal(key, change, deleted, update_time_ms, &b);
	for (size_t i = 0; i < change->n; i++)	/* sorted by id */
		buf_put_bytes(&ids, change->inst[i].id, strlen(change->inst[i].id) + 1);
	bqueue_add_kv(q, key, (const char *)ids.p, ids.len, version, b.p, b.len);
	remember(s, KV_SENT, key, b.p, b.len, version, change);
	s->st.broadcasts++;
	buf_free(&b);
	buf_free(&ids);
}

static void
notify_watchers(struct kv_store *s, const char *key)
{
	struct kv_watch *w, *tw;

	TAILQ_FOREACH_SAFE(w, &s->watches, link, tw) {
		if (w->prefix ? strncmp(key, w->key, strlen(w->key)) == 0 : strcmp(key, w->key) == 0)
			w->fn(w->arg, key);
	}
}

/* A change stored: queued for gossip on q, and watchers of the key told. */
static void
publish(struct kv_store *s, struct bqueue *q, const struct entry *e, const struct ring_desc *change)
{
	broadcast(s, q, e->key, change, e->deleted, e->update_time_ms, e->version);
	notify_watchers(s, e->key);
}

static void
prune_tombstones(struct kv_store *s, struct entry *e, struct ring_desc *change)
{
	int64_t limit;

	if (s->cfg.left_ingesters_timeout_ms <= 0)
		return;
	limit = time(NULL) - s->cfg.left_ingesters_timeout_ms / 1000;
	e->tombstones_removed += ring_desc_remove_tombstones(&e->value, limit);
	ring_desc_remove_tombstones(change, limit);
}

/*
 * dskit's mergeValueForKey: merge incoming into key's entry; 1 and the
 * change when the stored value changed, 0 when not, -1 on a version
 * conflict.
 */
static int
merge_value(struct kv_store *s, const char *key, const struct ring_desc *in, uint64_t cas_version,
    int deleted, int64_t update_time_ms, struct ring_desc *change, struct entry **out)
{
	struct entry *e = entry_find(s, key);
	int changed = 0, flags_changed;
	int64_t new_time;

	ring_desc_init(change);
	if (e == NULL) {
		if (deleted)
			return 0;
		e = xcalloc(1, sizeof(*e));
		e->key = xstrdup(key);
		ring_desc_clone(&e->value, in);
		ring_desc_normalize(&e->value);
		RB_INSERT(entry_tree, &s->entries, e);
		s->st.keys++;
		ring_desc_clone(change, &e->value);
		changed = 1;
	} else {
		if (cas_version > 0 && e->version != cas_version)
			return -1;
		changed = ring_desc_merge(&e->value, in, cas_version > 0, time(NULL), change);
	}
	/*
	 * As dskit: only a newer delete moves the flags, nothing undeletes a
	 * key, and the flags are kept only with a new version.
	 */
	new_time = deleted && update_time_ms > e->update_time_ms ? update_time_ms :
	    e->update_time_ms;
	flags_changed = new_time != e->update_time_ms && !e->deleted;
	if (!changed && !flags_changed)
		return 0;
	prune_tombstones(s, e, change);
	if (change->n == 0) {
		if (!flags_changed)
			return 0;
		/* Only the delete changed: the whole value carries it. */
		ring_desc_free(change);
		ring_desc_clone(change, &e->value);
	}
	e->deleted |= flags_changed;
	e->update_time_ms = new_time;
	e->version++;
	*out = e;
	return 1;
}

int
kv_store_get(struct kv_store *s, const char *key, struct ring_desc *out, uint64_t *version)
{
	struct entry *e = entry_find(s, key);

	ring_desc_init(out);
	*version = 0;
	if (e == NULL || e->deleted)
		return 1;
	ring_desc_clone(out, &e->value);
	ring_desc_remove_tombstones(out, 0);
	*version = e->version;
	return 0;
}

enum kv_cas_result
kv_store_cas(struct kv_store *s, const char *key, const struct ring_desc *value,
    uint64_t cas_version, uint64_t *new_version, struct err *err)
{
	struct ring_desc change;
	struct entry *e = NULL;
	int rc;

	s->st.cas_attempts++;
	if (*key == '\0') {
		s->st.cas_failed++;
		err_set(err, "empty key");
		return KV_CAS_CONFLICT;
	}
	rc = merge_value(s, key, value, cas_version, 0, 0, &change, &e);
	if (rc == -1) {
		s->st.cas_failed++;
		ring_desc_free(&change);
		err_set(err, "version mismatch: %s is no longer at version %llu", key,
		    (unsigned long long)cas_version);
		return KV_CAS_CONFLICT;
	}
	if (rc == 0) {
		ring_desc_free(&change);
		e = entry_find(s, key);
		*new_version = e != NULL ? e->version : 0;
		return KV_CAS_NO_CHANGE;
	}
	s->st.cas++;
	*new_version = e->version;
	publish(s, s->local, e, &change);
	ring_desc_free(&change);
	return KV_CAS_CHANGED;
}

/* As dskit's Delete: the stored value merged into itself, marked deleted. */
enum kv_cas_result
kv_store_delete(struct kv_store *s, const char *key, int64_t now_ms)
{
	struct entry *e = entry_find(s, key);
	struct ring_desc same, change;
	int changed;

	if (e == NULL || e->deleted)
		return KV_CAS_NO_CHANGE;
	ring_desc_clone(&same, &e->value);
	if ((changed = merge_value(s, key, &same, 0, 1, now_ms, &change, &e) == 1))
		publish(s, s->local, e, &change);
	ring_desc_free(&change);
	ring_desc_free(&same);
	return changed ? KV_CAS_CHANGED : KV_CAS_NO_CHANGE;
}

size_t
kv_store_remove_obsolete(struct kv_store *s, int64_t now_ms, int64_t timeout_ms)
{
	struct entry *e, *te;
	size_t removed = 0;

	RB_FOREACH_SAFE(e, entry_tree, &s->entries, te) {
		if (!e->deleted || now_ms - e->update_time_ms <= timeout_ms)
			continue;
		entry_remove(s, e);
		removed++;
	}
	return removed;
}

struct kv_watch *
kv_store_watch(struct kv_store *s, const char *key, int prefix, void (*fn)(void *, const char *),
    void *arg)
{
	struct kv_watch *w = xcalloc(1, sizeof(*w));

	w->key = xstrdup(key);
	w->prefix = prefix;
	w->fn = fn;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&s->watches, w, link);
	return w;
}

void
kv_store_unwatch(struct kv_store *s, struct kv_watch *w)
{
	if (w == NULL)
		return;
	TAILQ_REMOVE(&s->watches, w, link);
	free(w->key);
	free(w);
}

/* One KeyValuePair from a peer: merged; what it changed goes on to others. */
static void
merge_pair(struct kv_store *s, const uint8_t *p, size_t n)
{
	Memberlist__KeyValuePair *kv;
	struct ring_desc in, change;
	struct entry *e = NULL;
	struct err err;

	s->st.received++;
	kv = memberlist__key_value_pair__unpack(NULL, n, p);
	if (kv == NULL || kv->key == NULL || *kv->key == '\0') {
		s->st.invalid++;
		goto out;
	}
	if (kv->codec == NULL || strcmp(kv->codec, RING_CODEC_ID) != 0) {
		s->st.unknown_codec++;
		goto out;
	}
	if (ring_desc_decode(&in, kv->value.data, kv->value.len, &err) == -1) {
		s->st.invalid++;
		remember(s, KV_RECEIVED, kv->key, p, n, 0, NULL);
		goto out;
	}
	if (merge_value(s, kv->key, &in, 0, kv->deleted, kv->update_time_millis, &change, &e) == 1) {
		s->st.merges++;
		remember(s, KV_RECEIVED, kv->key, p, n, e->version, &change);
		publish(s, s->gossip, e, &change);
	} else {
		remember(s, KV_RECEIVED, kv->key, p, n, 0, NULL);
	}
	ring_desc_free(&change);
	ring_desc_free(&in);
out:
	if (kv != NULL)
		memberlist__key_value_pair__free_unpacked(kv, NULL);
}

void
kv_store_notify_msg(struct kv_store *s, const uint8_t *p, size_t n)
{
	s->st.received_bytes += n;
	merge_pair(s, p, n);
}

/* dskit's LocalState: per key, u32 BE length then the KeyValuePair of the full value. */
void
kv_store_local_state(struct kv_store *s, struct buf *out)
{
	struct buf rec = { 0 };
	struct entry *e;
	size_t start = out->len;

	s->st.pushes++;
	RB_FOREACH(e, entry_tree, &s->entries) {
		buf_reset(&rec);
		kv_pair_marshal(e->key, &e->value, e->deleted, e->update_time_ms, &rec);
		buf_put_be32(out, (uint32_t)rec.len);
		buf_put_bytes(out, rec.p, rec.len);
		s->st.state_records_sent++;
		remember(s, KV_SENT, e->key, rec.p, rec.len, e->version, NULL);
	}
	s->st.push_bytes += out->len - start;
	buf_free(&rec);
}

void
kv_store_merge_remote_state(struct kv_store *s, const uint8_t *p, size_t n)
{
	s->st.pulls++;
	s->st.pull_bytes += n;
	while (n > 0) {
		uint32_t len;

		if (n < 4) {
			s->st.invalid++;
			return;
		}
		len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
		if (len > n - 4) {
			s->st.invalid++;
			return;
		}
		merge_pair(s, p + 4, len);
		p += 4 + len;
		n -= 4 + len;
	}
}

size_t
kv_store_get_broadcasts(struct kv_store *s, size_t overhead, size_t limit, struct buf *msgs,
    size_t *lens, size_t maxn)
{
	int tl = ml_retransmit_limit(s->cfg.retransmit_mult,
	    s->cfg.num_members != NULL ? s->cfg.num_members(s->cfg.arg) : 1);
	size_t n = bqueue_get(s->local, overhead, limit, tl, msgs, lens, maxn), used = 0;

	for (size_t i = 0; i < n; i++)
		used += overhead + lens[i];
	if (n < maxn && used < limit)
		n += bqueue_get(s->gossip, overhead, limit - used, tl, msgs, lens + n, maxn - n);
	return n;
}

void
kv_store_foreach(struct kv_store *s, int (*fn)(void *, const struct kv_key_info *), void *arg)
{
	struct entry *e;

	RB_FOREACH(e, entry_tree, &s->entries) {
		struct kv_key_info ki = { .key = e->key, .version = e->version,
		    .instances = e->value.n, .deleted = e->deleted,
		    .update_time_ms = e->update_time_ms,
		    .tombstones_removed = e->tombstones_removed, .value = &e->value };

		/* Encoded again only after a change: /metrics and the page come often. */
		if (e->sized_version != e->version) {
			struct buf b = { 0 };

			ring_desc_encode(&e->value, &b);
			e->encoded_size = b.len;
			e->sized_version = e->version;
			buf_free(&b);
		}
		ki.encoded_size = e->encoded_size;
		for (size_t i = 0; i < e->value.n; i++)
			ki.tombstones += e->value.inst[i].state == RING_LEFT;
		if (fn(arg, &ki))
			return;
	}
}

void
kv_store_stats(const struct kv_store *s, struct kv_stats *st)
{
	*st = s->st;
	st->queued_local = bqueue_len(s->local);
	st->queued_gossip = bqueue_len(s->gossip);
	st->queued_bytes = bqueue_bytes(s->local) + bqueue_bytes(s->gossip);
}

static void
ml_notify_msg(void *arg, struct ml_bytes b)
{
	kv_store_notify_msg(arg, b.p, b.n);
}

static void
ml_local_state(void *arg, int join, struct buf *out)
{
	kv_store_local_state(arg, out);
}

/* dskit ignores the join flag both ways. */
static void
ml_merge_remote_state(void *arg, struct ml_bytes b, int join)
{
	kv_store_merge_remote_state(arg, b.p, b.n);
}

static size_t
ml_get_broadcasts(void *arg, size_t overhead, size_t limit, struct buf *msgs, size_t *lens,
    size_t maxn)
{
	return kv_store_get_broadcasts(arg, overhead, limit, msgs, lens, maxn);
}

void
kv_store_ml_delegate(struct kv_store *s, struct ml_delegate *d)
{
	memset(d, 0, sizeof(*d));
	d->arg = s;
	d->notify_msg = ml_notify_msg;
	d->local_state = ml_local_state;
	d->merge_remote_state = ml_merge_remote_state;
	d->get_broadcasts = ml_get_broadcasts;
}
