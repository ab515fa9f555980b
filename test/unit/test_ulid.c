#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/tsdb/ulid.h"
#include "test/unit/unit.h"

/* The block ULID of spec §2 / Appendix A. */
static void
ulid_spec_example(void)
{
	static const uint8_t want[16] = {
		0x01, 0xa2, 0x10, 0xbf, 0x06, 0x37, 0x6c, 0x2e,
		0x75, 0xba, 0x2e, 0x43, 0x29, 0xf9, 0xdc, 0x85,
	};
	struct ulid u;
	char s[ULID_LEN + 1];

	CHECK_INT(ulid_parse("01M88BY1HQDGQ7BEHE8CMZKQ45", &u), 0);
	CHECK_MEM(u.b, 16, want, 16);
	CHECK_U64(ulid_time(&u), 1795577284151ULL);
	ulid_format(&u, s);
	CHECK_STR(s, "01M88BY1HQDGQ7BEHE8CMZKQ45");
	/* Lower case is accepted. */
	CHECK_INT(ulid_parse("01m88by1hqdgq7behe8cmzkq45", &u), 0);
	CHECK_MEM(u.b, 16, want, 16);
}

static void
ulid_extremes(void)
{
	struct ulid u;
	char s[ULID_LEN + 1];

	memset(u.b, 0, 16);
	ulid_format(&u, s);
	CHECK_STR(s, "00000000000000000000000000");
	memset(u.b, 0xff, 16);
	ulid_format(&u, s);
	CHECK_STR(s, "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
	CHECK_INT(ulid_parse("7ZZZZZZZZZZZZZZZZZZZZZZZZZ", &u), 0);
	for (int i = 0; i < 16; i++)
		CHECK_INT(u.b[i], 0xff);
	/* One bit at a time: each lands in the right character. */
	for (int bit = 0; bit < 128; bit++) {
		struct ulid back;

		memset(u.b, 0, 16);
		u.b[bit / 8] = (uint8_t)(0x80 >> (bit % 8));
		ulid_format(&u, s);
		CHECK_INT(ulid_parse(s, &back), 0);
		CHECK_MEM(back.b, 16, u.b, 16);
		CHECK_INT(s[(bit + 2) / 5], "0123456789ABCDEFGHJKMNPQRSTVWXYZ"[1 << (4 - (bit + 2) % 5)]);
	}
}

static void
ulid_parse_is_strict(void)
{
	static const char *bad[] = {
		"",
		"01M88BY1HQDGQ7BEHE8CMZKQ4",		/* 25 */
		"01M88BY1HQDGQ7BEHE8CMZKQ455",		/* 27 */
		"81M88BY1HQDGQ7BEHE8CMZKQ45",		/* overflow */
		"Z1M88BY1HQDGQ7BEHE8CMZKQ45",
		"01M88BY1HQDGQ7BEHE8CMZKQ4I",		/* Crockford aliases are not accepted */
		"01M88BY1HQDGQ7BEHE8CMZKQ4L",
		"01M88BY1HQDGQ7BEHE8CMZKQ4O",
		"01M88BY1HQDGQ7BEHE8CMZKQ4U",
		"01M88BY1HQDGQ7BEHE8CMZKQ4-",
		"01M88BY1HQDGQ7BEHE8CMZ Q45",
	};
	struct ulid u;

	memset(u.b, 0xaa, 16);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ulid_parse(bad[i], &u) != -1)
			unit_fail(__FILE__, __LINE__, "accepted \"%s\"", bad[i]);
	CHECK_INT(ulid_parse(NULL, &u), -1);
	CHECK_INT(u.b[0], 0xaa);	/* untouched on failure */
}

static void
ulid_new_is_monotonic(void)
{
	struct ulid prev, cur;
	char a[ULID_LEN + 1], b[ULID_LEN + 1];

	ulid_new_at(&prev, 1795577284151ULL);
	CHECK_U64(ulid_time(&prev), 1795577284151ULL);
	for (int i = 0; i < 10000; i++) {
		ulid_new_at(&cur, 1795577284151ULL);
		if (ulid_cmp(&prev, &cur) >= 0) {
			unit_fail(__FILE__, __LINE__, "not increasing at %d", i);
			break;
		}
		ulid_format(&prev, a);
		ulid_format(&cur, b);
		if (strcmp(a, b) >= 0) {
			unit_fail(__FILE__, __LINE__, "text not increasing at %d", i);
			break;
		}
		prev = cur;
	}
	ulid_new_at(&cur, 1795577284152ULL);
	CHECK(ulid_cmp(&prev, &cur) < 0);
	CHECK(ulid_cmp(&cur, &prev) > 0);
	CHECK(ulid_cmp(&cur, &cur) == 0);
}

static void
ulid_new_uses_now_and_entropy(void)
{
	struct ulid a, b;
	uint64_t now = (uint64_t)time(NULL) * 1000;

	ulid_new(&a);
	ulid_new(&b);
	CHECK(ulid_time(&a) + 5000 > now && ulid_time(&a) < now + 5000);
	CHECK(memcmp(a.b, b.b, 16) != 0);
	/* A different millisecond draws fresh entropy: not just +1. */
	ulid_new_at(&a, 1000);
	ulid_new_at(&b, 2000);
	CHECK(memcmp(a.b + 6, b.b + 6, 9) != 0);
}

UNIT_CASES(
	UNIT_CASE(ulid_spec_example),
	UNIT_CASE(ulid_extremes),
	UNIT_CASE(ulid_parse_is_strict),
	UNIT_CASE(ulid_new_is_monotonic),
	UNIT_CASE(ulid_new_uses_now_and_entropy),
);
