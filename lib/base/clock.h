/*
 * clock — milliseconds: monotonic for timeouts and intervals, wall clock
 * for timestamps that leave the process.
 */
#ifndef RINGTAIL_CLOCK_H
#define RINGTAIL_CLOCK_H

#include <stdint.h>

int64_t	clock_mono_ms(void);
int64_t	clock_wall_ms(void);

#endif
