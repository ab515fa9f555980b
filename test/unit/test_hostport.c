#include <string.h>

#include "lib/base/hostport.h"
#include "test/unit/unit.h"

static void
split_takes_brackets_off_and_the_last_colon(void)
{
	struct hostport hp;

	hostport_split("[::1]:7946", &hp);
	CHECK_MEM(hp.host, hp.hostlen, "::1", 3);
	CHECK_STR(hp.port, "7946");
	hostport_split("gossip.ns.svc:7946", &hp);
	CHECK_MEM(hp.host, hp.hostlen, "gossip.ns.svc", 13);
	CHECK_STR(hp.port, "7946");
	hostport_split("[fe80::1]", &hp);
	CHECK_MEM(hp.host, hp.hostlen, "fe80::1", 7);
	CHECK_STR(hp.port, "");
	hostport_split("etcd", &hp);
	CHECK_MEM(hp.host, hp.hostlen, "etcd", 4);
	CHECK_STR(hp.port, "");
}

static void
parse_checks_the_port_and_the_host(void)
{
	char host[16];
	int port = 0;

	CHECK_INT(hostport_parse("127.0.0.1:9095", host, sizeof(host), -1, &port), 0);
	CHECK_STR(host, "127.0.0.1");
	CHECK_INT(port, 9095);
	CHECK_INT(hostport_parse("[::1]:1", host, sizeof(host), -1, &port), 0);
	CHECK_STR(host, "::1");
	CHECK_INT(port, 1);
	/* no port: the default, or an error when one is required */
	CHECK_INT(hostport_parse("etcd", host, sizeof(host), 2379, &port), 0);
	CHECK_INT(port, 2379);
	CHECK_INT(hostport_parse("etcd", host, sizeof(host), -1, &port), -1);
	CHECK_INT(hostport_parse("etcd:", host, sizeof(host), 2379, &port), 0);
	CHECK_INT(port, 2379);
	/* bad ports, an empty host, a host too long for the buffer */
	CHECK_INT(hostport_parse("h:0", host, sizeof(host), -1, &port), -1);
	CHECK_INT(hostport_parse("h:65536", host, sizeof(host), -1, &port), -1);
	CHECK_INT(hostport_parse("h:80x", host, sizeof(host), -1, &port), -1);
	CHECK_INT(hostport_parse("h:-80", host, sizeof(host), -1, &port), -1);
	CHECK_INT(hostport_parse(":80", host, sizeof(host), -1, &port), -1);
	CHECK_INT(hostport_parse("[]:80", host, sizeof(host), -1, &port), -1);
	CHECK_INT(hostport_parse("a-very-long-host-name:80", host, sizeof(host), -1, &port), -1);
	CHECK_INT(hostport_parse("[::1]x", host, sizeof(host), 5, &port), -1);
	CHECK_INT(hostport_parse("[::1:80", host, sizeof(host), -1, &port), -1);
	CHECK_INT(hostport_parse("[::1]", host, sizeof(host), 5, &port), 0);
	CHECK_INT(port, 5);
}

UNIT_CASES(
    UNIT_CASE(split_takes_brackets_off_and_the_last_colon),
    UNIT_CASE(parse_checks_the_port_and_the_host),
);
