#include <stdlib.h>
#include <string.h>

#include "lib/gossip/dnssd.h"
#include "test/unit/unit.h"

/*
 * A response to an SRV query for _memberlist._tcp.ringtail.test: an SRV
 * record whose target ends in a pointer to the question, an A record (to be
 * skipped), and an SRV record with its target spelt out.
 */
static const char RESPONSE[] =
    "1234 8180 0001 0003 0000 0000"
    "0b5f6d656d6265726c697374 045f746370 0872696e677461696c 0474657374 00 0021 0001"
    "c00c 0021 0001 0000003c 000f 0000 0064 1f0a 066e6f64652d31 c01d"
    "c00c 0001 0001 0000003c 0004 7f000001"
    "c00c 0021 0001 0000003c 001c 000a 0005 1f0b 066e6f64652d32 0872696e677461696c 0474657374 00";

static void
srv_records_of_a_response(void)
{
	struct dnssd_srv srv[4];
	struct err e;
	size_t n;
	uint8_t *msg = unit_hex(RESPONSE, &n);

	CHECK_INT(dnssd_parse_srv(msg, n, srv, 4, &e), 2);
	CHECK_STR(srv[0].target, "node-1.ringtail.test");
	CHECK_INT(srv[0].port, 7946);
	CHECK_INT(srv[0].weight, 100);
	CHECK_STR(srv[1].target, "node-2.ringtail.test");
	CHECK_INT(srv[1].port, 7947);
	CHECK_INT(srv[1].priority, 10);
	CHECK_INT(dnssd_parse_srv(msg, n, srv, 1, &e), 1);
	/* Every prefix is cut short somewhere: refused, never read past. */
	for (size_t len = 0; len < n; len++) {
		uint8_t *cut = malloc(len + 1);

		memcpy(cut, msg, len);
		CHECK_INT(dnssd_parse_srv(cut, len, srv, 4, &e), -1);
		free(cut);
	}
	free(msg);
}

static void
bad_responses(void)
{
	struct dnssd_srv srv[4];
	struct err e;
	size_t n;
	uint8_t *msg = unit_hex(RESPONSE, &n);

	/* NXDOMAIN. */
	msg[3] = 0x83;
	CHECK_INT(dnssd_parse_srv(msg, n, srv, 4, &e), -1);
	CHECK_STR(e.msg, "DNS rcode 3 (no such name)");
	msg[3] = 0x80;
	/* The first SRV record (its data at 60, the target at 66) made shorter than its target. */
	msg[59] = 0x0c;
	CHECK_INT(dnssd_parse_srv(msg, n, srv, 4, &e), -1);
	CHECK_STR(e.msg, "DNS answer 0: bad SRV target name");
	msg[59] = 0x0f;
	CHECK_INT(dnssd_parse_srv(msg, n, srv, 4, &e), 2);
	/* Its target a pointer to itself. */
	msg[66] = 0xc0;
	msg[67] = 66;
	CHECK_INT(dnssd_parse_srv(msg, n, srv, 4, &e), -1);
	CHECK_STR(e.msg, "DNS answer 0: bad SRV target name");
	free(msg);
}

static void
join_addresses_expand_as_dskit(void)
{
	static const char *const in[] = {
		"10.0.0.1:7946", "gossip-ring:7946", "dns+gossip-ring.cortex.svc:7946",
		"dns+[::1]:7947", "dns+no-port", "dns+:7946", "dns+h:abc", "dns+h:70000",
		"srv+name", "[fe80::1]:7946",
	};
	static const char *const want[] = {
		"10.0.0.1:7946", "gossip-ring:7946", "gossip-ring.cortex.svc:7946", "[::1]:7947",
		"[fe80::1]:7946",
	};
	struct strlist out = { 0 };

	dnssd_expand(in, sizeof(in) / sizeof(in[0]), &out);
	CHECK_INT(out.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < out.n && i < sizeof(want) / sizeof(want[0]); i++)
		CHECK_STR(out.v[i], want[i]);
	strlist_free(&out);
}

UNIT_CASES(
	UNIT_CASE(srv_records_of_a_response),
	UNIT_CASE(bad_responses),
	UNIT_CASE(join_addresses_expand_as_dskit),
);
