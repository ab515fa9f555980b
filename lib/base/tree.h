/*
 * libbsd's <sys/tree.h> marks the static RB functions __unused, which
 * glibc does not define; include this instead of <sys/tree.h>, after the C
 * headers: musl names a field of struct stat __unused (make static-agent).
 */
#ifndef RINGTAIL_TREE_H
#define RINGTAIL_TREE_H

#ifndef __unused
#define __unused	__attribute__((__unused__))
#endif
#include <sys/tree.h>

#endif
