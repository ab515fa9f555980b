/*
 * memberlist — SWIM membership with memberlist's Lifeguard additions,
 * wire-compatible with HashiCorp memberlist (specs/memberlist-wire.md §10):
 * probing with indirect probes, suspicion with confirmations, awareness,
 * incarnation refutation, gossip of alive/suspect/dead with the retransmit
 * limit, periodic and join-time push/pull carrying the delegate's state,
 * graceful leave and reaping.
 *
 * One thread: everything runs in the event loop of the base given.
 */
#ifndef RINGTAIL_MEMBERLIST_H
#define RINGTAIL_MEMBERLIST_H

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/gossip/mlwire.h"

struct event_base;
struct memberlist;
struct transport_opts;

/* Durations in milliseconds; defaults are dskit's (ml_config_default). */
struct ml_config {
	const char	*name;
	const char *const *bind_addrs;		/* nbind 0: 0.0.0.0 */
	size_t		 nbind;
	int		 bind_port;
	const char	*advertise_addr;	/* NULL or "": the first bind address (127.0.0.1 if unspecified) */
	int		 advertise_port;	/* 0: the bound port */
	int64_t		 probe_interval;
	int64_t		 probe_timeout;
	int		 indirect_checks;
	int		 retransmit_mult;
	int		 suspicion_mult;
	int		 suspicion_max_timeout_mult;
	int64_t		 gossip_interval;
	int		 gossip_nodes;
	int64_t		 gossip_to_dead_time;
	int64_t		 pushpull_interval;
	int64_t		 dead_node_reclaim_time;
	int64_t		 stream_timeout;
	int		 awareness_max;
	enum ml_compression compression;
	size_t		 packet_budget;		/* UDPBufferSize */
	const struct transport_opts *transport;	/* NULL: stock UDP packets and TCP streams */
	/*
	 * Cluster label (memberlist >= 0.3): sent before every packet and
	 * dialled stream; what arrives must carry the same (none for "")
	 * unless skip_label_check. Never set it with 0.2.2 peers: they drop
	 * labelled messages.
	 */
	const char	*label;
	int		 skip_label_check;
	struct ml_bytes	 meta;
	/*
	 * Node selection (grafana's memberlist fork; dskit's zone-aware
	 * routing): the nodes gossip and push/pull may pick, by their
	 * metadata, a preferred one picked first. NULL: every node.
	 */
	int		(*select_node)(void *arg, struct ml_bytes meta, int *preferred);
	void		*select_arg;
	int		 pushpull_nodes;	/* each push/pull round (the fork's PushPullNodes) */
};

void	ml_config_default(struct ml_config *);

/* What the program above (the KV store) plugs in; every hook may be NULL. */
struct ml_delegate {
	void	*arg;
	/* A user message (type 8) received. */
	void	(*notify_msg)(void *arg, struct ml_bytes);
	/* The user state for a push/pull (appended to out). */
	void	(*local_state)(void *arg, int join, struct buf *out);
	void	(*merge_remote_state)(void *arg, struct ml_bytes, int join);
	/* Queued user broadcasts for one packet, as bqueue_get. */
	size_t	(*get_broadcasts)(void *arg, size_t overhead, size_t limit, struct buf *msgs,
		    size_t *lens, size_t maxn);
	/* Membership changes: ML_STATE_ALIVE for a join or an update, else the new state. */
	void	(*notify_node)(void *arg, const char *name, enum ml_state, int update);
};

struct ml_member {
	const char	*name;
	char		 addr[64];	/* "ip:port" */
	enum ml_state	 state;
	uint32_t	 incarnation;
	int64_t		 state_change;	/* ms, CLOCK_REALTIME */
	struct ml_bytes	 meta;
	uint8_t		 vsn[ML_VSN_LEN];
};

struct ml_stats {
	uint64_t	 packets_received;
	uint64_t	 packets_refused;
	uint64_t	 label_mismatches;	/* packets and streams of another cluster */
	uint64_t	 messages_refused;
	uint64_t	 packets_sent;
	uint64_t	 bytes_received;	/* of packets */
	uint64_t	 bytes_sent;
	uint64_t	 pushpulls;
	uint64_t	 pushpull_errors;
	uint64_t	 probes_failed;
	int		 health_score;
	size_t		 queued_broadcasts;
};

struct memberlist *ml_create(struct event_base *, const struct ml_config *,
		    const struct ml_delegate *, struct err *);
/* The port bound (useful with bind_port 0). */
int		 ml_port(const struct memberlist *);
/*
 * Push/pull with Join=true to each "host:port" (host names resolve to
 * all their addresses); done(arg, joined) is called once all are answered.
 */
void		 ml_join(struct memberlist *, const char *const *addrs, size_t n,
		    void (*done)(void *arg, int joined), void *arg);
/*
 * Leave gracefully: broadcast our dead message and call done once it has
 * been sent the retransmit limit of times, or after timeout_ms, or at once
 * when nobody else is alive.
 */
void		 ml_leave(struct memberlist *, int64_t timeout_ms, void (*done)(void *arg),
		    void *arg);
/* Every node of the table, self included, by name; free(*out) after use. */
size_t		 ml_members(struct memberlist *, struct ml_member **out);
/* Alive nodes, self included (memberlist's NumMembers). */
size_t		 ml_num_alive(const struct memberlist *);
/* "alive", "suspect", "dead", "left". */
const char	*ml_state_name(enum ml_state);
void		 ml_stats(const struct memberlist *, struct ml_stats *);
/* The transport's own counters (lib/gossip/transport.h). */
struct transport_stats;
void		 ml_transport_stats(const struct memberlist *, struct transport_stats *);
const char	*ml_name(const struct memberlist *);
void		 ml_free(struct memberlist *);

#endif
