/*
 * bqueue: the cases of memberlist 0.2.2's queue_test.go, in the same
 * numbers, plus ordering, names and pruning.
 */
#include <string.h>

#include "lib/gossip/bqueue.h"
#include "lib/gossip/scale.h"
#include "test/unit/unit.h"

static void
add4(struct bqueue *q)
{
	bqueue_add(q, "test", "1. this is a test.", 18);
	bqueue_add(q, "foo", "2. this is a test.", 18);
	bqueue_add(q, "bar", "3. this is a test.", 18);
	bqueue_add(q, "baz", "4. this is a test.", 18);
}

static size_t
get(struct bqueue *q, size_t overhead, size_t limit, int tl, struct buf *b, size_t *lens)
{
	buf_reset(b);
	return bqueue_get(q, overhead, limit, tl, b, lens, 16);
}

static void
get_broadcasts_as_go(void)
{
	struct bqueue *q = bqueue_new();
	struct buf b = { 0 };
	size_t lens[16];
	int tl = ml_retransmit_limit(3, 10);

	add4(q);
	CHECK_INT(get(q, 2, 80, tl, &b, lens), 4);
	CHECK_INT(get(q, 3, 80, tl, &b, lens), 3);
	bqueue_free(q);
	buf_free(&b);
}

static void
transmit_limit_as_go(void)
{
	struct bqueue *q = bqueue_new();
	struct buf b = { 0 };
	size_t lens[16];
	int tl = ml_retransmit_limit(1, 10);

	CHECK_INT(tl, 2);
	add4(q);
	CHECK_INT(get(q, 3, 80, tl, &b, lens), 3);
	CHECK_INT(get(q, 3, 80, tl, &b, lens), 3);
	CHECK_INT(get(q, 3, 80, tl, &b, lens), 2);
	CHECK_INT(bqueue_len(q), 0);
	CHECK_INT(bqueue_bytes(q), 0);
	CHECK_INT(get(q, 3, 80, tl, &b, lens), 0);
	bqueue_free(q);
	buf_free(&b);
}

/* Fewer transmits first; in a tier the largest that fits, newest first. */
static void
order_fresh_large_new(void)
{
	struct bqueue *q = bqueue_new();
	struct buf b = { 0 };
	size_t lens[16];

	bqueue_add(q, NULL, "aa", 2);
	bqueue_add(q, NULL, "bbbb", 4);
	bqueue_add(q, NULL, "cc", 2);
	CHECK_INT(get(q, 0, 100, 10, &b, lens), 3);
	CHECK_MEM(b.p, b.len, "bbbbccaa", 8);
	bqueue_add(q, NULL, "dddddd", 6);	/* 0 transmits: before the others */
	CHECK_INT(get(q, 0, 7, 10, &b, lens), 1);
	CHECK_MEM(b.p, b.len, "dddddd", 6);
	/* 5 bytes of room: bbbb does not fit after... it fits alone; then 1 byte is left. */
	CHECK_INT(get(q, 0, 5, 10, &b, lens), 1);
	CHECK_MEM(b.p, b.len, "bbbb", 4);
	CHECK_INT(lens[0], 4);
	CHECK_INT(get(q, 0, 4, 10, &b, lens), 2);
	CHECK_MEM(b.p, b.len, "ccaa", 4);
	bqueue_free(q);
	buf_free(&b);
}

static void
names_replace_and_prune(void)
{
	struct bqueue *q = bqueue_new();
	struct buf b = { 0 };
	size_t lens[16];

	bqueue_add(q, "node-1", "alive-1", 7);
	bqueue_add(q, "node-2", "alive-2", 7);
	bqueue_add(q, "node-1", "dead-1", 6);
	bqueue_add(q, NULL, "user", 4);
	bqueue_add(q, NULL, "user", 4);
	CHECK_INT(bqueue_len(q), 4);
	CHECK_INT(bqueue_bytes(q), 6 + 7 + 4 + 4);	/* alive-1 was replaced */
	CHECK_INT(get(q, 0, 100, 10, &b, lens), 4);
	CHECK_MEM(b.p, b.len, "alive-2dead-1useruser", 21);
	/* Prune drops from the most-sent, smallest, oldest end. */
	bqueue_add(q, NULL, "fresh", 5);
	bqueue_prune(q, 2);
	CHECK_INT(bqueue_len(q), 2);
	CHECK_INT(get(q, 0, 100, 10, &b, lens), 2);
	CHECK_MEM(b.p, b.len, "freshalive-2", 12);
	bqueue_free(q);
	buf_free(&b);
}

/* dskit's ringBroadcast.Invalidates: same key, content a subset, version not newer. */
static void
kv_changes_invalidate(void)
{
	struct bqueue *q = bqueue_new();
	struct buf b = { 0 };
	size_t lens[16];

	bqueue_add_kv(q, "ring", "a\0", 2, 1, "A1", 2);
	bqueue_add_kv(q, "ring", "b\0", 2, 2, "B2", 2);
	bqueue_add_kv(q, "other", "a\0", 2, 3, "O3", 2);
	CHECK_INT(bqueue_len(q), 3);
	/* {a, b} at version 4 covers both changes of "ring", not the other key's. */
	bqueue_add_kv(q, "ring", "a\0b\0", 4, 4, "AB4", 3);
	CHECK_INT(bqueue_len(q), 2);
	/* {b} at version 5 does not cover {a, b}. */
	bqueue_add_kv(q, "ring", "b\0", 2, 5, "B5", 2);
	CHECK_INT(bqueue_len(q), 3);
	/* An older version never drops a newer change. */
	bqueue_add_kv(q, "ring", "a\0b\0c\0", 6, 3, "ABC3", 4);
	CHECK_INT(bqueue_len(q), 4);
	/* Unnamed and named messages are left alone. */
	bqueue_add(q, NULL, "plain", 5);
	bqueue_add_kv(q, "ring", "a\0b\0c\0", 6, 9, "ABC9", 4);
	CHECK_INT(bqueue_len(q), 3);	/* O3, plain, ABC9 */
	CHECK_INT(get(q, 0, 100, 5, &b, lens), 3);
	CHECK(memmem(b.p, b.len, "ABC9", 4) != NULL);
	CHECK(memmem(b.p, b.len, "O3", 2) != NULL);
	CHECK(memmem(b.p, b.len, "AB4", 3) == NULL);
	buf_free(&b);
	bqueue_free(q);
}

UNIT_CASES(
	UNIT_CASE(get_broadcasts_as_go),
	UNIT_CASE(transmit_limit_as_go),
	UNIT_CASE(order_fresh_large_new),
	UNIT_CASE(names_replace_and_prune),
	UNIT_CASE(kv_changes_invalidate),
);
