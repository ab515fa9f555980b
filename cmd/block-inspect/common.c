#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/err.h"
#include "lib/base/fileutil.h"
#include "lib/base/log.h"
#include "lib/tsdb/block.h"
#include "cmd/block-inspect/inspect.h"

int
inspect_args(const struct flag *tbl, const char *usage, const char *const *level,
    int argc, char **argv, int min, int max)
{
	enum log_level lv;
	int n;

	n = flags_parse(tbl, usage, argc, argv);
	if (log_level_parse(*level, &lv) == -1) {
		log_error("bad -log.level", "value=%s", log_q(*level));
		exit(EXIT_USAGE);
	}
	log_init("block-inspect", lv);
	if (n < min || n > max) {
		log_error(n < min ? "missing argument" : "too many arguments", "%s", "");
		flags_usage(stderr, usage, tbl);
		exit(EXIT_USAGE);
	}
	return n;
}

int
inspect_find(const char *path, char ***dirs, size_t *n)
{
	struct err e;

	if (!path_exists(path)) {
		log_error("no such path", "path=%s", log_q(path));
		return EXIT_USAGE;
	}
	if (block_find(path, dirs, n, &e) == -1) {
		log_error("cannot find blocks", "err=%s", log_q(e.msg));
		return path_is_dir(path) ? EXIT_SYSTEM : EXIT_USAGE;
	}
	return 0;
}

const char *
inspect_base(const char *dir)
{
	const char *s = strrchr(dir, '/');

	return s != NULL ? s + 1 : dir;
}
