/*
 * lifecycler over the inmemory store: join, heartbeat, readiness, leave
 * and unregister; two instances started with the same tokens during their
 * observe period end with no shared token (the inmemory store, like etcd,
 * resolves nothing itself); the tokens file; the KV client's prefix, watch
 * and CAS callback contract.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/base/clock.h"
#include "lib/base/fileutil.h"
#include "lib/kv/client.h"
#include "lib/ring/lifecycler.h"
#include "lib/ring/ring.h"
#include "test/unit/unit.h"

static struct kv *
open_inmemory(void)
{
	struct kv_opts o;
	struct err e;
	struct kv *kv;

	memset(&o, 0, sizeof(o));
	o.store = "inmemory";
	o.prefix = "collectors/";
	kv = kv_open(&o, NULL, "test", &e);
	CHECK(kv != NULL);
	return kv;
}

static void
config(struct lifecycler_config *c, const char *id, const char *tokens_file)
{
	memset(c, 0, sizeof(*c));
	c->ring_key = "ring";
	c->id = id;
	c->addr = "127.0.0.1:9095";
	c->zone = "";
	c->num_tokens = 128;
	c->tokens_file = tokens_file;
	c->heartbeat_period_ms = 50;
	c->heartbeat_timeout_ms = 60000;
	c->unregister_on_shutdown = 1;
	c->readiness_check_ring_health = 1;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Wait up to 5 s for the lifecycler's state. */
static int
wait_state(struct lifecycler *l, enum ring_state s)
{
	for (int i = 0; i < 500; i++) {
		if (lifecycler_state(l) == s)
			return 1;
		sleep_ms(10);
	}
	return 0;
}

static void
read_ring(struct ring_desc *d)
{
	struct kv *kv = open_inmemory();
	struct err e;

	ring_desc_init(d);
	CHECK_INT(kv_get(kv, "ring", d, &e), 1);
	kv_close(kv);
}

static void
join_heartbeat_ready_leave(void)
{
	struct lifecycler_config c;
	struct lifecycler *l;
	struct ring_instance *x;
	struct ring_desc d;
	struct err e;
	char why[256];
	int64_t ts, got;

	config(&c, "ing-1", "");
	c.min_ready_duration_ms = 300;
	l = lifecycler_start(&c, open_inmemory(), NULL, &e);
	CHECK(l != NULL);
	CHECK(wait_state(l, RING_ACTIVE));
	CHECK_INT(lifecycler_ready(l, why, sizeof(why)), 0);
	CHECK(strstr(why, "waiting for") != NULL);
	sleep_ms(400);
	CHECK_INT(lifecycler_ready(l, why, sizeof(why)), 1);
	read_ring(&d);
	CHECK((x = ring_desc_find(&d, "ing-1")) != NULL);
	CHECK_INT(x->state, RING_ACTIVE);
	CHECK_INT(x->ntokens, 128);
	CHECK_STR(x->addr, "127.0.0.1:9095");
	CHECK(x->registered_timestamp > 0);
	ts = x->timestamp;
	ring_desc_free(&d);
	/* Heartbeats move the timestamp (whole seconds, never past the clock). */
	got = ts;
	for (int i = 0; i < 30 && got <= ts; i++) {
		sleep_ms(100);
		read_ring(&d);
		got = ring_desc_find(&d, "ing-1")->timestamp;
		ring_desc_free(&d);
	}
	CHECK(got > ts);
	CHECK(got <= clock_wall_ms() / 1000);
	lifecycler_leave(l);
	CHECK(wait_state(l, RING_LEAVING));
	sleep_ms(100);
	read_ring(&d);
	CHECK_INT(ring_desc_find(&d, "ing-1")->state, RING_LEAVING);
	ring_desc_free(&d);
	lifecycler_stop(l);
	read_ring(&d);
	CHECK(ring_desc_find(&d, "ing-1") == NULL);
	ring_desc_free(&d);
}

static void
tokens_file_round_trip(void)
{
	char path[512];
	uint32_t t[] = { 7, 3, 4000000000u, 3 }, *back;
	size_t n;
	struct err e;
	char *text;
	size_t len;

	snprintf(path, sizeof(path), "%s/tokens.json", unit_tmpdir());
	CHECK_INT(tokens_file_load(path, &back, &n, &e), 0);
	CHECK_INT(n, 0);
	free(back);
	CHECK_INT(tokens_file_store(path, t, 4, &e), 0);
	CHECK_INT(file_read_all(path, &text, &len, &e), 0);
	CHECK_MEM(text, len, "{\"tokens\":[7,3,4000000000,3]}", 29);
	free(text);
	CHECK_INT(tokens_file_load(path, &back, &n, &e), 0);
	CHECK_INT(n, 3);
	CHECK_U64(back[0], 3);
	CHECK_U64(back[1], 7);
	CHECK_U64(back[2], 4000000000u);
	free(back);
	CHECK_INT(file_write_atomic(path, "{\"tokens\":[1,-2]}", 17, &e), 0);
	CHECK_INT(tokens_file_load(path, &back, &n, &e), -1);
	CHECK(strstr(e.msg, "token 1 is not a 32-bit unsigned integer") != NULL);
	CHECK_INT(file_write_atomic(path, "{\"tokens\":", 10, &e), 0);
	CHECK_INT(tokens_file_load(path, &back, &n, &e), -1);
	CHECK_INT(file_write_atomic(path, "{}", 2, &e), 0);
	CHECK_INT(tokens_file_load(path, &back, &n, &e), -1);
	CHECK(strstr(e.msg, "no \"tokens\" array") != NULL);
}

static void
same_tokens_file_conflict_resolved(void)
{
	struct lifecycler_config c1, c2;
	struct lifecycler *a, *b;
	uint32_t t[128];
	char p1[512], p2[512];
	struct ring_desc d;
	struct err e;
	size_t total = 0;
	uint32_t *all, *back;
	size_t n;

	for (size_t i = 0; i < 128; i++)
		t[i] = (uint32_t)(i * 33554432u + 12345);
	snprintf(p1, sizeof(p1), "%s/a.json", unit_tmpdir());
	snprintf(p2, sizeof(p2), "%s/b.json", unit_tmpdir());
	CHECK_INT(tokens_file_store(p1, t, 128, &e), 0);
	CHECK_INT(tokens_file_store(p2, t, 128, &e), 0);
	config(&c1, "ing-a", p1);
	config(&c2, "ing-b", p2);
	c1.observe_period_ms = c2.observe_period_ms = 100;
	a = lifecycler_start(&c1, open_inmemory(), NULL, &e);
	b = lifecycler_start(&c2, open_inmemory(), NULL, &e);
	CHECK(wait_state(a, RING_ACTIVE));
	CHECK(wait_state(b, RING_ACTIVE));
	sleep_ms(200);
	read_ring(&d);
	all = calloc(512, sizeof(*all));
	for (size_t i = 0; i < d.n; i++) {
		CHECK_INT(d.inst[i].ntokens, 128);
		memcpy(all + total, d.inst[i].tokens, d.inst[i].ntokens * sizeof(*all));
		total += d.inst[i].ntokens;
	}
	CHECK_INT(total, 256);
	CHECK_INT(ring_tokens_sort(all, total), 256);
	/* The smaller ID kept its tokens; the other replaced them all, in its file too. */
	CHECK_MEM(ring_desc_find(&d, "ing-a")->tokens, 128 * 4, t, sizeof(t));
	CHECK_INT(tokens_file_load(p2, &back, &n, &e), 0);
	CHECK_INT(n, 128);
	CHECK_MEM(back, n * 4, ring_desc_find(&d, "ing-b")->tokens, 128 * 4);
	free(back);
	free(all);
	ring_desc_free(&d);
	lifecycler_stop(a);
	lifecycler_stop(b);
}

static int
add_instance(struct ring_desc *d, int found, void *arg, struct err *e)
{
	struct ring_instance x;

	memset(&x, 0, sizeof(x));
	x.id = arg;
	x.addr = (char *)"a:1";
	x.zone = (char *)"";
	x.timestamp = 1;
	ring_desc_set(d, &x);
	return 1;
}

static int
refuse(struct ring_desc *d, int found, void *arg, struct err *e)
{
	return err_set(e, "refused");
}

static void
client_prefix_watch_cas(void)
{
	struct kv *w = open_inmemory(), *kv = open_inmemory();
	struct ring_desc d;
	struct err e;
	char *key;

	CHECK_INT(kv_watch(w, "x/", 1, &e), 0);
	ring_desc_init(&d);
	CHECK_INT(kv_next(w, 10, &key, &d, &e), 0);
	CHECK_INT(kv_cas(kv, "x/one", add_instance, "i1", &e), 0);
	CHECK_INT(kv_next(w, 1000, &key, &d, &e), 1);
	CHECK_STR(key, "x/one");
	CHECK_INT(d.n, 1);
	free(key);
	ring_desc_free(&d);
	CHECK_INT(kv_cas(kv, "x/one", refuse, NULL, &e), -1);
	CHECK_STR(e.msg, "refused");
	CHECK_INT(kv_next(w, 10, &key, &d, &e), 0);
	CHECK_INT(kv_get(kv, "x/none", &d, &e), 0);
	kv_close(w);
	kv_close(kv);
}

/* A delete reaches watchers as an empty value; the key can then be written afresh. */
static void
client_delete(void)
{
	struct kv *w = open_inmemory(), *kv = open_inmemory();
	struct ring_desc d;
	struct err e;
	char *key;

	CHECK_INT(kv_cas(kv, "x/one", add_instance, "i1", &e), 0);
	CHECK_INT(kv_watch(w, "x/one", 0, &e), 0);
	ring_desc_init(&d);
	CHECK_INT(kv_next(w, 1000, &key, &d, &e), 1);	/* the current value */
	free(key);
	ring_desc_free(&d);
	CHECK_INT(kv_delete(kv, "x/one", &e), 0);
	CHECK_INT(kv_get(kv, "x/one", &d, &e), 0);
	CHECK_INT(kv_next(w, 1000, &key, &d, &e), 1);
	CHECK_STR(key, "x/one");
	CHECK_INT(d.n, 0);
	free(key);
	CHECK_INT(kv_delete(kv, "x/one", &e), 0);	/* absent: nothing to do */
	CHECK_INT(kv_next(w, 10, &key, &d, &e), 0);
	CHECK_INT(kv_cas(kv, "x/one", add_instance, "i2", &e), 0);
	CHECK_INT(kv_get(kv, "x/one", &d, &e), 1);
	CHECK(d.n == 1 && strcmp(d.inst[0].id, "i2") == 0);
	ring_desc_free(&d);
	kv_close(w);
	kv_close(kv);
}

static int
leaving_entry(struct ring_desc *d, int found, void *arg, struct err *e)
{
	static uint32_t toks[10] = { 5, 10, 15, 20, 25, 30, 35, 40, 45, 50 };
	struct ring_instance x;

	memset(&x, 0, sizeof(x));
	x.id = (char *)"ing-r";
	x.addr = (char *)"old:1";
	x.zone = (char *)"";
	x.state = RING_LEAVING;
	x.timestamp = clock_wall_ms() / 1000 - 5;
	x.registered_timestamp = 1234;
	x.tokens = toks;
	x.ntokens = 10;
	ring_desc_set(d, &x);
	return 1;
}

/* A restart finds its LEAVING entry: ACTIVE again, its tokens kept and topped up. */
static void
restart_after_leaving(void)
{
	struct lifecycler_config c;
	struct kv *kv = open_inmemory();
	struct lifecycler *l;
	struct ring_instance *x;
	struct ring_desc d;
	struct err e;

	CHECK_INT(kv_cas(kv, "ring", leaving_entry, NULL, &e), 0);
	kv_close(kv);
	config(&c, "ing-r", "");
	l = lifecycler_start(&c, open_inmemory(), NULL, &e);
	CHECK(wait_state(l, RING_ACTIVE));
	sleep_ms(100);
	read_ring(&d);
	CHECK((x = ring_desc_find(&d, "ing-r")) != NULL);
	CHECK_INT(x->state, RING_ACTIVE);
	CHECK_INT(x->ntokens, 128);
	CHECK_INT(x->registered_timestamp, 1234);
	CHECK_STR(x->addr, "127.0.0.1:9095");
	for (uint32_t t = 5; t <= 50; t += 5)
		CHECK(bsearch(&t, x->tokens, x->ntokens, sizeof(t), ring_token_cmp) != NULL);
	ring_desc_free(&d);
	lifecycler_stop(l);
}

UNIT_CASES(
	UNIT_CASE(join_heartbeat_ready_leave),
	UNIT_CASE(tokens_file_round_trip),
	UNIT_CASE(same_tokens_file_conflict_resolved),
	UNIT_CASE(restart_after_leaving),
	UNIT_CASE(client_prefix_watch_cas),
	UNIT_CASE(client_delete),
);
