/*
 * distributor — what the files of the daemon share; see distributor(1).
 *
 *   main.c     flags and config, setup, the event loop, shutdown
 *   push.c     POST /api/v1/push: validate, limit, shard, replicate, answer
 *   admin.c    /ready, /metrics, /ring (HTML, JSON, forget)
 */
#ifndef DISTRIBUTOR_H
#define DISTRIBUTOR_H

#include <stddef.h>
#include <stdint.h>

#include "lib/base/httpd.h"
#include "lib/base/metrics.h"
#include "lib/dist/limiter.h"
#include "lib/dist/pusher.h"
#include "lib/kv/client.h"
#include "lib/ring/watcher.h"
#include "lib/rw/remote_write.h"
#include "lib/rw/validate.h"

#define EXIT_OK		0
#define EXIT_USAGE	100
#define EXIT_SYSTEM	111

#define RING_KEY	"ring"		/* the ingesters' ring */

struct opts {
	const char	*config_file;
	const char	*log_level;
	const char	*listen_addr;
	int64_t		 listen_port;
	const char	*run_dir;
	int		 auth_enabled;
	struct kv_opts	 kv;
	int64_t		 heartbeat_timeout;
	int64_t		 replication_factor;
	int		 zone_awareness;
	const char	*excluded_zones;
	int		 extend_writes;
	int		 shard_by_all_labels;
	int64_t		 remote_timeout;
	int64_t		 conns_per_ingester;
	double		 rate_limit;
	const char	*rate_limit_text;
	int64_t		 burst;
	int64_t		 max_recv;
	struct rw_limit_flags limits;
};

struct daemon {
	struct opts		 o;
	struct ring_config	 rcfg;
	struct rw_limits	 limits;
	struct event_base	*base;
	struct httpd		*httpd;
	struct metrics		*metrics;
	struct ring_watcher	*watcher;
	struct ring		*ring;		/* the newest snapshot taken */
	char			 ring_status[512];
	struct kv		*kv;		/* for forget on /ring */
	struct pusher		*pusher;
	struct limiter		*limiter;
	int			 exit_code;
	int			 stopping;
	size_t			 inflight;	/* pushes waiting for ingesters */
	struct event		*sig_term;
	struct event		*sig_int;
	struct event		*drain_timer;

	/* Push scratch, reused: a push is encoded into its batches before it waits. */
	struct buf		 raw;
	struct rw_request	 rq;
	struct buf		 msg;

	struct metric_family	*f_samples_in;
	struct metric_family	*f_received;
	struct metric_family	*f_requests;
	struct metric_family	*f_discarded;
	struct metric_family	*f_appends;
	struct metric_family	*f_append_failures;
	struct metric_family	*f_client_duration;
	struct metric		*series_per_request;
};

/* push.c */
void	push_routes(struct daemon *);
void	push_free(struct daemon *);
/* The newest ring snapshot (taking a fresh one from the watcher). */
const struct ring *current_ring(struct daemon *);

/* admin.c */
void	admin_metrics(struct daemon *);
void	admin_routes(struct daemon *);

#endif
