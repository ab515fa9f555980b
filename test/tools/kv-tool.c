/*
 * kv-tool — talks to a gossip-agent's Unix socket, for tests and the
 * benchmark (ring-inspect is the operator's tool).
 *
 *   kv-tool SOCKET get KEY                  the ring as JSON, one instance a line
 *   kv-tool SOCKET register KEY ID [ADDR [NTOKENS [STATE [SKEW]]]]
 *                                           add or heartbeat an instance (CAS with retries);
 *                                           SKEW seconds are added to its heartbeat
 *   kv-tool SOCKET forget KEY ID
 *   kv-tool SOCKET watch KEY|PREFIX* [N]    a line "key version instances ms" per event;
 *                                           exits after N events
 *   kv-tool SOCKET members                  "name addr state" lines
 *   kv-tool - pair KEY ID [ADDR]            print the hex of a KeyValuePair holding a
 *                                           one-instance ring, and of it as a push/pull
 *                                           state record (u32 length first), a line each
 *   kv-tool SOCKET raw HEX                  write the bytes as they are, then print
 *                                           "closed" or the reply's status and error
 *
 * Exit 0 on success, 1 when the key or instance does not exist, 2 on errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/base/clock.h"
#include "lib/base/xmalloc.h"
#include "lib/kv/api.h"
#include "lib/kv/store.h"
#include "test/tools/tokens.h"

static const char *const states[] = { "ACTIVE", "LEAVING", "PENDING", "JOINING", "LEFT" };

static void
print_desc(const struct ring_desc *d, uint64_t version)
{
	printf("{\"version\":%llu,\"instances\":[", (unsigned long long)version);
	for (size_t i = 0; i < d->n; i++) {
		const struct ring_instance *x = &d->inst[i];

		printf("%s\n{\"id\":\"%s\",\"addr\":\"%s\",\"zone\":\"%s\",\"state\":\"%s\","
		    "\"timestamp\":%lld,\"tokens\":%zu}", i ? "," : "", x->id, x->addr, x->zone,
		    (unsigned)x->state < 5 ? states[x->state] : "?", (long long)x->timestamp,
		    x->ntokens);
	}
	printf("\n]}\n");
}

static int
do_register(struct kv_client *c, int argc, char **argv, struct err *e)
{
	const char *key = argv[0];
	struct ring_instance x = { 0 };

	if (argc < 2)
		return err_set(e, "register KEY ID [ADDR [NTOKENS [STATE [SKEW]]]]");
	x.id = argv[1];
	x.addr = argc > 2 ? argv[2] : (char *)"127.0.0.1:9095";
	x.zone = (char *)"";
	make_tokens(&x, argc > 3 ? strtoul(argv[3], NULL, 10) : 128);
	for (int s = 0; argc > 4 && s < 5; s++)
		if (strcmp(argv[4], states[s]) == 0)
			x.state = (enum ring_state)s;
	/* As dskit's CAS: heartbeats are in seconds, so "no change" waits a second. */
	for (int attempt = 0; attempt < 10; attempt++) {
		struct ring_desc d;
		uint64_t version;
		int rc;

		if (kv_client_get(c, key, &d, &version, e) == -1)
			break;
		x.timestamp = time(NULL) + (argc > 5 ? strtol(argv[5], NULL, 10) : 0);
		x.registered_timestamp = x.timestamp;
		ring_desc_set(&d, &x);
		rc = kv_client_cas(c, key, &d, &version, e);
		ring_desc_free(&d);
		if (rc == KV_OK) {
			free(x.tokens);
			return 0;
		}
		if (rc == -1)
			break;
		if (rc == KV_NO_CHANGE)
			sleep(1);
	}
	free(x.tokens);
	return err_set(e, "register %s in %s: %s", x.id, key, e->msg);
}

static int
do_watch(struct kv_client *c, int argc, char **argv, struct err *e)
{
	size_t len = strlen(argv[0]);
	int prefix = len > 0 && argv[0][len - 1] == '*';
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : -1;

	if (prefix)
		argv[0][len - 1] = '\0';
	if (kv_client_watch(c, argv[0], prefix, 0, e) == -1)
		return -1;
	for (long i = 0; n < 0 || i < n; i++) {
		struct ring_desc d;
		uint64_t version;
		char *key;

		if (kv_client_next(c, &key, &d, &version, e) == -1)
			return -1;
		printf("%s %llu %zu %lld\n", key, (unsigned long long)version, d.n,
		    (long long)clock_wall_ms());
		fflush(stdout);
		free(key);
		ring_desc_free(&d);
	}
	return 0;
}

/* What a peer gossips (for the Go peer to send), without an agent. */
static int
print_pair(const char *key, const char *id, const char *addr)
{
	struct ring_instance x = { .id = (char *)id, .addr = (char *)addr, .zone = (char *)"" };
	struct ring_desc d;
	struct buf b = { 0 };

	x.timestamp = time(NULL);
	make_tokens(&x, 16);
	ring_desc_init(&d);
	ring_desc_set(&d, &x);
	kv_pair_marshal(key, &d, 0, 0, &b);
	for (size_t i = 0; i < b.len; i++)
		printf("%02x", b.p[i]);
	printf("\n%08zx", b.len);
	for (size_t i = 0; i < b.len; i++)
		printf("%02x", b.p[i]);
	printf("\n");
	ring_desc_free(&d);
	free(x.tokens);
	buf_free(&b);
	return 0;
}

/* For the bad-input tests: bytes the client library would never send. */
static int
do_raw(const char *path, const char *hex, struct err *e)
{
	size_t n = strlen(hex) / 2;
	uint8_t *p = xmalloc(n + 1), hdr[4];
	int fd = usock_dial(path, e);
	ssize_t r;

	if (fd == -1) {
		free(p);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		sscanf(hex + 2 * i, "%2hhx", &p[i]);
	if (write(fd, p, n) != (ssize_t)n) {
		free(p);
		close(fd);
		return err_set(e, "short write");
	}
	r = read(fd, hdr, 4);
	if (r <= 0) {
		printf("closed\n");
	} else {
		struct buf b = { 0 };
		uint32_t len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
		    (uint32_t)hdr[2] << 8 | hdr[3];

		buf_reserve(&b, len + 1);
		while (b.len < len && (r = read(fd, b.p + b.len, len - b.len)) > 0)
			b.len += (size_t)r;
		printf("reply %u bytes: %.*s\n", len, (int)b.len, (char *)b.p);
		buf_free(&b);
	}
	free(p);
	close(fd);
	return 0;
}

int
main(int argc, char **argv)
{
	struct kv_client *c;
	struct err e;
	int rc = 0;

	if (argc < 3 || strcmp(argv[1], "-h") == 0) {
		fprintf(stderr, "usage: kv-tool SOCKET get|register|forget|watch|members ARGS\n");
		return 2;
	}
	if (strcmp(argv[2], "pair") == 0 && argc >= 5)
		return print_pair(argv[3], argv[4], argc > 5 ? argv[5] : "127.0.0.1:9095");
	if (strcmp(argv[2], "raw") == 0 && argc == 4) {
		if (do_raw(argv[1], argv[3], &e) == -1) {
			fprintf(stderr, "kv-tool: %s\n", e.msg);
			return 2;
		}
		return 0;
	}
	if ((c = kv_client_open(argv[1], &e)) == NULL) {
		fprintf(stderr, "kv-tool: %s\n", e.msg);
		return 2;
	}
	if (strcmp(argv[2], "get") == 0 && argc == 4) {
		struct ring_desc d;
		uint64_t version;

		rc = kv_client_get(c, argv[3], &d, &version, &e);
		if (rc == KV_OK)
			print_desc(&d, version);
		ring_desc_free(&d);
	} else if (strcmp(argv[2], "register") == 0 && argc >= 5) {
		rc = do_register(c, argc - 3, argv + 3, &e);
	} else if (strcmp(argv[2], "forget") == 0 && argc == 5) {
		rc = kv_client_forget(c, argv[3], argv[4], &e);
	} else if (strcmp(argv[2], "watch") == 0 && argc >= 4) {
		rc = do_watch(c, argc - 3, argv + 3, &e);
	} else if (strcmp(argv[2], "members") == 0) {
		struct kv_member *m;
		size_t n;

		if ((rc = kv_client_members(c, &m, &n, &e)) == KV_OK) {
			for (size_t i = 0; i < n; i++)
				printf("%s %s %s\n", m[i].name, m[i].addr, m[i].state);
			kv_members_free(m, n);
		}
	} else {
		fprintf(stderr, "kv-tool: unknown command or wrong arguments: %s\n", argv[2]);
		rc = -1;
		snprintf(e.msg, sizeof(e.msg), "usage");
	}
	kv_client_close(c);
	if (rc == -1) {
		fprintf(stderr, "kv-tool: %s\n", e.msg);
		return 2;
	}
	return rc == KV_NOT_FOUND ? 1 : 0;
}
