/*
 * backoff — dskit's exponential backoff with jitter (dskit/backoff), for
 * retries an operator configures as min, max and a number of retries: the
 * first delay is drawn from [min, 2*min), and the range doubles after each
 * retry until its top reaches max. max_retries 0 retries forever.
 */
#ifndef RINGTAIL_BACKOFF_H
#define RINGTAIL_BACKOFF_H

#include <stdint.h>

struct backoff {
	int64_t		 min_ms;
	int64_t		 max_ms;
	int		 max_retries;
	int		 retries;	/* delays handed out so far */
	int64_t		 next_min;	/* the range of the next delay */
	int64_t		 next_max;
};

void	backoff_init(struct backoff *, int64_t min_ms, int64_t max_ms, int max_retries);
/* 1 while another retry is allowed. */
int	backoff_ongoing(const struct backoff *);
/* The delay before the next retry, in ms; counts the retry. */
int64_t	backoff_next_delay(struct backoff *);

#endif
