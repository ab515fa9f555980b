/*
 * duration — Go time.Duration text, at millisecond resolution.
 */
#ifndef RINGTAIL_DURATION_H
#define RINGTAIL_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* Parse "2h", "1h30m", "1.5s", "500ms", "0"; fractions below 1ms are truncated. 0 or -1. */
int	duration_parse(const char *s, int64_t *ms);
/* Format like Go's Duration.String: "1m30.001s", "2h0m0s", "1ms", "0s". */
void	duration_format(char *buf, size_t cap, int64_t ms);

#endif
