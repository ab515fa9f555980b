/*
 * verify — lib/tsdb/verify.c over every block under PATH: "ULID ok" for a
 * clean block, "ULID: fault" per fault found; exit 1 when any.
 */
#include <stdio.h>

#include "lib/base/log.h"
#include "lib/tsdb/block.h"
#include "lib/tsdb/verify.h"
#include "cmd/block-inspect/inspect.h"

static void
print_fault(void *arg, const char *what)
{
	printf("%s: %s\n", (const char *)arg, what);
}

int
cmd_verify(int argc, char **argv)
{
	const char *level = NULL;
	const struct flag tbl[] = {
		INSPECT_LOG_FLAG(&level),
		{ 0 },
	};
	size_t n, bad = 0;
	char **dirs;
	int rc;

	inspect_args(tbl, "block-inspect verify PATH", &level, argc, argv, 1, 1);
	if ((rc = inspect_find(argv[0], &dirs, &n)) != 0)
		return rc;
	if (n == 0) {
		log_error("no blocks found", "path=%s", log_q(argv[0]));
		block_dirs_free(dirs, n);
		return EXIT_FAULTS;
	}
	for (size_t i = 0; i < n; i++) {
		const char *name = inspect_base(dirs[i]);

		if (verify_block(dirs[i], print_fault, (void *)name) == 0)
			printf("%s ok\n", name);
		else
			bad++;
		fflush(stdout);
	}
	block_dirs_free(dirs, n);
	if (ferror(stdout)) {
		log_error("write stdout", "%s", "");
		return EXIT_SYSTEM;
	}
	return bad > 0 ? EXIT_FAULTS : EXIT_OK;
}
