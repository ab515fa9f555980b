/*
 * lifecycler — an instance's life in the ring, as dskit's ring.Lifecycler
 * (specs/ring-kv.md §12): register (with the tokens file's tokens when it
 * has them), join after -ingester.join-after with fresh tokens, watch for
 * token conflicts during the observe period and replace the tokens lost,
 * heartbeat, answer readiness, and on shutdown go LEAVING, then
 * unregister. It runs in its own thread with its own KV client; the
 * daemon's thread only asks for readiness and tells it to leave and stop.
 */
#ifndef RINGTAIL_LIFECYCLER_H
#define RINGTAIL_LIFECYCLER_H

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/ring/desc.h"

struct kv;
struct metrics;

struct lifecycler_config {
	const char	*ring_key;		/* "ring" (the KV client adds -ring.prefix) */
	const char	*id;			/* -ingester.lifecycler.ID */
	const char	*addr;			/* host:port readers reach the instance at */
	const char	*zone;			/* -ingester.availability-zone */
	int		 num_tokens;		/* -ingester.num-tokens, 128 */
	const char	*tokens_file;		/* -ingester.tokens-file-path, "" = none */
	int64_t		 join_after_ms;
	int64_t		 observe_period_ms;
	int64_t		 heartbeat_period_ms;
	int64_t		 heartbeat_timeout_ms;	/* -ring.heartbeat-timeout */
	int64_t		 min_ready_duration_ms;
	int64_t		 final_sleep_ms;
	int		 unregister_on_shutdown;
	int		 readiness_check_ring_health;
};

struct lifecycler;

/*
 * Start the lifecycler's thread; it owns kv from now on. metrics (may be
 * NULL) gets Cortex's member metrics. NULL with e on a bad config.
 */
struct lifecycler *lifecycler_start(const struct lifecycler_config *, struct kv *kv,
	    struct metrics *, struct err *);
/*
 * dskit's CheckReady: 1 once the instance is ACTIVE with tokens, the ring
 * healthy (every instance ACTIVE and heartbeating, with
 * readiness_check_ring_health; else this one) and min_ready_duration has
 * passed since start; it stays 1 from then on. 0 with the reason in why.
 */
int	 lifecycler_ready(struct lifecycler *, char *why, size_t len);
enum ring_state lifecycler_state(struct lifecycler *);
/* Go LEAVING now (heartbeats go on): the first step of a shutdown. */
void	 lifecycler_leave(struct lifecycler *);
/*
 * The rest of the shutdown: final sleep, unregister when configured (in a
 * memberlist ring the entry becomes a LEFT tombstone), stop the thread,
 * free everything.
 */
void	 lifecycler_stop(struct lifecycler *);

/* The tokens file: JSON {"tokens":[...]}, as Cortex writes it. */
int	 tokens_file_load(const char *path, uint32_t **tokens, size_t *n, struct err *);
int	 tokens_file_store(const char *path, const uint32_t *tokens, size_t n, struct err *);

#endif
