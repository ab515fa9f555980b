/*
 * err — the one error convention of lib/.
 *
 * Fallible functions return 0 on success and -1 on failure, and describe the
 * failure in a caller-owned struct err (which may be NULL when the caller does
 * not care). Tri-state readers return 1 (item), 0 (end) or -1 (error).
 */
#ifndef RINGTAIL_ERR_H
#define RINGTAIL_ERR_H

#include <stddef.h>

struct err {
	char msg[512];
};

/* Set the message; always returns -1 so callers can `return err_set(...)`. */
int err_set(struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Like err_set, appending ": strerror(errno)". */
int err_errno(struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prefix the existing message with "context: "; returns -1. */
int err_wrap(struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
