/*
 * ring-bench — how fast the ring model answers and rebuilds.
 *
 *   ring-bench [-tokens N] [-rf N] [-lookups N] [-zones N] [-json]
 *
 * For rings of 10, 100 and 1000 ACTIVE instances with N random tokens
 * each: replication-set lookups per second (ring_get for Write on random
 * keys, the set reused across calls; the keys are gone over again until
 * half a second has passed) and the time ring_new takes to build the
 * lookup structures from the descriptor (ring_free included; the mean over
 * as many rebuilds as fit in a quarter of a second, at least three).
 * -zones N spreads the instances over N zones and turns zone awareness on.
 * Prints one row per size, or a JSON array with -json.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/clock.h"
#include "lib/base/flags.h"
#include "lib/base/log.h"
#include "lib/base/xmalloc.h"
#include "lib/ring/ring.h"

#define USAGE	"ring-bench [-tokens N] [-rf N] [-lookups N] [-zones N] [-json]"
#define NOW_S	1700000000LL

struct result {
	int		 instances;
	double		 lookups_per_s;
	double		 rebuild_ms;
	double		 avg_set;	/* instances per replication set */
};

/* Seconds on the monotonic clock. */
static double
now(void)
{
	return (double)clock_mono_ms() / 1000;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * n ACTIVE instances, fresh heartbeats, ntok random tokens each, unique
 * ring-wide: drawn at once, shuffled, dealt out.
 */
static void
make_desc(struct ring_desc *d, int n, size_t ntok, int nzones)
{
	size_t total = (size_t)n * ntok;
	uint32_t *tok = xreallocarray(NULL, total, sizeof(*tok));

	if (ring_generate_tokens(NULL, NULL, 0, tok, total) != total)
		fatalx("cannot draw %zu tokens", total);
	for (size_t i = total - 1; i > 0; i--) {
		size_t j = arc4random_uniform((uint32_t)i + 1);
		uint32_t t = tok[i];

		tok[i] = tok[j];
		tok[j] = t;
	}
	ring_desc_init(d);
	for (int i = 0; i < n; i++) {
		struct ring_instance x;
		char id[32], addr[32], zone[16] = "";

		memset(&x, 0, sizeof(x));
		snprintf(id, sizeof(id), "ingester-%04d", i);
		snprintf(addr, sizeof(addr), "10.0.%d.%d:9095", i / 256, i % 256);
		if (nzones > 0)
			snprintf(zone, sizeof(zone), "zone-%d", i % nzones);
		x.id = id;
		x.addr = addr;
		x.zone = zone;
		x.state = RING_ACTIVE;
		x.timestamp = NOW_S;
		x.tokens = tok + (size_t)i * ntok;
		x.ntokens = ntok;
		qsort(x.tokens, ntok, sizeof(*x.tokens), cmp_u32);
		ring_desc_set(d, &x);
	}
	free(tok);
}

static void
bench(struct result *res, int n, int64_t ntok, int64_t rf, int64_t nlookups, int64_t nzones)
{
	struct ring_config cfg = { (int)rf, 60000, nzones > 0, NULL };
	struct ring_replication_set set = { 0 };
	struct ring_desc d;
	struct ring *r;
	uint32_t *keys;
	uint64_t total = 0;
	double t0, elapsed;
	int reps = 0;
	int64_t passes = 0;
	struct err e;

	make_desc(&d, n, (size_t)ntok, (int)nzones);

	t0 = now();
	do {
		r = ring_new(&d, &cfg);
		ring_free(r);
		reps++;
		elapsed = now() - t0;
	} while (reps < 3 || elapsed < 0.25);
	res->rebuild_ms = elapsed * 1000 / reps;

	keys = xreallocarray(NULL, (size_t)nlookups, sizeof(*keys));
	for (int64_t i = 0; i < nlookups; i++)
		keys[i] = arc4random();
	r = ring_new(&d, &cfg);
	t0 = now();
	do {
		for (int64_t i = 0; i < nlookups; i++) {
			if (ring_get(r, keys[i], RING_OP_WRITE, NOW_S * 1000, &set, &e) != 0)
				fatalx("ring_get: %s", e.msg);
			total += set.n;
		}
		passes++;
		elapsed = now() - t0;
	} while (elapsed < 0.5);
	res->instances = n;
	res->lookups_per_s = (double)(nlookups * passes) / elapsed;
	res->avg_set = (double)total / (double)(nlookups * passes);
	ring_replication_set_free(&set);
	ring_free(r);
	free(keys);
	ring_desc_free(&d);
}

int
main(int argc, char **argv)
{
	static const int sizes[] = { 10, 100, 1000 };
	int64_t ntok = 128, rf = 3, nlookups = 1000000, nzones = 0;
	int json = 0;
	const struct flag flags[] = {
		{ "tokens", FLAG_INT, &ntok, "128", "tokens per instance" },
		{ "rf", FLAG_INT, &rf, "3", "replication factor" },
		{ "lookups", FLAG_INT, &nlookups, "1000000", "ring_get calls per ring size" },
		{ "zones", FLAG_INT, &nzones, "0",
		    "spread instances over this many zones, zone awareness on (0: off)" },
		{ "json", FLAG_BOOL, &json, "false", "print a JSON array instead of columns" },
		{ NULL, 0, NULL, NULL, NULL },
	};
	struct result res[3];

	log_init("ring-bench", LOG_INFO);
	if (flags_parse(flags, USAGE, argc, argv) != 0 || ntok <= 0 || ntok > 100000 ||
	    rf <= 0 || nlookups <= 0 || nzones < 0 || nzones > 1000) {
		flags_usage(stderr, USAGE, flags);
		return 100;
	}
	for (size_t i = 0; i < 3; i++)
		bench(&res[i], sizes[i], ntok, rf, nlookups, nzones);

	if (json) {
		printf("[");
		for (size_t i = 0; i < 3; i++)
			printf("%s{\"instances\":%d,\"tokens_per_instance\":%" PRId64
			    ",\"replication_factor\":%" PRId64 ",\"zones\":%" PRId64
			    ",\"lookups\":%" PRId64 ",\"lookups_per_sec\":%.0f"
			    ",\"avg_set_size\":%.3f,\"rebuild_ms\":%.4f}",
			    i ? "," : "", res[i].instances, ntok, rf, nzones, nlookups,
			    res[i].lookups_per_s, res[i].avg_set, res[i].rebuild_ms);
		printf("]\n");
		return 0;
	}
	printf("%-10s %-8s %-4s %-6s %-14s %-9s %s\n", "instances", "tokens", "rf", "zones",
	    "lookups/s", "avg_set", "rebuild_ms");
	for (size_t i = 0; i < 3; i++)
		printf("%-10d %-8" PRId64 " %-4" PRId64 " %-6" PRId64 " %-14.0f %-9.3f %.4f\n",
		    res[i].instances, ntok, rf, nzones, res[i].lookups_per_s, res[i].avg_set,
		    res[i].rebuild_ms);
	return 0;
}
