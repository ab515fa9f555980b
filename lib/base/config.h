/*
 * config — the YAML -config.file that every program of a node can share,
 * read with libyaml. A program maps Cortex's YAML paths to its flags
 *
 *	{ "blocks-storage.tsdb.dir", "blocks_storage.tsdb.dir" },
 *
 * so a value in the file sets the same variable the flag sets, with the
 * flag's own parser. Precedence: the flag's default, then the file, then
 * the command line. Keys a program does not map are ignored: they belong
 * to the other programs sharing the file. A sequence sets a flag to its
 * items joined by commas (Cortex's list-of-durations flags); null or an
 * empty value leaves the flag alone.
 */
#ifndef RINGTAIL_CONFIG_H
#define RINGTAIL_CONFIG_H

#include <stddef.h>

#include "lib/base/err.h"
#include "lib/base/flags.h"

/* The flag named "config.file" in the table names the file. */
#define CONFIG_FLAG	"config.file"

struct config_key {
	const char	*flag;	/* the flag's name in the table, without the dash */
	const char	*path;	/* dotted YAML path: "limits.max_series_per_user" */
};

/*
 * The flags every program of a node shares, for an options struct p with
 * the fields config_file, log_level and run_dir (const char *); daemons add
 * HTTP_FLAGS(p) for listen_addr (const char *) and listen_port (int64_t).
 * Their YAML keys: NODE_KEYS and HTTP_KEYS (-config.file and -run-dir
 * have none).
 */
#define NODE_FLAGS(p, log_default)					\
	{ CONFIG_FLAG, FLAG_STRING, &(p)->config_file, "",		\
	    "YAML configuration file (Cortex's layout); flags override it" }, \
	{ "log.level", FLAG_STRING, &(p)->log_level, log_default,	\
	    "debug, info, warn or error" },				\
	{ "run-dir", FLAG_STRING, &(p)->run_dir, config_run_dir_default(), \
	    "sockets, locks and pid files of this node; the gossip-agent's socket " \
	    "is here ($RINGTAIL_RUN_DIR sets the default)" }
#define HTTP_FLAGS(p)							\
	{ "server.http-listen-address", FLAG_STRING, &(p)->listen_addr, "", \
	    "HTTP listen address (empty: every address)" },		\
	{ "server.http-listen-port", FLAG_INT, &(p)->listen_port, "80",	\
	    "HTTP listen port (0: any free port, logged)" }
#define NODE_KEYS							\
	{ "log.level", "server.log_level" }
#define HTTP_KEYS							\
	{ "server.http-listen-address", "server.http_listen_address" },	\
	{ "server.http-listen-port", "server.http_listen_port" }

/* $RINGTAIL_RUN_DIR, else /run/ringtail. */
const char	*config_run_dir_default(void);

/* Owns the strings the file gave to FLAG_STRING flags. */
struct config;

/*
 * flags_parse, then the file named by -config.file (if the table has that
 * flag and it is set), for the flags that were not on the command line.
 * keys ends with a zeroed entry. Returns the number of positional
 * arguments, as flags_parse does; an unreadable file, a YAML error or a bad
 * value prints the reason ("FILE:LINE:COL: ...", or the path and the flag)
 * on stderr and exits 100. *cfg must be freed with config_free after the
 * flags' last use.
 */
int	 config_parse(struct config **cfg, const struct flag *tbl,
	    const struct config_key *keys, const char *usage, int argc, char **argv);

/*
 * Apply YAML text to the flags of tbl mapped by keys, skipping the flags
 * whose index i has skip[i] != 0 (skip may be NULL). *cfg is created when
 * NULL. Returns 0, or -1 with the place and reason in e. name labels the
 * messages (the file name).
 */
int	 config_apply(struct config **cfg, const char *name, const char *text,
	    size_t len, const struct flag *tbl, const struct config_key *keys,
	    const unsigned char *skip, struct err *e);

void	 config_free(struct config *);

#endif
