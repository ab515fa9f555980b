/*
 * ls — one row per block, the columns of `promtool tsdb list` laid out by
 * Go's tabwriter (minimum width 13, padding 2), a TENANT column first for a
 * bucket; or one JSON object per line with -json.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/base/duration.h"
#include "lib/base/err.h"
#include "lib/base/log.h"
#include "lib/base/xmalloc.h"
#include "lib/tsdb/block.h"
#include "lib/tsdb/encoding.h"
#include "cmd/block-inspect/inspect.h"

#define LS_COLS		9

struct row {
	size_t			 order;		/* position in block_find's order */
	char			*dir;
	const char		*tenant;	/* NULL outside a bucket */
	struct block_meta	 meta;
	int64_t			 size;
	char			*cell[LS_COLS];
};

static const char *const header[LS_COLS] = {
	"TENANT", "BLOCK ULID", "MIN TIME", "MAX TIME", "DURATION",
	"NUM SAMPLES", "NUM CHUNKS", "NUM SERIES", "SIZE",
};

/* The tenant of a block found two levels below root, else NULL. */
static const char *
tenant_of(const char *root, const char *dir, char *buf, size_t cap)
{
	size_t rl = strlen(root);
	const char *rel, *slash;

	while (rl > 1 && root[rl - 1] == '/')
		rl--;
	if (strncmp(dir, root, rl) != 0 || dir[rl] != '/')
		return NULL;
	rel = dir + rl + 1;
	if ((slash = strchr(rel, '/')) == NULL || (size_t)(slash - rel) >= cap)
		return NULL;
	memcpy(buf, rel, (size_t)(slash - rel));
	buf[slash - rel] = '\0';
	return buf;
}

/* Go's time.Unix(ms/1000, 0).UTC().String(). */
static void
fmt_time(char *out, size_t cap, int64_t ms, int human)
{
	struct tm tm;
	time_t t;
	long year;

	if (!human) {
		snprintf(out, cap, "%" PRId64, ms);
		return;
	}
	t = (time_t)(ms / 1000);
	if (gmtime_r(&t, &tm) == NULL) {
		snprintf(out, cap, "%" PRId64, ms);
		return;
	}
	year = (long)tm.tm_year + 1900;
	snprintf(out, cap, "%s%04ld-%02d-%02d %02d:%02d:%02d +0000 UTC",
	    year < 0 ? "-" : "", year < 0 ? -year : year, tm.tm_mon + 1, tm.tm_mday,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* alecthomas/units Base2Bytes.String(): 8217 -> "8KiB25B", zero parts left out. */
static void
fmt_bytes(char *out, size_t cap, int64_t n, int human)
{
	static const char *const unit[] = { "", "K", "M", "G", "T", "P", "E" };
	char part[7][32];
	size_t np = 0, len = 0;

	if (!human) {
		snprintf(out, cap, "%" PRId64, n);
		return;
	}
	for (size_t i = 0; i < 7; i++) {
		if (n % 1024 != 0 || (i == 0 && n == 0))
			snprintf(part[np++], sizeof(part[0]), "%" PRId64 "%s%s", n % 1024,
			    unit[i], i == 0 ? "B" : "iB");
		n /= 1024;
		if (n == 0)
			break;
	}
	out[0] = '\0';
	while (np > 0 && len < cap)
		len += (size_t)snprintf(out + len, cap - len, "%s", part[--np]);
}

static void
row_cells(struct row *r, int human)
{
	char buf[64];

	r->cell[0] = xstrdup(r->tenant ? r->tenant : "");
	r->cell[1] = xstrdup(r->meta.ulid);
	fmt_time(buf, sizeof(buf), r->meta.min_time, human);
	r->cell[2] = xstrdup(buf);
	fmt_time(buf, sizeof(buf), r->meta.max_time, human);
	r->cell[3] = xstrdup(buf);
	duration_format(buf, sizeof(buf), r->meta.max_time - r->meta.min_time);
	r->cell[4] = xstrdup(buf);
	xasprintf(&r->cell[5], "%" PRIu64, r->meta.num_samples);
	xasprintf(&r->cell[6], "%" PRIu64, r->meta.num_chunks);
	xasprintf(&r->cell[7], "%" PRIu64, r->meta.num_series);
	fmt_bytes(buf, sizeof(buf), r->size, human);
	r->cell[8] = xstrdup(buf);
}

/* Every column but the last padded to max(13, widest + 2), as tabwriter does. */
static void
print_table(struct row *rows, size_t n, int first)
{
	size_t width[LS_COLS];

	for (int c = first; c < LS_COLS; c++) {
		width[c] = strlen(header[c]) + 2;
		for (size_t i = 0; i < n; i++)
			if (strlen(rows[i].cell[c]) + 2 > width[c])
				width[c] = strlen(rows[i].cell[c]) + 2;
		if (width[c] < 13)
			width[c] = 13;
	}
	for (size_t i = 0; i <= n; i++) {
		for (int c = first; c < LS_COLS; c++) {
			const char *s = i == 0 ? header[c] : rows[i - 1].cell[c];

			if (c == LS_COLS - 1)
				printf("%s\n", s);
			else
				printf("%-*s", (int)width[c], s);
		}
	}
}

static void
json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void
print_json(const struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];

		printf("{\"ulid\":");
		json_str(r->meta.ulid);
		if (r->tenant != NULL) {
			printf(",\"tenant\":");
			json_str(r->tenant);
		}
		printf(",\"minTime\":%" PRId64 ",\"maxTime\":%" PRId64 ",\"numSamples\":%"
		    PRIu64 ",\"numChunks\":%" PRIu64 ",\"numSeries\":%" PRIu64
		    ",\"sizeBytes\":%" PRId64 ",\"path\":", r->meta.min_time, r->meta.max_time,
		    r->meta.num_samples, r->meta.num_chunks, r->meta.num_series, r->size);
		json_str(r->dir);
		printf("}\n");
	}
}

static int
row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = strcmp(x->tenant ? x->tenant : "", y->tenant ? y->tenant : "");

	if (c != 0)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

int
cmd_ls(int argc, char **argv)
{
	const char *level = NULL;
	int json = 0, human = 0, rc = EXIT_OK, bucket = 0;
	const struct flag tbl[] = {
		{ "json", FLAG_BOOL, &json, NULL, "one JSON object per block and line" },
		{ "r", FLAG_BOOL, &human, NULL, "human-readable times and sizes" },
		INSPECT_LOG_FLAG(&level),
		{ 0 },
	};
	char **dirs, tenant[256];
	struct row *rows;
	size_t n, nrows = 0;

	inspect_args(tbl, "block-inspect ls [-json] [-r] PATH", &level, argc, argv, 1, 1);
	if ((rc = inspect_find(argv[0], &dirs, &n)) != 0)
		return rc;
	rows = xcalloc(n + 1, sizeof(*rows));
	for (size_t i = 0; i < n; i++) {
		struct row *r = &rows[nrows];
		const char *t;
		struct err e;

		if (meta_read(dirs[i], &r->meta, &e) == -1) {
			log_error("cannot read block", "dir=%s err=%s", log_q(dirs[i]), log_q(e.msg));
			meta_free(&r->meta);
			memset(r, 0, sizeof(*r));
			rc = EXIT_SYSTEM;
			continue;
		}
		r->order = nrows;
		r->dir = dirs[i];
		if ((t = tenant_of(argv[0], dirs[i], tenant, sizeof(tenant))) != NULL) {
			r->tenant = xstrdup(t);
			bucket = 1;
		}
		r->size = (int64_t)block_size(dirs[i]);
		row_cells(r, human);
		nrows++;
	}
	if (bucket)
		qsort(rows, nrows, sizeof(rows[0]), row_cmp);
	if (json)
		print_json(rows, nrows);
	else
		print_table(rows, nrows, bucket ? 0 : 1);
	if (fflush(stdout) == EOF) {
		log_error("write stdout", "%s", "");
		rc = EXIT_SYSTEM;
	}
	for (size_t i = 0; i < nrows; i++) {
		for (int c = 0; c < LS_COLS; c++)
			free(rows[i].cell[c]);
		free((char *)rows[i].tenant);
		meta_free(&rows[i].meta);
	}
	free(rows);
	block_dirs_free(dirs, n);
	return rc;
}
