/*
 * status — dskit's memberlist status page, served by the gossip agent:
 *
 *   GET /memberlist               HTML: health, zone-aware routing, members,
 *                                 KV keys, message history; Accept:
 *                                 application/json gives dskit's
 *                                 StatusPageData as Go writes it
 *       ?viewKey=K&format=F       a stored value (tombstones included) as JSON
 *                                 (F json or json-pretty)
 *       ?downloadKey=K            a stored value as the codec's bytes
 *       ?viewMsg=ID&format=F      a message of the history, decoded
 *       ?deleteMessages=true      empties the history, then redirects
 *   GET /memberlist/kv            the keys with versions and sizes, as JSON
 *   GET /memberlist/members       every member, dead and left ones too, as JSON
 */
#ifndef RINGTAIL_KV_STATUS_H
#define RINGTAIL_KV_STATUS_H

struct httpd;
struct kv_history;
struct kv_store;
struct memberlist;
struct zone_routing;

struct kv_status {
	struct memberlist	*ml;
	struct kv_store		*kv;
	struct kv_history	*history;	/* NULL: history off */
	const struct zone_routing *zones;	/* NULL: zone-aware routing off */
};

/* Routes both pages to st, which must outlive the server. */
void	kv_status_route(struct httpd *, struct kv_status *st);

#endif
