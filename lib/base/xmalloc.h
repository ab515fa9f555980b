/*
 * xmalloc — allocators that never return NULL: on exhaustion they log and
 * exit(111). For control-plane and tool code; hot paths preallocate.
 */
#ifndef RINGTAIL_XMALLOC_H
#define RINGTAIL_XMALLOC_H

#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
void	*xmemdup(const void *, size_t);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
