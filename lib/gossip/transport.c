#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <md5.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "lib/base/clock.h"
#include "lib/base/hostport.h"
#include "lib/base/log.h"
#include "lib/base/xmalloc.h"
#include "lib/gossip/transport.h"

#define UDP_MAX		65536
#define UDP_RCVBUF	(2 << 20)

/* tcp mode: the first byte of every connection (dskit's messageType). */
#define CONN_PACKET	0x01
#define CONN_STREAM	0x02
#define DIGEST_LEN	MD5_DIGEST_LENGTH
/* A packet connection: 0x01, u8 length, address, packet, digest. */
#define PACKET_IN_MAX	(1 + 1 + 255 + TRANSPORT_STREAM_MAX + DIGEST_LEN)
/* Packets waiting for a writer; beyond this they are dropped at once. */
#define PENDING_MAX	1024

/* tcp mode: a packet waiting for a free writer. */
struct pending {
	TAILQ_ENTRY(pending)	 entry;
	struct sockaddr_storage	 to;
	socklen_t		 tolen;
	int64_t			 deadline;	/* ms, CLOCK_MONOTONIC */
	size_t			 n;
	uint8_t			 p[];
};
TAILQ_HEAD(pending_q, pending);

struct tstream;
LIST_HEAD(tstream_list, tstream);

/* One -memberlist.bind-addr: a TCP listener and, in udp mode, a UDP socket. */
struct listen {
	struct evconnlistener	*tcp;
	int			 udp;
	struct event		*udp_ev;
};

struct transport {
	struct event_base	*base;
	struct transport_cb	 cb;
	void			*arg;
	struct transport_opts	 o;
	struct listen		*ls;		/* one per bind address */
	size_t			 nls;
	int			 udp;		/* udp mode: packets go out of the first */
	int			 port;
	struct timeval		 timeout;
	uint8_t			*rbuf;
	struct transport_stats	 st;
	/* every open connection, closed by transport_free */
	struct tstream_list	 conns;
	/* tcp mode */
	char			 self[300];	/* our advertise "ip:port" */
	size_t			 selflen;
	int			 writers;	/* packet connections in flight */
	int			 kicking;
	struct pending_q	 pending;
	size_t			 npending;
};

struct tstream {
	struct transport	*t;
	struct bufferevent	*bev;
	LIST_ENTRY(tstream)	 entry;
	struct sockaddr_storage	 peer;
	socklen_t		 peerlen;
	int			 writer;	/* holds a packet writer */
	/* outbound only */
	tstream_complete_fn	*complete;
	tstream_done_fn		*done;
	void			*arg;
	int			 answered;
};

static void	writers_kick(struct transport *);

void
transport_opts_default(struct transport_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->mode = TRANSPORT_TCP;
	o->packet_dial_timeout = 2000;
	o->packet_write_timeout = 5000;
	o->max_concurrent_writes = 3;
	o->acquire_writer_timeout = 250;
}

int
transport_mode_parse(const char *s, enum transport_mode *mode)
{
	if (strcmp(s, "udp") == 0)
		*mode = TRANSPORT_UDP;
	else if (strcmp(s, "tcp") == 0)
		*mode = TRANSPORT_TCP;
	else
		return -1;
	return 0;
}

static struct timeval *
ms_timeval(int ms, struct timeval *tv)
{
	if (ms <= 0)
		return NULL;
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
	return tv;
}

/* "ip:port" or "[ip6]:port" of a socket address, for logs. */
static const char *
sa_str(const struct sockaddr *sa, char *out, size_t outlen)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		snprintf(out, outlen, "[%s]:%u", ip, ntohs(s6->sin6_port));
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		snprintf(out, outlen, "%s:%u", ip, ntohs(s4->sin_port));
	} else
		snprintf(out, outlen, "?");
	return out;
}

/* Parse the numeric "ip:port" or "[ip6]:port" a tcp packet names; 0 or -1. */
static int
parse_hostport(const uint8_t *p, size_t n, struct sockaddr_storage *ss, socklen_t *sslen)
{
	char s[256], host[INET6_ADDRSTRLEN];
	int pn;

	if (n == 0 || n >= sizeof(s))
		return -1;
	memcpy(s, p, n);
	s[n] = '\0';
	if (hostport_parse(s, host, sizeof(host), -1, &pn) == -1)
		return -1;
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)pn);
		*sslen = sizeof(*s4);
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)pn);
		*sslen = sizeof(*s6);
	} else
		return -1;
	return 0;
}

static struct tstream *
tstream_new(struct transport *t, evutil_socket_t fd)
{
	struct tstream *s = xcalloc(1, sizeof(*s));

	s->t = t;
	s->bev = bufferevent_socket_new(t->base, fd, BEV_OPT_CLOSE_ON_FREE);
	LIST_INSERT_HEAD(&t->conns, s, entry);
	return s;
}

static void
stream_close(struct tstream *s)
{
	struct transport *t = s->t;
	int writer = s->writer;

	LIST_REMOVE(s, entry);
	bufferevent_free(s->bev);
	free(s);
	if (writer) {
		t->writers--;
		writers_kick(t);
	}
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

/* ---- tcp mode, inbound: 0x01 packet connections ---- */

static void
packet_error(struct tstream *s, const char *why, size_t n)
{
	char peer[INET6_ADDRSTRLEN + 16];

	s->t->st.packet_errors++;
	log_warn("tcp packet dropped", "reason=%s length=%zu peer=%s errors_total=%ju",
	    log_q(why), n, sa_str((struct sockaddr *)&s->peer, peer, sizeof(peer)),
	    (uintmax_t)s->t->st.packet_errors);
}

/* At EOF: u8 length, address, packet, MD5 of the packet (the 0x01 is gone). */
static void
packet_deliver(struct tstream *s)
{
	struct transport *t = s->t;
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t n = evbuffer_get_length(in), alen, bn;
	const uint8_t *p = n > 0 ? evbuffer_pullup(in, -1) : NULL, *body;
	uint8_t digest[DIGEST_LEN];
	struct sockaddr_storage from;
	socklen_t fromlen;
	MD5_CTX ctx;

	t->st.packets_received++;
	if (n < 1 || n < 1 + (size_t)p[0]) {
		packet_error(s, "truncated address", n);
		return;
	}
	alen = p[0];
	body = p + 1 + alen;
	bn = n - 1 - alen;
	if (bn < DIGEST_LEN) {
		packet_error(s, "not enough data for the digest", bn);
		return;
	}
	bn -= DIGEST_LEN;
	MD5Init(&ctx);
	MD5Update(&ctx, body, bn);
	MD5Final(digest, &ctx);
	if (memcmp(digest, body + bn, DIGEST_LEN) != 0) {
		char peer[INET6_ADDRSTRLEN + 16];

		/* dskit only logs this and delivers the packet all the same. */
		t->st.digest_mismatches++;
		log_warn("tcp packet digest mismatch, delivered anyway", "length=%zu peer=%s "
		    "mismatches_total=%ju", bn, sa_str((struct sockaddr *)&s->peer, peer,
		    sizeof(peer)), (uintmax_t)t->st.digest_mismatches);
	}
	if (bn == 0) {
		packet_error(s, "empty packet", bn);
		return;
	}
	/* Replies go where the sender says it is, not to its ephemeral port. */
	if (parse_hostport(p + 1, alen, &from, &fromlen) == -1) {
		memcpy(&from, &s->peer, s->peerlen);
		fromlen = s->peerlen;
	}
	t->cb.packet(t->arg, body, bn, (struct sockaddr *)&from, fromlen);
}

static void
packet_in_read(struct bufferevent *bev, void *arg)
{
	struct tstream *s = arg;
	size_t n = evbuffer_get_length(bufferevent_get_input(bev));

	if (n > PACKET_IN_MAX) {
		packet_error(s, "too large", n);
		stream_close(s);
	}
}

static void
packet_in_event(struct bufferevent *bev, short what, void *arg)
{
	struct tstream *s = arg;

	if (what & BEV_EVENT_EOF)
		packet_deliver(s);
	else
		packet_error(s, what & BEV_EVENT_TIMEOUT ? "timeout" : "read error",
		    evbuffer_get_length(bufferevent_get_input(bev)));
	stream_close(s);
}

/* The first byte says what the connection is. */
static void
sniff_read(struct bufferevent *bev, void *arg)
{
	struct tstream *s = arg;
	struct transport *t = s->t;
	struct evbuffer *in = bufferevent_get_input(bev);
	char peer[INET6_ADDRSTRLEN + 16];
	uint8_t b;

	if (evbuffer_remove(in, &b, 1) != 1)
		return;
	switch (b) {
	case CONN_STREAM:
		t->st.incoming_streams++;
		bufferevent_setcb(bev, inbound_read, NULL, inbound_event, s);
		if (evbuffer_get_length(in) > 0)
			inbound_read(bev, s);
		return;
	case CONN_PACKET:
		bufferevent_setcb(bev, packet_in_read, NULL, packet_in_event, s);
		packet_in_read(bev, s);
		return;
	default:
		t->st.unknown_connections++;
		log_warn("unknown tcp connection type, closed", "byte=0x%02x peer=%s "
		    "unknown_total=%ju", b, sa_str((struct sockaddr *)&s->peer, peer,
		    sizeof(peer)), (uintmax_t)t->st.unknown_connections);
		stream_close(s);
	}
}

static void
accept_conn(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct transport *t = arg;
	struct tstream *s = tstream_new(t, fd);

	if (salen > 0 && (size_t)salen <= sizeof(s->peer)) {
		memcpy(&s->peer, sa, (size_t)salen);
		s->peerlen = (socklen_t)salen;
	}
	if (t->o.mode == TRANSPORT_TCP)
		bufferevent_setcb(s->bev, sniff_read, NULL, inbound_event, s);
	else
		bufferevent_setcb(s->bev, inbound_read, NULL, inbound_event, s);
	bufferevent_set_timeouts(s->bev, &t->timeout, &t->timeout);
	bufferevent_enable(s->bev, EV_READ);
}

/* ---- outbound streams ---- */

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
	struct tstream *s = tstream_new(t, -1);

	s->complete = complete;
	s->done = done;
	s->arg = arg;
	bufferevent_setcb(s->bev, outbound_read, outbound_written, outbound_event, s);
	bufferevent_set_timeouts(s->bev, &t->timeout, &t->timeout);
	if (t->o.mode == TRANSPORT_TCP) {
		uint8_t b = CONN_STREAM;

		t->st.outgoing_streams++;
		bufferevent_write(s->bev, &b, 1);
	}
	bufferevent_write(s->bev, req, n);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(s->bev, sa, (int)salen) == -1)
		exchange_finish(s, NULL, 0, "cannot connect");
}

/* ---- tcp mode, outbound: one connection per packet, few at a time ---- */

static void
packet_out_written(struct bufferevent *bev, void *arg)
{
	struct tstream *s = arg;

	s->t->st.packets_sent++;
	stream_close(s);
}

static void
packet_out_event(struct bufferevent *bev, short what, void *arg)
{
	struct tstream *s = arg;
	struct transport *t = s->t;
	struct timeval tv;
	char peer[INET6_ADDRSTRLEN + 16];
	int error = EVUTIL_SOCKET_ERROR();

	if (what & BEV_EVENT_CONNECTED) {
		/* dskit: the write deadline starts once connected. */
		bufferevent_set_timeouts(bev, NULL, ms_timeval(t->o.packet_write_timeout, &tv));
		return;
	}
	t->st.send_errors++;
	sa_str((struct sockaddr *)&s->peer, peer, sizeof(peer));
	/* As dskit: a refused connection (a node that is gone) is routine. */
	if (what & BEV_EVENT_TIMEOUT)
		log_warn("tcp packet not sent", "addr=%s err=timeout", peer);
	else if (error == ECONNREFUSED)
		log_debug("tcp packet not sent", "addr=%s err=%s", peer,
		    log_q(evutil_socket_error_to_string(error)));
	else
		log_warn("tcp packet not sent", "addr=%s err=%s", peer,
		    log_q(what & BEV_EVENT_EOF ? "connection closed" :
		    evutil_socket_error_to_string(error)));
	stream_close(s);
}

/* Dial and write one packet connection; the caller has checked for a free writer. */
static void
packet_start(struct transport *t, const struct sockaddr *sa, socklen_t salen, const void *p,
    size_t n)
{
	struct tstream *s = tstream_new(t, -1);
	struct evbuffer *out = bufferevent_get_output(s->bev);
	uint8_t hdr[2] = { CONN_PACKET, (uint8_t)t->selflen }, digest[DIGEST_LEN];
	struct timeval tv;
	MD5_CTX ctx;

	s->writer = 1;
	t->writers++;
	if (salen <= sizeof(s->peer)) {
		memcpy(&s->peer, sa, salen);
		s->peerlen = salen;
	}
	MD5Init(&ctx);
	MD5Update(&ctx, p, n);
	MD5Final(digest, &ctx);
	evbuffer_add(out, hdr, sizeof(hdr));
	evbuffer_add(out, t->self, t->selflen);
	evbuffer_add(out, p, n);
	evbuffer_add(out, digest, sizeof(digest));
	bufferevent_setcb(s->bev, NULL, packet_out_written, packet_out_event, s);
	/* libevent times the connect as a write: the dial timeout first. */
	bufferevent_set_timeouts(s->bev, NULL, ms_timeval(t->o.packet_dial_timeout, &tv));
	bufferevent_enable(s->bev, EV_WRITE);
	if (bufferevent_socket_connect(s->bev, sa, (int)salen) == -1) {
		t->st.send_errors++;
		stream_close(s);
	}
}

/* Hand free writers to waiting packets; those that waited too long are dropped. */
static void
writers_kick(struct transport *t)
{
	struct pending *pk;
	int64_t now;

	if (t->kicking)
		return;
	t->kicking = 1;
	now = clock_mono_ms();
	while (t->writers < t->o.max_concurrent_writes &&
	    (pk = TAILQ_FIRST(&t->pending)) != NULL) {
		TAILQ_REMOVE(&t->pending, pk, entry);
		t->npending--;
		if (now > pk->deadline) {
			t->st.packets_dropped++;
			log_debug("tcp packet dropped: no free writer", "dropped_total=%ju",
			    (uintmax_t)t->st.packets_dropped);
		} else
			packet_start(t, (struct sockaddr *)&pk->to, pk->tolen, pk->p, pk->n);
		free(pk);
	}
	t->kicking = 0;
}

void
transport_send(struct transport *t, const struct sockaddr *sa, socklen_t salen, const void *p,
    size_t n)
{
	struct pending *pk;

	if (t->o.mode == TRANSPORT_UDP) {
		if (sendto(t->udp, p, n, 0, sa, salen) != (ssize_t)n)
			t->st.send_errors++;
		return;
	}
	if (t->writers < t->o.max_concurrent_writes && TAILQ_EMPTY(&t->pending)) {
		packet_start(t, sa, salen, p, n);
		return;
	}
	/* dskit waits up to acquire_writer_timeout for a writer, then drops. */
	if (t->o.acquire_writer_timeout <= 0 || t->npending >= PENDING_MAX ||
	    salen > sizeof(pk->to)) {
		t->st.packets_dropped++;
		log_debug("tcp packet dropped: no free writer", "dropped_total=%ju",
		    (uintmax_t)t->st.packets_dropped);
		return;
	}
	pk = xmalloc(sizeof(*pk) + n);
	memcpy(&pk->to, sa, salen);
	pk->tolen = salen;
	pk->deadline = clock_mono_ms() + t->o.acquire_writer_timeout;
	pk->n = n;
	memcpy(pk->p, p, n);
	TAILQ_INSERT_TAIL(&t->pending, pk, entry);
	t->npending++;
}

size_t
transport_send_errors(const struct transport *t)
{
	return (size_t)t->st.send_errors;
}

void
transport_stats(const struct transport *t, struct transport_stats *st)
{
	*st = t->st;
}

int
transport_port(const struct transport *t)
{
	return t->port;
}

static int
bind_udp(struct transport *t, struct listen *l, const struct addrinfo *ai, struct err *e)
{
	int one = 1, rcv = UDP_RCVBUF;

	l->udp = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->udp == -1)
		return err_errno(e, "udp socket");
	setsockopt(l->udp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* As memberlist: ask for 2 MiB, halving until the kernel takes it. */
	while (rcv >= 65536 && setsockopt(l->udp, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv)) == -1)
		rcv /= 2;
	if (bind(l->udp, ai->ai_addr, ai->ai_addrlen) == -1)
		return err_errno(e, "bind udp port %d", t->port);
	l->udp_ev = event_new(t->base, l->udp, EV_READ | EV_PERSIST, udp_read, t);
	event_add(l->udp_ev, NULL);
	return 0;
}

static void
port_set(struct sockaddr *sa, int port)
{
	if (sa->sa_family == AF_INET6)
		((struct sockaddr_in6 *)sa)->sin6_port = htons((uint16_t)port);
	else
		((struct sockaddr_in *)sa)->sin_port = htons((uint16_t)port);
}

/*
 * Listen on addr at t->port; the first address with port 0 lets the kernel
 * pick it for the others, TCP first so that UDP takes the same.
 */
static int
listen_on(struct transport *t, const char *addr, struct err *e)
{
	struct addrinfo hints = { .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV,
	    .ai_socktype = SOCK_STREAM }, *ai;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct listen *l;
	char portstr[16];
	int rc;

	snprintf(portstr, sizeof(portstr), "%d", t->port);
	if ((rc = getaddrinfo(addr, portstr, &hints, &ai)) != 0)
		return err_set(e, "bind address %s: %s", addr, gai_strerror(rc));
	t->ls = xreallocarray(t->ls, t->nls + 1, sizeof(*t->ls));
	l = &t->ls[t->nls++];
	memset(l, 0, sizeof(*l));
	l->udp = -1;
	l->tcp = evconnlistener_new_bind(t->base, accept_conn, t,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 128,
	    ai->ai_addr, (int)ai->ai_addrlen);
	if (l->tcp == NULL) {
		err_errno(e, "bind tcp %s:%d", addr, t->port);
		freeaddrinfo(ai);
		return -1;
	}
	getsockname(evconnlistener_get_fd(l->tcp), (struct sockaddr *)&ss, &sslen);
	t->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
	rc = 0;
	if (t->o.mode == TRANSPORT_UDP) {
		port_set(ai->ai_addr, t->port);
		rc = bind_udp(t, l, ai, e);
	}
	freeaddrinfo(ai);
	return rc;
}

/* tcp mode: the "ip:port" every packet names as its sender (Go's TCPAddr form). */
static int
set_self(struct transport *t, const char *ip, int port, struct err *e)
{
	uint8_t a[16];
	char s[INET6_ADDRSTRLEN];
	int n;

	if (ip == NULL || *ip == '\0' || strcmp(ip, "0.0.0.0") == 0 || strcmp(ip, "::") == 0)
		ip = "127.0.0.1";
	if (inet_pton(AF_INET, ip, a) == 1) {
		inet_ntop(AF_INET, a, s, sizeof(s));
		n = snprintf(t->self, sizeof(t->self), "%s:%d", s, port);
	} else if (inet_pton(AF_INET6, ip, a) == 1) {
		inet_ntop(AF_INET6, a, s, sizeof(s));
		n = snprintf(t->self, sizeof(t->self), "[%s]:%d", s, port);
	} else
		return err_set(e, "advertise address %s is not an IP address", ip);
	t->selflen = (size_t)n;
	return 0;
}

struct transport *
transport_create(struct event_base *base, const char *const *bind_addrs, size_t nbind, int port,
    int stream_timeout_ms, const struct transport_opts *opts, const char *advertise_ip,
    int advertise_port, const struct transport_cb *cb, void *arg, struct err *e)
{
	struct transport *t = xcalloc(1, sizeof(*t));

	t->base = base;
	t->port = port;
	t->cb = *cb;
	t->arg = arg;
	t->udp = -1;
	LIST_INIT(&t->conns);
	TAILQ_INIT(&t->pending);
	if (opts != NULL)
		t->o = *opts;
	else
		t->o.mode = TRANSPORT_UDP;
	if (t->o.max_concurrent_writes <= 0)
		t->o.max_concurrent_writes = 1;	/* as dskit */
	t->timeout.tv_sec = stream_timeout_ms / 1000;
	t->timeout.tv_usec = (stream_timeout_ms % 1000) * 1000;
	if (t->o.mode == TRANSPORT_UDP)
		t->rbuf = xmalloc(UDP_MAX);
	for (size_t i = 0; i < nbind; i++)
		if (listen_on(t, bind_addrs[i], e) == -1)
			goto fail;
	if (t->o.mode == TRANSPORT_UDP)
		t->udp = t->ls[0].udp;
	/* dskit's transport has no UDP socket at all; its packets name their sender. */
	else if (set_self(t, advertise_ip != NULL ? advertise_ip : bind_addrs[0],
	    advertise_port > 0 ? advertise_port : t->port, e) == -1)
		goto fail;
	return t;
fail:
	transport_free(t);
	return NULL;
}

void
transport_free(struct transport *t)
{
	struct tstream *s;
	struct pending *pk;

	if (t == NULL)
		return;
	/* Open connections go without their callbacks. */
	while ((s = LIST_FIRST(&t->conns)) != NULL) {
		LIST_REMOVE(s, entry);
		bufferevent_free(s->bev);
		free(s);
	}
	while ((pk = TAILQ_FIRST(&t->pending)) != NULL) {
		TAILQ_REMOVE(&t->pending, pk, entry);
		free(pk);
	}
	for (size_t i = 0; i < t->nls; i++) {
		if (t->ls[i].udp_ev != NULL)
			event_free(t->ls[i].udp_ev);
		if (t->ls[i].udp != -1)
			close(t->ls[i].udp);
		if (t->ls[i].tcp != NULL)
			evconnlistener_free(t->ls[i].tcp);
	}
	free(t->ls);
	free(t->rbuf);
	free(t);
}
