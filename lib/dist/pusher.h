/*
 * pusher — remote-write requests from the distributor to the ingesters
 * over kept-alive HTTP/1.1 connections (libevent's client): a few
 * connections per address, used in turn, each request bounded by
 * -distributor.remote-timeout. One thread: the event loop's.
 */
#ifndef RINGTAIL_PUSHER_H
#define RINGTAIL_PUSHER_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct pusher;

/*
 * The answer: the HTTP status and body, or status 0 with the transport's
 * error as the body (refused, reset, timed out).
 */
typedef void pusher_done(void *arg, int status, const void *body, size_t n);

struct pusher *pusher_new(struct event_base *, int64_t timeout_ms, int conns_per_addr);
void	pusher_free(struct pusher *);
/* POST body (snappy WriteRequest) to http://addr/api/v1/push as tenant. */
void	pusher_push(struct pusher *, const char *addr, const char *tenant, const void *body,
	    size_t n, pusher_done *, void *arg);

#endif
