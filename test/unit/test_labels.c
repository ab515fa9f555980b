#include <stdlib.h>
#include <string.h>

#include "lib/tsdb/labels.h"
#include "test/unit/unit.h"

#define L(n, v)	{ STR_LIT(n), STR_LIT(v) }

static void
str_cmp_is_bytewise_with_lengths(void)
{
	struct str a = { "a\0b", 3 }, b = { "a\0c", 3 }, c = { "a", 1 };

	CHECK(str_cmp(a, b) < 0);
	CHECK(str_cmp(b, a) > 0);
	CHECK(str_cmp(c, a) < 0);		/* prefix is smaller */
	CHECK(str_cmp(a, a) == 0);
	CHECK(str_cmp(STR_LIT("\xc3\xa9"), STR_LIT("z")) > 0);	/* unsigned bytes */
	CHECK(str_cmp(STR_LIT(""), STR_LIT("")) == 0);
	CHECK(str_cmp((struct str){ NULL, 0 }, STR_LIT("")) == 0);
	CHECK(str_eq(STR_LIT("Host"), str_c("Host")));
	CHECK(!str_eq(a, b));
	CHECK_INT(str_c(NULL).len, 0);
}

/* The order verified against promtool in spec §9. */
static void
labels_cmp_matches_verified_order(void)
{
	struct label s0[] = { L("Host", "x"), L("__name__", "m") };
	struct label s1[] = { L("__name__", "M") };
	struct label s2[] = { L("__name__", "m") };
	struct label s3[] = { L("__name__", "m"), { STR_LIT("a"), { "\0x", 2 } } };
	struct label s4[] = { L("__name__", "m"), L("a", "1") };
	struct label s5[] = { L("__name__", "m"), L("a", "z") };
	struct label s6[] = { L("__name__", "m"), L("a", "\xc3\xa9") };
	struct labels sets[] = {
		{ s0, 2 }, { s1, 1 }, { s2, 1 }, { s3, 2 }, { s4, 2 }, { s5, 2 },
		{ s6, 2 },
	};
	size_t n = sizeof(sets) / sizeof(sets[0]);

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			int c = labels_cmp(&sets[i], &sets[j]);
			int want = i < j ? -1 : i > j ? 1 : 0;

			if ((c < 0 ? -1 : c > 0 ? 1 : 0) != want)
				unit_fail(__FILE__, __LINE__,
				    "labels_cmp(set %zu, set %zu) = %d", i, j, c);
		}
}

static void
labels_sort_orders_by_name(void)
{
	struct label v[] = { L("b", "1"), L("__name__", "m"), L("a", "2"),
	    L("Host", "h"), L("a", "3") };
	struct labels ls = { v, 5 };

	labels_sort(&ls);
	CHECK(str_eq(v[0].name, STR_LIT("Host")));
	CHECK(str_eq(v[1].name, STR_LIT("__name__")));
	CHECK(str_eq(v[2].name, STR_LIT("a")));
	CHECK(str_eq(v[3].name, STR_LIT("a")));
	CHECK(str_eq(v[4].name, STR_LIT("b")));
	CHECK(labels_has_dup_names(&ls));
	ls.n = 3;
	CHECK(!labels_has_dup_names(&ls));
}

static void
labels_sort_large_set(void)
{
	struct label v[40];
	char names[40][4];
	struct labels ls = { v, 40 };

	for (int i = 0; i < 40; i++) {
		int k = (i * 17) % 40;

		names[i][0] = (char)('a' + k / 10);
		names[i][1] = (char)('0' + k % 10);
		names[i][2] = '\0';
		v[i].name = str_c(names[i]);
		v[i].value = STR_LIT("v");
	}
	labels_sort(&ls);
	for (int i = 1; i < 40; i++)
		CHECK(str_cmp(v[i - 1].name, v[i].name) < 0);
	CHECK(!labels_has_dup_names(&ls));
}

static void
labels_get_finds_or_returns_empty(void)
{
	struct label v[] = { L("__name__", "up"), L("job", "node") };
	struct labels ls = { v, 2 };
	struct str s;

	s = labels_get(&ls, STR_LIT("job"));
	CHECK(str_eq(s, STR_LIT("node")));
	s = labels_get(&ls, STR_LIT("instance"));
	CHECK(s.p == NULL);
	CHECK_INT(s.len, 0);
}

static void
labels_hash_separates_sets(void)
{
	struct label a[] = { L("a", "bc") };
	struct label b[] = { L("ab", "c") };
	struct label c[] = { L("a", "b"), L("c", "") };
	struct label d[] = { L("a", "bc") };
	struct labels la = { a, 1 }, lb = { b, 1 }, lc = { c, 2 }, ld = { d, 1 };
	struct labels empty = { NULL, 0 };

	CHECK(labels_hash(&la) != labels_hash(&lb));
	CHECK(labels_hash(&la) != labels_hash(&lc));
	CHECK(labels_hash(&la) != labels_hash(&empty));
	CHECK_U64(labels_hash(&la), labels_hash(&ld));
}

static void
str_hash_covers_every_byte(void)
{
	uint8_t buf[200];
	uint64_t seen[200 * 8 + 1];
	size_t ns = 0;

	/* Flipping any single bit of any length from 0 to 200 changes the hash. */
	for (size_t len = 1; len <= sizeof(buf); len += 13) {
		uint64_t base;

		memset(buf, 'x', sizeof(buf));
		base = str_hash(buf, len, 7);
		for (size_t i = 0; i < len; i++)
			for (int bit = 0; bit < 8; bit++) {
				buf[i] ^= (uint8_t)(1 << bit);
				if (str_hash(buf, len, 7) == base)
					unit_fail(__FILE__, __LINE__,
					    "len %zu byte %zu bit %d: same hash", len, i, bit);
				buf[i] ^= (uint8_t)(1 << bit);
			}
		if (str_hash(buf, len, 8) == base)
			unit_fail(__FILE__, __LINE__, "seed ignored at len %zu", len);
	}
	/* Lengths 0..16 of the same prefix all hash differently. */
	memset(buf, 0, sizeof(buf));
	for (size_t len = 0; len <= 64; len++) {
		uint64_t h = str_hash(buf, len, 0);

		for (size_t k = 0; k < ns; k++)
			if (seen[k] == h)
				unit_fail(__FILE__, __LINE__, "len %zu collides", len);
		seen[ns++] = h;
	}
}

static void
labels_copy_owns_one_block(void)
{
	char name[] = "job", value[] = "node";
	struct label v[] = { { { name, 3 }, { value, 4 } }, L("e", ""),
	    { STR_LIT("n"), { "a\0b", 3 } } };
	struct labels src = { v, 3 }, dst;

	dst = labels_copy(&src);
	memset(name, 'X', 3);
	memset(value, 'Y', 4);
	CHECK_INT(dst.n, 3);
	CHECK(str_eq(dst.v[0].name, STR_LIT("job")));
	CHECK(str_eq(dst.v[0].value, STR_LIT("node")));
	CHECK(str_eq(dst.v[1].value, STR_LIT("")));
	CHECK(dst.v[1].value.p != NULL);
	CHECK_MEM(dst.v[2].value.p, dst.v[2].value.len, "a\0b", 3);
	labels_free_copy(&dst);
	CHECK(dst.v == NULL);
	CHECK_INT(dst.n, 0);
	src.n = 0;
	dst = labels_copy(&src);
	CHECK_INT(dst.n, 0);
	labels_free_copy(&dst);
}

UNIT_CASES(
	UNIT_CASE(str_cmp_is_bytewise_with_lengths),
	UNIT_CASE(labels_cmp_matches_verified_order),
	UNIT_CASE(labels_sort_orders_by_name),
	UNIT_CASE(labels_sort_large_set),
	UNIT_CASE(labels_get_finds_or_returns_empty),
	UNIT_CASE(labels_hash_separates_sets),
	UNIT_CASE(str_hash_covers_every_byte),
	UNIT_CASE(labels_copy_owns_one_block),
);
