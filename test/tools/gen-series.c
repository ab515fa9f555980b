/*
 * gen-series — a deterministic test and benchmark data set: counters, gauges
 * and odd values (NaN, ±Inf, -0, subnormals) on label sets with UTF-8,
 * quotes and backslashes, scraped at a jittered interval.
 *
 *   gen-series [-series N] [-samples M] [-interval MS] [-start MS] OM EXPECT
 *   gen-series [...] -block DIR EXPECT
 *
 * OM gets the OpenMetrics text (time-major, as scrapes arrive, ending in
 * "# EOF"); EXPECT gets the same samples in `promtool tsdb dump` form,
 * sorted as dump sorts them, with timestamps converted exactly as promtool
 * converts seconds to ms. Either file may be "-" (stdout) or "/dev/null".
 *
 * The text formats cannot carry a stale marker (0x7FF0000000000002), so with
 * -block the samples go straight into the block-import pipeline
 * (lib/tsdb/importer) and into 2h blocks in DIR, with stale markers: every
 * 97th sample of some rt_queue_depth series, and the last 10 samples of
 * every rt_queue_depth series whose number is 2 mod 8 (a target that went
 * away). rt_queue_depth has no other NaN, so a NaN there is a stale marker.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/flags.h"
#include "lib/base/log.h"
#include "lib/base/xmalloc.h"
#include "lib/tsdb/encoding.h"
#include "lib/tsdb/gofmt.h"
#include "lib/tsdb/importer.h"
#include "lib/tsdb/labels.h"

#define USAGE "gen-series [-series N] [-samples M] [-interval MS] [-start MS] {OM | -block DIR} EXPECT"

struct gseries {
	struct labels	 ls;
	char		*strs;
	double		 counter;
};

static const char *const kinds[] = {
	"rt_requests_total", "rt_temperature_celsius", "rt_queue_depth", "rt_odd_values",
};
static const char *const cities[] = {
	"Z\xc3\xbcrich", "\xe6\x9d\xb1\xe4\xba\xac", "S\xc3\xa3o Paulo", "Reykjav\xc3\xadk", "\xf0\x9f\x98\x80 smile",
};

static uint64_t
mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static uint64_t
h2(uint64_t a, uint64_t b)
{
	return mix(a * 0x9e3779b97f4a7c15ULL + b + 1);
}

/* Build series i's labels (sorted by name). */
static void
series_make(struct gseries *s, uint64_t i)
{
	char name[64], inst[64], extra_name[16], extra[96], job[16];
	struct label l[4];
	size_t kind = i % 4;

	snprintf(name, sizeof(name), "%s", kinds[kind]);
	snprintf(inst, sizeof(inst), "host-%05" PRIu64 ":9100", i / 4);
	snprintf(job, sizeof(job), "%s", (const char *[]){ "node", "api", "db" }[i % 3]);
	switch (kind) {
	case 0:
		snprintf(extra_name, sizeof(extra_name), "path");
		snprintf(extra, sizeof(extra), "C:\\data\\%" PRIu64, i % 17);
		break;
	case 1:
		snprintf(extra_name, sizeof(extra_name), "city");
		snprintf(extra, sizeof(extra), "%s", cities[i % 5]);
		break;
	case 2:
		snprintf(extra_name, sizeof(extra_name), "msg");
		snprintf(extra, sizeof(extra), "say \"hi\" #%" PRIu64, i % 7);
		break;
	default:
		snprintf(extra_name, sizeof(extra_name), "mode");
		snprintf(extra, sizeof(extra), "%s", i % 2 ? "odd" : "even");
		break;
	}
	l[0] = (struct label){ str_c("__name__"), str_c(name) };
	l[1] = (struct label){ str_c("instance"), str_c(inst) };
	l[2] = (struct label){ str_c("job"), str_c(job) };
	l[3] = (struct label){ str_c(extra_name), str_c(extra) };
	struct labels tmp = { l, 4 };
	labels_sort(&tmp);
	s->ls = labels_copy(&tmp);
	s->counter = 0;
}

/* Timestamp of sample j of series i, as the seconds text and the ms promtool derives. */
static int64_t
sample_time(uint64_t i, uint64_t j, int64_t start, int64_t interval, char *secs, size_t cap)
{
	int64_t ms = start + (int64_t)j * interval + (int64_t)(h2(i, j) % 1000);

	snprintf(secs, cap, "%" PRId64 ".%03" PRId64, ms / 1000, ms % 1000);
	return (int64_t)(strtod(secs, NULL) * 1000.0);
}

#define STALE_NAN 0x7FF0000000000002ULL

static int
sample_is_stale(uint64_t i, uint64_t j, uint64_t nsamples)
{
	if (i % 4 != 2)
		return 0;
	return (i % 8 == 2 && j + 10 >= nsamples) || (i % 8 == 6 && j % 97 == 96);
}

static double
sample_value(struct gseries *s, uint64_t i, uint64_t j)
{
	uint64_t r = h2(i + 1000003, j);

	switch (i % 4) {
	case 0:
		if (r % 500 == 0)
			s->counter = 0;			/* counter reset */
		s->counter += (double)(r % 100);
		if (r % 7 == 0)
			s->counter += 0.25;
		return s->counter;
	case 1:
		return (double)(int64_t)(r % 4000 - 1000) / 100.0;
	case 2:
		return (double)(r % 50);
	default: {
		static const double odd[] = {
			NAN, INFINITY, -INFINITY, -0.0, 1e-300, 5e-324,
			1.7976931348623157e308, 0.1, 1e21, 123456789.125,
		};
		if (r % 3 == 0)
			return odd[r / 3 % 10];
		return (double)(r % 1000000) / 1e3;
	}
	}
}

static void
om_escape(FILE *fp, struct str s)
{
	for (size_t k = 0; k < s.len; k++) {
		char c = s.p[k];
		if (c == '\\' || c == '"')
			fputc('\\', fp);
		if (c == '\n') {
			fputs("\\n", fp);
			continue;
		}
		fputc(c, fp);
	}
}

static void
om_value(FILE *fp, double v)
{
	if (isnan(v))
		fputs("NaN", fp);
	else if (isinf(v))
		fputs(v > 0 ? "+Inf" : "-Inf", fp);
	else
		fprintf(fp, "%.17g", v);
}

/* The same samples as the text, through the importer, with stale markers. */
static void
write_blocks(const char *dir, struct gseries *series, int64_t nseries,
    int64_t nsamples, int64_t start, int64_t interval)
{
	struct importer_config cfg = {
		.out_dir = dir,
		.block_duration = 7200000,
		.max_memory = (uint64_t)256 << 20,
	};
	struct importer *imp;
	struct err e;
	char secs[32];

	if ((imp = importer_create(&cfg, &e)) == NULL)
		fatalx("%s", e.msg);
	for (int64_t j = 0; j < nsamples; j++) {
		for (int64_t i = 0; i < nseries; i++) {
			struct gseries *s = &series[i];
			double v = sample_value(s, (uint64_t)i, (uint64_t)j);
			struct text_sample ts = { .labels = s->ls };

			ts.t = sample_time((uint64_t)i, (uint64_t)j, start, interval, secs, sizeof(secs));
			memcpy(&ts.v, &v, sizeof(ts.v));
			if (isnan(v))
				ts.v = 0x7FF8000000000001ULL;
			if (sample_is_stale((uint64_t)i, (uint64_t)j, (uint64_t)nsamples))
				ts.v = STALE_NAN;
			if (importer_add(imp, &ts, &e) == -1)
				fatalx("%s", e.msg);
		}
	}
	if (importer_write_blocks(imp, &e) == -1)
		fatalx("%s", e.msg);
	importer_free(imp);
	for (int64_t i = 0; i < nseries; i++)
		series[i].counter = 0;
}

static FILE *
open_out(const char *path)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");

	if (fp == NULL)
		fatal("open %s", path);
	setvbuf(fp, NULL, _IOFBF, 1 << 20);
	return fp;
}

static const struct gseries *sort_base;

static int
rank_cmp(const void *a, const void *b)
{
	const struct gseries *x = &sort_base[*(const uint32_t *)a];
	const struct gseries *y = &sort_base[*(const uint32_t *)b];

	return labels_cmp(&x->ls, &y->ls);
}

int
main(int argc, char **argv)
{
	int64_t nseries = 10000, nsamples = 720, interval = 15000, start = 1700006400000;
	const char *block_dir = NULL;
	const struct flag flags[] = {
		{ "series", FLAG_INT, &nseries, "10000", "number of series" },
		{ "samples", FLAG_INT, &nsamples, "720", "samples per series" },
		{ "interval", FLAG_INT, &interval, "15000", "scrape interval in ms (plus 0-999 ms jitter)" },
		{ "start", FLAG_INT, &start, "1700006400000", "first scrape, ms since the epoch" },
		{ "block", FLAG_STRING, &block_dir, NULL, "write 2h blocks with stale markers into this dir instead of OpenMetrics text" },
		{ NULL, 0, NULL, NULL, NULL },
	};
	struct gseries *series;
	struct buf line = { 0 };
	uint32_t *order;
	FILE *om = NULL, *ex;
	char secs[32], val[GOFMT_FLOAT_MAX];
	int nargs;

	log_init("gen-series", LOG_INFO);
	nargs = flags_parse(flags, USAGE, argc, argv);
	if (nargs != (block_dir ? 1 : 2)) {
		flags_usage(stderr, USAGE, flags);
		return 100;
	}
	if (block_dir == NULL)
		om = open_out(argv[0]);
	ex = open_out(argv[nargs - 1]);
	series = xcalloc((size_t)nseries, sizeof(*series));
	for (int64_t i = 0; i < nseries; i++)
		series_make(&series[i], (uint64_t)i);

	if (block_dir != NULL)
		write_blocks(block_dir, series, nseries, nsamples, start, interval);
	for (int64_t j = 0; j < nsamples && om != NULL; j++) {
		for (int64_t i = 0; i < nseries; i++) {
			struct gseries *s = &series[i];
			double v = sample_value(s, (uint64_t)i, (uint64_t)j);

			sample_time((uint64_t)i, (uint64_t)j, start, interval, secs, sizeof(secs));
			/* __name__ sorts first in these sets; strings are not NUL-terminated */
			fwrite(s->ls.v[0].value.p, 1, s->ls.v[0].value.len, om);
			fputc('{', om);
			for (size_t k = 1; k < s->ls.n; k++) {
				fprintf(om, "%s%.*s=\"", k > 1 ? "," : "",
				    (int)s->ls.v[k].name.len, s->ls.v[k].name.p);
				om_escape(om, s->ls.v[k].value);
				fputc('"', om);
			}
			fputs("} ", om);
			om_value(om, v);
			fprintf(om, " %s\n", secs);
		}
	}
	if (om != NULL)
		fputs("# EOF\n", om);

	order = xcalloc((size_t)nseries, sizeof(*order));
	for (int64_t i = 0; i < nseries; i++) {
		order[i] = (uint32_t)i;
		series[i].counter = 0;
	}
	sort_base = series;
	qsort(order, (size_t)nseries, sizeof(*order), rank_cmp);
	for (int64_t r = 0; r < nseries; r++) {
		uint64_t i = order[r];
		struct gseries *s = &series[i];

		buf_reset(&line);
		gofmt_labels(&line, &s->ls);
		for (int64_t j = 0; j < nsamples; j++) {
			double v = sample_value(s, i, (uint64_t)j);
			int64_t ms = sample_time(i, (uint64_t)j, start, interval, secs, sizeof(secs));
			uint64_t bits;

			memcpy(&bits, &v, sizeof(bits));
			if (isnan(v))
				bits = 0x7FF8000000000001ULL;	/* what the text parsers yield */
			if (block_dir != NULL && sample_is_stale(i, (uint64_t)j, (uint64_t)nsamples))
				bits = STALE_NAN;		/* dump prints it as NaN too */
			gofmt_float(val, bits);
			fwrite(line.p, 1, line.len, ex);
			fprintf(ex, " %s %" PRId64 "\n", val, ms);
		}
	}
	if ((om != NULL && fflush(om) == EOF) || fflush(ex) == EOF)
		fatal("write");
	for (int64_t i = 0; i < nseries; i++)
		labels_free_copy(&series[i].ls);
	free(series);
	free(order);
	buf_free(&line);
	return 0;
}
