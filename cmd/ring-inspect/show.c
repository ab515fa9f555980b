/*
 * show.c — the ring page of Cortex (specs/ring-kv.md §15.1) for a
 * terminal: one row per instance, LEFT tombstones hidden, STATE as stored
 * and HEALTH from the heartbeat; JSON lines for jq; -watch; -check.
 */
#include <sys/ioctl.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "lib/base/clock.h"
#include "lib/base/log.h"
#include "lib/base/xmalloc.h"
#include "cmd/ring-inspect/ring-inspect.h"

#define NCOLS		9
#define REDRAW_MS	5000	/* -watch on a terminal: heartbeat ages move */

enum { C_ID, C_ZONE, C_STATE, C_ADDR, C_REG, C_BEAT, C_TOKENS, C_OWN, C_HEALTH };

static const char *const heads[NCOLS] = {
	"INSTANCE", "ZONE", "STATE", "ADDRESS", "REGISTERED", "HEARTBEAT", "TOKENS",
	"OWNERSHIP", "HEALTH",
};
/* Dropped first when the terminal is too narrow, in this order. */
static const int droppable[] = { C_REG, C_ZONE, C_ADDR, C_HEALTH };

struct row {
	const struct ring_instance *x;
	int		 healthy;
	double		 own;		/* 0..1 */
	char		 cell[NCOLS][96];
};

struct view {
	struct ring_desc	 d;
	struct row		*rows;
	size_t			 n;
	int64_t			 now_ms;
};

static void
fmt_age(char *out, size_t len, int64_t s)
{
	if (s < 0)
		snprintf(out, len, "in %llds", (long long)-s);
	else if (s < 60)
		snprintf(out, len, "%llds ago", (long long)s);
	else if (s < 3600)
		snprintf(out, len, "%lldm%llds ago", (long long)(s / 60), (long long)(s % 60));
	else
		snprintf(out, len, "%lldh%lldm ago", (long long)(s / 3600),
		    (long long)(s / 60 % 60));
}

static void
view_free(struct view *v)
{
	ring_desc_free(&v->d);
	free(v->rows);
}

static int
view_load(struct ctx *c, struct view *v)
{
	double *own;
	int rc;

	memset(v, 0, sizeof(*v));
	ring_desc_init(&v->d);
	if ((rc = read_ring(c, &v->d)) != EXIT_OK)
		return rc;
	v->now_ms = clock_wall_ms();
	own = xcalloc(v->d.n + 1, sizeof(*own));
	ring_ownership(&v->d, c->o.zone_awareness, own);
	v->rows = xcalloc(v->d.n + 1, sizeof(*v->rows));
	for (size_t i = 0; i < v->d.n; i++) {
		const struct ring_instance *x = &v->d.inst[i];
		struct row *r;

		if (x->state == RING_LEFT)
			continue;
		r = &v->rows[v->n++];
		r->x = x;
		r->own = own[i];
		r->healthy = ring_instance_healthy(x, RING_OP_REPORTING, v->now_ms,
		    c->o.heartbeat_timeout);
		snprintf(r->cell[C_ID], sizeof(r->cell[0]), "%s", x->id);
		snprintf(r->cell[C_ZONE], sizeof(r->cell[0]), "%s", *x->zone ? x->zone : "-");
		snprintf(r->cell[C_STATE], sizeof(r->cell[0]), "%s", ring_state_name(x->state));
		snprintf(r->cell[C_ADDR], sizeof(r->cell[0]), "%s", x->addr);
		clock_rfc3339(r->cell[C_REG], sizeof(r->cell[0]), x->registered_timestamp);
		if (r->cell[C_REG][0] == '\0')
			snprintf(r->cell[C_REG], sizeof(r->cell[0]), "-");
		fmt_age(r->cell[C_BEAT], sizeof(r->cell[0]), v->now_ms / 1000 - x->timestamp);
		snprintf(r->cell[C_TOKENS], sizeof(r->cell[0]), "%zu", x->ntokens);
		snprintf(r->cell[C_OWN], sizeof(r->cell[0]), "%.3g%%", r->own * 100);
		snprintf(r->cell[C_HEALTH], sizeof(r->cell[0]), "%s",
		    r->healthy ? "ok" : "UNHEALTHY");
	}
	free(own);
	return EXIT_OK;
}

static int
term_width(void)
{
	struct winsize ws;
	const char *cols = getenv("COLUMNS");

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	if (cols != NULL && atoi(cols) > 0)
		return atoi(cols);
	return 0;	/* not a terminal: no limit */
}

static const char *
color_of(const struct row *r, int col)
{
	if (col == C_HEALTH && !r->healthy)
		return "\033[31m";
	if (col != C_STATE)
		return NULL;
	if (r->x->state == RING_ACTIVE)
		return r->healthy ? "\033[32m" : "\033[31m";
	return "\033[33m";
}

static void
print_table(const struct ctx *c, const struct view *v)
{
	int width[NCOLS], show[NCOLS], total = 0, limit = term_width();
	double sum = 0;
	size_t healthy = 0, tokens = 0;

	for (int j = 0; j < NCOLS; j++) {
		width[j] = (int)strlen(heads[j]);
		show[j] = 1;
		for (size_t i = 0; i < v->n; i++)
			if ((int)strlen(v->rows[i].cell[j]) > width[j])
				width[j] = (int)strlen(v->rows[i].cell[j]);
		total += width[j] + 2;
	}
	for (size_t k = 0; limit > 0 && total > limit &&
	    k < sizeof(droppable) / sizeof(droppable[0]); k++) {
		show[droppable[k]] = 0;
		total -= width[droppable[k]] + 2;
	}
	for (int j = 0; j < NCOLS; j++)
		if (show[j])
			printf("%-*s  ", width[j], heads[j]);
	printf("\n");
	for (size_t i = 0; i < v->n; i++) {
		const struct row *r = &v->rows[i];

		for (int j = 0; j < NCOLS; j++) {
			const char *col = c->o.color ? color_of(r, j) : NULL;

			if (!show[j])
				continue;
			if (col != NULL)
				printf("%s%-*s\033[0m  ", col, width[j], r->cell[j]);
			else
				printf("%-*s  ", width[j], r->cell[j]);
		}
		printf("\n");
		sum += r->own;
		healthy += r->healthy;
		tokens += r->x->ntokens;
	}
	printf("\n%zu instances, %zu healthy, %zu tokens, ownership %.4g%%\n", v->n, healthy,
	    tokens, sum * 100);
}

static void
print_json(const struct view *v)
{
	for (size_t i = 0; i < v->n; i++) {
		const struct row *r = &v->rows[i];
		const struct ring_instance *x = r->x;
		json_t *o = json_object();
		char *s;

		json_object_set_new(o, "id", json_string(x->id));
		json_object_set_new(o, "zone", json_string(x->zone));
		json_object_set_new(o, "state", json_string(ring_state_name(x->state)));
		json_object_set_new(o, "address", json_string(x->addr));
		json_object_set_new(o, "registered_timestamp",
		    json_integer(x->registered_timestamp));
		json_object_set_new(o, "timestamp", json_integer(x->timestamp));
		json_object_set_new(o, "heartbeat_age_seconds",
		    json_integer(v->now_ms / 1000 - x->timestamp));
		json_object_set_new(o, "tokens", json_integer((json_int_t)x->ntokens));
		json_object_set_new(o, "ownership", json_real(round(r->own * 1e6) / 1e4));
		json_object_set_new(o, "healthy", json_boolean(r->healthy));
		s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		printf("%s\n", s);
		free(s);
		json_decref(o);
	}
}

/* Instances per zone, for the fair share (one zone without zone awareness). */
static size_t
zone_size(const struct ctx *c, const struct view *v, const char *zone)
{
	size_t n = 0;

	for (size_t i = 0; i < v->n; i++)
		n += !c->o.zone_awareness || strcmp(v->rows[i].x->zone, zone) == 0;
	return n;
}

static int
check(const struct ctx *c, const struct view *v)
{
	size_t bad = 0;

	if (v->n == 0) {
		printf("FAIL the ring has no instances\n");
		return EXIT_CHECK;
	}
	for (size_t i = 0; i < v->n; i++) {
		const struct row *r = &v->rows[i];
		double fair = 1.0 / (double)zone_size(c, v, r->x->zone);

		if (!r->healthy) {
			printf("FAIL instance %s: last heartbeat %s\n", r->x->id, r->cell[C_BEAT]);
			bad++;
		} else if (r->x->state != RING_ACTIVE) {
			printf("FAIL instance %s: in state %s\n", r->x->id, r->cell[C_STATE]);
			bad++;
		}
		if (fabs(r->own / fair - 1) > c->o.max_skew) {
			printf("FAIL instance %s: owns %.3g%% of the ring, fair share %.3g%%\n",
			    r->x->id, r->own * 100, fair * 100);
			bad++;
		}
	}
	if (bad)
		return EXIT_CHECK;
	printf("OK %zu instances ACTIVE and healthy, ownership within %.0f%% of the fair "
	    "share\n", v->n, c->o.max_skew * 100);
	return EXIT_OK;
}

static int
show_once(struct ctx *c, int clear)
{
	struct view v;
	int rc;

	if ((rc = view_load(c, &v)) != EXIT_OK)
		return rc;
	if (clear)
		printf("\033[H\033[2J");
	if (c->o.check)
		rc = check(c, &v);
	else if (c->o.json)
		print_json(&v);
	else
		print_table(c, &v);
	fflush(stdout);
	view_free(&v);
	return rc;
}

static int
watch(struct ctx *c)
{
	int tty = isatty(STDOUT_FILENO) && !c->o.json;
	int64_t drawn = 0;
	struct err e;

	if (kv_watch(c->kv, c->o.ring_key, 0, &e) == -1) {
		log_error("cannot watch the ring", "err=%s", log_q(e.msg));
		return EXIT_SYSTEM;
	}
	while (!c->stop) {
		struct ring_desc d;
		char *key = NULL;
		int rc;

		ring_desc_init(&d);
		rc = kv_next(c->kv, 1000, &key, &d, &e);
		ring_desc_free(&d);
		free(key);
		if (rc == -1) {
			log_error("the watch broke", "err=%s", log_q(e.msg));
			return EXIT_SYSTEM;
		}
		if (rc == 0 && !(tty && clock_mono_ms() - drawn >= REDRAW_MS))
			continue;
		if (!tty && drawn != 0 && !c->o.json)
			printf("\n");
		if (show_once(c, tty) == EXIT_SYSTEM)
			return EXIT_SYSTEM;
		drawn = clock_mono_ms();
	}
	return EXIT_OK;
}

int
cmd_show(struct ctx *c)
{
	return c->o.watch ? watch(c) : show_once(c, 0);
}
