/*
 * Cortex v1.21.1's tenant ID and distributor checks: the texts below are
 * Cortex's format strings (pkg/util/users/tenant.go,
 * pkg/util/validation/errors.go, validate.go) filled in by hand, Go's %q
 * quoting and %.200q cut included.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/err.h"
#include "lib/rw/remote_write.h"
#include "lib/rw/validate.h"
#include "lib/tsdb/encoding.h"
#include "lib/tsdb/labels.h"
#include "test/unit/unit.h"

#define NOW	1700000000000LL

static char msgbuf[8192];

/* The message of a tenant check, or "ok". */
static const char *
tenant(const char *id, size_t n)
{
	struct buf m = { 0 };

	if (tenant_validate_msg(id, n, &m) == 0) {
		buf_free(&m);
		return "ok";
	}
	snprintf(msgbuf, sizeof(msgbuf), "%.*s", (int)m.len, (char *)m.p);
	buf_free(&m);
	return msgbuf;
}

static void
tenant_ids(void)
{
	char id[200], want[300];
	struct err e;

	CHECK_STR(tenant("team-a", 6), "ok");
	CHECK_STR(tenant("fake", 4), "ok");
	CHECK_STR(tenant("a.b_c-d!*'()", 12), "ok");
	CHECK_STR(tenant("...", 3), "ok");
	CHECK_STR(tenant("a/b", 3),
	    "tenant ID 'a/b' contains unsupported character '/'");
	CHECK_STR(tenant("a|b", 3),
	    "tenant ID 'a|b' contains unsupported character '|'");
	CHECK_STR(tenant("a b", 3),
	    "tenant ID 'a b' contains unsupported character ' '");
	/* Go prints the first byte of the rune as a rune: U+00C3 for 'é'. */
	CHECK_STR(tenant("x\xc3\xa9", 3),
	    "tenant ID 'x\xc3\xa9' contains unsupported character '\xc3\x83'");
	CHECK_STR(tenant("\xff", 1),
	    "tenant ID '\xff' contains unsupported character '\xc3\xbf'");
	memset(id, 'a', sizeof(id));
	CHECK_STR(tenant(id, 150), "ok");
	CHECK_STR(tenant(id, 151), "tenant ID is too long: max 150 characters");
	/* Characters are checked before the length. */
	id[180] = '/';
	snprintf(want, sizeof(want), "tenant ID '%.180s/' contains unsupported "
	    "character '/'", id);
	CHECK_STR(tenant(id, 181), want);
	CHECK_STR(tenant("__markers__", 11),
	    "tenant ID '__markers__' is not allowed");
	CHECK_STR(tenant("user-index.json.gz", 18),
	    "tenant ID 'user-index.json.gz' is not allowed");
	CHECK_STR(tenant(".", 1), "tenant ID is '.' or '..'");
	CHECK_STR(tenant("..", 2), "tenant ID is '.' or '..'");
	CHECK_INT(tenant_validate("..", 2, &e), -1);
	CHECK_STR(e.msg, "tenant ID is '.' or '..'");
	CHECK_INT(tenant_validate("t1", 2, &e), 0);
	CHECK_INT(tenant_validate_msg("a/b", 3, NULL), -1);
}

struct fixture {
	struct label	 l[64];
	struct rw_sample s[4];
	struct rw_series ts;
	struct rw_limits lim;
};

/* A series of n name/value pairs (names[i], values[i]) and one sample at t. */
static void
fixture(struct fixture *f, const char **pairs, size_t n, int64_t t)
{
	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < n; i++) {
		f->l[i].name = str_c(pairs[2 * i]);
		f->l[i].value = str_c(pairs[2 * i + 1]);
	}
	f->ts.labels.v = f->l;
	f->ts.labels.n = n;
	f->s[0].t = t;
	f->ts.samples = f->s;
	f->ts.nsamples = 1;
	rw_limits_default(&f->lim);
}

/* Validate f; the message, or "ok"/"drop". */
static const char *
run(struct fixture *f)
{
	struct buf m = { 0 };
	int rc = rw_validate_series(&f->ts, &f->lim, NOW, &m);

	if (rc == RW_SERIES_OK)
		snprintf(msgbuf, sizeof(msgbuf), "ok");
	else if (rc == RW_SERIES_DROP)
		snprintf(msgbuf, sizeof(msgbuf), "drop");
	else
		snprintf(msgbuf, sizeof(msgbuf), "%.*s", (int)m.len,
		    (char *)m.p);
	buf_free(&m);
	return msgbuf;
}

static void
series_ok_sorted_and_cleaned(void)
{
	const char *p[] = { "job", "demo", "__name__", "demo_requests_total",
	    "empty", "", "instance", "a" };
	struct fixture f;

	fixture(&f, p, 4, NOW);
	CHECK_STR(run(&f), "ok");
	CHECK_INT(f.ts.labels.n, 3);
	CHECK(str_eq(f.ts.labels.v[0].name, STR_LIT("__name__")));
	CHECK(str_eq(f.ts.labels.v[1].name, STR_LIT("instance")));
	CHECK(str_eq(f.ts.labels.v[2].name, STR_LIT("job")));
}

static void
series_metric_name(void)
{
	const char *none[] = { "job", "x" };
	const char *bad[] = { "__name__", "1bad metric" };
	const char *empty[] = { "__name__", "", "job", "x" };
	const char *colon[] = { "__name__", "a:b_c9" };
	const char *all_empty[] = { "job", "" };
	struct fixture f;

	fixture(&f, none, 1, NOW);
	CHECK_STR(run(&f), "sample missing metric name");
	fixture(&f, bad, 1, NOW);
	CHECK_STR(run(&f), "sample invalid metric name: \"1bad metric\"");
	/* Checked before empty values go, so __name__="" is invalid, not missing. */
	fixture(&f, empty, 2, NOW);
	CHECK_STR(run(&f), "sample invalid metric name: \"\"");
	fixture(&f, colon, 1, NOW);
	CHECK_STR(run(&f), "ok");
	fixture(&f, all_empty, 1, NOW);
	f.lim.enforce_metric_name = 0;
	CHECK_STR(run(&f), "drop");
	fixture(&f, none, 1, NOW);
	f.lim.enforce_metric_name = 0;
	CHECK_STR(run(&f), "ok");
}

static void
series_label_errors(void)
{
	const char *bad[] = { "__name__", "exp_g", "bad-name", "x" };
	const char *dup[] = { "__name__", "m", "a", "caf\xc3\xa9\xff", "a", "2" };
	const char *digit[] = { "__name__", "m", "0a", "x" };
	struct fixture f;

	/* The spec's example (section 4.4). */
	fixture(&f, bad, 2, NOW);
	CHECK_STR(run(&f), "sample invalid label: \"bad-name\" metric "
	    "\"exp_g{bad-name=\\\"x\\\"}\"");
	fixture(&f, dup, 3, NOW);
	CHECK_STR(run(&f), "duplicate label name: \"a\" metric "
	    "\"m{a=\\\"caf\xc3\xa9\\\\xff\\\", a=\\\"2\\\"}\"");
	fixture(&f, digit, 2, NOW);
	CHECK_STR(run(&f), "sample invalid label: \"0a\" metric "
	    "\"m{0a=\\\"x\\\"}\"");
	fixture(&f, bad, 2, NOW);
	f.lim.skip_label_name_validation = 1;
	CHECK_STR(run(&f), "ok");
}

static void
series_limits(void)
{
	const char *three[] = { "__name__", "m", "a", "x", "a0", "y" };
	const char *longname[] = { "__name__", "m", "abcdefghi", "v" };
	const char *longval[] = { "__name__", "m", "a", "abcd" };
	const char *longmetric[] = { "__name__", "abcdefgh" };
	const char *small[] = { "__name__", "m", "a", "b" };
	struct fixture f;

	/* model.Metric.String sorts `name="value"` strings: a0= before a=. */
	fixture(&f, three, 3, NOW);
	f.lim.max_label_names_per_series = 2;
	CHECK_STR(run(&f), "series has too many labels (actual: 3, limit: 2) "
	    "series: 'm{a0=\"y\", a=\"x\"}'");
	fixture(&f, longname, 2, NOW);
	/* __name__ itself is 8 bytes long. */
	f.lim.max_label_name_length = 8;
	CHECK_STR(run(&f), "label name too long for metric (actual: 9, limit: 8) "
	    "metric: \"m{abcdefghi=\\\"v\\\"}\" label name: \"abcdefghi\"");
	fixture(&f, longval, 2, NOW);
	f.lim.max_label_value_length = 3;
	CHECK_STR(run(&f), "label value too long for metric (actual: 4, limit: 3) "
	    "metric: \"m{a=\\\"abcd\\\"}\" label name: \"a\" label value: \"abcd\"");
	/* The value limit covers the metric name too. */
	fixture(&f, longmetric, 1, NOW);
	f.lim.max_label_value_length = 7;
	CHECK_STR(run(&f), "label value too long for metric (actual: 8, limit: 7) "
	    "metric: \"abcdefgh\" label name: \"__name__\" label value: "
	    "\"abcdefgh\"");
	/* (1+1+8)+(1+1+1) + (1+1+1)+(1+1+1) = 19 bytes of labels. */
	fixture(&f, small, 2, NOW);
	f.lim.max_labels_size_bytes = 18;
	CHECK_STR(run(&f), "labels size bytes exceeded for metric (actual: 19, "
	    "limit: 18) metric: \"m{a=\\\"b\\\"}\"");
	fixture(&f, small, 2, NOW);
	f.lim.max_labels_size_bytes = 19;
	CHECK_STR(run(&f), "ok");
}

static void
quote_cut_at_200_runes(void)
{
	static char val[2200], eacute[400], want[4096];
	const char *p[] = { "__name__", "m", "a", val };
	const char *q[] = { "__name__", "m", "a", eacute, "bad-name", "x" };
	struct fixture f;
	size_t n;

	/* A 2100-byte value: the metric and the value are both cut to 200. */
	memset(val, 'x', 2100);
	fixture(&f, p, 2, NOW);
	n = (size_t)snprintf(want, sizeof(want), "label value too long for "
	    "metric (actual: 2100, limit: 2048) metric: \"m{a=\\\"%.195s\" "
	    "label name: \"a\" label value: \"%.200s\"", val, val);
	CHECK_INT(n < sizeof(want), 1);
	CHECK_STR(run(&f), want);
	/* Runes, not bytes: m{a=" is 5 runes, then 195 two-byte runes. */
	for (size_t i = 0; i < 198; i++)
		memcpy(eacute + 2 * i, "\xc3\xa9", 2);
	fixture(&f, q, 3, NOW);
	n = (size_t)snprintf(want, sizeof(want), "sample invalid label: "
	    "\"bad-name\" metric \"m{a=\\\"%.390s\"", eacute);
	CHECK_STR(run(&f), want);
}

static void
sample_timestamps(void)
{
	const char *p[] = { "__name__", "m" };
	struct fixture f;

	fixture(&f, p, 1, NOW + 600000);
	CHECK_STR(run(&f), "ok");
	fixture(&f, p, 1, NOW + 600001);
	CHECK_STR(run(&f), "timestamp too new: 1700000600001 metric: \"m\"");
	/* Old samples pass unless -validation.reject-old-samples. */
	fixture(&f, p, 1, NOW - 14 * 86400000LL - 1);
	CHECK_STR(run(&f), "ok");
	fixture(&f, p, 1, NOW - 14 * 86400000LL - 1);
	f.lim.reject_old_samples = 1;
	CHECK_STR(run(&f), "timestamp too old: 1698790399999 metric: \"m\"");
}

static void
request_empty_labels(void)
{
	struct rw_series s[2];
	struct rw_request rq = { 0 };
	struct label l = { STR_LIT("__name__"), STR_LIT("m") };
	struct buf m = { 0 };

	memset(s, 0, sizeof(s));
	s[0].labels.v = &l;
	s[0].labels.n = 1;
	rq.series = s;
	rq.nseries = 2;
	CHECK_INT(rw_validate_request(&rq, &m), -1);
	CHECK_MEM(m.p, m.len, "empty labels found", 18);
	rq.nseries = 1;
	CHECK_INT(rw_validate_request(&rq, NULL), 0);
	buf_free(&m);
}

static const char *
meta(const char *family, const char *help, const char *unit,
    size_t limit)
{
	struct rw_metadata md = { 0, { "", 0 }, { "", 0 }, { "", 0 }, NULL, 0 };
	struct rw_limits lim;
	struct buf m = { 0 };

	rw_limits_default(&lim);
	lim.max_metadata_length = limit;
	md.family = str_c(family);
	md.help = str_c(help);
	md.unit = str_c(unit);
	if (rw_validate_metadata(&md, &lim, &m) == 0)
		snprintf(msgbuf, sizeof(msgbuf), "ok");
	else
		snprintf(msgbuf, sizeof(msgbuf), "%.*s", (int)m.len,
		    (char *)m.p);
	buf_free(&m);
	return msgbuf;
}

static void
metadata_checks(void)
{
	CHECK_STR(meta("x", "Help.", "seconds", 1024), "ok");
	CHECK_STR(meta("", "Help.", "", 1024), "metadata missing metric name");
	CHECK_STR(meta("x", "abcdefg", "", 5),
	    "metadata 'HELP' value too long: \"abcdefg\" metric \"x\"");
	CHECK_STR(meta("abcdefg", "abcdefgh", "", 5),
	    "metadata 'METRIC_NAME' value too long: \"abcdefg\" metric "
	    "\"abcdefg\"");
	CHECK_STR(meta("x", "", "abcdef", 5),
	    "metadata 'UNIT' value too long: \"abcdef\" metric \"x\"");
}

static void
name_rules(void)
{
	CHECK(rw_valid_metric_name("a:b", 3));
	CHECK(rw_valid_metric_name(":a", 2));
	CHECK(!rw_valid_metric_name("", 0));
	CHECK(!rw_valid_metric_name("9a", 2));
	CHECK(!rw_valid_metric_name("a-b", 3));
	CHECK(rw_valid_label_name("_a9", 3));
	CHECK(!rw_valid_label_name("a:b", 3));
	CHECK(!rw_valid_label_name("\xc3\xa9", 2));
}

UNIT_CASES(
	UNIT_CASE(tenant_ids),
	UNIT_CASE(series_ok_sorted_and_cleaned),
	UNIT_CASE(series_metric_name),
	UNIT_CASE(series_label_errors),
	UNIT_CASE(series_limits),
	UNIT_CASE(quote_cut_at_200_runes),
	UNIT_CASE(sample_timestamps),
	UNIT_CASE(request_empty_labels),
	UNIT_CASE(metadata_checks),
	UNIT_CASE(name_rules),
);
