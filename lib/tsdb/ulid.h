/*
 * ulid — oklog/ulid identifiers: 48-bit ms time + 80 random bits, Crockford
 * base32 in 26 characters. New IDs are monotonic within a process (same ms:
 * the random part is incremented), entropy from arc4random.
 */
#ifndef RINGTAIL_ULID_H
#define RINGTAIL_ULID_H

#include <stdint.h>

#define ULID_LEN	26

struct ulid {
	uint8_t	b[16];
};

void	 ulid_new(struct ulid *);
/* With an explicit time in ms (tests, bucket tools); still monotonic. */
void	 ulid_new_at(struct ulid *, uint64_t ms);
void	 ulid_format(const struct ulid *, char out[ULID_LEN + 1]);
/* Strict: 26 chars of the alphabet (lower case accepted), first char 0-7. 0 or -1. */
int	 ulid_parse(const char *s, struct ulid *);
uint64_t ulid_time(const struct ulid *);
int	 ulid_cmp(const struct ulid *, const struct ulid *);

#endif
