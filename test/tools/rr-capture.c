/*
 * rr-capture — a one-purpose HTTP endpoint for capturing what a real
 * Prometheus sends with remote_write or remote_read, and for answering it
 * with prepared bytes. Listens on 127.0.0.1:PORT, takes COUNT requests one
 * connection at a time, writes each request's head and body to
 * PREFIX.N.head and PREFIX.N.body, answers every one with STATUS and the
 * contents of RESPONSE-FILE, and exits.
 *
 *   rr-capture [-n count] [-s status] [-r response-file] [-t content-type]
 *       [-e content-encoding] port prefix
 *
 * "listening" on stderr means the socket is bound.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <err.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define HEAD_MAX	65536
#define BODY_MAX	(64 * 1024 * 1024)

struct reply {
	int		 status;
	const char	*type;
	const char	*encoding;
	char		*body;
	size_t		 len;
};

static void	usage(void) __attribute__((noreturn));
static int	listen_on(int);
static char	*read_file(const char *, size_t *);
static void	write_file(const char *, const void *, size_t);
static size_t	content_length(const char *);
static void	serve(int, const char *, int, const struct reply *);
static void	write_all(int, const void *, size_t);

static void
usage(void)
{
	fprintf(stderr, "usage: rr-capture [-n count] [-s status] "
	    "[-r response-file] [-t content-type] [-e content-encoding] "
	    "port prefix\n");
	exit(100);
}

static int
listen_on(int port)
{
	struct sockaddr_in sin;
	int fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		err(111, "socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		err(111, "bind 127.0.0.1:%d", port);
	if (listen(fd, 16) == -1)
		err(111, "listen");
	return fd;
}

static char *
read_file(const char *path, size_t *len)
{
	struct stat st;
	char *p;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1 || fstat(fd, &st) == -1)
		err(111, "%s", path);
	p = malloc((size_t)st.st_size + 1);
	if (p == NULL)
		err(111, "malloc");
	if (read(fd, p, (size_t)st.st_size) != st.st_size)
		err(111, "read %s", path);
	close(fd);
	*len = (size_t)st.st_size;
	return p;
}

static void
write_file(const char *path, const void *p, size_t n)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1)
		err(111, "%s", path);
	write_all(fd, p, n);
	close(fd);
}

static void
write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, c, n)) <= 0)
			err(111, "write");
		c += w;
		n -= (size_t)w;
	}
}

/* Content-Length of a request head (NUL-terminated); 0 when absent. */
static size_t
content_length(const char *head)
{
	const char *p = head;

	while ((p = strchr(p, '\n')) != NULL) {
		p++;
		if (strncasecmp(p, "content-length:", 15) == 0)
			return strtoul(p + 15, NULL, 10);
		if (strncasecmp(p, "transfer-encoding:", 18) == 0)
			errx(111, "chunked request bodies are not supported");
	}
	return 0;
}

static void
serve(int fd, const char *prefix, int nth, const struct reply *r)
{
	char *buf = malloc(HEAD_MAX + 1), *end, path[4096], hdr[512];
	size_t have = 0, headlen, bodylen;
	char *body;
	ssize_t n;

	if (buf == NULL)
		err(111, "malloc");
	for (;;) {
		if (have == HEAD_MAX)
			errx(111, "request head too long");
		if ((n = read(fd, buf + have, HEAD_MAX - have)) <= 0)
			errx(111, "connection closed inside the request head");
		have += (size_t)n;
		buf[have] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL)
			break;
	}
	headlen = (size_t)(end - buf) + 4;
	*end = '\0';
	bodylen = content_length(buf);
	if (bodylen > BODY_MAX)
		errx(111, "body of %zu bytes is too large", bodylen);
	if ((body = malloc(bodylen + 1)) == NULL)
		err(111, "malloc");
	n = (ssize_t)(have - headlen < bodylen ? have - headlen : bodylen);
	memcpy(body, buf + headlen, (size_t)n);
	for (size_t got = (size_t)n; got < bodylen; got += (size_t)n)
		if ((n = read(fd, body + got, bodylen - got)) <= 0)
			errx(111, "connection closed inside the body");
	snprintf(path, sizeof(path), "%s.%d.head", prefix, nth);
	write_file(path, buf, headlen - 4);
	snprintf(path, sizeof(path), "%s.%d.body", prefix, nth);
	write_file(path, body, bodylen);
	n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 %d Captured\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n%s%s%s%s%s%s\r\n",
	    r->status, r->len,
	    r->type ? "Content-Type: " : "", r->type ? r->type : "",
	    r->type ? "\r\n" : "",
	    r->encoding ? "Content-Encoding: " : "",
	    r->encoding ? r->encoding : "", r->encoding ? "\r\n" : "");
	write_all(fd, hdr, (size_t)n);
	write_all(fd, r->body, r->len);
	free(body);
	free(buf);
}

int
main(int argc, char **argv)
{
	struct reply r = { 204, NULL, NULL, NULL, 0 };
	int ch, count = 1, lfd, fd, port;

	while ((ch = getopt(argc, argv, "n:s:r:t:e:")) != -1) {
		switch (ch) {
		case 'n':
			count = atoi(optarg);
			break;
		case 's':
			r.status = atoi(optarg);
			break;
		case 'r':
			r.body = read_file(optarg, &r.len);
			break;
		case 't':
			r.type = optarg;
			break;
		case 'e':
			r.encoding = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2 || (port = atoi(argv[0])) <= 0 || count <= 0)
		usage();
	if (r.body == NULL)
		r.body = strdup("");
	lfd = listen_on(port);
	fprintf(stderr, "listening\n");
	for (int i = 1; i <= count; i++) {
		if ((fd = accept(lfd, NULL, NULL)) == -1)
			err(111, "accept");
		serve(fd, argv[1], i, &r);
		shutdown(fd, SHUT_WR);
		close(fd);
	}
	close(lfd);
	return 0;
}
