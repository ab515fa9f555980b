#include <sys/resource.h>

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base/metrics.h"
#include "lib/base/xmalloc.h"

#define METRICS_MAX_HOOKS	8

struct metric {
	struct metric_family	*fam;
	char			*values[METRICS_MAX_LABELS];
	_Atomic uint64_t	 v;		/* double bits; a histogram's count */
	_Atomic uint64_t	 sum;		/* histograms: double bits */
	_Atomic uint64_t	*buckets;	/* histograms: per bucket, not cumulative */
};

struct metric_family {
	enum metric_type	 type;
	const char		*name;
	const char		*help;
	const char		*labels[METRICS_MAX_LABELS];
	size_t			 nlabels;
	double			*bounds;
	size_t			 nbounds;
	struct metrics		*reg;
	struct metric		**series;
	size_t			 n;
	size_t			 cap;
};

struct metrics {
	pthread_mutex_t		 mu;
	struct metric_family	**fams;		/* sorted by name */
	size_t			 n;
	size_t			 cap;
	void			(*hook[METRICS_MAX_HOOKS])(void *);
	void			*hook_arg[METRICS_MAX_HOOKS];
	size_t			 nhooks;
};

static uint64_t	dbits(double);
static double	bitsd(uint64_t);
static void	atomic_add_double(_Atomic uint64_t *, double);
static void	metric_free(struct metric *);
static int	cmp_series(const void *, const void *);
static void	put_escaped(FILE *, const char *, int);
static void	put_float(FILE *, double);
static void	put_labels(FILE *, const struct metric *, const char *, double);
static int	write_family(FILE *, struct metric_family *);
static void	process_collect(void *);

static uint64_t
dbits(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	return u;
}

static double
bitsd(uint64_t u)
{
	double d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

static void
atomic_add_double(_Atomic uint64_t *p, double d)
{
	uint64_t old = atomic_load_explicit(p, memory_order_relaxed);

	while (!atomic_compare_exchange_weak_explicit(p, &old, dbits(bitsd(old) + d),
	    memory_order_relaxed, memory_order_relaxed))
		;
}

struct metrics *
metrics_create(void)
{
	struct metrics *m = xcalloc(1, sizeof(*m));

	pthread_mutex_init(&m->mu, NULL);
	return m;
}

static void
metric_free(struct metric *s)
{
	for (size_t i = 0; i < s->fam->nlabels; i++)
		free(s->values[i]);
	free(s->buckets);
	free(s);
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++) {
		struct metric_family *f = m->fams[i];

		for (size_t j = 0; j < f->n; j++)
			metric_free(f->series[j]);
		free(f->series);
		free(f->bounds);
		free(f);
	}
	free(m->fams);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

struct metric_family *
metrics_family(struct metrics *m, enum metric_type type, const char *name,
    const char *help, const char *const *label_names, const double *buckets,
    size_t nbuckets)
{
	struct metric_family *f;
	size_t at;

	pthread_mutex_lock(&m->mu);
	for (at = 0; at < m->n; at++) {
		int c = strcmp(m->fams[at]->name, name);

		if (c == 0) {
			f = m->fams[at];
			pthread_mutex_unlock(&m->mu);
			return f;
		}
		if (c > 0)
			break;
	}
	f = xcalloc(1, sizeof(*f));
	f->type = type;
	f->name = name;
	f->help = help;
	f->reg = m;
	for (; label_names != NULL && label_names[f->nlabels] != NULL &&
	    f->nlabels < METRICS_MAX_LABELS; f->nlabels++)
		f->labels[f->nlabels] = label_names[f->nlabels];
	if (type == METRIC_HISTOGRAM && nbuckets > 0) {
		f->bounds = xmemdup(buckets, nbuckets * sizeof(*buckets));
		f->nbounds = nbuckets;
	}
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 32;
		m->fams = xreallocarray(m->fams, m->cap, sizeof(*m->fams));
	}
	memmove(m->fams + at + 1, m->fams + at, (m->n - at) * sizeof(*m->fams));
	m->fams[at] = f;
	m->n++;
	pthread_mutex_unlock(&m->mu);
	return f;
}

struct metric *
metric_get(struct metric_family *f, const char *const *values)
{
	struct metric *s;

	pthread_mutex_lock(&f->reg->mu);
	for (size_t i = 0; i < f->n; i++) {
		size_t k;

		s = f->series[i];
		for (k = 0; k < f->nlabels; k++)
			if (strcmp(s->values[k], values[k]) != 0)
				break;
		if (k == f->nlabels) {
			pthread_mutex_unlock(&f->reg->mu);
			return s;
		}
	}
	s = xcalloc(1, sizeof(*s));
	s->fam = f;
	for (size_t k = 0; k < f->nlabels; k++)
		s->values[k] = xstrdup(values[k]);
	if (f->type == METRIC_HISTOGRAM)
		s->buckets = xcalloc(f->nbounds + 1, sizeof(*s->buckets));
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 8;
		f->series = xreallocarray(f->series, f->cap, sizeof(*f->series));
	}
	f->series[f->n++] = s;
	pthread_mutex_unlock(&f->reg->mu);
	return s;
}

struct metric *
metric_with(struct metric_family *f, ...)
{
	const char *v[METRICS_MAX_LABELS];
	va_list ap;

	va_start(ap, f);
	for (size_t i = 0; i < f->nlabels; i++)
		v[i] = va_arg(ap, const char *);
	va_end(ap);
	return metric_get(f, v);
}

void
metric_add(struct metric *s, double d)
{
	atomic_add_double(&s->v, d);
}

void
metric_inc(struct metric *s)
{
	atomic_add_double(&s->v, 1);
}

void
metric_set(struct metric *s, double d)
{
	atomic_store_explicit(&s->v, dbits(d), memory_order_relaxed);
}

void
metric_observe(struct metric *s, double d)
{
	const struct metric_family *f = s->fam;
	size_t i = 0;

	/* Buckets are few (a dozen): a scan beats a search. */
	while (i < f->nbounds && d > f->bounds[i])
		i++;
	atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
	atomic_add_double(&s->sum, d);
	atomic_fetch_add_explicit(&s->v, 1, memory_order_relaxed);
}

double
metric_value(const struct metric *s)
{
	uint64_t u = atomic_load_explicit(&s->v, memory_order_relaxed);

	return s->fam->type == METRIC_HISTOGRAM ? (double)u : bitsd(u);
}

void
metrics_remove_label(struct metrics *m, const char *name, const char *value)
{
	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; i < m->n; i++) {
		struct metric_family *f = m->fams[i];
		size_t k, keep = 0;

		for (k = 0; k < f->nlabels; k++)
			if (strcmp(f->labels[k], name) == 0)
				break;
		if (k == f->nlabels)
			continue;
		for (size_t j = 0; j < f->n; j++) {
			if (strcmp(f->series[j]->values[k], value) == 0)
				metric_free(f->series[j]);
			else
				f->series[keep++] = f->series[j];
		}
		f->n = keep;
	}
	pthread_mutex_unlock(&m->mu);
}

void
metrics_on_collect(struct metrics *m, void (*fn)(void *), void *arg)
{
	pthread_mutex_lock(&m->mu);
	if (m->nhooks < METRICS_MAX_HOOKS) {
		m->hook[m->nhooks] = fn;
		m->hook_arg[m->nhooks++] = arg;
	}
	pthread_mutex_unlock(&m->mu);
}

/*
 * Go's shortest 'g': the fewest significant digits that read back as the
 * same double, printed as %e when the decimal exponent is < -4 or >= 6
 * (Go decides with precision 6 in shortest mode), else as plain decimals.
 */
size_t
metrics_format_float(char *out, size_t cap, double v)
{
	char tmp[40], digits[24];
	const char *p;
	size_t nd = 0, o = 0;
	int exp, prec;

	if (isnan(v))
		return (size_t)snprintf(out, cap, "NaN");
	if (isinf(v))
		return (size_t)snprintf(out, cap, "%s", v > 0 ? "+Inf" : "-Inf");
	if (v == 0)
		return (size_t)snprintf(out, cap, "%s", signbit(v) ? "-0" : "0");
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	p = tmp;
	if (*p == '-')
		p++;
	for (; *p != 'e'; p++)
		if (*p != '.')
			digits[nd++] = *p;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	exp = atoi(p + 1);
#define PUT(c) do { if (o + 1 < cap) out[o] = (c); o++; } while (0)
	if (v < 0)
		PUT('-');
	if (exp < -4 || exp >= 6) {
		PUT(digits[0]);
		if (nd > 1) {
			PUT('.');
			for (size_t i = 1; i < nd; i++)
				PUT(digits[i]);
		}
		o += (size_t)snprintf(o < cap ? out + o : NULL, o < cap ? cap - o : 0,
		    "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
	} else if (exp >= 0) {
		for (int i = 0; i <= exp; i++)
			PUT((size_t)i < nd ? digits[i] : '0');
		if (nd > (size_t)exp + 1) {
			PUT('.');
			for (size_t i = (size_t)exp + 1; i < nd; i++)
				PUT(digits[i]);
		}
	} else {
		PUT('0');
		PUT('.');
		for (int i = 0; i < -exp - 1; i++)
			PUT('0');
		for (size_t i = 0; i < nd; i++)
			PUT(digits[i]);
	}
#undef PUT
	if (cap > 0)
		out[o < cap ? o : cap - 1] = '\0';
	return o;
}

/* client_golang's writeFloat: 0, 1 and -1 special-cased, the rest as Go's 'g'. */
static void
put_float(FILE *fp, double v)
{
	char b[40];

	if (v == 0)
		fputc('0', fp);
	else {
		metrics_format_float(b, sizeof(b), v);
		fputs(b, fp);
	}
}

/* Label values escape \, " and newline; HELP text only \ and newline. */
static void
put_escaped(FILE *fp, const char *s, int quote)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\\\", fp);
		else if (*s == '\n')
			fputs("\\n", fp);
		else if (*s == '"' && quote)
			fputs("\\\"", fp);
		else
			fputc(*s, fp);
	}
}

/* {a="x",b="y"} plus le for a bucket (le_name NULL: none). */
static void
put_labels(FILE *fp, const struct metric *s, const char *le_name, double le)
{
	const struct metric_family *f = s->fam;

	if (f->nlabels == 0 && le_name == NULL)
		return;
	fputc('{', fp);
	for (size_t i = 0; i < f->nlabels; i++) {
		if (i > 0)
			fputc(',', fp);
		fprintf(fp, "%s=\"", f->labels[i]);
		put_escaped(fp, s->values[i], 1);
		fputc('"', fp);
	}
	if (le_name != NULL) {
		if (f->nlabels > 0)
			fputc(',', fp);
		fprintf(fp, "%s=\"", le_name);
		put_float(fp, le);
		fputc('"', fp);
	}
	fputc('}', fp);
}

static int
cmp_series(const void *a, const void *b)
{
	const struct metric *x = *(struct metric *const *)a, *y = *(struct metric *const *)b;

	for (size_t i = 0; i < x->fam->nlabels; i++) {
		int c = strcmp(x->values[i], y->values[i]);

		if (c != 0)
			return c;
	}
	return 0;
}

static int
write_family(FILE *fp, struct metric_family *f)
{
	static const char *const type_names[] = {
		[METRIC_COUNTER] = "counter", [METRIC_GAUGE] = "gauge",
		[METRIC_HISTOGRAM] = "histogram",
	};

	/* client_golang leaves out families with no series. */
	if (f->n == 0)
		return 0;
	qsort(f->series, f->n, sizeof(*f->series), cmp_series);
	fprintf(fp, "# HELP %s ", f->name);
	put_escaped(fp, f->help, 0);
	fprintf(fp, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
	for (size_t i = 0; i < f->n; i++) {
		struct metric *s = f->series[i];
		uint64_t cum = 0;

		if (f->type != METRIC_HISTOGRAM) {
			fputs(f->name, fp);
			put_labels(fp, s, NULL, 0);
			fputc(' ', fp);
			put_float(fp, metric_value(s));
			fputc('\n', fp);
			continue;
		}
		for (size_t b = 0; b <= f->nbounds; b++) {
			cum += atomic_load_explicit(&s->buckets[b], memory_order_relaxed);
			fprintf(fp, "%s_bucket", f->name);
			put_labels(fp, s, "le", b < f->nbounds ? f->bounds[b] : INFINITY);
			fprintf(fp, " %llu\n", (unsigned long long)cum);
		}
		fprintf(fp, "%s_sum", f->name);
		put_labels(fp, s, NULL, 0);
		fputc(' ', fp);
		put_float(fp, bitsd(atomic_load_explicit(&s->sum, memory_order_relaxed)));
		fprintf(fp, "\n%s_count", f->name);
		put_labels(fp, s, NULL, 0);
		/* The count after the buckets were read: never less than +Inf's. */
		fprintf(fp, " %llu\n", (unsigned long long)cum);
	}
	return 0;
}

int
metrics_write(struct metrics *m, FILE *fp)
{
	size_t nhooks;

	pthread_mutex_lock(&m->mu);
	nhooks = m->nhooks;
	pthread_mutex_unlock(&m->mu);
	for (size_t i = 0; i < nhooks; i++)
		m->hook[i](m->hook_arg[i]);
	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; i < m->n; i++)
		write_family(fp, m->fams[i]);
	pthread_mutex_unlock(&m->mu);
	return ferror(fp) ? -1 : 0;
}

/*
 * Process metrics.
 */

struct process_metrics {
	struct metric	*cpu;
	struct metric	*rss;
	struct metric	*vsize;
	struct metric	*fds;
	struct metric	*maxfds;
	struct metric	*start;
};

static void
process_collect(void *arg)
{
	struct process_metrics *pm = arg;
	unsigned long long utime, stime, start, vsize;
	long long rss;
	char buf[1024], *p;
	double ticks = (double)sysconf(_SC_CLK_TCK), btime = 0;
	struct rlimit rl;
	FILE *fp;
	DIR *d;
	size_t n;

	if ((fp = fopen("/proc/self/stat", "r")) != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, fp);
		buf[n] = '\0';
		fclose(fp);
		/* Fields after the command name, which may hold spaces: state is field 3. */
		if ((p = strrchr(buf, ')')) != NULL && sscanf(p + 2,
		    "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
		    "%*d %*d %llu %llu %lld", &utime, &stime, &start, &vsize, &rss) == 5) {
			metric_set(pm->cpu, (double)(utime + stime) / ticks);
			metric_set(pm->vsize, (double)vsize);
			metric_set(pm->rss, (double)rss * (double)sysconf(_SC_PAGESIZE));
			if ((fp = fopen("/proc/stat", "r")) != NULL) {
				while (fgets(buf, sizeof(buf), fp) != NULL)
					if (strncmp(buf, "btime ", 6) == 0)
						btime = strtod(buf + 6, NULL);
				fclose(fp);
			}
			metric_set(pm->start, btime + (double)start / ticks);
		}
	}
	if ((d = opendir("/proc/self/fd")) != NULL) {
		n = 0;
		while (readdir(d) != NULL)
			n++;
		closedir(d);
		/* ".", ".." and the directory's own descriptor. */
		metric_set(pm->fds, (double)(n > 3 ? n - 3 : 0));
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		metric_set(pm->maxfds, (double)rl.rlim_cur);
}

void
metrics_add_process(struct metrics *m)
{
	static struct process_metrics pm;

	pm.cpu = metric_with(metrics_family(m, METRIC_COUNTER, "process_cpu_seconds_total",
	    "Total user and system CPU time spent in seconds.", NULL, NULL, 0));
	pm.rss = metric_with(metrics_family(m, METRIC_GAUGE, "process_resident_memory_bytes",
	    "Resident memory size in bytes.", NULL, NULL, 0));
	pm.vsize = metric_with(metrics_family(m, METRIC_GAUGE, "process_virtual_memory_bytes",
	    "Virtual memory size in bytes.", NULL, NULL, 0));
	pm.fds = metric_with(metrics_family(m, METRIC_GAUGE, "process_open_fds",
	    "Number of open file descriptors.", NULL, NULL, 0));
	pm.maxfds = metric_with(metrics_family(m, METRIC_GAUGE, "process_max_fds",
	    "Maximum number of open file descriptors.", NULL, NULL, 0));
	pm.start = metric_with(metrics_family(m, METRIC_GAUGE, "process_start_time_seconds",
	    "Start time of the process since unix epoch in seconds.", NULL, NULL, 0));
	metrics_on_collect(m, process_collect, &pm);
}
