/*
 * store — dskit's memberlist KV on top of lib/gossip: keys to ring
 * descriptors (codec "ringDesc"), merged as a CRDT. A local CAS merges the
 * new value into the stored one and queues only what changed as a
 * KeyValuePair broadcast; received updates are merged, and what they
 * changed is gossiped on; push/pull carries every key in full
 * (specs/ring-kv.md §4, §5, §8).
 *
 * One thread: call everything from the event loop.
 */
#ifndef RINGTAIL_KV_STORE_H
#define RINGTAIL_KV_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/ring/desc.h"
#include "lib/tsdb/encoding.h"

struct kv_history;
struct kv_store;
struct kv_watch;

struct kv_config {
	int64_t		 left_ingesters_timeout_ms;	/* tombstone lifetime; 0 keeps them */
	int		 retransmit_mult;
	/* Alive members, for the retransmit limit. */
	size_t		(*num_members)(void *arg);
	void		*arg;
	struct kv_history *history;		/* messages kept for troubleshooting, or NULL */
};

struct kv_stats {
	uint64_t	 received;		/* KeyValuePair messages and state records */
	uint64_t	 invalid;		/* undecodable, empty key */
	uint64_t	 unknown_codec;
	uint64_t	 merges;		/* merges that changed something */
	uint64_t	 cas_attempts;
	uint64_t	 cas;			/* local CAS that changed something */
	uint64_t	 cas_failed;		/* version mismatch, bad value */
	uint64_t	 broadcasts;		/* changes queued */
	uint64_t	 state_records_sent;
	uint64_t	 received_bytes;	/* of broadcasts */
	uint64_t	 pushes, push_bytes;	/* full state sent */
	uint64_t	 pulls, pull_bytes;	/* full state received */
	size_t		 queued_local, queued_gossip;
	size_t		 queued_bytes;		/* of both queues */
	size_t		 keys;
};

/* A key as the status page shows it. */
struct kv_key_info {
	const char	*key;
	uint64_t	 version;
	size_t		 instances;		/* tombstones included */
	size_t		 encoded_size;
	int		 deleted;
	int64_t		 update_time_ms;
	size_t		 tombstones;		/* LEFT instances kept */
	uint64_t	 tombstones_removed;	/* since the start */
	const struct ring_desc *value;		/* as stored, tombstones included */
};

struct kv_store	*kv_store_new(const struct kv_config *);
void		 kv_store_free(struct kv_store *);

/* The value without tombstones and its version; 0 when present, 1 when absent. */
int		 kv_store_get(struct kv_store *, const char *key, struct ring_desc *out,
		    uint64_t *version);
enum kv_cas_result {
	KV_CAS_CHANGED = 0,
	KV_CAS_NO_CHANGE = 1,
	KV_CAS_CONFLICT = -1,		/* version differs: get and try again */
};
/*
 * Merges value into the key's: with cas_version > 0 value is the complete
 * new state (instances missing from it become LEFT) and the key must still
 * be at that version. A change is broadcast and watchers are told.
 */
enum kv_cas_result kv_store_cas(struct kv_store *, const char *key, const struct ring_desc *,
		    uint64_t cas_version, uint64_t *new_version, struct err *);

/*
 * dskit's Delete: marks the key deleted at now_ms and broadcasts its whole
 * value so marked; readers see it absent from then on. KV_CAS_NO_CHANGE
 * when it is absent or deleted already.
 */
enum kv_cas_result kv_store_delete(struct kv_store *, const char *key, int64_t now_ms);
/*
 * dskit's cleanupObsoleteEntries: forgets the keys deleted more than
 * timeout_ms before now_ms (-memberlist.obsolete-entries-timeout); how many.
 */
size_t		 kv_store_remove_obsolete(struct kv_store *, int64_t now_ms, int64_t timeout_ms);

/* Watch a key, or every key starting with prefix: fn(arg, key) after each change. */
struct kv_watch	*kv_store_watch(struct kv_store *, const char *key, int prefix,
		    void (*fn)(void *arg, const char *key), void *arg);
void		 kv_store_unwatch(struct kv_store *, struct kv_watch *);

struct ml_delegate;
/* Fills the memberlist delegate with this store's hooks (below). */
void		 kv_store_ml_delegate(struct kv_store *, struct ml_delegate *);
/* memberlist delegate hooks. */
void		 kv_store_notify_msg(struct kv_store *, const uint8_t *, size_t);
void		 kv_store_local_state(struct kv_store *, struct buf *);
void		 kv_store_merge_remote_state(struct kv_store *, const uint8_t *, size_t);
size_t		 kv_store_get_broadcasts(struct kv_store *, size_t overhead, size_t limit,
		    struct buf *msgs, size_t *lens, size_t maxn);

/* Every key in order; fn returns nonzero to stop. */
void		 kv_store_foreach(struct kv_store *, int (*fn)(void *, const struct kv_key_info *),
		    void *arg);
void		 kv_store_stats(const struct kv_store *, struct kv_stats *);

/* A KeyValuePair for one value (the socket API and the tests use it too). */
void		 kv_pair_marshal(const char *key, const struct ring_desc *, int deleted,
		    int64_t update_time_ms, struct buf *out);

#endif
