/*
 * block-import — what main.c and report.c share: the exit-code table of
 * block-import(1) and the reporting hooks the importer calls.
 */
#ifndef BLOCK_IMPORT_H
#define BLOCK_IMPORT_H

#include <stdint.h>

#include "lib/tsdb/importer.h"

#define EXIT_OK		0
#define EXIT_INPUT	1	/* malformed input: nothing was written */
#define EXIT_USAGE	100	/* bad flags or arguments */
#define EXIT_SYSTEM	111	/* I/O error, out of space, interrupted */

struct report {
	int		 quiet;		/* -q: no block rows on stdout */
	int		 header_done;
	int64_t		 start_ms;	/* monotonic clock at start */
	int64_t		 last_ms;	/* last progress line */
};

void	report_init(struct report *);
/* importer hooks: arg is the struct report. */
void	report_progress(const struct importer_stats *, void *);
void	report_block(const struct importer_block *, void *);
/* The closing log line(s). */
void	report_done(const struct report *, const struct importer_stats *);
/* Parse a byte size: 1048576, 512KiB, 256MiB, 4GiB (K, M, G, T are binary too). */
int	parse_bytes(const char *, uint64_t *);

#endif
