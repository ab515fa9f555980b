#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/metrics.h"
#include "lib/tsdb/gofmt.h"
#include "test/unit/unit.h"

static char *
exposition(struct metrics *m)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	metrics_write(m, fp);
	fclose(fp);
	return text;
}

/* Go's FormatFloat(v, 'g', -1, 64), as promtool prints it (gofmt is checked against promtool). */
static void
float_format_matches_go(void)
{
	static const double fixed[] = {
		1, -1, 0.5, 1e6, 123456.7, 1234567, 0.0001, 0.00001, 1.5e300, 100000,
		-2.5, 5e-324, 1.7976931348623157e308, 0.1, 1.0 / 3, 999999, 1e21, 1e-7,
		123456789.12345679, 2.5e-5,
	};
	char a[40], b[GOFMT_FLOAT_MAX];
	uint64_t bits;
	double d;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		metrics_format_float(a, sizeof(a), fixed[i]);
		memcpy(&bits, &fixed[i], sizeof(bits));
		gofmt_float(b, bits);
		CHECK_STR(a, b);
	}
	srandom(7);
	for (int i = 0; i < 20000; i++) {
		bits = (uint64_t)random() << 33 ^ (uint64_t)random() << 11 ^ (uint64_t)random();
		memcpy(&d, &bits, sizeof(d));
		if (isnan(d))
			continue;
		metrics_format_float(a, sizeof(a), d);
		gofmt_float(b, bits);
		if (strcmp(a, b) != 0) {
			CHECK_STR(a, b);
			break;
		}
	}
	metrics_format_float(a, sizeof(a), INFINITY);
	CHECK_STR(a, "+Inf");
	metrics_format_float(a, sizeof(a), NAN);
	CHECK_STR(a, "NaN");
}

/* client_golang's layout: families by name, series by label values, escapes, histograms. */
static void
exposition_layout(void)
{
	static const char *const lbl[] = { "reason", "user", NULL };
	static const double buckets[] = { 0.1, 1 };
	struct metrics *m = metrics_create();
	struct metric_family *disc, *hist;
	struct metric *g;
	char *text;

	disc = metrics_family(m, METRIC_COUNTER, "cortex_discarded_samples_total",
	    "The total number of samples that were discarded.", lbl, NULL, 0);
	g = metric_with(metrics_family(m, METRIC_GAUGE, "a_gauge", "Help with \\ and\nnewline.",
	    NULL, NULL, 0));
	hist = metrics_family(m, METRIC_HISTOGRAM, "h_seconds", "A histogram.", NULL, buckets, 2);
	metric_add(metric_with(disc, "sample-out-of-order", "u\"2"), 3);
	metric_inc(metric_with(disc, "sample-out-of-bounds", "u1"));
	metric_inc(metric_with(disc, "sample-out-of-bounds", "u1"));
	metric_set(g, 1e6);
	metric_observe(metric_with(hist), 0.05);
	metric_observe(metric_with(hist), 0.5);
	metric_observe(metric_with(hist), 7);
	/* A family without series is left out. */
	metrics_family(m, METRIC_COUNTER, "empty_total", "Nothing.", NULL, NULL, 0);
	text = exposition(m);
	CHECK_STR(text,
	    "# HELP a_gauge Help with \\\\ and\\nnewline.\n"
	    "# TYPE a_gauge gauge\n"
	    "a_gauge 1e+06\n"
	    "# HELP cortex_discarded_samples_total The total number of samples that were discarded.\n"
	    "# TYPE cortex_discarded_samples_total counter\n"
	    "cortex_discarded_samples_total{reason=\"sample-out-of-bounds\",user=\"u1\"} 2\n"
	    "cortex_discarded_samples_total{reason=\"sample-out-of-order\",user=\"u\\\"2\"} 3\n"
	    "# HELP h_seconds A histogram.\n"
	    "# TYPE h_seconds histogram\n"
	    "h_seconds_bucket{le=\"0.1\"} 1\n"
	    "h_seconds_bucket{le=\"1\"} 2\n"
	    "h_seconds_bucket{le=\"+Inf\"} 3\n"
	    "h_seconds_sum 7.55\n"
	    "h_seconds_count 3\n");
	free(text);
	/* A tenant going away takes its series along. */
	metrics_remove_label(m, "user", "u1");
	text = exposition(m);
	CHECK(strstr(text, "u1") == NULL);
	CHECK(strstr(text, "sample-out-of-order") != NULL);
	free(text);
	CHECK(metric_with(disc, "x", "y") == metric_with(disc, "x", "y"));
	metrics_free(m);
}

static void
process_metrics_present(void)
{
	struct metrics *m = metrics_create();
	char *text;

	metrics_add_process(m);
	text = exposition(m);
	CHECK(strstr(text, "\nprocess_resident_memory_bytes ") != NULL);
	CHECK(strstr(text, "\nprocess_cpu_seconds_total ") != NULL);
	CHECK(strstr(text, "\nprocess_open_fds ") != NULL);
	CHECK(strstr(text, "process_resident_memory_bytes 0\n") == NULL);
	free(text);
	metrics_free(m);
}

UNIT_CASES(
	UNIT_CASE(float_format_matches_go),
	UNIT_CASE(exposition_layout),
	UNIT_CASE(process_metrics_present),
);
