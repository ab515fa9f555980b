/*
 * desc — the ring descriptor as dskit keeps it in the KV store (ring.Desc
 * in proto/ring.proto) and its CRDT merge (dskit ring/model.go): the value
 * behind the "ringDesc" codec. Instances are kept sorted by ID.
 */
#ifndef RINGTAIL_RING_DESC_H
#define RINGTAIL_RING_DESC_H

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/tsdb/encoding.h"

enum ring_state {
	RING_ACTIVE = 0,
	RING_LEAVING = 1,
	RING_PENDING = 2,
	RING_JOINING = 3,
	RING_LEFT = 4,		/* tombstone */
};

struct ring_version {
	uint64_t	 component, version;
};

struct ring_instance {
	char		*id;			/* the map key */
	char		*addr;
	char		*zone;
	enum ring_state	 state;
	int64_t		 timestamp;		/* heartbeat, Unix seconds */
	int64_t		 registered_timestamp;
	int64_t		 read_only_updated_timestamp;
	int		 read_only;
	uint32_t	*tokens;		/* sorted, unique */
	size_t		 ntokens;
	struct ring_version *versions;		/* sorted by component */
	size_t		 nversions;
};

struct ring_desc {
	struct ring_instance *inst;		/* sorted by id */
	size_t		 n;
};

#define RING_CODEC_ID	"ringDesc"

void	ring_desc_init(struct ring_desc *);
void	ring_desc_free(struct ring_desc *);
void	ring_desc_clone(struct ring_desc *dst, const struct ring_desc *src);
/* The instance with this ID, or NULL. */
struct ring_instance *ring_desc_find(const struct ring_desc *, const char *id);
/* Adds or replaces (deep copy) the instance of the same ID. */
void	ring_desc_set(struct ring_desc *, const struct ring_instance *);
/* Removes the instance of this ID; 1 if it was there. */
int	ring_desc_remove(struct ring_desc *, const char *id);
int	ring_desc_equal(const struct ring_desc *, const struct ring_desc *);

/* Protobuf (dskit's field numbers) and the codec: snappy block of it. */
void	ring_desc_marshal(const struct ring_desc *, struct buf *out);
int	ring_desc_unmarshal(struct ring_desc *, const void *p, size_t n, struct err *);
void	ring_desc_encode(const struct ring_desc *, struct buf *out);
int	ring_desc_decode(struct ring_desc *, const void *p, size_t n, struct err *);
/*
 * The value as JSON the way Go encodes dskit's ring.Desc (json:"...,omitempty"
 * tags, state as its number, keys sorted), for json_dumps with
 * JSON_PRESERVE_ORDER; NULL without memory.
 */
struct json_t *ring_desc_json(const struct ring_desc *);

/*
 * dskit's Desc.Merge: merges other into d in place. Returns 1 and fills
 * change (the updated instances, final contents) when something changed,
 * 0 when nothing did. local_cas: other is the complete new state; local
 * instances missing from it become LEFT with timestamp now (Unix seconds).
 */
int	ring_desc_merge(struct ring_desc *d, const struct ring_desc *other, int local_cas,
	    int64_t now, struct ring_desc *change);
/* Token lists: ascending order for qsort/bsearch; sort and drop duplicates, new count. */
int	ring_token_cmp(const void *, const void *);
size_t	ring_tokens_sort(uint32_t *, size_t n);
/* Whether a sorted token list holds token. */
int	ring_tokens_has(const uint32_t *, size_t n, uint32_t token);
/*
 * Every token of d's instances as (token << 32 | instance index), sorted
 * by token and, within a token, by index (ID order); with skip_left, the
 * LEFT instances' are left out. NULL when there is no token; free it.
 */
uint64_t *ring_desc_sorted_tokens(const struct ring_desc *d, int skip_left, size_t *n);
/* Sorts and de-duplicates every token list; LEFT instances lose their tokens. */
void	ring_desc_normalize(struct ring_desc *);
/* Removes LEFT instances with timestamp < limit (all when limit is 0); returns how many. */
size_t	ring_desc_remove_tombstones(struct ring_desc *, int64_t limit);

#endif
