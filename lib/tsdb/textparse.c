/*
 * textparse — OpenMetrics as promtool's parser reads it, and the dump format.
 *
 * The OpenMetrics side follows the state machine that golex generated from
 * Prometheus' openmetricslex.l rather than the OpenMetrics grammar, because
 * the contract is "accept and reject what promtool does". Three properties
 * of that machine shape the code below:
 *  - it never backtracks: a token that stops in a non-accepting state is
 *    invalid even if a shorter prefix would have matched;
 *  - no character class contains NUL, so a NUL ends or breaks most tokens;
 *  - inside a label value, a HELP/TYPE/UNIT line and a "# " keyword, the
 *    lexer skips NULs when it fetches the next byte, including the byte after
 *    a closing quote or after the final newline (so NULs that start the next
 *    line vanish, and NULs after a closing quote end up inside the value).
 */
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/base/xmalloc.h"
#include "lib/tsdb/gofmt.h"
#include "lib/tsdb/textparse.h"

/* Go's math.NaN(), what ParseFloat returns for "NaN". */
#define GO_NAN_BITS	0x7FF8000000000001ULL
#define INF_BITS	0x7FF0000000000000ULL
#define SIGN_BIT	0x8000000000000000ULL

/* What skip_nul says about the NULs that start a line. */
#define SKIP_NONE	0
#define SKIP_EAT	1	/* eaten silently (after HELP, # EOF) */
#define SKIP_FAIL	2	/* eaten into a TYPE/UNIT text, which then fails */

static int	 perr(struct text_parser *, struct err *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static const char *tokq(const uint8_t *, size_t, char *, size_t);
static int	 utf8_valid(const uint8_t *, size_t);
static int	 is_mstart(uint8_t);
static int	 is_mchar(uint8_t);
static int	 is_lstart(uint8_t);
static int	 is_lchar(uint8_t);
static size_t	 skip_nuls(const uint8_t *, size_t, size_t);
static struct label *lv_push(struct text_parser *);
static size_t	 lex_lvalue(const uint8_t *, size_t, size_t, int, int *);
static void	 unescape(struct buf *, const uint8_t *, size_t);
static int	 parse_ts(const uint8_t *, size_t, int64_t *);
static int	 om_line(struct text_parser *, const uint8_t *, size_t,
		    struct text_sample *, struct err *);
static int	 om_meta(struct text_parser *, const uint8_t *, size_t, size_t,
		    struct err *);
static int	 om_lvals(struct text_parser *, const uint8_t *, size_t, size_t *,
		    int, struct err *);
static int	 om_sample(struct text_parser *, const uint8_t *, size_t,
		    struct text_sample *, struct err *);
static int	 om_exemplar(struct text_parser *, const uint8_t *, size_t, size_t,
		    size_t, struct err *);
static int	 dump_line(struct text_parser *, const uint8_t *, size_t,
		    struct text_sample *, struct err *);
static int	 dump_labels(struct text_parser *, const uint8_t *, size_t, size_t *,
		    struct err *);
static int	 finish_labels(struct text_parser *, struct err *);
static void	 remember_series(struct text_parser *, const uint8_t *, size_t,
		    size_t);
static int	 same_series(const struct text_parser *, const uint8_t *, size_t);

static const struct str metric_name = { "__name__", 8 };

enum text_format
text_detect(const char *line, size_t len)
{
	return len > 0 && line[0] == '{' ? TEXT_DUMP : TEXT_OPENMETRICS;
}

void
text_parser_init(struct text_parser *p, const char *file, enum text_format fmt)
{
	memset(p, 0, sizeof(*p));
	p->file = file;
	p->fmt = fmt;
}

void
text_parser_free(struct text_parser *p)
{
	buf_free(&p->scratch);
	buf_free(&p->prev);
	free(p->lv);
	p->lv = NULL;
	p->lcap = 0;
}

int
text_parser_line(struct text_parser *p, const char *line, size_t len,
    struct text_sample *out, struct err *e)
{
	p->lineno++;
	if (p->fmt == TEXT_DUMP)
		return dump_line(p, (const uint8_t *)line, len, out, e);
	return om_line(p, (const uint8_t *)line, len, out, e);
}

int
text_parser_finish(struct text_parser *p, struct err *e)
{
	if (p->fmt == TEXT_OPENMETRICS && !p->seen_eof) {
		if (p->lineno == 0)
			p->lineno = 1;
		return perr(p, e, "data does not end with # EOF");
	}
	return 0;
}

static int
perr(struct text_parser *p, struct err *e, const char *fmt, ...)
{
	char what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return err_set(e, "%s:%llu: %s", p->file != NULL ? p->file : "-",
	    (unsigned long long)p->lineno, what);
}

/* A token for an error message: quoted, unprintable bytes as \xHH, cut short. */
static const char *
tokq(const uint8_t *s, size_t n, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	out[o++] = '"';
	for (size_t i = 0; i < n && o + 8 < cap; i++) {
		uint8_t c = s[i];

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c >= 0x20 && c < 0x7f) {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
		if (o + 8 >= cap && i + 1 < n) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

/* Go's utf8.Valid: no overlongs, no surrogates, nothing above U+10FFFF. */
static int
utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = s[i];
		uint8_t lo = 0x80, hi = 0xbf;
		size_t k;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1;
		else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else
			return 0;
		if (n - i <= k)
			return 0;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (size_t j = 2; j <= k; j++)
			if (s[i + j] < 0x80 || s[i + j] > 0xbf)
				return 0;
		i += k + 1;
	}
	return 1;
}

static int
is_lstart(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int
is_lchar(uint8_t c)
{
	return is_lstart(c) || (c >= '0' && c <= '9');
}

static int
is_mstart(uint8_t c)
{
	return is_lstart(c) || c == ':';
}

static int
is_mchar(uint8_t c)
{
	return is_lchar(c) || c == ':';
}

/* The bytes of a value/timestamp token: anything but space, newline and NUL. */
static inline int
is_vchar(uint8_t c)
{
	return c != ' ' && c != '\0';
}

static size_t
skip_nuls(const uint8_t *s, size_t n, size_t i)
{
	while (i < n && s[i] == '\0')
		i++;
	return i;
}

static struct label *
lv_push(struct text_parser *p)
{
	if (p->prev_nl == p->lcap) {
		p->lcap = p->lcap == 0 ? 16 : p->lcap * 2;
		p->lv = xreallocarray(p->lv, p->lcap, sizeof(p->lv[0]));
	}
	return &p->lv[p->prev_nl++];
}

/* What lex_lvalue saw inside the quotes. */
#define LV_ESC		1	/* a backslash */
#define LV_HIGH		2	/* a byte >= 0x80: UTF-8 to check */

/*
 * A quoted label value starting at s[i] == '"'. With skip (sample labels),
 * NULs are invisible to the lexer, also right after the closing quote.
 * Returns the token end, or 0 when the lexer would not recognise a token.
 */
static size_t
lex_lvalue(const uint8_t *s, size_t n, size_t i, int skip, int *flags)
{
	uint8_t high = 0;

	*flags = 0;
	i++;
	for (;;) {
		/* The common bytes, in a tight loop. */
		while (i < n && s[i] != '"' && s[i] != '\\' && s[i] != '\0')
			high |= s[i++];
		if (high & 0x80)
			*flags |= LV_HIGH;
		if (i >= n)
			return 0;
		switch (s[i]) {
		case '"':
			i++;
			return skip ? skip_nuls(s, n, i) : i;
		case '\\':
			*flags |= LV_ESC;
			i++;
			if (skip)
				i = skip_nuls(s, n, i);
			if (i >= n || s[i] == '\0')
				return 0;
			high |= s[i++];
			break;
		default:	/* NUL */
			if (!skip)
				return 0;
			i = skip_nuls(s, n, i);
			break;
		}
	}
}

/* Go's strings.Replacer of `\"`, `\\`, `\n`: other escapes stay as they are. */
static void
unescape(struct buf *b, const uint8_t *s, size_t n)
{
	uint8_t *o = b->p + b->len;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n &&
		    (s[i + 1] == '"' || s[i + 1] == '\\' || s[i + 1] == 'n')) {
			*o++ = s[i + 1] == 'n' ? '\n' : s[i + 1];
			i++;
			continue;
		}
		*o++ = s[i];
	}
	b->len = (size_t)(o - b->p);
}

static const double pow10_exact[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static const uint64_t pow10_u64[] = {
	1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL,
	10000000ULL, 100000000ULL, 1000000000ULL, 10000000000ULL,
	100000000000ULL, 1000000000000ULL, 10000000000000ULL,
	100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
	100000000000000000ULL, 1000000000000000000ULL,
	10000000000000000000ULL,
};

static int
bitlen128(unsigned __int128 x)
{
	uint64_t hi = (uint64_t)(x >> 64), lo = (uint64_t)x;

	if (hi != 0)
		return 128 - __builtin_clzll(hi);
	return lo != 0 ? 64 - __builtin_clzll(lo) : 0;
}

/*
 * Round x * 2^exp2 to a double, half to even; sticky says the exact value
 * is a little above x (a division left a remainder).
 */
static double
round128(unsigned __int128 x, int exp2, int sticky)
{
	int shift = bitlen128(x) - 53;
	unsigned __int128 rem, half;
	uint64_t top;

	if (shift <= 0)
		return ldexp((double)(uint64_t)x, exp2);
	top = (uint64_t)(x >> shift);
	rem = x & (((unsigned __int128)1 << shift) - 1);
	half = (unsigned __int128)1 << (shift - 1);
	if (rem > half || (rem == half && (sticky || (top & 1))))
		top++;
	return ldexp((double)top, shift + exp2);
}

/*
 * m * 10^e correctly rounded, for the 17 to 19 digit mantissas that miss
 * Clinger's path (shortest round-trip output has up to 17): exact 128-bit
 * product or quotient, then one rounding. 0, or -1 when out of its range.
 */
static int
dec_exact(uint64_t m, int64_t e, double *d)
{
	unsigned __int128 n;
	int s;

	if (e >= 0 && e <= 19) {
		*d = round128((unsigned __int128)m * pow10_u64[e], 0, 0);
		return 0;
	}
	if (e < 0 && e >= -19) {
		/* Scale up so that the quotient has at least 63 significant bits. */
		s = 127 - bitlen128(m);
		n = (unsigned __int128)m << s;
		*d = round128(n / pow10_u64[-e], -s, n % pow10_u64[-e] != 0);
		return 0;
	}
	return -1;
}

static uint64_t
dbits(double d)
{
	uint64_t b;

	memcpy(&b, &d, sizeof(b));
	return b;
}

/* strtod in the C locale, whatever setlocale did: the grammar was already checked. */
static double
strtod_c(const char *s, size_t n, int *overflow)
{
	static locale_t cloc;
	char small[128], *big = NULL, *z = small;
	double d;

	if (cloc == (locale_t)0)
		cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	if (n >= sizeof(small))
		z = big = xmalloc(n + 1);
	memcpy(z, s, n);
	z[n] = '\0';
	d = cloc != (locale_t)0 ? strtod_l(z, NULL, cloc) : strtod(z, NULL);
	free(big);
	*overflow = isinf(d);
	return d;
}

int
text_parse_float(const char *str, size_t n, uint64_t *bits)
{
	const uint8_t *s = (const uint8_t *)str;
	uint64_t mant = 0, sign = 0;
	int64_t exp10 = 0, e = 0;
	int nd = 0, digits = 0, trunc = 0, eneg = 0, overflow;
	size_t i = 0;
	double d;

	/* Go's parseFloat rejects 'p', 'P' and '_' first; no rule below takes them. */
	if (n == 0)
		return -1;
	if (s[0] == '+' || s[0] == '-') {
		sign = s[0] == '-' ? SIGN_BIT : 0;
		i = 1;
	}
	if ((n - i == 3 && strncasecmp(str + i, "inf", 3) == 0) ||
	    (n - i == 8 && strncasecmp(str + i, "infinity", 8) == 0)) {
		*bits = sign | INF_BITS;
		return 0;
	}
	if (n == 3 && strncasecmp(str, "nan", 3) == 0) {
		*bits = GO_NAN_BITS;
		return 0;
	}
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		digits = 1;
		if (mant == 0 && s[i] == '0')
			continue;
		if (nd < 19) {
			mant = mant * 10 + (uint64_t)(s[i] - '0');
			nd++;
		} else {
			exp10++;
			trunc |= s[i] != '0';
		}
	}
	if (i < n && s[i] == '.') {
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
			digits = 1;
			if (mant == 0 && s[i] == '0') {
				exp10--;
				continue;
			}
			if (nd < 19) {
				mant = mant * 10 + (uint64_t)(s[i] - '0');
				nd++;
				exp10--;
			} else
				trunc |= s[i] != '0';
		}
	}
	if (!digits)
		return -1;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			eneg = s[i++] == '-';
		if (i >= n || s[i] < '0' || s[i] > '9')
			return -1;
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			if (e < 1000000)
				e = e * 10 + (s[i] - '0');
		exp10 += eneg ? -e : e;
	}
	if (i != n)
		return -1;
	if (mant == 0) {
		*bits = sign;
		return 0;
	}
	/* Clinger's fast path: one exact operand, one correctly rounded operation. */
	if (!trunc && mant <= (1ULL << 53) && exp10 >= -22 && exp10 <= 22) {
		d = (double)mant;
		d = exp10 >= 0 ? d * pow10_exact[exp10] : d / pow10_exact[-exp10];
		*bits = dbits(d) | sign;
		return 0;
	}
	if (!trunc && dec_exact(mant, exp10, &d) == 0) {
		*bits = dbits(d) | sign;
		return 0;
	}
	d = strtod_c(str, n, &overflow);
	if (overflow)
		return -1;
	*bits = dbits(d);
	return 0;
}

/*
 * Seconds to ms as promtool does: int64(ts * 1000) with a float multiply,
 * truncating. Out of int64 range Go on amd64 yields MinInt64; so do we.
 */
static int
parse_ts(const uint8_t *s, size_t n, int64_t *ms)
{
	uint64_t bits;
	double d;

	if (text_parse_float((const char *)s, n, &bits) == -1)
		return -1;
	memcpy(&d, &bits, sizeof(d));
	if (isnan(d) || isinf(d))
		return -2;
	d *= 1000.0;
	if (d >= 9223372036854775808.0 || d < -9223372036854775808.0)
		*ms = INT64_MIN;
	else
		*ms = (int64_t)d;
	return 0;
}

static int
om_line(struct text_parser *p, const uint8_t *s, size_t n,
    struct text_sample *out, struct err *e)
{
	size_t i = 0;
	int skip = p->skip_nul;

	p->skip_nul = SKIP_NONE;
	if (p->seen_eof) {
		/* Only NULs may follow, and the lexer only eats them up to the end. */
		if (!p->eof_tail && p->no_newline && n > 0 && skip_nuls(s, n, 0) == n) {
			p->eof_tail = 1;
			return 0;
		}
		return perr(p, e, "unexpected data after # EOF");
	}
	if (skip != SKIP_NONE) {
		i = skip_nuls(s, n, 0);
		if (i > 0 && skip == SKIP_FAIL)
			return perr(p, e, "invalid TYPE or UNIT text (NUL bytes after the line)");
	}
	if (i >= n)
		return perr(p, e, "empty line");
	if (s[i] == '#')
		return om_meta(p, s, n, i, e);
	if (is_mstart(s[i]))
		return om_sample(p, s + i, n - i, out, e);
	return perr(p, e, "unexpected character %s at start of line",
	    tokq(s + i, 1, (char[16]){ 0 }, 16));
}

/* "# HELP", "# TYPE", "# UNIT" or "# EOF", from s[i] == '#'. */
static int
om_meta(struct text_parser *p, const uint8_t *s, size_t n, size_t i,
    struct err *e)
{
	static const char *const kw[] = { "EOF", "HELP ", "TYPE ", "UNIT " };
	static const char *const types[] = {
		"counter", "gauge", "histogram", "gaugehistogram", "summary",
		"info", "stateset", "unknown",
	};
	const char *k = NULL;
	const uint8_t *text;
	size_t name, nlen, tlen;
	char q[64];

	if (i + 2 >= n || s[i + 1] != ' ')
		return perr(p, e, "expected \"# HELP\", \"# TYPE\", \"# UNIT\" or \"# EOF\"");
	i += 2;
	for (size_t j = 0; j < 4; j++)
		if (s[i] == (uint8_t)kw[j][0])
			k = kw[j];
	if (k == NULL)
		return perr(p, e, "expected \"# HELP\", \"# TYPE\", \"# UNIT\" or \"# EOF\"");
	/* The first keyword byte is fetched as plain input, the rest NUL-skipping. */
	for (size_t j = 1; k[j] != '\0'; j++) {
		i = skip_nuls(s, n, i + 1);
		if (i >= n || s[i] != (uint8_t)k[j])
			return perr(p, e, "expected \"# HELP\", \"# TYPE\", \"# UNIT\" or \"# EOF\"");
	}
	i = skip_nuls(s, n, i + 1);
	if (k[0] == 'E') {
		if (i < n)
			return perr(p, e, "unexpected data after # EOF");
		p->seen_eof = 1;
		p->skip_nul = SKIP_EAT;
		return 0;
	}
	name = i;
	if (i >= n || !is_mstart(s[i]))
		return perr(p, e, "expected metric name after %.4s", k);
	while (i < n && is_mchar(s[i]))
		i++;
	nlen = i - name;
	if (i >= n || s[i] != ' ')
		return perr(p, e, "expected text in %.4s", k);
	text = s + i + 1;
	tlen = n - i - 1;
	switch (k[0]) {
	case 'H':
		if (!utf8_valid(text, tlen))
			return perr(p, e, "help text is not a valid utf8 string");
		p->skip_nul = SKIP_EAT;
		return 0;
	case 'T':
		for (size_t j = 0; j < sizeof(types) / sizeof(types[0]); j++)
			if (tlen == strlen(types[j]) && memcmp(text, types[j], tlen) == 0) {
				p->skip_nul = SKIP_FAIL;
				return 0;
			}
		return perr(p, e, "invalid metric type %s", tokq(text, tlen, q, sizeof(q)));
	default:
		if (tlen > 0 && (nlen < tlen + 1 ||
		    memcmp(s + name + nlen - tlen, text, tlen) != 0 ||
		    s[name + nlen - tlen - 1] != '_'))
			return perr(p, e, "unit not a suffix of metric %s",
			    tokq(s + name, nlen, q, sizeof(q)));
		p->skip_nul = SKIP_FAIL;
		return 0;
	}
}

/*
 * The label pairs after '{' up to and including '}' (parseLVals). Sample
 * labels (keep) go to p->lv with NUL-skipping values; exemplar labels are
 * only checked.
 */
static int
om_lvals(struct text_parser *p, const uint8_t *s, size_t n, size_t *ip,
    int keep, struct err *e)
{
	size_t i = *ip, name, name_end, vstart, vend;
	int first = 1, flags;

	for (;;) {
		uint8_t c = i < n ? s[i] : '\n';

		if (c == '}') {
			*ip = i + 1;
			return 0;
		}
		if (c == ',') {
			if (first)
				return perr(p, e, "expected label name or left brace, got \",\"");
			i++;
			if (i >= n || !is_lstart(s[i]))
				return perr(p, e, "expected label name after \",\"");
		} else if (is_lstart(c)) {
			if (!first)
				return perr(p, e, "expected comma between labels");
		} else if (first)
			return perr(p, e, "expected label name or left brace");
		else
			return perr(p, e, "expected comma or right brace");
		first = 0;
		name = i;
		while (i < n && is_lchar(s[i]))
			i++;
		name_end = i;
		if (i >= n || s[i] != '=')
			return perr(p, e, "expected equal sign after label name");
		i++;
		if (i >= n || s[i] != '"')
			return perr(p, e, "expected label value");
		vstart = i;
		if ((vend = lex_lvalue(s, n, i, keep, &flags)) == 0)
			return perr(p, e, "expected label value (unterminated or bad escape)");
		if ((flags & LV_HIGH) && !utf8_valid(s + vstart, vend - vstart))
			return perr(p, e, "invalid UTF-8 label value");
		i = vend;
		if (keep) {
			struct label *l = lv_push(p);
			const uint8_t *v = s + vstart + 1;
			size_t vlen = vend - vstart - 2;

			l->name.p = (const char *)s + name;
			l->name.len = name_end - name;
			if (flags & LV_ESC) {
				l->value.p = (const char *)p->scratch.p + p->scratch.len;
				unescape(&p->scratch, v, vlen);
				l->value.len = (size_t)((const char *)p->scratch.p +
				    p->scratch.len - l->value.p);
			} else {
				l->value.p = (const char *)v;
				l->value.len = vlen;
			}
		}
	}
}

/* Drop empty values, sort by name, reject a repeated name; lv[0..prev_nl). */
static int
finish_labels(struct text_parser *p, struct err *e)
{
	struct labels ls;
	size_t k = 0;
	char q[80];

	for (size_t j = 0; j < p->prev_nl; j++)
		if (p->lv[j].value.len > 0)
			p->lv[k++] = p->lv[j];
	p->prev_nl = k;
	if (k == 0)
		return perr(p, e, "empty label set");
	ls.v = p->lv;
	ls.n = k;
	labels_sort(&ls);
	for (size_t j = 1; j < k; j++)
		if (str_eq(p->lv[j - 1].name, p->lv[j].name))
			return perr(p, e, "label name %s is not unique",
			    tokq((const uint8_t *)p->lv[j].name.p, p->lv[j].name.len,
			    q, sizeof(q)));
	return 0;
}

/* Keep the series text so that the next line can reuse the labels. */
static void
remember_series(struct text_parser *p, const uint8_t *s, size_t len,
    size_t name_len)
{
	const char *lo = (const char *)s, *hi = lo + len;

	buf_reset(&p->prev);
	buf_put_bytes(&p->prev, s, len);
	for (size_t j = 0; j < p->prev_nl; j++) {
		struct label *l = &p->lv[j];

		if (l->name.p >= lo && l->name.p < hi)
			l->name.p = (const char *)p->prev.p + (l->name.p - lo);
		if (l->value.p >= lo && l->value.p < hi)
			l->value.p = (const char *)p->prev.p + (l->value.p - lo);
	}
	p->prev_name = name_len;
	p->has_prev = 1;
}

static int
same_series(const struct text_parser *p, const uint8_t *s, size_t n)
{
	size_t l = p->prev.len;

	return p->has_prev && n > l && s[l] == ' ' && memcmp(s, p->prev.p, l) == 0;
}

/* A sample line from s[0], a metric name start (OpenMetricsParser.Next). */
static int
om_sample(struct text_parser *p, const uint8_t *s, size_t n,
    struct text_sample *out, struct err *e)
{
	size_t i, name_len, v0, t0;
	int rc;
	char q[64];

	if (same_series(p, s, n)) {
		i = p->prev.len;
		name_len = p->prev_name;
		out->same_series = 1;
	} else {
		struct label *l;

		p->has_prev = 0;
		p->prev_nl = 0;
		buf_reset(&p->scratch);
		buf_reserve(&p->scratch, n);
		for (i = 1; i < n && is_mchar(s[i]); i++)
			;
		name_len = i;
		l = lv_push(p);
		l->name = metric_name;
		l->value.p = (const char *)s;
		l->value.len = name_len;
		if (i < n && s[i] == '{') {
			i++;
			if (om_lvals(p, s, n, &i, 1, e) == -1)
				return -1;
		}
		if (finish_labels(p, e) == -1)
			return -1;
		remember_series(p, s, i, name_len);
		out->same_series = 0;
	}
	out->labels.v = p->lv;
	out->labels.n = p->prev_nl;

	if (i >= n || s[i] != ' ' || i + 1 >= n || !is_vchar(s[i + 1]))
		return perr(p, e, "expected value after metric");
	v0 = ++i;
	while (i < n && is_vchar(s[i]))
		i++;
	if (text_parse_float((const char *)s + v0, i - v0, &out->v) == -1)
		return perr(p, e, "invalid value %s", tokq(s + v0, i - v0, q, sizeof(q)));

	if (i >= n)
		return perr(p, e, "expected timestamp");
	if (s[i] != ' ' || i + 1 >= n || !is_vchar(s[i + 1]))
		return perr(p, e, "expected timestamp or # symbol");
	if (s[i + 1] == '#' && i + 2 < n && s[i + 2] == ' ') {
		if (i + 3 >= n || s[i + 3] != '{')
			return perr(p, e, "expected timestamp or # symbol");
		if (om_exemplar(p, s, n, i + 4, name_len, e) == -1)
			return -1;
		return perr(p, e, "expected timestamp");
	}
	t0 = ++i;
	while (i < n && is_vchar(s[i]))
		i++;
	rc = parse_ts(s + t0, i - t0, &out->t);
	if (rc == -1)
		return perr(p, e, "invalid timestamp %s", tokq(s + t0, i - t0, q, sizeof(q)));
	if (rc == -2)
		return perr(p, e, "invalid timestamp");
	if (i >= n)
		return 1;
	if (s[i] == ' ' && i + 3 < n && s[i + 1] == '#' && s[i + 2] == ' ' &&
	    s[i + 3] == '{') {
		if (om_exemplar(p, s, n, i + 4, name_len, e) == -1)
			return -1;
		return 1;
	}
	return perr(p, e, "expected next entry after timestamp");
}

/* The exemplar after " # {" (parseComment): checked, then dropped. */
static int
om_exemplar(struct text_parser *p, const uint8_t *s, size_t n, size_t i,
    size_t name_len, struct err *e)
{
	size_t v0;
	uint64_t bits;
	int64_t t;
	int rc;
	char q[64];

	if (!((name_len >= 6 && memcmp(s + name_len - 6, "_total", 6) == 0) ||
	    (name_len >= 7 && memcmp(s + name_len - 7, "_bucket", 7) == 0)))
		return perr(p, e, "metric name %s does not support exemplars",
		    tokq(s, name_len, q, sizeof(q)));
	if (om_lvals(p, s, n, &i, 0, e) == -1)
		return -1;
	if (i >= n || s[i] != ' ' || i + 1 >= n || !is_vchar(s[i + 1]))
		return perr(p, e, "expected value after exemplar labels");
	v0 = ++i;
	while (i < n && is_vchar(s[i]))
		i++;
	if (text_parse_float((const char *)s + v0, i - v0, &bits) == -1)
		return perr(p, e, "invalid exemplar value %s",
		    tokq(s + v0, i - v0, q, sizeof(q)));
	if (i >= n)
		return 0;
	if (s[i] != ' ' || i + 1 >= n || !is_vchar(s[i + 1]))
		return perr(p, e, "expected timestamp or end of line after exemplar value");
	v0 = ++i;
	while (i < n && is_vchar(s[i]))
		i++;
	rc = parse_ts(s + v0, i - v0, &t);
	if (rc == -1)
		return perr(p, e, "invalid exemplar timestamp %s",
		    tokq(s + v0, i - v0, q, sizeof(q)));
	if (rc == -2)
		return perr(p, e, "invalid exemplar timestamp");
	if (i < n)
		return perr(p, e, "expected end of line after exemplar timestamp");
	return 0;
}

/* `{name="Go-quoted", ...}` from s[0] == '{'; *ip is left after '}'. */
static int
dump_labels(struct text_parser *p, const uint8_t *s, size_t n, size_t *ip,
    struct err *e)
{
	size_t i = 1;

	for (;;) {
		struct label *l;
		size_t name = i, j;
		int bs = 0;

		if (i >= n || !is_lstart(s[i]))
			return perr(p, e, "expected label name");
		while (i < n && is_lchar(s[i]))
			i++;
		if (i >= n || s[i] != '=')
			return perr(p, e, "expected '=' after label name");
		i++;
		if (i >= n || s[i] != '"')
			return perr(p, e, "expected quoted label value");
		for (j = i + 1; j < n && s[j] != '"'; j++) {
			if (s[j] == '\\') {
				bs = 1;
				j++;
			}
		}
		if (j >= n)
			return perr(p, e, "unterminated label value");
		l = lv_push(p);
		l->name.p = (const char *)s + name;
		l->name.len = i - 1 - name;
		if (bs || !utf8_valid(s + i + 1, j - i - 1)) {
			size_t before = p->scratch.len;
			size_t used = gofmt_unquote((const char *)s + i, n - i, &p->scratch);

			if (used == 0)
				return perr(p, e, "invalid quoted label value");
			l->value.p = (const char *)p->scratch.p + before;
			l->value.len = p->scratch.len - before;
			i += used;
		} else {
			l->value.p = (const char *)s + i + 1;
			l->value.len = j - i - 1;
			i = j + 1;
		}
		if (i < n && s[i] == '}') {
			*ip = i + 1;
			return 0;
		}
		if (i >= n || s[i] != ',')
			return perr(p, e, "expected ',' or '}' after label value");
		i++;
		if (i < n && s[i] == ' ')
			i++;
	}
}

/* `{name="Go-quoted", ...} VALUE TIMESTAMP_MS`, as promtool tsdb dump prints. */
static int
dump_line(struct text_parser *p, const uint8_t *s, size_t n,
    struct text_sample *out, struct err *e)
{
	size_t i = 0, v0;
	uint64_t ts = 0;
	int neg = 0;
	char q[64];

	if (same_series(p, s, n)) {
		i = p->prev.len;
		out->same_series = 1;
	} else {
		if (n == 0 || s[0] != '{')
			return perr(p, e, "expected '{' at start of line");
		p->has_prev = 0;
		p->prev_nl = 0;
		buf_reset(&p->scratch);
		/*
		 * Unquoting at most triples a string (an invalid UTF-8 byte
		 * becomes U+FFFD): with this room the scratch cannot move.
		 */
		buf_reserve(&p->scratch, 3 * n + 16);
		if (n > 1 && s[1] == '}')
			return perr(p, e, "empty label set");
		if (dump_labels(p, s, n, &i, e) == -1)
			return -1;
		if (finish_labels(p, e) == -1)
			return -1;
		remember_series(p, s, i, 0);
		out->same_series = 0;
	}
	out->labels.v = p->lv;
	out->labels.n = p->prev_nl;

	if (i >= n || s[i] != ' ' || i + 1 >= n || s[i + 1] == ' ')
		return perr(p, e, "expected value after labels");
	v0 = ++i;
	while (i < n && s[i] != ' ')
		i++;
	if (text_parse_float((const char *)s + v0, i - v0, &out->v) == -1)
		return perr(p, e, "invalid value %s", tokq(s + v0, i - v0, q, sizeof(q)));
	if (i >= n || s[i] != ' ')
		return perr(p, e, "expected timestamp");
	v0 = ++i;
	if (i < n && s[i] == '-') {
		neg = 1;
		i++;
	}
	if (i >= n)
		return perr(p, e, "expected timestamp");
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' ||
		    ts > (UINT64_C(9223372036854775808) - (uint64_t)(s[i] - '0')) / 10)
			return perr(p, e, "invalid timestamp %s",
			    tokq(s + v0, n - v0, q, sizeof(q)));
		ts = ts * 10 + (uint64_t)(s[i] - '0');
	}
	if (!neg && ts > INT64_MAX)
		return perr(p, e, "invalid timestamp %s", tokq(s + v0, n - v0, q, sizeof(q)));
	out->t = neg ? (int64_t)(0 - ts) : (int64_t)ts;
	return 1;
}
