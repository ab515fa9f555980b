/*
 * rw-load — what its files share: the exit codes of rw-load(1), the
 * series generator (gen.c), the HTTP/1.1 client (http.c) and the latency
 * histogram (main.c).
 */
#ifndef RW_LOAD_H
#define RW_LOAD_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/tsdb/encoding.h"

#define EXIT_OK		0
#define EXIT_ERRORS	1	/* the run completed but some requests failed */
#define EXIT_USAGE	100
#define EXIT_SYSTEM	111	/* no request could be sent at all */

/*
 * The series: slot i of n belongs to host i / per_host and follows
 * template i % per_host of a node_exporter-like catalog. Churn replaces
 * slots in index order, a whole host's series one after the other, as when
 * hosts are redeployed: a replaced slot gets a new instance label.
 */
struct gen {
	size_t		 nseries;
	size_t		 per_host;	/* series of one full host */
	size_t		 nhosts;
	double		 churn;		/* fraction of nseries replaced per minute */
};

/* Build the catalog (once, before any thread starts) and size the hosts. */
void	gen_init(struct gen *, size_t nseries, double churn);
/* Distinct metric names of the catalog. */
size_t	gen_metric_names(void);
/* Generation of slot i after elapsed_ms of churn. */
uint32_t gen_generation(const struct gen *, size_t slot, int64_t elapsed_ms);
/* Append one TimeSeries (WriteRequest field 1) with one sample to b. */
void	gen_series(const struct gen *, struct buf *b, size_t slot, uint32_t generation,
	    uint64_t round, int64_t t);

/* An http:// URL, resolved once. */
struct http_target {
	char			 host[256];
	char			 port[8];
	char			 path[1024];
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
};

/* One keep-alive connection. The zero value with fd -1 is closed. */
struct http_conn {
	int		 fd;
	int64_t		 timeout_ms;
	struct buf	 in;
};

int	http_target_parse(const char *url, struct http_target *, struct err *);
void	http_conn_init(struct http_conn *, int64_t timeout_ms);
void	http_conn_close(struct http_conn *);
/*
 * POST body with the remote-write headers (and X-Scope-OrgID when tenant
 * is not empty). 0 with *status and the first line of the response body
 * in msg (cut to msgcap), or -1 on a transport error (the connection is
 * closed; the next call reconnects). A keep-alive connection the server
 * closed while idle is reopened once, silently.
 */
int	http_post(struct http_conn *, const struct http_target *, const char *tenant,
	    const void *body, size_t n, int *status, char *msg, size_t msgcap,
	    struct err *);

#endif
