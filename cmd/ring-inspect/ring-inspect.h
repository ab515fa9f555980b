/*
 * ring-inspect — what its files share; see ring-inspect(1).
 *
 *   main.c    flags, the KV store, the command
 *   show.c    the ring as a table or JSON lines, -watch, -check
 *   ops.c     forget, delete, owners, tokens
 */
#ifndef RING_INSPECT_H
#define RING_INSPECT_H

#include <stdint.h>

#include "lib/base/flags.h"
#include "lib/kv/client.h"
#include "lib/ring/ring.h"

#define EXIT_OK		0
#define EXIT_CHECK	1	/* -check found a problem; forget or delete refused */
#define EXIT_USAGE	100
#define EXIT_SYSTEM	111	/* the KV store cannot be read or written */

struct opts {
	const char	*log_level;
	const char	*config_file;
	const char	*run_dir;
	const char	*ring_key;
	struct kv_opts	 kv;
	struct strlist	 join;
	const char	*ml_transport;
	const char	*ml_bind_addr;
	int64_t		 ml_bind_port;
	const char	*ml_label;
	int		 ml_compression;
	int64_t		 heartbeat_timeout;
	int64_t		 replication_factor;
	int		 zone_awareness;
	int		 json;
	int		 watch;
	int		 check;
	double		 max_skew;
	const char	*max_skew_text;
	int		 force;
	int		 color;		/* -1: when stdout is a terminal */
	const char	*color_text;
	const char	*tenant;
};

struct ctx {
	struct opts	 o;
	struct kv	*kv;
	volatile int	 stop;		/* SIGINT/SIGTERM during -watch */
};

/* show.c */
int	cmd_show(struct ctx *);
/* ops.c */
int	cmd_forget(struct ctx *, const char *id);
int	cmd_delete(struct ctx *);
int	cmd_owners(struct ctx *, const char *selector);
int	cmd_tokens(struct ctx *, const char *id);

/* The ring from the store (empty when the key is absent); EXIT_SYSTEM on error. */
int	read_ring(struct ctx *, struct ring_desc *);
void	ring_config_of(const struct opts *, struct ring_config *);

#endif
