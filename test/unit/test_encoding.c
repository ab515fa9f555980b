/* struct buf: a thread's freed small buffers start its next ones. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "lib/tsdb/encoding.h"
#include "test/unit/unit.h"

static void
fill(struct buf *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_put_u8(b, (uint8_t)i);
}

static void
freed_buffer_starts_the_next(void)
{
	struct buf a = { 0 }, b = { 0 };
	uint8_t *p;

	fill(&a, 1000);
	CHECK_INT(a.cap, 1024);
	p = a.p;
	buf_free(&a);
	CHECK(a.p == NULL && a.len == 0 && a.cap == 0);
	buf_put_bytes(&b, "xyz", 3);
	CHECK(b.p == p);
	CHECK_INT(b.cap, 1024);
	CHECK_INT(b.len, 3);
	CHECK_MEM(b.p, b.len, "xyz", 3);
	buf_free(&b);
}

static void
large_buffer_is_freed(void)
{
	struct buf a = { 0 }, b = { 0 };

	fill(&a, 5000);
	CHECK_INT(a.cap, 8192);
	buf_free(&a);
	buf_put_u8(&b, 7);
	CHECK_INT(b.cap, 64);
	buf_free(&b);
}

static void
small_spare_grows(void)
{
	struct buf a = { 0 }, b = { 0 };

	buf_put_u8(&a, 1);
	buf_free(&a);
	fill(&b, 300);
	CHECK_INT(b.cap, 512);
	for (size_t i = 0; i < 300; i++)
		if (b.p[i] != (uint8_t)i) {
			CHECK_INT(b.p[i], i);
			break;
		}
	buf_free(&b);
}

static void
at_most_eight_kept(void)
{
	struct buf a[9] = { 0 }, b[9] = { 0 };

	for (int i = 0; i < 9; i++)
		fill(&a[i], 100);
	for (int i = 0; i < 9; i++)
		buf_free(&a[i]);
	for (int i = 0; i < 9; i++)
		buf_put_u8(&b[i], 1);
	for (int i = 0; i < 8; i++)
		CHECK_INT(b[i].cap, 128);
	CHECK_INT(b[8].cap, 64);
	for (int i = 0; i < 9; i++)
		buf_free(&b[i]);
}

static void *
use_and_exit(void *arg)
{
	struct buf b = { 0 };

	fill(&b, 100);
	*(uint8_t **)arg = b.p;
	buf_free(&b);
	return NULL;
}

/* Spares are per thread: another thread's do not reach this one (and are
 * freed when it exits, which make check SANITIZE=1's leak check sees). */
static void
spares_are_per_thread(void)
{
	pthread_t t;
	uint8_t *theirs = NULL;
	struct buf b = { 0 };

	CHECK_INT(pthread_create(&t, NULL, use_and_exit, &theirs), 0);
	CHECK_INT(pthread_join(t, NULL), 0);
	CHECK(theirs != NULL);
	buf_put_u8(&b, 1);
	CHECK_INT(b.cap, 64);
	buf_free(&b);
}

UNIT_CASES(
	UNIT_CASE(freed_buffer_starts_the_next),
	UNIT_CASE(large_buffer_is_freed),
	UNIT_CASE(small_spare_grows),
	UNIT_CASE(at_most_eight_kept),
	UNIT_CASE(spares_are_per_thread),
);
