#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "lib/base/xmalloc.h"
#include "lib/gossip/transport.h"

#define UDP_MAX		65536
#define UDP_RCVBUF	(2 << 20)

struct transport {
	struct event_base	*base;
	struct transport_cb	 cb;
	void			*arg;
	int			 udp;
	struct event		*udp_ev;
	struct evconnlistener	*listener;
	int			 port;
	struct timeval		 timeout;
	size_t			 send_errors;
	uint8_t			*rbuf;
};

struct tstream {
	struct transport	*t;
	struct bufferevent	*bev;
	/* outbound only */
	tstream_complete_fn	*complete;
	tstream_done_fn		*done;
	void			*arg;
	int			 answered;
};

static void
stream_close(struct tstream *s)
{
	bufferevent_free(s->bev);
	free(s);
}

static void
udp_read(evutil_socket_t fd, short what, void *arg)
{
	struct transport *t = arg;

	/* Drain what is there; one datagram per packet. */
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof(from);
		ssize_t n = recvfrom(fd, t->rbuf, UDP_MAX, 0, (struct sockaddr *)&from, &fromlen);

		if (n < 0)
			return;
		if (n >= 1)
			t->cb.packet(t->arg, t->rbuf, (size_t)n, (struct sockaddr *)&from, fromlen);
	}
}

/* The whole input as one block, or NULL when it is still incomplete. */
static const uint8_t *
stream_message(struct tstream *s, tstream_complete_fn *complete, size_t *n)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	const uint8_t *p;

	*n = evbuffer_get_length(in);
	if (*n == 0)
		return NULL;
	p = evbuffer_pullup(in, -1);
	return complete(p, *n) ? p : NULL;
}

static void
inbound_read(struct bufferevent *bev, void *arg)
{
	struct tstream *s = arg;
	const uint8_t *p;
	size_t n;

	if (s->answered)
		return;
	if ((p = stream_message(s, s->t->cb.complete, &n)) == NULL) {
		if (n > TRANSPORT_STREAM_MAX)
			stream_close(s);
		return;
	}
	s->answered = 1;
	s->t->cb.stream(s->t->arg, s, p, n);
}

static void
close_when_flushed(struct bufferevent *bev, void *arg)
{
	stream_close(arg);
}

static void
inbound_event(struct bufferevent *bev, short what, void *arg)
{
	stream_close(arg);
}

void
tstream_reply(struct tstream *s, const void *p, size_t n)
{
	bufferevent_disable(s->bev, EV_READ);
	if (n == 0) {
		stream_close(s);
		return;
	}
	bufferevent_setcb(s->bev, NULL, close_when_flushed, inbound_event, s);
	bufferevent_write(s->bev, p, n);
}

static void
accept_conn(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct transport *t = arg;
	struct tstream *s = xcalloc(1, sizeof(*s));

	s->t = t;
	s->bev = bufferevent_socket_new(t->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(s->bev, inbound_read, NULL, inbound_event, s);
	bufferevent_set_timeouts(s->bev, &t->timeout, &t->timeout);
	bufferevent_enable(s->bev, EV_READ);
}

static void
exchange_finish(struct tstream *s, const uint8_t *p, size_t n, const char *error)
{
	if (!s->answered) {
		s->answered = 1;
		s->done(s->arg, p, n, error);
	}
	stream_close(s);
}

static void
outbound_read(struct bufferevent *bev, void *arg)
{
	struct tstream *s = arg;
	const uint8_t *p;
	size_t n;

	if ((p = stream_message(s, s->complete, &n)) != NULL)
		exchange_finish(s, p, n, NULL);
	else if (n > TRANSPORT_STREAM_MAX)
		exchange_finish(s, NULL, 0, "reply too large");
}

static void
outbound_written(struct bufferevent *bev, void *arg)
{
	struct tstream *s = arg;

	if (s->complete == NULL)
		exchange_finish(s, NULL, 0, NULL);
}

static void
outbound_event(struct bufferevent *bev, short what, void *arg)
{
	struct tstream *s = arg;
	char why[128];

	if (what & BEV_EVENT_CONNECTED)
		return;
	if (what & BEV_EVENT_TIMEOUT)
		snprintf(why, sizeof(why), "timeout");
	else if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof(why), "connection closed before a complete reply");
	else
		snprintf(why, sizeof(why), "%s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	exchange_finish(s, NULL, 0, why);
}

void
transport_exchange(struct transport *t, const struct sockaddr *sa, socklen_t salen,
    const void *req, size_t n, tstream_complete_fn *complete, tstream_done_fn *done, void *arg)
{
	struct tstream *s = xcalloc(1, sizeof(*s));

	s->t = t;
	s->complete = complete;
	s->done = done;
	s->arg = arg;
	s->bev = bufferevent_socket_new(t->base, -1, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(s->bev, outbound_read, outbound_written, outbound_event, s);
	bufferevent_set_timeouts(s->bev, &t->timeout, &t->timeout);
	bufferevent_write(s->bev, req, n);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(s->bev, sa, (int)salen) == -1)
		exchange_finish(s, NULL, 0, "cannot connect");
}

void
transport_send(struct transport *t, const struct sockaddr *sa, socklen_t salen, const void *p,
    size_t n)
{
	if (sendto(t->udp, p, n, 0, sa, salen) != (ssize_t)n)
		t->send_errors++;
}

size_t
transport_send_errors(const struct transport *t)
{
	return t->send_errors;
}

int
transport_port(const struct transport *t)
{
	return t->port;
}

static int
bind_udp(struct transport *t, const struct addrinfo *ai, struct err *e)
{
	int one = 1, rcv = UDP_RCVBUF;

	t->udp = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->udp == -1)
		return err_errno(e, "udp socket");
	setsockopt(t->udp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* As memberlist: ask for 2 MiB, halving until the kernel takes it. */
	while (rcv >= 65536 && setsockopt(t->udp, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv)) == -1)
		rcv /= 2;
	if (bind(t->udp, ai->ai_addr, ai->ai_addrlen) == -1)
		return err_errno(e, "bind udp port %d", t->port);
	t->udp_ev = event_new(t->base, t->udp, EV_READ | EV_PERSIST, udp_read, t);
	event_add(t->udp_ev, NULL);
	return 0;
}

struct transport *
transport_create(struct event_base *base, const char *bind_addr, int port, int stream_timeout_ms,
    const struct transport_cb *cb, void *arg, struct err *e)
{
	struct transport *t = xcalloc(1, sizeof(*t));
	struct addrinfo hints = { .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV,
	    .ai_socktype = SOCK_STREAM }, *ai;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char portstr[16];
	int rc;

	t->base = base;
	t->cb = *cb;
	t->arg = arg;
	t->udp = -1;
	t->rbuf = xmalloc(UDP_MAX);
	t->timeout.tv_sec = stream_timeout_ms / 1000;
	t->timeout.tv_usec = (stream_timeout_ms % 1000) * 1000;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((rc = getaddrinfo(bind_addr, portstr, &hints, &ai)) != 0) {
		err_set(e, "bind address %s: %s", bind_addr, gai_strerror(rc));
		transport_free(t);
		return NULL;
	}
	/* TCP first: with port 0 the kernel picks it, and UDP takes the same. */
	t->listener = evconnlistener_new_bind(base, accept_conn, t,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 128,
	    ai->ai_addr, (int)ai->ai_addrlen);
	if (t->listener == NULL) {
		err_errno(e, "bind tcp %s:%d", bind_addr, port);
		goto fail;
	}
	getsockname(evconnlistener_get_fd(t->listener), (struct sockaddr *)&ss, &sslen);
	t->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)ai->ai_addr)->sin6_port = htons((uint16_t)t->port);
	else
		((struct sockaddr_in *)ai->ai_addr)->sin_port = htons((uint16_t)t->port);
	if (bind_udp(t, ai, e) == -1)
		goto fail;
	freeaddrinfo(ai);
	return t;
fail:
	freeaddrinfo(ai);
	transport_free(t);
	return NULL;
}

void
transport_free(struct transport *t)
{
	if (t == NULL)
		return;
	if (t->udp_ev != NULL)
		event_free(t->udp_ev);
	if (t->udp != -1)
		close(t->udp);
	if (t->listener != NULL)
		evconnlistener_free(t->listener);
	free(t->rbuf);
	free(t);
}
