/*
 * textparse — the line formats block-import reads:
 *
 *  - the OpenMetrics text that `promtool tsdb create-blocks-from openmetrics`
 *    accepts (§11.1 of specs/tsdb-format.md: its lexer's rules, `# EOF`
 *    required, timestamps in seconds converted as (int64)(ts * 1000.0));
 *  - the `promtool tsdb dump` / `block-inspect dump` line format:
 *    `{name="Go-quoted value", ...} VALUE TIMESTAMP_MS`.
 *
 * A line is given without its '\n'. Errors read "FILE:LINE: what is wrong".
 */
#ifndef RINGTAIL_TEXTPARSE_H
#define RINGTAIL_TEXTPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/tsdb/encoding.h"
#include "lib/tsdb/labels.h"

enum text_format {
	TEXT_OPENMETRICS,
	TEXT_DUMP,
};

struct text_sample {
	struct labels	labels;	/* sorted by name; strings valid until the next line */
	int64_t		t;	/* ms */
	uint64_t	v;	/* float64 bits */
};

struct text_parser {
	const char	*file;
	uint64_t	 lineno;
	enum text_format fmt;
	int		 seen_eof;
	struct buf	 scratch;	/* unescaped label values */
	struct label	*lv;
	size_t		 lcap;
};

/* A first line that starts with '{' is the dump format; anything else is OpenMetrics. */
enum text_format text_detect(const char *line, size_t len);
void	text_parser_init(struct text_parser *, const char *file, enum text_format);
void	text_parser_free(struct text_parser *);
/* 1: a sample in *out; 0: a line without a sample (HELP/TYPE/UNIT, # EOF); -1: error. */
int	text_parser_line(struct text_parser *, const char *line, size_t len,
	    struct text_sample *out, struct err *);
/* At end of input: OpenMetrics must have ended with # EOF. */
int	text_parser_finish(struct text_parser *, struct err *);
/* Go strconv.ParseFloat(s, 64) minus hex, '_' and 'p' (§11.1). 0 or -1. */
int	text_parse_float(const char *s, size_t n, uint64_t *bits);

#endif
