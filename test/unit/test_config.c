#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/config.h"
#include "lib/base/err.h"
#include "lib/base/flags.h"
#include "test/unit/unit.h"

static const char *dir, *file, *ranges, *store;
static int64_t port, retention, max_series;
static int auth, flush;

static const struct flag tbl[] = {
	{ "config.file", FLAG_STRING, &file, "", "config" },
	{ "blocks-storage.tsdb.dir", FLAG_STRING, &dir, "tsdb", "dir" },
	{ "server.http-listen-port", FLAG_INT, &port, "80", "port" },
	{ "auth.enabled", FLAG_BOOL, &auth, "true", "auth" },
	{ "blocks-storage.tsdb.retention-period", FLAG_DURATION, &retention, "6h", "retention" },
	{ "blocks-storage.tsdb.block-ranges-period", FLAG_STRING, &ranges, "2h0m0s", "ranges" },
	{ "blocks-storage.tsdb.flush-blocks-on-shutdown", FLAG_BOOL, &flush, "false", "flush" },
	{ "ingester.max-series-per-user", FLAG_INT, &max_series, "5000000", "series" },
	{ "ring.store", FLAG_STRING, &store, "inmemory", "ring" },
	{ NULL, 0, NULL, NULL, NULL },
};

static const struct config_key keys[] = {
	{ "blocks-storage.tsdb.dir", "blocks_storage.tsdb.dir" },
	{ "server.http-listen-port", "server.http_listen_port" },
	{ "auth.enabled", "auth_enabled" },
	{ "blocks-storage.tsdb.retention-period", "blocks_storage.tsdb.retention_period" },
	{ "blocks-storage.tsdb.block-ranges-period", "blocks_storage.tsdb.block_ranges_period" },
	{ "blocks-storage.tsdb.flush-blocks-on-shutdown",
	    "blocks_storage.tsdb.flush_blocks_on_shutdown" },
	{ "ingester.max-series-per-user", "limits.max_series_per_user" },
	{ "ring.store", "ingester.lifecycler.ring.kvstore.store" },
	{ NULL, NULL },
};

static const char yaml[] =
	"# one file for every program of a node\n"
	"auth_enabled: false\n"
	"server:\n"
	"  http_listen_port: 9109\n"
	"  grpc_listen_port: 9195\n"
	"blocks_storage:\n"
	"  tsdb:\n"
	"    dir: /var/lib/ringtail/tsdb\n"
	"    retention_period: 12h\n"
	"    block_ranges_period: [2h, 12h]\n"
	"    flush_blocks_on_shutdown: ~\n"
	"limits:\n"
	"  max_series_per_user: 100\n"
	"ingester:\n"
	"  lifecycler:\n"
	"    ring:\n"
	"      kvstore:\n"
	"        store: consul\n"
	"memberlist:\n"
	"  join_members: [a, b]\n";

static char *
write_tmp(const char *text)
{
	char *path;

	if (asprintf(&path, "%s/c.yaml", unit_tmpdir()) < 0)
		abort();
	FILE *fp = fopen(path, "w");
	fputs(text, fp);
	fclose(fp);
	return path;
}

/* Cortex's paths set the flags; lists join with commas; null leaves the default. */
static void
yaml_sets_flags(void)
{
	struct config *c = NULL;
	char *argv[] = { "prog", NULL };
	struct err e;

	flags_parse(tbl, "t", 1, argv);
	CHECK_INT(config_apply(&c, "c.yaml", yaml, sizeof(yaml) - 1, tbl, keys, NULL, &e), 0);
	CHECK_STR(dir, "/var/lib/ringtail/tsdb");
	CHECK_INT(port, 9109);
	CHECK_INT(auth, 0);
	CHECK_INT(retention, 12 * 3600 * 1000);
	CHECK_STR(ranges, "2h,12h");
	CHECK_INT(flush, 0);
	CHECK_INT(max_series, 100);
	CHECK_STR(store, "consul");
	config_free(c);
}

/* Defaults, then the file, then the command line. */
static void
command_line_wins(void)
{
	struct config *c = NULL;
	char *path = write_tmp(yaml), *cf;
	int n;

	if (asprintf(&cf, "-config.file=%s", path) < 0)
		abort();
	char *argv[] = { "prog", cf, "-server.http-listen-port", "7000", "-auth.enabled",
	    "--ring.store=inmemory", "pos", NULL };
	n = config_parse(&c, tbl, keys, "t", 7, argv);
	CHECK_INT(n, 1);
	CHECK_STR(argv[0], "pos");
	CHECK_INT(port, 7000);
	CHECK_INT(auth, 1);
	CHECK_STR(store, "inmemory");
	CHECK_STR(dir, "/var/lib/ringtail/tsdb");
	CHECK_INT(max_series, 100);
	config_free(c);
	free(cf);
	free(path);
}

static int
apply(struct config **c, const char *text, struct err *e)
{
	return config_apply(c, "x.yaml", text, strlen(text), tbl, keys, NULL, e);
}

static void
errors_name_the_place(void)
{
	struct config *c = NULL;
	char *argv[] = { "prog", NULL };
	struct err e;

	flags_parse(tbl, "t", 1, argv);
	CHECK_INT(apply(&c, "server:\n  http_listen_port: nine\n", &e), -1);
	CHECK_STR(e.msg, "x.yaml:2: server.http_listen_port (-server.http-listen-port): "
	    "invalid value \"nine\": expected an integer");
	CHECK_INT(apply(&c, "server: [\n", &e), -1);
	CHECK(strncmp(e.msg, "x.yaml:2:1: ", 12) == 0);
	CHECK_INT(apply(&c, "blocks_storage:\n  tsdb: {dir: {a: 1}}\n", &e), -1);
	CHECK(strstr(e.msg, "blocks_storage.tsdb.dir: expected a value") != NULL);
	/* An empty file changes nothing. */
	flags_parse(tbl, "t", 1, argv);
	CHECK_INT(apply(&c, "", &e), 0);
	CHECK_INT(port, 80);
	config_free(c);
}

UNIT_CASES(
	UNIT_CASE(yaml_sets_flags),
	UNIT_CASE(command_line_wins),
	UNIT_CASE(errors_name_the_place),
);
