/*
 * unit — the C unit-test runner. A test file defines its cases and ends with
 *
 *   UNIT_CASES(
 *       UNIT_CASE(xor_demo_chunk_matches_promtool),
 *       UNIT_CASE(...),
 *   );
 *
 * Every case runs in a forked child, so a crash fails that case only. The
 * runner prints TAP ("ok N - file: case" / "not ok N - ...") that
 * test/run-tests counts. CHECK* failures print file:line and what differed,
 * and the case goes on (so one run shows every mismatch).
 */
#ifndef RINGTAIL_UNIT_H
#define RINGTAIL_UNIT_H

#include <stddef.h>
#include <stdint.h>

struct unit_case {
	const char	*name;
	void		(*fn)(void);
};

extern const struct unit_case unit_cases[];
extern int unit_failed;

#define UNIT_CASE(f)	{ #f, f }
#define UNIT_CASES(...) \
	const struct unit_case unit_cases[] = { __VA_ARGS__ { NULL, NULL } }

void	unit_fail(const char *file, int line, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	unit_check_mem(const char *file, int line, const char *what,
	    const void *got, size_t gotlen, const void *want, size_t wantlen);
/* Parse "de ad be ef" (spaces and newlines ignored) into a malloc'd buffer. */
uint8_t	*unit_hex(const char *hex, size_t *len);
/* A fresh empty directory under $TMPDIR, removed when the case ends. */
const char *unit_tmpdir(void);

#define CHECK(cond) do { if (!(cond)) \
	unit_fail(__FILE__, __LINE__, "CHECK(%s) failed", #cond); } while (0)
#define CHECK_INT(got, want) do { long long g_ = (long long)(got), w_ = (long long)(want); \
	if (g_ != w_) unit_fail(__FILE__, __LINE__, "%s = %lld, want %lld", #got, g_, w_); } while (0)
#define CHECK_U64(got, want) do { unsigned long long g_ = (got), w_ = (want); \
	if (g_ != w_) unit_fail(__FILE__, __LINE__, "%s = 0x%llx, want 0x%llx", #got, g_, w_); } while (0)
#define CHECK_STR(got, want) do { const char *g_ = (got), *w_ = (want); \
	if (g_ == NULL || strcmp(g_, w_) != 0) \
	unit_fail(__FILE__, __LINE__, "%s = \"%s\", want \"%s\"", #got, g_ ? g_ : "(null)", w_); } while (0)
#define CHECK_MEM(got, gotlen, want, wantlen) \
	unit_check_mem(__FILE__, __LINE__, #got, got, gotlen, want, wantlen)

#endif
