/*
 * tenants — the tenants of one tsdb-head: one struct tenant per
 * <tsdb-dir>/<tenant>/, all opened (and their WALs replayed) at startup,
 * new ones created lazily on a tenant's first push, as Cortex's ingester
 * creates a TSDB per user.
 *
 * Threading: one thread at a time (tenants_open_all runs before the
 * event loop serves tenants).
 */
#ifndef RINGTAIL_TENANTS_H
#define RINGTAIL_TENANTS_H

#include <stddef.h>

#include "lib/base/err.h"
#include "lib/base/metrics.h"
#include "lib/ingest/tenant.h"

struct tenants;

/* dir must exist; the options and metrics are shared by every tenant. */
struct tenants	*tenants_create(const char *dir, const struct tenant_opts *, struct metrics *);
/*
 * Open every subdirectory of dir whose name is a valid tenant ID, in
 * name order (others are skipped with a warning). *done counts the tenants
 * opened so far (for /ready); *stop interrupts. Fails at the first tenant
 * that cannot be opened. 0 or -1.
 */
int		 tenants_open_all(struct tenants *, volatile int *stop,
		    volatile int *done, int *total, struct err *);
/*
 * The tenant named id[0..n): validated first (Cortex's rules and texts;
 * -1 with *invalid = 1), then looked up, then (create != 0) opened. With
 * create == 0 a missing tenant is NULL with *invalid = 0 and no error.
 */
struct tenant	*tenants_get(struct tenants *, const char *id, size_t n, int create,
		    int *invalid, struct err *);
size_t		 tenants_count(const struct tenants *);
/* The i-th tenant, in name order; NULL past the end. */
struct tenant	*tenants_at(const struct tenants *, size_t i);
/* Close every tenant (WALs flushed and fsynced); 0, or -1 with the first error. */
int		 tenants_close_all(struct tenants *, struct err *);
void		 tenants_free(struct tenants *);
struct tenant_metrics *tenants_metrics(struct tenants *);

#endif
