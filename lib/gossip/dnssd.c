#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/hostport.h"
#include "lib/base/log.h"
#include "lib/base/xmalloc.h"
#include "lib/gossip/dnssd.h"

#define SRV_MAX		256
#define ANSWER_MAX	65536

static unsigned
be16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

int
dnssd_parse_srv(const uint8_t *msg, size_t n, struct dnssd_srv *out, size_t max,
    struct err *e)
{
	const uint8_t *p = msg + NS_HFIXEDSZ, *end = msg + n;
	unsigned nq, nan;
	size_t found = 0;
	int k;

	if (n < NS_HFIXEDSZ)
		return err_set(e, "DNS response of %zu bytes, shorter than its header", n);
	if ((msg[3] & 0x0f) != 0)
		return err_set(e, "DNS rcode %d%s", msg[3] & 0x0f,
		    (msg[3] & 0x0f) == ns_r_nxdomain ? " (no such name)" : "");
	nq = be16(msg + 4);
	nan = be16(msg + 6);
	for (unsigned i = 0; i < nq; i++) {
		if ((k = dn_skipname(p, end)) < 0 || (size_t)(end - p) < (size_t)k + NS_QFIXEDSZ)
			return err_set(e, "DNS question %u cut short", i);
		p += k + NS_QFIXEDSZ;
	}
	for (unsigned i = 0; i < nan; i++) {
		unsigned type, rdlen;

		if ((k = dn_skipname(p, end)) < 0 || (size_t)(end - p) < (size_t)k + NS_RRFIXEDSZ)
			return err_set(e, "DNS answer %u cut short", i);
		p += k;
		type = be16(p);
		rdlen = be16(p + 8);
		p += NS_RRFIXEDSZ;
		if ((size_t)(end - p) < rdlen)
			return err_set(e, "DNS answer %u: %u bytes of data, %zu left", i, rdlen,
			    (size_t)(end - p));
		if (type == ns_t_srv && found < max) {
			struct dnssd_srv *s = &out[found];

			if (rdlen < 7)
				return err_set(e, "DNS answer %u: SRV data of %u bytes", i, rdlen);
			s->priority = (uint16_t)be16(p);
			s->weight = (uint16_t)be16(p + 2);
			s->port = (uint16_t)be16(p + 4);
			/* The target may point back into the message, but must end in the record. */
			if ((k = dn_expand(msg, end, p + 6, s->target, sizeof(s->target))) < 0 ||
			    (unsigned)k > rdlen - 6)
				return err_set(e, "DNS answer %u: bad SRV target name", i);
			found++;
		}
		p += rdlen;
	}
	return (int)found;
}

static void
push(struct strlist *out, char *s)
{
	out->v = xreallocarray(out->v, out->n + 1, sizeof(*out->v));
	out->v[out->n++] = s;
}

static void
append(struct strlist *out, const char *host, size_t hostlen, const char *port)
{
	size_t len = hostlen + strlen(port) + 4;
	char *s = xmalloc(len);

	/* An IPv6 literal keeps its brackets so that the last colon is the port's. */
	snprintf(s, len, memchr(host, ':', hostlen) != NULL ? "[%.*s]:%s" : "%.*s:%s",
	    (int)hostlen, host, port);
	push(out, s);
}

static void
expand_srv(const char *addr, const char *name, struct strlist *out)
{
	struct dnssd_srv *srv = xcalloc(SRV_MAX, sizeof(*srv));
	uint8_t *answer = xmalloc(ANSWER_MAX);
	char qname[DNSSD_NAME_MAX], pbuf[8];
	struct hostport hp;
	struct err e;
	int len, nsrv;

	hostport_split(name, &hp);
	snprintf(qname, sizeof(qname), "%.*s", (int)hp.hostlen, hp.host);
	if ((len = res_query(qname, ns_c_in, ns_t_srv, answer, ANSWER_MAX)) < 0)
		log_warn("cannot look up the SRV records of a join address", "addr=%s err=%s",
		    log_q(addr), log_q(hstrerror(h_errno)));
	else if ((nsrv = dnssd_parse_srv(answer, (size_t)(len < ANSWER_MAX ? len : ANSWER_MAX),
	    srv, SRV_MAX, &e)) < 0)
		log_warn("cannot read the SRV records of a join address", "addr=%s err=%s",
		    log_q(addr), log_q(e.msg));
	else {
		for (int i = 0; i < nsrv; i++) {
			snprintf(pbuf, sizeof(pbuf), "%u", srv[i].port);
			append(out, srv[i].target, strlen(srv[i].target), *hp.port ? hp.port : pbuf);
		}
		if (nsrv == 0)
			log_warn("a join address has no SRV records", "addr=%s", log_q(addr));
		/* One member that answers is enough to learn them all. */
		if (nsrv == SRV_MAX)
			log_info("only the first SRV records of a join address are joined",
			    "addr=%s records=%d", log_q(addr), nsrv);
	}
	free(answer);
	free(srv);
}

void
dnssd_expand(const char *const *in, size_t n, struct strlist *out)
{
	for (size_t i = 0; i < n; i++) {
		const char *plus = strchr(in[i], '+'), *name;
		char host[DNSSD_NAME_MAX];
		struct hostport hp;
		size_t qlen;
		int port;

		if (plus == NULL) {
			push(out, xstrdup(in[i]));
			continue;
		}
		qlen = (size_t)(plus - in[i]);
		name = plus + 1;
		/* dns+ is an A/AAAA lookup, which the join does anyway: the name goes as it is. */
		if (qlen == 3 && strncmp(in[i], "dns", 3) == 0) {
			hostport_split(name, &hp);
			if (*hp.port == '\0')
				log_warn("missing port in address given for dns+ service discovery",
				    "addr=%s", log_q(in[i]));
			else if (hostport_parse(name, host, sizeof(host), -1, &port) == -1)
				log_warn("bad host or port in a dns+ join address", "addr=%s",
				    log_q(in[i]));
			else
				push(out, xstrdup(name));
		} else if ((qlen == 6 && strncmp(in[i], "dnssrv", 6) == 0) ||
		    (qlen == 9 && strncmp(in[i], "dnssrvnoa", 9) == 0))
			expand_srv(in[i], name, out);
		else
			log_warn("invalid lookup scheme in a join address: want dns+, dnssrv+ or "
			    "dnssrvnoa+", "addr=%s", log_q(in[i]));
	}
}
