#include <string.h>
#include <time.h>

#include "lib/kv/store.h"
#include "proto/kv.pb-c.h"
#include "test/unit/unit.h"

#define KEY	"collectors/ring"

static struct kv_store *
store_new(void)
{
	struct kv_config cfg = { .retransmit_mult = 4 };

	return kv_store_new(&cfg);
}

/* A ring of one ACTIVE instance with a heartbeat at ts. */
static void
ring_of(struct ring_desc *d, const char *id, int64_t ts)
{
	uint32_t tokens[] = { 1, 2 };
	struct ring_instance x = { .id = (char *)id, .addr = (char *)"127.0.0.1:9095",
	    .zone = (char *)"", .state = RING_ACTIVE, .timestamp = ts, .tokens = tokens,
	    .ntokens = 2 };

	ring_desc_init(d);
	ring_desc_set(d, &x);
}

static void
put(struct kv_store *s, const char *key, const char *id, int64_t ts)
{
	struct ring_desc d;
	uint64_t v;
	struct err e;

	ring_of(&d, id, ts);
	CHECK_INT(kv_store_cas(s, key, &d, 0, &v, &e), KV_CAS_CHANGED);
	ring_desc_free(&d);
}

/* A peer's KeyValuePair for key. */
static void
receive(struct kv_store *s, const char *key, const char *id, int64_t ts, int deleted,
    int64_t update_time_ms)
{
	struct ring_desc d;
	struct buf b = { 0 };

	ring_of(&d, id, ts);
	kv_pair_marshal(key, &d, deleted, update_time_ms, &b);
	kv_store_notify_msg(s, b.p, b.len);
	buf_free(&b);
	ring_desc_free(&d);
}

/* The one queued broadcast, decoded; NULL (and a failed check) unless exactly one is queued. */
static Memberlist__KeyValuePair *
only_broadcast(struct kv_store *s)
{
	struct buf msgs = { 0 };
	size_t lens[16], n = kv_store_get_broadcasts(s, 2, 1 << 20, &msgs, lens, 16);
	Memberlist__KeyValuePair *kv = NULL;

	CHECK_INT(n, 1);
	if (n == 1)
		kv = memberlist__key_value_pair__unpack(NULL, lens[0], msgs.p);
	buf_free(&msgs);
	return kv;
}

static int
visible(struct kv_store *s, const char *key)
{
	struct ring_desc d;
	uint64_t v;
	int rc = kv_store_get(s, key, &d, &v);

	ring_desc_free(&d);
	return rc == 0;
}

struct found {
	const char	*key;
	int		 seen, deleted;
	int64_t		 update_time_ms;
	size_t		 keys;
};

static int
find_key(void *arg, const struct kv_key_info *ki)
{
	struct found *f = arg;

	f->keys++;
	if (strcmp(ki->key, f->key) == 0) {
		f->seen = 1;
		f->deleted = ki->deleted;
		f->update_time_ms = ki->update_time_ms;
	}
	return 0;
}

/* The stored entry of key, as the status page sees it. */
static struct found
entry_of(struct kv_store *s, const char *key)
{
	struct found f = { .key = key };

	kv_store_foreach(s, find_key, &f);
	return f;
}

static void
a_delete_hides_the_key_and_gossips_its_whole_value_marked(void)
{
	struct kv_store *s = store_new();
	Memberlist__KeyValuePair *kv;
	struct ring_desc d;
	struct err e;

	put(s, KEY, "ing-1", time(NULL));
	put(s, KEY, "ing-2", time(NULL));
	CHECK_INT(kv_store_delete(s, KEY, 5000), KV_CAS_CHANGED);
	CHECK(!visible(s, KEY));
	CHECK_INT(entry_of(s, KEY).deleted, 1);
	/* It carries both instances, so it supersedes the two changes queued before it. */
	if ((kv = only_broadcast(s)) != NULL) {
		CHECK_STR(kv->key, KEY);
		CHECK_INT(kv->deleted, 1);
		CHECK_INT(kv->update_time_millis, 5000);
		CHECK_INT(ring_desc_decode(&d, kv->value.data, kv->value.len, &e), 0);
		CHECK_INT(d.n, 2);
		ring_desc_free(&d);
		memberlist__key_value_pair__free_unpacked(kv, NULL);
	}
	/* Deleting again, or a key that is not there, changes nothing. */
	CHECK_INT(kv_store_delete(s, KEY, 6000), KV_CAS_NO_CHANGE);
	CHECK_INT(kv_store_delete(s, "collectors/other", 6000), KV_CAS_NO_CHANGE);
	CHECK_INT(entry_of(s, KEY).update_time_ms, 5000);
	kv_store_free(s);
}

static void
a_received_delete_of_an_absent_key_does_not_bring_it_back(void)
{
	struct kv_store *s = store_new();

	receive(s, KEY, "ing-1", 100, 1, 5000);
	CHECK_INT(entry_of(s, KEY).keys, 0);
	kv_store_free(s);
}

static void
only_a_newer_delete_moves_the_flags_and_nothing_undeletes(void)
{
	struct kv_store *s = store_new();
	Memberlist__KeyValuePair *kv;
	struct found f;

	receive(s, KEY, "ing-1", 100, 0, 0);	/* from peers only: one queue */
	receive(s, KEY, "ing-1", 200, 0, 5000);	/* an update time without a delete */
	CHECK(visible(s, KEY));
	CHECK_INT(entry_of(s, KEY).update_time_ms, 0);
	receive(s, KEY, "ing-1", 200, 1, 1000);
	CHECK(!visible(s, KEY));
	receive(s, KEY, "ing-1", 200, 1, 900);	/* an older delete */
	CHECK_INT(entry_of(s, KEY).update_time_ms, 1000);
	receive(s, KEY, "ing-1", 200, 1, 2000);	/* newer, but nothing else new: not kept */
	CHECK_INT(entry_of(s, KEY).update_time_ms, 1000);
	/* A newer heartbeat is merged in, yet the key stays deleted and is gossiped so. */
	receive(s, KEY, "ing-1", 300, 0, 9000);
	f = entry_of(s, KEY);
	CHECK_INT(f.deleted, 1);
	CHECK_INT(f.update_time_ms, 1000);
	CHECK(!visible(s, KEY));
	if ((kv = only_broadcast(s)) != NULL) {
		CHECK_INT(kv->deleted, 1);
		CHECK_INT(kv->update_time_millis, 1000);
		memberlist__key_value_pair__free_unpacked(kv, NULL);
	}
	/* A newer delete that comes with a change is kept with it. */
	receive(s, KEY, "ing-1", 400, 1, 3000);
	CHECK_INT(entry_of(s, KEY).update_time_ms, 3000);
	kv_store_free(s);
}

static void
deleted_keys_are_forgotten_once_older_than_the_timeout(void)
{
	struct kv_store *s = store_new();
	struct kv_stats st;

	put(s, KEY, "ing-1", time(NULL));
	put(s, "collectors/other", "ing-1", time(NULL));
	CHECK_INT(kv_store_delete(s, KEY, 1000), KV_CAS_CHANGED);
	CHECK_INT(kv_store_remove_obsolete(s, 31000, 30000), 0);
	CHECK_INT(entry_of(s, KEY).seen, 1);
	CHECK_INT(kv_store_remove_obsolete(s, 31001, 30000), 1);
	CHECK_INT(entry_of(s, KEY).seen, 0);
	CHECK_INT(entry_of(s, KEY).keys, 1);
	kv_store_stats(s, &st);
	CHECK_INT(st.keys, 1);
	/* The key can be written afresh, live. */
	put(s, KEY, "ing-2", time(NULL));
	CHECK(visible(s, KEY));
	CHECK_INT(entry_of(s, KEY).deleted, 0);
	kv_store_free(s);
}

static void
a_delete_travels_in_the_full_state(void)
{
	struct kv_store *s = store_new(), *live = store_new(), *fresh = store_new();
	struct buf st = { 0 };

	put(s, KEY, "ing-1", 100);
	put(live, KEY, "ing-1", 100);
	CHECK_INT(kv_store_delete(s, KEY, 7000), KV_CAS_CHANGED);
	kv_store_local_state(s, &st);
	kv_store_merge_remote_state(live, st.p, st.len);
	kv_store_merge_remote_state(fresh, st.p, st.len);
	CHECK(!visible(live, KEY));
	CHECK_INT(entry_of(live, KEY).update_time_ms, 7000);
	CHECK_INT(entry_of(fresh, KEY).keys, 0);
	buf_free(&st);
	kv_store_free(s);
	kv_store_free(live);
	kv_store_free(fresh);
}

UNIT_CASES(
	UNIT_CASE(a_delete_hides_the_key_and_gossips_its_whole_value_marked),
	UNIT_CASE(a_received_delete_of_an_absent_key_does_not_bring_it_back),
	UNIT_CASE(only_a_newer_delete_moves_the_flags_and_nothing_undeletes),
	UNIT_CASE(deleted_keys_are_forgotten_once_older_than_the_timeout),
	UNIT_CASE(a_delete_travels_in_the_full_state),
);
