/*
 * client — the KV client every ringtail program uses for the ring (dskit's
 * kv.Client behind -ring.store): one interface over the backends of
 * lib/kv/backend.h, with -ring.prefix applied to every key, the multi
 * backend that mirrors writes and switches its primary at run time
 * (specs/ring-kv.md §11), and dskit's request metrics.
 *
 * A client is used by one thread at a time (it blocks); a program that
 * watches the ring while it writes to it opens two.
 */
#ifndef RINGTAIL_KV_CLIENT_H
#define RINGTAIL_KV_CLIENT_H

#include <stdint.h>

#include "lib/base/err.h"
#include "lib/kv/backend.h"

struct metrics;

struct kv_opts {
	const char	*store;			/* memberlist, etcd, inmemory, multi */
	const char	*prefix;		/* -ring.prefix, "collectors/" */
	const char	*run_dir;		/* memberlist: the agent's socket is here */
	/* memberlist with gossip.njoin > 0: be a member ourselves instead. */
	struct kv_gossip_config gossip;
	struct kv_etcd_config etcd;
	const char	*multi_primary;
	const char	*multi_secondary;
	int		 multi_mirror_enabled;
	int64_t		 multi_mirror_timeout_ms;
	/* Cortex's runtime config: multi_kv_config.primary and .mirror_enabled. */
	const char	*runtime_config_file;
	int64_t		 runtime_config_period_ms;
};

/*
 * The flags of a kv_opts c, Cortex's names (the ring's -ring.* and the
 * runtime config's), for a program's flag table; run_dir comes from the
 * program's own -run-dir.
 */
#define KV_CONFIG_FLAGS(c)						\
	{ "ring.store", FLAG_STRING, &(c)->store, "memberlist",		\
	    "ring KV store: memberlist (the node's gossip-agent), etcd, inmemory or multi" }, \
	{ "ring.prefix", FLAG_STRING, &(c)->prefix, "collectors/",	\
	    "prefix of the ring's key in the KV store" },		\
	{ "ring.etcd.endpoints", FLAG_STRING, &(c)->etcd.endpoints, "",	\
	    "etcd endpoints, host:port, comma-separated" },		\
	{ "ring.etcd.dial-timeout", FLAG_DURATION, &(c)->etcd.dial_timeout_ms, "10s", \
	    "etcd dial timeout" },					\
	{ "ring.etcd.max-retries", FLAG_INT, &(c)->etcd.max_retries, "10", \
	    "etcd CAS attempts" },					\
	{ "ring.etcd.username", FLAG_STRING, &(c)->etcd.username, "",	\
	    "etcd user name" },						\
	{ "ring.etcd.password", FLAG_STRING, &(c)->etcd.password, "",	\
	    "etcd password" },						\
	{ "ring.etcd.tls-enabled", FLAG_BOOL, &(c)->etcd.tls.enabled, "false", \
	    "talk to etcd over TLS" },					\
	{ "ring.etcd.tls-cert-path", FLAG_STRING, &(c)->etcd.tls.cert_path, "", \
	    "etcd TLS: client certificate (with -ring.etcd.tls-key-path)" }, \
	{ "ring.etcd.tls-key-path", FLAG_STRING, &(c)->etcd.tls.key_path, "", \
	    "etcd TLS: the client certificate's key" },		\
	{ "ring.etcd.tls-ca-path", FLAG_STRING, &(c)->etcd.tls.ca_path, "", \
	    "etcd TLS: CA certificates to verify etcd's against (empty: the system's)" }, \
	{ "ring.etcd.tls-server-name", FLAG_STRING, &(c)->etcd.tls.server_name, "", \
	    "etcd TLS: the name expected on etcd's certificate (empty: the endpoint's host)" }, \
	{ "ring.etcd.tls-insecure-skip-verify", FLAG_BOOL, &(c)->etcd.tls.insecure_skip_verify, \
	    "false", "etcd TLS: do not verify etcd's certificate" },	\
	{ "ring.etcd.tls-min-version", FLAG_STRING, &(c)->etcd.tls.min_version, "", \
	    "etcd TLS: VersionTLS12 or VersionTLS13 (empty: OpenSSL's default)" }, \
	{ "ring.multi.primary", FLAG_STRING, &(c)->multi_primary, "",	\
	    "multi: the primary store" },				\
	{ "ring.multi.secondary", FLAG_STRING, &(c)->multi_secondary, "", \
	    "multi: the secondary store" },				\
	{ "ring.multi.mirror-enabled", FLAG_BOOL, &(c)->multi_mirror_enabled, "false", \
	    "multi: mirror writes to the secondary store" },		\
	{ "ring.multi.mirror-timeout", FLAG_DURATION, &(c)->multi_mirror_timeout_ms, "2s", \
	    "multi: timeout of one mirror write" },			\
	{ "runtime-config.file", FLAG_STRING, &(c)->runtime_config_file, "", \
	    "runtime config file (multi_kv_config: primary, mirror_enabled), reloaded when it changes" }, \
	{ "runtime-config.reload-period", FLAG_DURATION, &(c)->runtime_config_period_ms, "10s", \
	    "how often the runtime config file is checked" }

/* Cortex's YAML paths of the same flags, for config_parse's key table. */
#define KV_CONFIG_KEYS(p)						\
	{ "ring.store", p "kvstore.store" },				\
	{ "ring.prefix", p "kvstore.prefix" },				\
	{ "ring.etcd.endpoints", p "kvstore.etcd.endpoints" },		\
	{ "ring.etcd.dial-timeout", p "kvstore.etcd.dial_timeout" },	\
	{ "ring.etcd.max-retries", p "kvstore.etcd.max_retries" },	\
	{ "ring.etcd.username", p "kvstore.etcd.username" },		\
	{ "ring.etcd.password", p "kvstore.etcd.password" },		\
	{ "ring.etcd.tls-enabled", p "kvstore.etcd.tls_enabled" },	\
	{ "ring.etcd.tls-cert-path", p "kvstore.etcd.tls_cert_path" },	\
	{ "ring.etcd.tls-key-path", p "kvstore.etcd.tls_key_path" },	\
	{ "ring.etcd.tls-ca-path", p "kvstore.etcd.tls_ca_path" },	\
	{ "ring.etcd.tls-server-name", p "kvstore.etcd.tls_server_name" }, \
	{ "ring.etcd.tls-insecure-skip-verify", p "kvstore.etcd.tls_insecure_skip_verify" }, \
	{ "ring.etcd.tls-min-version", p "kvstore.etcd.tls_min_version" }, \
	{ "ring.multi.primary", p "kvstore.multi.primary" },		\
	{ "ring.multi.secondary", p "kvstore.multi.secondary" },	\
	{ "ring.multi.mirror-enabled", p "kvstore.multi.mirror_enabled" }, \
	{ "ring.multi.mirror-timeout", p "kvstore.multi.mirror_timeout" }, \
	{ "runtime-config.file", "runtime_config.file" },		\
	{ "runtime-config.reload-period", "runtime_config.period" }

struct kv;

/*
 * Open the configured store. metrics (may be NULL) gets
 * cortex_kv_request_duration_seconds and, for multi, the cortex_multikv_*
 * families, labelled kv_name.
 */
struct kv	*kv_open(const struct kv_opts *, struct metrics *, const char *kv_name,
		    struct err *);
void		 kv_close(struct kv *);
/* As the backend's, with the prefix applied (see lib/kv/backend.h). */
int		 kv_get(struct kv *, const char *key, struct ring_desc *, struct err *);
int		 kv_cas(struct kv *, const char *key, kv_cas_fn, void *arg, struct err *);
int		 kv_delete(struct kv *, const char *key, struct err *);
int		 kv_watch(struct kv *, const char *key, int prefix, struct err *);
/* *key comes back without the prefix. */
int		 kv_next(struct kv *, int timeout_ms, char **key, struct ring_desc *,
		    struct err *);
/*
 * 1 when memberlist is the store or one of multi's two: values are then
 * merged by heartbeat timestamp, not replaced.
 */
int		 kv_is_gossiped(const struct kv *);

#endif
