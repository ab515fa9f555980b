/*
 * ring — the hash ring read from a ring descriptor, as dskit's ring.Ring
 * computes it (specs/ring-kv.md §13-14): health per operation, the
 * replication set of a key (replication factor, zone awareness, extension
 * past instances that are not ACTIVE, quorum), the replication set for
 * reading from all, token ownership, token generation, and the token of a
 * series as Cortex's distributor shards by all labels. The one
 * implementation every program uses.
 */
#ifndef RINGTAIL_RING_H
#define RINGTAIL_RING_H

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/ring/desc.h"
#include "lib/tsdb/labels.h"

enum ring_op {
	RING_OP_WRITE,			/* healthy: ACTIVE; extend on not ACTIVE */
	RING_OP_WRITE_NO_EXTEND,	/* healthy: ACTIVE; never extend */
	RING_OP_READ,			/* healthy: ACTIVE, PENDING, LEAVING; extend unless ACTIVE or LEAVING */
	RING_OP_REPORTING,		/* any state; heartbeat only */
};

struct ring_config {
	int		 replication_factor;	/* -distributor.replication-factor, 3 */
	int64_t		 heartbeat_timeout_ms;	/* -ring.heartbeat-timeout, 1m; 0 = never unhealthy */
	int		 zone_awareness;	/* -distributor.zone-awareness-enabled */
	const char	*excluded_zones;	/* comma-separated, or NULL */
};

/*
 * Healthy as dskit's IsHealthy: the state suits op and now − heartbeat ≤
 * timeout, computed as Go's time.Sub does (nanoseconds, saturating), so a
 * heartbeat in the future is healthy. A timeout of 0 disables the heartbeat
 * check as Cortex's ring does (dskit refuses 0 in its config).
 */
int	ring_instance_healthy(const struct ring_instance *, enum ring_op, int64_t now_ms,
	    int64_t heartbeat_timeout_ms);

/* A snapshot of a descriptor with its lookup structures; immutable. */
struct ring;

/*
 * Copies what it needs: desc may change or go afterwards. LEFT instances
 * and those of excluded zones are left out (dskit's memberlist client drops
 * tombstones before the ring sees them). A replication factor below 1 is
 * taken as 1. A token held by several instances belongs, as in dskit's
 * token map, to one of them: here always the last by ID.
 */
struct ring *ring_new(const struct ring_desc *, const struct ring_config *);
void	 ring_free(struct ring *);
/* The snapshot's instances (sorted by id). */
const struct ring_desc *ring_desc_of(const struct ring *);

struct ring_replication_set {
	const struct ring_instance **inst;	/* the ring's instances, in ring order */
	size_t		 n;
	size_t		 cap;
	int		 max_errors;		/* how many may fail */
	int		 max_unavailable_zones;	/* ring_replication_set_for_op with zones */
};
/* Frees inst; a zeroed set needs no init and may be reused across calls. */
void	ring_replication_set_free(struct ring_replication_set *);

/*
 * dskit's Ring.Get: the instances that hold key for op, walking clockwise
 * from the first token strictly greater than key. -1 with e ("at least N
 * live replicas required, could only find M") below quorum, or when the
 * ring has no tokens ("empty ring").
 */
int	ring_get(const struct ring *, uint32_t key, enum ring_op, int64_t now_ms,
	    struct ring_replication_set *out, struct err *);
/*
 * dskit's GetReplicationSetForOperation: every healthy instance (in ID
 * order), with the errors tolerated; with zone awareness, healthy instances
 * of zones with an unhealthy one are dropped, max_errors is 0 and
 * max_unavailable_zones tells how many more zones may fail. -1 with "empty
 * ring" or "too many unhealthy instances in the ring".
 */
int	ring_replication_set_for_op(const struct ring *, enum ring_op, int64_t now_ms,
	    struct ring_replication_set *out, struct err *);

/*
 * Ownership as the ring page shows it: the share of the token space each
 * instance owns within its zone (all instances in one zone without zone
 * awareness; dskit's page always groups by zone, the same when no instance
 * has one), out[i] for desc->inst[i]; zero without tokens or when LEFT.
 * As dskit's CountTokens: the range is divided by 2^32 − 1 (so a zone sums
 * to 2^32 / (2^32 − 1)), a lone token owns the whole ring, and a token held
 * twice counts a whole ring again for its owner (the last by ID).
 */
void	ring_ownership(const struct ring_desc *, int zone_awareness, double *out);

/*
 * n random tokens (arc4random) taken by no instance of desc (desc may be
 * NULL) nor in own, distinct, sorted; written to out. Returns n, or fewer
 * only when the token space runs out.
 */
size_t	ring_generate_tokens(const struct ring_desc *, const uint32_t *own, size_t nown,
	    uint32_t *out, size_t n);

/*
 * Cortex's shardByAllLabels: 32-bit FNV-1 (HashAdd32 multiplies, then xors:
 * not FNV-1a) over the tenant ID, then the name and value of each label
 * whose value is not empty, in the order given (sorted by name, as a
 * remote-write request carries them), with no separators.
 */
uint32_t ring_token_for_series(const char *tenant, const struct labels *);
/*
 * Cortex's shardByMetricName (-distributor.shard-by-all-labels=false): the
 * same hash over the tenant ID and the metric name only.
 */
uint32_t ring_token_for_metric(const char *tenant, const char *name, size_t len);

/* "ACTIVE", "LEAVING", ...; ring_state_parse: -1 when unknown. */
const char *ring_state_name(enum ring_state);
int	ring_state_parse(const char *);

#endif
