/*
 * The KV store's decoders of peer bytes: a gossiped KeyValuePair and a
 * push/pull state. Never crash; a store's full state, merged into a fresh
 * store, is a fixed point from there on (merging it again changes nothing).
 * The message history keeps what came in, and each kept value prints as
 * JSON (the status page's viewMsg). Forgetting obsolete entries leaves no
 * deleted key behind.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/kv/history.h"
#include "lib/kv/store.h"
#include "lib/ring/desc.h"
#include "proto/kv.pb-c.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
print_message(void *arg, const struct kv_message *m)
{
	Memberlist__KeyValuePair *kv = memberlist__key_value_pair__unpack(NULL, m->size, m->pair);
	struct ring_desc d;
	struct err e;

	(void)arg;
	if (kv == NULL)
		abort();	/* only pairs that unpacked are kept */
	if (ring_desc_decode(&d, kv->value.data, kv->value.len, &e) == 0) {
		json_t *j = ring_desc_json(&d);

		free(json_dumps(j, JSON_PRESERVE_ORDER | JSON_INDENT(4)));
		json_decref(j);
		ring_desc_free(&d);
	}
	memberlist__key_value_pair__free_unpacked(kv, NULL);
	return 0;
}

static int
abort_if_deleted(void *arg, const struct kv_key_info *ki)
{
	(void)arg;
	if (ki->deleted)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kv_config cfg = { .retransmit_mult = 4 }, hcfg = cfg;
	struct kv_history *h = hcfg.history = kv_history_new(2048);
	struct kv_store *s = kv_store_new(&hcfg), *t = kv_store_new(&cfg), *u = kv_store_new(&cfg);
	struct buf st1 = { 0 }, st2 = { 0 }, st3 = { 0 }, msgs = { 0 };
	size_t lens[16];

	kv_store_notify_msg(s, data, size);
	kv_store_merge_remote_state(s, data, size);
	kv_store_get_broadcasts(s, 2, 1400, &msgs, lens, 16);
	kv_store_local_state(s, &st1);
	kv_store_merge_remote_state(t, st1.p, st1.len);
	kv_store_local_state(t, &st2);
	kv_store_merge_remote_state(u, st2.p, st2.len);
	kv_store_local_state(u, &st3);
	if (st2.len != st3.len || memcmp(st2.p, st3.p, st2.len) != 0)
		abort();
	kv_store_remove_obsolete(u, INT64_MAX / 2, 0);
	kv_store_foreach(u, abort_if_deleted, NULL);
	kv_history_foreach(h, KV_RECEIVED, print_message, NULL);
	kv_history_foreach(h, KV_SENT, print_message, NULL);
	kv_history_free(h);
	kv_store_free(s);
	kv_store_free(t);
	kv_store_free(u);
	buf_free(&st3);
	buf_free(&st1);
	buf_free(&st2);
	buf_free(&msgs);
	return 0;
}
