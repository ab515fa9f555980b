#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* After the C headers: libbsd's defines __unused, a field name in musl's. */
#include <sys/queue.h>
#include "lib/base/tree.h"

#include "lib/base/xmalloc.h"
#include "lib/gossip/bqueue.h"

struct item {
	RB_ENTRY(item)	 by_order;
	RB_ENTRY(item)	 by_name;
	SLIST_ENTRY(item) sent;		/* waiting to go back in, in bqueue_get */
	int		 transmits;
	size_t		 len;
	uint64_t	 id;
	char		*name;		/* NULL: unnamed */
	uint8_t		*msg;
	/* A KV change (bqueue_add_kv): its key, instance IDs and version. */
	char		*kv_key;	/* NULL: not a KV change */
	char		*content;
	size_t		 clen;
	uint64_t	 version;
};

/* Go's Less: fewer transmits, then longer, then newer (higher id) first. */
static int
order_cmp(struct item *a, struct item *b)
{
	if (a->transmits != b->transmits)
		return a->transmits < b->transmits ? -1 : 1;
	if (a->len != b->len)
		return a->len > b->len ? -1 : 1;
	if (a->id != b->id)
		return a->id > b->id ? -1 : 1;
	return 0;
}

static int
name_cmp(struct item *a, struct item *b)
{
	return strcmp(a->name, b->name);
}

RB_HEAD(order_tree, item);
RB_HEAD(name_tree, item);
RB_GENERATE_STATIC(order_tree, item, by_order, order_cmp)
RB_GENERATE_STATIC(name_tree, item, by_name, name_cmp)

struct bqueue {
	struct order_tree	 order;
	struct name_tree	 names;
	size_t			 len;
	size_t			 bytes;		/* of the messages queued */
	uint64_t		 next_id;
};

struct bqueue *
bqueue_new(void)
{
	struct bqueue *q = xcalloc(1, sizeof(*q));

	RB_INIT(&q->order);
	RB_INIT(&q->names);
	return q;
}

static void
unlink_item(struct bqueue *q, struct item *it)
{
	RB_REMOVE(order_tree, &q->order, it);
	if (it->name != NULL)
		RB_REMOVE(name_tree, &q->names, it);
	q->len--;
	q->bytes -= it->len;
}

static void
link_item(struct bqueue *q, struct item *it)
{
	RB_INSERT(order_tree, &q->order, it);
	if (it->name != NULL)
		RB_INSERT(name_tree, &q->names, it);
	q->len++;
	q->bytes += it->len;
}

static void
item_free(struct item *it)
{
	free(it->name);
	free(it->msg);
	free(it->kv_key);
	free(it->content);
	free(it);
}

void
bqueue_free(struct bqueue *q)
{
	struct item *it, *tmp;

	if (q == NULL)
		return;
	RB_FOREACH_SAFE(it, order_tree, &q->order, tmp) {
		unlink_item(q, it);
		item_free(it);
	}
	free(q);
}

void
bqueue_add(struct bqueue *q, const char *name, const void *msg, size_t n)
{
	struct item *it = xcalloc(1, sizeof(*it)), *old;

	it->len = n;
	it->msg = xmemdup(msg, n > 0 ? n : 1);
	if (name != NULL) {
		it->name = xstrdup(name);
		if ((old = RB_FIND(name_tree, &q->names, it)) != NULL) {
			unlink_item(q, old);
			item_free(old);
		}
	}
	it->id = ++q->next_id;
	link_item(q, it);
}

/* Is every NUL-terminated name of a[0..an) also in b[0..bn)? Both sorted. */
static int
names_subset(const char *a, size_t an, const char *b, size_t bn)
{
	size_t i = 0, j = 0;

	while (i < an) {
		int c;

		if (j >= bn)
			return 0;
		c = strcmp(a + i, b + j);
		if (c < 0)
			return 0;
		j += strlen(b + j) + 1;
		if (c == 0)
			i += strlen(a + i) + 1;
	}
	return 1;
}

void
bqueue_add_kv(struct bqueue *q, const char *key, const char *content, size_t clen,
    uint64_t version, const void *msg, size_t n)
{
	struct item *it, *tmp;

	RB_FOREACH_SAFE(it, order_tree, &q->order, tmp) {
		if (it->kv_key == NULL || strcmp(it->kv_key, key) != 0 || it->version > version ||
		    !names_subset(it->content, it->clen, content, clen))
			continue;
		unlink_item(q, it);
		item_free(it);
	}
	it = xcalloc(1, sizeof(*it));
	it->len = n;
	it->msg = xmemdup(msg, n > 0 ? n : 1);
	it->kv_key = xstrdup(key);
	it->content = xmemdup(content, clen > 0 ? clen : 1);
	it->clen = clen;
	it->version = version;
	it->id = ++q->next_id;
	link_item(q, it);
}

size_t
bqueue_get(struct bqueue *q, size_t overhead, size_t limit, int transmit_limit, struct buf *msgs,
    size_t *lens, size_t maxn)
{
	SLIST_HEAD(, item) reinsert = SLIST_HEAD_INITIALIZER(reinsert);
	struct item *it, key;
	size_t used = 0, n = 0;
	int tier, max_tier;

	if (q->len == 0)
		return 0;
	tier = RB_MIN(order_tree, &q->order)->transmits;
	max_tier = RB_MAX(order_tree, &q->order)->transmits;
	while (tier <= max_tier && n < maxn && used + overhead < limit) {
		/* The least item of this tier not longer than the room left. */
		key.transmits = tier;
		key.len = limit - used - overhead;
		key.id = UINT64_MAX;
		it = RB_NFIND(order_tree, &q->order, &key);
		if (it == NULL || it->transmits != tier) {
			tier++;
			continue;
		}
		buf_put_bytes(msgs, it->msg, it->len);
		lens[n++] = it->len;
		used += overhead + it->len;
		unlink_item(q, it);
		if (it->transmits + 1 >= transmit_limit) {
			item_free(it);
			continue;
		}
		/* Back in only after the walk, or a higher tier would offer it again. */
		it->transmits++;
		SLIST_INSERT_HEAD(&reinsert, it, sent);
	}
	while ((it = SLIST_FIRST(&reinsert)) != NULL) {
		SLIST_REMOVE_HEAD(&reinsert, sent);
		link_item(q, it);
	}
	return n;
}

size_t
bqueue_len(const struct bqueue *q)
{
	return q->len;
}

size_t
bqueue_bytes(const struct bqueue *q)
{
	return q->bytes;
}

void
bqueue_prune(struct bqueue *q, size_t max_retain)
{
	struct item *it;

	while (q->len > max_retain && (it = RB_MAX(order_tree, &q->order)) != NULL) {
		unlink_item(q, it);
		item_free(it);
	}
}
