/*
 * tsdb-head — what the files of the daemon share: the options, the daemon
 * state, and the exit codes of tsdb-head(1).
 *
 *   main.c     flags and config, setup, the event loop, shutdown
 *   push.c     POST /api/v1/push: decode, ingest, group commit of the WAL
 *   read.c     POST /api/v1/read: SAMPLES and STREAMED_XOR_CHUNKS
 *   admin.c    /ready, /metrics, /ingester/flush, head compaction, WAL replay
 *   ring.c     the KV client and the lifecycler
 */
#ifndef TSDB_HEAD_H
#define TSDB_HEAD_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/base/httpd.h"
#include "lib/base/metrics.h"
#include "lib/ingest/tenants.h"
#include "lib/kv/client.h"
#include "lib/ring/lifecycler.h"
#include "lib/rw/remote_read.h"
#include "lib/rw/remote_write.h"

#define EXIT_OK		0
#define EXIT_USAGE	100	/* bad flags or config; the data dir is in use */
#define EXIT_SYSTEM	111	/* cannot listen, open or replay; I/O errors */

/* The flag values, as parsed. */
struct opts {
	const char	*config_file;
	const char	*log_level;
	const char	*listen_addr;
	int64_t		 listen_port;
	int		 auth_enabled;
	const char	*dir;
	const char	*block_ranges;
	int64_t		 retention;
	int64_t		 compaction_interval;
	int64_t		 compaction_idle;
	int		 flush_on_shutdown;
	int		 wal_compression;
	int64_t		 wal_segment_size;
	int64_t		 wal_fsync_interval;
	int64_t		 max_recv;
	int64_t		 max_series;
	int64_t		 max_series_per_metric;
	struct rw_limit_flags limits;
	const char	*run_dir;
	struct kv_opts kv;
	int64_t		 ring_heartbeat_timeout;
	const char	*lc_id;
	const char	*lc_addr;
	int64_t		 lc_port;
	const char	*lc_zone;
	int64_t		 lc_num_tokens;
	const char	*lc_tokens_file;
	int64_t		 lc_join_after;
	int64_t		 lc_observe_period;
	int64_t		 lc_heartbeat_period;
	int64_t		 lc_min_ready;
	int64_t		 lc_final_sleep;
	int		 lc_unregister;
	int		 lc_check_ring_health;
};

/* A push answered once the WAL is fsynced (the group commit). */
struct pending {
	struct httpd_req	*req;
	struct tenant		*tenant;
	int			 status;
	char			*body;		/* NULL for 200 */
};

struct daemon {
	struct opts		 o;
	int64_t			 block_range;	/* ms, the first of block-ranges-period */
	struct event_base	*base;
	struct httpd		*httpd;
	struct metrics		*metrics;
	struct tenants		*tenants;
	struct tenant_opts	 topts;
	int			 exit_code;
	int			 stopping;

	/* The ring: the KV client until the lifecycler takes it over. */
	struct kv		*kv;
	struct lifecycler	*lc;
	char			 ring_id[256];
	char			 ring_addr[300];

	/* WAL replay, in its own thread while the loop answers /ready with 503. */
	volatile int		 ready;
	volatile int		 stop;
	volatile int		 replayed;
	int			 replay_total;
	int			 replay_rc;
	char			 replay_err[512];
	int			 replay_running;
	pthread_t		 replay_thread;
	int			 replay_pipe[2];
	struct event		*replay_ev;

	/* Group commit: pushes waiting for the fsync of their tenant's WAL. */
	struct pending		*pend;
	size_t			 npend;
	size_t			 pendcap;
	struct event		*commit_ev;
	struct event		*fsync_timer;
	struct event		*compact_timer;
	struct event		*sig_term;
	struct event		*sig_int;
	struct event		*sig_hup;

	/* Push scratch, reused from request to request. */
	struct buf		 raw;
	struct rw_request	 rq;
	struct tenant_push_result res;

	/* Read scratch. */
	struct buf		 rraw;
	struct rr_request	 rr;
	struct buf		 out;
	struct buf		 body;

	struct metric		*mem_series;
	struct metric		*mem_users;
	struct metric		*head_chunks;
};

/* ring.c */
/* Open the KV store; 0 or EXIT_USAGE. */
int	ring_setup(struct daemon *);
/* Start the lifecycler (after the WAL replay). */
void	ring_join(struct daemon *);
/* The lifecycler's readiness; 0 with the reason in why. */
int	ring_ready(struct daemon *, char *why, size_t len);
void	ring_leave(struct daemon *);
void	ring_stop(struct daemon *);

/* push.c */
void	push_routes(struct daemon *);
/* Fsync the dirty WALs and answer the pushes waiting for them. */
void	push_commit(struct daemon *);
void	push_fsync_tick(int, short, void *);
void	push_free(struct daemon *);

/* read.c */
void	read_routes(struct daemon *);
void	read_free(struct daemon *);

/* admin.c */
void	admin_routes(struct daemon *);
void	admin_metrics(struct daemon *);
/* Start the replay thread; the loop learns of its end through a pipe. 0 or -1. */
int	admin_start_replay(struct daemon *);
/* Compact every tenant (force: cut everything), log the blocks cut. 0 or -1. */
int	admin_compact_all(struct daemon *, int force);
void	admin_compact_tick(int, short, void *);

#endif
