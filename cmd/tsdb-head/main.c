/*
 * tsdb-head — the ingester of the blocks storage: remote-write pushes go
 * into per-tenant heads backed by Prometheus-format WALs, blocks are cut
 * from the heads into the data dir, remote read serves what it holds; see
 * tsdb-head(1).
 *
 *   main        flags and -config.file, then:
 *   configure   check the values, derive the tenant options
 *   setup       lock the data dir, listen, routes, signals, start the replay
 *   (loop)      libevent: pushes, reads, timers, signals
 *   finish      answer what waits, flush if asked, close the WALs
 */
#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/base/config.h"
#include "lib/base/duration.h"
#include "lib/base/fileutil.h"
#include "lib/base/flags.h"
#include "lib/base/log.h"
#include "lib/base/xmalloc.h"
#include "cmd/tsdb-head/tsdb-head.h"

#define USAGE	"tsdb-head [-config.file FILE] [-blocks-storage.tsdb.dir DIR] " \
		"[-server.http-listen-port PORT] [flags]"

/* Not a valid tenant ID ('+' is not allowed), so never a tenant's directory. */
#define LOCK_FILE	"+tsdb-head.lock"

/* The HTTP layer refuses bodies this far past the limit unread (with libevent's own 413 page). */
#define BODY_SLACK	(1 << 20)

static int	parse_block_ranges(struct daemon *);
static int	configure(struct daemon *);
static int	lock_dir(const char *);
static void	on_signal(evutil_socket_t, short, void *);
static int	setup(struct daemon *);
static int	finish(struct daemon *);
static void	teardown(struct daemon *);

/* Cortex's list of durations; the first is the head's block range, the rest are not used. */
static int
parse_block_ranges(struct daemon *d)
{
	char *list = xstrdup(d->o.block_ranges), *save = NULL, *s;
	int n = 0, rc = 0;

	for (s = strtok_r(list, ",", &save); s != NULL; s = strtok_r(NULL, ",", &save)) {
		int64_t ms;

		if (duration_parse(s, &ms) == -1 || ms <= 0) {
			log_error("bad -blocks-storage.tsdb.block-ranges-period: want durations "
			    "such as 2h", "value=%s", log_q(d->o.block_ranges));
			rc = -1;
			break;
		}
		if (n++ == 0)
			d->block_range = ms;
	}
	if (rc == 0 && n == 0) {
		log_error("-blocks-storage.tsdb.block-ranges-period is empty", "value=\"\"");
		rc = -1;
	}
	if (rc == 0 && n > 1)
		log_info("only the first block range is used: tsdb-head never merges blocks",
		    "block_range=%lldms", (long long)d->block_range);
	free(list);
	return rc;
}

/* Check what Cortex checks and derive the tenants' options; 0 or EXIT_USAGE. */
static int
configure(struct daemon *d)
{
	struct opts *o = &d->o;
	struct tenant_opts *t = &d->topts;
	enum log_level lv;
	struct err e;

	if (log_level_parse(o->log_level, &lv) == -1) {
		log_error("bad -log.level: want debug, info, warn or error", "value=%s",
		    log_q(o->log_level));
		return EXIT_USAGE;
	}
	log_init("tsdb-head", lv);
	if (o->lc_num_tokens <= 0 || o->lc_num_tokens > 1 << 20) {
		log_error("bad -ingester.num-tokens: want 1 to 1048576", "value=%lld",
		    (long long)o->lc_num_tokens);
		return EXIT_USAGE;
	}
	if (o->lc_heartbeat_period <= 0) {
		log_error("-ingester.heartbeat-period must be positive", "value=%lldms",
		    (long long)o->lc_heartbeat_period);
		return EXIT_USAGE;
	}
	if (o->lc_port < 0 || o->lc_port > 65535) {
		log_error("bad -ingester.lifecycler.port", "value=%lld", (long long)o->lc_port);
		return EXIT_USAGE;
	}
	if (o->listen_port < 0 || o->listen_port > 65535) {
		log_error("bad -server.http-listen-port", "value=%lld", (long long)o->listen_port);
		return EXIT_USAGE;
	}
	if (parse_block_ranges(d) == -1)
		return EXIT_USAGE;
	if (o->compaction_interval <= 0 || o->compaction_interval > 5 * 60 * 1000) {
		log_error("-blocks-storage.tsdb.head-compaction-interval must be greater than 0 "
		    "and at most 5m", "value=%lldms", (long long)o->compaction_interval);
		return EXIT_USAGE;
	}
	if (o->max_recv <= 0 || o->wal_fsync_interval < 0 || o->retention < 0 ||
	    o->max_series < 0 || o->max_series_per_metric < 0 || o->compaction_idle < 0) {
		log_error("negative or zero limit", "max_recv_msg_size=%lld", (long long)o->max_recv);
		return EXIT_USAGE;
	}
	if (o->wal_segment_size < 0 || o->wal_segment_size % 32768 != 0) {
		log_error("-blocks-storage.tsdb.wal-segment-size-bytes must be a multiple of "
		    "the 32KiB page", "value=%lld", (long long)o->wal_segment_size);
		return EXIT_USAGE;
	}
	memset(t, 0, sizeof(*t));
	t->block_range = d->block_range;
	t->retention = o->retention;
	t->max_series = (uint64_t)o->max_series;
	t->max_series_per_metric = (uint64_t)o->max_series_per_metric;
	if (rw_limits_from_flags(&o->limits, &t->limits, &e) == -1) {
		log_error("bad limit", "err=%s", log_q(e.msg));
		return EXIT_USAGE;
	}
	t->wal.segment_size = (uint64_t)o->wal_segment_size;
	t->wal.compress = o->wal_compression;
	return 0;
}

/* One tsdb-head per data dir: an flock held for the process' life. */
static int
lock_dir(const char *dir)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, LOCK_FILE);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666)) == -1) {
		log_error("cannot create the lock file", "file=%s err=%s", log_q(path),
		    log_q(strerror(errno)));
		return EXIT_SYSTEM;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		log_error("already running: the data dir is locked by another tsdb-head",
		    "file=%s", log_q(path));
		close(fd);
		return EXIT_USAGE;
	}
	return 0;
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval grace = { 0, 200000 };

	if (sig == SIGHUP) {
		log_info("SIGHUP ignored: restart to change the configuration", "signal=%d", sig);
		return;
	}
	if (d->stopping)
		return;
	log_info("shutting down", "signal=%s", sig == SIGTERM ? "TERM" : "INT");
	d->stopping = 1;
	d->stop = 1;
	ring_leave(d);
	if (d->replay_running) {
		/* finish() waits for the replay thread, which stops at its next record. */
		event_base_loopbreak(d->base);
		return;
	}
	httpd_stop_listening(d->httpd);
	push_commit(d);
	/* A moment for the answers just written to reach their connections. */
	event_base_loopexit(d->base, &grace);
}

static int
setup(struct daemon *d)
{
	struct sigaction sa;
	struct metrics *m;
	struct err e;
	int rc;

	if (mkdir_p(d->o.dir, 0777, &e) == -1) {
		log_error("cannot create the data dir", "err=%s", log_q(e.msg));
		return EXIT_SYSTEM;
	}
	if ((rc = lock_dir(d->o.dir)) != 0)
		return rc;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	if ((d->base = event_base_new()) == NULL) {
		log_error("cannot create the event loop", "err=%s", log_q(strerror(errno)));
		return EXIT_SYSTEM;
	}
	d->metrics = m = metrics_create();
	if ((rc = ring_setup(d)) != 0)
		return rc;
	d->httpd = httpd_create(d->base, m, (size_t)d->o.max_recv + BODY_SLACK);
	d->tenants = tenants_create(d->o.dir, &d->topts, m);
	admin_metrics(d);
	push_routes(d);
	read_routes(d);
	admin_routes(d);
	if (httpd_bind(d->httpd, d->o.listen_addr, (int)d->o.listen_port, &e) == -1) {
		log_error("cannot listen", "err=%s", log_q(e.msg));
		return EXIT_SYSTEM;
	}
	log_info("listening", "address=%s port=%d dir=%s",
	    log_q(*d->o.listen_addr ? d->o.listen_addr : "*"), httpd_port(d->httpd),
	    log_q(d->o.dir));
	d->sig_term = evsignal_new(d->base, SIGTERM, on_signal, d);
	d->sig_int = evsignal_new(d->base, SIGINT, on_signal, d);
	d->sig_hup = evsignal_new(d->base, SIGHUP, on_signal, d);
	event_add(d->sig_term, NULL);
	event_add(d->sig_int, NULL);
	event_add(d->sig_hup, NULL);
	if (d->o.wal_fsync_interval > 0) {
		struct timeval tv = { d->o.wal_fsync_interval / 1000,
		    (d->o.wal_fsync_interval % 1000) * 1000 };

		d->fsync_timer = event_new(d->base, -1, EV_PERSIST, push_fsync_tick, d);
		event_add(d->fsync_timer, &tv);
	}
	if (admin_start_replay(d) == -1) {
		log_error("cannot start the WAL replay", "err=%s", log_q(strerror(errno)));
		return EXIT_SYSTEM;
	}
	return 0;
}

/* After the loop: answer what waits, flush when asked, close every WAL. */
static int
finish(struct daemon *d)
{
	struct err e;
	int rc = d->exit_code;
	size_t n;

	if (d->replay_running) {
		pthread_join(d->replay_thread, NULL);
		d->replay_running = 0;
		log_info("stopped during WAL replay", "tenants_done=%d", d->replayed);
		return rc;
	}
	if (!d->ready)
		return rc;
	push_commit(d);
	if (d->o.flush_on_shutdown && admin_compact_all(d, 1) == -1)
		rc = EXIT_SYSTEM;
	n = tenants_count(d->tenants);
	if (tenants_close_all(d->tenants, &e) == -1) {
		log_error("closing a WAL failed", "err=%s", log_q(e.msg));
		rc = EXIT_SYSTEM;
	}
	/* Leaves the ring only once the data is safe. */
	ring_stop(d);
	if (rc == EXIT_OK)
		log_info("stopped", "tenants=%zu", n);
	return rc;
}

static void
teardown(struct daemon *d)
{
	ring_stop(d);
	push_free(d);
	read_free(d);
	tenants_free(d->tenants);
	httpd_free(d->httpd);
	if (d->replay_ev != NULL) {
		event_free(d->replay_ev);
		close(d->replay_pipe[0]);
		close(d->replay_pipe[1]);
	}
	if (d->compact_timer != NULL)
		event_free(d->compact_timer);
	if (d->fsync_timer != NULL)
		event_free(d->fsync_timer);
	if (d->sig_term != NULL) {
		event_free(d->sig_term);
		event_free(d->sig_int);
		event_free(d->sig_hup);
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
		{ "blocks-storage.tsdb.dir", FLAG_STRING, &o->dir, "tsdb",
		    "data dir: one TSDB (WAL and blocks) per tenant" },
		{ "blocks-storage.tsdb.block-ranges-period", FLAG_STRING, &o->block_ranges,
		    "2h0m0s", "block range; a block is cut when the head spans 1.5 times it" },
		{ "blocks-storage.tsdb.retention-period", FLAG_DURATION, &o->retention, "6h",
		    "local blocks older than this (from the newest block) are deleted once shipped" },
		{ "blocks-storage.tsdb.head-compaction-interval", FLAG_DURATION,
		    &o->compaction_interval, "1m", "how often heads are checked for a block to cut" },
		{ "blocks-storage.tsdb.head-compaction-idle-timeout", FLAG_DURATION,
		    &o->compaction_idle, "1h",
		    "a tenant idle this long has its whole head cut into blocks (0: never)" },
		{ "blocks-storage.tsdb.flush-blocks-on-shutdown", FLAG_BOOL, &o->flush_on_shutdown,
		    "false", "cut every head into blocks at shutdown" },
		{ "blocks-storage.tsdb.wal-compression-enabled", FLAG_BOOL, &o->wal_compression,
		    "false", "snappy-compress WAL records" },
		{ "blocks-storage.tsdb.wal-segment-size-bytes", FLAG_INT, &o->wal_segment_size,
		    "134217728", "WAL segment size" },
		{ "blocks-storage.tsdb.wal-fsync-interval", FLAG_DURATION, &o->wal_fsync_interval,
		    "0s", "0: answer a push after its WAL records are fsynced (one fsync per "
		    "event-loop pass); else answer after write(2) and fsync this often" },
		{ "distributor.max-recv-msg-size", FLAG_INT, &o->max_recv, "104857600",
		    "largest push, compressed or not (413 above)" },
		{ "ingester.max-series-per-user", FLAG_INT, &o->max_series, "5000000",
		    "series per tenant (0: no limit)" },
		{ "ingester.max-series-per-metric", FLAG_INT, &o->max_series_per_metric, "50000",
		    "series per metric name and tenant (0: no limit)" },
		RW_LIMIT_FLAGS(&o->limits),
		KV_CONFIG_FLAGS(&o->kv),
		{ "ring.heartbeat-timeout", FLAG_DURATION, &o->ring_heartbeat_timeout, "1m",
		    "an instance without a heartbeat this long is unhealthy" },
		{ "ingester.lifecycler.ID", FLAG_STRING, &o->lc_id, "",
		    "this instance's ID in the ring (empty: the hostname)" },
		{ "ingester.lifecycler.addr", FLAG_STRING, &o->lc_addr, "",
		    "address advertised in the ring (empty: the listen address, else the "
		    "first private IPv4 address)" },
		{ "ingester.lifecycler.port", FLAG_INT, &o->lc_port, "0",
		    "port advertised in the ring (0: the HTTP port)" },
		{ "ingester.availability-zone", FLAG_STRING, &o->lc_zone, "",
		    "the zone this instance runs in" },
		{ "ingester.num-tokens", FLAG_INT, &o->lc_num_tokens, "128",
		    "tokens this instance owns in the ring" },
		{ "ingester.tokens-file-path", FLAG_STRING, &o->lc_tokens_file, "",
		    "file keeping the tokens across restarts (empty: none)" },
		{ "ingester.join-after", FLAG_DURATION, &o->lc_join_after, "0s",
		    "wait this long before taking tokens" },
		{ "ingester.observe-period", FLAG_DURATION, &o->lc_observe_period, "0s",
		    "watch the ring this long for token conflicts before going ACTIVE" },
		{ "ingester.heartbeat-period", FLAG_DURATION, &o->lc_heartbeat_period, "5s",
		    "how often the ring entry is refreshed" },
		{ "ingester.min-ready-duration", FLAG_DURATION, &o->lc_min_ready, "15s",
		    "least time from start to ready" },
		{ "ingester.final-sleep", FLAG_DURATION, &o->lc_final_sleep, "30s",
		    "sleep before leaving the ring at shutdown, so metrics are scraped" },
		{ "ingester.unregister-on-shutdown", FLAG_BOOL, &o->lc_unregister, "true",
		    "leave the ring at shutdown (false: keep the tokens for the restart)" },
		{ "ingester.readiness-check-ring-health", FLAG_BOOL, &o->lc_check_ring_health,
		    "true", "ready only while every instance of the ring is healthy" },
		{ NULL, 0, NULL, NULL, NULL },
	};
	static const struct config_key keys[] = {
		NODE_KEYS,
		HTTP_KEYS,
		{ "auth.enabled", "auth_enabled" },
		{ "blocks-storage.tsdb.dir", "blocks_storage.tsdb.dir" },
		{ "blocks-storage.tsdb.block-ranges-period", "blocks_storage.tsdb.block_ranges_period" },
		{ "blocks-storage.tsdb.retention-period", "blocks_storage.tsdb.retention_period" },
		{ "blocks-storage.tsdb.head-compaction-interval",
		    "blocks_storage.tsdb.head_compaction_interval" },
		{ "blocks-storage.tsdb.head-compaction-idle-timeout",
		    "blocks_storage.tsdb.head_compaction_idle_timeout" },
		{ "blocks-storage.tsdb.flush-blocks-on-shutdown",
		    "blocks_storage.tsdb.flush_blocks_on_shutdown" },
		{ "blocks-storage.tsdb.wal-compression-enabled",
		    "blocks_storage.tsdb.wal_compression_enabled" },
		{ "blocks-storage.tsdb.wal-segment-size-bytes",
		    "blocks_storage.tsdb.wal_segment_size_bytes" },
		{ "blocks-storage.tsdb.wal-fsync-interval", "blocks_storage.tsdb.wal_fsync_interval" },
		{ "distributor.max-recv-msg-size", "distributor.max_recv_msg_size" },
		{ "ingester.max-series-per-user", "limits.max_series_per_user" },
		{ "ingester.max-series-per-metric", "limits.max_series_per_metric" },
		RW_LIMIT_KEYS,
		KV_CONFIG_KEYS("ingester.lifecycler.ring."),
		{ "ring.heartbeat-timeout", "ingester.lifecycler.ring.heartbeat_timeout" },
		{ "ingester.lifecycler.ID", "ingester.lifecycler.id" },
		{ "ingester.lifecycler.addr", "ingester.lifecycler.address" },
		{ "ingester.lifecycler.port", "ingester.lifecycler.port" },
		{ "ingester.availability-zone", "ingester.lifecycler.availability_zone" },
		{ "ingester.num-tokens", "ingester.lifecycler.num_tokens" },
		{ "ingester.tokens-file-path", "ingester.lifecycler.tokens_file_path" },
		{ "ingester.join-after", "ingester.lifecycler.join_after" },
		{ "ingester.observe-period", "ingester.lifecycler.observe_period" },
		{ "ingester.heartbeat-period", "ingester.lifecycler.heartbeat_period" },
		{ "ingester.min-ready-duration", "ingester.lifecycler.min_ready_duration" },
		{ "ingester.final-sleep", "ingester.lifecycler.final_sleep" },
		{ "ingester.unregister-on-shutdown", "ingester.lifecycler.unregister_on_shutdown" },
		{ "ingester.readiness-check-ring-health",
		    "ingester.lifecycler.readiness_check_ring_health" },
		{ NULL, NULL },
	};

	log_init("tsdb-head", LOG_INFO);
	if (config_parse(&cfg, flags, keys, USAGE, argc, argv) > 0) {
		log_error("unexpected arguments", "first=%s", log_q(argv[0]));
		flags_usage(stderr, USAGE, flags);
		config_free(cfg);
		return EXIT_USAGE;
	}
	if ((rc = configure(&d)) == 0 && (rc = setup(&d)) == 0) {
		event_base_dispatch(d.base);
		rc = finish(&d);
	}
	teardown(&d);
	config_free(cfg);
	return rc;
}
