/*
 * block-inspect — list, analyze, dump and verify TSDB blocks: a block
 * directory, a data directory of blocks, or a bucket (<bucket>/<tenant>/<ULID>).
 * The output of ls, analyze and dump is that of `promtool tsdb list`,
 * `analyze` and `dump` (Prometheus 2.42); see block-inspect(1).
 *
 *   ls       ls.c       one row (or JSON object) per block
 *   analyze  analyze.c  label and churn statistics of one block
 *   dump     dump.c     every sample of the selected series, merged over blocks
 *   verify   verify.c   every checksum and invariant (lib/tsdb/verify.c)
 */
#include <stdio.h>
#include <string.h>

#include "lib/base/log.h"
#include "cmd/block-inspect/inspect.h"

static const struct command {
	const char	*name;
	int		(*fn)(int, char **);
	const char	*summary;
} commands[] = {
	{ "ls",		cmd_ls,		"list blocks with their time range, stats and size" },
	{ "analyze",	cmd_analyze,	"label and churn statistics of one block" },
	{ "dump",	cmd_dump,	"print every sample of the selected series" },
	{ "verify",	cmd_verify,	"check every checksum and invariant of each block" },
};

static void
usage(FILE *fp)
{
	fprintf(fp, "Usage: block-inspect COMMAND [options] PATH\n\n"
	    "PATH is a block directory, a directory of blocks, or a bucket\n"
	    "(<bucket>/<tenant>/<ULID>).\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(fp, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(fp, "\nRun 'block-inspect COMMAND -h' for the options of a command.\n");
}

int
main(int argc, char **argv)
{
	log_init("block-inspect", LOG_WARN);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "-help") == 0 ||
	    strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	log_error("unknown command", "command=%s", log_q(argv[1]));
	usage(stderr);
	return EXIT_USAGE;
}
