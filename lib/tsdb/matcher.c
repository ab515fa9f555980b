#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "lib/base/xmalloc.h"
#include "lib/tsdb/encoding.h"
#include "lib/tsdb/matcher.h"

/*
 * Regexes are Go RE2 syntax (Prometheus compiles "^(?:" + re + ")$" with
 * Go's regexp, and parses re alone first, so re must be balanced on its
 * own). PCRE2 runs them after a translation that keeps Go's meaning:
 *
 * - constructs RE2 does not have are rejected, as Go rejects them:
 *   backreferences, lookaround, atomic and possessive forms, \K \G \Z \R
 *   \h \e ..., (?<name>, (?x) and other non-RE2 flags, nested repetition
 *   like a** or a{2}{3}, repeat counts above 1000;
 * - escapes whose meaning differs are rewritten: \v is U+000B (not a
 *   class), \s and \S use Go's set [\t\n\f\r ] (PCRE's adds \v), octal
 *   \ooo becomes \x{..} (never a backreference); \d \D \w \W become
 *   explicit ASCII classes, because PCRE2 10.42's JIT with
 *   PCRE2_MATCH_INVALID_UTF fails to match non-ASCII characters with \D
 *   and \W;
 * - an assertion under a repetition (^*, \b+) is wrapped in (?:...), which
 *   Go allows and PCRE only accepts in a group;
 * - $ is end of text only (PCRE2_DOLLAR_ENDONLY), newline is LF, (?m)^
 *   also matches after a final newline (PCRE2_ALT_CIRCUMFLEX); \d \w \s
 *   \b stay ASCII as in Go (no PCRE2_UCP).
 *
 * Known difference: a subject that is not valid UTF-8 is matched with
 * PCRE2_MATCH_INVALID_UTF, where no pattern character matches the bad
 * bytes; Go reads each bad byte as U+FFFD. Label values written by
 * Prometheus are valid UTF-8.
 */

struct retr {
	const uint8_t	*p;
	size_t		 n;
	size_t		 i;
	struct buf	*out;
	struct err	*e;
	const char	*why;
};

static size_t	utf8_width(const uint8_t *, size_t, uint32_t *);
static int	re_fail(struct retr *, const char *);
static void	re_put(struct retr *, const char *);
static int	re_escape(struct retr *, int);
static int	re_class(struct retr *);
static int	re_group(struct retr *);
static int	re_repeat(struct retr *);
static int	re_translate(const char *, size_t, struct buf *, int *, struct err *);
static int	sel_skip(const char *, size_t *);
static int	sel_string(const char *, size_t *, struct buf *, struct err *);
static int	sel_escape(const char *, size_t *, int, struct buf *, struct err *);
static void	put_utf8(struct buf *, uint32_t);

/* Width of the UTF-8 sequence at p (Go's rules), 0 if invalid. */
static size_t
utf8_width(const uint8_t *p, size_t n, uint32_t *r)
{
	uint8_t c = p[0], lo = 0x80, hi = 0xbf;
	size_t need;
	uint32_t v;

	if (c < 0x80) {
		*r = c;
		return 1;
	}
	if (c < 0xc2 || c > 0xf4)
		return 0;
	need = c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3;
	v = c & (need == 1 ? 0x1f : need == 2 ? 0x0f : 0x07);
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (n < need + 1 || p[1] < lo || p[1] > hi)
		return 0;
	v = v << 6 | (p[1] & 0x3f);
	for (size_t k = 2; k <= need; k++) {
		if (p[k] < 0x80 || p[k] > 0xbf)
			return 0;
		v = v << 6 | (p[k] & 0x3f);
	}
	*r = v;
	return need + 1;
}

static void
put_utf8(struct buf *b, uint32_t r)
{
	uint8_t u[4];
	size_t n;

	if (r < 0x80) {
		u[0] = (uint8_t)r;
		n = 1;
	} else if (r < 0x800) {
		u[0] = (uint8_t)(0xc0 | r >> 6);
		u[1] = (uint8_t)(0x80 | (r & 0x3f));
		n = 2;
	} else if (r < 0x10000) {
		u[0] = (uint8_t)(0xe0 | r >> 12);
		u[1] = (uint8_t)(0x80 | (r >> 6 & 0x3f));
		u[2] = (uint8_t)(0x80 | (r & 0x3f));
		n = 3;
	} else {
		u[0] = (uint8_t)(0xf0 | r >> 18);
		u[1] = (uint8_t)(0x80 | (r >> 12 & 0x3f));
		u[2] = (uint8_t)(0x80 | (r >> 6 & 0x3f));
		u[3] = (uint8_t)(0x80 | (r & 0x3f));
		n = 4;
	}
	buf_put_bytes(b, u, n);
}

static int
re_fail(struct retr *t, const char *why)
{
	t->why = why;
	return -1;
}

static void
re_put(struct retr *t, const char *s)
{
	buf_put_bytes(t->out, s, strlen(s));
}

/* An escape at p[i] == '\\', inside a [class] or not. */
static int
re_escape(struct retr *t, int in_class)
{
	char tmp[32];
	uint32_t v;
	int c;

	if (t->i + 1 >= t->n)
		return re_fail(t, "trailing backslash at end of expression");
	c = t->p[t->i + 1];
	t->i += 2;
	switch (c) {
	case 'a': case 'f': case 'n': case 'r': case 't':
		snprintf(tmp, sizeof(tmp), "\\%c", c);
		re_put(t, tmp);
		return 0;
	case 'd':
		re_put(t, in_class ? "0-9" : "[0-9]");
		return 0;
	case 'D':
		re_put(t, in_class ? "\\x{0}-\\x{2f}\\x{3a}-\\x{10ffff}" : "[^0-9]");
		return 0;
	case 'w':
		re_put(t, in_class ? "0-9A-Za-z_" : "[0-9A-Za-z_]");
		return 0;
	case 'W':
		re_put(t, in_class ? "\\x{0}-\\x{2f}\\x{3a}-\\x{40}\\x{5b}-\\x{5e}"
		    "\\x{60}\\x{7b}-\\x{10ffff}" : "[^0-9A-Za-z_]");
		return 0;
	case 'v':
		re_put(t, "\\x{b}");
		return 0;
	case 's':
		re_put(t, in_class ? "\\t\\n\\f\\r " : "[\\t\\n\\f\\r ]");
		return 0;
	case 'S':
		re_put(t, in_class ? "\\x{0}-\\x{8}\\x{b}\\x{e}-\\x{1f}\\x{21}-\\x{10ffff}" :
		    "[^\\t\\n\\f\\r ]");
		return 0;
	case '1': case '2': case '3': case '4': case '5': case '6': case '7':
		/* A lone \1..\7 would be a backreference, which RE2 lacks. */
		if (t->i >= t->n || t->p[t->i] < '0' || t->p[t->i] > '7')
			return re_fail(t, "invalid escape sequence (backreference)");
		/* FALLTHROUGH */
	case '0':
		v = (uint32_t)(c - '0');
		for (int k = 0; k < 2 && t->i < t->n && t->p[t->i] >= '0' &&
		    t->p[t->i] <= '7'; k++)
			v = v * 8 + (uint32_t)(t->p[t->i++] - '0');
		snprintf(tmp, sizeof(tmp), "\\x{%x}", v);
		re_put(t, tmp);
		return 0;
	case 'x':
		v = 0;
		if (t->i < t->n && t->p[t->i] == '{') {
			size_t nd = 0;

			for (t->i++; t->i < t->n && isxdigit(t->p[t->i]); t->i++, nd++) {
				if (v > 0x10ffff)
					break;
				v = v * 16 + (uint32_t)(isdigit(t->p[t->i]) ?
				    t->p[t->i] - '0' : (tolower(t->p[t->i]) - 'a' + 10));
			}
			if (nd == 0 || v > 0x10ffff || t->i >= t->n || t->p[t->i] != '}')
				return re_fail(t, "invalid escape sequence \\x{...}");
			t->i++;
		} else {
			for (int k = 0; k < 2; k++, t->i++) {
				if (t->i >= t->n || !isxdigit(t->p[t->i]))
					return re_fail(t, "invalid escape sequence \\x");
				v = v * 16 + (uint32_t)(isdigit(t->p[t->i]) ?
				    t->p[t->i] - '0' : (tolower(t->p[t->i]) - 'a' + 10));
			}
		}
		snprintf(tmp, sizeof(tmp), "\\x{%x}", v);
		re_put(t, tmp);
		return 0;
	case 'p': case 'P':
		snprintf(tmp, sizeof(tmp), "\\%c", c);
		re_put(t, tmp);
		if (t->i < t->n && t->p[t->i] == '{') {
			size_t start = t->i;

			while (t->i < t->n && t->p[t->i] != '}')
				t->i++;
			if (t->i >= t->n)
				return re_fail(t, "invalid character class range \\p{");
			t->i++;
			buf_put_bytes(t->out, t->p + start, t->i - start);
			return 0;
		}
		if (t->i >= t->n || !isalpha(t->p[t->i]))
			return re_fail(t, "invalid character class range \\p");
		buf_put_u8(t->out, t->p[t->i++]);
		return 0;
	}
	if (!in_class) {
		switch (c) {
		case 'A': case 'b': case 'B': case 'z':
			snprintf(tmp, sizeof(tmp), "\\%c", c);
			re_put(t, tmp);
			return 0;
		case 'Q': {
			/* Literal text up to \E, the same in both dialects. */
			size_t start = t->i;

			while (t->i < t->n && !(t->p[t->i] == '\\' &&
			    t->i + 1 < t->n && t->p[t->i + 1] == 'E'))
				t->i++;
			/* Unterminated, it would swallow the ")$" Prometheus appends. */
			if (t->i >= t->n)
				return re_fail(t, "missing closing ) after \\Q");
			re_put(t, "\\Q");
			buf_put_bytes(t->out, t->p + start, t->i - start);
			re_put(t, "\\E");
			t->i += 2;
			return 0;
		}
		}
	}
	if (c < 0x80 && !isalnum(c)) {
		buf_put_u8(t->out, '\\');
		buf_put_u8(t->out, (uint8_t)c);
		return 0;
	}
	return re_fail(t, "invalid escape sequence");
}

/* A bracket expression at p[i] == '['. */
static int
re_class(struct retr *t)
{
	static const char *posix[] = {
		"alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph",
		"lower", "print", "punct", "space", "upper", "word", "xdigit",
	};
	int first = 1;

	buf_put_u8(t->out, '[');
	t->i++;
	if (t->i < t->n && t->p[t->i] == '^') {
		buf_put_u8(t->out, '^');
		t->i++;
	}
	for (;;) {
		uint8_t c;

		if (t->i >= t->n)
			return re_fail(t, "missing closing ]");
		c = t->p[t->i];
		if (c == ']' && !first) {
			buf_put_u8(t->out, ']');
			t->i++;
			return 0;
		}
		first = 0;
		if (c == '[' && t->i + 1 < t->n && t->p[t->i + 1] == ':') {
			const uint8_t *end = memmem(t->p + t->i + 2, t->n - t->i - 2, ":]", 2);

			if (end != NULL) {
				const uint8_t *name = t->p + t->i + 2;
				size_t len = (size_t)(end - name), k;

				if (len > 0 && name[0] == '^') {
					name++;
					len--;
				}
				for (k = 0; k < sizeof(posix) / sizeof(posix[0]); k++)
					if (strlen(posix[k]) == len &&
					    memcmp(posix[k], name, len) == 0)
						break;
				if (k == sizeof(posix) / sizeof(posix[0]))
					return re_fail(t, "invalid character class range [:...:]");
				buf_put_bytes(t->out, t->p + t->i, (size_t)(end + 2 - (t->p + t->i)));
				t->i = (size_t)(end + 2 - t->p);
				continue;
			}
		}
		if (c == '\\') {
			if (re_escape(t, 1) == -1)
				return -1;
			continue;
		}
		if (c == '[' || c == ']') {
			buf_put_u8(t->out, '\\');
			buf_put_u8(t->out, c);
		} else
			buf_put_u8(t->out, c);
		t->i++;
	}
}

/* "(?" at p[i]: only RE2's non-capturing groups, flags and (?P<name>. */
static int
re_group(struct retr *t)
{
	size_t j = t->i + 2;
	int neg = 0, flag = 0;

	if (j + 1 < t->n && t->p[j] == 'P' && t->p[j + 1] == '<') {
		size_t start = j + 2;

		for (j = start; j < t->n && (isalnum(t->p[j]) || t->p[j] == '_'); j++)
			;
		if (j == start || j >= t->n || t->p[j] != '>')
			return re_fail(t, "invalid named capture");
		/* Go allows a name twice, PCRE does not; matching needs no names. */
		buf_put_u8(t->out, '(');
		t->i = j + 1;
		return 0;
	}
	for (; j < t->n; j++) {
		uint8_t c = t->p[j];

		if (c == 'i' || c == 'm' || c == 's' || c == 'U') {
			flag = 1;
			continue;
		}
		if (c == '-' && !neg) {
			neg = 1;
			flag = 0;
			continue;
		}
		if ((c == ':' || c == ')') && (!neg || flag)) {
			j++;
			buf_put_bytes(t->out, t->p + t->i, j - t->i);
			t->i = j;
			return 0;
		}
		break;
	}
	return re_fail(t, "invalid or unsupported Perl syntax (?...");
}

/*
 * A {n}, {n,} or {n,m} at p[i]: its length when it is one, 0 when the
 * brace is a literal (as Go takes it: leading zeros make it one), -1 for
 * counts above Go's 1000.
 */
static int
re_repeat(struct retr *t)
{
	size_t j = t->i + 1, nd, hs;
	long lo = 0, hi;

	for (nd = 0; j < t->n && isdigit(t->p[j]); j++, nd++)
		if (lo <= 100000)
			lo = lo * 10 + (t->p[j] - '0');
	if (nd == 0 || (nd > 1 && t->p[t->i + 1] == '0'))
		return 0;
	hi = lo;
	if (j < t->n && t->p[j] == ',') {
		hs = ++j;
		hi = 0;
		for (nd = 0; j < t->n && isdigit(t->p[j]); j++, nd++)
			if (hi <= 100000)
				hi = hi * 10 + (t->p[j] - '0');
		if (nd == 0)
			hi = -1;
		else if (nd > 1 && t->p[hs] == '0')
			return 0;
	}
	if (j >= t->n || t->p[j] != '}')
		return 0;
	if (lo > 1000 || hi > 1000 || (hi >= 0 && lo > hi))
		return re_fail(t, "invalid repeat count");
	return (int)(j + 1 - t->i);
}

/* Translate an RE2 pattern into out; *literal is set when it has no operators but |. */
static int
re_translate(const char *pat, size_t n, struct buf *out, int *literal, struct err *e)
{
	struct retr t = { (const uint8_t *)pat, n, 0, out, e, NULL };
	size_t assert_at = SIZE_MAX, depth = 0;
	int prevq = 0;

	*literal = 1;
	for (size_t k = 0; k < n;) {
		uint32_t r;
		size_t w = utf8_width(t.p + k, n - k, &r);

		if (w == 0)
			return err_set(e, "error parsing regexp: invalid UTF-8");
		if (strchr("\\.+*?()[]{}^$", t.p[k]) != NULL && t.p[k] != '\0')
			*literal = 0;
		k += w;
	}
	re_put(&t, "^(?:");
	while (t.i < n) {
		uint8_t c = t.p[t.i];
		size_t at = out->len;
		int rc = 0;

		if (c == '*' || c == '+' || c == '?' ||
		    (c == '{' && (rc = re_repeat(&t)) != 0)) {
			size_t len = rc > 0 ? (size_t)rc : 1;

			if (rc == -1)
				break;
			if (prevq)
				return err_set(e, "error parsing regexp: invalid nested "
				    "repetition operator in `%.*s`", (int)n, pat);
			if (assert_at != SIZE_MAX) {
				/* Go repeats an assertion as it is; PCRE needs a group. */
				char tmp[8];
				size_t alen = at - assert_at;

				memcpy(tmp, out->p + assert_at, alen);
				out->len = assert_at;
				re_put(&t, "(?:");
				buf_put_bytes(out, tmp, alen);
				buf_put_u8(out, ')');
			}
			buf_put_bytes(out, t.p + t.i, len);
			t.i += len;
			if (t.i < n && t.p[t.i] == '?') {
				buf_put_u8(out, '?');
				t.i++;
			}
			prevq = 1;
			assert_at = SIZE_MAX;
			continue;
		}
		prevq = 0;
		assert_at = SIZE_MAX;
		if (c == '{') {
			re_put(&t, "\\{");
			t.i++;
		} else if (c == '\\') {
			int a = t.i + 1 < n && strchr("AbBz", t.p[t.i + 1]) != NULL &&
			    t.p[t.i + 1] != '\0';

			rc = re_escape(&t, 0);
			if (a)
				assert_at = at;
		} else if (c == '[')
			rc = re_class(&t);
		else if (c == '(') {
			depth++;
			if (t.i + 1 < n && t.p[t.i + 1] == '?') {
				/* (?flags) opens nothing. */
				if ((rc = re_group(&t)) == 0 && out->p[out->len - 1] == ')')
					depth--;
			} else {
				buf_put_u8(out, c);
				t.i++;
			}
		} else if (c == ')') {
			if (depth-- == 0)
				rc = re_fail(&t, "unexpected )");
			buf_put_u8(out, c);
			t.i++;
		} else {
			if (c == '^' || c == '$')
				assert_at = at;
			buf_put_u8(out, c);
			t.i++;
		}
		if (rc == -1)
			break;
	}
	if (t.why == NULL && depth > 0)
		t.why = "missing closing )";
	if (t.why != NULL)
		return err_set(e, "error parsing regexp: %s in `%.*s`", t.why,
		    (int)n, pat);
	re_put(&t, ")$");
	return 0;
}

int
matcher_init(struct matcher *m, enum match_type type, const char *name,
    const char *value, size_t value_len, struct err *e)
{
	pcre2_compile_context *cc;
	struct buf pat = { 0 };
	int literal, code;
	PCRE2_SIZE off;
	pcre2_code *re;

	memset(m, 0, sizeof(*m));
	m->type = type;
	if (type == MATCH_RE || type == MATCH_NRE) {
		if (re_translate(value, value_len, &pat, &literal, e) == -1) {
			buf_free(&pat);
			return -1;
		}
		if (!literal) {
			cc = pcre2_compile_context_create(NULL);
			pcre2_set_newline(cc, PCRE2_NEWLINE_LF);
			re = pcre2_compile(pat.p, pat.len, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF |
			    PCRE2_DOLLAR_ENDONLY | PCRE2_ALT_CIRCUMFLEX |
			    PCRE2_NEVER_BACKSLASH_C, &code, &off, cc);
			pcre2_compile_context_free(cc);
			if (re == NULL) {
				PCRE2_UCHAR msg[256];

				pcre2_get_error_message(code, msg, sizeof(msg));
				err_set(e, "error parsing regexp: %s in `%.*s`", (char *)msg,
				    (int)value_len, value);
				buf_free(&pat);
				return -1;
			}
			/* JIT is an optimisation only: without it the interpreter runs. */
			pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
			m->re = re;
			m->md = pcre2_match_data_create(1, NULL);
		}
		buf_free(&pat);
	}
	m->name = xstrdup(name);
	m->value = xmalloc(value_len + 1);
	if (value_len > 0)
		memcpy(m->value, value, value_len);
	m->value[value_len] = '\0';
	m->value_len = value_len;
	return 0;
}

int
matcher_matches(const struct matcher *m, struct str v)
{
	const char *p, *end, *bar;
	int hit;

	switch (m->type) {
	case MATCH_EQ:
		return v.len == m->value_len &&
		    (v.len == 0 || memcmp(v.p, m->value, v.len) == 0);
	case MATCH_NE:
		return !(v.len == m->value_len &&
		    (v.len == 0 || memcmp(v.p, m->value, v.len) == 0));
	default:
		break;
	}
	if (m->re != NULL)
		hit = pcre2_match(m->re, (PCRE2_SPTR)(v.p != NULL ? v.p : ""), v.len,
		    0, 0, m->md, NULL) >= 0;
	else {
		/* Plain alternatives a|b|c: compare each. */
		hit = 0;
		end = m->value + m->value_len;
		for (p = m->value; !hit; p = bar + 1) {
			if ((bar = memchr(p, '|', (size_t)(end - p))) == NULL)
				bar = end;
			hit = (size_t)(bar - p) == v.len &&
			    (v.len == 0 || memcmp(p, v.p, v.len) == 0);
			if (bar == end)
				break;
		}
	}
	return m->type == MATCH_RE ? hit : !hit;
}

int
matcher_matches_empty(const struct matcher *m)
{
	struct str empty = { "", 0 };

	return matcher_matches(m, empty);
}

void
matcher_free(struct matcher *m)
{
	free(m->name);
	free(m->value);
	if (m->md != NULL)
		pcre2_match_data_free(m->md);
	if (m->re != NULL)
		pcre2_code_free(m->re);
	memset(m, 0, sizeof(*m));
}

void
matchers_free(struct matcher *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		matcher_free(&v[i]);
	free(v);
}

int
matchers_check_nonempty(const struct matcher *v, size_t n, struct err *e)
{
	for (size_t i = 0; i < n; i++)
		if (!matcher_matches_empty(&v[i]))
			return 0;
	return err_set(e, "vector selector must contain at least one non-empty matcher");
}

/*
 * Skip PromQL white space (space, tab, newline, CR) and # comments.
 * Returns the character then at *i (0 at the end).
 */
static int
sel_skip(const char *s, size_t *i)
{
	for (;;) {
		if (s[*i] == ' ' || s[*i] == '\t' || s[*i] == '\n' || s[*i] == '\r')
			(*i)++;
		else if (s[*i] == '#')
			while (s[*i] != '\0' && s[*i] != '\n')
				(*i)++;
		else
			return (unsigned char)s[*i];
	}
}

/* One escape of a '...' or "..." string, at s[*i] == '\\' (PromQL lexer + strutil.Unquote). */
static int
sel_escape(const char *s, size_t *i, int quote, struct buf *out, struct err *e)
{
	static const char named[] = "abfnrtv\\", value[] = "\a\b\f\n\r\t\v\\";
	size_t at = *i + 1;
	int c = (unsigned char)s[*i + 1], nd, base;
	const char *k;
	uint32_t v = 0;

	if (c == '\0')
		return err_set(e, "selector: position %zu: escape sequence not terminated", at);
	*i += 2;
	if (c == quote) {
		buf_put_u8(out, (uint8_t)c);
		return 0;
	}
	if ((k = strchr(named, c)) != NULL) {
		buf_put_u8(out, (uint8_t)value[k - named]);
		return 0;
	}
	if (c >= '0' && c <= '7') {
		nd = 2;
		base = 8;
		v = (uint32_t)(c - '0');
	} else if (c == 'x' || c == 'u' || c == 'U') {
		nd = c == 'x' ? 2 : c == 'u' ? 4 : 8;
		base = 16;
	} else
		return err_set(e, "selector: position %zu: unknown escape sequence \\%c",
		    at, isprint(c) ? c : '?');
	for (; nd > 0; nd--, (*i)++) {
		int d = s[*i];

		if (s[*i] == '\0')
			return err_set(e, "selector: position %zu: escape sequence "
			    "not terminated", at);
		d = isdigit(d) ? d - '0' : isxdigit(d) ? tolower(d) - 'a' + 10 : 99;
		if (d >= base)
			return err_set(e, "selector: position %zu: illegal character "
			    "in escape sequence", *i + 1);
		v = v * (uint32_t)base + (uint32_t)d;
	}
	if (c == 'u' || c == 'U') {
		if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000))
			return err_set(e, "selector: position %zu: escape sequence is "
			    "an invalid Unicode code point", at);
		put_utf8(out, v);
		return 0;
	}
	if (v > 255)
		return err_set(e, "selector: position %zu: escape sequence is an "
		    "invalid Unicode code point", at);
	buf_put_u8(out, (uint8_t)v);
	return 0;
}

/* A PromQL string at s[*i]: "..." or '...' with Go escapes, `...` raw. */
static int
sel_string(const char *s, size_t *i, struct buf *out, struct err *e)
{
	int quote = (unsigned char)s[*i];
	size_t start = *i + 1;

	if (quote != '"' && quote != '\'' && quote != '`')
		return err_set(e, "selector: position %zu: expected string", *i + 1);
	(*i)++;
	for (;;) {
		const uint8_t *p = (const uint8_t *)s + *i;
		uint32_t r;
		size_t w;

		if (*p == '\0' || (*p == '\n' && quote != '`'))
			return err_set(e, "selector: position %zu: unterminated "
			    "quoted string", start);
		if (*p == quote) {
			(*i)++;
			return 0;
		}
		if (*p == '\\' && quote != '`') {
			if (sel_escape(s, i, quote, out, e) == -1)
				return -1;
			continue;
		}
		/* The lexer rejects U+FFFD itself too: it cannot tell it from a bad byte. */
		w = utf8_width(p, strlen((const char *)p), &r);
		if (w == 0 || r == 0xfffd)
			return err_set(e, "selector: position %zu: invalid UTF-8 rune",
			    *i + 1);
		buf_put_bytes(out, p, w);
		*i += w;
	}
}

int
selector_parse(const char *s, struct matcher **out, size_t *n, struct err *e)
{
	static const char *badkw[] = {
		"on", "ignoring", "group_left", "group_right", "bool", "atan2",
		"inf", "nan",
	};
	struct matcher *v = NULL;
	struct buf val = { 0 };
	size_t i = 0, nv = 0, name_at = 0, name_len = 0;
	int c, braces = 0;

	*out = NULL;
	*n = 0;
	c = sel_skip(s, &i);
	if (isalpha(c) || c == '_' || c == ':') {
		name_at = i;
		while (isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == ':')
			i++;
		name_len = i - name_at;
		for (size_t k = 0; k < sizeof(badkw) / sizeof(badkw[0]); k++)
			if (strlen(badkw[k]) == name_len &&
			    strncasecmp(badkw[k], s + name_at, name_len) == 0)
				return err_set(e, "selector: position %zu: unexpected "
				    "\"%.*s\"", name_at + 1, (int)name_len, s + name_at);
		c = sel_skip(s, &i);
	}
	if (c == '{') {
		braces = 1;
		i++;
		for (;;) {
			size_t at, lname;
			enum match_type op;
			const char *lab;

			if ((c = sel_skip(s, &i)) == '}') {
				i++;
				break;
			}
			if (!isalpha(c) && c != '_') {
				err_set(e, "selector: position %zu: expected label name "
				    "or \"}\"", i + 1);
				goto fail;
			}
			lab = s + i;
			for (lname = 0; isalnum((unsigned char)s[i]) || s[i] == '_'; i++)
				lname++;
			c = sel_skip(s, &i);
			at = i;
			if (c == '=' && s[i + 1] == '~')
				op = MATCH_RE;
			else if (c == '=')
				op = MATCH_EQ;
			else if (c == '!' && s[i + 1] == '=')
				op = MATCH_NE;
			else if (c == '!' && s[i + 1] == '~')
				op = MATCH_NRE;
			else {
				err_set(e, "selector: position %zu: expected label "
				    "matching operator", at + 1);
				goto fail;
			}
			i += op == MATCH_EQ ? 1 : 2;
			sel_skip(s, &i);
			at = i;
			buf_reset(&val);
			if (sel_string(s, &i, &val, e) == -1)
				goto fail;
			v = xreallocarray(v, nv + 2, sizeof(*v));
			{
				char *lname_c = xmalloc(lname + 1);
				int rc;

				memcpy(lname_c, lab, lname);
				lname_c[lname] = '\0';
				rc = matcher_init(&v[nv], op, lname_c,
				    val.p != NULL ? (const char *)val.p : "", val.len, e);
				free(lname_c);
				if (rc == -1) {
					err_wrap(e, "selector: position %zu", at + 1);
					goto fail;
				}
			}
			nv++;
			c = sel_skip(s, &i);
			if (c == ',') {
				i++;
				continue;
			}
			if (c == '}') {
				i++;
				break;
			}
			err_set(e, "selector: position %zu: expected \",\" or \"}\"", i + 1);
			goto fail;
		}
	}
	if (sel_skip(s, &i) != '\0') {
		err_set(e, "selector: position %zu: unexpected character", i + 1);
		goto fail;
	}
	if (name_len == 0 && !braces) {
		err_set(e, "selector: position %zu: expected metric name or \"{\"", i + 1);
		goto fail;
	}
	/* Like Prometheus, the name outside the braces becomes the last matcher. */
	if (name_len > 0) {
		v = xreallocarray(v, nv + 1, sizeof(*v));
		matcher_init(&v[nv], MATCH_EQ, "__name__", s + name_at, name_len, NULL);
		nv++;
	}
	buf_free(&val);
	*out = v;
	*n = nv;
	return 0;
fail:
	buf_free(&val);
	matchers_free(v, nv);
	return -1;
}
