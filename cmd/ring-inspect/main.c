/*
 * ring-inspect — the hash ring from a terminal or a script: the ring page
 * of Cortex as a table or JSON lines, -watch, -check for cron, forget,
 * delete, owners and tokens; see ring-inspect(1). It reads the ring through any
 * KV store (-ring.store and its flags), or joins a memberlist cluster as
 * a member itself (-memberlist.join).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base/config.h"
#include "lib/base/log.h"
#include "cmd/ring-inspect/ring-inspect.h"

#define USAGE	"ring-inspect [flags] [forget ID | delete | owners SERIES | tokens ID]"

static struct ctx *signalled;

static void
on_signal(int sig)
{
	(void)sig;
	signalled->stop = 1;
}

int
read_ring(struct ctx *c, struct ring_desc *d)
{
	struct err e;

	if (kv_get(c->kv, c->o.ring_key, d, &e) == -1) {
		log_error("cannot read the ring", "key=%s%s err=%s", c->o.kv.prefix,
		    c->o.ring_key, log_q(e.msg));
		return EXIT_SYSTEM;
	}
	return EXIT_OK;
}

void
ring_config_of(const struct opts *o, struct ring_config *rc)
{
	memset(rc, 0, sizeof(*rc));
	rc->replication_factor = (int)o->replication_factor;
	rc->heartbeat_timeout_ms = o->heartbeat_timeout;
	rc->zone_awareness = o->zone_awareness;
}

static int
configure(struct ctx *c)
{
	struct opts *o = &c->o;
	enum log_level lv;
	char *end;

	if (log_level_parse(o->log_level, &lv) == -1) {
		log_error("bad -log.level: want debug, info, warn or error", "value=%s",
		    log_q(o->log_level));
		return EXIT_USAGE;
	}
	log_init("ring-inspect", lv);
	o->max_skew = strtod(o->max_skew_text, &end);
	if (*end != '\0' || o->max_skew < 0) {
		log_error("bad -check.max-ownership-skew: want a fraction such as 0.25",
		    "value=%s", log_q(o->max_skew_text));
		return EXIT_USAGE;
	}
	if (strcmp(o->color_text, "auto") == 0)
		o->color = isatty(STDOUT_FILENO);
	else if (strcmp(o->color_text, "always") == 0 || strcmp(o->color_text, "never") == 0)
		o->color = o->color_text[0] == 'a';
	else {
		log_error("bad -color: want auto, always or never", "value=%s",
		    log_q(o->color_text));
		return EXIT_USAGE;
	}
	if (o->replication_factor < 1 || o->heartbeat_timeout < 0 || o->ml_bind_port < 0 ||
	    o->ml_bind_port > 65535) {
		log_error("bad -distributor.replication-factor, -ring.heartbeat-timeout or "
		    "-memberlist.bind-port", "replication_factor=%lld",
		    (long long)o->replication_factor);
		return EXIT_USAGE;
	}
	o->kv.run_dir = o->run_dir;
	o->kv.gossip.join = (const char *const *)o->join.v;
	o->kv.gossip.njoin = o->join.n;
	o->kv.gossip.transport = o->ml_transport;
	o->kv.gossip.bind_addr = o->ml_bind_addr;
	o->kv.gossip.bind_port = (int)o->ml_bind_port;
	o->kv.gossip.cluster_label = o->ml_label;
	o->kv.gossip.compression = o->ml_compression;
	o->kv.gossip.node_name = "ring-inspect";
	if (o->join.n > 0 && strcmp(o->kv.store, "memberlist") != 0) {
		log_error("-memberlist.join needs -ring.store=memberlist", "store=%s",
		    log_q(o->kv.store));
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

static int
run(struct ctx *c, int argc, char **argv)
{
	if (argc == 0)
		return cmd_show(c);
	if (argc == 1 && strcmp(argv[0], "delete") == 0)
		return cmd_delete(c);
	if (argc != 2) {
		log_error("a command takes one argument", "usage=%s", log_q(USAGE));
		return EXIT_USAGE;
	}
	if (strcmp(argv[0], "forget") == 0)
		return cmd_forget(c, argv[1]);
	if (strcmp(argv[0], "owners") == 0)
		return cmd_owners(c, argv[1]);
	if (strcmp(argv[0], "tokens") == 0)
		return cmd_tokens(c, argv[1]);
	log_error("unknown command: want forget, delete, owners or tokens", "command=%s",
	    log_q(argv[0]));
	return EXIT_USAGE;
}

int
main(int argc, char **argv)
{
	static struct ctx c;
	struct opts *o = &c.o;
	struct sigaction sa;
	struct config *cfg;
	struct err e;
	int n, rc;
	const struct flag flags[] = {
		NODE_FLAGS(o, "warn"),
		{ "ring.key", FLAG_STRING, &o->ring_key, "ring",
		    "the ring's key under -ring.prefix (Cortex's ingesters: ring)" },
		KV_CONFIG_FLAGS(&o->kv),
		{ "memberlist.join", FLAG_LIST, &o->join, NULL,
		    "join this member (host:port, repeatable) and read the ring as a member "
		    "instead of through the local gossip-agent" },
		{ "memberlist.transport", FLAG_STRING, &o->ml_transport, "tcp",
		    "with -memberlist.join: tcp (dskit's) or udp" },
		{ "memberlist.bind-addr", FLAG_STRING, &o->ml_bind_addr, "0.0.0.0",
		    "with -memberlist.join: address to bind" },
		{ "memberlist.bind-port", FLAG_INT, &o->ml_bind_port, "0",
		    "with -memberlist.join: port to bind (0: any)" },
		{ "memberlist.cluster-label", FLAG_STRING, &o->ml_label, "",
		    "with -memberlist.join: the cluster's label" },
		{ "memberlist.compression-enabled", FLAG_BOOL, &o->ml_compression, "true",
		    "with -memberlist.join: compress messages" },
		{ "ring.heartbeat-timeout", FLAG_DURATION, &o->heartbeat_timeout, "1m",
		    "an instance without a heartbeat this long is unhealthy" },
		{ "distributor.replication-factor", FLAG_INT, &o->replication_factor, "3",
		    "replicas per series, for owners" },
		{ "distributor.zone-awareness-enabled", FLAG_BOOL, &o->zone_awareness, "false",
		    "replicas in distinct zones; ownership per zone" },
		{ "json", FLAG_BOOL, &o->json, "false", "JSON: one object per line" },
		{ "watch", FLAG_BOOL, &o->watch, "false", "redraw whenever the ring changes" },
		{ "check", FLAG_BOOL, &o->check, "false",
		    "exit 1 when an instance is unhealthy or ownership is skewed" },
		{ "check.max-ownership-skew", FLAG_STRING, &o->max_skew_text, "0.5",
		    "-check: largest allowed |ownership / fair share - 1|" },
		{ "force", FLAG_BOOL, &o->force, "false", "forget a healthy instance, or delete a ring that healthy instances still heartbeat into" },
		{ "color", FLAG_STRING, &o->color_text, "auto", "auto (on a terminal), always or never" },
		{ "tenant", FLAG_STRING, &o->tenant, "fake", "owners: the tenant of the series" },
		{ NULL, 0, NULL, NULL, NULL },
	};
	static const struct config_key keys[] = {
		NODE_KEYS,
		KV_CONFIG_KEYS("ingester.lifecycler.ring."),
		{ "memberlist.join", "memberlist.join_members" },
		{ "memberlist.transport", "memberlist.transport" },
		{ "memberlist.cluster-label", "memberlist.cluster_label" },
		{ "ring.heartbeat-timeout", "ingester.lifecycler.ring.heartbeat_timeout" },
		{ "distributor.replication-factor", "ingester.lifecycler.ring.replication_factor" },
		{ "distributor.zone-awareness-enabled",
		    "ingester.lifecycler.ring.zone_awareness_enabled" },
		{ NULL, NULL },
	};

	log_init("ring-inspect", LOG_WARN);
	n = config_parse(&cfg, flags, keys, USAGE, argc, argv);
	if ((rc = configure(&c)) != EXIT_OK)
		goto out;
	if ((c.kv = kv_open(&o->kv, NULL, "ring-inspect", &e)) == NULL) {
		log_error("cannot open the KV store", "err=%s", log_q(e.msg));
		rc = EXIT_USAGE;
		goto out;
	}
	signalled = &c;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	rc = run(&c, n, argv);
	kv_close(c.kv);
out:
	strlist_free(&o->join);
	config_free(cfg);
	return rc;
}
