/*
 * ops.c — forget (the ring page's Forget button: only an unhealthy
 * instance unless -force), owners (the replication set of one series, by
 * the ring library the distributor uses), tokens.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/base/clock.h"
#include "lib/base/log.h"
#include "lib/base/xmalloc.h"
#include "lib/tsdb/matcher.h"
#include "cmd/ring-inspect/ring-inspect.h"

struct forget {
	const struct ctx	*c;
	const char		*id;
	int			 result;	/* EXIT_* */
};

static int
forget_cb(struct ring_desc *d, int found, void *arg, struct err *e)
{
	struct forget *f = arg;
	struct ring_instance *x = ring_desc_find(d, f->id);

	if (x == NULL || x->state == RING_LEFT) {
		f->result = EXIT_CHECK;
		return err_set(e, "instance %s is not in the ring", f->id);
	}
	if (!f->c->o.force && ring_instance_healthy(x, RING_OP_REPORTING, clock_wall_ms(),
	    f->c->o.heartbeat_timeout)) {
		f->result = EXIT_CHECK;
		return err_set(e, "instance %s is healthy: use -force to forget it anyway", f->id);
	}
	/* In a memberlist ring the agent turns the removal into a LEFT tombstone. */
	ring_desc_remove(d, f->id);
	return 1;
}

int
cmd_forget(struct ctx *c, const char *id)
{
	struct forget f = { c, id, EXIT_SYSTEM };
	struct err e;

	if (kv_cas(c->kv, c->o.ring_key, forget_cb, &f, &e) == -1) {
		log_error("forget failed", "instance=%s err=%s", log_q(id), log_q(e.msg));
		return f.result;
	}
	printf("forgot %s\n", id);
	return EXIT_OK;
}

/*
 * The whole ring key (dskit's KV Delete). Instances that still heartbeat
 * would write it again at once, so they hold the delete back unless -force.
 */
int
cmd_delete(struct ctx *c)
{
	struct ring_desc d;
	size_t healthy = 0;
	struct err e;
	int rc;

	if ((rc = read_ring(c, &d)) != EXIT_OK)
		return rc;
	if (d.n == 0) {
		log_error("delete: no ring instance under the key: nothing to delete", "key=%s%s", c->o.kv.prefix,
		    c->o.ring_key);
		return EXIT_CHECK;
	}
	for (size_t i = 0; i < d.n; i++)
		healthy += d.inst[i].state != RING_LEFT && ring_instance_healthy(&d.inst[i],
		    RING_OP_REPORTING, clock_wall_ms(), c->o.heartbeat_timeout);
	ring_desc_free(&d);
	if (healthy > 0 && !c->o.force) {
		log_error("delete: instances still heartbeat into the ring and would write it "
		    "again: use -force to delete it anyway", "key=%s%s healthy=%zu",
		    c->o.kv.prefix, c->o.ring_key, healthy);
		return EXIT_CHECK;
	}
	if (kv_delete(c->kv, c->o.ring_key, &e) == -1) {
		log_error("delete failed", "key=%s%s err=%s", c->o.kv.prefix, c->o.ring_key,
		    log_q(e.msg));
		return EXIT_SYSTEM;
	}
	printf("deleted %s%s\n", c->o.kv.prefix, c->o.ring_key);
	return EXIT_OK;
}

/* The series' labels: the selector's matchers must all be name="value". */
static int
series_labels(const char *selector, struct matcher **m, size_t *n, struct labels *ls)
{
	struct err e;

	if (selector_parse(selector, m, n, &e) == -1) {
		log_error("bad series", "series=%s err=%s", log_q(selector), log_q(e.msg));
		return -1;
	}
	ls->v = xcalloc(*n + 1, sizeof(*ls->v));
	ls->n = *n;
	for (size_t i = 0; i < *n; i++) {
		if ((*m)[i].type != MATCH_EQ) {
			log_error("owners needs one series: name=\"value\" pairs only",
			    "series=%s", log_q(selector));
			return -1;
		}
		ls->v[i].name = str_c((*m)[i].name);
		ls->v[i].value = (struct str){ (*m)[i].value, (*m)[i].value_len };
	}
	labels_sort(ls);
	if (labels_has_dup_names(ls)) {
		log_error("a label name is repeated", "series=%s", log_q(selector));
		return -1;
	}
	return 0;
}

static void
print_owners(const struct ctx *c, uint32_t token, const struct ring_replication_set *rs)
{
	if (c->o.json) {
		json_t *o = json_object(), *a = json_array();
		char *s;

		for (size_t i = 0; i < rs->n; i++) {
			json_t *x = json_object();

			json_object_set_new(x, "id", json_string(rs->inst[i]->id));
			json_object_set_new(x, "address", json_string(rs->inst[i]->addr));
			json_object_set_new(x, "zone", json_string(rs->inst[i]->zone));
			json_object_set_new(x, "state",
			    json_string(ring_state_name(rs->inst[i]->state)));
			json_array_append_new(a, x);
		}
		json_object_set_new(o, "token", json_integer(token));
		json_object_set_new(o, "max_errors", json_integer(rs->max_errors));
		json_object_set_new(o, "instances", a);
		s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		printf("%s\n", s);
		free(s);
		json_decref(o);
		return;
	}
	printf("# token %u, %zu replicas, %d may fail\n", token, rs->n, rs->max_errors);
	for (size_t i = 0; i < rs->n; i++)
		printf("%s\t%s\t%s\t%s\n", rs->inst[i]->id, rs->inst[i]->addr,
		    *rs->inst[i]->zone ? rs->inst[i]->zone : "-",
		    ring_state_name(rs->inst[i]->state));
}

int
cmd_owners(struct ctx *c, const char *selector)
{
	struct ring_replication_set rs = { 0 };
	struct ring_config rc;
	struct ring_desc d;
	struct matcher *m = NULL;
	struct labels ls = { 0 };
	struct ring *r = NULL;
	struct err e;
	size_t n = 0;
	uint32_t token;
	int rv = EXIT_USAGE;

	ring_desc_init(&d);
	if (series_labels(selector, &m, &n, &ls) == -1)
		goto out;
	if ((rv = read_ring(c, &d)) != EXIT_OK)
		goto out;
	ring_config_of(&c->o, &rc);
	r = ring_new(&d, &rc);
	token = ring_token_for_series(c->o.tenant, &ls);
	if (ring_get(r, token, RING_OP_WRITE, clock_wall_ms(), &rs, &e) == -1) {
		log_error("no replication set", "token=%u err=%s", token, log_q(e.msg));
		rv = EXIT_CHECK;
		goto out;
	}
	print_owners(c, token, &rs);
	rv = EXIT_OK;
out:
	ring_replication_set_free(&rs);
	ring_free(r);
	ring_desc_free(&d);
	free(ls.v);
	matchers_free(m, n);
	return rv;
}

int
cmd_tokens(struct ctx *c, const char *id)
{
	struct ring_instance *x;
	struct ring_desc d;
	int rv;

	ring_desc_init(&d);
	if ((rv = read_ring(c, &d)) != EXIT_OK)
		goto out;
	if ((x = ring_desc_find(&d, id)) == NULL || x->state == RING_LEFT) {
		log_error("instance not in the ring", "instance=%s", log_q(id));
		rv = EXIT_CHECK;
		goto out;
	}
	if (c->o.json) {
		printf("[");
		for (size_t i = 0; i < x->ntokens; i++)
			printf("%s%u", i ? "," : "", x->tokens[i]);
		printf("]\n");
	} else
		for (size_t i = 0; i < x->ntokens; i++)
			printf("%u\n", x->tokens[i]);
out:
	ring_desc_free(&d);
	return rv;
}
