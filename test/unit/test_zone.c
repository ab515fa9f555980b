#include <string.h>

#include "lib/gossip/zone.h"
#include "test/unit/unit.h"

static void
metadata_is_dskits_version_1(void)
{
	struct zone_routing z;
	uint8_t meta[ZONE_META_MAX];
	struct err e;

	CHECK_INT(zone_routing_init(&z, "bridge", "zone-a", &e), 0);
	CHECK_MEM(meta, zone_meta_encode(&z, meta), "\x01\x02\x06zone-a", 9);
	CHECK_INT(zone_routing_init(&z, "member", "0123456789abcdef", &e), 0);
	CHECK_MEM(meta, zone_meta_encode(&z, meta), "\x01\x01\x10" "0123456789abcdef", 19);
}

static void
bad_settings_are_named(void)
{
	struct zone_routing z;
	struct err e;

	CHECK_INT(zone_routing_init(&z, "leader", "a", &e), -1);
	CHECK_STR(e.msg, "invalid role: leader (valid values: member, bridge)");
	CHECK_INT(zone_routing_init(&z, "member", "", &e), -1);
	CHECK_STR(e.msg, "zone-aware routing is enabled but zone is not set");
	CHECK_INT(zone_routing_init(&z, "member", "0123456789abcdefg", &e), -1);
	CHECK_STR(e.msg, "zone name too long: 17 bytes (max 16)");
}

/* dskit's selectNode, case by case. */
static void
selection_follows_zone_and_role(void)
{
	static const struct {
		const char	*role;
		const char	*meta;
		size_t		 len;
		int		 selected, preferred;
	} cases[] = {
		{ "member", "\x01\x01\x01" "a", 4, 1, 0 },	/* same zone */
		{ "member", "\x01\x02\x01" "a", 4, 1, 0 },	/* a bridge of ours */
		{ "member", "\x01\x01\x01" "b", 4, 0, 0 },	/* another zone */
		{ "member", "\x01\x02\x01" "b", 4, 0, 0 },	/* another zone's bridge */
		{ "member", "", 0, 1, 0 },			/* no metadata: an unknown zone */
		{ "member", "\x02\x01\x01" "b", 4, 1, 0 },	/* another version: unknown */
		{ "member", "\x01\x01\x05" "b", 4, 1, 0 },	/* zone cut short: unknown */
		{ "member", "\x01\x01\x00", 3, 1, 0 },		/* empty zone */
		{ "bridge", "\x01\x01\x01" "a", 4, 1, 0 },
		{ "bridge", "\x01\x02\x01" "a", 4, 1, 0 },
		{ "bridge", "\x01\x02\x01" "b", 4, 1, 1 },	/* the other zones' bridges, preferred */
		{ "bridge", "\x01\x01\x01" "b", 4, 0, 0 },
		{ "bridge", "\x01\x07\x01" "b", 4, 0, 0 },	/* an unknown role is no bridge */
		{ "bridge", "\x01\x02\x02" "ab", 5, 1, 1 },	/* a zone that only starts like ours */
		{ "bridge", "", 0, 1, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct zone_routing z;
		struct err e;
		int preferred = -1;

		CHECK_INT(zone_routing_init(&z, cases[i].role, "a", &e), 0);
		CHECK_INT(zone_select(&z, (struct ml_bytes){ (const uint8_t *)cases[i].meta,
		    cases[i].len }, &preferred), cases[i].selected);
		CHECK_INT(preferred, cases[i].preferred);
	}
}

UNIT_CASES(
	UNIT_CASE(metadata_is_dskits_version_1),
	UNIT_CASE(bad_settings_are_named),
	UNIT_CASE(selection_follows_zone_and_role),
);
