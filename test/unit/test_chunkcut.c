#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/fileutil.h"
#include "lib/tsdb/chunkcut.h"
#include "lib/tsdb/chunks.h"
#include "lib/tsdb/xor.h"
#include "test/unit/unit.h"

#define HOUR		3600000
#define BLOCK		(2 * HOUR)
#define RANGE		(2 * BLOCK)	/* promtool create-blocks-from: 2 x block */
#define DATA_DIR	"test/unit/data/chunkcut"

/* Expected "count x repeat" runs of samples per chunk. */
struct run {
	int	samples;
	int	repeat;
};

static uint64_t
f64(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	return u;
}

/* Check the chunk sizes against runs, and that every chunk decodes to its own range. */
static void
check_runs(struct chunk_cutter *cc, const struct run *runs, size_t nruns)
{
	struct chunk *c;
	size_t n, k = 0;

	c = chunk_cutter_chunks(cc, &n);
	for (size_t r = 0; r < nruns; r++) {
		for (int i = 0; i < runs[r].repeat; i++, k++) {
			if (k >= n) {
				unit_fail(__FILE__, __LINE__, "only %zu chunks", n);
				return;
			}
			if (xor_count(c[k].data, c[k].len) != runs[r].samples) {
				unit_fail(__FILE__, __LINE__, "chunk %zu holds %u samples, want %d",
				    k, xor_count(c[k].data, c[k].len), runs[r].samples);
				return;
			}
		}
	}
	CHECK_INT(n, k);
	for (size_t i = 0; i < n; i++) {
		struct xor_iter it;
		int64_t t, first = 0, last = 0;
		uint64_t v;
		int m = 0;

		xor_iter_init(&it, c[i].data, c[i].len);
		while (xor_iter_next(&it, &t, &v) == 1) {
			if (m++ == 0)
				first = t;
			last = t;
		}
		CHECK_INT(first, c[i].mint);
		CHECK_INT(last, c[i].maxt);
		CHECK_INT(c[i].enc, CHUNK_ENC_XOR);
		if (i > 0)
			CHECK(c[i].mint > c[i - 1].maxt);
	}
}

/* A regular series from t0 (inclusive) to t1 (exclusive), every step ms. */
static void
feed(struct chunk_cutter *cc, int64_t t0, int64_t t1, int64_t step)
{
	for (int64_t t = t0; t < t1; t += step)
		CHECK_INT(chunk_cutter_append(cc, t, f64((double)(t / step % 7))), 0);
}

static void
cut_regular(int64_t t0, int64_t step, const struct run *runs, size_t nruns)
{
	struct chunk_cutter cc;

	chunk_cutter_init(&cc, RANGE);
	feed(&cc, t0, t0 + BLOCK, step);
	check_runs(&cc, runs, nruns);
	chunk_cutter_free(&cc);
}

#define NRUNS(a)	(sizeof(a) / sizeof((a)[0]))

static void
chunkcut_table_1s(void)
{
	static const struct run b0[] = { { 117, 16 }, { 118, 9 }, { 117, 36 }, { 54, 1 } };
	static const struct run b1[] = { { 117, 8 }, { 119, 10 }, { 118, 43 } };

	cut_regular(0, 1000, b0, NRUNS(b0));
	cut_regular(BLOCK, 1000, b1, NRUNS(b1));
}

static void
chunkcut_table_2s(void)
{
	static const struct run b0[] = { { 117, 8 }, { 119, 10 }, { 118, 12 }, { 58, 1 } };
	static const struct run b1[] = { { 117, 4 }, { 121, 12 }, { 120, 14 } };

	cut_regular(0, 2000, b0, NRUNS(b0));
	cut_regular(BLOCK, 2000, b1, NRUNS(b1));
}

static void
chunkcut_table_coarse(void)
{
	static const int steps[] = { 5, 10, 15, 20, 30, 60 };
	static const struct run r120[] = { { 60, 1 } }, r300[] = { { 24, 1 } };

	for (size_t i = 0; i < NRUNS(steps); i++) {
		struct run all[] = { { 120, BLOCK / (steps[i] * 1000) / 120 } };

		cut_regular(0, steps[i] * 1000, all, 1);
		cut_regular(BLOCK, steps[i] * 1000, all, 1);
	}
	cut_regular(0, 120000, r120, 1);
	cut_regular(BLOCK, 120000, r120, 1);
	cut_regular(0, 300000, r300, 1);
	cut_regular(BLOCK, 300000, r300, 1);
}

static void
chunkcut_15s_on_30min_boundaries(void)
{
	struct chunk_cutter cc;
	struct chunk *c;
	size_t n;

	chunk_cutter_init(&cc, RANGE);
	feed(&cc, 0, BLOCK, 15000);
	c = chunk_cutter_chunks(&cc, &n);
	CHECK_INT(n, 4);
	for (size_t i = 0; i < n; i++) {
		CHECK_INT(c[i].mint, (int64_t)i * 1800000);
		CHECK_INT(c[i].maxt, (int64_t)i * 1800000 + 119 * 15000);
	}
	chunk_cutter_free(&cc);
}

static void
chunkcut_240_cap(void)
{
	static const struct run runs[] = { { 240, 1 }, { 120, 5 }, { 30, 1 } };
	struct chunk_cutter cc;

	chunk_cutter_init(&cc, RANGE);
	feed(&cc, 0, 30 * 60000, 60000);
	feed(&cc, 30 * 60000, 30 * 60000 + 210 + 600 + 30, 1);
	check_runs(&cc, runs, NRUNS(runs));
	chunk_cutter_free(&cc);
}

static void
chunkcut_negative_timestamps(void)
{
	/* Truncating division: max = R, not 0, so 119 samples per chunk, not 117. */
	static const struct run runs[] = { { 119, 4 }, { 4, 1 } };
	struct chunk_cutter cc;
	struct chunk *c;
	size_t n;

	chunk_cutter_init(&cc, RANGE);
	feed(&cc, -7000000, -7000000 + 480 * 15000, 15000);
	check_runs(&cc, runs, NRUNS(runs));
	c = chunk_cutter_chunks(&cc, &n);
	/* With t >= 0 this never happens: a chunk spans t = 0. */
	CHECK(n == 5 && c[3].mint < 0 && c[3].maxt > 0);
	chunk_cutter_free(&cc);
}

static void
chunkcut_server_range(void)
{
	/* The server's R = 2h: 15 s gives 120 per chunk, chunks never cross 2h. */
	static const struct run runs[] = { { 120, 8 } };
	struct chunk_cutter cc;
	struct chunk *c;
	size_t n;

	chunk_cutter_init(&cc, BLOCK);
	feed(&cc, 0, 2 * BLOCK, 15000);
	check_runs(&cc, runs, NRUNS(runs));
	c = chunk_cutter_chunks(&cc, &n);
	CHECK(n == 8 && c[3].maxt < BLOCK && c[4].mint == BLOCK);
	chunk_cutter_free(&cc);
}

static void
chunkcut_rejects_old_and_duplicate(void)
{
	struct chunk_cutter cc;
	struct chunk *c;
	size_t n;

	chunk_cutter_init(&cc, RANGE);
	CHECK_INT(chunk_cutter_append(&cc, 1000, 1), 0);
	CHECK_INT(chunk_cutter_append(&cc, 2000, 2), 0);
	CHECK_INT(chunk_cutter_append(&cc, 2000, 2), 1);
	CHECK_INT(chunk_cutter_append(&cc, 1500, 3), 1);
	CHECK_INT(chunk_cutter_append(&cc, 3000, 4), 0);
	c = chunk_cutter_chunks(&cc, &n);
	CHECK_INT(n, 1);
	CHECK_INT(xor_count(c[0].data, c[0].len), 3);

	/* Reset: a new series, same memory. */
	chunk_cutter_reset(&cc);
	c = chunk_cutter_chunks(&cc, &n);
	CHECK_INT(n, 0);
	CHECK_INT(chunk_cutter_append(&cc, 500, 1), 0);
	c = chunk_cutter_chunks(&cc, &n);
	CHECK_INT(n, 1);
	CHECK_INT(c[0].mint, 500);
	CHECK_INT(c[0].maxt, 500);
	chunk_cutter_free(&cc);
}

static void
chunkcut_extreme_timestamps_do_not_trap(void)
{
	struct chunk_cutter cc;
	struct chunk *c;
	size_t n;

	chunk_cutter_init(&cc, RANGE);
	CHECK_INT(chunk_cutter_append(&cc, INT64_MIN, 1), 1);	/* Go refuses it too */
	CHECK_INT(chunk_cutter_append(&cc, INT64_MIN + 1, 1), 0);
	for (int i = 0; i < 40; i++)
		CHECK_INT(chunk_cutter_append(&cc, INT64_MAX - 100 + i, 2), 0);
	CHECK_INT(chunk_cutter_append(&cc, INT64_MAX, 3), 0);
	c = chunk_cutter_chunks(&cc, &n);
	CHECK(n >= 2);
	CHECK_INT(c[0].mint, INT64_MIN + 1);
	CHECK_INT(c[n - 1].maxt, INT64_MAX);
	chunk_cutter_free(&cc);
}

/*
 * promtool vectors: NAME.om went through `promtool tsdb create-blocks-from
 * openmetrics`; NAME.<block start>.chunks is each block's chunks/000001.
 * The single series is re-cut here per block (start = D * (min / D), Go
 * division, as backfill does) and written by chunk_writer.
 */
struct om_sample {
	int64_t		t;
	uint64_t	v;
};

static uint64_t
parse_value(const char *s)
{
	if (strcmp(s, "NaN") == 0)
		return 0x7FF8000000000001ull;	/* what Go's parser yields */
	return f64(strtod(s, NULL));
}

static struct om_sample *
read_om(const char *path, size_t *n)
{
	struct om_sample *s = NULL;
	size_t cap = 0;
	char line[512];
	FILE *f = fopen(path, "r");

	*n = 0;
	if (f == NULL) {
		unit_fail(__FILE__, __LINE__, "cannot open %s (run from the repo root)", path);
		return NULL;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *val, *ts;

		if (line[0] == '#')
			continue;
		line[strcspn(line, "\n")] = '\0';
		if ((val = strchr(line, ' ')) == NULL || (ts = strchr(val + 1, ' ')) == NULL) {
			unit_fail(__FILE__, __LINE__, "%s: bad line %s", path, line);
			break;
		}
		*ts++ = '\0';
		if (*n == cap) {
			cap = cap ? cap * 2 : 1024;
			s = realloc(s, cap * sizeof(*s));
		}
		s[*n].v = parse_value(val + 1);
		s[*n].t = (int64_t)(strtod(ts, NULL) * 1000.0);
		(*n)++;
	}
	fclose(f);
	return s;
}

static int
count_expected(const char *name)
{
	DIR *d = opendir(DATA_DIR);
	struct dirent *de;
	size_t len = strlen(name);
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		const char *dot = strrchr(de->d_name, '.');

		if (strncmp(de->d_name, name, len) == 0 && de->d_name[len] == '.' &&
		    dot != NULL && strcmp(dot, ".chunks") == 0)
			n++;
	}
	closedir(d);
	return n;
}

static void
check_promtool_vector(const char *name)
{
	char path[1024], dir[512];
	struct om_sample *s;
	size_t n, i;
	int64_t min = INT64_MAX, max = INT64_MIN;
	int blocks = 0;

	snprintf(path, sizeof(path), DATA_DIR "/%s.om", name);
	if ((s = read_om(path, &n)) == NULL || n == 0)
		return;
	for (i = 0; i < n; i++) {
		min = s[i].t < min ? s[i].t : min;
		max = s[i].t > max ? s[i].t : max;
	}
	for (int64_t bt = BLOCK * (min / BLOCK); bt <= max; bt += BLOCK) {
		struct chunk_cutter cc;
		struct chunk_writer *w;
		struct chunk *c;
		struct err e;
		size_t nc, glen, wlen;
		char *got = NULL, *want = NULL;

		chunk_cutter_init(&cc, RANGE);
		for (i = 0; i < n; i++)
			if (s[i].t >= bt && s[i].t < bt + BLOCK)
				CHECK_INT(chunk_cutter_append(&cc, s[i].t, s[i].v), 0);
		c = chunk_cutter_chunks(&cc, &nc);
		if (nc == 0) {
			chunk_cutter_free(&cc);
			continue;
		}
		blocks++;
		snprintf(dir, sizeof(dir), "%s/%s.%jd", unit_tmpdir(), name, (intmax_t)bt);
		w = chunk_writer_open(dir, 0, &e);
		CHECK(w != NULL);
		if (w == NULL)
			break;
		CHECK_INT(chunk_writer_write(w, c, nc, &e), 0);
		CHECK_INT(chunk_writer_close(w, &e), 0);
		snprintf(path, sizeof(path), "%s/000001", dir);
		CHECK_INT(file_read_all(path, &got, &glen, &e), 0);
		snprintf(path, sizeof(path), DATA_DIR "/%s.%jd.chunks", name, (intmax_t)bt);
		if (file_read_all(path, &want, &wlen, &e) == -1)
			unit_fail(__FILE__, __LINE__, "%s: %s", name, e.msg);
		else if (got != NULL) {
			CHECK_MEM(got, glen, want, wlen);
			if (glen != wlen || memcmp(got, want, glen) != 0)
				unit_fail(__FILE__, __LINE__, "%s block %jd differs",
				    name, (intmax_t)bt);
		}
		free(got);
		free(want);
		chunk_cutter_free(&cc);
	}
	CHECK_INT(blocks, count_expected(name));
	free(s);
}

static void
chunkcut_promtool_1s(void)
{
	check_promtool_vector("s1");
}

static void
chunkcut_promtool_2s_second_block(void)
{
	check_promtool_vector("s2b");
}

static void
chunkcut_promtool_irregular(void)
{
	check_promtool_vector("irregular");
}

static void
chunkcut_promtool_negative(void)
{
	check_promtool_vector("neg");
}

static void
chunkcut_promtool_240_cap(void)
{
	check_promtool_vector("cap240");
}

static void
chunkcut_promtool_120s(void)
{
	check_promtool_vector("s120");
}

static void
chunkcut_promtool_dod_buckets(void)
{
	check_promtool_vector("dod");
}

UNIT_CASES(
	UNIT_CASE(chunkcut_table_1s),
	UNIT_CASE(chunkcut_table_2s),
	UNIT_CASE(chunkcut_table_coarse),
	UNIT_CASE(chunkcut_15s_on_30min_boundaries),
	UNIT_CASE(chunkcut_240_cap),
	UNIT_CASE(chunkcut_negative_timestamps),
	UNIT_CASE(chunkcut_server_range),
	UNIT_CASE(chunkcut_rejects_old_and_duplicate),
	UNIT_CASE(chunkcut_extreme_timestamps_do_not_trap),
	UNIT_CASE(chunkcut_promtool_1s),
	UNIT_CASE(chunkcut_promtool_2s_second_block),
	UNIT_CASE(chunkcut_promtool_irregular),
	UNIT_CASE(chunkcut_promtool_negative),
	UNIT_CASE(chunkcut_promtool_240_cap),
	UNIT_CASE(chunkcut_promtool_120s),
	UNIT_CASE(chunkcut_promtool_dod_buckets),
);
