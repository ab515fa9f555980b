#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/fileutil.h"
#include "lib/base/xmalloc.h"
#include "lib/tsdb/block.h"
#include "lib/tsdb/chunkcut.h"
#include "lib/tsdb/head.h"
#include "lib/tsdb/index.h"
#include "lib/tsdb/matcher.h"
#include "lib/tsdb/xor.h"
#include "test/unit/unit.h"

#define SEC		1000
#define MIN		(60 * SEC)
#define HOUR		(60 * MIN)
#define R		(2 * HOUR)
#define T0		1700000000000LL
#define STALE		0x7FF0000000000002ULL

/* A label set parsed from "a=1,b=2" (written in label order; "a=" is an empty value). */
struct tls {
	struct label	v[16];
	struct labels	ls;
	char		buf[512];
};

static const struct labels *
mk(struct tls *t, const char *spec)
{
	char *p = t->buf, *pair;

	snprintf(t->buf, sizeof(t->buf), "%s", spec);
	t->ls.v = t->v;
	t->ls.n = 0;
	while ((pair = strsep(&p, ",")) != NULL) {
		char *eq = strchr(pair, '=');

		if (*pair == '\0' || eq == NULL)
			continue;
		*eq = '\0';
		t->v[t->ls.n].name = str_c(pair);
		t->v[t->ls.n].value = str_c(eq + 1);
		t->ls.n++;
	}
	return &t->ls;
}

static uint64_t
f64(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	return u;
}

static uint64_t
lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 11;
}

static enum head_err
app(struct head *h, const char *spec, int64_t t, uint64_t v)
{
	struct tls tl;

	return head_append(h, mk(&tl, spec), t, v, NULL, NULL);
}

/* The samples of the one series selected by sel over [mint, maxt]; returns the count. */
static size_t
samples_of(struct head *h, const char *sel, int64_t mint, int64_t maxt,
    int64_t *ts, uint64_t *vs, size_t cap)
{
	struct head_series_set *ss;
	const struct labels *ls;
	struct matcher *ms;
	struct err e;
	size_t nm, n = 0;
	int64_t t;
	uint64_t v;

	if (selector_parse(sel, &ms, &nm, &e) == -1) {
		unit_fail(__FILE__, __LINE__, "selector %s: %s", sel, e.msg);
		return 0;
	}
	ss = head_select(h, ms, nm, mint, maxt);
	if (head_series_set_next(ss, &ls) == 1) {
		while (head_series_set_sample(ss, &t, &v) == 1) {
			if (n < cap) {
				ts[n] = t;
				vs[n] = v;
			}
			n++;
		}
		if (head_series_set_next(ss, &ls) != 0)
			unit_fail(__FILE__, __LINE__, "%s selects more than one series", sel);
	}
	head_series_set_close(ss);
	matchers_free(ms, nm);
	return n;
}

/* How many series sel selects over all time. */
static size_t
count_selected(struct head *h, const char *sel)
{
	struct head_series_set *ss;
	const struct labels *ls;
	struct matcher *ms;
	struct err e;
	size_t nm, n = 0;

	if (selector_parse(sel, &ms, &nm, &e) == -1) {
		unit_fail(__FILE__, __LINE__, "selector %s: %s", sel, e.msg);
		return 0;
	}
	ss = head_select(h, ms, nm, INT64_MIN, INT64_MAX);
	while (head_series_set_next(ss, &ls) == 1)
		n++;
	head_series_set_close(ss);
	matchers_free(ms, nm);
	return n;
}

static void
head_append_errors_follow_prometheus(void)
{
	struct head *h = head_create(NULL);
	struct head_stats st;
	struct tls tl;
	uint64_t ref = 0, vs[8];
	int64_t ts[8];
	int created = -1;
	size_t n;

	head_append_begin(h);
	CHECK_INT(head_append(h, mk(&tl, "__name__=x"), T0, f64(1), &ref, &created), HEAD_OK);
	CHECK_U64(ref, 1);
	CHECK_INT(created, 1);
	CHECK_INT(app(h, "__name__=x", T0 - 1, f64(1)), HEAD_ERR_OUT_OF_ORDER);
	CHECK_INT(app(h, "__name__=x", T0, f64(2)), HEAD_ERR_DUPLICATE);
	CHECK_INT(app(h, "__name__=x", T0, f64(NAN)), HEAD_ERR_DUPLICATE);
	/* The same timestamp and bits: accepted, nothing stored. */
	CHECK_INT(head_append(h, mk(&tl, "__name__=x"), T0, f64(1), &ref, &created), HEAD_OK);
	CHECK_INT(created, 0);
	CHECK_U64(ref, 1);
	/* Stale markers and NaN payloads are stored bit for bit; NaNs of other bits differ. */
	CHECK_INT(app(h, "__name__=x", T0 + 1, STALE), HEAD_OK);
	CHECK_INT(app(h, "__name__=x", T0 + 2, 0x7ff8000000000001ULL), HEAD_OK);
	CHECK_INT(app(h, "__name__=x", T0 + 2, 0x7ff8000000000001ULL), HEAD_OK);
	CHECK_INT(app(h, "__name__=x", T0 + 2, 0x7ff8000000000000ULL), HEAD_ERR_DUPLICATE);
	n = samples_of(h, "x", INT64_MIN, INT64_MAX, ts, vs, 8);
	CHECK_INT(n, 3);
	CHECK_INT(ts[0], T0);
	CHECK_U64(vs[0], f64(1));
	CHECK_U64(vs[1], STALE);
	CHECK_U64(vs[2], 0x7ff8000000000001ULL);
	/* Label sets: empty values are dropped, none left or a repeated name is an error. */
	CHECK_INT(app(h, "", T0, f64(1)), HEAD_ERR_EMPTY_LABELS);
	CHECK_INT(app(h, "a=", T0, f64(1)), HEAD_ERR_EMPTY_LABELS);
	CHECK_INT(app(h, "a=1,a=2", T0, f64(1)), HEAD_ERR_DUP_LABEL_NAME);
	CHECK_INT(app(h, "a=1,a=,a=2", T0, f64(1)), HEAD_ERR_DUP_LABEL_NAME);
	CHECK_INT(head_append(h, mk(&tl, "__name__=x,e="), T0 + 3, f64(4), &ref, &created), HEAD_OK);
	CHECK_U64(ref, 1);
	CHECK_INT(created, 0);
	/* Out of bounds is checked first, before the series exists or the labels are looked at. */
	CHECK_INT(app(h, "__name__=y", T0 - 2 * HOUR, f64(1)), HEAD_ERR_OUT_OF_BOUNDS);
	CHECK_INT(app(h, "", T0 - 2 * HOUR, f64(1)), HEAD_ERR_OUT_OF_BOUNDS);
	CHECK_INT(app(h, "__name__=x", T0 - 2 * HOUR, f64(1)), HEAD_ERR_OUT_OF_BOUNDS);
	head_stats(h, &st);
	CHECK_INT(st.num_series, 1);
	CHECK_INT(st.min_time, T0);
	CHECK_INT(st.max_time, T0 + 3);

	CHECK_STR(head_err_text(HEAD_ERR_OUT_OF_BOUNDS), "out of bounds");
	CHECK_STR(head_err_text(HEAD_ERR_OUT_OF_ORDER), "out of order sample");
	CHECK_STR(head_err_text(HEAD_ERR_DUPLICATE), "duplicate sample for timestamp");
	CHECK_STR(head_err_text(HEAD_ERR_EMPTY_LABELS), "empty labelset: invalid sample");
	head_free(h);
}

/* specs/remote-write-read.md §3.3, each case as observed on Prometheus. */
static void
head_append_window_is_frozen_per_request(void)
{
	struct head *h = head_create(NULL);

	head_append_begin(h);
	CHECK_INT(app(h, "__name__=a", T0, f64(1)), HEAD_OK);
	CHECK_INT(app(h, "__name__=b", T0 - 2 * HOUR, f64(1)), HEAD_ERR_OUT_OF_BOUNDS);
	head_free(h);

	h = head_create(NULL);
	head_append_begin(h);
	CHECK_INT(app(h, "__name__=b", T0 - 2 * HOUR, f64(1)), HEAD_OK);
	CHECK_INT(app(h, "__name__=a", T0, f64(1)), HEAD_OK);
	head_free(h);

	h = head_create(NULL);
	head_append_begin(h);
	CHECK_INT(app(h, "__name__=a", T0, f64(1)), HEAD_OK);
	head_append_begin(h);
	CHECK_INT(app(h, "__name__=b", T0 - HOUR, f64(1)), HEAD_OK);
	CHECK_INT(app(h, "__name__=c", T0 - HOUR - 1, f64(1)), HEAD_ERR_OUT_OF_BOUNDS);
	head_append_begin(h);
	CHECK_INT(app(h, "__name__=d", T0 + 5 * HOUR, f64(1)), HEAD_OK);
	CHECK_INT(app(h, "__name__=e", T0 + 3 * HOUR, f64(1)), HEAD_OK);
	head_append_begin(h);
	CHECK_INT(app(h, "__name__=f", T0 + 4 * HOUR - 1, f64(1)), HEAD_ERR_OUT_OF_BOUNDS);
	CHECK_INT(app(h, "__name__=f", T0 + 4 * HOUR, f64(1)), HEAD_OK);
	head_free(h);

	/* The newest block bounds the window too. */
	h = head_create(NULL);
	head_set_min_valid_time(h, T0);
	head_append_begin(h);
	CHECK_INT(app(h, "__name__=a", T0 + 10, f64(1)), HEAD_OK);
	CHECK_INT(app(h, "__name__=a", T0 + 20, f64(1)), HEAD_OK);
	head_append_begin(h);
	CHECK_INT(app(h, "__name__=b", T0 - 1, f64(1)), HEAD_ERR_OUT_OF_BOUNDS);
	CHECK_INT(app(h, "__name__=b", T0, f64(1)), HEAD_OK);
	head_free(h);
}

/* One series shape: its samples' times and values. */
struct shape {
	const char	*name;
	int64_t		 start;
	int64_t		 interval;	/* 0: the 240-cap shape */
	int		 n;
	int		 jitter;
};

/* The negative one first: the request's window starts an hour before the first sample. */
static const struct shape shapes[] = {
	{ "neg", -7000 * SEC, 15 * SEC, 960, 0 },
	{ "s1", 0, 1 * SEC, 4 * 3600, 0 },
	{ "s2", 0, 2 * SEC, 2 * 3600, 0 },
	{ "s15", 7 * HOUR, 15 * SEC, 960, 0 },
	{ "s120", 0, 120 * SEC, 120, 0 },
	{ "s300", 0, 300 * SEC, 48, 0 },
	{ "cap", 0, 0, 600, 0 },
	{ "jit", 1234, 10 * SEC, 3000, 1 },
};

static int64_t
shape_time(const struct shape *sh, int i, uint64_t *rng)
{
	if (sh->interval == 0)
		return i < 30 ? (int64_t)i * MIN : 29 * MIN + (i - 29);
	if (sh->jitter)
		return sh->start + (int64_t)i * sh->interval + (int64_t)(lcg(rng) % 999);
	return sh->start + (int64_t)i * sh->interval;
}

/* The chunks of series __name__=name equal the cutter's; returns their number. */
static size_t
check_cutter_chunks(struct head *h, const char *name, struct chunk_cutter *cc)
{
	struct head_series_set *ss;
	const struct labels *ls;
	const struct chunk *got;
	struct chunk *want;
	struct matcher m;
	struct err e;
	size_t ngot = 0, nwant;

	want = chunk_cutter_chunks(cc, &nwant);
	CHECK(matcher_init(&m, MATCH_EQ, "__name__", name, strlen(name), &e) == 0);
	ss = head_select(h, &m, 1, INT64_MIN, INT64_MAX);
	CHECK_INT(head_series_set_next(ss, &ls), 1);
	got = head_series_set_chunks(ss, &ngot);
	CHECK_INT(ngot, nwant);
	for (size_t i = 0; i < ngot && i < nwant; i++) {
		CHECK_INT(got[i].mint, want[i].mint);
		CHECK_INT(got[i].maxt, want[i].maxt);
		CHECK_MEM(got[i].data, got[i].len, want[i].data, want[i].len);
	}
	head_series_set_close(ss);
	matcher_free(&m);
	return ngot;
}

static void
head_chunks_match_chunk_cutter(void)
{
	struct head *h = head_create(NULL);
	char spec[64];

	head_append_begin(h);
	for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
		const struct shape *sh = &shapes[k];
		uint64_t rng = k + 1, vrng = k + 100;

		snprintf(spec, sizeof(spec), "__name__=%s", sh->name);
		for (int i = 0; i < sh->n; i++) {
			uint64_t v = f64((double)(lcg(&vrng) % 1000) / 8);

			CHECK_INT(app(h, spec, shape_time(sh, i, &rng), v), HEAD_OK);
		}
	}
	for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
		const struct shape *sh = &shapes[k];
		struct chunk_cutter cc;
		uint64_t rng = k + 1, vrng = k + 100;
		size_t n;

		chunk_cutter_init(&cc, R);
		for (int i = 0; i < sh->n; i++) {
			uint64_t v = f64((double)(lcg(&vrng) % 1000) / 8);

			chunk_cutter_append(&cc, shape_time(sh, i, &rng), v);
		}
		n = check_cutter_chunks(h, sh->name, &cc);
		/* More than one chunk in every shape but the short ones: cutting was exercised. */
		if (sh->n >= 600)
			CHECK(n > 2);
		chunk_cutter_free(&cc);
	}
	head_free(h);
}

/*
 * Every append at every length of the open chunk, which grows a few bytes at
 * a time: samples of up to 20 bytes (random value bits, times whose
 * delta-of-delta needs 24 or 68 bits), checked after each append; the
 * wide-stepping series cuts a chunk every few samples, so it has many.
 */
static void
head_chunk_growth_matches_chunk_cutter(void)
{
	static const struct {
		const char	*name;
		int64_t		 step;		/* times advance 1 + rng % step ms */
		int		 n;
		size_t		 min_chunks;
	} kinds[] = {
		{ "dense", 3, 600, 3 },
		{ "wide", 1 << 22, 300, 50 },
		{ "huge", (int64_t)1 << 40, 30, 29 },
	};
	struct head *h = head_create(NULL);
	struct head_stats st;
	uint64_t chunks = 0;

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		struct chunk_cutter cc;
		uint64_t rng = k + 7;
		int64_t t = T0;
		size_t n = 0;
		char spec[64];

		snprintf(spec, sizeof(spec), "__name__=%s", kinds[k].name);
		chunk_cutter_init(&cc, R);
		for (int i = 0; i < kinds[k].n; i++) {
			uint64_t v = lcg(&rng) << 11 ^ lcg(&rng);

			t += 1 + (int64_t)(lcg(&rng) % (uint64_t)kinds[k].step);
			head_append_begin(h);
			CHECK_INT(app(h, spec, t, v), HEAD_OK);
			chunk_cutter_append(&cc, t, v);
			n = check_cutter_chunks(h, kinds[k].name, &cc);
		}
		CHECK(n >= kinds[k].min_chunks);
		chunks += n;
		chunk_cutter_free(&cc);
	}
	head_stats(h, &st);
	CHECK_INT(st.num_chunks, chunks);
	head_free(h);
}

static void
head_select_orders_by_labels(void)
{
	static const char *const sets[] = {
		"__name__=m,a=z", "Host=x,__name__=m", "__name__=M", "__name__=m",
		"__name__=m,a=1", "__name__=m,a=\xc3\xa9", "__name__=n,a=1,b=2", "b=1",
	};
	static const char *const want_all[] = {
		"Host=x,__name__=m", "__name__=M", "__name__=m", "__name__=m,a=1",
		"__name__=m,a=z", "__name__=m,a=\xc3\xa9", "__name__=n,a=1,b=2", "b=1",
	};
	static const struct {
		const char	*sel;
		size_t		 n;
	} cases[] = {
		{ "m", 5 },
		{ "{__name__=~\"m|n\"}", 6 },
		{ "m{a=\"\"}", 2 },
		{ "m{a!=\"\"}", 3 },
		{ "m{a!=\"1\"}", 4 },
		{ "m{a=~\"1|z\"}", 2 },
		{ "m{a!~\"1|z\"}", 3 },
		{ "m{a=~\"|1\"}", 3 },
		{ "{a=\"1\"}", 2 },
		{ "{b!=\"\"}", 2 },
		{ "{__name__!=\"m\",b=~\".+\"}", 2 },
		{ "{__name__=\"nope\"}", 0 },
		{ "{nolabel=\"x\"}", 0 },
		{ "m{Host=\"x\"}", 1 },
	};
	struct head *h = head_create(NULL);
	struct head_series_set *ss;
	const struct labels *ls;
	struct matcher *ms;
	struct str *vals;
	struct err e;
	size_t nm, k = 0, nvals;

	head_append_begin(h);
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		CHECK_INT(app(h, sets[i], 1000, f64((double)i)), HEAD_OK);
		CHECK_INT(app(h, sets[i], 5000, f64((double)i)), HEAD_OK);
	}
	CHECK(selector_parse("{__name__=~\".*\"}", &ms, &nm, &e) == 0);
	ss = head_select(h, ms, nm, INT64_MIN, INT64_MAX);
	while (head_series_set_next(ss, &ls) == 1) {
		struct tls tl;

		if (k < sizeof(want_all) / sizeof(want_all[0]))
			CHECK(labels_cmp(ls, mk(&tl, want_all[k])) == 0);
		k++;
	}
	CHECK_INT(k, sizeof(want_all) / sizeof(want_all[0]));
	head_series_set_close(ss);
	matchers_free(ms, nm);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t got = count_selected(h, cases[i].sel);

		if (got != cases[i].n)
			unit_fail(__FILE__, __LINE__, "%s selects %zu series, want %zu",
			    cases[i].sel, got, cases[i].n);
	}
	/* Only series with a chunk in the range, and only the samples in it. */
	{
		int64_t ts[4];
		uint64_t vs[4];

		CHECK_INT(samples_of(h, "m{a=\"1\"}", 1001, 5000, ts, vs, 4), 1);
		CHECK_INT(ts[0], 5000);
		CHECK_INT(samples_of(h, "m{a=\"1\"}", 1000, 4999, ts, vs, 4), 1);
		CHECK_INT(ts[0], 1000);
		CHECK_INT(samples_of(h, "m{a=\"1\"}", 5001, 9000, ts, vs, 4), 0);
	}
	head_label_names(h, &vals, &nvals);
	CHECK_INT(nvals, 4);
	if (nvals == 4) {
		CHECK(str_eq(vals[0], STR_LIT("Host")));
		CHECK(str_eq(vals[1], STR_LIT("__name__")));
		CHECK(str_eq(vals[3], STR_LIT("b")));
	}
	free(vals);
	head_label_values(h, STR_LIT("a"), &vals, &nvals);
	CHECK_INT(nvals, 3);
	if (nvals == 3) {
		CHECK(str_eq(vals[0], STR_LIT("1")));
		CHECK(str_eq(vals[2], STR_LIT("\xc3\xa9")));
	}
	free(vals);
	head_label_values(h, STR_LIT("none"), &vals, &nvals);
	CHECK_INT(nvals, 0);
	free(vals);
	head_free(h);
}

/* The data of the block tests: series of several shapes over [0, 3h), one only after 2h. */
static const char *const bseries[] = {
	"__name__=up,instance=a:9100,job=node",
	"__name__=up,instance=b:9100,job=node",
	"__name__=rate,instance=a:9100,job=node,le=0.5",
	"Host=h1,__name__=up",
	"__name__=late,job=only_after_2h",
	"__name__=early,job=only_first_hour",
};

static int
bsample(size_t k, int i, int64_t *t, uint64_t *v)
{
	static const int64_t step[] = { 15 * SEC, 15 * SEC, 1 * SEC, 60 * SEC, 30 * SEC, 10 * SEC };

	*t = (int64_t)i * step[k] + (k == 1 ? 7 : 0);
	*v = k == 3 && i % 50 == 49 ? STALE : f64((double)(i * (k + 1)) / 4);
	if (k == 4)
		*t += 2 * HOUR;
	if (k == 5 && *t >= HOUR)
		return 0;
	return *t < 3 * HOUR;
}

static void
fill_block_head(struct head *h)
{
	head_append_begin(h);
	for (size_t k = 0; k < sizeof(bseries) / sizeof(bseries[0]); k++) {
		int64_t t;
		uint64_t v;

		for (int i = 0; bsample(k, i, &t, &v); i++)
			CHECK_INT(app(h, bseries[k], t, v), HEAD_OK);
	}
}

static int
cmp_strs(const void *a, const void *b)
{
	return str_cmp(*(const struct str *)a, *(const struct str *)b);
}

static int
cmp_lbl(const void *a, const void *b)
{
	struct tls *x = *(struct tls *const *)a, *y = *(struct tls *const *)b;

	return labels_cmp(&x->ls, &y->ls);
}

/*
 * Re-encode chunk c keeping the samples in [mint, maxt]; 0 if none is left.
 */
static int
trim_chunk(struct chunk *c, int64_t mint, int64_t maxt, struct xor_chunk *x)
{
	struct xor_iter it;
	int64_t t;
	uint64_t v;

	if (c->mint >= mint && c->maxt <= maxt)
		return 1;
	xor_chunk_reset(x);
	xor_iter_init(&it, c->data, c->len);
	while (xor_iter_next(&it, &t, &v) == 1) {
		if (t < mint || t > maxt)
			continue;
		if (x->e.n == 0)
			c->mint = t;
		xor_chunk_append(x, t, v);
		c->maxt = t;
	}
	c->data = xor_chunk_bytes(x, &c->len);
	return x->e.n > 0;
}

/*
 * The block Prometheus' head compaction makes of the same data, written by
 * block_writer: the head's whole symbol set, chunks as chunk_cutter cuts
 * them (R = 2h), trimmed to [mint, maxt). Returns its ULID in ulid.
 */
static void
write_expected_block(const char *parent, int64_t mint, int64_t maxt, char *ulid)
{
	size_t ns = sizeof(bseries) / sizeof(bseries[0]), nsym = 0;
	struct tls tl[sizeof(bseries) / sizeof(bseries[0])], *order[sizeof(bseries) / sizeof(bseries[0])];
	struct str syms[64];
	struct block_writer *w;
	struct block_meta *m;
	struct xor_chunk x[2];
	struct err e;
	int written;

	for (size_t k = 0; k < ns; k++) {
		mk(&tl[k], bseries[k]);
		order[k] = &tl[k];
		for (size_t i = 0; i < tl[k].ls.n; i++) {
			syms[nsym++] = tl[k].ls.v[i].name;
			syms[nsym++] = tl[k].ls.v[i].value;
		}
	}
	syms[nsym++] = STR_LIT("");
	qsort(syms, nsym, sizeof(syms[0]), cmp_strs);
	qsort(order, ns, sizeof(order[0]), cmp_lbl);
	w = block_writer_create(parent, &e);
	CHECK(w != NULL);
	if (w == NULL)
		return;
	for (size_t i = 0; i < nsym; i++)
		if (i == 0 || !str_eq(syms[i], syms[i - 1]))
			CHECK(block_writer_add_symbol(w, syms[i], &e) == 0);
	xor_chunk_init(&x[0]);
	xor_chunk_init(&x[1]);
	for (size_t o = 0; o < ns; o++) {
		size_t k = (size_t)(order[o] - tl), n, keep = 0, nx = 0;
		struct chunk_cutter cc;
		struct chunk *c;
		int64_t t;
		uint64_t v;

		chunk_cutter_init(&cc, R);
		for (int i = 0; bsample(k, i, &t, &v); i++)
			chunk_cutter_append(&cc, t, v);
		c = chunk_cutter_chunks(&cc, &n);
		for (size_t i = 0; i < n; i++) {
			if (c[i].maxt < mint || c[i].mint > maxt - 1)
				continue;
			c[keep] = c[i];
			/* Only the first and the last chunk can stick out: two buffers do. */
			if (c[i].mint < mint || c[i].maxt > maxt - 1)
				nx++;
			if (trim_chunk(&c[keep], mint, maxt - 1, &x[nx % 2]))
				keep++;
		}
		CHECK(block_writer_add_series(w, &order[o]->ls, c, keep, &e) == 0);
		chunk_cutter_free(&cc);
	}
	m = block_writer_meta(w);
	m->min_time = mint;
	m->max_time = maxt;
	snprintf(ulid, ULID_LEN + 1, "%s", m->ulid);
	CHECK(block_writer_commit(w, &written, &e) == 0);
	CHECK_INT(written, 1);
	xor_chunk_free(&x[0]);
	xor_chunk_free(&x[1]);
}

static uint8_t *
read_block_file(const char *parent, const char *ulid, const char *name, size_t *len)
{
	char path[PATH_MAX + 128], *data;

	snprintf(path, sizeof(path), "%s/%s/%s", parent, ulid, name);
	if (file_read_all(path, &data, len, NULL) == -1) {
		unit_fail(__FILE__, __LINE__, "cannot read %s", path);
		*len = 0;
		return NULL;
	}
	return (uint8_t *)data;
}

static void
compare_blocks(const char *a, const char *ua, const char *b, const char *ub)
{
	static const char *const files[] = { "index", "chunks/000001", "tombstones" };

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		size_t la, lb;
		uint8_t *pa = read_block_file(a, ua, files[i], &la);
		uint8_t *pb = read_block_file(b, ub, files[i], &lb);

		if (pa != NULL && pb != NULL)
			CHECK_MEM(pa, la, pb, lb);
		free(pa);
		free(pb);
	}
}

static void
check_head_block(int64_t mint, int64_t maxt, uint64_t want_series)
{
	char got_dir[PATH_MAX], want_dir[PATH_MAX], want_ulid[ULID_LEN + 1];
	struct head *h = head_create(NULL);
	struct block_meta meta;
	struct err e;
	int written = -1;

	snprintf(got_dir, sizeof(got_dir), "%s/head-%lld", unit_tmpdir(), (long long)mint);
	snprintf(want_dir, sizeof(want_dir), "%s/want-%lld", unit_tmpdir(), (long long)mint);
	fill_block_head(h);
	memset(&meta, 0, sizeof(meta));
	if (head_write_block(h, mint, maxt, got_dir, &meta, &written, &e) == -1) {
		unit_fail(__FILE__, __LINE__, "head_write_block: %s", e.msg);
		head_free(h);
		return;
	}
	CHECK_INT(written, 1);
	CHECK_INT(meta.min_time, mint);
	CHECK_INT(meta.max_time, maxt);
	CHECK_INT(meta.level, 1);
	CHECK_INT(meta.num_series, want_series);
	write_expected_block(want_dir, mint, maxt, want_ulid);
	compare_blocks(got_dir, meta.ulid, want_dir, want_ulid);
	meta_free(&meta);
	head_free(h);
}

static void
head_block_equals_block_writer(void)
{
	/* Aligned: chunks never cross 2h, nothing is re-encoded but the open chunks. */
	check_head_block(0, 2 * HOUR, 5);
	/* Unaligned: chunks sticking out at both ends are re-encoded. */
	check_head_block(17 * MIN + 3 * SEC, 2 * HOUR + 41 * MIN, 6);
	/* Only the open chunks of the last hour. */
	check_head_block(2 * HOUR, 4 * HOUR, 5);
}

/* The lib's own block reader gets back every sample of the range. */
static void
head_block_reads_back(void)
{
	struct head *h = head_create(NULL);
	char dir[PATH_MAX + 64];
	struct block_meta meta;
	struct series_set *ss;
	struct block *b;
	const struct labels *ls;
	struct matcher *ms;
	struct err e;
	size_t nm, nsamples = 0, want = 0;
	int written;
	int64_t t;
	uint64_t v;

	fill_block_head(h);
	CHECK(head_write_block(h, 0, 2 * HOUR, unit_tmpdir(), &meta, &written, &e) == 0);
	snprintf(dir, sizeof(dir), "%s/%s", unit_tmpdir(), meta.ulid);
	for (size_t k = 0; k < sizeof(bseries) / sizeof(bseries[0]); k++)
		for (int i = 0; bsample(k, i, &t, &v); i++)
			want += t < 2 * HOUR;
	CHECK_INT(meta.num_samples, want);
	b = block_open(dir, &e);
	CHECK(b != NULL);
	if (b == NULL)
		goto out;
	CHECK(selector_parse("{__name__=~\".+\"}", &ms, &nm, &e) == 0);
	ss = series_set_open(&b, 1, ms, nm, INT64_MIN, INT64_MAX, &e);
	while (series_set_next(ss, &ls, &e) == 1) {
		struct tls tl;
		size_t k;
		int i = 0;

		for (k = 0; k < sizeof(bseries) / sizeof(bseries[0]); k++)
			if (labels_cmp(ls, mk(&tl, bseries[k])) == 0)
				break;
		CHECK(k < sizeof(bseries) / sizeof(bseries[0]));
		while (series_set_sample(ss, &t, &v, &e) == 1) {
			int64_t wt;
			uint64_t wv;

			if (!bsample(k, i++, &wt, &wv))
				break;
			CHECK_INT(t, wt);
			CHECK_U64(v, wv);
			nsamples++;
		}
	}
	CHECK_INT(nsamples, want);
	series_set_close(ss);
	matchers_free(ms, nm);
	block_close(b);
out:
	meta_free(&meta);
	head_free(h);
}

static void
head_block_with_no_samples_in_range_is_not_written(void)
{
	struct head *h = head_create(NULL);
	struct err e;
	int written = -1;

	fill_block_head(h);
	CHECK(head_write_block(h, 10 * HOUR, 12 * HOUR, unit_tmpdir(), NULL, &written, &e) == 0);
	CHECK_INT(written, 0);
	head_free(h);
}

static void
head_truncate_drops_chunks_and_series(void)
{
	struct head *h = head_create(NULL);
	struct head_refs dropped = { 0 }, p = { 0 };
	struct head_stats st, before;
	struct str *vals;
	size_t nvals;
	uint64_t ref;
	int created;
	struct tls tl;

	head_append_begin(h);
	for (int64_t t = 0; t < 3 * HOUR; t += 15 * SEC)
		CHECK_INT(app(h, "__name__=a,job=keep", t, f64(1)), HEAD_OK);
	for (int64_t t = 0; t < 30 * MIN; t += 15 * SEC)
		CHECK_INT(app(h, "__name__=b,job=gone", t, f64(2)), HEAD_OK);
	for (int64_t t = 2 * HOUR; t < 3 * HOUR; t += 15 * SEC)
		CHECK_INT(app(h, "__name__=c,job=keep", t, f64(3)), HEAD_OK);
	head_stats(h, &before);
	CHECK_INT(before.num_chunks, 6 + 1 + 2);

	/* Already below: nothing happens. */
	head_truncate(h, -5, &dropped);
	CHECK_INT(dropped.n, 0);

	head_truncate(h, 2 * HOUR, &dropped);
	CHECK_INT(dropped.n, 1);
	CHECK_U64(dropped.v[0], 2);
	head_stats(h, &st);
	CHECK_INT(st.num_series, 2);
	CHECK_INT(st.num_chunks, 2 + 2);
	CHECK_INT(st.min_time, 2 * HOUR);
	CHECK_INT(st.min_valid_time, 2 * HOUR);
	CHECK(st.strings < before.strings);
	CHECK_INT(count_selected(h, "a"), 1);
	CHECK_INT(count_selected(h, "b"), 0);
	head_label_values(h, STR_LIT("job"), &vals, &nvals);
	CHECK_INT(nvals, 1);
	free(vals);
	head_all_postings(h, &p);
	CHECK_INT(p.n, 2);
	if (p.n == 2) {
		CHECK_U64(p.v[0], 1);
		CHECK_U64(p.v[1], 3);
	}
	head_postings(h, STR_LIT("job"), STR_LIT("keep"), &p);
	CHECK_INT(p.n, 2);
	head_refs_free(&p);
	CHECK_INT(samples_of(h, "a", INT64_MIN, INT64_MAX, NULL, NULL, 0), HOUR / (15 * SEC));

	/* The window now starts at the truncation time; a dropped series comes back with a new ref. */
	head_append_begin(h);
	CHECK_INT(app(h, "__name__=a,job=keep", 2 * HOUR - 1, f64(1)), HEAD_ERR_OUT_OF_BOUNDS);
	CHECK_INT(head_append(h, mk(&tl, "__name__=b,job=gone"), 3 * HOUR, f64(1), &ref, &created),
	    HEAD_OK);
	CHECK_U64(ref, 4);
	CHECK_INT(created, 1);

	/* Everything older than 4h: all gone, the head's min time follows its max. */
	dropped.n = 0;
	head_truncate(h, 4 * HOUR, &dropped);
	CHECK_INT(dropped.n, 3);
	head_stats(h, &st);
	CHECK_INT(st.num_series, 0);
	CHECK_INT(st.num_chunks, 0);
	CHECK_INT(st.strings, 0);
	CHECK_INT(st.min_time, 4 * HOUR);
	CHECK_INT(st.max_time, 4 * HOUR);
	head_refs_free(&dropped);
	head_free(h);

	/* Data starting later than the truncation time moves the min time up to it. */
	h = head_create(NULL);
	head_append_begin(h);
	for (int64_t t = 0; t <= 10 * MIN; t += MIN)
		CHECK_INT(app(h, "__name__=old", t, f64(1)), HEAD_OK);
	for (int64_t t = 2 * HOUR; t <= 4 * HOUR; t += MIN)
		CHECK_INT(app(h, "__name__=x", t, f64(1)), HEAD_OK);
	head_truncate(h, HOUR, NULL);
	head_stats(h, &st);
	CHECK_INT(st.num_series, 1);
	CHECK_INT(st.min_time, 2 * HOUR);
	CHECK_INT(st.min_valid_time, 2 * HOUR);
	head_free(h);

	/* ... but never into the append window (an hour behind the newest sample). */
	h = head_create(NULL);
	head_append_begin(h);
	CHECK_INT(app(h, "__name__=old", 0, f64(1)), HEAD_OK);
	for (int64_t t = 3 * HOUR + 30 * MIN; t <= 4 * HOUR; t += MIN)
		CHECK_INT(app(h, "__name__=x", t, f64(1)), HEAD_OK);
	head_truncate(h, HOUR, NULL);
	head_stats(h, &st);
	CHECK_INT(st.min_time, 3 * HOUR);
	CHECK_INT(st.min_valid_time, 3 * HOUR);
	head_free(h);

	/* A fresh head only takes the time. */
	h = head_create(NULL);
	head_truncate(h, HOUR, NULL);
	CHECK_INT(head_min_time(h), HOUR);
	CHECK_INT(head_max_time(h), HOUR);
	head_append_begin(h);
	CHECK_INT(app(h, "__name__=x", HOUR - 1, f64(1)), HEAD_ERR_OUT_OF_BOUNDS);
	CHECK_INT(app(h, "__name__=x", HOUR, f64(1)), HEAD_OK);
	head_free(h);
}

static void
head_compactable_at_one_and_a_half_ranges(void)
{
	struct head *h = head_create(NULL);
	int64_t mint = 0, maxt = 0;

	CHECK_INT(head_compactable(h, &mint, &maxt), 0);
	head_append_begin(h);
	CHECK_INT(app(h, "__name__=x", 1000, f64(1)), HEAD_OK);
	CHECK_INT(app(h, "__name__=x", 1000 + 3 * HOUR, f64(1)), HEAD_OK);
	CHECK_INT(head_compactable(h, &mint, &maxt), 0);
	CHECK_INT(app(h, "__name__=x", 1001 + 3 * HOUR, f64(1)), HEAD_OK);
	CHECK_INT(head_compactable(h, &mint, &maxt), 1);
	CHECK_INT(mint, 1000);
	CHECK_INT(maxt, 2 * HOUR);
	head_free(h);
}

static void
head_limits_per_user_then_per_metric(void)
{
	struct head_opts o = { 0, 3, 2 };
	struct head *h = head_create(&o);
	struct buf msg = { 0 };
	struct tls tl;

	head_append_begin(h);
	CHECK_INT(app(h, "__name__=x,i=1", 1000, f64(1)), HEAD_OK);
	CHECK_INT(app(h, "__name__=x,i=2", 1000, f64(1)), HEAD_OK);
	CHECK_INT(app(h, "__name__=x,i=3", 1000, f64(1)), HEAD_ERR_METRIC_SERIES_LIMIT);
	CHECK_INT(app(h, "__name__=y,i=1", 1000, f64(1)), HEAD_OK);
	CHECK_INT(app(h, "__name__=y,i=2", 1000, f64(1)), HEAD_ERR_SERIES_LIMIT);
	/* Per user comes first even where the metric is also full. */
	CHECK_INT(app(h, "__name__=x,i=3", 1000, f64(1)), HEAD_ERR_SERIES_LIMIT);
	CHECK_INT(app(h, "i=9", 1000, f64(1)), HEAD_ERR_SERIES_LIMIT);
	/* Existing series are not limited. */
	CHECK_INT(app(h, "__name__=x,i=1", 2000, f64(1)), HEAD_OK);

	head_err_format(h, HEAD_ERR_SERIES_LIMIT, mk(&tl, "__name__=y,i=2"), &msg);
	buf_put_u8(&msg, 0);
	CHECK_STR((char *)msg.p, "per-user series limit of 3 exceeded, please contact "
	    "administrator to raise it (local limit: 3 global limit: 0 actual local limit: 3)");
	buf_reset(&msg);
	head_err_format(h, HEAD_ERR_METRIC_SERIES_LIMIT, mk(&tl, "__name__=x,e=,i=3"), &msg);
	buf_put_u8(&msg, 0);
	CHECK_STR((char *)msg.p, "per-metric series limit of 2 exceeded for metric x, please "
	    "contact administrator to raise it (local limit: 2 global limit: 0 actual local "
	    "limit: 2) for series {__name__=\"x\", i=\"3\"}");
	buf_reset(&msg);
	head_err_format(h, HEAD_ERR_DUP_LABEL_NAME, mk(&tl, "a=1,a=2"), &msg);
	buf_put_u8(&msg, 0);
	CHECK_STR((char *)msg.p, "label name \"a\" is not unique: invalid sample");
	buf_reset(&msg);
	head_err_format(h, HEAD_ERR_OUT_OF_ORDER, mk(&tl, "a=1"), &msg);
	buf_put_u8(&msg, 0);
	CHECK_STR((char *)msg.p, "out of order sample");

	/* Room again once truncation dropped series. */
	head_truncate(h, 1500, NULL);
	head_append_begin(h);
	CHECK_INT(app(h, "__name__=x,i=3", 3000, f64(1)), HEAD_OK);
	CHECK_INT(app(h, "__name__=z", 3000, f64(1)), HEAD_OK);
	CHECK_INT(app(h, "__name__=z,i=1", 3000, f64(1)), HEAD_ERR_SERIES_LIMIT);
	buf_free(&msg);
	head_free(h);

	/* Without __name__ only the per-user limit applies. */
	o.max_series = 0;
	o.max_series_per_metric = 1;
	h = head_create(&o);
	head_append_begin(h);
	CHECK_INT(app(h, "i=1", 1000, f64(1)), HEAD_OK);
	CHECK_INT(app(h, "i=2", 1000, f64(1)), HEAD_OK);
	CHECK_INT(app(h, "__name__=a", 1000, f64(1)), HEAD_OK);
	CHECK_INT(app(h, "__name__=a,i=1", 1000, f64(1)), HEAD_ERR_METRIC_SERIES_LIMIT);
	head_free(h);
}

static void
head_replay_hooks(void)
{
	struct head *h = head_create(NULL);
	struct head_refs dropped = { 0 };
	struct head_stats st;
	struct labels got;
	struct tls tl;
	struct err e;
	int64_t ts[8];
	uint64_t vs[8], ref;
	int created;

	head_set_min_valid_time(h, 1000);
	CHECK(head_replay_series(h, 5, mk(&tl, "__name__=a"), &e) == 0);
	CHECK(head_replay_series(h, 3, mk(&tl, "__name__=b"), &e) == 0);
	CHECK(head_replay_series(h, 4, mk(&tl, "__name__=c"), &e) == 0);
	CHECK_INT(head_replay_sample(h, 5, 2000, f64(1)), 1);
	CHECK_INT(head_replay_sample(h, 5, 500, f64(1)), 0);
	CHECK_INT(head_replay_sample(h, 5, 2000, f64(2)), 0);
	CHECK_INT(head_replay_sample(h, 5, 1999, f64(2)), 0);
	CHECK_INT(head_replay_sample(h, 7, 3000, f64(1)), 0);
	CHECK_INT(head_replay_sample(h, 3, 900, f64(1)), 0);
	/* The same labels under a new ref: the series loses what it had, the ref aliases it. */
	CHECK(head_replay_series(h, 9, mk(&tl, "__name__=a"), &e) == 0);
	CHECK_INT(head_replay_sample(h, 9, 2500, f64(3)), 1);
	CHECK_INT(head_replay_sample(h, 5, 2600, f64(4)), 1);
	CHECK(head_replay_series(h, 3, mk(&tl, "__name__=other"), &e) == -1);
	head_stats(h, &st);
	CHECK_INT(st.replay_unknown_refs, 1);
	CHECK_INT(st.num_series, 3);
	head_replay_end(h, &dropped);
	CHECK_INT(dropped.n, 2);
	if (dropped.n == 2) {
		CHECK_U64(dropped.v[0], 3);
		CHECK_U64(dropped.v[1], 4);
	}
	head_stats(h, &st);
	CHECK_INT(st.num_series, 1);
	CHECK_INT(st.next_ref, 10);
	/* Like Prometheus, the min time remembers the sample the reset dropped. */
	CHECK_INT(st.min_time, 2000);
	CHECK_INT(st.max_time, 2600);
	CHECK_INT(samples_of(h, "a", INT64_MIN, INT64_MAX, ts, vs, 8), 2);
	CHECK_INT(ts[0], 2500);
	CHECK_U64(vs[1], f64(4));
	CHECK_INT(head_series_labels(h, 5, &got), 1);
	CHECK(labels_cmp(&got, mk(&tl, "__name__=a")) == 0);
	CHECK_INT(head_series_labels(h, 3, &got), 0);
	/* The alias is gone after replay. */
	CHECK_INT(head_replay_sample(h, 9, 2700, f64(1)), 0);
	head_append_begin(h);
	CHECK_INT(head_append(h, mk(&tl, "__name__=new"), 2700, f64(1), &ref, &created), HEAD_OK);
	CHECK_U64(ref, 10);
	CHECK_INT(created, 1);
	head_refs_free(&dropped);
	head_free(h);

	/* Samples older than the min valid time are dropped; the min time is raised to it. */
	h = head_create(NULL);
	head_set_min_valid_time(h, 50);
	CHECK(head_replay_series(h, 1, mk(&tl, "__name__=a"), &e) == 0);
	CHECK_INT(head_replay_sample(h, 1, 40, f64(1)), 0);
	CHECK_INT(head_replay_sample(h, 1, 100, f64(1)), 1);
	head_replay_end(h, NULL);
	CHECK_INT(head_min_time(h), 100);
	head_append_begin(h);
	CHECK_INT(app(h, "__name__=a", 49, f64(1)), HEAD_ERR_OUT_OF_BOUNDS);
	CHECK_INT(app(h, "__name__=a", 99, f64(1)), HEAD_ERR_OUT_OF_ORDER);
	head_free(h);
}

/* refs is exactly want[0 .. n). */
static void
check_refs(const struct head_refs *refs, const uint64_t *want, size_t n)
{
	CHECK_INT(refs->n, n);
	for (size_t i = 0; i < refs->n && i < n; i++)
		CHECK_U64(refs->v[i], want[i]);
}

/*
 * A WAL can bring refs of 2^32 and more, in any order: postings keep them
 * after the smaller ones, lookups, aliases and the gc work as for any ref.
 */
static void
head_replay_refs_above_32_bits(void)
{
	const uint64_t big = (uint64_t)1 << 32;
	const uint64_t want_all[] = { 3, 7, big, big + 5 };
	const uint64_t want_new[] = { 7, big + 5, 2 * big + 1 };
	struct head *h = head_create(NULL);
	struct head_refs dropped = { 0 }, refs = { 0 };
	struct labels got;
	struct tls tl;
	struct err e;
	uint64_t ref;
	int created;

	CHECK(head_replay_series(h, big + 5, mk(&tl, "__name__=a,job=j"), &e) == 0);
	CHECK(head_replay_series(h, 3, mk(&tl, "__name__=b,job=j"), &e) == 0);
	CHECK(head_replay_series(h, big, mk(&tl, "__name__=c,job=j"), &e) == 0);
	CHECK(head_replay_series(h, 7, mk(&tl, "__name__=d,job=j"), &e) == 0);
	CHECK(head_replay_series(h, 2 * big, mk(&tl, "__name__=e,job=j"), &e) == 0);
	CHECK(head_replay_series(h, big, mk(&tl, "__name__=x"), &e) == -1);
	CHECK_INT(head_replay_sample(h, big + 5, HOUR, f64(1)), 1);
	CHECK_INT(head_replay_sample(h, 3, 10, f64(1)), 1);
	CHECK_INT(head_replay_sample(h, big, 20, f64(1)), 1);
	CHECK_INT(head_replay_sample(h, 7, HOUR, f64(1)), 1);
	/* An alias above 2^32 of a series below it. */
	CHECK(head_replay_series(h, big + 9, mk(&tl, "__name__=d,job=j"), &e) == 0);
	CHECK_INT(head_replay_sample(h, big + 9, HOUR + 1, f64(2)), 1);
	head_replay_end(h, &dropped);
	check_refs(&dropped, (const uint64_t[]){ 2 * big }, 1);
	head_all_postings(h, &refs);
	check_refs(&refs, want_all, 4);
	head_postings(h, STR_LIT("job"), STR_LIT("j"), &refs);
	check_refs(&refs, want_all, 4);
	CHECK_INT(head_series_labels(h, big + 5, &got), 1);
	CHECK(labels_cmp(&got, mk(&tl, "__name__=a,job=j")) == 0);
	CHECK_INT(head_series_labels(h, big, &got), 1);
	CHECK(labels_cmp(&got, mk(&tl, "__name__=c,job=j")) == 0);
	CHECK_INT(head_series_labels(h, 2 * big, &got), 0);
	CHECK_INT(samples_of(h, "d", INT64_MIN, INT64_MAX, NULL, NULL, 0), 1);

	/* New series continue after the largest ref; the gc drops small and large ones. */
	head_append_begin(h);
	CHECK_INT(head_append(h, mk(&tl, "__name__=f,job=j"), HOUR, f64(1), &ref, &created),
	    HEAD_OK);
	CHECK_U64(ref, 2 * big + 1);
	dropped.n = 0;
	head_truncate(h, 30 * MIN, &dropped);
	check_refs(&dropped, (const uint64_t[]){ 3, big }, 2);
	head_postings(h, STR_LIT("job"), STR_LIT("j"), &refs);
	check_refs(&refs, want_new, 3);
	CHECK_INT(head_series_labels(h, big, &got), 0);
	CHECK_INT(count_selected(h, "{job=\"j\"}"), 3);
	head_refs_free(&refs);
	head_refs_free(&dropped);
	head_free(h);
}

/*
 * Series ids freed by a gc are taken again by new series, whose refs no
 * longer follow their ids: every ref still finds its own series.
 */
static void
head_refs_after_id_reuse(void)
{
	struct head *h = head_create(NULL);
	struct head_refs refs = { 0 };
	struct head_stats st;
	struct labels got;
	char spec[64];
	struct tls tl;

	head_append_begin(h);
	for (int i = 0; i < 100; i++) {
		snprintf(spec, sizeof(spec), "__name__=m,i=%d", i);
		CHECK_INT(app(h, spec, i % 2 == 0 ? 0 : HOUR, f64(1)), HEAD_OK);
	}
	/* The even ones (refs 1, 3, ...) go. */
	head_truncate(h, 30 * MIN, NULL);
	head_append_begin(h);
	for (int i = 100; i < 200; i++) {
		snprintf(spec, sizeof(spec), "__name__=m,i=%d", i);
		CHECK_INT(app(h, spec, HOUR, f64(1)), HEAD_OK);
	}
	head_stats(h, &st);
	CHECK_INT(st.num_series, 150);
	CHECK_INT(st.next_ref, 201);
	for (uint64_t ref = 1; ref <= 200; ref++) {
		int i = (int)ref - 1, live = i >= 100 || i % 2 == 1;

		CHECK_INT(head_series_labels(h, ref, &got), live);
		if (!live)
			continue;
		snprintf(spec, sizeof(spec), "__name__=m,i=%d", i);
		CHECK(labels_cmp(&got, mk(&tl, spec)) == 0);
	}
	head_all_postings(h, &refs);
	CHECK_INT(refs.n, 150);
	CHECK_INT(count_selected(h, "m"), 150);
	head_truncate(h, 2 * HOUR, NULL);
	head_stats(h, &st);
	CHECK_INT(st.num_series, 0);
	head_refs_free(&refs);
	head_free(h);
}

static void
head_smoke_100k_series(void)
{
	struct head *h = head_create(NULL);
	struct head_refs dropped = { 0 }, refs = { 0 };
	struct head_stats st;
	struct matcher *ms;
	struct err e;
	size_t nm, want = 0;
	char spec[128];

	for (int j = 0; j < 10; j++) {
		head_append_begin(h);
		for (int i = 0; i < 100000; i++) {
			snprintf(spec, sizeof(spec), "__name__=m%d,inst=i%d,job=j%d", i % 10, i, i % 7);
			if (app(h, spec, (int64_t)j * 15 * SEC, f64((double)(i + j))) != HEAD_OK) {
				unit_fail(__FILE__, __LINE__, "append %s failed", spec);
				goto out;
			}
		}
	}
	head_stats(h, &st);
	CHECK_INT(st.num_series, 100000);
	CHECK_INT(st.num_chunks, 100000);
	CHECK_INT(st.strings, 3 + 10 + 100000 + 7);
	CHECK_INT(count_selected(h, "m3"), 10000);
	CHECK(selector_parse("{job=~\"j[12]\",inst!=\"i1\"}", &ms, &nm, &e) == 0);
	head_select_refs(h, ms, nm, &refs);
	for (int i = 0; i < 100000; i++)
		want += (i % 7 == 1 || i % 7 == 2) && i != 1;
	CHECK_INT(refs.n, want);
	for (size_t i = 1; i < refs.n; i++)
		CHECK(refs.v[i - 1] < refs.v[i]);
	matchers_free(ms, nm);
	CHECK_INT(samples_of(h, "m5{inst=\"i99995\"}", INT64_MIN, INT64_MAX, NULL, NULL, 0), 10);
	head_truncate(h, HOUR, &dropped);
	CHECK_INT(dropped.n, 100000);
	head_stats(h, &st);
	CHECK_INT(st.num_series, 0);
	CHECK_INT(st.strings, 0);
out:
	head_refs_free(&refs);
	head_refs_free(&dropped);
	head_free(h);
}

UNIT_CASES(
	UNIT_CASE(head_append_errors_follow_prometheus),
	UNIT_CASE(head_append_window_is_frozen_per_request),
	UNIT_CASE(head_chunks_match_chunk_cutter),
	UNIT_CASE(head_chunk_growth_matches_chunk_cutter),
	UNIT_CASE(head_select_orders_by_labels),
	UNIT_CASE(head_block_equals_block_writer),
	UNIT_CASE(head_block_reads_back),
	UNIT_CASE(head_block_with_no_samples_in_range_is_not_written),
	UNIT_CASE(head_truncate_drops_chunks_and_series),
	UNIT_CASE(head_compactable_at_one_and_a_half_ranges),
	UNIT_CASE(head_limits_per_user_then_per_metric),
	UNIT_CASE(head_replay_hooks),
	UNIT_CASE(head_replay_refs_above_32_bits),
	UNIT_CASE(head_refs_after_id_reuse),
	UNIT_CASE(head_smoke_100k_series),
);
