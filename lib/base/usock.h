/*
 * usock — the one framing of every ringtail Unix socket: each frame is a
 * big-endian u32 length then that many bytes (a protobuf message of the
 * socket's proto/ file). The server side runs in a libevent loop, creates
 * the socket file with mode 0600 and accepts only peers of our own uid (or
 * root); the client side is blocking, for tools and for programs' setup.
 */
#ifndef RINGTAIL_USOCK_H
#define RINGTAIL_USOCK_H

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/tsdb/encoding.h"

/* Frames larger than this are refused (the connection is closed). */
#define USOCK_FRAME_MAX		(16u << 20)

struct event_base;
struct usock_server;
struct usock_conn;

struct usock_cb {
	/* One whole frame; the bytes are valid during the call. */
	void	(*frame)(void *arg, struct usock_conn *, const uint8_t *, size_t);
	/* The connection is gone (peer closed, error or refused frame): forget it. */
	void	(*closed)(void *arg, struct usock_conn *);
};

struct usock_stats {
	uint64_t	 accepted;
	uint64_t	 refused_peer;		/* another uid */
	uint64_t	 refused_frame;		/* oversized */
	size_t		 open;
};

/* Removes a stale socket file at path, binds, listens. */
struct usock_server *usock_listen(struct event_base *, const char *path, const struct usock_cb *,
		    void *arg, struct err *);
/* Closes every connection and unlinks the socket file. */
void		 usock_server_free(struct usock_server *);
void		 usock_server_stats(const struct usock_server *, struct usock_stats *);
/* Queue one frame to the peer. */
void		 usock_send(struct usock_conn *, const void *, size_t);
/* Per-connection state of the server's user. */
void		 usock_conn_set_data(struct usock_conn *, void *);
void		*usock_conn_data(const struct usock_conn *);

/* Client: connect (-1 and err on failure), then frames both ways. */
int		 usock_dial(const char *path, struct err *);
int		 usock_write_frame(int fd, const void *, size_t, struct err *);
/* Reads one frame into out (reset first); -1 with err, also on EOF. */
int		 usock_read_frame(int fd, struct buf *out, struct err *);

#endif
