#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/hostport.h"

void
hostport_split(const char *s, struct hostport *hp)
{
	const char *colon = strrchr(s, ':'), *close;

	if (s[0] == '[' && (close = strchr(s, ']')) != NULL) {
		hp->host = s + 1;
		hp->hostlen = (size_t)(close - s - 1);
		hp->port = close[1] == ':' ? close + 2 : "";
		return;
	}
	hp->host = s;
	hp->hostlen = colon != NULL ? (size_t)(colon - s) : strlen(s);
	hp->port = colon != NULL ? colon + 1 : "";
}

int
hostport_parse(const char *s, char *host, size_t len, int dflt, int *port)
{
	struct hostport hp;
	char *end;
	long p;

	hostport_split(s, &hp);
	if (hp.hostlen == 0 || hp.hostlen >= len || memchr(hp.host, '[', hp.hostlen) != NULL ||
	    memchr(hp.host, ']', hp.hostlen) != NULL)
		return -1;
	/* "[v6]" is followed by ":port" or nothing. */
	if (s[0] == '[' && hp.host[hp.hostlen + 1] != '\0' && hp.host[hp.hostlen + 1] != ':')
		return -1;
	if (*hp.port == '\0') {
		p = dflt;
	} else {
		errno = 0;
		p = strtol(hp.port, &end, 10);
		if (*end != '\0' || errno != 0 || p < 1 || p > 65535)
			return -1;
	}
	if (p < 0)
		return -1;
	memcpy(host, hp.host, hp.hostlen);
	host[hp.hostlen] = '\0';
	*port = (int)p;
	return 0;
}
