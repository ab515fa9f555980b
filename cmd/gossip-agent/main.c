/*
 * gossip-agent — one per node: speaks the HashiCorp memberlist protocol to
 * its peers, keeps the memberlist KV store (the ring) and serves it to
 * the local programs on a Unix socket; see gossip-agent(1).
 *
 *   main        flags and -config.file, then:
 *   configure   check the values, fill the memberlist config
 *   setup       KV store, memberlist, the socket, HTTP, signals, join
 *   (loop)      libevent: gossip, probes, push/pull, socket, HTTP, signals
 *   (SIGTERM)   leave: our dead message is gossiped, then the loop ends
 */
#include <sys/stat.h>

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/base/backoff.h"
#include "lib/base/clock.h"
#include "lib/base/config.h"
#include "lib/base/flags.h"
#include "lib/base/httpd.h"
#include "lib/base/log.h"
#include "lib/base/metrics.h"
#include "lib/base/xmalloc.h"
#include "lib/gossip/dnssd.h"
#include "lib/gossip/memberlist.h"
#include "lib/gossip/transport.h"
#include "lib/gossip/zone.h"
#include "lib/kv/api.h"
#include "lib/kv/history.h"
#include "lib/kv/status.h"
#include "lib/kv/store.h"

#define USAGE	"gossip-agent [-config.file FILE] [-memberlist.join HOST:PORT]... [flags]"

#define EXIT_OK		0
#define EXIT_JOIN	1	/* -memberlist.abort-if-join-fails and nobody answered */
#define EXIT_USAGE	100
#define EXIT_SYSTEM	111

/* How often the free pages inside the heap go back to the kernel (on_trim). */
#define TRIM_INTERVAL_MS	10000

struct opts {
	const char	*config_file;
	const char	*log_level;
	const char	*run_dir;
	const char	*listen_addr;
	int64_t		 listen_port;
	const char	*transport;
	int64_t		 packet_dial_timeout;
	int64_t		 packet_write_timeout;
	int64_t		 max_concurrent_writes;
	int64_t		 acquire_writer_timeout;
	struct transport_opts tr;
	struct strlist	 join;
	int		 abort_if_join_fails;
	int		 abort_if_fast_join_fails;
	int64_t		 rejoin_interval;
	int64_t		 min_join_backoff;
	int64_t		 max_join_backoff;
	int64_t		 max_join_retries;
	const char	*nodename;
	int		 randomize;
	struct strlist	 bind_addr;
	int64_t		 bind_port;
	const char	*advertise_addr;
	int64_t		 advertise_port;
	int64_t		 gossip_interval;
	int64_t		 gossip_nodes;
	int64_t		 pullpush_interval;
	int64_t		 retransmit_factor;
	int64_t		 gossip_to_dead;
	int64_t		 dead_reclaim;
	int		 compression;
	const char	*compression_algorithm;
	int64_t		 stream_timeout;
	int64_t		 probe_interval;
	int64_t		 probe_timeout;
	int64_t		 leave_timeout;
	int64_t		 local_updates_timeout;
	int64_t		 left_ingesters_timeout;
	int64_t		 obsolete_timeout;
	int64_t		 notify_interval;
	int64_t		 history_bytes;
	const char	*cluster_label;
	int		 label_check_disabled;
	int		 zone_routing;
	const char	*zone;
	const char	*zone_role;
};

/* dskit's TCP transport counters (kv/memberlist/tcp_transport.go). */
static const struct {
	const char	*name;
	const char	*help;
	size_t		 off;
} tcp_counters[] = {
	{ "memberlist_tcp_transport_packets_sent_total", "Number of memberlist packets sent",
	    offsetof(struct transport_stats, packets_sent) },
	{ "memberlist_tcp_transport_packets_sent_errors_total",
	    "Number of errors when sending memberlist packets",
	    offsetof(struct transport_stats, send_errors) },
	{ "memberlist_tcp_transport_packets_dropped_total", "Number of dropped memberlist "
	    "packets. These packets were not sent due to timeout waiting for a writer.",
	    offsetof(struct transport_stats, packets_dropped) },
	{ "memberlist_tcp_transport_packets_received_total",
	    "Number of received memberlist packets",
	    offsetof(struct transport_stats, packets_received) },
	{ "memberlist_tcp_transport_packets_received_errors_total",
	    "Number of errors when receiving memberlist packets",
	    offsetof(struct transport_stats, packet_errors) },
	{ "memberlist_tcp_transport_unknown_connections_total",
	    "Number of unknown TCP connections (not a packet or stream)",
	    offsetof(struct transport_stats, unknown_connections) },
	{ "memberlist_tcp_transport_incoming_streams_total",
	    "Number of incoming memberlist streams",
	    offsetof(struct transport_stats, incoming_streams) },
	{ "memberlist_tcp_transport_outgoing_streams_total", "Number of outgoing streams",
	    offsetof(struct transport_stats, outgoing_streams) },
};
#define NTCP_COUNTERS	(sizeof(tcp_counters) / sizeof(tcp_counters[0]))

struct agent {
	struct opts		 o;
	struct ml_config	 cfg;
	struct zone_routing	 zone;
	uint8_t			 zone_meta[ZONE_META_MAX];
	char			 name[300];
	struct event_base	*base;
	struct memberlist	*ml;
	struct kv_store		*kv;
	struct kv_history	*history;
	struct kv_status	 status;		/* /memberlist */
	struct kv_api		*api;
	char			 sock_path[4096];
	struct httpd		*httpd;
	struct metrics		*metrics;
	struct metric		*members, *health, *queue, *rx, *refused, *pushpulls;
	struct metric		*kv_queue_local, *kv_queue_gossip, *kv_received, *kv_received_bytes;
	struct metric		*kv_invalid, *kv_cas_attempt, *kv_cas_success, *kv_cas_failure;
	struct metric		*kv_pushes, *kv_push_bytes, *kv_pulls, *kv_pull_bytes, *kv_count;
	struct metric_family	*kv_tombstones, *kv_tombstones_removed;
	struct metric		*kv_queue_bytes, *sock_refused, *bytes_rx, *bytes_tx, *label_mismatch;
	struct metric		*tcp[NTCP_COUNTERS];	/* with -memberlist.transport=tcp */
	struct metric		*by_state[4], *tx, *kv_merges, *kv_unknown_codec;
	struct event		*sig_term, *sig_int, *rejoin, *join_retry, *drain, *obsolete,
				*trim;
	int64_t			 drain_deadline, drain_logged;	/* ms, monotonic */
	struct backoff		 join_backoff;
	int			 joined;	/* the join at start is done, retries included */
	int			 stopping;
	int			 exit_code;
};

/* dskit's -memberlist.zone-aware-routing.*: our zone and role in our metadata, routed gossip. */
static int
configure_zones(struct agent *a)
{
	struct ml_config *c = &a->cfg;
	struct err e;

	if (!a->o.zone_routing)
		return EXIT_OK;
	if (zone_routing_init(&a->zone, a->o.zone_role, a->o.zone, &e) == -1) {
		log_error("bad -memberlist.zone-aware-routing.* settings", "err=%s", log_q(e.msg));
		return EXIT_USAGE;
	}
	c->meta = (struct ml_bytes){ a->zone_meta, zone_meta_encode(&a->zone, a->zone_meta) };
	c->select_node = zone_select;
	c->select_arg = &a->zone;
	/* A bridge push/pulls with a bridge of another zone and a node at random (dskit). */
	c->pushpull_nodes = a->zone.role == ZONE_BRIDGE ? 2 : 1;
	log_info("zone-aware routing enabled", "zone=%s role=%s", log_q(a->zone.zone),
	    a->o.zone_role);
	return EXIT_OK;
}

static int
configure(struct agent *a)
{
	struct opts *o = &a->o;
	struct ml_config *c = &a->cfg;
	enum log_level lv;
	char host[256];

	if (log_level_parse(o->log_level, &lv) == -1) {
		log_error("bad -log.level: want debug, info, warn or error", "value=%s",
		    log_q(o->log_level));
		return EXIT_USAGE;
	}
	log_init("gossip-agent", lv);
	transport_opts_default(&o->tr);
	if (transport_mode_parse(o->transport, &o->tr.mode) == -1) {
		log_error("bad -memberlist.transport: want tcp (dskit's) or udp (memberlist's "
		    "own UDP+TCP)", "value=%s", log_q(o->transport));
		return EXIT_USAGE;
	}
	if (o->packet_dial_timeout < 0 || o->packet_write_timeout < 0 ||
	    o->acquire_writer_timeout < 0 || o->packet_dial_timeout > INT32_MAX ||
	    o->packet_write_timeout > INT32_MAX || o->acquire_writer_timeout > INT32_MAX ||
	    o->max_concurrent_writes > 1000) {
		log_error("bad tcp transport setting: timeouts must not be negative, at most "
		    "1000 concurrent writes", "%s", "");
		return EXIT_USAGE;
	}
	o->tr.packet_dial_timeout = (int)o->packet_dial_timeout;
	o->tr.packet_write_timeout = (int)o->packet_write_timeout;
	o->tr.max_concurrent_writes = (int)o->max_concurrent_writes;
	o->tr.acquire_writer_timeout = (int)o->acquire_writer_timeout;
	if (o->bind_port < 0 || o->bind_port > 65535 || o->advertise_port < 0 ||
	    o->advertise_port > 65535 || o->listen_port < 0 || o->listen_port > 65535) {
		log_error("bad port: want 0 to 65535", "bind_port=%lld advertise_port=%lld "
		    "http_port=%lld", (long long)o->bind_port, (long long)o->advertise_port,
		    (long long)o->listen_port);
		return EXIT_USAGE;
	}
	if (o->gossip_interval <= 0 || o->probe_interval <= 0 || o->probe_timeout <= 0 ||
	    o->probe_timeout >= o->probe_interval || o->pullpush_interval <= 0 ||
	    o->gossip_nodes < 1 || o->retransmit_factor < 1) {
		log_error("bad timing: intervals must be positive, the probe timeout shorter "
		    "than the probe interval, gossip nodes and retransmit factor at least 1", "%s", "");
		return EXIT_USAGE;
	}
	if (*o->nodename != '\0')
		snprintf(host, sizeof(host), "%s", o->nodename);
	else if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "ringtail");
	/* dskit's -memberlist.randomize-node-name: a restart is a new member. */
	if (o->randomize)
		snprintf(a->name, sizeof(a->name), "%s-%08x", host, arc4random());
	else
		snprintf(a->name, sizeof(a->name), "%s", host);
	ml_config_default(c);
	c->name = a->name;
	c->bind_addrs = (const char *const *)o->bind_addr.v;
	c->nbind = o->bind_addr.n;
	c->bind_port = (int)o->bind_port;
	c->advertise_addr = o->advertise_addr;
	c->advertise_port = (int)o->advertise_port;
	c->gossip_interval = o->gossip_interval;
	c->gossip_nodes = (int)o->gossip_nodes;
	c->pushpull_interval = o->pullpush_interval;
	c->retransmit_mult = (int)o->retransmit_factor;
	c->gossip_to_dead_time = o->gossip_to_dead;
	c->dead_node_reclaim_time = o->dead_reclaim;
	if (ml_compression_parse(o->compression_algorithm, &c->compression) == -1) {
		log_error("invalid memberlist compression algorithm: want lzw or snappy",
		    "value=%s", log_q(o->compression_algorithm));
		return EXIT_USAGE;
	}
	if (!o->compression)
		c->compression = ML_COMPRESS_OFF;
	c->stream_timeout = o->stream_timeout;
	c->probe_interval = o->probe_interval;
	c->probe_timeout = o->probe_timeout;
	c->transport = &o->tr;
	/* dskit: packets are TCP connections, so broadcasts batch freely. */
	if (o->tr.mode == TRANSPORT_TCP)
		c->packet_budget = 10u << 20;
	if (o->min_join_backoff < 0 || o->max_join_backoff < 0 || o->max_join_retries < 0 ||
	    o->max_join_retries > INT32_MAX) {
		log_error("bad join retries: -memberlist.min-join-backoff, -memberlist.max-join-backoff "
		    "and -memberlist.max-join-retries must not be negative", "%s", "");
		return EXIT_USAGE;
	}
	if (o->obsolete_timeout < 0 || o->notify_interval < 0) {
		log_error("bad -memberlist.obsolete-entries-timeout or -memberlist.notify-interval: "
		    "must not be negative", "%s", "");
		return EXIT_USAGE;
	}
	if (o->history_bytes < 0) {
		log_error("bad -memberlist.message-history-buffer-bytes: must not be negative",
		    "value=%lld", (long long)o->history_bytes);
		return EXIT_USAGE;
	}
	c->label = o->cluster_label;
	c->skip_label_check = o->label_check_disabled;
	if (strlen(o->cluster_label) > 255) {
		log_error("bad -memberlist.cluster-label: at most 255 bytes", "length=%zu",
		    strlen(o->cluster_label));
		return EXIT_USAGE;
	}
	return configure_zones(a);
}

static void	on_join(void *, int);

/* Each join, retries and rejoins included, looks up dns+ and dnssrv+ names again (dskit). */
static void
join(struct agent *a)
{
	struct strlist addrs = { 0 };

	dnssd_expand((const char *const *)a->o.join.v, a->o.join.n, &addrs);
	ml_join(a->ml, (const char *const *)addrs.v, addrs.n, on_join, a);
	strlist_free(&addrs);
}

static void
join_failed(struct agent *a, const char *what, int abort)
{
	a->joined = 1;
	log_error(what, "addresses=%zu retries=%d", a->o.join.n, a->join_backoff.retries);
	if (abort) {
		a->exit_code = EXIT_JOIN;
		event_base_loopbreak(a->base);
	}
}

/*
 * As dskit: the join at start is retried with backoff before it fails;
 * a failed rejoin (-memberlist.rejoin-interval) is only logged. The first
 * try is dskit's fast join: every address at once, not a few in turn.
 */
static void
on_join(void *arg, int joined)
{
	struct agent *a = arg;
	struct timeval tv;
	int64_t delay;

	if (joined > 0) {
		log_info("joined the cluster", "nodes_contacted=%d members=%zu", joined,
		    ml_num_alive(a->ml));
		a->joined = 1;
		evtimer_del(a->join_retry);
		return;
	}
	if (a->joined) {
		log_warn("re-joining the cluster failed: no address answered", "addresses=%zu",
		    a->o.join.n);
		return;
	}
	if (a->o.abort_if_fast_join_fails && a->join_backoff.retries == 0) {
		join_failed(a, "fast-joining the cluster failed: no address answered", 1);
		return;
	}
	/* dskit: 0 retries means none (its backoff alone would read it as forever). */
	if (a->o.max_join_retries > 0 && backoff_ongoing(&a->join_backoff)) {
		delay = backoff_next_delay(&a->join_backoff);
		log_warn("joining the cluster failed: no address answered; retrying",
		    "addresses=%zu retry=%d max_retries=%d in_ms=%lld", a->o.join.n,
		    a->join_backoff.retries, a->join_backoff.max_retries, (long long)delay);
		tv.tv_sec = delay / 1000;
		tv.tv_usec = delay % 1000 * 1000;
		evtimer_add(a->join_retry, &tv);
		return;
	}
	join_failed(a, "joining the cluster failed: no address answered",
	    a->o.abort_if_join_fails);
}

static void
on_join_retry(evutil_socket_t fd, short what, void *arg)
{
	join(arg);
}

static void
on_rejoin(evutil_socket_t fd, short what, void *arg)
{
	join(arg);
}

static void
on_left(void *arg)
{
	struct agent *a = arg;

	log_info("left the cluster", "node=%s", log_q(a->name));
	event_base_loopexit(a->base, NULL);
}

/*
 * dskit's stopping: the KV changes made here (a LEFT from the lifecycler)
 * go out before the leave, for at most -memberlist.broadcast-timeout-for-
 * local-updates-on-shutdown, and only while someone is there to hear them.
 */
static void
on_drain(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	struct timeval tv = { 0, 250 * 1000 };
	size_t nodes = ml_num_alive(a->ml);
	int64_t now = clock_mono_ms();
	struct kv_stats st;

	kv_store_stats(a->kv, &st);
	if (st.queued_local > 0 && nodes > 1 && (a->o.local_updates_timeout <= 0 ||
	    now < a->drain_deadline)) {
		if (now - a->drain_logged >= 1000) {	/* dskit logs every 250 ms */
			log_info("waiting for locally-generated broadcast messages to be sent out",
			    "count=%zu nodes=%zu", st.queued_local, nodes);
			a->drain_logged = now;
		}
		evtimer_add(a->drain, &tv);
		return;
	}
	if (st.queued_local > 0)
		log_warn("locally-generated broadcast messages left the queue", "count=%zu nodes=%zu",
		    st.queued_local, nodes);
	log_info("leaving the cluster", "timeout=%lldms", (long long)a->o.leave_timeout);
	ml_leave(a->ml, a->o.leave_timeout, on_left, a);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct agent *a = arg;
	int64_t now = clock_mono_ms();

	if (a->stopping)
		return;
	a->stopping = 1;
	log_info("stopping", "signal=%s", sig == SIGTERM ? "TERM" : "INT");
	httpd_stop_listening(a->httpd);
	a->drain_deadline = now + a->o.local_updates_timeout;
	a->drain_logged = now - 1000;
	a->drain = evtimer_new(a->base, on_drain, a);
	event_active(a->drain, EV_TIMEOUT, 0);
}

static void
on_ready(struct httpd_req *r, void *arg)
{
	struct agent *a = arg;

	if (!a->joined)
		httpd_reply_text(r, 503, "joining the cluster");
	else
		httpd_reply_text(r, 200, "ready");
}

static int
collect_key(void *arg, const struct kv_key_info *ki)
{
	struct agent *a = arg;

	metric_set(metric_with(a->kv_tombstones, ki->key), (double)ki->tombstones);
	metric_set(metric_with(a->kv_tombstones_removed, ki->key), (double)ki->tombstones_removed);
	return 0;
}

static void
collect_kv(struct agent *a)
{
	struct kv_stats ks;
	struct usock_stats us;
	uint64_t events;

	kv_store_stats(a->kv, &ks);
	kv_api_stats(a->api, &us, &events);
	metric_set(a->kv_queue_local, (double)ks.queued_local);
	metric_set(a->kv_queue_gossip, (double)ks.queued_gossip);
	metric_set(a->kv_received, (double)ks.received);
	metric_set(a->kv_received_bytes, (double)ks.received_bytes);
	metric_set(a->kv_invalid, (double)(ks.invalid + ks.unknown_codec));
	metric_set(a->kv_unknown_codec, (double)ks.unknown_codec);
	metric_set(a->kv_merges, (double)ks.merges);
	metric_set(a->kv_cas_attempt, (double)(ks.cas_attempts));
	metric_set(a->kv_cas_success, (double)ks.cas);
	metric_set(a->kv_cas_failure, (double)ks.cas_failed);
	metric_set(a->kv_pushes, (double)ks.pushes);
	metric_set(a->kv_push_bytes, (double)ks.push_bytes);
	metric_set(a->kv_pulls, (double)ks.pulls);
	metric_set(a->kv_pull_bytes, (double)ks.pull_bytes);
	metric_set(a->kv_count, (double)ks.keys);
	metric_set(a->kv_queue_bytes, (double)ks.queued_bytes);
	kv_store_foreach(a->kv, collect_key, a);
	metric_set(a->sock_refused, (double)(us.refused_peer + us.refused_frame));
}

static void
collect_members(struct agent *a)
{
	struct ml_member *v;
	size_t n = ml_members(a->ml, &v), count[4] = { 0 };

	for (size_t i = 0; i < n; i++)
		if ((unsigned)v[i].state < 4)
			count[v[i].state]++;
	for (int s = 0; s < 4; s++)
		metric_set(a->by_state[s], (double)count[s]);
	free(v);
}


static void
collect_tcp(struct agent *a)
{
	struct transport_stats ts;

	if (a->tcp[0] == NULL)
		return;
	ml_transport_stats(a->ml, &ts);
	for (size_t i = 0; i < NTCP_COUNTERS; i++)
		metric_set(a->tcp[i], (double)*(const uint64_t *)((const char *)&ts +
		    tcp_counters[i].off));
}

static void
collect(void *arg)
{
	struct agent *a = arg;
	struct ml_stats st;

	ml_stats(a->ml, &st);
	metric_set(a->members, (double)ml_num_alive(a->ml));
	metric_set(a->health, st.health_score);
	metric_set(a->queue, (double)st.queued_broadcasts);
	metric_set(a->rx, (double)st.packets_received);
	metric_set(a->refused, (double)(st.packets_refused + st.messages_refused));
	metric_set(a->pushpulls, (double)st.pushpulls);
	metric_set(a->bytes_rx, (double)st.bytes_received);
	metric_set(a->bytes_tx, (double)st.bytes_sent);
	metric_set(a->label_mismatch, (double)st.label_mismatches);
	metric_set(a->tx, (double)st.packets_sent);
	collect_members(a);
	collect_kv(a);
	collect_tcp(a);
}

static void
on_metrics(struct httpd_req *r, void *arg)
{
	struct agent *a = arg;

	httpd_reply_metrics(r, a->metrics);
}

static struct metric *
gauge(struct metrics *m, enum metric_type type, const char *name, const char *help)
{
	return metric_with(metrics_family(m, type, name, help, NULL, NULL, 0));
}

/* dskit's memberlist_client_* names (kv/memberlist/metrics.go). */
static void
setup_kv_metrics(struct agent *a, struct metrics *m)
{
	static const char *const queue_label[] = { "queue", NULL }, *const key_label[] = { "key", NULL };
	struct metric_family *q = metrics_family(m, METRIC_GAUGE,
	    "memberlist_client_messages_in_broadcast_queue",
	    "Number of user messages in the broadcast queue", queue_label, NULL, 0);

	a->kv_queue_local = metric_with(q, "local");
	a->kv_queue_gossip = metric_with(q, "gossip");
	a->kv_received = gauge(m, METRIC_COUNTER, "memberlist_client_received_broadcasts_total",
	    "Number of received broadcast user messages");
	a->kv_received_bytes = gauge(m, METRIC_COUNTER,
	    "memberlist_client_received_broadcasts_bytes_total",
	    "Total size of received broadcast user messages");
	a->kv_invalid = gauge(m, METRIC_COUNTER, "memberlist_client_received_broadcasts_invalid_total",
	    "Number of received broadcast user messages that were invalid. Hopefully 0.");
	a->kv_merges = gauge(m, METRIC_COUNTER, "ringtail_kv_merges_total",
	    "Received updates and states whose merge changed the store.");
	a->kv_unknown_codec = gauge(m, METRIC_COUNTER, "ringtail_kv_unknown_codec_total",
	    "Received key-value pairs dropped because of a codec other than ringDesc.");
	a->kv_cas_attempt = gauge(m, METRIC_COUNTER, "memberlist_client_cas_attempt_total",
	    "Attempted CAS operations");
	a->kv_cas_success = gauge(m, METRIC_COUNTER, "memberlist_client_cas_success_total",
	    "Successful CAS operations");
	a->kv_cas_failure = gauge(m, METRIC_COUNTER, "memberlist_client_cas_failure_total",
	    "Failed CAS operations");
	a->kv_pushes = gauge(m, METRIC_COUNTER, "memberlist_client_state_pushes_total",
	    "How many times did this node push its full state to another node");
	a->kv_push_bytes = gauge(m, METRIC_COUNTER, "memberlist_client_state_pushes_bytes_total",
	    "Total size of pushed state");
	a->kv_pulls = gauge(m, METRIC_COUNTER, "memberlist_client_state_pulls_total",
	    "How many times did this node pull full state from another node");
	a->kv_pull_bytes = gauge(m, METRIC_COUNTER, "memberlist_client_state_pulls_bytes_total",
	    "Total size of pulled state");
	a->kv_count = gauge(m, METRIC_GAUGE, "memberlist_client_kv_store_count",
	    "Number of values in KV Store");
	a->kv_tombstones = metrics_family(m, METRIC_GAUGE, "memberlist_client_kv_store_value_tombstones",
	    "Number of tombstones currently present in KV store values", key_label, NULL, 0);
	a->kv_tombstones_removed = metrics_family(m, METRIC_COUNTER,
	    "memberlist_client_kv_store_value_tombstones_removed_total",
	    "Total number of tombstones which have been removed from KV store values", key_label,
	    NULL, 0);
	a->kv_queue_bytes = gauge(m, METRIC_GAUGE, "memberlist_client_messages_in_broadcast_queue_bytes",
	    "Total size of messages waiting in the broadcast queue");
	a->sock_refused = gauge(m, METRIC_COUNTER, "ringtail_agent_socket_refused_total",
	    "Unix socket clients refused: another uid, or an oversized frame.");
}

static void
setup_metrics(struct agent *a)
{
	struct metrics *m = a->metrics = metrics_create();

	metrics_add_process(m);
	a->members = gauge(m, METRIC_GAUGE, "memberlist_client_cluster_members_count",
	    "Number of members in memberlist cluster.");
	a->health = gauge(m, METRIC_GAUGE, "memberlist_client_cluster_node_health_score",
	    "Health score of this cluster. Lower value is better. 0 = healthy");
	a->queue = gauge(m, METRIC_GAUGE, "ringtail_memberlist_messages_in_broadcast_queue",
	    "Memberlist's own messages (alive, suspect, dead) waiting to be gossiped.");
	a->rx = gauge(m, METRIC_COUNTER, "ringtail_memberlist_packets_received_total",
	    "Memberlist packets received.");
	a->refused = gauge(m, METRIC_COUNTER, "ringtail_memberlist_packets_refused_total",
	    "Memberlist packets and messages refused (bad CRC, label, compression or encoding).");
	a->pushpulls = gauge(m, METRIC_COUNTER, "ringtail_memberlist_pushpulls_total",
	    "Push/pull state exchanges merged.");
	a->bytes_rx = gauge(m, METRIC_COUNTER, "ringtail_memberlist_packet_bytes_received_total",
	    "Bytes of memberlist packets received (streams not included).");
	a->bytes_tx = gauge(m, METRIC_COUNTER, "ringtail_memberlist_packet_bytes_sent_total",
	    "Bytes of memberlist packets sent (streams not included).");
	{
		static const char *const state_label[] = { "state", NULL };
		struct metric_family *f = metrics_family(m, METRIC_GAUGE, "ringtail_memberlist_members",
		    "Members this node knows, by state.", state_label, NULL, 0);

		for (int s = 0; s < 4; s++)
			a->by_state[s] = metric_with(f, ml_state_name((enum ml_state)s));
	}
	a->tx = gauge(m, METRIC_COUNTER, "ringtail_memberlist_packets_sent_total",
	    "Memberlist packets sent.");
	a->label_mismatch = gauge(m, METRIC_COUNTER, "ringtail_memberlist_cluster_label_mismatches_total",
	    "Packets and streams refused because they carry another cluster label.");
	setup_kv_metrics(a, m);
	for (size_t i = 0; a->o.tr.mode == TRANSPORT_TCP &&
	    i < NTCP_COUNTERS; i++)
		a->tcp[i] = gauge(m, METRIC_COUNTER, tcp_counters[i].name, tcp_counters[i].help);
	metrics_on_collect(m, collect, a);
}

static size_t
num_members(void *arg)
{
	struct agent *a = arg;

	return a->ml != NULL ? ml_num_alive(a->ml) : 1;
}

/* <run-dir>/gossip-agent.sock, the run dir created 0755 when missing. */
static int
setup_socket(struct agent *a)
{
	struct err e;

	if (mkdir(a->o.run_dir, 0755) == -1 && errno != EEXIST) {
		log_error("cannot create the run dir", "dir=%s err=%s", log_q(a->o.run_dir),
		    log_q(strerror(errno)));
		return EXIT_SYSTEM;
	}
	snprintf(a->sock_path, sizeof(a->sock_path), "%s/%s", a->o.run_dir, KV_API_SOCKET);
	if ((a->api = kv_api_listen(a->base, a->sock_path, a->kv, a->ml, a->o.notify_interval,
	    &e)) == NULL) {
		log_error("cannot listen on the unix socket", "err=%s", log_q(e.msg));
		return EXIT_SYSTEM;
	}
	return EXIT_OK;
}

#ifdef __GLIBC__
/*
 * The agent's large buffers (a push/pull state, a decoded ring) come and go
 * every push/pull. glibc raises its mmap threshold once such a buffer is
 * freed, so the later ones land in the heap, which then does not shrink:
 * at 300 instances that doubled the agent's anonymous memory. A fixed
 * threshold gives them back to the kernel; the agent is not allocation-bound.
 */
static void
malloc_return_large(void)
{
	mallopt(M_MMAP_THRESHOLD, 64 << 10);
	mallopt(M_TRIM_THRESHOLD, 128 << 10);
}

/*
 * A push/pull's state is decoded and merged in small pieces, freed between
 * the ones kept: free pages inside the heap that glibc's trim, which only
 * cuts the top, never gives back. malloc_trim does, as Go's scavenger gives
 * back its free spans: at 101 members and a 300-instance ring, 0.3 MB of
 * the agent's 1.3 MB anonymous memory. It walks a heap of about a megabyte.
 */
static void
on_trim(evutil_socket_t fd, short what, void *arg)
{
	malloc_trim(0);
}
#else
/*
 * musl (make static-agent): mallocng maps large buffers on their own and
 * gives freed pages back to the kernel by itself; there is nothing to tune.
 */
static void
malloc_return_large(void)
{
}
#endif

/* dskit's cleanupObsoleteEntries ticker. */
static void
on_obsolete(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	size_t n = kv_store_remove_obsolete(a->kv, clock_wall_ms(), a->o.obsolete_timeout);

	if (n > 0)
		log_info("forgot deleted keys", "keys=%zu obsolete_entries_timeout_ms=%lld", n,
		    (long long)a->o.obsolete_timeout);
}

static struct event *
every(struct agent *a, int64_t ms, event_callback_fn fn)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	struct event *ev = event_new(a->base, -1, EV_PERSIST, fn, a);

	event_add(ev, &tv);
	return ev;
}

static int
setup(struct agent *a)
{
	struct kv_config kvc = { 0 };
	struct ml_delegate d;
	struct sigaction sa;
	struct err e;

	malloc_return_large();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	if ((a->base = event_base_new()) == NULL) {
		log_error("cannot create the event loop", "%s", "");
		return EXIT_SYSTEM;
	}
	setup_metrics(a);
	kvc.left_ingesters_timeout_ms = a->o.left_ingesters_timeout;
	kvc.retransmit_mult = (int)a->o.retransmit_factor;
	kvc.num_members = num_members;
	kvc.arg = a;
	kvc.history = a->history = kv_history_new((size_t)a->o.history_bytes);
	a->kv = kv_store_new(&kvc);
	kv_store_ml_delegate(a->kv, &d);
	if ((a->ml = ml_create(a->base, &a->cfg, &d, &e)) == NULL) {
		log_error("cannot start memberlist", "err=%s", log_q(e.msg));
		return EXIT_SYSTEM;
	}
	if (setup_socket(a) != EXIT_OK)
		return EXIT_SYSTEM;
	a->httpd = httpd_create(a->base, a->metrics, 1 << 20);
	httpd_route(a->httpd, "/metrics", "metrics", HTTPD_GET, on_metrics, a);
	httpd_route(a->httpd, "/ready", "ready", HTTPD_GET, on_ready, a);
	a->status = (struct kv_status){ a->ml, a->kv, a->history,
	    a->o.zone_routing ? &a->zone : NULL };
	kv_status_route(a->httpd, &a->status);
	if (httpd_bind(a->httpd, a->o.listen_addr, (int)a->o.listen_port, &e) == -1) {
		log_error("cannot listen", "err=%s", log_q(e.msg));
		return EXIT_SYSTEM;
	}
	log_info("started", "node=%s memberlist_port=%d http_port=%d", log_q(a->name),
	    ml_port(a->ml), httpd_port(a->httpd));
	a->sig_term = evsignal_new(a->base, SIGTERM, on_signal, a);
	a->sig_int = evsignal_new(a->base, SIGINT, on_signal, a);
	event_add(a->sig_term, NULL);
	event_add(a->sig_int, NULL);
	if (a->o.obsolete_timeout > 0)
		a->obsolete = every(a, a->o.obsolete_timeout, on_obsolete);
#ifdef __GLIBC__
	a->trim = every(a, TRIM_INTERVAL_MS, on_trim);
#endif
	if (a->o.join.n == 0) {
		a->joined = 1;
		return EXIT_OK;
	}
	backoff_init(&a->join_backoff, a->o.min_join_backoff, a->o.max_join_backoff,
	    (int)a->o.max_join_retries);
	a->join_retry = evtimer_new(a->base, on_join_retry, a);
	join(a);
	if (a->o.rejoin_interval > 0)
		a->rejoin = every(a, a->o.rejoin_interval, on_rejoin);
	return EXIT_OK;
}

static void
teardown(struct agent *a)
{
	if (a->rejoin != NULL)
		event_free(a->rejoin);
	if (a->join_retry != NULL)
		event_free(a->join_retry);
	if (a->drain != NULL)
		event_free(a->drain);
	if (a->obsolete != NULL)
		event_free(a->obsolete);
	if (a->trim != NULL)
		event_free(a->trim);
	if (a->sig_term != NULL) {
		event_free(a->sig_term);
		event_free(a->sig_int);
	}
	httpd_free(a->httpd);
	kv_api_free(a->api);
	ml_free(a->ml);
	kv_store_free(a->kv);
	kv_history_free(a->history);
	if (a->base != NULL)
		event_base_free(a->base);
	metrics_free(a->metrics);
	strlist_free(&a->o.join);
	strlist_free(&a->o.bind_addr);
}

int
main(int argc, char **argv)
{
	static struct agent a;
	struct opts *o = &a.o;
	struct config *cfg = NULL;
	int rc;
	const struct flag flags[] = {
		NODE_FLAGS(o, "info"),
		HTTP_FLAGS(o),
		{ "memberlist.transport", FLAG_STRING, &o->transport, "tcp",
		    "tcp: dskit's, every packet and stream a TCP connection, no UDP (Cortex, Mimir, "
		    "Loki); udp: memberlist's own UDP packets and TCP streams" },
		{ "memberlist.packet-dial-timeout", FLAG_DURATION, &o->packet_dial_timeout, "2s",
		    "tcp transport: timeout of connecting to another node to send a packet" },
		{ "memberlist.packet-write-timeout", FLAG_DURATION, &o->packet_write_timeout, "5s",
		    "tcp transport: timeout of writing a packet" },
		{ "memberlist.max-concurrent-writes", FLAG_INT, &o->max_concurrent_writes, "3",
		    "tcp transport: packets being sent at once" },
		{ "memberlist.acquire-writer-timeout", FLAG_DURATION, &o->acquire_writer_timeout,
		    "250ms", "tcp transport: how long a packet waits for a free writer before it "
		    "is dropped" },
		{ "memberlist.join", FLAG_LIST, &o->join, NULL,
		    "host:port of a member to join; repeatable; a name resolves to all its addresses" },
		{ "memberlist.abort-if-join-fails", FLAG_BOOL, &o->abort_if_join_fails, "false",
		    "exit 1 when no join address answers at start, retries included" },
		{ "memberlist.abort-if-fast-join-fails", FLAG_BOOL, &o->abort_if_fast_join_fails,
		    "false", "exit 1 when no join address answers the first join at start, before "
		    "any retry" },
		{ "memberlist.min-join-backoff", FLAG_DURATION, &o->min_join_backoff, "1s",
		    "the first wait before the join at start is tried again" },
		{ "memberlist.max-join-backoff", FLAG_DURATION, &o->max_join_backoff, "1m",
		    "the longest wait between two tries of the join at start" },
		{ "memberlist.max-join-retries", FLAG_INT, &o->max_join_retries, "10",
		    "how many times the join at start is tried again (0: not at all)" },
		{ "memberlist.rejoin-interval", FLAG_DURATION, &o->rejoin_interval, "0s",
		    "join the -memberlist.join addresses again this often (0: never)" },
		{ "memberlist.nodename", FLAG_STRING, &o->nodename, "",
		    "name of this node in the cluster (empty: the hostname)" },
		{ "memberlist.randomize-node-name", FLAG_BOOL, &o->randomize, "true",
		    "add a random suffix to the node name" },
		{ "memberlist.bind-addr", FLAG_LIST, &o->bind_addr, NULL,
		    "IP address to listen on for gossip; repeatable (0.0.0.0 when none)" },
		{ "memberlist.bind-port", FLAG_INT, &o->bind_port, "7946",
		    "port to listen on for gossip (0: any free port, logged)" },
		{ "memberlist.advertise-addr", FLAG_STRING, &o->advertise_addr, "",
		    "gossip address to advertise (empty: the bind address, 127.0.0.1 for 0.0.0.0)" },
		{ "memberlist.advertise-port", FLAG_INT, &o->advertise_port, "0",
		    "gossip port to advertise (0: the bound port)" },
		{ "memberlist.gossip-interval", FLAG_DURATION, &o->gossip_interval, "200ms",
		    "how often gossip messages are sent" },
		{ "memberlist.gossip-nodes", FLAG_INT, &o->gossip_nodes, "3",
		    "how many nodes each gossip round goes to" },
		{ "memberlist.pullpush-interval", FLAG_DURATION, &o->pullpush_interval, "30s",
		    "how often the full state is exchanged with a random node" },
		{ "memberlist.retransmit-factor", FLAG_INT, &o->retransmit_factor, "4",
		    "multiplier of the number of retransmissions of a gossiped message" },
		{ "memberlist.gossip-to-dead-nodes-time", FLAG_DURATION, &o->gossip_to_dead, "30s",
		    "how long dead nodes still get gossip, and are kept before being forgotten" },
		{ "memberlist.dead-node-reclaim-time", FLAG_DURATION, &o->dead_reclaim, "0s",
		    "after this long a dead node's name may come back with another address (0: never)" },
		{ "memberlist.compression-enabled", FLAG_BOOL, &o->compression, "true",
		    "compress gossip when it is smaller, with -memberlist.compression-algorithm" },
		{ "memberlist.compression-algorithm", FLAG_STRING, &o->compression_algorithm, "lzw",
		    "lzw, or snappy (less CPU; read by Go memberlist only in grafana's fork, "
		    "as in dskit)" },
		{ "memberlist.stream-timeout", FLAG_DURATION, &o->stream_timeout, "2s",
		    "timeout of a push/pull or other TCP exchange" },
		{ "memberlist.probe-interval", FLAG_DURATION, &o->probe_interval, "5s",
		    "how often a random node is probed (ringtail; dskit fixes 5s)" },
		{ "memberlist.probe-timeout", FLAG_DURATION, &o->probe_timeout, "2s",
		    "how long to wait for a probe's ack (ringtail; dskit fixes 2s)" },
		{ "memberlist.leave-timeout", FLAG_DURATION, &o->leave_timeout, "20s",
		    "at shutdown, how long to wait for our leave message to be gossiped" },
		{ "memberlist.broadcast-timeout-for-local-updates-on-shutdown", FLAG_DURATION,
		    &o->local_updates_timeout, "10s", "at shutdown, how long to wait for the KV changes "
		    "made here to be gossiped before leaving (0: until they are)" },
		{ "memberlist.left-ingesters-timeout", FLAG_DURATION, &o->left_ingesters_timeout,
		    "5m", "how long a LEFT ring entry (a tombstone) is kept before it is removed" },
		{ "memberlist.notify-interval", FLAG_DURATION, &o->notify_interval, "0s",
		    "a watcher of the socket gets a key's changes at most this often, whatever it "
		    "asks (0: as it asks, 100ms by default)" },
		{ "memberlist.obsolete-entries-timeout", FLAG_DURATION, &o->obsolete_timeout, "30s",
		    "how long a deleted key is kept (and gossiped as deleted) before it is forgotten "
		    "(0: kept)" },
		{ "memberlist.message-history-buffer-bytes", FLAG_INT, &o->history_bytes, "0",
		    "bytes of received and of sent KV messages to keep for /memberlist "
		    "(two buffers; 0: off)" },
		{ "memberlist.cluster-label", FLAG_STRING, &o->cluster_label, "",
		    "label sent with every packet and stream; members with another label are refused "
		    "(memberlist >= 0.3 peers only: 0.2.2 drops labelled messages)" },
		{ "memberlist.cluster-label-verification-disabled", FLAG_BOOL,
		    &o->label_check_disabled, "false",
		    "accept packets and streams whatever their label (for a migration to labels)" },
		{ "memberlist.zone-aware-routing.enabled", FLAG_BOOL, &o->zone_routing, "false",
		    "gossip and push/pull within our zone; bridges also reach the other zones' "
		    "bridges (dskit's, experimental)" },
		{ "memberlist.zone-aware-routing.instance-availability-zone", FLAG_STRING, &o->zone,
		    "", "zone-aware routing: our zone (1 to 16 bytes)" },
		{ "memberlist.zone-aware-routing.role", FLAG_STRING, &o->zone_role, "member",
		    "zone-aware routing: member or bridge" },
		{ NULL, 0, NULL, NULL, NULL },
	};
	const struct config_key keys[] = {
		NODE_KEYS,
		HTTP_KEYS,
		{ "memberlist.join", "memberlist.join_members" },
		{ "memberlist.abort-if-join-fails", "memberlist.abort_if_cluster_join_fails" },
		{ "memberlist.abort-if-fast-join-fails", "memberlist.abort_if_cluster_fast_join_fails" },
		{ "memberlist.rejoin-interval", "memberlist.rejoin_interval" },
		{ "memberlist.min-join-backoff", "memberlist.min_join_backoff" },
		{ "memberlist.max-join-backoff", "memberlist.max_join_backoff" },
		{ "memberlist.max-join-retries", "memberlist.max_join_retries" },
		{ "memberlist.nodename", "memberlist.node_name" },
		{ "memberlist.randomize-node-name", "memberlist.randomize_node_name" },
		{ "memberlist.bind-addr", "memberlist.bind_addr" },
		{ "memberlist.bind-port", "memberlist.bind_port" },
		{ "memberlist.advertise-addr", "memberlist.advertise_addr" },
		{ "memberlist.advertise-port", "memberlist.advertise_port" },
		{ "memberlist.gossip-interval", "memberlist.gossip_interval" },
		{ "memberlist.gossip-nodes", "memberlist.gossip_nodes" },
		{ "memberlist.pullpush-interval", "memberlist.pull_push_interval" },
		{ "memberlist.retransmit-factor", "memberlist.retransmit_factor" },
		{ "memberlist.gossip-to-dead-nodes-time", "memberlist.gossip_to_dead_nodes_time" },
		{ "memberlist.dead-node-reclaim-time", "memberlist.dead_node_reclaim_time" },
		{ "memberlist.compression-enabled", "memberlist.compression_enabled" },
		{ "memberlist.compression-algorithm", "memberlist.compression_algorithm" },
		{ "memberlist.stream-timeout", "memberlist.stream_timeout" },
		{ "memberlist.packet-dial-timeout", "memberlist.packet_dial_timeout" },
		{ "memberlist.packet-write-timeout", "memberlist.packet_write_timeout" },
		{ "memberlist.max-concurrent-writes", "memberlist.max_concurrent_writes" },
		{ "memberlist.acquire-writer-timeout", "memberlist.acquire_writer_timeout" },
		{ "memberlist.leave-timeout", "memberlist.leave_timeout" },
		{ "memberlist.broadcast-timeout-for-local-updates-on-shutdown",
		    "memberlist.broadcast_timeout_for_local_updates_on_shutdown" },
		{ "memberlist.left-ingesters-timeout", "memberlist.left_ingesters_timeout" },
		{ "memberlist.obsolete-entries-timeout", "memberlist.obsolete_entries_timeout" },
		{ "memberlist.notify-interval", "memberlist.notify_interval" },
		{ "memberlist.message-history-buffer-bytes", "memberlist.message_history_buffer_bytes" },
		{ "memberlist.cluster-label", "memberlist.cluster_label" },
		{ "memberlist.cluster-label-verification-disabled",
		    "memberlist.cluster_label_verification_disabled" },
		{ "memberlist.zone-aware-routing.enabled", "memberlist.zone_aware_routing.enabled" },
		{ "memberlist.zone-aware-routing.instance-availability-zone",
		    "memberlist.zone_aware_routing.instance_availability_zone" },
		{ "memberlist.zone-aware-routing.role", "memberlist.zone_aware_routing.role" },
		{ NULL, NULL },
	};

	log_init("gossip-agent", LOG_INFO);
	if (config_parse(&cfg, flags, keys, USAGE, argc, argv) > 0) {
		log_error("unexpected arguments", "first=%s", log_q(argv[0]));
		flags_usage(stderr, USAGE, flags);
		config_free(cfg);
		return EXIT_USAGE;
	}
	if ((rc = configure(&a)) == EXIT_OK && (rc = setup(&a)) == EXIT_OK) {
		event_base_dispatch(a.base);
		rc = a.exit_code;
	}
	teardown(&a);
	config_free(cfg);
	return rc;
}
