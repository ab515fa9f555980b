/*
 * flags — one table per program drives parsing, defaults and -h.
 *
 * Flags are written the Go/Cortex way: -name=value, -name value, --name=value;
 * a bool is -name, -name=true or -name=false. Flags and positional arguments
 * may be interleaved; "--" ends the flags.
 */
#ifndef RINGTAIL_FLAGS_H
#define RINGTAIL_FLAGS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum flag_type {
	FLAG_BOOL,	/* int * */
	FLAG_INT,	/* int64_t * */
	FLAG_STRING,	/* const char ** */
	FLAG_DURATION,	/* int64_t *, milliseconds; Go syntax: 2h, 1h30m, 500ms */
	FLAG_LIST,	/* struct strlist *; repeatable */
};

struct strlist {
	char	**v;
	size_t	  n;
};

struct flag {
	const char	*name;	/* without the dash: "block-duration" */
	enum flag_type	 type;
	void		*ptr;
	const char	*def;	/* default, as text; applied before parsing; NULL = none */
	const char	*help;
};

/*
 * Parse argv[1..argc) against tbl (terminated by a zeroed entry). The
 * positional arguments are moved to argv[0..n) and n is returned.
 * -h/-help/--help print the usage to stdout and exit 0; an unknown flag or a
 * bad value prints what was wrong and the usage to stderr and exits 100.
 */
int	 flags_parse(const struct flag *tbl, const char *usage, int argc, char **argv);
/* As flags_parse; seen[i] is set to 1 for each tbl[i] the command line gives. */
int	 flags_parse_seen(const struct flag *tbl, const char *usage, int argc, char **argv,
	    unsigned char *seen);
void	 flags_usage(FILE *fp, const char *usage, const struct flag *tbl);
void	 strlist_free(struct strlist *);
/*
 * Set one flag from text, as the command line does (config files use it;
 * a FLAG_STRING keeps the pointer, so value must outlive the flag).
 * Returns 0, or -1 with the reason in *why.
 */
int	 flags_set(const struct flag *, const char *value, const char **why);

#endif
