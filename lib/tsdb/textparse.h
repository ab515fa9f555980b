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
	/*
	 * 1 when the line's series text is byte for byte the previous sample
	 * line's: the labels are then the previous sample's (same pointers),
	 * so a caller may reuse what it looked up for them.
	 */
	int		same_series;
};

struct text_parser {
	const char	*file;
	uint64_t	 lineno;
	enum text_format fmt;
	int		 seen_eof;
	struct buf	 scratch;	/* unescaped label values */
	struct label	*lv;
	size_t		 lcap;
	/* the previous sample's series text; lv points into it or scratch */
	struct buf	 prev;
	size_t		 prev_name;	/* OpenMetrics: metric name length in prev */
	size_t		 prev_nl;	/* labels of the previous sample, in lv */
	int		 has_prev;
	int		 skip_nul;	/* the lexer eats NULs that start this line */
	int		 eof_tail;	/* a NUL-only line followed # EOF */
	/*
	 * Set by the caller before passing the input's last line when no '\n'
	 * ends it. Only one odd case depends on it: NUL bytes after "# EOF\n"
	 * are accepted only when nothing, not even a newline, follows them.
	 */
	int		 no_newline;
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
