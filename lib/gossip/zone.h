/*
 * zone — dskit's experimental zone-aware routing of memberlist gossip
 * (-memberlist.zone-aware-routing.*): each node's metadata names its zone
 * and role, and gossip and push/pull go to nodes of the same zone; bridges
 * also reach the bridges of other zones, and prefer them. Nodes whose
 * zone is unknown are always chosen, so that none is cut off. Probes are
 * not routed. See specs/ring-kv.md §6.
 */
#ifndef RINGTAIL_ZONE_H
#define RINGTAIL_ZONE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/gossip/mlwire.h"

#define ZONE_NAME_MAX	16	/* dskit's MaxZoneNameLength: metadata stays small */
#define ZONE_META_MAX	(3 + ZONE_NAME_MAX)

enum zone_role {
	ZONE_MEMBER = 1,
	ZONE_BRIDGE = 2,
};

struct zone_routing {
	enum zone_role	 role;
	char		 zone[ZONE_NAME_MAX + 1];
};

/* role "member" or "bridge" and a zone of 1..16 bytes; -1 with e naming what is wrong. */
int	zone_routing_init(struct zone_routing *, const char *role, const char *zone, struct err *);
/* Node metadata version 1: 0x01, role, zone length, zone; returns its length. */
size_t	zone_meta_encode(const struct zone_routing *, uint8_t out[ZONE_META_MAX]);
/*
 * A node's role (its raw byte: 1 member, 2 bridge, else unknown) and zone
 * (n 0: none), as dskit reads metadata: short or other-version metadata
 * is a member of no zone.
 */
void	zone_meta_read(struct ml_bytes meta, int *role, struct ml_bytes *zone);
/* "member", "bridge", or "unknown(N)" in buf. */
const char *zone_role_name(int role, char *buf, size_t len);
/*
 * memberlist's node selection hook (ml_config.select_node): 1 when the node
 * of this metadata may get gossip and push/pulls from us, with *preferred
 * set when one such node should be among every choice.
 */
int	zone_select(void *routing, struct ml_bytes meta, int *preferred);

#endif
