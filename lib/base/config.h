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
