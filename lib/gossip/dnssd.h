/*
 * dnssd — dskit's DNS service discovery for -memberlist.join (its dns
 * provider, taken from Thanos), so that a Cortex, Mimir or Loki join list
 * works unchanged:
 *
 *   dns+HOST:PORT       HOST's A/AAAA records, each with PORT (required)
 *   dnssrv+NAME         NAME's SRV records: each target's addresses, with
 *                       the record's port (or NAME's own :PORT if given)
 *   dnssrvnoa+NAME      the same, the target names left as they are
 *   HOST:PORT           as it is (memberlist resolves HOST to all its
 *                       addresses when it joins)
 *
 * memberlist's join resolves every host name it is given, so dns+ and the
 * SRV targets come back as names, not addresses: the result is the same.
 */
#ifndef RINGTAIL_DNSSD_H
#define RINGTAIL_DNSSD_H

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/base/flags.h"

#define DNSSD_NAME_MAX	1025	/* NS_MAXDNAME */

struct dnssd_srv {
	uint16_t	 priority;
	uint16_t	 weight;
	uint16_t	 port;
	char		 target[DNSSD_NAME_MAX];
};

/*
 * The SRV records in the answer section of the DNS response msg[0..n)
 * (RFC 1035, RFC 2782), at most max into out; other records are skipped.
 * The number found, or -1 with e: a response that is cut short, whose
 * names do not decode, or whose rcode is not 0.
 */
int	dnssd_parse_srv(const uint8_t *msg, size_t n, struct dnssd_srv *out, size_t max,
	    struct err *e);

/*
 * Append the join addresses in[0..n) stand for to out, looking up SRV
 * records now (each join looks them up again, as dskit does). What cannot
 * be looked up or is malformed is logged and left out.
 */
void	dnssd_expand(const char *const *in, size_t n, struct strlist *out);

#endif
