/*
 * history — dskit's message history for troubleshooting
 * (-memberlist.message-history-buffer-bytes): the KeyValuePair messages
 * this node received and sent (broadcasts and push/pull records), each
 * kept whole in one of two buffers of at most limit bytes of messages,
 * the oldest dropped first. IDs count up across both.
 */
#ifndef RINGTAIL_KV_HISTORY_H
#define RINGTAIL_KV_HISTORY_H

#include <stddef.h>
#include <stdint.h>

struct kv_history;

enum kv_history_dir { KV_RECEIVED = 0, KV_SENT = 1 };

struct kv_message {
	uint64_t	 id;
	int64_t		 time_ms;		/* Unix ms */
	char		*key;
	uint8_t		*pair;			/* the KeyValuePair as on the wire */
	size_t		 size;
	/* Sent: the version it reflects; received: the version after the merge, 0 if none. */
	uint64_t	 version;
	char		*changes;		/* instance IDs the merge changed, ", "-joined */
};

/* NULL when limit is 0: history off, and every call below accepts NULL. */
struct kv_history	*kv_history_new(size_t limit);
void			 kv_history_free(struct kv_history *);
size_t			 kv_history_limit(const struct kv_history *);
/* Copies key, pair and changes; a message larger than the limit is not kept. */
void			 kv_history_add(struct kv_history *, enum kv_history_dir, const char *key,
			    const uint8_t *pair, size_t size, uint64_t version, const char *changes);
/* Oldest first; fn returns nonzero to stop. */
void			 kv_history_foreach(const struct kv_history *, enum kv_history_dir,
			    int (*fn)(void *, const struct kv_message *), void *arg);
const struct kv_message	*kv_history_find(const struct kv_history *, uint64_t id);
void			 kv_history_clear(struct kv_history *);

#endif
