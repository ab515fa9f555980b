/*
 * block-inspect — shared by the command files: exit codes, the command entry
 * points, and the helpers every command uses to find and name blocks.
 */
#ifndef BLOCK_INSPECT_H
#define BLOCK_INSPECT_H

#include <stddef.h>

#include "lib/base/flags.h"

/* The exit-code table of block-inspect(1). */
#define EXIT_OK		0
#define EXIT_FAULTS	1	/* verify found faults */
#define EXIT_USAGE	100	/* bad usage, no such path or block */
#define EXIT_SYSTEM	111	/* I/O error, or a block that cannot be read */

int	cmd_ls(int, char **);
int	cmd_analyze(int, char **);
int	cmd_dump(int, char **);
int	cmd_verify(int, char **);

/* The -log.level entry every command's flag table ends with. */
#define INSPECT_LOG_FLAG(ptr) \
	{ "log.level", FLAG_STRING, (ptr), "info", "debug, info, warn or error" }

/*
 * Parse argv with the table, apply -log.level, and require between min and
 * max positional arguments (left in argv[0..n)); exits 100 on misuse.
 */
int	inspect_args(const struct flag *, const char *usage, const char *const *level,
	    int argc, char **argv, int min, int max);
/* Blocks under path (block_find); logs and returns the exit code on failure, else 0. */
int	inspect_find(const char *path, char ***dirs, size_t *n);
/* The last component of a block directory. */
const char *inspect_base(const char *dir);

#endif
