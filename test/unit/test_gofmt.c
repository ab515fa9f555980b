#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/tsdb/gofmt.h"
#include "test/unit/unit.h"

/*
 * Value bits and what `promtool tsdb dump` (2.42) printed for them, from
 * one OpenMetrics series holding these values (create-blocks-from
 * openmetrics, then dump). Powers of two whose shortest form has 16
 * digits (the asymmetric rounding interval), subnormals, the extremes,
 * integers around 1e6 and 1e21, random bit patterns. The formatter was
 * also checked off-line against Go 1.19's fmt %g on 6 million values.
 */
static const struct {
	uint64_t	 bits;
	const char	*want;
} promtool_floats[] = {
	{ 0x0000000000000001ULL, "5e-324" }, { 0x0000000000000002ULL, "1e-323" },
	{ 0x000fffffffffffffULL, "2.225073858507201e-308" }, { 0x0010000000000000ULL, "2.2250738585072014e-308" },
	{ 0x7fefffffffffffffULL, "1.7976931348623157e+308" }, { 0x4ab0000000000000ULL, "5.986310706507379e+51" },
	{ 0x4b50000000000000ULL, "6.129982163463556e+54" }, { 0x5120000000000000ULL, "6.070840288205404e+82" },
	{ 0x3fd3333333333334ULL, "0.30000000000000004" }, { 0x3fb999999999999aULL, "0.1" },
	{ 0x444b1ae4d6e2ef50ULL, "1e+21" }, { 0x4415af1d78b58c40ULL, "1e+20" },
	{ 0x40fe240000000000ULL, "123456" }, { 0x4132d68700000000ULL, "1.234567e+06" },
	{ 0x3f1a36e2eb1c432dULL, "0.0001" }, { 0x3ee4f8b588e368f1ULL, "1e-05" },
	{ 0x40f86a0000000000ULL, "100000" }, { 0x412e847e00000000ULL, "999999" },
	{ 0x412e848000000000ULL, "1e+06" }, { 0xc05edd2f1a9fbe77ULL, "-123.456" },
	{ 0x43e56a95319d63e1ULL, "1.2345678901234567e+19" }, { 0x8000000000000000ULL, "-0" },
	{ 0x0000000000000000ULL, "0" }, { 0x7ff0000000000000ULL, "+Inf" },
	{ 0xfff0000000000000ULL, "-Inf" }, { 0x7ff8000000000001ULL, "NaN" },
	{ 0x4330000000000000ULL, "4.503599627370496e+15" }, { 0x4340000000000000ULL, "9.007199254740992e+15" },
	{ 0x433fffffffffffffULL, "9.007199254740991e+15" }, { 0x3ff0000000000001ULL, "1.0000000000000002" },
	{ 0x3fefffffffffffffULL, "0.9999999999999999" }, { 0x400921fb54442d18ULL, "3.141592653589793" },
	{ 0x4005bf0a8b145769ULL, "2.718281828459045" }, { 0x3e112e0be826d695ULL, "1e-09" },
	{ 0x3eb0c6f7a0b5ed8dULL, "1e-06" }, { 0x3ee4f8b588e368f0ULL, "9.999999999999999e-06" },
	{ 0x3f50624dd2f1a9fcULL, "0.001" }, { 0x41cdcd6500000000ULL, "1e+09" },
	{ 0x42d6bcc41e900000ULL, "1e+14" }, { 0x4480000000000000ULL, "9.44473296573929e+21" },
	{ 0xbfe0000000000000ULL, "-0.5" }, { 0x408f400000000000ULL, "1000" },
	{ 0x4197d78400000000ULL, "1e+08" }, { 0x3c9cd2b297d889bcULL, "1e-16" },
	{ 0x0008000000000000ULL, "1.1125369292536007e-308" }, { 0x00000000000003e8ULL, "4.94e-321" },
	{ 0x4202a05f20000000ULL, "1e+10" }, { 0x4059000000000000ULL, "100" },
	{ 0xc0c3880000000000ULL, "-10000" }, { 0x3fa47ae147ae147bULL, "0.04" },
	{ 0xf2a74de452e6b438ULL, "-1.989032661366619e+244" }, { 0x6513270e269e0d37ULL, "7.761117632285041e+178" },
	{ 0x0c5c7fd0a6a3a450ULL, "3.980498358697587e-249" }, { 0xd23f0824128b2f33ULL, "-1.5432835417340557e+88" },
	{ 0x1818e811892f902bULL, "1.3647584518757569e-192" }, { 0x9531985d5d9dc9f8ULL, "-1.3701135617873088e-206" },
	{ 0xe8e25d940ed90475ULL, "-1.7160537630466207e+197" }, { 0x36f675cc81e74ef5ULL, "6.294675241195386e-44" },
	{ 0x1600a35a099950d8ULL, "1.0613447212142254e-202" }, { 0x6b0d549b6f03675aULL, "4.708325160387546e+207" },
	{ 0x3d9c172411e20b8fULL, "6.387016158513563e-12" }, { 0x8d116ece1738f7d9ULL, "-9.973130378568733e-246" },
	{ 0x0f21ddb66cad4a26ULL, "8.779753225680271e-236" }, { 0x90c192cfd3ac94afULL, "-5.795503248498993e-228" },
	{ 0xf28c105d1fb17c23ULL, "-5.988180159386011e+243" }, { 0xa170b33839263059ULL, "-1.306052388527796e-147" },
	{ 0x953f48f1a09f76b5ULL, "-2.436117699484841e-206" }, { 0x0fd630f1f29d0da9ULL, "2.233386999150174e-232" },
	{ 0x95e60af593bd04cfULL, "-3.51527970626667e-203" }, { 0x0cb1e29c658cda14ULL, "1.5987381841032883e-247" },
	{ 0x3898d190f9ebdaccULL, "4.6678633181812096e-36" }, { 0x8e81973e0becd7b0ULL, "-8.441872792105456e-239" },
	{ 0x2217beaddbc496cbULL, "1.9015657400796622e-144" }, { 0x6b4cb2424a23d596ULL, "7.370437700706684e+208" },
	{ 0x8a6a63ec24ede6a4ULL, "-1.7163996725272777e-258" }, { 0x922766581e27a1c0ULL, "-3.2367190832119987e-221" },
	{ 0x8f6d05584ef8aa38ULL, "-2.2818334634712625e-234" }, { 0xae97ba94d0eda82fULL, "-3.0536383926309363e-84" },
	{ 0x1a61dbe22e44158bULL, "1.3449551894627777e-181" }, { 0x923a736994e3bf91ULL, "-7.317495976062606e-221" },
	{ 0x301850c5a38fd547ULL, "5.249822308814304e-77" }, { 0x18f135d25f557203ULL, "1.5450754142984396e-188" },
	{ 0xb64ce4228c38fb29ULL, "-3.953625698224792e-47" }, { 0x907a70c31012f037ULL, "-2.72491267476498e-229" },
	{ 0x9e7769b10f4205b4ULL, "-6.505141861548772e-162" }, { 0x7f15052434b9b5dfULL, "1.441484839555994e+304" },
	{ 0x881ed162ae2eb154ULL, "-1.4583679262758548e-269" }, { 0xc6f877186d76b07eULL, "-7.939416668807721e+33" },
	{ 0x7731af10506bf2efULL, "1.4255183989699612e+266" }, { 0xec66a78795e761d1ULL, "-1.525315701232403e+214" },
	{ 0x5c90a9587403e430ULL, "7.750545741548908e+137" }, { 0x3f98e2774cbd87adULL, "0.024301399287089676" },
	{ 0x2e05319acb5c7427ULL, "5.326960081783017e-87" }, { 0xc7a2ea20b2f14c94ULL, "-1.2570882301712172e+37" },
	{ 0x14f4733f3e7d1bfbULL, "9.952684009002448e-208" }, { 0x4cdd2055930d6eafULL, "1.8721667527122837e+62" },
	{ 0x7ebff20686734721ULL, "3.422978398947072e+302" }, { 0x57ee05cde00902c7ULL, "3.6967297937384553e+115" },
	{ 0x72e6cc3ababced20ULL, "3.113284956169447e+245" }, { 0x9be4bcfc49b64a08ULL, "-2.6202582260546103e-174" },
	{ 0x12bd4acefaecbd38ULL, "2.0745096302730225e-218" }, { 0x830e07bc1e398f10ULL, "-5.877500503097409e-294" },
	{ 0x2a3af4d46b0a18e8ULL, "2.938345597354166e-105" }, { 0x5790f82ec1d3fcffULL, "6.529598674765832e+113" },
	{ 0xeeeacbe226e87555ULL, "-1.9837344250050814e+226" }, { 0x6bf46c697d2caf82ULL, "1.0743030475716402e+212" },
	{ 0xf646e1f40a097c97ULL, "-5.629271400715247e+261" }, { 0x13deef86ab1031d0ULL, "5.743310614918485e-213" },
	{ 0x8ede0d7ac3baea9eULL, "-4.61515470702556e-237" }, { 0xca02135e92b1d3f2ULL, "-3.302201168194502e+48" },
	{ 0x3f4cb00a48fbe5ceULL, "0.0008754778118308883" }, { 0x3f364a4e6c188a42ULL, "0.00034012236219119554" },
	{ 0x41222383c113e8b3ULL, "594369.8771050185" }, { 0x3fb19a72dae10418ULL, "0.06876294940686056" },
	{ 0x412cd45230b1fcd2ULL, "944681.0951079375" }, { 0x3fe64e2b2aa81784ULL, "0.6970420678269282" },
	{ 0x3f0fcee9a8bfcf5cULL, "6.0669427597219715e-05" }, { 0x4123bfb1b584a68eULL, "647128.8545276688" },
	{ 0x41115ece20dd49e5ULL, "284595.5320941492" }, { 0x3f4d110885cf90b0ULL, "0.0008870402922380918" },
	{ 0x40d608bb65434472ULL, "22562.92805558857" }, { 0x3fd6bfec895829beULL, "0.355464109540346" },
	{ 0x407edb168175e8a9ULL, "493.69299455698143" }, { 0x408801dd290f6e93ULL, "768.2329884725208" },
	{ 0x41268876c25a3fb5ULL, "738363.3795947941" }, { 0x4117dc96d002281cULL, "390949.70313322707" },
	{ 0x40f3ac54d1b73c8fULL, "80581.30120013862" }, { 0x3f3a5278f211aac1ULL, "0.00040164425633430414" },
	{ 0x412af56fa7235788ULL, "883383.8264415124" }, { 0x3f4c4fa085536107ULL, "0.0008639844696985151" },
};

/*
 * Label values and how `promtool tsdb dump` quoted them (same kind of
 * experiment): Unicode 13 printability (U+08BE raw, U+0870 from Unicode 14
 * escaped), format characters, C1 controls, other spaces. Off-line, every
 * code point up to U+10FFFF was checked against Go 1.19's strconv.Quote.
 */
static const struct {
	const char	*raw;
	size_t		 len;
	const char	*want;
} promtool_quotes[] = {
	{ "arabic\xd8" "\x9c" "x", 9,
	    "\"arabic\\u061cx\"" },
	{ "aro<&>", 6,
	    "\"aro<&>\"" },
	{ "bell\x07" "\x08" "\x0c" "\x0d" "\x0b", 9,
	    "\"bell\\a\\b\\f\\r\\v\"" },
	{ "bom\xef" "\xbb" "\xbf" "x", 7,
	    "\"bom\\ufeffx\"" },
	{ "bs\\x", 4,
	    "\"bs\\\\x\"" },
	{ "c1\xc2" "\x85" "x", 5,
	    "\"c1\\u0085x\"" },
	{ "ch\xe4" "\xb8" "\xad" "\xe6" "\x96" "\x87", 8,
	    "\"ch\xe4" "\xb8" "\xad" "\xe6" "\x96" "\x87" "\"" },
	{ "cjk13\xe9" "\xbf" "\xbc" "x", 9,
	    "\"cjk13\xe9" "\xbf" "\xbc" "x\"" },
	{ "cjk14\xe9" "\xbf" "\xbd" "x", 9,
	    "\"cjk14\\u9ffdx\"" },
	{ "ctl\x01" "x", 5,
	    "\"ctl\\x01x\"" },
	{ "del\x7f", 4,
	    "\"del\\x7f\"" },
	{ "emoji\xf0" "\x9f" "\x98" "\x80", 9,
	    "\"emoji\xf0" "\x9f" "\x98" "\x80" "\"" },
	{ "fffd\xef" "\xbf" "\xbd" "x", 8,
	    "\"fffd\xef" "\xbf" "\xbd" "x\"" },
	{ "isp\xe3" "\x80" "\x80" "x", 7,
	    "\"isp\\u3000x\"" },
	{ "ls\xe2" "\x80" "\xa8" "x", 6,
	    "\"ls\\u2028x\"" },
	{ "max\xf4" "\x8f" "\xbf" "\xbf" "x", 8,
	    "\"max\\U0010ffffx\"" },
	{ "mongol\xe1" "\xa0" "\x8e" "x", 10,
	    "\"mongol\\u180ex\"" },
	{ "nb\xc2" "\xa0" "sp", 6,
	    "\"nb\\u00a0sp\"" },
	{ "nl\x0a" "x", 4,
	    "\"nl\\nx\"" },
	{ "nul\x00" "x", 5,
	    "\"nul\\x00x\"" },
	{ "ogham\xe1" "\x9a" "\x80" "x", 9,
	    "\"ogham\\u1680x\"" },
	{ "plane1\xf0" "\x90" "\x80" "\x80" "x", 11,
	    "\"plane1\xf0" "\x90" "\x80" "\x80" "x\"" },
	{ "pua\xee" "\x80" "\x80" "x", 7,
	    "\"pua\\ue000x\"" },
	{ "q\"x", 3,
	    "\"q\\\"x\"" },
	{ "shy\xc2" "\xad" "y", 6,
	    "\"shy\\u00ady\"" },
	{ "tab\x09" "here", 8,
	    "\"tab\\there\"" },
	{ "tag\xf3" "\xa0" "\x80" "\x81" "x", 8,
	    "\"tag\\U000e0001x\"" },
	{ "u13\xe0" "\xa2" "\xbe" "x", 7,
	    "\"u13\xe0" "\xa2" "\xbe" "x\"" },
	{ "u14\xe0" "\xa1" "\xb0" "x", 7,
	    "\"u14\\u0870x\"" },
	{ "unas\xcd" "\xb8" "x", 7,
	    "\"unas\\u0378x\"" },
	{ "vs\xf3" "\xa0" "\x84" "\x80" "x", 7,
	    "\"vs\xf3" "\xa0" "\x84" "\x80" "x\"" },
	{ "zw\xe2" "\x80" "\x8b" "j", 6,
	    "\"zw\\u200bj\"" },
};

static uint64_t
dbits(double v)
{
	uint64_t b;

	memcpy(&b, &v, sizeof(b));
	return b;
}

static void
check_float(int line, uint64_t bits, const char *want)
{
	char out[GOFMT_FLOAT_MAX];
	size_t n = gofmt_float(out, bits);

	if (n != strlen(out) || strcmp(out, want) != 0)
		unit_fail(__FILE__, line, "gofmt_float(0x%016llx) = \"%s\" (%zu), want \"%s\"",
		    (unsigned long long)bits, out, n, want);
}

static void
float_matches_promtool_dump(void)
{
	for (size_t i = 0; i < sizeof(promtool_floats) / sizeof(promtool_floats[0]); i++)
		check_float(__LINE__, promtool_floats[i].bits, promtool_floats[i].want);
}

/* The vectors of spec §10.1 and Appendix A.4. */
static void
float_spec_vectors(void)
{
	volatile double a = 0.1, b = 0.2;

	check_float(__LINE__, dbits(1e6), "1e+06");
	check_float(__LINE__, dbits(1234567), "1.234567e+06");
	check_float(__LINE__, dbits(1e-5), "1e-05");
	check_float(__LINE__, dbits(1.2345e-5), "1.2345e-05");
	check_float(__LINE__, dbits(1e21), "1e+21");
	check_float(__LINE__, 0x7fefffffffffffffULL, "1.7976931348623157e+308");
	check_float(__LINE__, 1, "5e-324");
	check_float(__LINE__, dbits(1.2345678901234567e19), "1.2345678901234567e+19");
	check_float(__LINE__, dbits(100000), "100000");
	check_float(__LINE__, dbits(123456), "123456");
	check_float(__LINE__, dbits(999999), "999999");
	check_float(__LINE__, dbits(0.0001), "0.0001");
	check_float(__LINE__, dbits(-123.456), "-123.456");
	check_float(__LINE__, dbits(a + b), "0.30000000000000004");
	check_float(__LINE__, dbits(5), "5");
	check_float(__LINE__, dbits(2.5), "2.5");
	check_float(__LINE__, 0x7ff0000000000002ULL, "NaN");	/* stale marker */
	check_float(__LINE__, 0xfff8000000000000ULL, "NaN");
	check_float(__LINE__, 0x7ff0000000000000ULL, "+Inf");
	check_float(__LINE__, 0xfff0000000000000ULL, "-Inf");
	check_float(__LINE__, 0x8000000000000000ULL, "-0");
	check_float(__LINE__, 0, "0");
}

/* Enough significant digits to print v with prec digits and parse it back? */
static int
round_trips(double v, int prec)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%.*e", prec - 1, v);
	return strtod(buf, NULL) == v;
}

/*
 * For pseudo-random doubles of every magnitude: the output parses back to
 * the same bits, and no correctly rounded string with fewer digits would.
 */
static void
float_round_trips_and_is_shortest(void)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL;

	for (int i = 0; i < 200000; i++) {
		char out[GOFMT_FLOAT_MAX], *end;
		uint64_t bits;
		double v, back;
		int nd = 0;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		bits = i % 3 == 0 ? x : dbits((double)(x >> 40) / 1000.0);
		if ((bits >> 52 & 0x7ff) == 0x7ff)
			continue;
		memcpy(&v, &bits, sizeof(v));
		gofmt_float(out, bits);
		back = strtod(out, &end);
		if (*end != '\0' || dbits(back) != bits) {
			unit_fail(__FILE__, __LINE__, "0x%016llx -> %s does not parse back",
			    (unsigned long long)bits, out);
			continue;
		}
		for (const char *p = out; *p != '\0' && *p != 'e'; p++)
			if (*p >= '0' && *p <= '9' && (nd > 0 || *p != '0'))
				nd++;
		/* Trailing integer zeros are not significant digits. */
		if (strchr(out, '.') == NULL && strchr(out, 'e') == NULL)
			for (const char *p = out + strlen(out) - 1; p > out && *p == '0'; p--)
				nd--;
		if (nd > 1 && round_trips(fabs(v), nd - 1))
			unit_fail(__FILE__, __LINE__, "0x%016llx -> %s is not shortest",
			    (unsigned long long)bits, out);
	}
}

static void
quote_matches_promtool_dump(void)
{
	struct buf b = { 0 };

	for (size_t i = 0; i < sizeof(promtool_quotes) / sizeof(promtool_quotes[0]); i++) {
		buf_reset(&b);
		gofmt_quote(&b, promtool_quotes[i].raw, promtool_quotes[i].len);
		CHECK_MEM(b.p, b.len, promtool_quotes[i].want, strlen(promtool_quotes[i].want));
	}
	buf_free(&b);
}

/* Go 1.19 strconv.Quote on bytes that are not UTF-8 (OpenMetrics input cannot hold them). */
static void
quote_invalid_utf8_like_go(void)
{
	static const struct {
		const char	*raw;
		const char	*want;
	} v[] = {
		{ "ff\xff" "x", "\"ff\\xffx\"" },
		{ "c3\xc3", "\"c3\\xc3\"" },
		{ "over\xc0\x80", "\"over\\xc0\\x80\"" },
		{ "sur\xed\xa0\x80" "x", "\"sur\\xed\\xa0\\x80x\"" },
		{ "trunc\xe2\x82", "\"trunc\\xe2\\x82\"" },
		{ "f4\xf4\x90\x80\x80", "\"f4\\xf4\\x90\\x80\\x80\"" },
		{ "e0\xe0\x9f\xbf" "x", "\"e0\\xe0\\x9f\\xbfx\"" },
		{ "ok\xef\xbf\xbd", "\"ok\xef\xbf\xbd\"" },
		{ "\xf0\x9f\x98", "\"\\xf0\\x9f\\x98\"" },
	};
	struct buf b = { 0 };

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		buf_reset(&b);
		gofmt_quote(&b, v[i].raw, strlen(v[i].raw));
		CHECK_MEM(b.p, b.len, v[i].want, strlen(v[i].want));
	}
	buf_free(&b);
}

/* Appendix A.4's label set, byte for byte. */
static void
labels_like_promtool_dump(void)
{
	struct label l[] = {
		{ STR_LIT("__name__"), STR_LIT("demo") },
		{ STR_LIT("city"), STR_LIT("Z\xc3\xbcrich") },
		{ STR_LIT("msg"), STR_LIT("say \"hi\"") },
		{ STR_LIT("path"), STR_LIT("C:\\tmp") },
	};
	struct labels ls = { l, 4 }, none = { NULL, 0 };
	const char *want = "{__name__=\"demo\", city=\"Z\xc3\xbcrich\", "
	    "msg=\"say \\\"hi\\\"\", path=\"C:\\\\tmp\"}";
	struct buf b = { 0 };

	gofmt_labels(&b, &ls);
	CHECK_MEM(b.p, b.len, want, strlen(want));
	buf_reset(&b);
	gofmt_labels(&b, &none);
	CHECK_MEM(b.p, b.len, "{}", 2);
	buf_free(&b);
}

/* Go 1.19 strconv.Unquote results. */
static void
unquote_like_go(void)
{
	static const struct {
		const char	*in;
		const char	*want;	/* NULL: syntax error */
	} v[] = {
		{ "\"\\101\\x41\\u0041\\U00000041\"", "AAAA" },
		{ "\"\\377\"", "\xff" },
		{ "\"\\xff\\u00e9\"", "\xff\xc3\xa9" },
		{ "\"\xff\"", "\xef\xbf\xbd" },
		{ "\"\"", "" },
		{ "\"a\\tb\\\\c\\\"d\\a\\b\\f\\n\\r\\v\"", "a\tb\\c\"d\a\b\f\n\r\v" },
		{ "\"Z\xc3\xbcrich\"", "Z\xc3\xbcrich" },
		{ "\"\\a'b\"", "\a'b" },
		{ "\"a\\'b\"", NULL },
		{ "\"\\ud800\"", NULL },
		{ "\"\\U00110000\"", NULL },
		{ "\"\\400\"", NULL },
		{ "\"a\nb\"", NULL },
		{ "\"\\q\"", NULL },
		{ "\"\\x4\"", NULL },
		{ "\"tail\\\"", NULL },
		{ "\"open", NULL },
		{ "x\"\"", NULL },
		{ "\"", NULL },
	};
	struct buf b = { 0 };

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n;

		buf_reset(&b);
		n = gofmt_unquote(v[i].in, strlen(v[i].in), &b);
		if (v[i].want == NULL) {
			if (n != 0 || b.len != 0)
				unit_fail(__FILE__, __LINE__, "case %zu: accepted", i);
			continue;
		}
		CHECK_INT(n, strlen(v[i].in));
		CHECK_MEM(b.p, b.len, v[i].want, strlen(v[i].want));
	}
	/* Consumes only up to the closing quote; appends to what is there. */
	buf_reset(&b);
	buf_put_bytes(&b, "x", 1);
	CHECK_INT(gofmt_unquote("\"ab\" rest", 9, &b), 4);
	CHECK_MEM(b.p, b.len, "xab", 3);
	buf_free(&b);
}

/* unquote(quote(s)) == s for random byte strings. */
static void
quote_unquote_round_trip(void)
{
	struct buf q = { 0 }, u = { 0 };
	uint64_t x = 88172645463325252ULL;
	uint8_t s[64];

	for (int i = 0; i < 20000; i++) {
		size_t n = (size_t)(i % 64);

		for (size_t j = 0; j < n; j++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* Mostly UTF-8 lead/continuation bytes, some ASCII. */
			s[j] = (uint8_t)(x % 3 == 0 ? x >> 8 : 0x80 | (x >> 8 & 0x7f));
			if (x % 7 == 0)
				s[j] = (uint8_t)(0xc2 + (x >> 16) % 0x33);
		}
		buf_reset(&q);
		buf_reset(&u);
		gofmt_quote(&q, s, n);
		if (gofmt_unquote((const char *)q.p, q.len, &u) != q.len ||
		    u.len != n || (n > 0 && memcmp(u.p, s, n) != 0)) {
			unit_fail(__FILE__, __LINE__, "round trip %d failed", i);
			break;
		}
	}
	buf_free(&q);
	buf_free(&u);
}

UNIT_CASES(
	UNIT_CASE(float_matches_promtool_dump),
	UNIT_CASE(float_spec_vectors),
	UNIT_CASE(float_round_trips_and_is_shortest),
	UNIT_CASE(quote_matches_promtool_dump),
	UNIT_CASE(quote_invalid_utf8_like_go),
	UNIT_CASE(labels_like_promtool_dump),
	UNIT_CASE(unquote_like_go),
	UNIT_CASE(quote_unquote_round_trip),
);
