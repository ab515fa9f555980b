/*
 * clock — milliseconds: monotonic for timeouts and intervals, wall clock
 * for timestamps that leave the process.
 */
#ifndef RINGTAIL_CLOCK_H
#define RINGTAIL_CLOCK_H

#include <stdint.h>
#include <time.h>

int64_t	clock_mono_ms(void);
int64_t	clock_wall_ms(void);
/* The time ms from now on clock id, for pthread_cond_timedwait. */
struct timespec clock_deadline(clockid_t id, int64_t ms);

#endif
