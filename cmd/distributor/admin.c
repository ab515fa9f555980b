/*
 * admin — /ready (the ring can take a write), /metrics with Cortex's
 * distributor names, and /ring: Cortex's ring page (specs/ring-kv.md
 * §15.1) as HTML for a browser, as JSON with Accept: application/json,
 * and its Forget button.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/base/clock.h"
#include "lib/base/log.h"
#include "lib/base/xmalloc.h"
#include "cmd/distributor/distributor.h"

static void
on_ready(struct httpd_req *r, void *arg)
{
	struct daemon *d = arg;
	const struct ring *ring = current_ring(d);
	struct ring_replication_set rs = { 0 };
	struct err e;

	if (d->stopping)
		httpd_reply_text(r, 503, "distributor is shutting down");
	else if (ring == NULL)
		httpd_reply_text(r, 503, "the ring is not available: %s", d->ring_status);
	else if (ring_replication_set_for_op(ring, RING_OP_WRITE, clock_wall_ms(), &rs, &e) == -1)
		httpd_reply_text(r, 503, "the ring cannot take writes: %s", e.msg);
	else
		httpd_reply_text(r, 200, "ready");
	ring_replication_set_free(&rs);
}

static void
on_metrics(struct httpd_req *r, void *arg)
{
	httpd_reply_metrics(r, ((struct daemon *)arg)->metrics);
}

static void
ring_json(struct httpd_req *r, const struct ring_desc *desc)
{
	json_t *o = json_object(), *shards = json_array();
	char *s;

	for (size_t i = 0; i < desc->n; i++) {
		const struct ring_instance *x = &desc->inst[i];
		json_t *sh = json_object(), *tok = json_array();

		json_object_set_new(sh, "id", json_string(x->id));
		json_object_set_new(sh, "state", json_string(ring_state_name(x->state)));
		json_object_set_new(sh, "address", json_string(x->addr));
		json_object_set_new(sh, "timestamp", json_integer(x->timestamp));
		json_object_set_new(sh, "registered_timestamp", json_integer(x->registered_timestamp));
		json_object_set_new(sh, "zone", json_string(x->zone));
		for (size_t k = 0; k < x->ntokens; k++)
			json_array_append_new(tok, json_integer(x->tokens[k]));
		json_object_set_new(sh, "tokens", tok);
		json_array_append_new(shards, sh);
	}
	json_object_set_new(o, "shards", shards);
	json_object_set_new(o, "now", json_integer(clock_wall_ms() / 1000));
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	httpd_reply(r, 200, "application/json", s, strlen(s));
	free(s);
	json_decref(o);
}

static void
ring_html(struct daemon *d, struct httpd_req *r, const struct ring_desc *desc)
{
	double *own = xcalloc(desc->n + 1, sizeof(*own));
	int64_t now = clock_wall_ms();
	char when[32], *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	ring_ownership(desc, d->o.zone_awareness, own);
	clock_rfc3339(when, sizeof(when), now / 1000);
	fprintf(fp, "<!DOCTYPE html>\n<html>\n<head><meta charset=\"UTF-8\"><title>Ring Status"
	    "</title></head>\n<body>\n<h1>Ring Status</h1>\n<p>Current time: %s</p>\n"
	    "<form action=\"\" method=\"POST\">\n<table width=\"100%%\" border=\"1\">\n"
	    "<thead><tr><th>Instance ID</th><th>Availability Zone</th><th>State</th>"
	    "<th>Address</th><th>Registered At</th><th>Last Heartbeat</th><th>Tokens</th>"
	    "<th>Ownership</th><th>Actions</th></tr></thead>\n<tbody>\n", when);
	for (size_t i = 0; i < desc->n; i++) {
		const struct ring_instance *x = &desc->inst[i];
		int healthy = ring_instance_healthy(x, RING_OP_REPORTING, now,
		    d->o.heartbeat_timeout);

		if (x->state == RING_LEFT)
			continue;
		clock_rfc3339(when, sizeof(when), x->registered_timestamp);
		fprintf(fp, "<tr%s><td>", i % 2 ? "" : " bgcolor=\"#BEBEBE\"");
		httpd_html_text(fp, x->id);
		fputs("</td><td>", fp);
		httpd_html_text(fp, x->zone);
		fprintf(fp, "</td><td>%s</td><td>", healthy ? ring_state_name(x->state) : "UNHEALTHY");
		httpd_html_text(fp, x->addr);
		fprintf(fp, "</td><td>%s</td><td>%llds ago</td><td>%zu</td><td>%.3g%%</td>"
		    "<td><button name=\"forget\" value=\"", when,
		    (long long)(now / 1000 - x->timestamp), x->ntokens, own[i] * 100);
		httpd_html_text(fp, x->id);
		fputs("\" type=\"submit\">Forget</button></td></tr>\n", fp);
	}
	fputs("</tbody>\n</table>\n</form>\n</body>\n</html>\n", fp);
	fclose(fp);
	httpd_reply(r, 200, "text/html; charset=utf-8", text, len);
	free(text);
	free(own);
}

static int
forget_cb(struct ring_desc *desc, int found, void *arg, struct err *e)
{
	return ring_desc_remove(desc, arg);
}

static void
on_ring(struct httpd_req *r, void *arg)
{
	struct daemon *d = arg;
	const char *accept = httpd_req_header(r, "Accept"), *id;
	const struct ring *ring;
	struct err e;

	if (httpd_req_method(r) == HTTPD_POST && httpd_req_params(r, "forget", &id, 1) > 0) {
		/* The CAS blocks the loop for one KV round trip: an operator's click. */
		if (kv_cas(d->kv, RING_KEY, forget_cb, (void *)id, &e) == -1) {
			httpd_reply_text(r, 500, "error forgetting instance '%s': %s", id, e.msg);
			return;
		}
		log_info("instance forgotten", "instance=%s", log_q(id));
		httpd_reply_header(r, "Location", "#");
		httpd_reply(r, 302, NULL, NULL, 0);
		return;
	}
	if ((ring = current_ring(d)) == NULL) {
		httpd_reply_text(r, 503, "the ring is not available: %s", d->ring_status);
		return;
	}
	if (accept != NULL && strstr(accept, "application/json") != NULL)
		ring_json(r, ring_desc_of(ring));
	else
		ring_html(d, r, ring_desc_of(ring));
}

void
admin_metrics(struct daemon *d)
{
	static const char *const user[] = { "user", NULL };
	static const char *const reason_user[] = { "reason", "user", NULL };
	static const char *const ingester_type[] = { "ingester", "type", NULL };
	static const char *const failures[] = { "ingester", "status", "type", NULL };
	static const char *const client[] = { "ingester", "operation", "status_code", NULL };
	static const double secs[] = { .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5 };
	static const double counts[] = { 1, 10, 100, 1000, 5000, 10000, 50000 };
	struct metrics *m = d->metrics;

	d->f_samples_in = metrics_family(m, METRIC_COUNTER, "cortex_distributor_samples_in_total",
	    "The total number of samples that have come in to the distributor, including "
	    "rejected or deduped samples.", user, NULL, 0);
	d->f_received = metrics_family(m, METRIC_COUNTER,
	    "cortex_distributor_received_samples_total",
	    "The total number of received samples, excluding rejected and deduped samples.",
	    user, NULL, 0);
	d->f_requests = metrics_family(m, METRIC_COUNTER, "cortex_distributor_requests_in_total",
	    "The total number of requests that have come in to the distributor, including "
	    "rejected or deduped requests.", user, NULL, 0);
	d->f_discarded = metrics_family(m, METRIC_COUNTER, "cortex_discarded_samples_total",
	    "The total number of samples that were discarded.", reason_user, NULL, 0);
	d->f_appends = metrics_family(m, METRIC_COUNTER, "cortex_distributor_ingester_appends_total",
	    "The total number of batch appends sent to ingesters.", ingester_type, NULL, 0);
	d->f_append_failures = metrics_family(m, METRIC_COUNTER,
	    "cortex_distributor_ingester_append_failures_total",
	    "The total number of failed batch appends sent to ingesters.", failures, NULL, 0);
	d->f_client_duration = metrics_family(m, METRIC_HISTOGRAM,
	    "cortex_ingester_client_request_duration_seconds",
	    "Time spent doing Ingester requests.", client, secs, sizeof(secs) / sizeof(secs[0]));
	d->series_per_request = metric_with(metrics_family(m, METRIC_HISTOGRAM,
	    "cortex_distributor_series_per_request", "Series in each push request.", NULL,
	    counts, sizeof(counts) / sizeof(counts[0])));
	metric_set(metric_with(metrics_family(m, METRIC_GAUGE,
	    "cortex_distributor_replication_factor", "The configured replication factor.",
	    NULL, NULL, 0)), (double)d->o.replication_factor);
	metrics_add_process(m);
}

void
admin_routes(struct daemon *d)
{
	httpd_route(d->httpd, "/ready", "ready", HTTPD_GET | HTTPD_HEAD, on_ready, d);
	httpd_route(d->httpd, "/metrics", "metrics", HTTPD_GET, on_metrics, d);
	httpd_route(d->httpd, "/ring", "ring", HTTPD_GET | HTTPD_POST, on_ring, d);
	httpd_route(d->httpd, "/distributor/ring", "distributor_ring", HTTPD_GET | HTTPD_POST,
	    on_ring, d);
}
