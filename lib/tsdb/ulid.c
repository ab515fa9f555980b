#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/tsdb/ulid.h"

static const char ulid_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* Last ID handed out, so IDs of the same millisecond keep increasing. */
static pthread_mutex_t ulid_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t ulid_last_ms;
static uint8_t ulid_last_entropy[10];
static int ulid_have_last;

static int	ulid_increment(uint8_t *);
static int	ulid_char_value(int);

/* Add one to the 80-bit big-endian entropy; 1 when it wrapped to zero. */
static int
ulid_increment(uint8_t *e)
{
	for (int i = 9; i >= 0; i--)
		if (++e[i] != 0)
			return 0;
	return 1;
}

void
ulid_new(struct ulid *u)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ulid_new_at(u, (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

void
ulid_new_at(struct ulid *u, uint64_t ms)
{
	uint8_t entropy[10];

	ms &= 0xffffffffffffULL;
	pthread_mutex_lock(&ulid_lock);
	if (ulid_have_last && ms == ulid_last_ms) {
		memcpy(entropy, ulid_last_entropy, sizeof(entropy));
		/*
		 * 2^80 IDs in one millisecond cannot happen with a random
		 * start, but if it did, moving to the next millisecond still
		 * keeps the order.
		 */
		if (ulid_increment(entropy)) {
			ms = (ms + 1) & 0xffffffffffffULL;
			arc4random_buf(entropy, sizeof(entropy));
		}
	} else
		arc4random_buf(entropy, sizeof(entropy));
	ulid_last_ms = ms;
	memcpy(ulid_last_entropy, entropy, sizeof(entropy));
	ulid_have_last = 1;
	pthread_mutex_unlock(&ulid_lock);

	for (int i = 0; i < 6; i++)
		u->b[i] = (uint8_t)(ms >> (40 - 8 * i));
	memcpy(u->b + 6, entropy, sizeof(entropy));
}

/*
 * The 26 characters are the 128 bits as one 130-bit big-endian number
 * (two leading zero bits), 5 bits per character.
 */
void
ulid_format(const struct ulid *u, char out[ULID_LEN + 1])
{
	for (int i = 0; i < ULID_LEN; i++) {
		int pos = 5 * i - 2;	/* bit offset of the first bit, from the MSB */
		unsigned v = 0;

		for (int k = 0; k < 5; k++, pos++) {
			v <<= 1;
			if (pos >= 0)
				v |= (unsigned)(u->b[pos / 8] >> (7 - pos % 8)) & 1;
		}
		out[i] = ulid_alphabet[v];
	}
	out[ULID_LEN] = '\0';
}

static int
ulid_char_value(int c)
{
	const char *p;

	if (c >= 'a' && c <= 'z')
		c -= 'a' - 'A';
	if (c == '\0' || (p = strchr(ulid_alphabet, c)) == NULL)
		return -1;
	return (int)(p - ulid_alphabet);
}

int
ulid_parse(const char *s, struct ulid *u)
{
	struct ulid r;

	if (s == NULL || strnlen(s, ULID_LEN + 1) != ULID_LEN)
		return -1;
	/* The first character holds only 3 bits: 8..31 would overflow 128 bits. */
	if (s[0] < '0' || s[0] > '7')
		return -1;
	memset(&r, 0, sizeof(r));
	for (int i = 0; i < ULID_LEN; i++) {
		int v = ulid_char_value((unsigned char)s[i]), pos = 5 * i - 2;

		if (v < 0)
			return -1;
		for (int k = 4; k >= 0; k--, pos++)
			if (pos >= 0 && (v >> k & 1))
				r.b[pos / 8] |= (uint8_t)(0x80 >> (pos % 8));
	}
	*u = r;
	return 0;
}

uint64_t
ulid_time(const struct ulid *u)
{
	uint64_t ms = 0;

	for (int i = 0; i < 6; i++)
		ms = ms << 8 | u->b[i];
	return ms;
}

int
ulid_cmp(const struct ulid *a, const struct ulid *b)
{
	int c = memcmp(a->b, b->b, sizeof(a->b));

	return c < 0 ? -1 : c > 0;
}
