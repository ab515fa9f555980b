/*
 * admin — the daemon's housekeeping: WAL replay in a thread at startup
 * (so /ready can answer 503 meanwhile), head compaction on a timer and on
 * POST /ingester/flush, and /ready and /metrics.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/base/clock.h"
#include "lib/base/log.h"
#include "lib/base/xmalloc.h"
#include "cmd/tsdb-head/tsdb-head.h"

static void	*replay_main(void *);
static void	 replay_done(evutil_socket_t, short, void *);
static void	 collect(void *);
static void	 on_ready(struct httpd_req *, void *);
static void	 on_metrics(struct httpd_req *, void *);
static void	 on_flush(struct httpd_req *, void *);
static int	 flush_tenants(struct daemon *, const char **, size_t, struct err *);

/*
 * Replay.
 */

static void *
replay_main(void *arg)
{
	struct daemon *d = arg;
	struct err e;
	char c = 1;

	d->replay_rc = tenants_open_all(d->tenants, &d->stop, &d->replayed, &d->replay_total, &e);
	if (d->replay_rc == -1)
		strlcpy(d->replay_err, e.msg, sizeof(d->replay_err));
	while (write(d->replay_pipe[1], &c, 1) == -1 && errno == EINTR)
		;
	return NULL;
}

static void
replay_done(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval tv;
	char c;

	while (read(fd, &c, 1) == -1 && errno == EINTR)
		;
	pthread_join(d->replay_thread, NULL);
	d->replay_running = 0;
	if (d->replay_rc == -1) {
		if (d->stop)
			return;
		log_error("cannot open the TSDBs", "err=%s", log_q(d->replay_err));
		d->exit_code = EXIT_SYSTEM;
		event_base_loopbreak(d->base);
		return;
	}
	d->ready = 1;
	log_info("WAL replayed", "tenants=%zu", tenants_count(d->tenants));
	ring_join(d);
	/* Cortex compacts right after replay: a long outage cuts its blocks now. */
	admin_compact_all(d, 0);
	tv.tv_sec = d->o.compaction_interval / 1000;
	tv.tv_usec = (d->o.compaction_interval % 1000) * 1000;
	event_add(d->compact_timer, &tv);
}

int
admin_start_replay(struct daemon *d)
{
	if (pipe(d->replay_pipe) == -1)
		return -1;
	d->replay_ev = event_new(d->base, d->replay_pipe[0], EV_READ, replay_done, d);
	event_add(d->replay_ev, NULL);
	if (pthread_create(&d->replay_thread, NULL, replay_main, d) != 0)
		return -1;
	d->replay_running = 1;
	return 0;
}

/*
 * Compaction.
 */

int
admin_compact_all(struct daemon *d, int force)
{
	int64_t now = clock_wall_ms();
	struct err e;
	int rc = 0;

	for (size_t i = 0; i < tenants_count(d->tenants); i++) {
		struct tenant *t = tenants_at(d->tenants, i);
		int64_t last = tenant_last_push(t);
		int idle = 0, cut;

		/* Cortex's head-compaction-idle-timeout: a quiet tenant's head goes to blocks. */
		if (!force && d->o.compaction_idle > 0 && last > 0 &&
		    now - last > d->o.compaction_idle)
			idle = 1;
		if (tenant_compact(t, force || idle, &cut, &e) == -1) {
			log_error("head compaction failed", "user=%s err=%s", log_q(tenant_id(t)),
			    log_q(e.msg));
			rc = -1;
			continue;
		}
		if (cut > 0)
			log_info("head compacted", "user=%s blocks=%d forced=%d idle=%d",
			    log_q(tenant_id(t)), cut, force, idle);
	}
	return rc;
}

void
admin_compact_tick(int fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval tv;

	admin_compact_all(d, 0);
	tv.tv_sec = d->o.compaction_interval / 1000;
	tv.tv_usec = (d->o.compaction_interval % 1000) * 1000;
	event_add(d->compact_timer, &tv);
}

/* Compact the named tenants (all when n == 0) completely. */
static int
flush_tenants(struct daemon *d, const char **names, size_t n, struct err *e)
{
	int rc = 0;

	/* Pushes waiting for an fsync go first: a flush never overtakes an answer. */
	push_commit(d);
	for (size_t i = 0; i < tenants_count(d->tenants); i++) {
		struct tenant *t = tenants_at(d->tenants, i);
		size_t k;
		int cut;

		for (k = 0; k < n; k++)
			if (strcmp(names[k], tenant_id(t)) == 0)
				break;
		if (n > 0 && k == n)
			continue;
		if (tenant_compact(t, 1, &cut, e) == -1) {
			log_error("flush failed", "user=%s err=%s", log_q(tenant_id(t)),
			    log_q(e->msg));
			rc = -1;
			continue;
		}
		log_info("flushed", "user=%s blocks=%d", log_q(tenant_id(t)), cut);
	}
	return rc;
}

struct flush_job {
	struct daemon	*d;
	char		**names;
	size_t		  n;
};

static void
flush_later(evutil_socket_t fd, short what, void *arg)
{
	struct flush_job *j = arg;
	struct err e;

	flush_tenants(j->d, (const char **)j->names, j->n, &e);
	for (size_t i = 0; i < j->n; i++)
		free(j->names[i]);
	free(j->names);
	free(j);
}

/*
 * Cortex's /ingester/flush: tenant=ID (repeatable; none = all), wait=true
 * to answer after the blocks are cut; otherwise 204 at once and the work
 * right after.
 */
static void
on_flush(struct httpd_req *r, void *arg)
{
	struct daemon *d = arg;
	const char *names[64], *wait;
	struct flush_job *j;
	struct timeval now = { 0, 0 };
	struct err e;
	size_t n;

	if (!d->ready) {
		httpd_reply_text(r, 503, "ingester not ready: replaying the WAL");
		return;
	}
	n = httpd_req_params(r, "tenant", names, 64);
	if (n > 64) {
		httpd_reply_text(r, 400, "at most 64 tenant parameters");
		return;
	}
	if (httpd_req_params(r, "wait", &wait, 1) > 0 && strcmp(wait, "true") == 0) {
		if (flush_tenants(d, names, n, &e) == -1)
			httpd_reply_text(r, 500, "flush failed: %s", e.msg);
		else
			httpd_reply(r, 204, NULL, NULL, 0);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->d = d;
	j->n = n;
	j->names = xcalloc(n + 1, sizeof(*j->names));
	for (size_t i = 0; i < n; i++)
		j->names[i] = xstrdup(names[i]);
	event_base_once(d->base, -1, EV_TIMEOUT, flush_later, j, &now);
	httpd_reply(r, 204, NULL, NULL, 0);
}

/*
 * /ready and /metrics.
 */

static void
on_ready(struct httpd_req *r, void *arg)
{
	struct daemon *d = arg;
	char why[512];

	if (d->stopping)
		httpd_reply_text(r, 503, "ingester is shutting down");
	else if (!d->ready)
		httpd_reply_text(r, 503, "ingester not ready: replaying the WAL (%d of %d tenants "
		    "done)", d->replayed, d->replay_total);
	else if (!ring_ready(d, why, sizeof(why)))
		httpd_reply_text(r, 503, "ingester not ready: %s", why);
	else
		httpd_reply_text(r, 200, "ready");
}

static void
collect(void *arg)
{
	struct daemon *d = arg;
	uint64_t series = 0, chunks = 0;

	/* The replay thread owns the tenants until it is done. */
	if (!d->ready)
		return;
	for (size_t i = 0; i < tenants_count(d->tenants); i++) {
		struct tenant_stats st;

		tenant_stats(tenants_at(d->tenants, i), &st);
		series += st.series;
		chunks += st.chunks;
	}
	metric_set(d->mem_series, (double)series);
	metric_set(d->mem_users, (double)tenants_count(d->tenants));
	metric_set(d->head_chunks, (double)chunks);
}

static void
on_metrics(struct httpd_req *r, void *arg)
{
	struct daemon *d = arg;

	httpd_reply_metrics(r, d->metrics);
}

void
admin_metrics(struct daemon *d)
{
	d->mem_series = metric_with(metrics_family(d->metrics, METRIC_GAUGE,
	    "cortex_ingester_memory_series", "The current number of series in memory.",
	    NULL, NULL, 0));
	d->mem_users = metric_with(metrics_family(d->metrics, METRIC_GAUGE,
	    "cortex_ingester_memory_users", "The current number of users in memory.",
	    NULL, NULL, 0));
	d->head_chunks = metric_with(metrics_family(d->metrics, METRIC_GAUGE,
	    "cortex_ingester_tsdb_head_chunks", "Total number of chunks in the heads.",
	    NULL, NULL, 0));
	metrics_add_process(d->metrics);
	metrics_on_collect(d->metrics, collect, d);
}

void
admin_routes(struct daemon *d)
{
	d->compact_timer = evtimer_new(d->base, admin_compact_tick, d);
	httpd_route(d->httpd, "/ready", "ready", HTTPD_GET | HTTPD_HEAD, on_ready, d);
	httpd_route(d->httpd, "/metrics", "metrics", HTTPD_GET, on_metrics, d);
	httpd_route(d->httpd, "/ingester/flush", "ingester_flush", HTTPD_GET | HTTPD_POST,
	    on_flush, d);
	httpd_route(d->httpd, "/flush", "flush", HTTPD_GET | HTTPD_POST, on_flush, d);
}
