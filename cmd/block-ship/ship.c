/*
 * One shipping pass, Thanos' shipper Sync per tenant (bucket-layout.md §3):
 * the bucket, not the state file, is the source of truth, so a lost or
 * stale thanos.shipper.json costs a look into the bucket, never a second
 * copy of a block.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/clock.h"
#include "lib/base/fileutil.h"
#include "lib/base/log.h"
#include "lib/base/xmalloc.h"
#include "lib/bucket/shipper.h"
#include "lib/rw/validate.h"
#include "lib/tsdb/meta.h"
#include "cmd/block-ship/ship.h"

struct local_blocks {
	struct block_meta	*v;
	size_t			 n;
};

struct pass {
	const struct ship_config *cfg;
	char			**tenants;
	size_t			 ntenants;
	size_t			 next;
	struct ship_result	*res;
	pthread_mutex_t		 mtx;
};

/* log.h's quoting buffers are shared: one logger at a time. */
static pthread_mutex_t log_mtx = PTHREAD_MUTEX_INITIALIZER;
#define slog(level, msg, ...) do {				\
	pthread_mutex_lock(&log_mtx);				\
	log_kv(level, msg, __VA_ARGS__);			\
	pthread_mutex_unlock(&log_mtx);				\
} while (0)

static int	cmp_blocks(const void *, const void *);
static int	cmp_strs(const void *, const void *);
static void	list_blocks(const char *, const char *, struct local_blocks *,
		    struct ship_result *);
static int	is_mine(const char *, void *);
static int	ensure_bucket_tenant(const struct ship_config *, const char *,
		    const char *);
static int	ship_block(const struct ship_config *, const char *, const char *,
		    const char *, struct block_meta *, struct ship_result *);
static void	sync_tenant(const struct ship_config *, const char *,
		    struct ship_result *);
static void	list_tenants(struct pass *);
static void	*worker(void *);

/* Thanos ships in min-time order; the ULID breaks ties. */
static int
cmp_blocks(const void *a, const void *b)
{
	const struct block_meta *x = a, *y = b;

	if (x->min_time != y->min_time)
		return x->min_time < y->min_time ? -1 : 1;
	return strcmp(x->ulid, y->ulid);
}

static int
cmp_strs(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The finished blocks of a tenant dir: ULID-named directories with a
 * meta.json that reads. Blocks still being written carry another name
 * (<ULID>.tmp-for-creation) and are not seen at all.
 */
static void
list_blocks(const char *dir, const char *tenant, struct local_blocks *lb,
    struct ship_result *res)
{
	struct dirent *de;
	struct err e;
	DIR *d;

	lb->v = NULL;
	lb->n = 0;
	if ((d = opendir(dir)) == NULL) {
		slog(LOG_ERROR, "cannot list the tenant directory", "tenant=%s err=%s",
		    log_q(tenant), log_q(strerror(errno)));
		res->failed++;
		return;
	}
	while ((de = readdir(d)) != NULL) {
		struct block_meta m;
		struct ulid u;
		struct stat st;
		char *path;

		if (ulid_parse(de->d_name, &u) == -1)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, 0) == -1 || !S_ISDIR(st.st_mode))
			continue;
		xasprintf(&path, "%s/%s", dir, de->d_name);
		if (meta_read(path, &m, &e) == -1) {
			slog(LOG_WARN, "block skipped: no valid meta.json",
			    "tenant=%s block=%s err=%s", log_q(tenant), de->d_name,
			    log_q(e.msg));
			res->invalid++;
		} else if (strcmp(m.ulid, de->d_name) != 0) {
			slog(LOG_WARN, "block skipped: meta.json names another block",
			    "tenant=%s block=%s ulid=%s", log_q(tenant), de->d_name, m.ulid);
			res->invalid++;
			meta_free(&m);
		} else {
			lb->v = xreallocarray(lb->v, lb->n + 1, sizeof(*lb->v));
			lb->v[lb->n++] = m;
		}
		free(path);
	}
	closedir(d);
	if (lb->n > 1)
		qsort(lb->v, lb->n, sizeof(*lb->v), cmp_blocks);
}

/* Staging leftovers of our own blocks only: other ingesters share the tenant. */
static int
is_mine(const char *ulid, void *arg)
{
	const struct local_blocks *lb = arg;

	for (size_t i = 0; i < lb->n; i++)
		if (strcmp(lb->v[i].ulid, ulid) == 0)
			return 1;
	return 0;
}

/* <bucket>/<tenant>, created (and made durable) on first use. */
static int
ensure_bucket_tenant(const struct ship_config *cfg, const char *tenant,
    const char *bdir)
{
	struct err e;

	if (path_is_dir(bdir))
		return 0;
	if (mkdir_p(bdir, 0777, &e) == -1 || fsync_dir(cfg->bucket_dir, &e) == -1) {
		slog(LOG_ERROR, "cannot create the tenant directory in the bucket",
		    "tenant=%s err=%s", log_q(tenant), log_q(e.msg));
		return -1;
	}
	return 0;
}

/* 0 when the block is in the bucket (now or before), -1 when it is not. */
static int
ship_block(const struct ship_config *cfg, const char *tenant, const char *ldir,
    const char *bdir, struct block_meta *m, struct ship_result *res)
{
	const char *names[] = { THANOS_LABEL_INGESTER, THANOS_LABEL_TENANT };
	const char *values[] = { cfg->ingester_id, tenant };
	int64_t t0 = clock_mono_ms();
	uint64_t bytes;
	char *src;
	struct err e;
	int rc;

	switch (bucket_block_state(bdir, m->ulid, &e)) {
	case -1:
		slog(LOG_ERROR, "cannot look into the bucket", "tenant=%s block=%s err=%s",
		    log_q(tenant), m->ulid, log_q(e.msg));
		res->failed++;
		return -1;
	case BUCKET_BLOCK_COMPLETE:
		/* Shipped before the state file recorded it (a crash in between). */
		slog(LOG_INFO, "block already in the bucket", "tenant=%s block=%s",
		    log_q(tenant), m->ulid);
		res->found++;
		return 0;
	case BUCKET_BLOCK_DELETING:
		/* Shipped, then compacted away: shipping it again would undo that. */
		slog(LOG_WARN, "block is being deleted from the bucket, not shipped again",
		    "tenant=%s block=%s", log_q(tenant), m->ulid);
		res->found++;
		return 0;
	case BUCKET_BLOCK_PARTIAL:
		slog(LOG_WARN, "partial block in the bucket, replacing it",
		    "tenant=%s block=%s", log_q(tenant), m->ulid);
		break;
	}
	bucket_meta_thanos(m, names, values, 2, THANOS_SOURCE_RECEIVE);
	xasprintf(&src, "%s/%s", ldir, m->ulid);
	rc = bucket_block_upload(src, bdir, m, &bytes, &e);
	free(src);
	if (rc == -1) {
		slog(LOG_ERROR, "block not shipped", "tenant=%s block=%s err=%s",
		    log_q(tenant), m->ulid, log_q(e.msg));
		res->failed++;
		return -1;
	}
	if (rc == 1) {
		slog(LOG_INFO, "block already in the bucket", "tenant=%s block=%s",
		    log_q(tenant), m->ulid);
		res->found++;
		return 0;
	}
	slog(LOG_INFO, "block shipped", "tenant=%s block=%s min_time=%lld "
	    "max_time=%lld samples=%llu bytes=%llu duration_ms=%lld",
	    log_q(tenant), m->ulid, (long long)m->min_time, (long long)m->max_time,
	    (unsigned long long)m->num_samples, (unsigned long long)bytes,
	    (long long)(clock_mono_ms() - t0));
	res->shipped++;
	res->bytes += bytes;
	return 0;
}

static void
sync_tenant(const struct ship_config *cfg, const char *tenant,
    struct ship_result *res)
{
	struct shipper_state old, cur = { 0 };
	struct local_blocks lb;
	char *ldir, *bdir;
	struct err e;
	int n;

	xasprintf(&ldir, "%s/%s", cfg->tsdb_dir, tenant);
	xasprintf(&bdir, "%s/%s", cfg->bucket_dir, tenant);
	if (shipper_state_read(ldir, &old, &e) == -1)
		slog(LOG_WARN, "shipper state unreadable, checking the bucket for every block",
		    "tenant=%s err=%s", log_q(tenant), log_q(e.msg));
	list_blocks(ldir, tenant, &lb, res);
	if ((n = bucket_tmp_remove(bdir, is_mine, &lb, &e)) == -1)
		slog(LOG_WARN, "cannot remove staging leftovers", "tenant=%s err=%s",
		    log_q(tenant), log_q(e.msg));
	else if (n > 0)
		slog(LOG_INFO, "removed staging leftovers of an interrupted upload",
		    "tenant=%s count=%d", log_q(tenant), n);
	for (size_t i = 0; i < lb.n; i++) {
		struct block_meta *m = &lb.v[i];

		/* Thanos' list keeps only blocks still present locally. */
		if (shipper_state_has(&old, m->ulid)) {
			shipper_state_add(&cur, m->ulid);
			continue;
		}
		if (*cfg->stop)
			continue;
		/* Empty blocks are never shipped, never listed. */
		if (m->num_samples == 0) {
			slog(LOG_DEBUG, "empty block not shipped", "tenant=%s block=%s",
			    log_q(tenant), m->ulid);
			continue;
		}
		if (ensure_bucket_tenant(cfg, tenant, bdir) == -1) {
			res->failed++;
			break;
		}
		if (ship_block(cfg, tenant, ldir, bdir, m, res) == 0)
			shipper_state_add(&cur, m->ulid);
	}
	if (!shipper_state_equal(&old, &cur) &&
	    shipper_state_write(ldir, &cur, &e) == -1) {
		slog(LOG_ERROR, "cannot write the shipper state", "tenant=%s err=%s",
		    log_q(tenant), log_q(e.msg));
		res->failed++;
	}
	for (size_t i = 0; i < lb.n; i++)
		meta_free(&lb.v[i]);
	free(lb.v);
	shipper_state_free(&old);
	shipper_state_free(&cur);
	free(ldir);
	free(bdir);
}

/* Every directory of the TSDB dir whose name is a valid tenant ID, sorted. */
static void
list_tenants(struct pass *p)
{
	struct dirent *de;
	struct err e;
	DIR *d;

	if ((d = opendir(p->cfg->tsdb_dir)) == NULL) {
		log_error("cannot list the TSDB directory", "dir=%s err=%s",
		    log_q(p->cfg->tsdb_dir), log_q(strerror(errno)));
		p->res->failed++;
		return;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, 0) == -1 || !S_ISDIR(st.st_mode))
			continue;
		if (tenant_validate(de->d_name, strlen(de->d_name), &e) == -1) {
			log_warn("directory skipped: not a valid tenant ID",
			    "dir=%s err=%s", log_q(de->d_name), log_q(e.msg));
			p->res->invalid++;
			continue;
		}
		p->tenants = xreallocarray(p->tenants, p->ntenants + 1, sizeof(char *));
		p->tenants[p->ntenants++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (p->ntenants > 1)
		qsort(p->tenants, p->ntenants, sizeof(char *), cmp_strs);
}

static void *
worker(void *arg)
{
	struct pass *p = arg;

	for (;;) {
		struct ship_result r;
		const char *tenant;

		memset(&r, 0, sizeof(r));
		pthread_mutex_lock(&p->mtx);
		tenant = p->next < p->ntenants && !*p->cfg->stop ?
		    p->tenants[p->next++] : NULL;
		pthread_mutex_unlock(&p->mtx);
		if (tenant == NULL)
			return NULL;
		sync_tenant(p->cfg, tenant, &r);
		pthread_mutex_lock(&p->mtx);
		p->res->shipped += r.shipped;
		p->res->found += r.found;
		p->res->failed += r.failed;
		p->res->invalid += r.invalid;
		p->res->bytes += r.bytes;
		pthread_mutex_unlock(&p->mtx);
	}
}

void
ship_pass(const struct ship_config *cfg, struct ship_result *res)
{
	struct pass p;
	pthread_t *th;
	size_t nth, started = 0;

	memset(res, 0, sizeof(*res));
	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	p.res = res;
	pthread_mutex_init(&p.mtx, NULL);
	list_tenants(&p);
	res->tenants = p.ntenants;
	nth = (size_t)cfg->concurrency < p.ntenants ? (size_t)cfg->concurrency :
	    p.ntenants;
	th = xcalloc(nth + 1, sizeof(*th));
	for (size_t i = 0; i < nth; i++) {
		int rc = pthread_create(&th[i], NULL, worker, &p);

		if (rc != 0) {
			slog(LOG_WARN, "cannot start a shipping thread", "err=%s",
			    log_q(strerror(rc)));
			break;
		}
		started++;
	}
	/* Without any thread, the pass still happens, in this one. */
	if (started == 0)
		worker(&p);
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	free(th);
	for (size_t i = 0; i < p.ntenants; i++)
		free(p.tenants[i]);
	free(p.tenants);
	pthread_mutex_destroy(&p.mtx);
}
