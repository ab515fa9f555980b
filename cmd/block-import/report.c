/*
 * report — what block-import tells its user: one row per block on stdout,
 * laid out as promtool create-blocks-from prints it (each row through its
 * own Go tabwriter, minimum cell width 13, padding 2, the header before the
 * first), and logfmt progress on stderr every few seconds.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/base/clock.h"
#include "lib/base/duration.h"
#include "lib/base/log.h"
#include "cmd/block-import/import.h"

#define NCOLS		8
#define PROGRESS_MS	5000

static const char *const header[NCOLS] = {
	"BLOCK ULID", "MIN TIME", "MAX TIME", "DURATION", "NUM SAMPLES",
	"NUM CHUNKS", "NUM SERIES", "SIZE",
};

void
report_init(struct report *r)
{
	memset(r, 0, sizeof(*r));
	r->start_ms = r->last_ms = clock_mono_ms();
}

/* Print lines of cells with every column but the last padded to max(13, widest + 2). */
static void
print_table(const char *const (*rows)[NCOLS], size_t nrows)
{
	size_t width[NCOLS] = { 0 };

	for (size_t i = 0; i < nrows; i++)
		for (size_t c = 0; c < NCOLS; c++)
			if (strlen(rows[i][c]) + 2 > width[c])
				width[c] = strlen(rows[i][c]) + 2;
	for (size_t i = 0; i < nrows; i++) {
		for (size_t c = 0; c < NCOLS - 1; c++)
			printf("%-*s", (int)(width[c] < 13 ? 13 : width[c]), rows[i][c]);
		printf("%s\n", rows[i][NCOLS - 1]);
	}
	fflush(stdout);
}

void
report_block(const struct importer_block *b, void *arg)
{
	struct report *r = arg;
	char mint[24], maxt[24], dur[64], ns[24], nc[24], nser[24], size[24];
	const char *row[NCOLS] = { b->ulid, mint, maxt, dur, ns, nc, nser, size };
	const char *const rows[2][NCOLS] = {
		{ header[0], header[1], header[2], header[3], header[4], header[5],
		    header[6], header[7] },
		{ row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7] },
	};

	snprintf(mint, sizeof(mint), "%" PRId64, b->min_time);
	snprintf(maxt, sizeof(maxt), "%" PRId64, b->max_time);
	duration_format(dur, sizeof(dur), b->max_time - b->min_time);
	snprintf(ns, sizeof(ns), "%" PRIu64, b->num_samples);
	snprintf(nc, sizeof(nc), "%" PRIu64, b->num_chunks);
	snprintf(nser, sizeof(nser), "%" PRIu64, b->num_series);
	snprintf(size, sizeof(size), "%" PRIu64, b->size);
	log_info("block written", "ulid=%s mint=%s maxt=%s samples=%s chunks=%s series=%s bytes=%s",
	    b->ulid, mint, maxt, ns, nc, nser, size);
	if (r->quiet)
		return;
	if (!r->header_done) {
		print_table(rows, 2);
		r->header_done = 1;
	} else
		print_table(rows + 1, 1);
}

void
report_progress(const struct importer_stats *s, void *arg)
{
	struct report *r = arg;
	int64_t now = clock_mono_ms();

	if (now - r->last_ms < PROGRESS_MS)
		return;
	r->last_ms = now;
	log_info("progress", "bytes=%" PRIu64 " lines=%" PRIu64 " samples=%" PRIu64
	    " series=%" PRIu64 " spills=%" PRIu64 " blocks=%" PRIu64 " elapsed_ms=%" PRId64,
	    s->bytes, s->lines, s->samples, s->series, s->spills, s->blocks,
	    now - r->start_ms);
}

void
report_done(const struct report *r, const struct importer_stats *s)
{
	int64_t ms = clock_mono_ms() - r->start_ms;

	if (s->duplicates > 0)
		log_warn("dropped samples with a timestamp already seen for their series "
		    "(the first in input order was kept)", "count=%" PRIu64, s->duplicates);
	if (s->samples == 0)
		log_warn("no samples in the input: no block written", "lines=%" PRIu64, s->lines);
	log_info("import done", "bytes=%" PRIu64 " lines=%" PRIu64 " samples_read=%" PRIu64
	    " samples_written=%" PRIu64 " series=%" PRIu64 " blocks=%" PRIu64 " spills=%" PRIu64
	    " spilled_bytes=%" PRIu64 " elapsed_ms=%" PRId64 " samples_per_s=%.0f",
	    s->bytes, s->lines, s->samples, s->written, s->series, s->blocks, s->spills,
	    s->spilled_bytes, ms, ms > 0 ? (double)s->samples * 1000.0 / (double)ms : 0.0);
}

int
parse_bytes(const char *s, uint64_t *out)
{
	static const struct {
		const char	*suffix;
		unsigned	 shift;
	} units[] = {
		{ "", 0 }, { "B", 0 },
		{ "K", 10 }, { "KB", 10 }, { "KiB", 10 }, { "k", 10 }, { "kB", 10 },
		{ "M", 20 }, { "MB", 20 }, { "MiB", 20 },
		{ "G", 30 }, { "GB", 30 }, { "GiB", 30 },
		{ "T", 40 }, { "TB", 40 }, { "TiB", 40 },
	};
	uint64_t v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(p, units[i].suffix) != 0)
			continue;
		if (units[i].shift > 0 && v > UINT64_MAX >> units[i].shift)
			return -1;
		*out = v << units[i].shift;
		return 0;
	}
	return -1;
}
