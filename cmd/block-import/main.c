/*
 * block-import — OpenMetrics text (what `promtool tsdb create-blocks-from
 * openmetrics` reads) or `promtool tsdb dump` lines in, Prometheus TSDB
 * blocks out; see block-import(1).
 *
 *   main          flags, the output directory, signals, then:
 *   importer_read      one streaming pass over the input (lib/tsdb/importer.c)
 *   importer_write_blocks  every block, in time order, only after the whole
 *                      input was read and parsed
 *   report.c      the promtool-like rows on stdout, progress on stderr
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base/fileutil.h"
#include "lib/base/flags.h"
#include "lib/base/log.h"
#include "lib/base/sigstop.h"
#include "lib/base/xmalloc.h"
#include "cmd/block-import/import.h"

#define USAGE "block-import [-o DIR] [-block-duration D] [-label name=value]... [FILE]"

static int
valid_label_name(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return 0;
	for (s++; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

/* -label name=value, repeatable: split in place, names must be unique. */
static int
split_labels(struct strlist *l, const char ***names, const char ***values)
{
	*names = xcalloc(l->n + 1, sizeof(char *));
	*values = xcalloc(l->n + 1, sizeof(char *));
	for (size_t i = 0; i < l->n; i++) {
		char *eq = strchr(l->v[i], '=');

		if (eq == NULL || eq == l->v[i]) {
			log_error("bad -label: want name=value", "label=%s", log_q(l->v[i]));
			return -1;
		}
		*eq = '\0';
		if (!valid_label_name(l->v[i])) {
			log_error("bad -label name", "name=%s", log_q(l->v[i]));
			return -1;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp((*names)[j], l->v[i]) == 0) {
				log_error("repeated -label name", "name=%s", log_q(l->v[i]));
				return -1;
			}
		(*names)[i] = l->v[i];
		(*values)[i] = eq + 1;
	}
	return 0;
}

static int
open_input(const char *path, int *fd)
{
	if (path == NULL || strcmp(path, "-") == 0) {
		*fd = STDIN_FILENO;
		return 0;
	}
	if ((*fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_error("cannot open the input", "file=%s err=%s", log_q(path),
		    log_q(strerror(errno)));
		return -1;
	}
	return 0;
}

static int
run(struct importer_config *cfg, const char *path, struct report *rep)
{
	struct importer *imp;
	struct err e;
	int fd, rc = EXIT_OK;

	if (open_input(path, &fd) == -1)
		return EXIT_SYSTEM;
	if ((imp = importer_create(cfg, &e)) == NULL) {
		log_error("cannot start", "err=%s", log_q(e.msg));
		return EXIT_USAGE;
	}
	if (importer_read(imp, fd, path != NULL ? path : "-", &e) == -1 ||
	    importer_write_blocks(imp, &e) == -1) {
		if (importer_bad_input(imp)) {
			/* The message already reads FILE:LINE: what. */
			fprintf(stderr, "block-import: %s\n", e.msg);
			log_error("malformed input: no block written", "file=%s",
			    log_q(path != NULL ? path : "-"));
			rc = EXIT_INPUT;
		} else {
			log_error("import failed", "err=%s", log_q(e.msg));
			rc = EXIT_SYSTEM;
		}
	} else
		report_done(rep, importer_stats(imp));
	importer_free(imp);
	if (fd != STDIN_FILENO)
		close(fd);
	return rc;
}

/* The flag values, as parsed. */
struct opts {
	const char	*out;
	const char	*tmp;
	const char	*level;
	const char	*maxmem;
	int64_t		 dur;
	int		 quiet;
	struct strlist	 labels;
	const char	**names;
	const char	**values;
};

/* Check the flags and fill cfg; returns 0 or an exit code. */
static int
configure(struct opts *o, struct importer_config *cfg)
{
	enum log_level lv;
	struct err e;

	memset(cfg, 0, sizeof(*cfg));
	if (log_level_parse(o->level, &lv) == -1) {
		log_error("bad -log.level", "value=%s", log_q(o->level));
		return EXIT_USAGE;
	}
	log_init("block-import", lv);
	if (o->dur <= 0) {
		log_error("-block-duration must be positive", "value=%lld", (long long)o->dur);
		return EXIT_USAGE;
	}
	if (parse_bytes(o->maxmem, &cfg->max_memory) == -1 || cfg->max_memory < (1u << 20)) {
		log_error("bad -max-memory: want at least 1MiB, e.g. 512MiB or 2GiB",
		    "value=%s", log_q(o->maxmem));
		return EXIT_USAGE;
	}
	if (split_labels(&o->labels, &o->names, &o->values) == -1)
		return EXIT_USAGE;
	if (*o->tmp != '\0' && !path_is_dir(o->tmp)) {
		log_error("-tmp-dir is not a directory", "dir=%s", log_q(o->tmp));
		return EXIT_USAGE;
	}
	if (mkdir_p(o->out, 0777, &e) == -1) {
		log_error("cannot create the output directory", "err=%s", log_q(e.msg));
		return EXIT_SYSTEM;
	}
	cfg->out_dir = o->out;
	cfg->tmp_dir = *o->tmp != '\0' ? o->tmp : o->out;
	cfg->block_duration = o->dur;
	cfg->label_names = o->names;
	cfg->label_values = o->values;
	cfg->nlabels = o->labels.n;
	cfg->progress = report_progress;
	cfg->block_done = report_block;
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct importer_config cfg;
	struct report rep;
	int nargs, rc;
	const struct flag flags[] = {
		{ "o", FLAG_STRING, &o.out, "data", "output directory for the blocks (created if missing)" },
		{ "block-duration", FLAG_DURATION, &o.dur, "2h",
		    "block length; blocks are aligned to multiples of it" },
		{ "label", FLAG_LIST, &o.labels, NULL,
		    "name=value: an external label for the Thanos section of meta.json" },
		{ "max-memory", FLAG_STRING, &o.maxmem, "256MiB",
		    "memory for sample buffers before they spill to scratch files" },
		{ "tmp-dir", FLAG_STRING, &o.tmp, "", "directory for scratch files (default: the -o directory)" },
		{ "q", FLAG_BOOL, &o.quiet, NULL, "do not print a row per block on stdout" },
		{ "log.level", FLAG_STRING, &o.level, "info", "debug, info, warn or error" },
		{ NULL, 0, NULL, NULL, NULL },
	};

	memset(&o, 0, sizeof(o));
	log_init("block-import", LOG_INFO);
	nargs = flags_parse(flags, USAGE, argc, argv);
	if (nargs > 1) {
		log_error("at most one input file", "args=%d", nargs);
		flags_usage(stderr, USAGE, flags);
		rc = EXIT_USAGE;
	} else if ((rc = configure(&o, &cfg)) == 0) {
		/* INT, TERM and HUP stop the import: it cleans up and exits 111. */
		cfg.stop = sigstop_init();
		report_init(&rep);
		rep.quiet = o.quiet;
		cfg.arg = &rep;
		rc = run(&cfg, nargs == 1 ? argv[0] : NULL, &rep);
		if (fflush(stdout) == EOF || ferror(stdout)) {
			log_error("cannot write to standard output", "err=%s",
			    log_q(strerror(errno)));
			if (rc == EXIT_OK)
				rc = EXIT_SYSTEM;
		}
	}
	free(o.names);
	free(o.values);
	strlist_free(&o.labels);
	return rc;
}
