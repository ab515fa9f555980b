#include <stdlib.h>
#include <string.h>

#include "lib/tsdb/gofmt.h"
#include "lib/tsdb/textparse.h"
#include "test/unit/unit.h"

/* Appendix A.1 of specs/tsdb-format.md, byte for byte (451 bytes). */
static const char ex_om[] =
    "# TYPE demo gauge\n"
    "demo{path=\"C:\\\\tmp\",msg=\"say \\\"hi\\\"\",city=\"Z\xc3\xbcrich\"} 1 0\n"
    "demo{path=\"C:\\\\tmp\",msg=\"say \\\"hi\\\"\",city=\"Z\xc3\xbcrich\"} 1 15\n"
    "demo{path=\"C:\\\\tmp\",msg=\"say \\\"hi\\\"\",city=\"Z\xc3\xbcrich\"} 2 30\n"
    "demo{path=\"C:\\\\tmp\",msg=\"say \\\"hi\\\"\",city=\"Z\xc3\xbcrich\"} 2.5 46\n"
    "demo{path=\"C:\\\\tmp\",msg=\"say \\\"hi\\\"\",city=\"Z\xc3\xbcrich\"} 2 60\n"
    "demo{path=\"C:\\\\tmp\",msg=\"say \\\"hi\\\"\",city=\"Z\xc3\xbcrich\"} 2 90\n"
    "up 1 0\n"
    "odd NaN 0\n"
    "odd +Inf 1.5\n"
    "odd -Inf 2\n"
    "odd -0 3\n"
    "odd 1e6 4\n"
    "odd 0.000012345 5\n"
    "# EOF\n";

/*
 * Parse a whole input split at '\n' (as block-import feeds it) and render
 * every sample the way promtool tsdb dump prints it, one per line; on an
 * error the result is "ERR <message>". The result is malloc'd.
 */
static char *
render_n(const char *file, const char *in, size_t n)
{
	struct text_parser p;
	struct text_sample s;
	struct buf out = { 0 };
	struct err e;
	size_t off = 0;
	int started = 0, rc = 0;

	while (off < n) {
		const char *nl = memchr(in + off, '\n', n - off);
		size_t len = nl != NULL ? (size_t)(nl - (in + off)) : n - off;

		if (!started) {
			text_parser_init(&p, file, text_detect(in + off, len));
			started = 1;
		}
		p.no_newline = nl == NULL;
		if ((rc = text_parser_line(&p, in + off, len, &s, &e)) == -1)
			break;
		if (rc == 1) {
			char f[GOFMT_FLOAT_MAX], t[32];

			gofmt_labels(&out, &s.labels);
			gofmt_float(f, s.v);
			snprintf(t, sizeof(t), " %lld\n", (long long)s.t);
			buf_put_u8(&out, ' ');
			buf_put_bytes(&out, f, strlen(f));
			buf_put_bytes(&out, t, strlen(t));
		}
		off += len + (nl != NULL);
	}
	if (!started)
		text_parser_init(&p, file, TEXT_OPENMETRICS);
	if (rc != -1)
		rc = text_parser_finish(&p, &e);
	if (rc == -1) {
		buf_reset(&out);
		buf_put_bytes(&out, "ERR ", 4);
		buf_put_bytes(&out, e.msg, strlen(e.msg));
	}
	buf_put_u8(&out, '\0');
	text_parser_free(&p);
	return (char *)out.p;
}

static char *
render(const char *in)
{
	return render_n("in.om", in, strlen(in));
}

#define CHECK_RENDER(in, want) do {					\
	char *got_ = render(in);					\
	CHECK_STR(got_, want);						\
	free(got_);							\
} while (0)

/* The error must start with "in.om:LINE: " and contain what. */
#define CHECK_REJECT(in, line, what) do {				\
	char *got_ = render(in), want_[64];				\
	snprintf(want_, sizeof(want_), "ERR in.om:%d: ", line);		\
	if (strncmp(got_, want_, strlen(want_)) != 0 ||		\
	    strstr(got_, what) == NULL)					\
		unit_fail(__FILE__, __LINE__, "input %s: got \"%s\", want %s...%s", \
		    #in, got_, want_, what);				\
	free(got_);							\
} while (0)

static void
appendix_a_input_gives_promtool_dump(void)
{
	/* §A.4: what promtool tsdb dump prints for this input, in input order. */
	static const char want[] =
	    "{__name__=\"demo\", city=\"Z\xc3\xbcrich\", msg=\"say \\\"hi\\\"\", path=\"C:\\\\tmp\"} 1 0\n"
	    "{__name__=\"demo\", city=\"Z\xc3\xbcrich\", msg=\"say \\\"hi\\\"\", path=\"C:\\\\tmp\"} 1 15000\n"
	    "{__name__=\"demo\", city=\"Z\xc3\xbcrich\", msg=\"say \\\"hi\\\"\", path=\"C:\\\\tmp\"} 2 30000\n"
	    "{__name__=\"demo\", city=\"Z\xc3\xbcrich\", msg=\"say \\\"hi\\\"\", path=\"C:\\\\tmp\"} 2.5 46000\n"
	    "{__name__=\"demo\", city=\"Z\xc3\xbcrich\", msg=\"say \\\"hi\\\"\", path=\"C:\\\\tmp\"} 2 60000\n"
	    "{__name__=\"demo\", city=\"Z\xc3\xbcrich\", msg=\"say \\\"hi\\\"\", path=\"C:\\\\tmp\"} 2 90000\n"
	    "{__name__=\"up\"} 1 0\n"
	    "{__name__=\"odd\"} NaN 0\n"
	    "{__name__=\"odd\"} +Inf 1500\n"
	    "{__name__=\"odd\"} -Inf 2000\n"
	    "{__name__=\"odd\"} -0 3000\n"
	    "{__name__=\"odd\"} 1e+06 4000\n"
	    "{__name__=\"odd\"} 1.2345e-05 5000\n";

	CHECK_INT(strlen(ex_om), 451);
	CHECK_RENDER(ex_om, want);
}

/* The raw values and labels of Appendix A, field by field. */
static void
appendix_a_samples_field_by_field(void)
{
	static const uint64_t want_v[] = {
		0x3ff0000000000000ULL, 0x3ff0000000000000ULL, 0x4000000000000000ULL,
		0x4004000000000000ULL, 0x4000000000000000ULL, 0x4000000000000000ULL,
		0x3ff0000000000000ULL, 0x7ff8000000000001ULL, 0x7ff0000000000000ULL,
		0xfff0000000000000ULL, 0x8000000000000000ULL, 0x412e848000000000ULL,
		0x3ee9e3abe16fc70dULL,
	};
	static const int64_t want_t[] = {
		0, 15000, 30000, 46000, 60000, 90000, 0, 0, 1500, 2000, 3000, 4000, 5000,
	};
	struct text_parser p;
	struct text_sample s;
	struct err e;
	const char *line = ex_om;
	size_t k = 0;

	text_parser_init(&p, "ex.om", TEXT_OPENMETRICS);
	while (*line != '\0') {
		const char *nl = strchr(line, '\n');
		int rc = text_parser_line(&p, line, (size_t)(nl - line), &s, &e);

		CHECK(rc >= 0);
		if (rc == 1 && k < 13) {
			CHECK_U64(s.v, want_v[k]);
			CHECK_INT(s.t, want_t[k]);
			if (k == 0) {
				CHECK_INT(s.labels.n, 4);
				CHECK(str_eq(s.labels.v[0].name, STR_LIT("__name__")));
				CHECK(str_eq(s.labels.v[0].value, STR_LIT("demo")));
				CHECK(str_eq(s.labels.v[1].name, STR_LIT("city")));
				CHECK(str_eq(s.labels.v[1].value, STR_LIT("Z\xc3\xbcrich")));
				CHECK(str_eq(s.labels.v[2].value, STR_LIT("say \"hi\"")));
				CHECK(str_eq(s.labels.v[3].value, STR_LIT("C:\\tmp")));
				CHECK_INT(s.same_series, 0);
			}
			if (k >= 1 && k <= 5) {
				/* Same series text: same labels, flagged. */
				CHECK_INT(s.same_series, 1);
				CHECK(str_eq(s.labels.v[3].value, STR_LIT("C:\\tmp")));
			}
			if (k == 7 || k == 6)
				CHECK_INT(s.same_series, 0);
			k++;
		}
		line = nl + 1;
	}
	CHECK_INT(k, 13);
	CHECK_INT(p.lineno, 15);
	CHECK_INT(text_parser_finish(&p, &e), 0);
	text_parser_free(&p);
}

static void
seconds_become_ms_like_promtool(void)
{
	/* Verified against promtool (§11.1): float multiply, then truncation. */
	CHECK_RENDER("a 1 1.001\n# EOF\n", "{__name__=\"a\"} 1 1000\n");
	CHECK_RENDER("a 1 1.005\n# EOF\n", "{__name__=\"a\"} 1 1004\n");
	CHECK_RENDER("a 1 2000.5\n# EOF\n", "{__name__=\"a\"} 1 2000500\n");
	CHECK_RENDER("a 1 -1e-400\n# EOF\n", "{__name__=\"a\"} 1 0\n");
	CHECK_RENDER("a 1 1.0049\n# EOF\n", "{__name__=\"a\"} 1 1004\n");
	CHECK_RENDER("a 1 -1.5\n# EOF\n", "{__name__=\"a\"} 1 -1500\n");
	CHECK_RENDER("a 1 1700000000.123\n# EOF\n", "{__name__=\"a\"} 1 1700000000123\n");
	CHECK_RENDER("a 1 1e3\n# EOF\n", "{__name__=\"a\"} 1 1000000\n");
	CHECK_RENDER("a 1 .5\n# EOF\n", "{__name__=\"a\"} 1 500\n");
	CHECK_REJECT("a 1 NaN\n# EOF\n", 1, "invalid timestamp");
	CHECK_REJECT("a 1 +Inf\n# EOF\n", 1, "invalid timestamp");
	CHECK_REJECT("a 1\n# EOF\n", 1, "expected timestamp");
	CHECK_REJECT("a 1 0x10\n# EOF\n", 1, "invalid timestamp");
}

static void
float_grammar_is_go_minus_hex(void)
{
	static const struct {
		const char	*s;
		uint64_t	 bits;
	} ok[] = {
		{ "1", 0x3ff0000000000000ULL }, { "+7", 0x401c000000000000ULL },
		{ ".5", 0x3fe0000000000000ULL }, { "5.", 0x4014000000000000ULL },
		{ "-0", 0x8000000000000000ULL }, { "0", 0 },
		{ "1e6", 0x412e848000000000ULL }, { "1E+06", 0x412e848000000000ULL },
		{ "NaN", 0x7ff8000000000001ULL }, { "nan", 0x7ff8000000000001ULL },
		{ "nAn", 0x7ff8000000000001ULL }, { "Inf", 0x7ff0000000000000ULL },
		{ "+inf", 0x7ff0000000000000ULL }, { "-INF", 0xfff0000000000000ULL },
		{ "Infinity", 0x7ff0000000000000ULL }, { "-infinity", 0xfff0000000000000ULL },
		{ "1e-400", 0 }, { "-1e-400", 0x8000000000000000ULL },
		{ "0e999999", 0 }, { "4.9e-324", 1 }, { "000012", 0x4028000000000000ULL },
		{ "1.7976931348623157e308", 0x7fefffffffffffffULL },
		{ "0.1", 0x3fb999999999999aULL }, { "0.000012345", 0x3ee9e3abe16fc70dULL },
		{ "123456789012345678901234567890", 0x45f8ee90ff6c373eULL },
		{ "9007199254740993", 0x4340000000000000ULL },	/* ties to even */
		{ "2.5e-3", 0x3f647ae147ae147bULL },
	};
	static const char *const bad[] = {
		"", "+", "-", ".", "e5", "1e", "1e+", "1.2.3", "0x10", "0x1p3", "1p3",
		"1_0", "+nan", "-NaN", "infinit", "infinityy", "nana", "1e400", "-1e400",
		"1.7976931348623159e308", " 1", "1 ", "1,5", "١",
	};
	uint64_t bits;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		bits = 0xdeadbeef;
		if (text_parse_float(ok[i].s, strlen(ok[i].s), &bits) != 0)
			unit_fail(__FILE__, __LINE__, "\"%s\" rejected", ok[i].s);
		else if (bits != ok[i].bits)
			unit_fail(__FILE__, __LINE__, "\"%s\" = 0x%016llx, want 0x%016llx",
			    ok[i].s, (unsigned long long)bits,
			    (unsigned long long)ok[i].bits);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (text_parse_float(bad[i], strlen(bad[i]), &bits) != -1)
			unit_fail(__FILE__, __LINE__, "\"%s\" accepted", bad[i]);
}

/*
 * Decimal strings of 1 to 22 digits with a point and an exponent anywhere:
 * the fast paths must round exactly as glibc's strtod (correctly rounded).
 */
static void
float_fast_paths_round_like_strtod(void)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	int bad = 0;

	for (int i = 0; i < 300000 && bad < 10; i++) {
		char str[64];
		size_t n = 0;
		int nd, dot;
		uint64_t bits, want;
		double d;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		nd = 1 + (int)(x % 22);
		dot = (int)((x >> 8) % (uint64_t)(nd + 2));
		if ((x >> 16) & 1)
			str[n++] = '-';
		for (int k = 0; k < nd; k++) {
			if (k == dot)
				str[n++] = '.';
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			str[n++] = (char)('0' + x % 10);
		}
		if ((x >> 20) % 3 == 0)
			n += (size_t)snprintf(str + n, sizeof(str) - n, "e%d",
			    (int)((x >> 24) % 61) - 30);
		str[n] = '\0';
		if (text_parse_float(str, n, &bits) != 0) {
			unit_fail(__FILE__, __LINE__, "\"%s\" rejected", str);
			bad++;
			continue;
		}
		d = strtod(str, NULL);
		memcpy(&want, &d, sizeof(want));
		if (bits != want) {
			unit_fail(__FILE__, __LINE__, "\"%s\" = 0x%016llx, strtod 0x%016llx",
			    str, (unsigned long long)bits, (unsigned long long)want);
			bad++;
		}
	}
}

static void
label_values_unescape_only_quote_backslash_newline(void)
{
	CHECK_RENDER("a{b=\"x\\ty\"} 1 1\n# EOF\n", "{__name__=\"a\", b=\"x\\\\ty\"} 1 1000\n");
	CHECK_RENDER("a{b=\"l\\nm\"} 1 1\n# EOF\n", "{__name__=\"a\", b=\"l\\nm\"} 1 1000\n");
	CHECK_RENDER("a{b=\"\\\\\\\"\"} 1 1\n# EOF\n", "{__name__=\"a\", b=\"\\\\\\\"\"} 1 1000\n");
	/* A raw tab and control byte stay; the value must be UTF-8. */
	CHECK_RENDER("a{b=\"\t\x01\"} 1 1\n# EOF\n", "{__name__=\"a\", b=\"\\t\\x01\"} 1 1000\n");
	CHECK_REJECT("a{b=\"\xff\"} 1 1\n# EOF\n", 1, "invalid UTF-8 label value");
	CHECK_REJECT("a{b=\"\xed\xa0\x80\"} 1 1\n# EOF\n", 1, "invalid UTF-8");
	/* Empty values are dropped; then a repeated name is no repeat. */
	CHECK_RENDER("a{b=\"\",c=\"1\"} 1 1\n# EOF\n", "{__name__=\"a\", c=\"1\"} 1 1000\n");
	CHECK_RENDER("a{b=\"\",b=\"2\"} 1 1\n# EOF\n", "{__name__=\"a\", b=\"2\"} 1 1000\n");
	CHECK_RENDER("a{} 1 1\n# EOF\n", "{__name__=\"a\"} 1 1000\n");
	CHECK_RENDER("a{__name__=\"\"} 1 1\n# EOF\n", "{__name__=\"a\"} 1 1000\n");
	/* Sorted by name, bytewise: upper case before "__name__". */
	CHECK_RENDER("m{z=\"1\",Host=\"x\",a=\"2\"} 1 1\n# EOF\n",
	    "{Host=\"x\", __name__=\"m\", a=\"2\", z=\"1\"} 1 1000\n");
}

static void
repeated_label_name_is_an_error(void)
{
	CHECK_REJECT("a{b=\"1\",b=\"2\"} 1 1\n# EOF\n", 1, "label name \"b\" is not unique");
	CHECK_REJECT("# HELP a x\na{__name__=\"x\"} 1 1\n# EOF\n", 2,
	    "label name \"__name__\" is not unique");
}

static void
openmetrics_syntax_accepted(void)
{
	CHECK_RENDER("# HELP a some text\n# HELP a \n# TYPE a counter\n# UNIT a_seconds seconds\n"
	    "# UNIT a \na 1 1\n# EOF", "{__name__=\"a\"} 1 1000\n");
	/* Exemplars on _total and _bucket are checked and dropped. */
	CHECK_RENDER("x_total 1 1 # {t=\"x\"} 1 5\nx_bucket{le=\"1\"} 2 2 # {} 1\n# EOF\n",
	    "{__name__=\"x_total\"} 1 1000\n{__name__=\"x_bucket\", le=\"1\"} 2 2000\n");
	CHECK_RENDER("a:b_c 1 1\n_x 2 2\n# EOF\n",
	    "{__name__=\"a:b_c\"} 1 1000\n{__name__=\"_x\"} 2 2000\n");
	/* Empty input file with just # EOF: no samples, fine. */
	CHECK_RENDER("# EOF\n", "");
	CHECK_RENDER("# EOF", "");
}

static void
openmetrics_syntax_rejected(void)
{
	CHECK_REJECT("", 1, "data does not end with # EOF");
	CHECK_REJECT("a 1 1\n", 1, "data does not end with # EOF");
	CHECK_REJECT("a 1 1\n# EOF\n\n", 3, "unexpected data after # EOF");
	CHECK_REJECT("a 1 1\n# EOF\na 1 2\n", 3, "unexpected data after # EOF");
	CHECK_REJECT("# EOF \n", 1, "unexpected data after # EOF");
	CHECK_REJECT("\na 1 1\n# EOF\n", 1, "empty line");
	CHECK_REJECT("a 1 1\n\n# EOF\n", 2, "empty line");
	CHECK_REJECT("# hello\n# EOF\n", 1, "expected \"# HELP\"");
	CHECK_REJECT("#HELP a x\n# EOF\n", 1, "expected \"# HELP\"");
	CHECK_REJECT("# HELP a\n# EOF\n", 1, "expected text in HELP");
	CHECK_REJECT("# HELP 1a x\n# EOF\n", 1, "expected metric name after HELP");
	CHECK_REJECT("# HELP a \xff\n# EOF\n", 1, "help text is not a valid utf8");
	CHECK_REJECT("# TYPE a foo\n# EOF\n", 1, "invalid metric type \"foo\"");
	CHECK_REJECT("# TYPE a  gauge\n# EOF\n", 1, "invalid metric type");
	CHECK_REJECT("# UNIT a_seconds s\n# EOF\n", 1, "unit not a suffix of metric \"a_seconds\"");
	CHECK_REJECT("# UNIT seconds seconds\n# EOF\n", 1, "unit not a suffix");
	CHECK_REJECT("a 1 1\r\n# EOF\n", 1, "invalid timestamp");
	CHECK_REJECT("a\t1 1\n# EOF\n", 1, "expected value after metric");
	CHECK_REJECT("a  1 1\n# EOF\n", 1, "expected value after metric");
	CHECK_REJECT("a 1  1\n# EOF\n", 1, "expected timestamp or # symbol");
	CHECK_REJECT("a 1 1 \n# EOF\n", 1, "expected next entry after timestamp");
	CHECK_REJECT("a 1 1 2\n# EOF\n", 1, "expected next entry after timestamp");
	CHECK_REJECT("a x 1\n# EOF\n", 1, "invalid value \"x\"");
	CHECK_REJECT("a 1e400 1\n# EOF\n", 1, "invalid value");
	CHECK_REJECT("a 0x1p3 1\n# EOF\n", 1, "invalid value");
	CHECK_REJECT("1a 1 1\n# EOF\n", 1, "unexpected character");
	CHECK_REJECT("a{b=\"1\",} 1 1\n# EOF\n", 1, "expected label name");
	CHECK_REJECT("a{,b=\"1\"} 1 1\n# EOF\n", 1, "expected label name or left brace");
	CHECK_REJECT("a{b=\"1\" c=\"2\"} 1 1\n# EOF\n", 1, "expected comma");
	CHECK_REJECT("a{b=\"1\"c=\"2\"} 1 1\n# EOF\n", 1, "expected comma");
	CHECK_REJECT("a{b=1} 1 1\n# EOF\n", 1, "expected label value");
	CHECK_REJECT("a{b} 1 1\n# EOF\n", 1, "expected equal");
	CHECK_REJECT("a{b=\"1} 1 1\n# EOF\n", 1, "expected label value");
	CHECK_REJECT("a{b=\"1\\\"} 1 1\n# EOF\n", 1, "expected label value");
	CHECK_REJECT("a{b=\"1\"}{c=\"2\"} 1 1\n# EOF\n", 1, "expected value after metric");
	CHECK_REJECT("a{1b=\"1\"} 1 1\n# EOF\n", 1, "expected label name or left brace");
	CHECK_REJECT("a 1 1 # {t=\"x\"} 1\n# EOF\n", 1, "does not support exemplars");
	CHECK_REJECT("a_total 1 # {t=\"x\"} 1\n# EOF\n", 1, "expected timestamp");
	CHECK_REJECT("a_total 1 1 # {t=\"x\"}\n# EOF\n", 1, "expected value after exemplar labels");
	CHECK_REJECT("a_total 1 1 # {t=\"x\"} 1 NaN\n# EOF\n", 1, "invalid exemplar timestamp");
	CHECK_REJECT("a_total 1 1 # {t=\"x\"} 1 1 1\n# EOF\n", 1, "expected end of line");
	CHECK_REJECT("a_total 1 1 # {t=\"\xff\"} 1\n# EOF\n", 1, "invalid UTF-8");
	CHECK_REJECT("a_total 1 1 # x\n# EOF\n", 1, "expected next entry after timestamp");
}

/* The NUL quirks of the generated lexer (module comment of textparse.c). */
static void
openmetrics_nul_bytes_like_the_go_lexer(void)
{
	static const char after_help[] = "# HELP a x\n\0\0a 1 1\n# EOF\n";
	static const char after_type[] = "# TYPE a gauge\n\0a 1 1\n# EOF\n";
	static const char after_quote[] = "a{b=\"x\"\0} 1 1\n# EOF\n";
	static const char after_eof[] = "a 1 1\n# EOF\n\0\0";
	static const char after_eof_nl[] = "a 1 1\n# EOF\n\0\n";
	static const char in_keyword[] = "# HE\0LP a x\n# E\0OF\0";
	static const char in_name[] = "a\0 1 1\n# EOF\n";
	static const char in_value[] = "a{b=\"x\0y\"} 1 1\n# EOF\n";
	char *got;

	got = render_n("in.om", after_help, sizeof(after_help) - 1);
	CHECK_STR(got, "{__name__=\"a\"} 1 1000\n");
	free(got);
	got = render_n("in.om", after_type, sizeof(after_type) - 1);
	CHECK(strncmp(got, "ERR in.om:2: ", 13) == 0);
	free(got);
	/* The NUL after the closing quote is swallowed into the value. */
	got = render_n("in.om", after_quote, sizeof(after_quote) - 1);
	CHECK_STR(got, "{__name__=\"a\", b=\"x\\\"\"} 1 1000\n");
	free(got);
	got = render_n("in.om", after_eof, sizeof(after_eof) - 1);
	CHECK_STR(got, "{__name__=\"a\"} 1 1000\n");
	free(got);
	got = render_n("in.om", after_eof_nl, sizeof(after_eof_nl) - 1);
	CHECK_STR(got, "ERR in.om:3: unexpected data after # EOF");
	free(got);
	got = render_n("in.om", in_keyword, sizeof(in_keyword) - 1);
	CHECK_STR(got, "");
	free(got);
	/* NUL bytes inside a label value are data. */
	got = render_n("in.om", in_value, sizeof(in_value) - 1);
	CHECK_STR(got, "{__name__=\"a\", b=\"x\\x00y\"} 1 1000\n");
	free(got);
	got = render_n("in.om", in_name, sizeof(in_name) - 1);
	CHECK(strncmp(got, "ERR in.om:1: expected value", 27) == 0);
	free(got);
}

static void
dump_format_lines(void)
{
	/* What promtool tsdb dump prints (§10.1), read back. */
	CHECK_RENDER(
	    "{__name__=\"demo\", city=\"Z\xc3\xbcrich\", msg=\"say \\\"hi\\\"\", path=\"C:\\\\tmp\"} 2.5 46000\n"
	    "{__name__=\"odd\"} +Inf 1500\n"
	    "{__name__=\"odd\"} -Inf -1500\n"
	    "{__name__=\"odd\"} NaN 0\n"
	    "{__name__=\"odd\"} -0 9223372036854775807\n"
	    "{__name__=\"odd\"} 1e+06 -9223372036854775808\n",
	    "{__name__=\"demo\", city=\"Z\xc3\xbcrich\", msg=\"say \\\"hi\\\"\", path=\"C:\\\\tmp\"} 2.5 46000\n"
	    "{__name__=\"odd\"} +Inf 1500\n"
	    "{__name__=\"odd\"} -Inf -1500\n"
	    "{__name__=\"odd\"} NaN 0\n"
	    "{__name__=\"odd\"} -0 9223372036854775807\n"
	    "{__name__=\"odd\"} 1e+06 -9223372036854775808\n");
	/* Go escapes: \t, \x01, \u00a0, \x7f, invalid UTF-8 as \xff, emoji raw. */
	CHECK_RENDER(
	    "{__name__=\"e\", a=\"tab\\there\", b=\"ctl\\x01x\", c=\"nb\\u00a0sp\", d=\"del\\x7f\", e=\"emoji\xf0\x9f\x98\x80\", f=\"bad\\xff\"} 1 1\n",
	    "{__name__=\"e\", a=\"tab\\there\", b=\"ctl\\x01x\", c=\"nb\\u00a0sp\", d=\"del\\x7f\", e=\"emoji\xf0\x9f\x98\x80\", f=\"bad\\xff\"} 1 1\n");
	/* Unsorted input is sorted; a label without the space after ',' is fine. */
	CHECK_RENDER("{b=\"2\",a=\"1\"} 3 4\n", "{a=\"1\", b=\"2\"} 3 4\n");
	CHECK_REJECT("{a=\"1\", a=\"2\"} 3 4\n", 1, "label name \"a\" is not unique");
	CHECK_REJECT("{} 3 4\n", 1, "empty label set");
	CHECK_REJECT("{a=\"\"} 3 4\n", 1, "empty label set");
	CHECK_REJECT("{a=\"1\"} 3 4.5\n", 1, "invalid timestamp");
	CHECK_REJECT("{a=\"1\"} 3 9223372036854775808\n", 1, "invalid timestamp");
	CHECK_REJECT("{a=\"1\"} 3\n", 1, "expected timestamp");
	CHECK_REJECT("{a=\"1\"} x 3\n", 1, "invalid value");
	CHECK_REJECT("{a=\"1\"} 1 1\na 1 1\n", 2, "expected '{'");
	CHECK_REJECT("{a=\"1\\q\"} 1 1\n", 1, "invalid quoted label value");
	CHECK_REJECT("{a=\"1} 1 1\n", 1, "unterminated label value");
	CHECK_REJECT("{a=\"1\" b=\"2\"} 1 1\n", 1, "expected ',' or '}'");
}

/* The stale marker's bits cannot survive the dump text: every NaN reads back as Go's NaN. */
static void
dump_nan_reads_as_go_nan(void)
{
	struct text_parser p;
	struct text_sample s;
	struct err e;
	static const char line[] = "{a=\"1\"} NaN 5";

	text_parser_init(&p, "-", TEXT_DUMP);
	CHECK_INT(text_parser_line(&p, line, sizeof(line) - 1, &s, &e), 1);
	CHECK_U64(s.v, 0x7ff8000000000001ULL);
	CHECK_INT(s.t, 5);
	CHECK_INT(s.same_series, 0);
	CHECK_INT(text_parser_line(&p, line, sizeof(line) - 1, &s, &e), 1);
	CHECK_INT(s.same_series, 1);
	CHECK_INT(s.labels.n, 1);
	CHECK(str_eq(s.labels.v[0].value, STR_LIT("1")));
	CHECK_INT(text_parser_finish(&p, &e), 0);
	text_parser_free(&p);
}

/* Labels of a reused series stay valid although the line that made them is gone. */
static void
same_series_survives_the_line_buffer(void)
{
	struct text_parser p;
	struct text_sample s;
	struct err e;
	char line[64];

	text_parser_init(&p, "x", TEXT_OPENMETRICS);
	strcpy(line, "m{a=\"x\\\\y\",b=\"plain\"} 1 1");
	CHECK_INT(text_parser_line(&p, line, strlen(line), &s, &e), 1);
	CHECK_INT(s.same_series, 0);
	memset(line, 'Q', sizeof(line));
	strcpy(line, "m{a=\"x\\\\y\",b=\"plain\"} 2 2");
	CHECK_INT(text_parser_line(&p, line, strlen(line), &s, &e), 1);
	memset(line, 'Q', sizeof(line));
	CHECK_INT(s.same_series, 1);
	CHECK_INT(s.labels.n, 3);
	CHECK(str_eq(s.labels.v[0].value, STR_LIT("m")));
	CHECK(str_eq(s.labels.v[1].value, STR_LIT("x\\y")));
	CHECK(str_eq(s.labels.v[2].value, STR_LIT("plain")));
	CHECK_INT(s.t, 2000);
	/* A different series after an error is parsed afresh. */
	strcpy(line, "m{a=\"1\",a=\"2\"} 1 1");
	CHECK_INT(text_parser_line(&p, line, strlen(line), &s, &e), -1);
	CHECK_STR(e.msg, "x:3: label name \"a\" is not unique");
	strcpy(line, "m{a=\"x\\\\y\",b=\"plain\"} 3 3");
	CHECK_INT(text_parser_line(&p, line, strlen(line), &s, &e), 1);
	CHECK_INT(s.same_series, 0);
	CHECK(str_eq(s.labels.v[1].value, STR_LIT("x\\y")));
	text_parser_free(&p);
}

static void
format_detection(void)
{
	CHECK_INT(text_detect("{a=\"b\"} 1 2", 11), TEXT_DUMP);
	CHECK_INT(text_detect("# TYPE a gauge", 14), TEXT_OPENMETRICS);
	CHECK_INT(text_detect("a 1 2", 5), TEXT_OPENMETRICS);
	CHECK_INT(text_detect("", 0), TEXT_OPENMETRICS);
}

UNIT_CASES(
	UNIT_CASE(appendix_a_input_gives_promtool_dump),
	UNIT_CASE(appendix_a_samples_field_by_field),
	UNIT_CASE(seconds_become_ms_like_promtool),
	UNIT_CASE(float_grammar_is_go_minus_hex),
	UNIT_CASE(float_fast_paths_round_like_strtod),
	UNIT_CASE(label_values_unescape_only_quote_backslash_newline),
	UNIT_CASE(repeated_label_name_is_an_error),
	UNIT_CASE(openmetrics_syntax_accepted),
	UNIT_CASE(openmetrics_syntax_rejected),
	UNIT_CASE(openmetrics_nul_bytes_like_the_go_lexer),
	UNIT_CASE(dump_format_lines),
	UNIT_CASE(dump_nan_reads_as_go_nan),
	UNIT_CASE(same_series_survives_the_line_buffer),
	UNIT_CASE(format_detection),
);
