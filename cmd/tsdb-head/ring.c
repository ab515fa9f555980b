/*
 * ring.c — tsdb-head in the ring: the KV client is opened at setup, so a
 * bad -ring.* config stops the start; the lifecycler joins once the WAL is
 * replayed (as a Cortex ingester opens its TSDBs before it joins), and on
 * SIGTERM the instance goes LEAVING before the flush and leaves after it.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/base/log.h"
#include "lib/base/netif.h"
#include "cmd/tsdb-head/tsdb-head.h"

#define RING_KEY	"ring"		/* Cortex's ingester ring key */

/* Fill what the flags leave to the host: the ID and the address. */
static void
ring_defaults(struct daemon *d, int http_port)
{
	struct opts *o = &d->o;
	char host[256];
	const char *ip = o->lc_addr;

	if (*o->lc_id == '\0') {
		if (gethostname(host, sizeof(host)) == -1)
			strlcpy(host, "localhost", sizeof(host));
		host[sizeof(host) - 1] = '\0';
		strlcpy(d->ring_id, host, sizeof(d->ring_id));
	} else
		strlcpy(d->ring_id, o->lc_id, sizeof(d->ring_id));
	if (*ip == '\0') {
		if (*o->listen_addr != '\0' && strcmp(o->listen_addr, "0.0.0.0") != 0)
			ip = o->listen_addr;
		else {
			netif_default_addr(host, sizeof(host));
			ip = host;
		}
	}
	snprintf(d->ring_addr, sizeof(d->ring_addr), "%s:%d", ip,
	    o->lc_port > 0 ? (int)o->lc_port : http_port);
}

int
ring_setup(struct daemon *d)
{
	struct err e;

	d->o.kv.run_dir = d->o.run_dir;
	if ((d->kv = kv_open(&d->o.kv, d->metrics, "ingester-lifecycler", &e)) == NULL) {
		log_error("cannot open the ring's KV store", "err=%s", log_q(e.msg));
		return EXIT_USAGE;
	}
	return 0;
}

void
ring_join(struct daemon *d)
{
	struct opts *o = &d->o;
	struct lifecycler_config c;
	struct err e;

	ring_defaults(d, httpd_port(d->httpd));
	memset(&c, 0, sizeof(c));
	c.ring_key = RING_KEY;
	c.id = d->ring_id;
	c.addr = d->ring_addr;
	c.zone = o->lc_zone;
	c.num_tokens = (int)o->lc_num_tokens;
	c.tokens_file = o->lc_tokens_file;
	c.join_after_ms = o->lc_join_after;
	c.observe_period_ms = o->lc_observe_period;
	c.heartbeat_period_ms = o->lc_heartbeat_period;
	c.heartbeat_timeout_ms = o->ring_heartbeat_timeout;
	c.min_ready_duration_ms = o->lc_min_ready;
	c.final_sleep_ms = o->lc_final_sleep;
	c.unregister_on_shutdown = o->lc_unregister;
	c.readiness_check_ring_health = o->lc_check_ring_health;
	log_info("joining the ring", "instance=%s addr=%s store=%s", log_q(d->ring_id),
	    log_q(d->ring_addr), o->kv.store);
	if ((d->lc = lifecycler_start(&c, d->kv, d->metrics, &e)) == NULL) {
		log_error("cannot start the lifecycler", "err=%s", log_q(e.msg));
		d->exit_code = EXIT_USAGE;
		event_base_loopbreak(d->base);
		return;
	}
	d->kv = NULL;		/* the lifecycler's now */
}

int
ring_ready(struct daemon *d, char *why, size_t len)
{
	if (d->lc == NULL) {
		snprintf(why, len, "not in the ring yet");
		return 0;
	}
	return lifecycler_ready(d->lc, why, len);
}

void
ring_leave(struct daemon *d)
{
	if (d->lc != NULL)
		lifecycler_leave(d->lc);
}

void
ring_stop(struct daemon *d)
{
	if (d->lc != NULL)
		lifecycler_stop(d->lc);
	d->lc = NULL;
	kv_close(d->kv);
	d->kv = NULL;
}
