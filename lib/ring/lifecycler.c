/*
 * lifecycler — dskit's ring.Lifecycler in one thread. Every ring write is a
 * CAS whose callback edits this instance's entry only. Two departures from
 * dskit, both so that a conflict is always noticed:
 *  - tokens loaded from the tokens file are observed like fresh ones when
 *    -ingester.observe-period is set (dskit trusts them and goes ACTIVE);
 *  - during observation a token counts as lost when the ring gives it to
 *    this instance's entry no more, or when another instance holds it and
 *    would win dskit's conflict rule (not LEAVING, smaller ID): a store
 *    that replaces whole values (etcd) never resolves conflicts itself.
 * A memberlist ring keeps only strictly newer heartbeats, so every write
 * carries a timestamp above the stored one.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "lib/base/clock.h"
#include "lib/base/fileutil.h"
#include "lib/base/log.h"
#include "lib/base/metrics.h"
#include "lib/base/xmalloc.h"
#include "lib/kv/client.h"
#include "lib/ring/lifecycler.h"
#include "lib/ring/ring.h"

#define INIT_RETRY_MS	1000

struct lifecycler {
	struct lifecycler_config cfg;
	struct kv		*kv;
	pthread_t		 thread;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	int			 leave_req;
	int			 stop_req;

	/* Under mu: what /ready and the daemon see. */
	enum ring_state		 state;
	uint32_t		*tokens;	/* sorted */
	size_t			 ntokens;
	int64_t			 registered_at;	/* Unix seconds */
	int64_t			 start_ms;
	int			 ready;		/* latched */
	char			 ring_verdict[256];	/* "" when the ring is healthy */

	struct metric		*heartbeats;
	struct metric		*tokens_owned;
	struct metric		*tokens_to_own;
};

static int64_t
now_s(void)
{
	return clock_wall_ms() / 1000;
}

static void
set_tokens(struct lifecycler *l, const uint32_t *t, size_t n)
{
	struct err e;

	if (n == l->ntokens && (n == 0 || memcmp(t, l->tokens, n * sizeof(*t)) == 0))
		return;
	pthread_mutex_lock(&l->mu);
	free(l->tokens);
	l->tokens = xreallocarray(NULL, n ? n : 1, sizeof(*t));
	if (n > 0)
		memcpy(l->tokens, t, n * sizeof(*t));
	l->ntokens = n;
	pthread_mutex_unlock(&l->mu);
	if (l->tokens_owned != NULL)
		metric_set(l->tokens_owned, (double)n);
	if (*l->cfg.tokens_file != '\0' &&
	    tokens_file_store(l->cfg.tokens_file, l->tokens, l->ntokens, &e) == -1)
		log_warn("cannot store the tokens file", "err=%s", log_q(e.msg));
}

static void
set_state(struct lifecycler *l, enum ring_state s)
{
	if (s == l->state)
		return;
	log_info("ring state changed", "instance=%s from=%s to=%s", log_q(l->cfg.id),
	    ring_state_name(l->state), ring_state_name(s));
	pthread_mutex_lock(&l->mu);
	l->state = s;
	pthread_mutex_unlock(&l->mu);
}

/*
 * Keep the n tokens of t (which has room for -ingester.num-tokens), add
 * fresh ones up to that number, and make them this instance's.
 */
static void
adopt_tokens(struct lifecycler *l, const struct ring_desc *d, uint32_t *t, size_t n)
{
	size_t want = (size_t)l->cfg.num_tokens;

	if (n < want) {
		ring_generate_tokens(d, t, n, t + n, want - n);
		n = want;
	}
	set_tokens(l, t, ring_tokens_sort(t, n));
}

/* Fresh tokens for what this instance lacks of -ingester.num-tokens. */
static void
top_up_tokens(struct lifecycler *l, const struct ring_desc *d)
{
	uint32_t *t;

	if (l->ntokens >= (size_t)l->cfg.num_tokens)
		return;
	t = xreallocarray(NULL, (size_t)l->cfg.num_tokens, sizeof(*t));
	if (l->ntokens > 0)	/* l->tokens is NULL before the first ones */
		memcpy(t, l->tokens, l->ntokens * sizeof(*t));
	adopt_tokens(l, d, t, l->ntokens);
	free(t);
}

/* Everything but the heartbeat and the read-only state (not the lifecycler's). */
static int
same_entry(const struct ring_instance *a, const struct ring_instance *b)
{
	return a->state == b->state && strcmp(a->addr, b->addr) == 0 &&
	    strcmp(a->zone, b->zone) == 0 && a->registered_timestamp == b->registered_timestamp &&
	    a->ntokens == b->ntokens &&
	    (a->ntokens == 0 || memcmp(a->tokens, b->tokens, a->ntokens * sizeof(*a->tokens)) == 0);
}

/* The stored entry of this instance, LEFT tombstones counting as absent. */
static struct ring_instance *
self_in(const struct ring_desc *d, const struct lifecycler *l)
{
	struct ring_instance *x = ring_desc_find(d, l->cfg.id);

	return x != NULL && x->state != RING_LEFT ? x : NULL;
}

/*
 * The entry as this lifecycler has it. Its timestamp is now, or, when the
 * stored one is not older and something else changed, one above it: a
 * memberlist ring drops a change that is not newer. A heartbeat alone never
 * moves it past now, so the timestamp cannot run ahead of the clock.
 */
static void
put_entry(struct ring_desc *d, const struct lifecycler *l, const uint32_t *tokens,
    size_t ntokens)
{
	struct ring_instance *old = ring_desc_find(d, l->cfg.id), x;
	int64_t now = now_s();

	memset(&x, 0, sizeof(x));
	x.id = (char *)l->cfg.id;
	x.addr = (char *)l->cfg.addr;
	x.zone = (char *)l->cfg.zone;
	x.state = l->state;
	x.registered_timestamp = l->registered_at;
	x.tokens = (uint32_t *)tokens;
	x.ntokens = ntokens;
	x.timestamp = now;
	if (old != NULL && old->timestamp >= now) {
		x.timestamp = old->timestamp;
		if (!same_entry(old, &x))
			x.timestamp++;
	}
	if (old != NULL && old->state != RING_LEFT) {
		x.read_only = old->read_only;
		x.read_only_updated_timestamp = old->read_only_updated_timestamp;
	}
	ring_desc_set(d, &x);
}

/* dskit's initRing: register, or adopt the entry a previous run left. */
static int
init_cb(struct ring_desc *d, int found, void *arg, struct err *e)
{
	struct lifecycler *l = arg;
	struct ring_instance *x = self_in(d, l);
	uint32_t *file = NULL;
	size_t nfile = 0;
	struct err fe;

	if (x == NULL) {
		l->registered_at = now_s();
		if (*l->cfg.tokens_file != '\0' &&
		    tokens_file_load(l->cfg.tokens_file, &file, &nfile, &fe) == -1)
			log_warn("tokens file not used", "err=%s", log_q(fe.msg));
		if (nfile > 0) {
			log_info("adding tokens from file", "num_tokens=%zu", nfile);
			set_tokens(l, file, nfile);
			if (l->cfg.observe_period_ms > 0)
				set_state(l, RING_JOINING);
			else if (nfile >= (size_t)l->cfg.num_tokens)
				set_state(l, RING_ACTIVE);
		}
		free(file);
		put_entry(d, l, l->tokens, l->ntokens);
		return 1;
	}
	/* An entry from before a restart: take its tokens and state over. */
	l->registered_at = x->registered_timestamp;
	set_tokens(l, x->tokens, x->ntokens);
	switch (x->state) {
	case RING_JOINING:
		set_state(l, RING_PENDING);	/* crashed while joining */
		break;
	case RING_LEAVING:
		set_state(l, l->ntokens > 0 ? RING_ACTIVE : RING_PENDING);
		break;
	default:
		set_state(l, x->state);
	}
	if (l->state == RING_ACTIVE)
		top_up_tokens(l, d);
	put_entry(d, l, l->tokens, l->ntokens);
	return 1;
}

/* Readiness as dskit's Desc.IsReady / InstanceDesc.IsReady, remembered for /ready. */
static void
judge_ring(struct lifecycler *l, const struct ring_desc *d)
{
	char v[sizeof(l->ring_verdict)] = "";
	int64_t now = clock_wall_ms();
	size_t tokens = 0;

	for (size_t i = 0; i < d->n && v[0] == '\0'; i++) {
		const struct ring_instance *x = &d->inst[i];

		if (x->state == RING_LEFT)
			continue;
		tokens += x->ntokens;
		if (!l->cfg.readiness_check_ring_health && strcmp(x->id, l->cfg.id) != 0)
			continue;
		if (!ring_instance_healthy(x, RING_OP_REPORTING, now, l->cfg.heartbeat_timeout_ms))
			snprintf(v, sizeof(v), "instance %s past heartbeat timeout", x->id);
		else if (x->state != RING_ACTIVE)
			snprintf(v, sizeof(v), "instance %s in state %s", x->id,
			    ring_state_name(x->state));
	}
	if (v[0] == '\0' && tokens == 0)
		snprintf(v, sizeof(v), "no tokens in the ring");
	pthread_mutex_lock(&l->mu);
	memcpy(l->ring_verdict, v, sizeof(v));
	pthread_mutex_unlock(&l->mu);
}

/* dskit's updateConsul: the heartbeat, also how a state change is written. */
static int
heartbeat_cb(struct ring_desc *d, int found, void *arg, struct err *e)
{
	struct lifecycler *l = arg;
	struct ring_instance *x = self_in(d, l);

	if (x == NULL) {
		log_warn("instance missing from the ring: adding it again", "instance=%s",
		    log_q(l->cfg.id));
		l->registered_at = now_s();
		put_entry(d, l, l->tokens, l->ntokens);
	} else {
		uint32_t *t = xreallocarray(NULL, x->ntokens ? x->ntokens : 1, sizeof(*t));
		size_t n = x->ntokens;

		/* Tokens lost to conflict resolution stay lost. */
		if (n > 0)
			memcpy(t, x->tokens, n * sizeof(*t));
		put_entry(d, l, t, n);
		free(t);
	}
	judge_ring(l, d);
	return 1;
}

static void
write_entry(struct lifecycler *l, const char *why)
{
	struct err e;

	if (kv_cas(l->kv, l->cfg.ring_key, heartbeat_cb, l, &e) == -1) {
		log_warn("ring update failed", "op=%s err=%s", why, log_q(e.msg));
		return;
	}
	if (l->heartbeats != NULL)
		metric_inc(l->heartbeats);
}

/* dskit's autoJoin: fresh tokens for what is missing, then ACTIVE or JOINING. */
static int
join_cb(struct ring_desc *d, int found, void *arg, struct err *e)
{
	struct lifecycler *l = arg;

	top_up_tokens(l, d);
	put_entry(d, l, l->tokens, l->ntokens);
	return 1;
}

static void
auto_join(struct lifecycler *l)
{
	struct err e;

	set_state(l, l->cfg.observe_period_ms > 0 ? RING_JOINING : RING_ACTIVE);
	if (kv_cas(l->kv, l->cfg.ring_key, join_cb, l, &e) == -1)
		log_warn("ring update failed", "op=join err=%s", log_q(e.msg));
}

/* Would other win the token against this instance under dskit's conflict rule? */
static int
loses_to(const struct lifecycler *l, const struct ring_instance *other)
{
	if (other->state == RING_LEFT || strcmp(other->id, l->cfg.id) == 0)
		return 0;
	if (other->state == RING_LEAVING)
		return 0;
	return l->state == RING_LEAVING || strcmp(other->id, l->cfg.id) < 0;
}

static int
token_taken(const struct ring_desc *d, const struct lifecycler *l, uint32_t tok)
{
	for (size_t i = 0; i < d->n; i++)
		if (loses_to(l, &d->inst[i]) &&
		    ring_tokens_has(d->inst[i].tokens, d->inst[i].ntokens, tok))
			return 1;
	return 0;
}

struct observe_state {
	struct lifecycler	*l;
	int			 settled;	/* the ring agrees with our tokens */
};

/* dskit's verifyTokens: keep the tokens still ours, replace the lost ones. */
static int
observe_cb(struct ring_desc *d, int found, void *arg, struct err *e)
{
	struct observe_state *o = arg;
	struct lifecycler *l = o->l;
	struct ring_instance *x = self_in(d, l);
	size_t want = (size_t)l->cfg.num_tokens, n = 0;
	uint32_t *t = xreallocarray(NULL, want > l->ntokens ? want : l->ntokens + 1, sizeof(*t));

	for (size_t i = 0; i < l->ntokens; i++) {
		uint32_t tok = l->tokens[i];

		if (x != NULL && ring_tokens_has(x->tokens, x->ntokens, tok) &&
		    !token_taken(d, l, tok))
			t[n++] = tok;
	}
	o->settled = x != NULL && n == l->ntokens && n >= want;
	if (o->settled) {
		free(t);
		return 0;
	}
	log_info("token conflict: replacing lost tokens", "instance=%s kept=%zu lost=%zu",
	    log_q(l->cfg.id), n, l->ntokens - n);
	adopt_tokens(l, d, t, n);
	free(t);
	put_entry(d, l, l->tokens, l->ntokens);
	return 1;
}

/* 1 when the observation ended with the ring agreeing. */
static int
observe(struct lifecycler *l)
{
	struct observe_state o = { l, 0 };
	struct err e;

	if (kv_cas(l->kv, l->cfg.ring_key, observe_cb, &o, &e) == -1) {
		log_warn("ring update failed", "op=observe err=%s", log_q(e.msg));
		return 0;
	}
	return o.settled;
}

static int
unregister_cb(struct ring_desc *d, int found, void *arg, struct err *e)
{
	struct lifecycler *l = arg;

	return ring_desc_remove(d, l->cfg.id);
}

/*
 * A gossiped ring turns the removal into a LEFT tombstone stamped now,
 * which loses to an entry stamped in the same second or later: wait
 * (at most 2 s) for the clock to pass the stored heartbeat.
 */
static void
wait_past_heartbeat(struct lifecycler *l)
{
	struct ring_instance *x;
	struct ring_desc d;
	struct err e;

	ring_desc_init(&d);
	if (kv_get(l->kv, l->cfg.ring_key, &d, &e) == 1 && (x = self_in(&d, l)) != NULL)
		for (int i = 0; i < 21 && now_s() <= x->timestamp; i++)
			nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
	ring_desc_free(&d);
}

/* Wait until deadline (monotonic ms) or a request; returns with mu held. */
static void
wait_until(struct lifecycler *l, int64_t deadline)
{
	int64_t left = deadline - clock_mono_ms();
	struct timespec ts;

	if (left <= 0 || l->leave_req || l->stop_req)
		return;
	ts = clock_deadline(CLOCK_MONOTONIC, left);
	pthread_cond_timedwait(&l->cv, &l->mu, &ts);
}

static int
init_ring(struct lifecycler *l)
{
	struct err e;

	for (;;) {
		if (kv_cas(l->kv, l->cfg.ring_key, init_cb, l, &e) == 0)
			return 0;
		log_warn("cannot register in the ring; retrying", "err=%s", log_q(e.msg));
		pthread_mutex_lock(&l->mu);
		wait_until(l, clock_mono_ms() + INIT_RETRY_MS);
		if (l->stop_req || l->leave_req) {
			pthread_mutex_unlock(&l->mu);
			return -1;
		}
		pthread_mutex_unlock(&l->mu);
	}
}

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static void *
run(void *arg)
{
	struct lifecycler *l = arg;
	int64_t now = clock_mono_ms(), join_at, observe_at = 0, beat_at;
	int leaving = 0, stop;

	if (init_ring(l) == -1)
		return NULL;
	log_info("registered in the ring", "instance=%s state=%s tokens=%zu",
	    log_q(l->cfg.id), ring_state_name(l->state), l->ntokens);
	join_at = now + l->cfg.join_after_ms;
	beat_at = now + l->cfg.heartbeat_period_ms;
	if (l->state == RING_JOINING)
		observe_at = now + l->cfg.observe_period_ms;
	for (;;) {
		int64_t next = beat_at;

		if (l->state == RING_PENDING)
			next = min64(next, join_at);
		if (l->state == RING_JOINING)
			next = min64(next, observe_at);
		pthread_mutex_lock(&l->mu);
		wait_until(l, next);
		stop = l->stop_req;
		if (l->leave_req && !leaving) {
			leaving = 1;
			pthread_mutex_unlock(&l->mu);
			if (l->state != RING_LEFT)
				set_state(l, RING_LEAVING);
			write_entry(l, "leave");
			continue;
		}
		pthread_mutex_unlock(&l->mu);
		if (stop)
			break;
		now = clock_mono_ms();
		if (l->state == RING_PENDING && now >= join_at) {
			auto_join(l);
			observe_at = now + l->cfg.observe_period_ms;
		}
		if (l->state == RING_JOINING && now >= observe_at) {
			if (observe(l))
				set_state(l, RING_ACTIVE);
			observe_at = now + l->cfg.observe_period_ms;
			write_entry(l, "observe");
		}
		if (now >= beat_at) {
			write_entry(l, "heartbeat");
			beat_at = now + l->cfg.heartbeat_period_ms;
		}
	}
	return NULL;
}

static void
register_metrics(struct lifecycler *l, struct metrics *reg)
{
	static const char *const name[] = { "name", NULL };

	l->heartbeats = metric_with(metrics_family(reg, METRIC_COUNTER,
	    "cortex_member_consul_heartbeats_total", "The total number of heartbeats sent.",
	    name, NULL, 0), "ingester");
	l->tokens_owned = metric_with(metrics_family(reg, METRIC_GAUGE,
	    "cortex_member_ring_tokens_owned", "The number of tokens owned in the ring.",
	    name, NULL, 0), "ingester");
	l->tokens_to_own = metric_with(metrics_family(reg, METRIC_GAUGE,
	    "cortex_member_ring_tokens_to_own", "The number of tokens to own in the ring.",
	    name, NULL, 0), "ingester");
	metric_set(l->tokens_to_own, l->cfg.num_tokens);
}

struct lifecycler *
lifecycler_start(const struct lifecycler_config *cfg, struct kv *kv, struct metrics *reg,
    struct err *e)
{
	struct lifecycler *l;
	pthread_condattr_t ca;

	if (cfg->num_tokens <= 0)
		return err_set(e, "-ingester.num-tokens must be positive"), NULL;
	if (cfg->heartbeat_period_ms <= 0)
		return err_set(e, "-ingester.heartbeat-period must be positive"), NULL;
	if (*cfg->id == '\0')
		return err_set(e, "-ingester.lifecycler.ID is empty"), NULL;
	l = xcalloc(1, sizeof(*l));
	l->cfg = *cfg;
	l->cfg.ring_key = xstrdup(cfg->ring_key);
	l->cfg.id = xstrdup(cfg->id);
	l->cfg.addr = xstrdup(cfg->addr);
	l->cfg.zone = xstrdup(cfg->zone != NULL ? cfg->zone : "");
	l->cfg.tokens_file = xstrdup(cfg->tokens_file != NULL ? cfg->tokens_file : "");
	l->kv = kv;
	l->state = RING_PENDING;
	l->start_ms = clock_mono_ms();
	pthread_mutex_init(&l->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (reg != NULL)
		register_metrics(l, reg);
	if ((errno = pthread_create(&l->thread, NULL, run, l)) != 0)
		fatal("pthread_create");
	return l;
}

int
lifecycler_ready(struct lifecycler *l, char *why, size_t len)
{
	int64_t up = clock_mono_ms() - l->start_ms;
	int ready = 0;

	pthread_mutex_lock(&l->mu);
	if (l->ready)
		ready = 1;
	else if (l->state != RING_ACTIVE)
		snprintf(why, len, "instance %s in state %s", l->cfg.id, ring_state_name(l->state));
	else if (l->ntokens == 0)
		snprintf(why, len, "this instance owns no tokens");
	else if (l->ring_verdict[0] != '\0')
		snprintf(why, len, "%s", l->ring_verdict);
	else if (up < l->cfg.min_ready_duration_ms)
		snprintf(why, len, "waiting for %llds after being ready",
		    (long long)(l->cfg.min_ready_duration_ms / 1000));
	else
		ready = l->ready = 1;
	pthread_mutex_unlock(&l->mu);
	return ready;
}

enum ring_state
lifecycler_state(struct lifecycler *l)
{
	enum ring_state s;

	pthread_mutex_lock(&l->mu);
	s = l->state;
	pthread_mutex_unlock(&l->mu);
	return s;
}

void
lifecycler_leave(struct lifecycler *l)
{
	pthread_mutex_lock(&l->mu);
	l->leave_req = 1;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

void
lifecycler_stop(struct lifecycler *l)
{
	struct timespec ts;
	struct err e;

	lifecycler_leave(l);
	pthread_mutex_lock(&l->mu);
	l->stop_req = 1;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->thread, NULL);
	if (l->cfg.final_sleep_ms > 0) {
		ts.tv_sec = l->cfg.final_sleep_ms / 1000;
		ts.tv_nsec = (l->cfg.final_sleep_ms % 1000) * 1000000;
		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
	}
	if (l->cfg.unregister_on_shutdown) {
		if (kv_is_gossiped(l->kv))
			wait_past_heartbeat(l);
		if (kv_cas(l->kv, l->cfg.ring_key, unregister_cb, l, &e) == -1)
			log_warn("cannot unregister from the ring", "err=%s", log_q(e.msg));
		else
			log_info("unregistered from the ring", "instance=%s", log_q(l->cfg.id));
	}
	kv_close(l->kv);
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	free(l->tokens);
	free((char *)l->cfg.ring_key);
	free((char *)l->cfg.id);
	free((char *)l->cfg.addr);
	free((char *)l->cfg.zone);
	free((char *)l->cfg.tokens_file);
	free(l);
}

int
tokens_file_load(const char *path, uint32_t **tokens, size_t *n, struct err *e)
{
	json_error_t je;
	json_t *root, *arr;
	size_t i;

	*tokens = NULL;
	*n = 0;
	if (!path_exists(path))
		return 0;
	if ((root = json_load_file(path, 0, &je)) == NULL)
		return err_set(e, "%s:%d: %s", path, je.line, je.text);
	arr = json_object_get(root, "tokens");
	if (!json_is_array(arr)) {
		json_decref(root);
		return err_set(e, "%s: no \"tokens\" array", path);
	}
	*tokens = xreallocarray(NULL, json_array_size(arr) + 1, sizeof(**tokens));
	for (i = 0; i < json_array_size(arr); i++) {
		json_t *v = json_array_get(arr, i);

		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > UINT32_MAX) {
			json_decref(root);
			free(*tokens);
			*tokens = NULL;
			return err_set(e, "%s: token %zu is not a 32-bit unsigned integer", path, i);
		}
		(*tokens)[i] = (uint32_t)json_integer_value(v);
	}
	json_decref(root);
	*n = ring_tokens_sort(*tokens, i);
	return 0;
}

int
tokens_file_store(const char *path, const uint32_t *tokens, size_t n, struct err *e)
{
	struct buf b = { 0 };
	char num[16];
	int rc;

	buf_put_bytes(&b, "{\"tokens\":[", 11);
	for (size_t i = 0; i < n; i++) {
		int k = snprintf(num, sizeof(num), "%s%u", i ? "," : "", tokens[i]);

		buf_put_bytes(&b, num, (size_t)k);
	}
	buf_put_bytes(&b, "]}", 2);
	rc = file_write_atomic(path, b.p, b.len, e);
	buf_free(&b);
	return rc;
}
