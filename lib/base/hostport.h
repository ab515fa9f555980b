/*
 * hostport — "host:port", "[v6]:port", "host" or "[v6]" split into its
 * host, brackets off, and its port text ("" when there is none), pointing
 * into the string given. The port is not checked: callers differ on
 * whether it is required and what it may be.
 */
#ifndef RINGTAIL_HOSTPORT_H
#define RINGTAIL_HOSTPORT_H

#include <stddef.h>

struct hostport {
	const char	*host;
	size_t		 hostlen;
	const char	*port;
};

void	hostport_split(const char *s, struct hostport *hp);
/*
 * s split and checked: its host (not empty) copied into host[len], its
 * port parsed into *port (1-65535; dflt when s has none, and a negative
 * dflt makes the port required). 0, or -1 when malformed.
 */
int	hostport_parse(const char *s, char *host, size_t len, int dflt, int *port);

#endif
