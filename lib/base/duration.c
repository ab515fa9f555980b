#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/duration.h"

static const struct {
	const char *unit;
	double ms;
} units[] = {
	{ "ns", 1e-6 }, { "us", 1e-3 }, { "\xc2\xb5s", 1e-3 }, { "ms", 1 },
	{ "s", 1e3 }, { "m", 60e3 }, { "h", 3600e3 },
};

int
duration_parse(const char *s, int64_t *out)
{
	double total = 0;
	int neg = 0;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (strcmp(s, "0") == 0) {
		*out = 0;
		return 0;
	}
	if (*s == '\0')
		return -1;
	while (*s) {
		char *end;
		double v;
		size_t best = 0, bi = 0;

		if (!isdigit((unsigned char)*s) && *s != '.')
			return -1;
		v = strtod(s, &end);
		if (end == s)
			return -1;
		s = end;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t n = strlen(units[i].unit);
			if (strncmp(s, units[i].unit, n) == 0 && n > best) {
				best = n;
				bi = i;
			}
		}
		if (best == 0)
			return -1;
		total += v * units[bi].ms;
		s += best;
	}
	if (total > 9.2e18)
		return -1;
	*out = (int64_t)total * (neg ? -1 : 1);
	return 0;
}

void
duration_format(char *buf, size_t cap, int64_t ms)
{
	const char *sign = ms < 0 ? "-" : "";
	uint64_t u = ms < 0 ? -(uint64_t)ms : (uint64_t)ms;
	uint64_t h, m, s, frac;
	char fs[8] = "";

	if (u == 0) {
		snprintf(buf, cap, "0s");
		return;
	}
	if (u < 1000) {
		snprintf(buf, cap, "%s%llums", sign, (unsigned long long)u);
		return;
	}
	h = u / 3600000;
	m = u / 60000 % 60;
	s = u / 1000 % 60;
	frac = u % 1000;
	if (frac) {
		snprintf(fs, sizeof(fs), ".%03llu", (unsigned long long)frac);
		for (size_t n = strlen(fs); fs[n - 1] == '0'; n--)
			fs[n - 1] = '\0';
	}
	if (h)
		snprintf(buf, cap, "%s%lluh%llum%llu%ss", sign, (unsigned long long)h,
		    (unsigned long long)m, (unsigned long long)s, fs);
	else if (m)
		snprintf(buf, cap, "%s%llum%llu%ss", sign, (unsigned long long)m,
		    (unsigned long long)s, fs);
	else
		snprintf(buf, cap, "%s%llu%ss", sign, (unsigned long long)s, fs);
}
