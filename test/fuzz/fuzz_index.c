/*
 * fuzz_index — the index reader on arbitrary bytes: open, then read every
 * symbol, label name and value, every postings list and every series of
 * the all-series list. Errors are fine; crashes, leaks and out-of-bounds
 * reads are not.
 */
#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/tsdb/index.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
walk(struct index_reader *r)
{
	struct postings pl = { 0 };
	struct index_series s = { 0 };
	const struct str *names, *values;
	size_t nnames, nvalues;
	struct str sym;
	struct err e;

	for (size_t i = 0; i < index_reader_nsymbols(r); i++)
		index_reader_symbol(r, (uint32_t)i, &sym, &e);
	index_reader_label_names(r, &names, &nnames);
	for (size_t i = 0; i < nnames; i++) {
		index_reader_label_values(r, names[i], &values, &nvalues);
		for (size_t j = 0; j < nvalues; j++)
			index_reader_postings(r, names[i], values[j], &pl, &e);
	}
	/* The series of the all-series list, reusing s across calls. */
	if (index_reader_all_postings(r, &pl, &e) == 0)
		for (size_t i = 0; i < pl.n; i++)
			index_reader_series(r, pl.ids[i], &s, &e);
	postings_free(&pl);
	index_series_free(&s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct index_reader *r;
	struct err e;

	if ((r = index_reader_open_mem(data, size, &e)) == NULL)
		return 0;
	walk(r);
	index_reader_close(r);
	return 0;
}
