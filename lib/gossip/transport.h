/*
 * transport — memberlist's network transport, in one of two modes
 * (specs/memberlist-wire.md §2):
 *
 *   TRANSPORT_UDP  memberlist's stock transport: UDP packets and TCP
 *                  streams on one port (memberlist 0.2.2, the plain Go
 *                  library).
 *   TRANSPORT_TCP  dskit's TCPTransport (Cortex, Mimir, Loki): no UDP at
 *                  all; every packet and every stream is its own TCP
 *                  connection, led by a byte: 0x01 packet (then u8 length,
 *                  our advertise "ip:port", the packet, its MD5), 0x02
 *                  stream (then the stream bytes).
 *
 * A stream carries one request and at most one reply; it has no
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
	/*
	 * One packet. In tcp mode from is the address the sender advertised
	 * (where replies go), or the connection's peer when that is unparsable.
	 */
	void	(*packet)(void *arg, const uint8_t *p, size_t n, const struct sockaddr *from,
		    socklen_t fromlen);
	/* A complete inbound stream request; answer with tstream_reply (n 0: none). */
	void	(*stream)(void *arg, struct tstream *, const uint8_t *p, size_t n);
	tstream_complete_fn *complete;
};

/* The largest stream accepted (memberlist's push/pull limit); in tcp mode also of a packet. */
#define TRANSPORT_STREAM_MAX	(20u << 20)

enum transport_mode {
	TRANSPORT_UDP,
	TRANSPORT_TCP,
};

/* Durations in milliseconds (0: none); the tcp fields are dskit's flags. */
struct transport_opts {
	enum transport_mode mode;
	int		 packet_dial_timeout;	/* tcp: connecting to send a packet */
	int		 packet_write_timeout;	/* tcp: writing a packet once connected */
	int		 max_concurrent_writes;	/* tcp: packet connections in flight */
	int		 acquire_writer_timeout; /* tcp: a packet waits this long for a writer */
};

/* dskit's defaults, mode tcp: 2s, 5s, 3 writers, 250ms. */
void		 transport_opts_default(struct transport_opts *);
/* "udp" or "tcp"; -1 for anything else. */
int		 transport_mode_parse(const char *, enum transport_mode *);

struct transport_stats {
	uint64_t	 send_errors;		/* packets that could not be sent */
	uint64_t	 packets_sent;		/* tcp: packet connections written */
	uint64_t	 packets_received;	/* tcp: packet connections read */
	uint64_t	 packets_dropped;	/* tcp: no writer free in time */
	uint64_t	 packet_errors;		/* tcp: truncated or too large, dropped */
	uint64_t	 digest_mismatches;	/* tcp: bad MD5, still delivered (as dskit) */
	uint64_t	 unknown_connections;	/* tcp: first byte neither 0x01 nor 0x02 */
	uint64_t	 incoming_streams, outgoing_streams;
};

/*
 * Listen on every bind address (nbind > 0), all at one port (0: the
 * kernel picks it at the first); udp packets go out of the first. opts
 * NULL: udp with no tuning. advertise_ip (NULL: the first bind address)
 * and advertise_port (0: the bound port) make the "ip:port" a tcp packet
 * names as its sender.
 */
struct transport *transport_create(struct event_base *, const char *const *bind_addrs,
		    size_t nbind, int port, int stream_timeout_ms, const struct transport_opts *,
		    const char *advertise_ip, int advertise_port, const struct transport_cb *,
		    void *arg, struct err *);
/* The port bound (useful with port 0). */
int		 transport_port(const struct transport *);
void		 transport_free(struct transport *);
/*
 * Send one packet (a datagram, or in tcp mode a packet connection); errors
 * are counted, not returned: packets are best effort.
 */
void		 transport_send(struct transport *, const struct sockaddr *, socklen_t,
		    const void *, size_t);
size_t		 transport_send_errors(const struct transport *);
void		 transport_stats(const struct transport *, struct transport_stats *);

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
