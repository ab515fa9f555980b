/*
 * metrics — counters, gauges and histograms with labels, exposed in the
 * Prometheus text format (version 0.0.4) as client_golang writes it:
 * families sorted by name, each with its HELP and TYPE lines, series
 * sorted by label values, numbers in Go's shortest 'g' form ("1e+06",
 * "+Inf", "NaN"), histograms as cumulative _bucket{le=...}, _sum, _count.
 *
 * Threads: values change with atomic operations, so any thread may add,
 * set or observe; creating a series and writing the exposition take the
 * registry's lock. Hot paths look a series up once and keep the pointer.
 *
 * Lifetimes: families live as long as the registry; a series lives until
 * metrics_remove_label drops it (callers must forget their pointer then).
 */
#ifndef RINGTAIL_METRICS_H
#define RINGTAIL_METRICS_H

#include <stddef.h>
#include <stdio.h>

enum metric_type {
	METRIC_COUNTER,
	METRIC_GAUGE,
	METRIC_HISTOGRAM,
};

#define METRICS_MAX_LABELS	8

struct metrics;
struct metric_family;
struct metric;

struct metrics	*metrics_create(void);
void		 metrics_free(struct metrics *);

/*
 * Register a family. label_names is NULL-terminated (NULL: no labels, at
 * most METRICS_MAX_LABELS); buckets are a histogram's upper bounds,
 * ascending, without +Inf (ignored for the other types). The strings must
 * outlive the registry (literals). Registering a name twice returns the
 * first family.
 */
struct metric_family *metrics_family(struct metrics *, enum metric_type,
	    const char *name, const char *help, const char *const *label_names,
	    const double *buckets, size_t nbuckets);

/*
 * The series with these label values, one per label name of the family,
 * created at zero on first use; the values are copied.
 */
struct metric	*metric_get(struct metric_family *, const char *const *values);
/* The same with the values as arguments: metric_with(f, "user1", "sample-out-of-order"). */
struct metric	*metric_with(struct metric_family *, ...);

void	 metric_add(struct metric *, double);
void	 metric_inc(struct metric *);
void	 metric_set(struct metric *, double);
/* Histograms: count v in its bucket, add it to the sum. */
void	 metric_observe(struct metric *, double v);
/* A counter's or gauge's value; a histogram's count. */
double	 metric_value(const struct metric *);

/* Drop every series that has label `name` = `value` (a tenant that went away). */
void	 metrics_remove_label(struct metrics *, const char *name, const char *value);

/*
 * fn runs (under no lock) at the start of every metrics_write, to refresh
 * gauges computed from state, such as memory in use. At most 8 hooks.
 */
void	 metrics_on_collect(struct metrics *, void (*fn)(void *), void *arg);

/* Write the exposition; returns 0, or -1 when fp reports an error. */
int	 metrics_write(struct metrics *, FILE *fp);

/* Go's strconv.FormatFloat(v, 'g', -1, 64) with "+Inf"; returns the length. */
size_t	 metrics_format_float(char *out, size_t cap, double v);

/*
 * Process metrics as client_golang's process collector names them
 * (process_cpu_seconds_total, process_resident_memory_bytes,
 * process_virtual_memory_bytes, process_open_fds, process_max_fds,
 * process_start_time_seconds), read from /proc at each write.
 */
void	 metrics_add_process(struct metrics *);

#endif
