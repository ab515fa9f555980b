/*
 * dnssd_parse_srv on arbitrary bytes (a DNS server's answer to the SRV
 * lookup of a dnssrv+ join address): it never reads past the message,
 * never reports more records than it has room for, and every target it
 * reports is a terminated string.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/gossip/dnssd.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dnssd_srv srv[4];
	uint8_t *msg = malloc(size > 0 ? size : 1);
	struct err e;
	int n;

	/* A copy of exactly size bytes, so that ASan sees any read past them. */
	memcpy(msg, data, size);
	n = dnssd_parse_srv(msg, size, srv, 4, &e);
	if (n > 4)
		abort();
	for (int i = 0; i < n; i++)
		if (memchr(srv[i].target, '\0', sizeof(srv[i].target)) == NULL)
			abort();
	free(msg);
	return 0;
}
