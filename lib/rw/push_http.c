/*
 * push_http — Cortex v1.21's checks of a push, in its order.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <snappy-c.h>

#include "lib/rw/push_http.h"
#include "lib/rw/validate.h"

const char *
rw_push_tenant(struct httpd_req *r, int auth_enabled, size_t *n)
{
	const char *id;

	if (!auth_enabled) {
		*n = strlen(TENANT_FAKE);
		return TENANT_FAKE;
	}
	id = httpd_req_header(r, TENANT_HEADER);
	if (id == NULL || *id == '\0') {
		httpd_reply_text(r, TENANT_STATUS_MISSING, "%s", TENANT_ERR_MISSING);
		return NULL;
	}
	*n = strlen(id);
	return id;
}

/* Cortex v1.21: empty, or application/x-protobuf (proto=prometheus.WriteRequest). 0 or answered. */
static int
check_content_type(struct httpd_req *r)
{
	const char *ct = httpd_req_header(r, "Content-Type"), *semi, *proto;
	size_t n;

	if (ct == NULL || *ct == '\0')
		return 0;
	semi = strchr(ct, ';');
	n = semi != NULL ? (size_t)(semi - ct) : strlen(ct);
	while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
		n--;
	if (n != 22 || strncasecmp(ct, "application/x-protobuf", 22) != 0) {
		httpd_reply_text(r, 415, "expected application/x-protobuf as the first (media) "
		    "part, got %s content-type", ct);
		return -1;
	}
	if (semi != NULL && (proto = strstr(semi, "proto=")) != NULL &&
	    strncmp(proto + 6, "prometheus.WriteRequest", 23) != 0) {
		httpd_reply_text(r, 415, "%s protobuf message is not accepted by this server; "
		    "only prometheus.WriteRequest is acceptable", proto + 6);
		return -1;
	}
	return 0;
}

static int
check_encoding(struct httpd_req *r)
{
	const char *enc = httpd_req_header(r, "Content-Encoding");

	if (enc == NULL || *enc == '\0' || strcasecmp(enc, "snappy") == 0)
		return 0;
	httpd_reply_text(r, 415, "%s encoding (compression) is not accepted by this server; "
	    "only snappy is acceptable", enc);
	return -1;
}

int
rw_push_read(struct httpd_req *r, size_t max_recv, struct buf *raw, struct rw_request *rq)
{
	const uint8_t *body;
	size_t n, ulen;
	struct err e;

	if (check_content_type(r) == -1 || check_encoding(r) == -1)
		return -1;
	body = httpd_req_body(r, &n);
	/* Cortex checks the body, then what snappy says it decodes to, against one limit. */
	if (n > max_recv) {
		httpd_reply_text(r, 413, "received message larger than max (%zu vs %zu)", n,
		    max_recv);
		return -1;
	}
	if (snappy_uncompressed_length((const char *)body, n, &ulen) == SNAPPY_OK &&
	    ulen > max_recv) {
		httpd_reply_text(r, 413, "received message larger than max (%zu vs %zu)", ulen,
		    max_recv);
		return -1;
	}
	if (rw_snappy_decode(body, n, max_recv, raw, &e) == -1 ||
	    rw_decode(rq, raw->p, raw->len, &e) == -1) {
		httpd_reply_text(r, 400, "%s", e.msg);
		return -1;
	}
	return 0;
}
