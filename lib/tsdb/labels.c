#include <stdlib.h>
#include <string.h>

#include "lib/base/xmalloc.h"
#include "lib/tsdb/labels.h"

/*
 * The hash is a wyhash-style multiply-fold: every 16 input bytes cost one
 * 64x64->128 multiply, so hashing a series' labels on ingest stays cheap.
 * It is not a wire format; only in-process tables depend on it.
 */
#define HASH_P0	0xa0761d6478bd642fULL
#define HASH_P1	0xe7037ed1a0b428dbULL
#define HASH_P2	0x8ebc6af09c88c6e3ULL
#define HASH_P3	0x589965cc75374cc3ULL

static int	label_cmp_name(const void *, const void *);

struct str
str_c(const char *s)
{
	struct str r;

	r.p = s;
	r.len = s != NULL ? strlen(s) : 0;
	return r;
}

int
str_cmp(struct str a, struct str b)
{
	size_t n = a.len < b.len ? a.len : b.len;
	int c;

	if (n > 0 && (c = memcmp(a.p, b.p, n)) != 0)
		return c < 0 ? -1 : 1;
	if (a.len == b.len)
		return 0;
	return a.len < b.len ? -1 : 1;
}

int
str_eq(struct str a, struct str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

int
labels_cmp(const struct labels *a, const struct labels *b)
{
	size_t n = a->n < b->n ? a->n : b->n;
	int c;

	for (size_t i = 0; i < n; i++) {
		if ((c = str_cmp(a->v[i].name, b->v[i].name)) != 0)
			return c;
		if ((c = str_cmp(a->v[i].value, b->v[i].value)) != 0)
			return c;
	}
	if (a->n == b->n)
		return 0;
	return a->n < b->n ? -1 : 1;
}

static int
label_cmp_name(const void *a, const void *b)
{
	const struct label *la = a, *lb = b;

	return str_cmp(la->name, lb->name);
}

void
labels_sort(struct labels *ls)
{
	/* Label sets are short; insertion sort beats qsort's call overhead. */
	if (ls->n > 16) {
		qsort(ls->v, ls->n, sizeof(ls->v[0]), label_cmp_name);
		return;
	}
	for (size_t i = 1; i < ls->n; i++) {
		struct label t = ls->v[i];
		size_t j = i;

		while (j > 0 && str_cmp(ls->v[j - 1].name, t.name) > 0) {
			ls->v[j] = ls->v[j - 1];
			j--;
		}
		ls->v[j] = t;
	}
}

int
labels_has_dup_names(const struct labels *ls)
{
	for (size_t i = 1; i < ls->n; i++)
		if (str_eq(ls->v[i - 1].name, ls->v[i].name))
			return 1;
	return 0;
}

struct str
labels_get(const struct labels *ls, struct str name)
{
	struct str none = { NULL, 0 };

	for (size_t i = 0; i < ls->n; i++)
		if (str_eq(ls->v[i].name, name))
			return ls->v[i].value;
	return none;
}

static inline uint64_t
hash_mix(uint64_t a, uint64_t b)
{
	__uint128_t r = (__uint128_t)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t
hash_r64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static inline uint64_t
hash_r32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

uint64_t
str_hash(const void *data, size_t n, uint64_t seed)
{
	const uint8_t *p = data;
	uint64_t a, b;
	size_t i = n;

	seed ^= hash_mix(seed ^ HASH_P0, HASH_P1);
	if (n <= 16) {
		if (n >= 4) {
			a = hash_r32(p) << 32 | hash_r32(p + ((n >> 3) << 2));
			b = hash_r32(p + n - 4) << 32 |
			    hash_r32(p + n - 4 - ((n >> 3) << 2));
		} else if (n > 0) {
			a = (uint64_t)p[0] << 16 | (uint64_t)p[n >> 1] << 8 |
			    p[n - 1];
			b = 0;
		} else
			a = b = 0;
	} else {
		if (i > 48) {
			uint64_t s1 = seed, s2 = seed;

			do {
				seed = hash_mix(hash_r64(p) ^ HASH_P1,
				    hash_r64(p + 8) ^ seed);
				s1 = hash_mix(hash_r64(p + 16) ^ HASH_P2,
				    hash_r64(p + 24) ^ s1);
				s2 = hash_mix(hash_r64(p + 32) ^ HASH_P3,
				    hash_r64(p + 40) ^ s2);
				p += 48;
				i -= 48;
			} while (i > 48);
			seed ^= s1 ^ s2;
		}
		while (i > 16) {
			seed = hash_mix(hash_r64(p) ^ HASH_P1, hash_r64(p + 8) ^ seed);
			p += 16;
			i -= 16;
		}
		a = hash_r64(p + i - 16);
		b = hash_r64(p + i - 8);
	}
	a ^= HASH_P1;
	b ^= seed;
	{
		__uint128_t r = (__uint128_t)a * b;

		a = (uint64_t)r;
		b = (uint64_t)(r >> 64);
	}
	return hash_mix(a ^ HASH_P0 ^ n, b ^ HASH_P1);
}

uint64_t
labels_hash(const struct labels *ls)
{
	uint64_t h = ls->n;

	/* Chaining through the seed (which mixes in each length) keeps
	 * {a="bc"} and {ab="c"} apart. */
	for (size_t i = 0; i < ls->n; i++) {
		h = str_hash(ls->v[i].name.p, ls->v[i].name.len, h);
		h = str_hash(ls->v[i].value.p, ls->v[i].value.len, h);
	}
	return h;
}

struct labels
labels_copy(const struct labels *src)
{
	struct labels dst = { NULL, 0 };
	size_t total = 0;
	char *s;

	if (src->n == 0)
		return dst;
	for (size_t i = 0; i < src->n; i++)
		total += src->v[i].name.len + src->v[i].value.len;
	dst.v = xmalloc(src->n * sizeof(dst.v[0]) + total + 1);
	dst.n = src->n;
	s = (char *)(dst.v + src->n);
	for (size_t i = 0; i < src->n; i++) {
		const struct label *l = &src->v[i];

		if (l->name.len > 0)
			memcpy(s, l->name.p, l->name.len);
		dst.v[i].name.p = s;
		dst.v[i].name.len = l->name.len;
		s += l->name.len;
		if (l->value.len > 0)
			memcpy(s, l->value.p, l->value.len);
		dst.v[i].value.p = s;
		dst.v[i].value.len = l->value.len;
		s += l->value.len;
	}
	*s = '\0';
	return dst;
}

void
labels_free_copy(struct labels *ls)
{
	free(ls->v);
	ls->v = NULL;
	ls->n = 0;
}
