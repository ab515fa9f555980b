/*
 * netif — a private address is what peers in one cluster can reach; a
 * public one is better than loopback.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/base/netif.h"

static int
is_private(uint32_t a)
{
	return (a >> 24) == 10 || (a >> 20) == (172 << 4 | 1) || (a >> 16) == (192 << 8 | 168);
}

void
netif_default_addr(char *out, size_t len)
{
	struct ifaddrs *ifs, *i;
	const struct sockaddr_in *best = NULL;

	snprintf(out, len, "127.0.0.1");
	if (getifaddrs(&ifs) == -1)
		return;
	for (i = ifs; i != NULL; i = i->ifa_next) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)i->ifa_addr;

		if (sin == NULL || sin->sin_family != AF_INET || !(i->ifa_flags & IFF_UP) ||
		    (i->ifa_flags & IFF_LOOPBACK))
			continue;
		if (best == NULL || (is_private(ntohl(sin->sin_addr.s_addr)) &&
		    !is_private(ntohl(best->sin_addr.s_addr))))
			best = sin;
	}
	if (best != NULL)
		inet_ntop(AF_INET, &best->sin_addr, out, (socklen_t)len);
	freeifaddrs(ifs);
}
