/*
 * kv-etcd-tool — the etcd KV backend (lib/kv/etcd.c) from the command line,
 * for the interop tests against a real etcd.
 *
 *   kv-etcd-tool [FLAGS] get KEY            the ring as JSON, one instance a line
 *   kv-etcd-tool [FLAGS] encode KEY         hex of the codec bytes of the ring read
 *                                           (what a Cortex/dskit writer stores)
 *   kv-etcd-tool decode FILE|-              decode codec bytes (snappy of ring.Desc),
 *                                           print the ring as `get` does
 *   kv-etcd-tool [FLAGS] register KEY ID [ADDR [NTOKENS [STATE]]]
 *                                           add or heartbeat an instance (one CAS)
 *   kv-etcd-tool [FLAGS] register-many KEY PREFIX N [NTOKENS]
 *                                           PREFIX-0 .. PREFIX-(N-1), one CAS each; prints
 *                                           "cas_calls=C" (C > N: conflicts were retried)
 *   kv-etcd-tool [FLAGS] forget KEY ID      remove an instance (one CAS)
 *   kv-etcd-tool [FLAGS] watch KEY|PREFIX* [N [MS]]
 *                                           a line "key instances id,id,..." per event
 *                                           ("-" when empty); exits after N events, or
 *                                           with 3 after MS ms without one
 *
 * FLAGS: -endpoints H:P[,H:P...] (default $ETCD_ENDPOINTS, else 127.0.0.1:2379)
 *        -dial-timeout MS, -max-retries N, -username U, -password P,
 *        TLS (any of them turns it on): -tls-ca FILE, -tls-cert FILE, -tls-key FILE,
 *        -tls-server-name NAME, -tls-insecure true
 * Exit 0 on success, 1 when the key or instance does not exist, 2 on errors.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/base/xmalloc.h"
#include "lib/kv/backend.h"
#include "test/tools/tokens.h"

static const char *const states[] = { "ACTIVE", "LEAVING", "PENDING", "JOINING", "LEFT" };

static void
print_desc(const struct ring_desc *d)
{
	printf("{\"instances\":[");
	for (size_t i = 0; i < d->n; i++) {
		const struct ring_instance *x = &d->inst[i];

		printf("%s\n{\"id\":\"%s\",\"addr\":\"%s\",\"zone\":\"%s\",\"state\":\"%s\","
		    "\"timestamp\":%lld,\"registered_timestamp\":%lld,\"tokens\":%zu}",
		    i ? "," : "", x->id, x->addr, x->zone,
		    (unsigned)x->state < 5 ? states[x->state] : "?", (long long)x->timestamp,
		    (long long)x->registered_timestamp, x->ntokens);
	}
	printf("\n]}\n");
}

struct reg {
	struct ring_instance x;
	long calls;
};

static int
cas_register(struct ring_desc *d, int found, void *arg, struct err *e)
{
	struct reg *r = arg;
	struct ring_instance *old = ring_desc_find(d, r->x.id);

	r->calls++;
	r->x.timestamp = time(NULL);
	r->x.registered_timestamp = old != NULL ? old->registered_timestamp : r->x.timestamp;
	ring_desc_set(d, &r->x);
	return 1;
}

static int
cas_forget(struct ring_desc *d, int found, void *arg, struct err *e)
{
	const char *id = arg;
	struct ring_desc out;

	if (ring_desc_find(d, id) == NULL)
		return 0;
	ring_desc_init(&out);
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->inst[i].id, id) != 0)
			ring_desc_set(&out, &d->inst[i]);
	ring_desc_free(d);
	*d = out;
	return 1;
}

static int
do_register(struct kv_backend *b, int argc, char **argv, struct err *e)
{
	struct reg r = { 0 };
	int rc;

	if (argc < 2)
		return err_set(e, "register KEY ID [ADDR [NTOKENS [STATE]]]");
	r.x.id = argv[1];
	r.x.addr = argc > 2 ? argv[2] : (char *)"127.0.0.1:9095";
	r.x.zone = (char *)"";
	make_tokens(&r.x, argc > 3 ? strtoul(argv[3], NULL, 10) : 128);
	for (int s = 0; argc > 4 && s < 5; s++)
		if (strcmp(argv[4], states[s]) == 0)
			r.x.state = (enum ring_state)s;
	rc = b->ops->cas(b, argv[0], cas_register, &r, e);
	free(r.x.tokens);
	return rc;
}

static int
do_register_many(struct kv_backend *b, int argc, char **argv, struct err *e)
{
	long n, calls = 0;
	char id[256];

	if (argc < 3)
		return err_set(e, "register-many KEY PREFIX N [NTOKENS]");
	n = strtol(argv[2], NULL, 10);
	for (long i = 0; i < n; i++) {
		struct reg r = { 0 };
		int rc;

		snprintf(id, sizeof(id), "%s-%ld", argv[1], i);
		r.x.id = id;
		r.x.addr = (char *)"127.0.0.1:9095";
		r.x.zone = (char *)"";
		make_tokens(&r.x, argc > 3 ? strtoul(argv[3], NULL, 10) : 16);
		rc = b->ops->cas(b, argv[0], cas_register, &r, e);
		free(r.x.tokens);
		calls += r.calls;
		if (rc == -1)
			return err_wrap(e, "register %s", id);
	}
	printf("cas_calls=%ld\n", calls);
	return 0;
}

static int
do_watch(struct kv_backend *b, int argc, char **argv, struct err *e)
{
	size_t len = strlen(argv[0]);
	int prefix = len > 0 && argv[0][len - 1] == '*';
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : -1;
	int ms = argc > 2 ? (int)strtol(argv[2], NULL, 10) : -1;

	if (prefix)
		argv[0][len - 1] = '\0';
	if (b->ops->watch(b, argv[0], prefix, e) == -1)
		return -1;
	for (long i = 0; n < 0 || i < n; i++) {
		struct ring_desc d;
		char *key;
		int rc = b->ops->next(b, ms, &key, &d, e);

		if (rc == -1)
			return -1;
		if (rc == 0)
			return 3;
		printf("%s %zu ", key, d.n);
		for (size_t j = 0; j < d.n; j++)
			printf("%s%s", j ? "," : "", d.inst[j].id);
		printf("%s\n", d.n ? "" : "-");
		fflush(stdout);
		free(key);
		ring_desc_free(&d);
	}
	return 0;
}

static int
do_decode(const char *path, struct err *e)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	struct buf b = { 0 };
	struct ring_desc d;
	size_t r;

	if (f == NULL)
		return err_errno(e, "%s", path);
	do {
		buf_reserve(&b, 65536);
		r = fread(b.p + b.len, 1, 65536, f);
		b.len += r;
	} while (r > 0);
	if (f != stdin)
		fclose(f);
	if (ring_desc_decode(&d, b.p, b.len, e) == -1) {
		buf_free(&b);
		return err_wrap(e, "%s", path);
	}
	print_desc(&d);
	ring_desc_free(&d);
	buf_free(&b);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: kv-etcd-tool [-endpoints H:P,...] [-dial-timeout MS] "
	    "[-max-retries N] [-username U -password P]\n"
	    "       [-tls-ca F] [-tls-cert F -tls-key F] [-tls-server-name N] [-tls-insecure true]\n"
	    "       get|encode|register|register-many|forget|watch ARGS, or decode FILE\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct kv_etcd_config cfg = { .endpoints = getenv("ETCD_ENDPOINTS") };
	struct kv_backend *b;
	struct ring_desc d;
	struct err e;
	const char *cmd;
	int i, rc = 0;

	signal(SIGPIPE, SIG_IGN);
	if (cfg.endpoints == NULL)
		cfg.endpoints = "127.0.0.1:2379";
	for (i = 1; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (strcmp(argv[i], "-endpoints") == 0)
			cfg.endpoints = argv[i + 1];
		else if (strcmp(argv[i], "-dial-timeout") == 0)
			cfg.dial_timeout_ms = strtoll(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "-max-retries") == 0)
			cfg.max_retries = (int)strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "-username") == 0)
			cfg.username = argv[i + 1];
		else if (strcmp(argv[i], "-password") == 0)
			cfg.password = argv[i + 1];
		else if (strcmp(argv[i], "-tls-ca") == 0)
			cfg.tls.enabled = 1, cfg.tls.ca_path = argv[i + 1];
		else if (strcmp(argv[i], "-tls-cert") == 0)
			cfg.tls.enabled = 1, cfg.tls.cert_path = argv[i + 1];
		else if (strcmp(argv[i], "-tls-key") == 0)
			cfg.tls.enabled = 1, cfg.tls.key_path = argv[i + 1];
		else if (strcmp(argv[i], "-tls-server-name") == 0)
			cfg.tls.enabled = 1, cfg.tls.server_name = argv[i + 1];
		else if (strcmp(argv[i], "-tls-insecure") == 0)
			cfg.tls.enabled = 1, cfg.tls.insecure_skip_verify =
			    strcmp(argv[i + 1], "true") == 0;
		else
			usage();
	}
	if (i + 1 >= argc)
		usage();
	cmd = argv[i++];
	if (strcmp(cmd, "decode") == 0) {
		if (do_decode(argv[i], &e) == -1) {
			fprintf(stderr, "kv-etcd-tool: %s\n", e.msg);
			return 2;
		}
		return 0;
	}
	if ((b = kv_etcd_open(&cfg, &e)) == NULL) {
		fprintf(stderr, "kv-etcd-tool: %s\n", e.msg);
		return 2;
	}
	if (strcmp(cmd, "get") == 0 || strcmp(cmd, "encode") == 0) {
		rc = b->ops->get(b, argv[i], &d, &e);
		if (rc == 1 && cmd[0] == 'g') {
			print_desc(&d);
		} else if (rc == 1) {
			struct buf out = { 0 };

			ring_desc_encode(&d, &out);
			for (size_t j = 0; j < out.len; j++)
				printf("%02x", out.p[j]);
			printf("\n");
			buf_free(&out);
		}
		ring_desc_free(&d);
		rc = rc == 1 ? 0 : rc == 0 ? 1 : -1;
	} else if (strcmp(cmd, "register") == 0) {
		rc = do_register(b, argc - i, argv + i, &e);
	} else if (strcmp(cmd, "register-many") == 0) {
		rc = do_register_many(b, argc - i, argv + i, &e);
	} else if (strcmp(cmd, "forget") == 0 && argc - i == 2) {
		rc = b->ops->cas(b, argv[i], cas_forget, argv[i + 1], &e);
	} else if (strcmp(cmd, "watch") == 0) {
		rc = do_watch(b, argc - i, argv + i, &e);
	} else {
		b->ops->close(b);
		usage();
	}
	b->ops->close(b);
	if (rc == -1) {
		fprintf(stderr, "kv-etcd-tool: %s\n", e.msg);
		return 2;
	}
	return rc;
}
