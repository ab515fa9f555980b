/*
 * base64 — standard base64 with padding, as Go's encoding/json writes a
 * []byte (etcd's JSON gateway, dskit's status page).
 */
#ifndef RINGTAIL_BASE64_H
#define RINGTAIL_BASE64_H

#include <stddef.h>

#include "lib/base/err.h"
#include "lib/tsdb/encoding.h"

void	b64_encode(const void *, size_t, struct buf *out);	/* appends */
/* Appends; -1 with e naming the offset of a bad character or a bad length. */
int	b64_decode(const char *, size_t, struct buf *out, struct err *e);

#endif
