#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base/spill.h"
#include "lib/base/xmalloc.h"

#define SPILL_WBUF	(4u << 20)

struct spill {
	int		 fd;
	char		*dir;
	uint64_t	 flushed;	/* bytes in the file */
	uint8_t		*wbuf;
	size_t		 wlen;
};

static int	spill_flush(struct spill *, struct err *);

struct spill *
spill_create(const char *dir, struct err *e)
{
	struct spill *s;
	char *path;
	int fd;

	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd == -1 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		/* No O_TMPFILE on this file system: a name that lives for a moment. */
		xasprintf(&path, "%s/.spill-XXXXXX", dir);
		if ((fd = mkostemp(path, O_CLOEXEC)) != -1 && unlink(path) == -1) {
			err_errno(e, "unlink %s", path);
			close(fd);
			free(path);
			return NULL;
		}
		free(path);
	}
	if (fd == -1) {
		err_errno(e, "create a scratch file in %s", dir);
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->fd = fd;
	s->dir = xstrdup(dir);
	s->wbuf = xmalloc(SPILL_WBUF);
	return s;
}

static int
spill_flush(struct spill *s, struct err *e)
{
	size_t off = 0;

	while (off < s->wlen) {
		ssize_t n = pwrite(s->fd, s->wbuf + off, s->wlen - off,
		    (off_t)(s->flushed + off));

		if (n == -1) {
			if (errno == EINTR)
				continue;
			return err_errno(e, "write scratch file in %s", s->dir);
		}
		off += (size_t)n;
	}
	s->flushed += s->wlen;
	s->wlen = 0;
	return 0;
}

int
spill_append(struct spill *s, const void *data, size_t n, struct err *e)
{
	const uint8_t *p = data;

	while (n > 0) {
		size_t k = SPILL_WBUF - s->wlen;

		if (k > n)
			k = n;
		memcpy(s->wbuf + s->wlen, p, k);
		s->wlen += k;
		p += k;
		n -= k;
		if (s->wlen == SPILL_WBUF && spill_flush(s, e) == -1)
			return -1;
	}
	return 0;
}

uint64_t
spill_size(const struct spill *s)
{
	return s->flushed + s->wlen;
}

int
spill_read(struct spill *s, uint64_t off, void *buf, size_t n, struct err *e)
{
	uint8_t *p = buf;

	if (off + n > s->flushed && spill_flush(s, e) == -1)
		return -1;
	while (n > 0) {
		ssize_t k = pread(s->fd, p, n, (off_t)off);

		if (k == -1) {
			if (errno == EINTR)
				continue;
			return err_errno(e, "read scratch file in %s", s->dir);
		}
		if (k == 0)
			return err_set(e, "read scratch file in %s: short read", s->dir);
		p += k;
		off += (uint64_t)k;
		n -= (size_t)k;
	}
	return 0;
}

void
spill_close(struct spill *s)
{
	if (s == NULL)
		return;
	close(s->fd);
	free(s->wbuf);
	free(s->dir);
	free(s);
}
