#include <stdio.h>
#include <string.h>

#include "lib/gossip/zone.h"

int
zone_routing_init(struct zone_routing *z, const char *role, const char *zone, struct err *e)
{
	if (strcmp(role, "member") == 0)
		z->role = ZONE_MEMBER;
	else if (strcmp(role, "bridge") == 0)
		z->role = ZONE_BRIDGE;
	else
		return err_set(e, "invalid role: %s (valid values: member, bridge)", role);
	if (*zone == '\0')
		return err_set(e, "zone-aware routing is enabled but zone is not set");
	if (strlen(zone) > ZONE_NAME_MAX)
		return err_set(e, "zone name too long: %zu bytes (max %d)", strlen(zone),
		    ZONE_NAME_MAX);
	memcpy(z->zone, zone, strlen(zone) + 1);
	return 0;
}

size_t
zone_meta_encode(const struct zone_routing *z, uint8_t out[ZONE_META_MAX])
{
	size_t n = strlen(z->zone);

	out[0] = 1;
	out[1] = (uint8_t)z->role;
	out[2] = (uint8_t)n;
	memcpy(out + 3, z->zone, n);
	return 3 + n;
}

void
zone_meta_read(struct ml_bytes meta, int *role, struct ml_bytes *zone)
{
	*role = ZONE_MEMBER;
	*zone = (struct ml_bytes){ NULL, 0 };
	if (meta.n < 3 || meta.p[0] != 1)
		return;
	*role = meta.p[1];
	if (meta.n >= 3 + (size_t)meta.p[2])
		*zone = (struct ml_bytes){ meta.p + 3, meta.p[2] };
}

const char *
zone_role_name(int role, char *buf, size_t len)
{
	if (role == ZONE_MEMBER)
		return "member";
	if (role == ZONE_BRIDGE)
		return "bridge";
	snprintf(buf, len, "unknown(%d)", role);
	return buf;
}

int
zone_select(void *routing, struct ml_bytes meta, int *preferred)
{
	const struct zone_routing *z = routing;
	struct ml_bytes zone;
	int role;

	*preferred = 0;
	zone_meta_read(meta, &role, &zone);
	/* An unknown zone is chosen but not preferred, so that no node is cut off. */
	if (zone.n == 0 || (zone.n == strlen(z->zone) && memcmp(zone.p, z->zone, zone.n) == 0))
		return 1;
	if (z->role != ZONE_BRIDGE || role != ZONE_BRIDGE)
		return 0;
	*preferred = 1;
	return 1;
}
