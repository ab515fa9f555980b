/*
 * dump — `promtool tsdb dump`: one line `LABELS VALUE TIMESTAMP` per sample
 * of every selected series, merged over all blocks under PATH. The label
 * text is built once per series and lines go out through one large buffer.
 *
 * Each block's index is checked byte for byte before anything is printed
 * (verify_block_bytes): a dump is a copy of the data, and a damaged byte in
 * a part the query does not read must not pass unnoticed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/err.h"
#include "lib/base/log.h"
#include "lib/base/xmalloc.h"
#include "lib/tsdb/block.h"
#include "lib/tsdb/encoding.h"
#include "lib/tsdb/gofmt.h"
#include "lib/tsdb/matcher.h"
#include "lib/tsdb/verify.h"
#include "cmd/block-inspect/inspect.h"

#define OUT_SIZE	(1 << 20)

struct out {
	char	*p;
	size_t	 len;
	int	 failed;
};

static void
out_flush(struct out *o)
{
	if (o->len > 0 && !o->failed && fwrite(o->p, 1, o->len, stdout) != o->len)
		o->failed = 1;
	o->len = 0;
}

static void
out_put(struct out *o, const void *p, size_t n)
{
	if (o->len + n > OUT_SIZE) {
		out_flush(o);
		if (n > OUT_SIZE) {
			if (!o->failed && fwrite(p, 1, n, stdout) != n)
				o->failed = 1;
			return;
		}
	}
	memcpy(o->p + o->len, p, n);
	o->len += n;
}

/* " VALUE TIMESTAMP\n" into buf; returns its length. */
static size_t
fmt_sample(char *buf, int64_t t, uint64_t v)
{
	char digits[24];
	uint64_t u;
	size_t n = 0, nd = 0;

	buf[n++] = ' ';
	n += gofmt_float(buf + n, v);
	buf[n++] = ' ';
	if (t < 0) {
		buf[n++] = '-';
		u = (uint64_t)0 - (uint64_t)t;
	} else
		u = (uint64_t)t;
	do {
		digits[nd++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	while (nd > 0)
		buf[n++] = digits[--nd];
	buf[n++] = '\n';
	return n;
}

static int
dump(struct block **blocks, size_t n, const struct matcher *ms, size_t nm,
    int64_t mint, int64_t maxt, struct out *o, struct err *e)
{
	struct series_set *ss;
	const struct labels *ls;
	struct buf prefix = { 0 };
	char line[GOFMT_FLOAT_MAX + 32];
	int r;

	if ((ss = series_set_open(blocks, n, ms, nm, mint, maxt, e)) == NULL)
		return -1;
	while ((r = series_set_next(ss, &ls, e)) == 1) {
		int64_t t;
		uint64_t v;
		int s;

		buf_reset(&prefix);
		gofmt_labels(&prefix, ls);
		while ((s = series_set_sample(ss, &t, &v, e)) == 1) {
			out_put(o, prefix.p, prefix.len);
			out_put(o, line, fmt_sample(line, t, v));
		}
		if (s == -1) {
			r = -1;
			break;
		}
	}
	buf_free(&prefix);
	series_set_close(ss);
	return r;
}

int
cmd_dump(int argc, char **argv)
{
	const char *level = NULL, *match = NULL;
	int64_t mint = INT64_MIN, maxt = INT64_MAX;
	const struct flag tbl[] = {
		{ "match", FLAG_STRING, &match, "{__name__=~'(?s:.*)'}",
		    "series selector" },
		{ "min-time", FLAG_INT, &mint, "-9223372036854775808",
		    "first timestamp to dump, ms (inclusive)" },
		{ "max-time", FLAG_INT, &maxt, "9223372036854775807",
		    "last timestamp to dump, ms (inclusive)" },
		INSPECT_LOG_FLAG(&level),
		{ 0 },
	};
	struct block **blocks;
	struct matcher *ms = NULL;
	struct out o = { 0 };
	struct err e;
	size_t nm = 0, nd, nb = 0;
	char **dirs;
	int rc;

	inspect_args(tbl, "block-inspect dump [-match SELECTOR] [-min-time MS] "
	    "[-max-time MS] PATH", &level, argc, argv, 1, 1);
	if (selector_parse(match, &ms, &nm, &e) == -1) {
		log_error("bad -match", "selector=%s err=%s", log_q(match), log_q(e.msg));
		return EXIT_USAGE;
	}
	if ((rc = inspect_find(argv[0], &dirs, &nd)) != 0) {
		matchers_free(ms, nm);
		return rc;
	}
	blocks = xcalloc(nd + 1, sizeof(blocks[0]));
	for (; nb < nd; nb++) {
		if (verify_block_bytes(dirs[nb], &e) == -1 ||
		    (blocks[nb] = block_open(dirs[nb], &e)) == NULL) {
			log_error("cannot read block", "dir=%s err=%s", log_q(dirs[nb]),
			    log_q(e.msg));
			rc = EXIT_SYSTEM;
			break;
		}
	}
	if (rc == 0) {
		o.p = xmalloc(OUT_SIZE);
		if (dump(blocks, nb, ms, nm, mint, maxt, &o, &e) == -1) {
			log_error("dump failed", "err=%s", log_q(e.msg));
			rc = EXIT_SYSTEM;
		}
		out_flush(&o);
		if (o.failed || fflush(stdout) == EOF) {
			log_error("write stdout", "%s", "");
			rc = EXIT_SYSTEM;
		}
		free(o.p);
	}
	for (size_t i = 0; i < nb; i++)
		block_close(blocks[i]);
	free(blocks);
	block_dirs_free(dirs, nd);
	matchers_free(ms, nm);
	return rc;
}
