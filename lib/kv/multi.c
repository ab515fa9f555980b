/*
 * multi — -ring.store=multi (dskit kv/multi.go; specs/ring-kv.md §11):
 * two stores, one primary. A migration runs: mirror on, so every ring
 * write also lands in the secondary; then the runtime config names the new
 * primary, and readers and writers move over without a restart; then the
 * old store can go.
 */
#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>

#include "lib/base/clock.h"
#include "lib/base/config.h"
#include "lib/base/fileutil.h"
#include "lib/base/log.h"
#include "lib/base/metrics.h"
#include "lib/base/xmalloc.h"
#include "lib/kv/backend.h"

struct multi {
	struct kv_backend	 kb;
	struct kv_backend	*store[2];
	int			 primary;	/* index into store */
	int			 mirror;
	struct kv_multi_config	 cfg;
	char			*kv_name;

	/* The runtime config file, as last read. */
	int64_t			 checked_ms;
	struct timespec		 mtime;
	off_t			 size;

	/* The watch to move to a new primary. */
	char			*watch_key;
	int			 watch_prefix;
	int			 watch_broken;

	struct metric		*primary_gauge[2];
	struct metric		*mirror_gauge;
	struct metric		*mirror_writes;
	struct metric		*mirror_errors;
};

static void
publish(struct multi *m)
{
	if (m->mirror_gauge == NULL)
		return;
	for (int i = 0; i < 2; i++)
		metric_set(m->primary_gauge[i], i == m->primary);
	metric_set(m->mirror_gauge, m->mirror);
}

static void
switch_primary(struct multi *m, int to)
{
	struct err e;

	if (to == m->primary)
		return;
	log_info("multi KV: primary store switched", "kv_name=%s from=%s to=%s", m->kv_name,
	    m->store[m->primary]->name, m->store[to]->name);
	m->primary = to;
	if (m->watch_key == NULL)
		return;
	m->watch_broken = m->store[to]->ops->watch(m->store[to], m->watch_key,
	    m->watch_prefix, &e) == -1;
	if (m->watch_broken)
		log_warn("multi KV: cannot watch on the new primary", "kv_name=%s err=%s",
		    m->kv_name, log_q(e.msg));
}

/* Apply the runtime config's multi_kv_config section. */
static void
apply_runtime(struct multi *m, const char *text, size_t len)
{
	const char *primary = "";
	int mirror = m->mirror;
	const struct flag tbl[] = {
		{ "primary", FLAG_STRING, &primary, NULL, "" },
		{ "mirror-enabled", FLAG_BOOL, &mirror, NULL, "" },
		{ NULL, 0, NULL, NULL, NULL },
	};
	const struct config_key keys[] = {
		{ "primary", "multi_kv_config.primary" },
		{ "mirror-enabled", "multi_kv_config.mirror_enabled" },
		{ NULL, NULL },
	};
	struct config *cfg = NULL;
	struct err e;

	if (config_apply(&cfg, m->cfg.runtime_config_file, text, len, tbl, keys, NULL, &e) == -1) {
		log_warn("multi KV: runtime config not applied", "err=%s", log_q(e.msg));
		config_free(cfg);
		return;
	}
	if (*primary != '\0') {
		int to = -1;

		for (int i = 0; i < 2; i++)
			if (strcmp(primary, m->store[i]->name) == 0)
				to = i;
		if (to == -1)
			log_warn("multi KV: runtime config names an unknown primary",
			    "primary=%s stores=%s,%s", log_q(primary), m->store[0]->name,
			    m->store[1]->name);
		else
			switch_primary(m, to);
	}
	if (mirror != m->mirror) {
		log_info("multi KV: mirroring changed", "kv_name=%s enabled=%s", m->kv_name,
		    mirror ? "true" : "false");
		m->mirror = mirror;
	}
	config_free(cfg);
	publish(m);
}

/* Re-read the runtime config when its period has passed and the file changed. */
static void
reload(struct multi *m)
{
	const char *path = m->cfg.runtime_config_file;
	int64_t now = clock_mono_ms();
	struct stat st;
	char *text;
	size_t len;
	struct err e;

	if (path == NULL || *path == '\0')
		return;
	if (m->checked_ms != 0 && now - m->checked_ms < m->cfg.runtime_config_period_ms)
		return;
	m->checked_ms = now;
	if (stat(path, &st) == -1)
		return;
	if (st.st_mtim.tv_sec == m->mtime.tv_sec && st.st_mtim.tv_nsec == m->mtime.tv_nsec &&
	    st.st_size == m->size)
		return;
	if (file_read_all(path, &text, &len, &e) == -1) {
		log_warn("multi KV: cannot read the runtime config", "err=%s", log_q(e.msg));
		return;
	}
	m->mtime = st.st_mtim;
	m->size = st.st_size;
	apply_runtime(m, text, len);
	free(text);
}

static struct kv_backend *
primary(struct multi *m)
{
	reload(m);
	return m->store[m->primary];
}

static int
multi_get(struct kv_backend *kb, const char *key, struct ring_desc *d, struct err *e)
{
	struct kv_backend *p = primary((struct multi *)kb);

	return p->ops->get(p, key, d, e);
}

/* As dskit's: the primary only, never mirrored. */
static int
multi_delete(struct kv_backend *kb, const char *key, struct err *e)
{
	struct kv_backend *p = primary((struct multi *)kb);

	return p->ops->del(p, key, e);
}

struct cas_tap {
	kv_cas_fn		 fn;
	void			*arg;
	struct ring_desc	 written;
	int			 wrote;
};

/* The caller's callback, keeping what it asked to store. */
static int
tap(struct ring_desc *d, int found, void *arg, struct err *e)
{
	struct cas_tap *t = arg;
	int rc = t->fn(d, found, t->arg, e);

	t->wrote = rc == 1;
	if (t->wrote) {
		ring_desc_free(&t->written);
		ring_desc_clone(&t->written, d);
	}
	return rc;
}

static int
replace(struct ring_desc *d, int found, void *arg, struct err *e)
{
	ring_desc_free(d);
	ring_desc_clone(d, arg);
	return 1;
}

static void
mirror_write(struct multi *m, const char *key, struct ring_desc *value)
{
	struct kv_backend *s = m->store[!m->primary];
	int64_t t0 = clock_mono_ms();
	struct err e;
	int rc;

	if (m->mirror_writes != NULL)
		metric_inc(m->mirror_writes);
	rc = s->ops->cas(s, key, replace, value, &e);
	if (rc == 0 && clock_mono_ms() - t0 > m->cfg.mirror_timeout_ms) {
		err_set(&e, "took longer than the mirror timeout");
		rc = -1;
	}
	if (rc == -1) {
		if (m->mirror_errors != NULL)
			metric_inc(m->mirror_errors);
		log_warn("multi KV: mirror write failed", "kv_name=%s store=%s key=%s err=%s",
		    m->kv_name, s->name, log_q(key), log_q(e.msg));
	}
}

static int
multi_cas(struct kv_backend *kb, const char *key, kv_cas_fn fn, void *arg, struct err *e)
{
	struct multi *m = (struct multi *)kb;
	struct kv_backend *p = primary(m);
	struct cas_tap t = { fn, arg, { 0 }, 0 };
	int rc;

	ring_desc_init(&t.written);
	rc = p->ops->cas(p, key, tap, &t, e);
	if (rc == 0 && t.wrote && m->mirror)
		mirror_write(m, key, &t.written);
	ring_desc_free(&t.written);
	return rc;
}

static int
multi_watch(struct kv_backend *kb, const char *key, int prefix, struct err *e)
{
	struct multi *m = (struct multi *)kb;
	struct kv_backend *p = primary(m);

	free(m->watch_key);
	m->watch_key = xstrdup(key);
	m->watch_prefix = prefix;
	m->watch_broken = 0;
	return p->ops->watch(p, key, prefix, e);
}

static int
multi_next(struct kv_backend *kb, int timeout_ms, char **key, struct ring_desc *d,
    struct err *e)
{
	struct multi *m = (struct multi *)kb;
	struct kv_backend *p;
	int64_t until = clock_mono_ms() + timeout_ms;
	int rc;

	/* Waits in slices, so a switch of the primary is seen while waiting. */
	for (;;) {
		int64_t left = until - clock_mono_ms();
		int slice;

		p = primary(m);
		if (m->watch_broken)
			return err_set(e, "the watch could not move to the new primary %s", p->name);
		if (left <= 0)
			return 0;
		slice = (int)(left < 1000 ? left : 1000);
		if ((rc = p->ops->next(p, slice, key, d, e)) != 0)
			return rc;
	}
}

static void
multi_close(struct kv_backend *kb)
{
	struct multi *m = (struct multi *)kb;

	for (int i = 0; i < 2; i++)
		m->store[i]->ops->close(m->store[i]);
	free(m->watch_key);
	free(m->kv_name);
	free(m);
}

static const struct kv_backend_ops multi_ops = {
	multi_get, multi_cas, multi_delete, multi_watch, multi_next, multi_close,
};

static void
register_metrics(struct multi *m, struct metrics *reg)
{
	static const char *const by_name[] = { "kv_name", NULL };
	static const char *const by_store[] = { "kv_name", "store", NULL };
	struct metric_family *f;

	f = metrics_family(reg, METRIC_GAUGE, "cortex_multikv_primary_store",
	    "Selected primary KV store: 1 for the primary, 0 for the other", by_store, NULL, 0);
	for (int i = 0; i < 2; i++)
		m->primary_gauge[i] = metric_with(f, m->kv_name, m->store[i]->name);
	m->mirror_gauge = metric_with(metrics_family(reg, METRIC_GAUGE,
	    "cortex_multikv_mirror_enabled", "Is mirroring to the secondary store enabled",
	    by_name, NULL, 0), m->kv_name);
	m->mirror_writes = metric_with(metrics_family(reg, METRIC_COUNTER,
	    "cortex_multikv_mirror_writes_total", "Number of mirror writes to the secondary store",
	    by_name, NULL, 0), m->kv_name);
	m->mirror_errors = metric_with(metrics_family(reg, METRIC_COUNTER,
	    "cortex_multikv_mirror_write_errors_total",
	    "Number of failures to mirror a write to the secondary store", by_name, NULL, 0),
	    m->kv_name);
}

struct kv_backend *
kv_multi_open(struct kv_backend *first, struct kv_backend *second,
    const struct kv_multi_config *cfg, struct metrics *reg, const char *kv_name)
{
	struct multi *m = xcalloc(1, sizeof(*m));

	m->kb.ops = &multi_ops;
	m->kb.name = "multi";
	m->store[0] = first;
	m->store[1] = second;
	m->cfg = *cfg;
	m->mirror = cfg->mirror_enabled;
	m->kv_name = xstrdup(kv_name);
	if (reg != NULL)
		register_metrics(m, reg);
	publish(m);
	reload(m);
	return &m->kb;
}
