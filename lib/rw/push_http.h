/*
 * push_http — the HTTP side of a remote-write push as Cortex v1.21's push
 * handler does it, shared by every program that takes pushes (tsdb-head,
 * distributor): the tenant from X-Scope-OrgID, the Content-Type and
 * Content-Encoding checks, the size limit on the body and on what snappy
 * says it decodes to, snappy, and the protobuf decode.
 */
#ifndef RINGTAIL_PUSH_HTTP_H
#define RINGTAIL_PUSH_HTTP_H

#include <stddef.h>

#include "lib/base/httpd.h"
#include "lib/rw/remote_write.h"

/*
 * The request's tenant: "fake" without auth, else the header; NULL after
 * answering 401 "no org id". The ID is not validated here.
 */
const char *rw_push_tenant(struct httpd_req *, int auth_enabled, size_t *n);
/*
 * Check the headers and the body and decode it into rq (the decompressed
 * bytes in raw, which rq points into): 0, or -1 after answering 415, 413
 * or 400 with Cortex's texts.
 */
int	rw_push_read(struct httpd_req *, size_t max_recv, struct buf *raw,
	    struct rw_request *rq);

#endif
