/*
 * selector_parse on arbitrary text, then every parsed matcher (regexes
 * through the RE2-to-PCRE2 translation) and its negation run against the
 * input itself and the empty string: they must disagree.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/tsdb/matcher.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct matcher *m;
	struct err e;
	struct str whole = { (const char *)data, size };
	char *s;
	size_t n;

	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (selector_parse(s, &m, &n, &e) == 0) {
		for (size_t i = 0; i < n; i++) {
			static const enum match_type neg[] = {
				MATCH_NE, MATCH_EQ, MATCH_NRE, MATCH_RE,
			};
			struct matcher inv;

			/* The negated matcher compiles too and says the opposite. */
			if (matcher_init(&inv, neg[m[i].type], m[i].name, m[i].value,
			    m[i].value_len, &e) == -1)
				abort();
			if (matcher_matches(&m[i], whole) == matcher_matches(&inv, whole) ||
			    matcher_matches_empty(&m[i]) == matcher_matches_empty(&inv))
				abort();
			matcher_free(&inv);
		}
		matchers_check_nonempty(m, n, &e);
		matchers_free(m, n);
	}
	free(s);
	return 0;
}
