#include <sys/stat.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/fileutil.h"
#include "lib/base/log.h"
#include "lib/base/xmalloc.h"
#include "lib/ingest/tenants.h"
#include "lib/rw/validate.h"

struct tenants {
	char			*dir;
	struct tenant_opts	 opts;
	struct tenant_metrics	 m;
	struct tenant		**v;		/* sorted by ID */
	size_t			 n;
	size_t			 cap;
};

static int	id_cmp(const char *, size_t, const char *);
static size_t	find(const struct tenants *, const char *, size_t, int *);
static void	insert(struct tenants *, size_t, struct tenant *);
static int	name_cmp(const void *, const void *);

struct tenants *
tenants_create(const char *dir, const struct tenant_opts *o, struct metrics *m)
{
	struct tenants *ts = xcalloc(1, sizeof(*ts));

	ts->dir = xstrdup(dir);
	ts->opts = *o;
	tenant_metrics_init(&ts->m, m);
	return ts;
}

struct tenant_metrics *
tenants_metrics(struct tenants *ts)
{
	return &ts->m;
}

/* Byte order of id[0..n) against a NUL-terminated s, as strcmp. */
static int
id_cmp(const char *id, size_t n, const char *s)
{
	size_t sl = strlen(s);
	int c = memcmp(id, s, n < sl ? n : sl);

	if (c != 0)
		return c;
	return n < sl ? -1 : n > sl;
}

/* The position of id, or where it goes; *found says which. */
static size_t
find(const struct tenants *ts, const char *id, size_t n, int *found)
{
	size_t lo = 0, hi = ts->n;

	*found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = id_cmp(id, n, tenant_id(ts->v[mid]));

		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static void
insert(struct tenants *ts, size_t at, struct tenant *t)
{
	if (ts->n == ts->cap) {
		ts->cap = ts->cap ? ts->cap * 2 : 16;
		ts->v = xreallocarray(ts->v, ts->cap, sizeof(*ts->v));
	}
	memmove(ts->v + at + 1, ts->v + at, (ts->n - at) * sizeof(*ts->v));
	ts->v[at] = t;
	ts->n++;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
tenants_open_all(struct tenants *ts, volatile int *stop, volatile int *done, int *total,
    struct err *e)
{
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	int rc = 0;
	DIR *d;

	if ((d = opendir(ts->dir)) == NULL)
		return err_errno(e, "open %s", ts->dir);
	while ((de = readdir(d)) != NULL) {
		char path[PATH_MAX];
		struct err ve;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", ts->dir, de->d_name);
		if (!path_is_dir(path))
			continue;
		if (tenant_validate(de->d_name, strlen(de->d_name), &ve) == -1) {
			log_warn("skipping a directory that is not a tenant", "dir=%s err=%s",
			    log_q(path), log_q(ve.msg));
			continue;
		}
		names = xreallocarray(names, n + 1, sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), name_cmp);
	*total = (int)n;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct tenant *t;
		int found;
		size_t at;

		if ((t = tenant_open(ts->dir, names[i], &ts->opts, &ts->m, stop, e)) == NULL) {
			rc = err_wrap(e, "open tenant %s", names[i]);
			break;
		}
		at = find(ts, names[i], strlen(names[i]), &found);
		insert(ts, at, t);
		(*done)++;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

struct tenant *
tenants_get(struct tenants *ts, const char *id, size_t n, int create, int *invalid,
    struct err *e)
{
	struct tenant *t;
	char *name;
	size_t at;
	int found;

	*invalid = 0;
	at = find(ts, id, n, &found);
	if (found)
		return ts->v[at];
	/* The empty ID is the caller's 401; every other rule is Cortex's. */
	if (n == 0 || tenant_validate(id, n, e) == -1) {
		if (n == 0)
			err_set(e, "no org id");
		*invalid = 1;
		return NULL;
	}
	if (!create)
		return NULL;
	name = xmalloc(n + 1);
	memcpy(name, id, n);
	name[n] = '\0';
	t = tenant_open(ts->dir, name, &ts->opts, &ts->m, NULL, e);
	if (t != NULL) {
		log_info("tenant created", "user=%s", log_q(name));
		insert(ts, at, t);
	}
	free(name);
	return t;
}

size_t
tenants_count(const struct tenants *ts)
{
	return ts->n;
}

struct tenant *
tenants_at(const struct tenants *ts, size_t i)
{
	return i < ts->n ? ts->v[i] : NULL;
}

int
tenants_close_all(struct tenants *ts, struct err *e)
{
	int rc = 0;

	for (size_t i = 0; i < ts->n; i++) {
		struct err ce;

		if (tenant_close(ts->v[i], &ce) == -1 && rc == 0) {
			*e = ce;
			rc = -1;
		}
	}
	ts->n = 0;
	return rc;
}

void
tenants_free(struct tenants *ts)
{
	if (ts == NULL)
		return;
	for (size_t i = 0; i < ts->n; i++)
		tenant_close(ts->v[i], NULL);
	free(ts->v);
	free(ts->dir);
	free(ts);
}
