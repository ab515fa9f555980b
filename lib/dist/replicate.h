/*
 * replicate — the write fan-out of one push, as Cortex's distributor does
 * it (pkg/distributor Push and dskit's ring.DoBatch): each series goes to
 * the replication set of its token (shard by all labels), the series of
 * one ingester travel in one remote-write request, and a series is
 * written when a quorum of its replicas took it (at most max_errors
 * failed). No network here: the caller sends the batches and reports
 * each answer.
 */
#ifndef RINGTAIL_REPLICATE_H
#define RINGTAIL_REPLICATE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/ring/ring.h"
#include "lib/rw/remote_write.h"
#include "lib/tsdb/encoding.h"

/* One ingester's share: a snappy-compressed WriteRequest. */
struct repl_batch {
	char		*addr;		/* host:port from the ring */
	char		*id;		/* the instance's ID, for metrics */
	struct buf	 body;
	size_t		 nseries;
	size_t		 nsamples;
	uint32_t	*items;		/* series indexes of the request */
	size_t		 nitems;
	size_t		 cap;
};

struct repl_item {
	uint8_t		 ok;
	uint8_t		 failed;
	int8_t		 max_errors;
	uint8_t		 nreplicas;
	int		 status;	/* of a failure that counts: first 5xx, else first 4xx */
	int		 err_batch;	/* the batch whose answer that was; -1 */
};

struct repl {
	struct repl_batch *b;
	size_t		 nb;
	size_t		 bcap;
	struct repl_item *items;	/* one per series of the request */
	size_t		 nitems;
	struct buf	 *errmsg;	/* per batch: the answer's body when it failed */
	size_t		 pending;	/* batches not answered yet */
};

/*
 * Build the batches of rq's series whose keep[i] is set (the valid ones,
 * their labels sorted), for tenant, over ring r at now_ms; op is
 * RING_OP_WRITE (Cortex's -distributor.extend-writes) or
 * RING_OP_WRITE_NO_EXTEND; by_all_labels picks the token of a series
 * (Cortex's -distributor.shard-by-all-labels), else of its metric name. -1 with e when
 * a series has no replication set (Cortex's "at least N live replicas
 * required, could only find M", a 5xx); nothing is to be sent then.
 */
int	repl_build(struct repl *, const struct ring *, enum ring_op, int by_all_labels,
	    const char *tenant, const struct rw_request *rq, const uint8_t *keep, int64_t now_ms,
	    struct err *);
/*
 * Batch i was answered: status 2xx is success; anything else (0 for a
 * transport failure or a timeout) fails its series, with body as the text.
 */
void	repl_answer(struct repl *, size_t i, int status, const void *body, size_t n);
/*
 * Once every batch is answered: 200 when every series reached its quorum;
 * else the status of the first series that did not (a 4xx from the
 * ingesters passed on, else 500) with its text in msg.
 */
int	repl_result(const struct repl *, struct buf *msg);
void	repl_free(struct repl *);

#endif
