/*
 * bqueue — memberlist's transmit-limited broadcast queue (Go 0.2.2's
 * TransmitLimitedQueue): messages waiting to be piggy-backed on gossip,
 * each sent at most retransmit-limit times, fresher and larger first.
 */
#ifndef RINGTAIL_BQUEUE_H
#define RINGTAIL_BQUEUE_H

#include <stddef.h>

#include "lib/tsdb/encoding.h"

struct bqueue;

struct bqueue	*bqueue_new(void);
void		 bqueue_free(struct bqueue *);
/*
 * Queues a copy of msg. A named message replaces the queued one of the
 * same name (a newer state of the same node or key); NULL names never do.
 */
void		 bqueue_add(struct bqueue *, const char *name, const void *msg, size_t n);
/*
 * Queues a copy of a KV change (dskit's ringBroadcast): it drops every
 * queued change of the same key whose content (the instance IDs it
 * carries: sorted, each ending in a NUL, clen bytes in all) is a subset of
 * this one's and whose version is not newer, as dskit's Invalidates.
 */
void		 bqueue_add_kv(struct bqueue *, const char *key, const char *content, size_t clen,
		    uint64_t version, const void *msg, size_t n);
/*
 * Takes messages for one packet: tier by tier from the fewest transmits,
 * in each the largest that still fits limit with overhead per message,
 * newest first among equals. Appends them to msgs, their lengths to
 * lens (at most maxn); a message sent transmit_limit times is dropped.
 */
size_t		 bqueue_get(struct bqueue *, size_t overhead, size_t limit, int transmit_limit,
		    struct buf *msgs, size_t *lens, size_t maxn);
size_t		 bqueue_len(const struct bqueue *);
/* The messages' bytes in all. */
size_t		 bqueue_bytes(const struct bqueue *);
/* Keeps the max_retain freshest messages. */
void		 bqueue_prune(struct bqueue *, size_t max_retain);

#endif
