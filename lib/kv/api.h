/*
 * api — the gossip-agent's Unix socket (proto/agent.proto over
 * lib/base/usock): get, CAS, watch a key or prefix, list members, forget
 * an instance. The server side serves a kv_store and a memberlist; the
 * client side is blocking, for ringtail programs and tools.
 */
#ifndef RINGTAIL_KV_API_H
#define RINGTAIL_KV_API_H

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/base/usock.h"
#include "lib/ring/desc.h"

struct event_base;
struct kv_store;
struct memberlist;
struct kv_api;

#define KV_API_SOCKET		"gossip-agent.sock"
#define KV_API_WATCH_INTERVAL	100	/* ms between two events of one key, by default */

/* Watch events of one key come at most once per min_interval_ms, whatever a watch asks. */
struct kv_api	*kv_api_listen(struct event_base *, const char *path, struct kv_store *,
		    struct memberlist *, int64_t min_interval_ms, struct err *);
void		 kv_api_free(struct kv_api *);
void		 kv_api_stats(const struct kv_api *, struct usock_stats *, uint64_t *watch_events);

/* Client. Every call returns -1 with err on a transport or server error. */
struct kv_client;
enum kv_client_status {
	KV_OK = 0, KV_NOT_FOUND = 1, KV_CONFLICT = 2, KV_NO_CHANGE = 3, KV_BAD_REQUEST = 4,
};
struct kv_client *kv_client_open(const char *path, struct err *);
void		 kv_client_close(struct kv_client *);
/* KV_OK with the value and its version, or KV_NOT_FOUND. */
int		 kv_client_get(struct kv_client *, const char *key, struct ring_desc *,
		    uint64_t *version, struct err *);
/* KV_OK, KV_NO_CHANGE or KV_CONFLICT; *version gets the new version. */
int		 kv_client_cas(struct kv_client *, const char *key, const struct ring_desc *,
		    uint64_t *version, struct err *);
int		 kv_client_forget(struct kv_client *, const char *key, const char *instance,
		    struct err *);
/* KV_OK, or KV_NOT_FOUND when the key was absent or deleted already. */
int		 kv_client_delete(struct kv_client *, const char *key, struct err *);
/* Starts a watch; then kv_client_next gives one changed key's value per call. */
int		 kv_client_watch(struct kv_client *, const char *key, int prefix,
		    unsigned min_interval_ms, struct err *);
int		 kv_client_next(struct kv_client *, char **key, struct ring_desc *,
		    uint64_t *version, struct err *);
/* 1 when an event is waiting (kv_client_next will not block), 0 after timeout_ms, -1 with e. */
int		 kv_client_wait(struct kv_client *, int timeout_ms, struct err *);
struct kv_member {
	char		*name, *addr, *state;
	uint32_t	 incarnation;
	int64_t		 state_change_ms;
};
/* *out is an array of n members; kv_members_free after use. */
int		 kv_client_members(struct kv_client *, struct kv_member **out, size_t *n,
		    struct err *);
void		 kv_members_free(struct kv_member *, size_t n);

#endif
