/*
 * fuzz_textparse — arbitrary bytes as block-import input, split at '\n' the
 * way the importer splits it. Besides "no crash, no overread": every sample
 * has a sorted label set with unique names and no empty value, a sample
 * flagged same_series has the previous sample's labels, and every decimal
 * number text_parse_float accepts has the bits glibc's strtod gives it.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/tsdb/encoding.h"
#include "lib/tsdb/labels.h"
#include "lib/tsdb/textparse.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_labels(const struct labels *ls)
{
	if (ls->n == 0)
		abort();
	for (size_t i = 0; i < ls->n; i++) {
		if (ls->v[i].value.len == 0 || ls->v[i].name.len == 0)
			abort();
		if (i > 0 && str_cmp(ls->v[i - 1].name, ls->v[i].name) >= 0)
			abort();
	}
}

/* The previous sample's labels, copied, to hold same_series to its word. */
static struct labels prev;
static int has_prev;

static void
check_sample(const struct text_sample *s)
{
	check_labels(&s->labels);
	if (s->same_series && (!has_prev || labels_cmp(&prev, &s->labels) != 0))
		abort();
	if (has_prev)
		labels_free_copy(&prev);
	prev = labels_copy(&s->labels);
	has_prev = 1;
}

/* Decimal strings only: the fast path must agree with a correctly rounded strtod. */
static void
check_float(const uint8_t *data, size_t size)
{
	char buf[64];
	uint64_t bits, want;
	double d;

	if (size == 0 || size >= sizeof(buf))
		return;
	for (size_t i = 0; i < size; i++)
		if (!((data[i] >= '0' && data[i] <= '9') || data[i] == '.' ||
		    data[i] == 'e' || data[i] == 'E' || data[i] == '+' || data[i] == '-'))
			return;
	if (text_parse_float((const char *)data, size, &bits) == -1)
		return;
	memcpy(buf, data, size);
	buf[size] = '\0';
	d = strtod(buf, NULL);
	memcpy(&want, &d, sizeof(want));
	if (isinf(d) || bits != want)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct text_parser p;
	struct text_sample s;
	struct err e;
	size_t off = 0;
	int started = 0;

	check_float(data, size);
	while (off < size) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t len = nl != NULL ? (size_t)(nl - (data + off)) : size - off;
		int rc;

		if (!started) {
			text_parser_init(&p, "fuzz", text_detect((const char *)data + off, len));
			started = 1;
		}
		p.no_newline = nl == NULL;
		rc = text_parser_line(&p, (const char *)data + off, len, &s, &e);
		if (rc == -1)
			break;
		if (rc == 1)
			check_sample(&s);
		off += len + (nl != NULL);
	}
	if (started) {
		(void)text_parser_finish(&p, &e);
		text_parser_free(&p);
	}
	if (has_prev) {
		labels_free_copy(&prev);
		has_prev = 0;
	}
	return 0;
}
