/*
 * matcher — Prometheus label matchers (=, !=, =~, !~). Regexes have RE2
 * syntax and are fully anchored, as Prometheus' ^(?:re)$; PCRE2 runs them.
 * A missing label matches as the empty string.
 */
#ifndef RINGTAIL_MATCHER_H
#define RINGTAIL_MATCHER_H

#include <stddef.h>

#include "lib/base/err.h"
#include "lib/tsdb/labels.h"

enum match_type {
	MATCH_EQ,
	MATCH_NE,
	MATCH_RE,
	MATCH_NRE,
};

struct matcher {
	enum match_type	 type;
	char		*name;
	char		*value;
	size_t		 value_len;
	void		*re;	/* pcre2_code *, for =~ and !~ */
	void		*md;	/* pcre2_match_data * */
};

int	matcher_init(struct matcher *, enum match_type, const char *name,
	    const char *value, size_t value_len, struct err *);
int	matcher_matches(const struct matcher *, struct str value);
/* 1 if the matcher matches the empty string (so series without the label match too). */
int	matcher_matches_empty(const struct matcher *);
void	matcher_free(struct matcher *);

/*
 * Parse a PromQL series selector: `name`, `name{a="b",c=~"d"}` or `{...}`.
 * Label values are PromQL strings ("...", '...' or `...`). *out is malloc'd.
 */
int	selector_parse(const char *s, struct matcher **out, size_t *n, struct err *);
void	matchers_free(struct matcher *, size_t n);
/*
 * PromQL's check on a query's vector selector: 0 if some matcher does not
 * match the empty string, else -1 ("vector selector must contain at least
 * one non-empty matcher"). selector_parse does not apply it, like
 * Prometheus' ParseMetricSelector (promtool dump's default selector
 * {__name__=~'(?s:.*)'} matches the empty string).
 */
int	matchers_check_nonempty(const struct matcher *, size_t n, struct err *);

#endif
