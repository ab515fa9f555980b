#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include "lib/base/clock.h"
#include "lib/base/xmalloc.h"
#include "lib/kv/history.h"

struct item {
	TAILQ_ENTRY(item) link;
	struct kv_message m;
};

TAILQ_HEAD(item_list, item);

struct buffer {
	struct item_list items;
	size_t		 bytes;			/* sum of the messages' sizes */
};

struct kv_history {
	size_t		 limit;
	uint64_t	 next_id;
	struct buffer	 dir[2];
};

struct kv_history *
kv_history_new(size_t limit)
{
	struct kv_history *h;

	if (limit == 0)
		return NULL;
	h = xcalloc(1, sizeof(*h));
	h->limit = limit;
	for (int d = 0; d < 2; d++)
		TAILQ_INIT(&h->dir[d].items);
	return h;
}

static void
drop_oldest(struct buffer *b)
{
	struct item *it = TAILQ_FIRST(&b->items);

	TAILQ_REMOVE(&b->items, it, link);
	b->bytes -= it->m.size;
	free(it->m.key);
	free(it->m.pair);
	free(it->m.changes);
	free(it);
}

void
kv_history_clear(struct kv_history *h)
{
	if (h == NULL)
		return;
	for (int d = 0; d < 2; d++)
		while (!TAILQ_EMPTY(&h->dir[d].items))
			drop_oldest(&h->dir[d]);
}

void
kv_history_free(struct kv_history *h)
{
	kv_history_clear(h);
	free(h);
}

size_t
kv_history_limit(const struct kv_history *h)
{
	return h != NULL ? h->limit : 0;
}

void
kv_history_add(struct kv_history *h, enum kv_history_dir dir, const char *key,
    const uint8_t *pair, size_t size, uint64_t version, const char *changes)
{
	struct buffer *b;
	struct item *it;

	if (h == NULL)
		return;
	h->next_id++;
	/* dskit appends, then drops from the front while over: a message over the limit goes too. */
	if (size > h->limit)
		return;
	b = &h->dir[dir];
	it = xcalloc(1, sizeof(*it));
	it->m.id = h->next_id;
	it->m.time_ms = clock_wall_ms();
	it->m.key = xstrdup(key);
	it->m.pair = xmalloc(size ? size : 1);
	memcpy(it->m.pair, pair, size);
	it->m.size = size;
	it->m.version = version;
	it->m.changes = xstrdup(changes != NULL ? changes : "");
	TAILQ_INSERT_TAIL(&b->items, it, link);
	b->bytes += size;
	while (b->bytes > h->limit)
		drop_oldest(b);
}

void
kv_history_foreach(const struct kv_history *h, enum kv_history_dir dir,
    int (*fn)(void *, const struct kv_message *), void *arg)
{
	const struct item *it;

	if (h == NULL)
		return;
	TAILQ_FOREACH(it, &h->dir[dir].items, link)
		if (fn(arg, &it->m) != 0)
			return;
}

const struct kv_message *
kv_history_find(const struct kv_history *h, uint64_t id)
{
	const struct item *it;

	if (h == NULL)
		return NULL;
	for (int d = 0; d < 2; d++)
		TAILQ_FOREACH(it, &h->dir[d].items, link)
			if (it->m.id == id)
				return &it->m;
	return NULL;
}
