/*
 * block-ship — uploads the finished blocks of tsdb-head's data directory
 * into the bucket and remembers what it shipped; see block-ship(1).
 *
 *   main       flags, the single-instance lock, signals, the pass loop
 *   ship.c     one pass: every tenant, Thanos' shipper Sync for each
 *   lib/bucket/shipper.c   staging, fsync, rename; thanos.shipper.json
 */
#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/base/duration.h"
#include "lib/base/fileutil.h"
#include "lib/base/flags.h"
#include "lib/base/log.h"
#include "lib/base/sigstop.h"
#include "cmd/block-ship/ship.h"

#define USAGE "block-ship -blocks-storage.tsdb.dir DIR -blocks-storage.backend=filesystem " \
	"-blocks-storage.filesystem.dir BUCKET [-once]"

static volatile sig_atomic_t *stop;

struct opts {
	const char	*tsdb_dir;
	const char	*backend;
	const char	*bucket_dir;
	const char	*ingester_id;
	const char	*level;
	int64_t		 interval;
	int64_t		 concurrency;
	int		 once;
	char		 host[256];
};

static int
configure(struct opts *o, struct ship_config *cfg)
{
	enum log_level lv;
	struct err e;

	if (log_level_parse(o->level, &lv) == -1) {
		log_error("bad -log.level", "value=%s", log_q(o->level));
		return EXIT_USAGE;
	}
	log_init("block-ship", lv);
	if (strcmp(o->backend, "filesystem") != 0) {
		log_error("unsupported -blocks-storage.backend: only filesystem",
		    "value=%s", log_q(o->backend));
		return EXIT_USAGE;
	}
	if (*o->tsdb_dir == '\0' || *o->bucket_dir == '\0') {
		log_error("-blocks-storage.tsdb.dir and -blocks-storage.filesystem.dir "
		    "are required", "%s", "");
		return EXIT_USAGE;
	}
	if (o->interval <= 0 || o->concurrency <= 0 || o->concurrency > 1000) {
		log_error("-blocks-storage.tsdb.ship-interval must be positive and "
		    "-blocks-storage.tsdb.ship-concurrency within 1..1000",
		    "interval_ms=%lld concurrency=%lld", (long long)o->interval,
		    (long long)o->concurrency);
		return EXIT_USAGE;
	}
	if (*o->ingester_id == '\0') {
		/* Cortex's default lifecycler ID is the host name. */
		if (gethostname(o->host, sizeof(o->host) - 1) == -1 || o->host[0] == '\0')
			strlcpy(o->host, "localhost", sizeof(o->host));
		o->ingester_id = o->host;
	}
	if (mkdir_p(o->tsdb_dir, 0777, &e) == -1 || mkdir_p(o->bucket_dir, 0777, &e) == -1) {
		log_error("cannot create a directory", "err=%s", log_q(e.msg));
		return EXIT_SYSTEM;
	}
	cfg->tsdb_dir = o->tsdb_dir;
	cfg->bucket_dir = o->bucket_dir;
	cfg->ingester_id = o->ingester_id;
	cfg->concurrency = (int)o->concurrency;
	return 0;
}

/*
 * One shipper per TSDB dir: two would stage the same blocks side by side
 * and each remove the other's staging directory. The lock is on the
 * directory itself, so nothing is added to it.
 */
static int
lock_dir(const char *dir, int *fd)
{
	if ((*fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_error("cannot open the TSDB directory", "dir=%s err=%s",
		    log_q(dir), log_q(strerror(errno)));
		return EXIT_SYSTEM;
	}
	if (flock(*fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK) {
			log_error("another block-ship is running on this directory",
			    "dir=%s", log_q(dir));
			return EXIT_USAGE;
		}
		log_error("cannot lock the TSDB directory", "dir=%s err=%s",
		    log_q(dir), log_q(strerror(errno)));
		return EXIT_SYSTEM;
	}
	return 0;
}

/* Sleep ms, or less when a signal asks to stop. */
static void
nap(int64_t ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	while (!*stop && nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
run(const struct ship_config *cfg, const struct opts *o)
{
	struct ship_result r;
	char ival[32];

	duration_format(ival, sizeof(ival), o->interval);
	log_info("block-ship started", "tsdb_dir=%s bucket=%s ingester_id=%s "
	    "ship_interval=%s concurrency=%d once=%s", log_q(cfg->tsdb_dir),
	    log_q(cfg->bucket_dir), log_q(cfg->ingester_id), ival, cfg->concurrency,
	    o->once ? "true" : "false");
	for (;;) {
		ship_pass(cfg, &r);
		log_kv(r.shipped + r.found + r.failed + r.invalid > 0 ? LOG_INFO : LOG_DEBUG,
		    "ship pass done", "tenants=%zu shipped=%zu found=%zu failed=%zu "
		    "invalid=%zu bytes=%llu", r.tenants, r.shipped, r.found, r.failed,
		    r.invalid, (unsigned long long)r.bytes);
		if (o->once) {
			if (*stop || r.failed > 0)
				return EXIT_SYSTEM;
			return r.invalid > 0 ? EXIT_INVALID : EXIT_OK;
		}
		nap(o->interval);
		if (*stop) {
			log_info("block-ship stopped", "%s", "");
			return EXIT_OK;
		}
	}
}

int
main(int argc, char **argv)
{
	struct ship_config cfg;
	struct opts o;
	int nargs, rc, fd = -1;
	const struct flag flags[] = {
		{ "blocks-storage.tsdb.dir", FLAG_STRING, &o.tsdb_dir, "tsdb",
		    "tsdb-head's data directory: one directory per tenant" },
		{ "blocks-storage.backend", FLAG_STRING, &o.backend, "filesystem",
		    "bucket backend; only filesystem" },
		{ "blocks-storage.filesystem.dir", FLAG_STRING, &o.bucket_dir, "",
		    "the bucket directory (required)" },
		{ "blocks-storage.tsdb.ship-interval", FLAG_DURATION, &o.interval, "1m",
		    "how often to look for blocks to ship" },
		{ "blocks-storage.tsdb.ship-concurrency", FLAG_INT, &o.concurrency, "10",
		    "tenants shipped at the same time" },
		{ "ingester.lifecycler.ID", FLAG_STRING, &o.ingester_id, "",
		    "ingester ID for the __ingester_id__ external label (default: the host name)" },
		{ "once", FLAG_BOOL, &o.once, NULL, "one pass, then exit with its outcome" },
		{ "log.level", FLAG_STRING, &o.level, "info", "debug, info, warn or error" },
		{ NULL, 0, NULL, NULL, NULL },
	};

	memset(&o, 0, sizeof(o));
	memset(&cfg, 0, sizeof(cfg));
	log_init("block-ship", LOG_INFO);
	nargs = flags_parse(flags, USAGE, argc, argv);
	if (nargs > 0) {
		log_error("no arguments expected", "args=%d", nargs);
		flags_usage(stderr, USAGE, flags);
		return EXIT_USAGE;
	}
	if ((rc = configure(&o, &cfg)) != 0)
		return rc;
	if ((rc = lock_dir(cfg.tsdb_dir, &fd)) != 0)
		return rc;
	cfg.stop = stop = sigstop_init();
	rc = run(&cfg, &o);
	close(fd);
	return rc;
}
