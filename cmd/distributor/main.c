/*
 * distributor — Cortex's distributor: remote-write pushes are validated,
 * rate limited per tenant, sharded over the ring by all their labels and
 * written to -distributor.replication-factor tsdb-heads, a quorum of which
 * must take each series; see distributor(1).
 *
 *   main        flags and -config.file, then:
 *   configure   check the values
 *   setup       the ring's watch, listen, routes, signals
 *   (loop)      libevent: pushes and their ingester requests, /ring, /metrics
 *   shutdown    stop listening, let the pushes in flight finish
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "lib/base/clock.h"
#include "lib/base/config.h"
#include "lib/base/log.h"
#include "cmd/distributor/distributor.h"

#define USAGE	"distributor [-config.file FILE] [-server.http-listen-port PORT] [flags]"

/* How long a shutdown waits for the pushes in flight (more than the remote timeout). */
#define DRAIN_POLL_MS	50

static int
configure(struct daemon *d)
{
	struct opts *o = &d->o;
	enum log_level lv;
	struct err e;
	char *end;

	if (log_level_parse(o->log_level, &lv) == -1) {
		log_error("bad -log.level: want debug, info, warn or error", "value=%s",
		    log_q(o->log_level));
		return EXIT_USAGE;
	}
	log_init("distributor", lv);
	o->rate_limit = strtod(o->rate_limit_text, &end);
	if (*end != '\0' || o->rate_limit < 0) {
		log_error("bad -distributor.ingestion-rate-limit: want samples per second",
		    "value=%s", log_q(o->rate_limit_text));
		return EXIT_USAGE;
	}
	if (o->listen_port < 0 || o->listen_port > 65535 || o->replication_factor < 1 ||
	    o->replication_factor > 100 || o->remote_timeout <= 0 || o->burst < 0 ||
	    o->max_recv <= 0 || o->conns_per_ingester < 1 || o->heartbeat_timeout < 0) {
		log_error("bad value: ports 0-65535, replication factor 1-100, positive "
		    "timeouts, sizes and connection counts", "replication_factor=%lld",
		    (long long)o->replication_factor);
		return EXIT_USAGE;
	}
	memset(&d->rcfg, 0, sizeof(d->rcfg));
	d->rcfg.replication_factor = (int)o->replication_factor;
	d->rcfg.heartbeat_timeout_ms = o->heartbeat_timeout;
	d->rcfg.zone_awareness = o->zone_awareness;
	d->rcfg.excluded_zones = *o->excluded_zones ? o->excluded_zones : NULL;
	if (rw_limits_from_flags(&o->limits, &d->limits, &e) == -1) {
		log_error("bad limit", "err=%s", log_q(e.msg));
		return EXIT_USAGE;
	}
	o->kv.run_dir = o->run_dir;
	return EXIT_OK;
}

static void
on_drain(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	if (d->inflight == 0)
		event_base_loopexit(d->base, NULL);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval poll = { 0, DRAIN_POLL_MS * 1000 };
	struct timeval limit = { d->o.remote_timeout / 1000 + 1, 0 };

	if (d->stopping)
		return;
	log_info("shutting down", "signal=%s inflight=%zu", sig == SIGTERM ? "TERM" : "INT",
	    d->inflight);
	d->stopping = 1;
	httpd_stop_listening(d->httpd);
	/* The pushes in flight end within the remote timeout; then stop anyway. */
	d->drain_timer = event_new(d->base, -1, EV_PERSIST, on_drain, d);
	event_add(d->drain_timer, &poll);
	event_base_loopexit(d->base, &limit);
}

static int
setup(struct daemon *d)
{
	struct sigaction sa;
	struct kv *watch_kv;
	struct err e;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	if ((d->base = event_base_new()) == NULL) {
		log_error("cannot create the event loop", "%s", "");
		return EXIT_SYSTEM;
	}
	d->metrics = metrics_create();
	if ((watch_kv = kv_open(&d->o.kv, d->metrics, "distributor-ring", &e)) == NULL ||
	    (d->kv = kv_open(&d->o.kv, NULL, "distributor-ring", &e)) == NULL) {
		log_error("cannot open the ring's KV store", "err=%s", log_q(e.msg));
		kv_close(watch_kv);
		return EXIT_USAGE;
	}
	d->watcher = ring_watcher_start(watch_kv, RING_KEY, &d->rcfg);
	d->pusher = pusher_new(d->base, d->o.remote_timeout, (int)d->o.conns_per_ingester);
	d->limiter = limiter_new(d->o.rate_limit, (double)d->o.burst);
	d->httpd = httpd_create(d->base, d->metrics, (size_t)d->o.max_recv + (1 << 20));
	admin_metrics(d);
	push_routes(d);
	admin_routes(d);
	if (httpd_bind(d->httpd, d->o.listen_addr, (int)d->o.listen_port, &e) == -1) {
		log_error("cannot listen", "err=%s", log_q(e.msg));
		return EXIT_SYSTEM;
	}
	log_info("listening", "address=%s port=%d store=%s replication_factor=%lld",
	    log_q(*d->o.listen_addr ? d->o.listen_addr : "*"), httpd_port(d->httpd),
	    d->o.kv.store, (long long)d->o.replication_factor);
	d->sig_term = evsignal_new(d->base, SIGTERM, on_signal, d);
	d->sig_int = evsignal_new(d->base, SIGINT, on_signal, d);
	event_add(d->sig_term, NULL);
	event_add(d->sig_int, NULL);
	return EXIT_OK;
}

static void
teardown(struct daemon *d)
{
	/* Pushes still waiting are answered, if at all, while httpd exists. */
	pusher_free(d->pusher);
	push_free(d);
	httpd_free(d->httpd);
	limiter_free(d->limiter);
	ring_watcher_stop(d->watcher);
	ring_free(d->ring);
	kv_close(d->kv);
	if (d->drain_timer != NULL)
		event_free(d->drain_timer);
	if (d->sig_term != NULL) {
		event_free(d->sig_term);
		event_free(d->sig_int);
	}
	if (d->base != NULL)
		event_base_free(d->base);
	metrics_free(d->metrics);
}

int
main(int argc, char **argv)
{
	static struct daemon d;
	struct opts *o = &d.o;
	struct config *cfg;
	int rc;
	const struct flag flags[] = {
		NODE_FLAGS(o, "info"),
		HTTP_FLAGS(o),
		{ "auth.enabled", FLAG_BOOL, &o->auth_enabled, "true",
		    "require X-Scope-OrgID; false puts everything in tenant \"fake\"" },
		KV_CONFIG_FLAGS(&o->kv),
		{ "ring.heartbeat-timeout", FLAG_DURATION, &o->heartbeat_timeout, "1m",
		    "an ingester without a heartbeat this long gets no writes" },
		{ "distributor.replication-factor", FLAG_INT, &o->replication_factor, "3",
		    "tsdb-heads each series is written to" },
		{ "distributor.zone-awareness-enabled", FLAG_BOOL, &o->zone_awareness, "false",
		    "replicas in distinct zones" },
		{ "distributor.excluded-zones", FLAG_STRING, &o->excluded_zones, "",
		    "zones that get no writes, comma-separated" },
		{ "distributor.extend-writes", FLAG_BOOL, &o->extend_writes, "true",
		    "write to one more ingester for each replica that is not ACTIVE" },
		{ "distributor.shard-by-all-labels", FLAG_BOOL, &o->shard_by_all_labels, "true",
		    "a series' token hashes all its labels (false: the metric name only)" },
		{ "distributor.remote-timeout", FLAG_DURATION, &o->remote_timeout, "2s",
		    "timeout of one push to an ingester" },
		{ "distributor.connections-per-ingester", FLAG_INT, &o->conns_per_ingester, "4",
		    "kept-alive connections to each ingester" },
		{ "distributor.ingestion-rate-limit", FLAG_STRING, &o->rate_limit_text, "25000",
		    "samples per second per tenant (0: no limit)" },
		{ "distributor.ingestion-burst-size", FLAG_INT, &o->burst, "50000",
		    "samples a tenant may send at once" },
		{ "distributor.max-recv-msg-size", FLAG_INT, &o->max_recv, "104857600",
		    "largest push, compressed or not (413 above)" },
		RW_LIMIT_FLAGS(&o->limits),
		{ NULL, 0, NULL, NULL, NULL },
	};
	static const struct config_key keys[] = {
		NODE_KEYS,
		HTTP_KEYS,
		{ "auth.enabled", "auth_enabled" },
		KV_CONFIG_KEYS("distributor.ring."),
		{ "ring.heartbeat-timeout", "ingester.lifecycler.ring.heartbeat_timeout" },
		{ "distributor.replication-factor", "ingester.lifecycler.ring.replication_factor" },
		{ "distributor.zone-awareness-enabled",
		    "ingester.lifecycler.ring.zone_awareness_enabled" },
		{ "distributor.excluded-zones", "ingester.lifecycler.ring.excluded_zones" },
		{ "distributor.extend-writes", "ingester.lifecycler.ring.extend_writes" },
		{ "distributor.shard-by-all-labels", "distributor.shard_by_all_labels" },
		{ "distributor.remote-timeout", "distributor.remote_timeout" },
		{ "distributor.ingestion-rate-limit", "limits.ingestion_rate" },
		{ "distributor.ingestion-burst-size", "limits.ingestion_burst_size" },
		{ "distributor.max-recv-msg-size", "distributor.max_recv_msg_size" },
		RW_LIMIT_KEYS,
		{ NULL, NULL },
	};

	log_init("distributor", LOG_INFO);
	if (config_parse(&cfg, flags, keys, USAGE, argc, argv) > 0) {
		log_error("unexpected arguments", "first=%s", log_q(argv[0]));
		flags_usage(stderr, USAGE, flags);
		config_free(cfg);
		return EXIT_USAGE;
	}
	if ((rc = configure(&d)) == EXIT_OK && (rc = setup(&d)) == EXIT_OK) {
		event_base_dispatch(d.base);
		rc = d.exit_code;
		log_info("stopped", "inflight=%zu", d.inflight);
	}
	teardown(&d);
	config_free(cfg);
	return rc;
}
