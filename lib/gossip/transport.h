/*
 * transport — memberlist's stock network transport: UDP packets and TCP
 * streams on one port (what memberlist 0.2.2 and the plain Go library
 * use). A stream carries one request and at most one reply; it has no
 * length prefix, so the caller says when the bytes read so far hold a
 * complete message.
 *
 * One thread: everything runs in the event loop of the base given.
 */
#ifndef RINGTAIL_TRANSPORT_H
#define RINGTAIL_TRANSPORT_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"

struct event_base;
struct transport;
struct tstream;

/* 1 when p[0..n) holds a whole message, 0 when more bytes are needed. */
typedef int	tstream_complete_fn(const uint8_t *p, size_t n);

struct transport_cb {
	/* One datagram. */
	void	(*packet)(void *arg, const uint8_t *p, size_t n, const struct sockaddr *from,
		    socklen_t fromlen);
	/* A complete inbound stream request; answer with tstream_reply (n 0: none). */
	void	(*stream)(void *arg, struct tstream *, const uint8_t *p, size_t n);
	tstream_complete_fn *complete;
};

/* The largest stream accepted (memberlist's push/pull limit). */
#define TRANSPORT_STREAM_MAX	(20u << 20)

struct transport *transport_create(struct event_base *, const char *bind_addr, int port,
		    int stream_timeout_ms, const struct transport_cb *, void *arg, struct err *);
/* The port bound (useful with port 0). */
int		 transport_port(const struct transport *);
void		 transport_free(struct transport *);
/* Send one datagram; errors are counted, not returned (UDP is best effort). */
void		 transport_send(struct transport *, const struct sockaddr *, socklen_t,
		    const void *, size_t);
size_t		 transport_send_errors(const struct transport *);

typedef void	tstream_done_fn(void *arg, const uint8_t *reply, size_t n, const char *error);
/*
 * Dial, write req, read the reply until complete() (NULL: no reply is
 * expected), then call done once: with the reply, or with an error.
 */
void		 transport_exchange(struct transport *, const struct sockaddr *, socklen_t,
		    const void *req, size_t n, tstream_complete_fn *complete, tstream_done_fn *done,
		    void *arg);
void		 tstream_reply(struct tstream *, const void *p, size_t n);

#endif
