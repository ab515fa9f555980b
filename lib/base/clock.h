/*
 * clock — milliseconds: monotonic for timeouts and intervals, wall clock
 * for timestamps that leave the process.
 */
#ifndef RINGTAIL_CLOCK_H
#define RINGTAIL_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

int64_t	clock_mono_ms(void);
int64_t	clock_wall_ms(void);
/* Unix seconds as RFC 3339 in UTC ("2026-12-04T06:00:00Z"); "" for 0 and below. */
void	clock_rfc3339(char *out, size_t len, int64_t unix_s);
/* The time ms from now on clock id, for pthread_cond_timedwait. */
struct timespec clock_deadline(clockid_t id, int64_t ms);

#endif
