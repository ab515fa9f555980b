/*
 * backend — what every KV backend provides to lib/kv/client (dskit's
 * kv.Client): get, CAS with a callback, watch a key or a prefix. Values
 * are ring descriptors, the one codec ringtail stores (RING_CODEC_ID).
 * Keys reach a backend with the client's prefix already applied.
 *
 * Threads: one backend handle is used by one thread at a time; handles
 * are independent (the inmemory store is shared by the handles of one
 * process and locked inside).
 */
#ifndef RINGTAIL_KV_BACKEND_H
#define RINGTAIL_KV_BACKEND_H

#include <stdint.h>

#include "lib/base/err.h"
#include "lib/base/tls.h"
#include "lib/ring/desc.h"

/*
 * The CAS callback (dskit's CAS f): d holds the stored value, empty when
 * found is 0; change it in place. Return 1 to store d, 0 to store nothing
 * (the CAS succeeds unchanged), -1 to abort the CAS with e set.
 */
typedef int (*kv_cas_fn)(struct ring_desc *d, int found, void *arg, struct err *e);

struct kv_backend;

struct kv_backend_ops {
	/* 1 and the value, 0 when the key is absent, -1 with e. */
	int	(*get)(struct kv_backend *, const char *key, struct ring_desc *, struct err *);
	/*
	 * Read, call fn, write only if the key did not change in between;
	 * on a concurrent change call fn again on the new value, a bounded
	 * number of times. 0 on success (written or not), -1 with e.
	 */
	int	(*cas)(struct kv_backend *, const char *key, kv_cas_fn, void *arg, struct err *);
	/*
	 * Delete the key (dskit's Delete); watchers see it as an empty value.
	 * 0 also when it was absent, -1 with e.
	 */
	int	(*del)(struct kv_backend *, const char *key, struct err *);
	/*
	 * Start watching one key (prefix 0) or every key under a prefix. The
	 * first events are the current values of the watched keys.
	 */
	int	(*watch)(struct kv_backend *, const char *key, int prefix, struct err *);
	/*
	 * Wait up to timeout_ms for the next change of a watched key: 1 with
	 * *key (malloc'd) and its value (empty when the key was deleted), 0
	 * when nothing changed in time, -1 with e when the watch broke (the
	 * caller may watch again).
	 */
	int	(*next)(struct kv_backend *, int timeout_ms, char **key, struct ring_desc *,
		    struct err *);
	void	(*close)(struct kv_backend *);
};

/* Backends start with this. */
struct kv_backend {
	const struct kv_backend_ops	*ops;
	const char			*name;		/* "memberlist", "etcd", ... */
};

/* The gossip-agent of this node, through its socket (lib/kv/api). */
struct kv_backend *kv_memberlist_open(const char *socket_path, struct err *);
/* One store per process, shared by every handle: single-process setups. */
struct kv_backend *kv_inmemory_open(void);

struct kv_etcd_config {
	const char	*endpoints;	/* comma-separated host:port */
	int64_t		 dial_timeout_ms;
	int		 max_retries;	/* CAS attempts */
	const char	*username, *password;
	struct tls_client_config tls;	/* -ring.etcd.tls-* */
};
/* The real etcd v3 through its JSON gateway (lib/kv/etcd.c). */
struct kv_backend *kv_etcd_open(const struct kv_etcd_config *, struct err *);

struct kv_gossip_config {
	const char *const *join;	/* host:port of members */
	size_t		 njoin;
	const char	*transport;	/* tcp (dskit's) or udp */
	const char	*bind_addr;
	int		 bind_port;	/* 0: any */
	const char	*cluster_label;
	int		 compression;
	const char	*node_name;	/* a random suffix is added */
};
/*
 * A member of the cluster for as long as the handle lives, holding the KV
 * store itself (lib/kv/gossip_backend.c); for tools on hosts without an
 * agent. Closing leaves the cluster.
 */
struct kv_backend *kv_gossip_open(const struct kv_gossip_config *, struct err *);

struct metrics;
struct kv_multi_config {
	int		 mirror_enabled;
	int64_t		 mirror_timeout_ms;	/* a slower mirror write counts as failed */
	const char	*runtime_config_file;	/* NULL or "": no runtime switch */
	int64_t		 runtime_config_period_ms;
};
/*
 * dskit's MultiClient over two opened backends (it owns them): requests go
 * to the primary; a CAS that wrote is mirrored to the other when mirroring
 * is on; the runtime config's multi_kv_config.primary (a backend's name)
 * and .mirror_enabled switch them at run time, watches moving over.
 * metrics (may be NULL) gets the cortex_multikv_* families.
 */
struct kv_backend *kv_multi_open(struct kv_backend *primary, struct kv_backend *secondary,
	    const struct kv_multi_config *, struct metrics *, const char *kv_name);

#endif
