/*
 * labels — label sets as Prometheus orders and compares them.
 *
 * Strings are byte strings with explicit lengths (values may hold NUL). A
 * struct labels does not own its strings unless it says so: most sets point
 * into an index mapping, a parse buffer or an arena.
 */
#ifndef RINGTAIL_LABELS_H
#define RINGTAIL_LABELS_H

#include <stddef.h>
#include <stdint.h>

struct str {
	const char	*p;
	size_t		 len;
};

#define STR_LIT(s)	((struct str){ (s), sizeof(s) - 1 })
struct str	str_c(const char *s);		/* from a C string */
/* memcmp over the common length, then the shorter string is smaller. */
int		str_cmp(struct str a, struct str b);
int		str_eq(struct str a, struct str b);

struct label {
	struct str	name;
	struct str	value;
};

struct labels {
	struct label	*v;
	size_t		 n;
};

/* Prometheus labels.Compare: label by label, name then value; fewer labels first. */
int	labels_cmp(const struct labels *a, const struct labels *b);
/* Sort a set by name (bytewise), in place. */
void	labels_sort(struct labels *);
/* 1 if two adjacent labels of a sorted set share a name. */
int	labels_has_dup_names(const struct labels *);
/* The value of name, or an empty str (p NULL) when absent. */
struct str labels_get(const struct labels *, struct str name);
/* 64-bit hash of the whole set (for hash tables; not a wire format). */
uint64_t labels_hash(const struct labels *);
/* A hash of one byte string (the same function labels_hash uses). */
uint64_t str_hash(const void *p, size_t n, uint64_t seed);

/*
 * A labels set that owns one contiguous copy of its strings: created by
 * labels_copy, freed by labels_free_copy.
 */
struct labels	labels_copy(const struct labels *);
void		labels_free_copy(struct labels *);

#endif
