#include <string.h>

#include "lib/kv/history.h"
#include "test/unit/unit.h"

static int
collect_ids(void *arg, const struct kv_message *m)
{
	uint64_t **p = arg;

	*(*p)++ = m->id;
	return 0;
}

/* The IDs in one buffer, oldest first, 0-terminated. */
static void
ids_of(const struct kv_history *h, enum kv_history_dir dir, uint64_t *out)
{
	uint64_t *p = out;

	kv_history_foreach(h, dir, collect_ids, &p);
	*p = 0;
}

static void
oldest_messages_go_once_a_buffer_is_over_its_bytes(void)
{
	struct kv_history *h = kv_history_new(100);
	uint8_t pair[60] = { 1 };
	uint64_t ids[8];

	kv_history_add(h, KV_RECEIVED, "collectors/ring", pair, 40, 3, "ing-1, ing-2");
	kv_history_add(h, KV_SENT, "collectors/ring", pair, 60, 3, "ing-1");
	kv_history_add(h, KV_RECEIVED, "collectors/ring", pair, 40, 0, "");
	kv_history_add(h, KV_RECEIVED, "collectors/ring", pair, 30, 4, "ing-3");
	ids_of(h, KV_RECEIVED, ids);
	/* 40 + 40 + 30 > 100: the first one went; the sent buffer is apart. */
	CHECK_INT(ids[0], 3);
	CHECK_INT(ids[1], 4);
	CHECK_INT(ids[2], 0);
	ids_of(h, KV_SENT, ids);
	CHECK_INT(ids[0], 2);
	CHECK_INT(ids[1], 0);
	CHECK(kv_history_find(h, 1) == NULL);
	CHECK_STR(kv_history_find(h, 4)->changes, "ing-3");
	CHECK_INT(kv_history_find(h, 4)->version, 4);
	CHECK_INT(kv_history_find(h, 2)->size, 60);
	CHECK(memcmp(kv_history_find(h, 2)->pair, pair, 60) == 0);
	kv_history_free(h);
}

static void
a_message_over_the_limit_is_not_kept_but_takes_an_id(void)
{
	struct kv_history *h = kv_history_new(50);
	uint8_t pair[64] = { 0 };
	uint64_t ids[4];

	kv_history_add(h, KV_SENT, "k", pair, 20, 1, NULL);
	kv_history_add(h, KV_SENT, "k", pair, 64, 2, NULL);
	kv_history_add(h, KV_SENT, "k", pair, 20, 3, NULL);
	ids_of(h, KV_SENT, ids);
	CHECK_INT(ids[0], 1);
	CHECK_INT(ids[1], 3);
	CHECK_INT(ids[2], 0);
	CHECK_STR(kv_history_find(h, 3)->changes, "");
	kv_history_free(h);
}

static void
clear_empties_both_and_off_is_null(void)
{
	struct kv_history *h = kv_history_new(1000);
	uint8_t pair[8] = { 0 };
	uint64_t ids[4];

	kv_history_add(h, KV_SENT, "k", pair, 8, 1, NULL);
	kv_history_add(h, KV_RECEIVED, "k", pair, 8, 1, NULL);
	kv_history_clear(h);
	ids_of(h, KV_SENT, ids);
	CHECK_INT(ids[0], 0);
	ids_of(h, KV_RECEIVED, ids);
	CHECK_INT(ids[0], 0);
	/* IDs go on counting after a clear, as dskit's. */
	kv_history_add(h, KV_SENT, "k", pair, 8, 1, NULL);
	CHECK(kv_history_find(h, 3) != NULL);
	kv_history_free(h);
	/* Off: every call takes NULL. */
	CHECK(kv_history_new(0) == NULL);
	kv_history_add(NULL, KV_SENT, "k", pair, 8, 1, NULL);
	CHECK(kv_history_find(NULL, 1) == NULL);
	CHECK_INT(kv_history_limit(NULL), 0);
	kv_history_free(NULL);
}

UNIT_CASES(
    UNIT_CASE(oldest_messages_go_once_a_buffer_is_over_its_bytes),
    UNIT_CASE(a_message_over_the_limit_is_not_kept_but_takes_an_id),
    UNIT_CASE(clear_empties_both_and_off_is_null),
);
