#include <time.h>

#include "lib/base/clock.h"

static int64_t
ms_of(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
clock_mono_ms(void)
{
	return ms_of(CLOCK_MONOTONIC);
}

int64_t
clock_wall_ms(void)
{
	return ms_of(CLOCK_REALTIME);
}

struct timespec
clock_deadline(clockid_t id, int64_t ms)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}

void
clock_rfc3339(char *out, size_t len, int64_t unix_s)
{
	time_t t = (time_t)unix_s;
	struct tm tm;

	out[0] = '\0';
	if (unix_s > 0 && gmtime_r(&t, &tm) != NULL)
		strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
