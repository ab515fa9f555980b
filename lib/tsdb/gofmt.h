/*
 * gofmt — the Go text forms promtool prints: strconv.FormatFloat(v, 'g', -1, 64)
 * (shortest round-trip, Go's exponent layout, "+Inf", "NaN", "-0"),
 * strconv.Quote, and the labels form of `promtool tsdb dump`
 * ({__name__="x", a="b"}); plus the inverse parsers block-import needs.
 */
#ifndef RINGTAIL_GOFMT_H
#define RINGTAIL_GOFMT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/tsdb/encoding.h"
#include "lib/tsdb/labels.h"

#define GOFMT_FLOAT_MAX 32

/* Format the float64 whose bits are given; returns the length written (NUL-terminated). */
size_t	gofmt_float(char *out, uint64_t bits);
/* Append Go's strconv.Quote of s (with the surrounding quotes). */
void	gofmt_quote(struct buf *out, const void *s, size_t n);
/* Append `{name="value", ...}` as promtool dump prints a label set. */
void	gofmt_labels(struct buf *out, const struct labels *);
/*
 * Parse a Go double-quoted string at s[0] (== '"'), appending the unquoted
 * bytes to out; returns the bytes consumed including both quotes, or 0 if malformed.
 */
size_t	gofmt_unquote(const char *s, size_t n, struct buf *out);

#endif
