/*
 * head-bench — how fast a head ingests and what a series costs in memory.
 *
 *   head-bench [-series N] [-samples M] [-interval MS] [-block DIR]
 *
 * N series (1000 metric names x N/1000 targets, node_exporter-like label
 * sets of 4 labels) get M samples each, appended time-major as scrapes
 * arrive, one head_append_begin per scrape round. Prints appended samples/s
 * and the heap the head holds (mallinfo2: in-use arena bytes plus mmapped
 * blocks) per series after the first round and after the last, split
 * into chunk bytes and the rest, and the peak RSS. With -block, also times
 * cutting the head's first block range into DIR and truncating the head
 * after it.
 */
#include <sys/resource.h>

#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/base/flags.h"
#include "lib/base/log.h"
#include "lib/base/xmalloc.h"
#include "lib/tsdb/head.h"

#define USAGE	"head-bench [-series N] [-samples M] [-interval MS] [-block DIR]"
#define NLABELS	4
#define START	1700000000000LL

struct bseries {
	struct label	 v[NLABELS];
	struct labels	 ls;
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t
heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static uint64_t
sample_value(uint64_t i, uint64_t j)
{
	double d;
	uint64_t u;

	/* Half counters, half gauges that wander: values the XOR encoding sees in practice. */
	if (i % 2 == 0)
		d = (double)(j * (i % 13 + 1));
	else
		d = 50.0 + (double)((i * 2654435761u + j * 40503u) % 1000) / 10.0;
	memcpy(&u, &d, sizeof(u));
	return u;
}

/* Label strings live in one arena; the head interns its own copies. */
static struct bseries *
make_series(int64_t n, char **arena)
{
	struct bseries *s = xcalloc((size_t)n, sizeof(*s));
	size_t cap = (size_t)n * 64 + 4096, off = 0;
	char *a = xmalloc(cap);

	for (int64_t i = 0; i < n; i++) {
		char *name = a + off, *inst, *job, *region;

		off += (size_t)sprintf(name, "bench_metric_%" PRId64, i % 1000) + 1;
		inst = a + off;
		off += (size_t)sprintf(inst, "10.%" PRId64 ".%" PRId64 ".%" PRId64 ":9100",
		    i / 1000 / 65536 % 256, i / 1000 / 256 % 256, i / 1000 % 256) + 1;
		job = a + off;
		off += (size_t)sprintf(job, "job_%" PRId64, i / 1000 % 20) + 1;
		region = a + off;
		off += (size_t)sprintf(region, "region-%" PRId64, i / 1000 % 5) + 1;
		s[i].v[0].name = STR_LIT("__name__");
		s[i].v[0].value = str_c(name);
		s[i].v[1].name = STR_LIT("instance");
		s[i].v[1].value = str_c(inst);
		s[i].v[2].name = STR_LIT("job");
		s[i].v[2].value = str_c(job);
		s[i].v[3].name = STR_LIT("region");
		s[i].v[3].value = str_c(region);
		s[i].ls.v = s[i].v;
		s[i].ls.n = NLABELS;
	}
	*arena = a;
	return s;
}

/* Bytes of chunk data the head holds (and how long a select of everything takes). */
static uint64_t
chunk_bytes(struct head *h, double *secs)
{
	struct head_series_set *ss;
	const struct labels *ls;
	uint64_t total = 0;
	double t0 = now();

	ss = head_select(h, NULL, 0, INT64_MIN, INT64_MAX);
	while (head_series_set_next(ss, &ls) == 1) {
		const struct chunk *c;
		size_t n;

		c = head_series_set_chunks(ss, &n);
		for (size_t i = 0; i < n; i++)
			total += c[i].len;
	}
	head_series_set_close(ss);
	*secs = now() - t0;
	return total;
}

static void
bench_block(struct head *h, const char *dir)
{
	struct head_refs dropped = { 0 };
	struct block_meta meta;
	struct err e;
	int64_t mint = head_min_time(h);
	int64_t maxt = mint - mint % HEAD_CHUNK_RANGE_DEFAULT + HEAD_CHUNK_RANGE_DEFAULT;
	double t0;
	int written;

	t0 = now();
	if (head_write_block(h, mint, maxt, dir, &meta, &written, &e) == -1)
		fatalx("head_write_block: %s", e.msg);
	if (written) {
		printf("block: %s [%" PRId64 ", %" PRId64 ") %" PRIu64 " series %" PRIu64
		    " samples in %.2f s\n", meta.ulid, mint, maxt, meta.num_series,
		    meta.num_samples, now() - t0);
		meta_free(&meta);
	} else
		printf("block: no samples in [%" PRId64 ", %" PRId64 ")\n", mint, maxt);
	t0 = now();
	head_truncate(h, maxt, &dropped);
	printf("truncate: %zu series dropped in %.2f s\n", dropped.n, now() - t0);
	head_refs_free(&dropped);
}

int
main(int argc, char **argv)
{
	int64_t nseries = 1000000, nsamples = 120, interval = 15000;
	const char *block_dir = NULL;
	const struct flag flags[] = {
		{ "series", FLAG_INT, &nseries, "1000000", "number of series" },
		{ "samples", FLAG_INT, &nsamples, "120", "samples per series" },
		{ "interval", FLAG_INT, &interval, "15000", "scrape interval in ms" },
		{ "block", FLAG_STRING, &block_dir, NULL,
		    "cut the first block range into this dir, then truncate" },
		{ NULL, 0, NULL, NULL, NULL },
	};
	struct bseries *series;
	struct head_stats st;
	struct rusage ru;
	struct head *h;
	char *arena;
	size_t base, first = 0, last;
	double t0, tfirst = 0, elapsed, tsel;
	uint64_t cbytes;

	log_init("head-bench", LOG_INFO);
	if (flags_parse(flags, USAGE, argc, argv) != 0 || nseries <= 0 || nsamples <= 0 ||
	    interval <= 0) {
		flags_usage(stderr, USAGE, flags);
		return 100;
	}
	series = make_series(nseries, &arena);
	base = heap_in_use();
	h = head_create(NULL);
	t0 = now();
	for (int64_t j = 0; j < nsamples; j++) {
		head_append_begin(h);
		for (int64_t i = 0; i < nseries; i++) {
			enum head_err rc = head_append(h, &series[i].ls, START + j * interval,
			    sample_value((uint64_t)i, (uint64_t)j), NULL, NULL);

			if (rc != HEAD_OK)
				fatalx("append series %" PRId64 " sample %" PRId64 ": %s",
				    i, j, head_err_text(rc));
		}
		if (j == 0) {
			tfirst = now() - t0;
			first = heap_in_use() - base;
		}
	}
	elapsed = now() - t0;
	last = heap_in_use() - base;
	head_stats(h, &st);
	getrusage(RUSAGE_SELF, &ru);

	printf("series: %" PRId64 " x %" PRId64 " samples, %" PRId64 " ms apart; %" PRIu64
	    " chunks, %" PRIu64 " strings\n", nseries, nsamples, interval, st.num_chunks, st.strings);
	printf("append: %.0f samples/s overall (%.2f s); first round, creating the series: "
	    "%.0f series/s\n", (double)(nseries * nsamples) / elapsed, elapsed,
	    (double)nseries / tfirst);
	printf("memory: %.0f bytes/series after 1 sample, %.0f bytes/series after %" PRId64
	    " (%.1f MiB); maxrss %.1f MiB\n", (double)first / (double)nseries,
	    (double)last / (double)nseries, nsamples, (double)last / 1048576.0,
	    (double)ru.ru_maxrss / 1024.0);
	cbytes = chunk_bytes(h, &tsel);
	printf("chunks: %.0f bytes/series of chunk data (%.2f bytes/sample), %.0f bytes/series "
	    "besides; select of all series: %.2f s\n", (double)cbytes / (double)nseries,
	    (double)cbytes / (double)(nseries * nsamples),
	    ((double)last - (double)cbytes) / (double)nseries, tsel);
	if (block_dir != NULL)
		bench_block(h, block_dir);
	head_free(h);
	free(series);
	free(arena);
	return 0;
}
