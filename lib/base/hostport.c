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
