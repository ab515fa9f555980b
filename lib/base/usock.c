#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "lib/base/log.h"
#include "lib/base/usock.h"
#include "lib/base/xmalloc.h"

struct usock_conn {
	LIST_ENTRY(usock_conn)	 link;
	struct usock_server	*srv;
	struct bufferevent	*bev;
	void			*data;
};

struct usock_server {
	struct event_base	*base;
	struct evconnlistener	*lis;
	char			*path;
	struct usock_cb		 cb;
	void			*arg;
	LIST_HEAD(, usock_conn)	 conns;
	struct usock_stats	 st;
};

static void
conn_close(struct usock_conn *c)
{
	struct usock_server *s = c->srv;

	LIST_REMOVE(c, link);
	s->st.open--;
	if (s->cb.closed != NULL)
		s->cb.closed(s->arg, c);
	bufferevent_free(c->bev);
	free(c);
}

static void
conn_read(struct bufferevent *bev, void *arg)
{
	struct usock_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		uint8_t hdr[4];
		uint32_t len;
		uint8_t *p;

		if (evbuffer_copyout(in, hdr, 4) < 4)
			return;
		len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
		if (len > USOCK_FRAME_MAX) {
			c->srv->st.refused_frame++;
			log_warn("unix socket: frame too large, closing", "bytes=%u max=%u", len,
			    USOCK_FRAME_MAX);
			conn_close(c);
			return;
		}
		if (evbuffer_get_length(in) < 4 + (size_t)len)
			return;
		evbuffer_drain(in, 4);
		p = evbuffer_pullup(in, len);
		c->srv->cb.frame(c->srv->arg, c, p, len);
		evbuffer_drain(in, len);
	}
}

static void
conn_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		conn_close(arg);
}

/* Only our own uid, or root, may talk to a ringtail socket. */
static int
peer_allowed(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == -1)
		return 0;
	return cr.uid == geteuid() || cr.uid == 0;
}

static void
on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct usock_server *s = arg;
	struct usock_conn *c;

	if (!peer_allowed(fd)) {
		s->st.refused_peer++;
		log_warn("unix socket: refused a client of another user", "path=%s", log_q(s->path));
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->srv = s;
	c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(c->bev, conn_read, NULL, conn_event, c);
	bufferevent_enable(c->bev, EV_READ);
	LIST_INSERT_HEAD(&s->conns, c, link);
	s->st.accepted++;
	s->st.open++;
}

struct usock_server *
usock_listen(struct event_base *base, const char *path, const struct usock_cb *cb, void *arg,
    struct err *e)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct usock_server *s;
	mode_t old;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		return err_set(e, "socket path too long (%zu bytes, max %zu): %s", strlen(path),
		    sizeof(sun.sun_path) - 1, path), NULL;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return err_errno(e, "socket"), NULL;
	if (unlink(path) == -1 && errno != ENOENT) {
		err_errno(e, "remove stale socket %s", path);
		close(fd);
		return NULL;
	}
	/* Created 0600 from the start: no window where others could connect. */
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		err_errno(e, "bind %s", path);
		close(fd);
		return NULL;
	}
	umask(old);
	s = xcalloc(1, sizeof(*s));
	s->base = base;
	s->path = xstrdup(path);
	s->cb = *cb;
	s->arg = arg;
	LIST_INIT(&s->conns);
	s->lis = evconnlistener_new(base, on_accept, s, LEV_OPT_CLOSE_ON_FREE, 64, fd);
	if (s->lis == NULL) {
		err_errno(e, "listen %s", path);
		close(fd);
		unlink(path);
		free(s->path);
		free(s);
		return NULL;
	}
	return s;
}

void
usock_server_free(struct usock_server *s)
{
	struct usock_conn *c;

	if (s == NULL)
		return;
	while ((c = LIST_FIRST(&s->conns)) != NULL)
		conn_close(c);
	evconnlistener_free(s->lis);
	unlink(s->path);
	free(s->path);
	free(s);
}

void
usock_server_stats(const struct usock_server *s, struct usock_stats *st)
{
	*st = s->st;
}

void
usock_send(struct usock_conn *c, const void *p, size_t n)
{
	uint8_t hdr[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };

	bufferevent_write(c->bev, hdr, 4);
	bufferevent_write(c->bev, p, n);
}

void
usock_conn_set_data(struct usock_conn *c, void *data)
{
	c->data = data;
}

void *
usock_conn_data(const struct usock_conn *c)
{
	return c->data;
}

int
usock_dial(const char *path, struct err *e)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		return err_set(e, "socket path too long: %s", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return err_errno(e, "socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		err_errno(e, "connect %s", path);
		close(fd);
		return -1;
	}
	return fd;
}

static int
write_all(int fd, const uint8_t *p, size_t n, struct err *e)
{
	while (n > 0) {
		/* MSG_NOSIGNAL: a server that hung up is an error here, not a SIGPIPE */
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return err_errno(e, "write to the socket");
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
read_all(int fd, uint8_t *p, size_t n, struct err *e)
{
	while (n > 0) {
		ssize_t r = read(fd, p, n);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return err_errno(e, "read from the socket");
		if (r == 0)
			return err_set(e, "the server closed the connection");
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int
usock_write_frame(int fd, const void *p, size_t n, struct err *e)
{
	uint8_t hdr[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };

	if (n > USOCK_FRAME_MAX)
		return err_set(e, "frame of %zu bytes is larger than %u", n, USOCK_FRAME_MAX);
	if (write_all(fd, hdr, 4, e) == -1)
		return -1;
	return write_all(fd, p, n, e);
}

int
usock_read_frame(int fd, struct buf *out, struct err *e)
{
	uint8_t hdr[4];
	uint32_t len;

	buf_reset(out);
	if (read_all(fd, hdr, 4, e) == -1)
		return -1;
	len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	if (len > USOCK_FRAME_MAX)
		return err_set(e, "frame of %u bytes is larger than %u", len, USOCK_FRAME_MAX);
	buf_reserve(out, len);
	if (read_all(fd, out->p, len, e) == -1)
		return -1;
	out->len = len;
	return 0;
}
