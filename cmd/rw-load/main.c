/*
 * rw-load — pushes Prometheus remote-write 1.0 at a target or maximum rate
 * with node_exporter-like series, then prints samples/s, errors by status
 * and latency percentiles; see rw-load(1).
 *
 *   main.c   flags, worker threads, pacing, statistics, the report
 *   gen.c    the series catalog and the TimeSeries encoder
 *   http.c   the keep-alive HTTP/1.1 client
 *
 * Worker w owns the slots w, w+C, w+2C, ... and sends them round after
 * round, each round at one timestamp later than the last, so every
 * series' samples go out in time order on one connection.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/base/clock.h"
#include "lib/base/duration.h"
#include "lib/base/flags.h"
#include "lib/base/log.h"
#include "lib/base/sigstop.h"
#include "lib/base/xmalloc.h"
#include "lib/rw/remote_write.h"
#include "cmd/rw-load/load.h"

#define USAGE		"rw-load [-url URL] [-series N] [-rate N] [-batch N] " \
			"[-concurrency N] [-churn F] [-duration D] [-tenant ID] [-json]"
#define NSTATUS		600
#define PROGRESS_MS	10000
#define MAX_AHEAD_MS	1000	/* how far a round's timestamp may run ahead of the clock */
#define LOGGED_ERRORS	5

/* Latency histogram: exact below 128us, then 64 buckets per power of two (<1.6% error). */
#define HIST_LINEAR	128
#define HIST_SUB	64
#define HIST_BUCKETS	(HIST_LINEAR + 40 * HIST_SUB)

struct run {
	struct gen		 gen;
	struct http_target	 target;
	const char		*tenant;
	size_t			 batch;
	size_t			 concurrency;
	double			 rate_per_worker;	/* samples/s; 0 = as fast as possible */
	int64_t			 start_ns;
	int64_t			 deadline_ns;		/* 0 = none */
	int64_t			 timeout_ms;
};

struct pending {
	size_t		 cursor;
	uint32_t	 old;
};

struct worker {
	pthread_t		 th;
	size_t			 id;
	const struct run	*run;
	struct http_conn	 conn;
	struct buf		 pb;
	struct buf		 body;
	size_t			 nslots;
	size_t			 cursor;
	uint32_t		*lastgen;	/* generation + 1 last accepted; 0 = never */
	struct pending		*pend;
	size_t			 npend;
	uint64_t		 round;
	int64_t			 round_ts;
	/* Read by the progress logger while the worker runs: atomics. */
	uint64_t		 samples_sent;
	uint64_t		 samples_ok;
	uint64_t		 requests;
	uint64_t		 errors;
	uint64_t		 series_created;
	uint64_t		 conn_errors;
	uint64_t		 status[NSTATUS];
	uint64_t		 hist[HIST_BUCKETS];
};

static volatile sig_atomic_t *stop;
static int logged_errors;
static pthread_mutex_t log_mtx = PTHREAD_MUTEX_INITIALIZER;

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
sleep_ns(int64_t ns)
{
	struct timespec ts;

	if (ns <= 0)
		return;
	ts.tv_sec = ns / 1000000000;
	ts.tv_nsec = ns % 1000000000;
	nanosleep(&ts, NULL);
}

static size_t
hist_index(uint64_t us)
{
	int msb, shift;
	size_t i;

	if (us < HIST_LINEAR)
		return (size_t)us;
	msb = 63 - __builtin_clzll(us);
	shift = msb - 6;
	i = HIST_LINEAR + (size_t)(shift - 1) * HIST_SUB + (size_t)((us >> shift) - HIST_SUB);
	return i < HIST_BUCKETS ? i : HIST_BUCKETS - 1;
}

/* The middle of bucket i, in microseconds. */
static double
hist_value(size_t i)
{
	int shift;

	if (i < HIST_LINEAR)
		return (double)i;
	shift = (int)((i - HIST_LINEAR) / HIST_SUB) + 1;
	return ((double)((i - HIST_LINEAR) % HIST_SUB + HIST_SUB) + 0.5) * (double)(1ULL << shift);
}

static int
stopping(const struct run *r)
{
	return *stop || (r->deadline_ns != 0 && mono_ns() >= r->deadline_ns);
}

static void
log_failure(const struct worker *w, int status, const char *what)
{
	pthread_mutex_lock(&log_mtx);
	if (logged_errors++ < LOGGED_ERRORS)
		log_warn("request failed", "worker=%zu status=%d msg=%s", w->id, status,
		    log_q(what));
	pthread_mutex_unlock(&log_mtx);
}

/* Wait until this worker's next batch is due (rate mode). */
static void
pace(struct worker *w)
{
	const struct run *r = w->run;
	int64_t due;

	if (r->rate_per_worker <= 0)
		return;
	due = r->start_ns + (int64_t)((double)w->samples_sent / r->rate_per_worker * 1e9);
	while (!stopping(r)) {
		int64_t left = due - mono_ns();

		if (left <= 0)
			return;
		sleep_ns(left < 100000000 ? left : 100000000);
	}
}

/* The next round's timestamp: the clock, but always later than the last round. */
static void
next_round(struct worker *w)
{
	int64_t now = clock_wall_ms(), ts = now;

	if (w->round_ts != 0 && ts <= w->round_ts)
		ts = w->round_ts + 1;
	if (ts > now + MAX_AHEAD_MS)
		sleep_ns((ts - now - MAX_AHEAD_MS) * 1000000);
	w->round_ts = ts;
}

/* One request body: batch TimeSeries, one sample each, protobuf then snappy. */
static void
build(struct worker *w)
{
	const struct run *r = w->run;
	int64_t elapsed = (mono_ns() - r->start_ns) / 1000000;

	buf_reset(&w->pb);
	w->npend = 0;
	for (size_t k = 0; k < r->batch; k++) {
		size_t slot = w->id + w->cursor * r->concurrency;
		uint32_t g = gen_generation(&r->gen, slot, elapsed);

		if (w->cursor == 0)
			next_round(w);
		if (w->lastgen[w->cursor] != g + 1) {
			w->pend[w->npend++] = (struct pending){ w->cursor, w->lastgen[w->cursor] };
			w->lastgen[w->cursor] = g + 1;
		}
		gen_series(&r->gen, &w->pb, slot, g, w->round, w->round_ts);
		if (++w->cursor == w->nslots) {
			w->cursor = 0;
			w->round++;
		}
	}
	buf_reset(&w->body);
	rw_snappy_encode(w->pb.p, w->pb.len, &w->body);
}

/* Count the request; new series count only once the receiver took them. */
static void
account(struct worker *w, int ok, int status, int64_t ns)
{
	w->hist[hist_index((uint64_t)(ns / 1000))]++;
	__atomic_add_fetch(&w->requests, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&w->samples_sent, w->run->batch, __ATOMIC_RELAXED);
	if (status >= 0 && status < NSTATUS)
		__atomic_add_fetch(&w->status[status], 1, __ATOMIC_RELAXED);
	if (status < 0)
		__atomic_add_fetch(&w->conn_errors, 1, __ATOMIC_RELAXED);
	if (!ok) {
		__atomic_add_fetch(&w->errors, 1, __ATOMIC_RELAXED);
		for (size_t i = w->npend; i > 0; i--)
			w->lastgen[w->pend[i - 1].cursor] = w->pend[i - 1].old;
		return;
	}
	__atomic_add_fetch(&w->samples_ok, w->run->batch, __ATOMIC_RELAXED);
	__atomic_add_fetch(&w->series_created, w->npend, __ATOMIC_RELAXED);
}

static void *
work(void *arg)
{
	struct worker *w = arg;
	const struct run *r = w->run;
	char msg[256];
	struct err e;
	int status;

	while (!stopping(r)) {
		int64_t t0;

		pace(w);
		if (stopping(r))
			break;
		build(w);
		t0 = mono_ns();
		if (http_post(&w->conn, &r->target, r->tenant, w->body.p, w->body.len,
		    &status, msg, sizeof(msg), &e) == -1) {
			account(w, 0, -1, mono_ns() - t0);
			log_failure(w, 0, e.msg);
			/* Do not spin on a refused connection. */
			sleep_ns(100000000);
			continue;
		}
		account(w, status >= 200 && status < 300, status, mono_ns() - t0);
		if (status < 200 || status >= 300)
			log_failure(w, status, msg);
	}
	http_conn_close(&w->conn);
	return NULL;
}

struct totals {
	uint64_t	 samples_sent, samples_ok, requests, errors, series_created;
	uint64_t	 conn_errors;
	uint64_t	 status[NSTATUS];
	uint64_t	 hist[HIST_BUCKETS];
};

static void
sum(struct worker *ws, size_t n, struct totals *t)
{
	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < n; i++) {
		struct worker *w = &ws[i];

		t->samples_sent += __atomic_load_n(&w->samples_sent, __ATOMIC_RELAXED);
		t->samples_ok += __atomic_load_n(&w->samples_ok, __ATOMIC_RELAXED);
		t->requests += __atomic_load_n(&w->requests, __ATOMIC_RELAXED);
		t->errors += __atomic_load_n(&w->errors, __ATOMIC_RELAXED);
		t->series_created += __atomic_load_n(&w->series_created, __ATOMIC_RELAXED);
		t->conn_errors += __atomic_load_n(&w->conn_errors, __ATOMIC_RELAXED);
		for (size_t s = 0; s < NSTATUS; s++)
			t->status[s] += __atomic_load_n(&w->status[s], __ATOMIC_RELAXED);
	}
}

/* Quantile q of the merged histogram, in milliseconds. */
static double
quantile_ms(const struct totals *t, double q)
{
	uint64_t n = 0, want, acc = 0;

	for (size_t i = 0; i < HIST_BUCKETS; i++)
		n += t->hist[i];
	if (n == 0)
		return 0;
	want = (uint64_t)ceil(q * (double)n);
	if (want == 0)
		want = 1;
	for (size_t i = 0; i < HIST_BUCKETS; i++) {
		acc += t->hist[i];
		if (acc >= want)
			return hist_value(i) / 1000;
	}
	return 0;
}

static double
max_ms(const struct totals *t)
{
	for (size_t i = HIST_BUCKETS; i > 0; i--)
		if (t->hist[i - 1] != 0)
			return hist_value(i - 1) / 1000;
	return 0;
}

static void
report(const struct run *r, const struct totals *t, double secs, int json)
{
	double qs[] = { 0.5, 0.9, 0.99 };
	const char *qn[] = { "p50", "p90", "p99" };
	double rate = secs > 0 ? (double)t->samples_ok / secs : 0;
	int first = 1;

	if (json) {
		printf("{\"duration_seconds\":%.3f,\"series\":%zu,\"series_created\":%llu,"
		    "\"metric_names\":%zu,\"samples\":%llu,\"samples_ok\":%llu,"
		    "\"samples_per_second\":%.1f,\"requests\":%llu,\"errors\":%llu,"
		    "\"status\":{", secs, r->gen.nseries,
		    (unsigned long long)t->series_created, gen_metric_names(),
		    (unsigned long long)t->samples_sent, (unsigned long long)t->samples_ok,
		    rate, (unsigned long long)t->requests, (unsigned long long)t->errors);
		for (size_t s = 0; s < NSTATUS; s++)
			if (t->status[s] != 0) {
				printf("%s\"%zu\":%llu", first ? "" : ",", s,
				    (unsigned long long)t->status[s]);
				first = 0;
			}
		if (t->conn_errors != 0)
			printf("%s\"error\":%llu", first ? "" : ",",
			    (unsigned long long)t->conn_errors);
		printf("},\"latency_ms\":{");
		for (size_t i = 0; i < 3; i++)
			printf("\"%s\":%.3f,", qn[i], quantile_ms(t, qs[i]));
		printf("\"max\":%.3f}}\n", max_ms(t));
		return;
	}
	printf("duration_seconds %.3f\n", secs);
	printf("series %zu\n", r->gen.nseries);
	printf("series_created %llu\n", (unsigned long long)t->series_created);
	printf("metric_names %zu\n", gen_metric_names());
	printf("samples %llu\n", (unsigned long long)t->samples_sent);
	printf("samples_ok %llu\n", (unsigned long long)t->samples_ok);
	printf("samples_per_second %.1f\n", rate);
	printf("requests %llu\n", (unsigned long long)t->requests);
	printf("errors %llu\n", (unsigned long long)t->errors);
	for (size_t s = 0; s < NSTATUS; s++)
		if (t->status[s] != 0)
			printf("status_%zu %llu\n", s, (unsigned long long)t->status[s]);
	if (t->conn_errors != 0)
		printf("status_error %llu\n", (unsigned long long)t->conn_errors);
	for (size_t i = 0; i < 3; i++)
		printf("latency_%s_ms %.3f\n", qn[i], quantile_ms(t, qs[i]));
	printf("latency_max_ms %.3f\n", max_ms(t));
}

/* Log progress every PROGRESS_MS until the workers are told to stop. */
static void
watch(struct run *r, struct worker *ws)
{
	int64_t last = r->start_ns;
	uint64_t last_ok = 0;

	while (!stopping(r)) {
		struct totals t;
		int64_t now;

		sleep_ns(100000000);
		now = mono_ns();
		if (now - last < (int64_t)PROGRESS_MS * 1000000)
			continue;
		sum(ws, r->concurrency, &t);
		pthread_mutex_lock(&log_mtx);
		log_info("progress", "samples_ok=%llu samples_per_second=%.0f requests=%llu "
		    "errors=%llu series_created=%llu", (unsigned long long)t.samples_ok,
		    (double)(t.samples_ok - last_ok) * 1e9 / (double)(now - last),
		    (unsigned long long)t.requests, (unsigned long long)t.errors,
		    (unsigned long long)t.series_created);
		pthread_mutex_unlock(&log_mtx);
		last = now;
		last_ok = t.samples_ok;
	}
	/* Let the workers see the deadline even when a signal was the reason. */
	*stop = 1;
}

struct opts {
	const char	*url;
	const char	*tenant;
	const char	*churn;
	const char	*level;
	int64_t		 series;
	int64_t		 rate;
	int64_t		 batch;
	int64_t		 concurrency;
	int64_t		 duration;
	int64_t		 timeout;
	int		 json;
};

static int
configure(struct opts *o, struct run *r)
{
	enum log_level lv;
	double churn;
	char *end;
	struct err e;

	if (log_level_parse(o->level, &lv) == -1) {
		log_error("bad -log.level", "value=%s", log_q(o->level));
		return EXIT_USAGE;
	}
	log_init("rw-load", lv);
	churn = strtod(o->churn, &end);
	if (end == o->churn || *end != '\0' || !(churn >= 0) || churn > 1000) {
		log_error("bad -churn: want a fraction of the series per minute, e.g. 0.1",
		    "value=%s", log_q(o->churn));
		return EXIT_USAGE;
	}
	if (o->series < 1 || o->series > 100000000 || o->batch < 1 ||
	    o->batch > 1000000 || o->concurrency < 1 || o->concurrency > 4096 ||
	    o->rate < 0 || o->duration < 0 || o->timeout <= 0) {
		log_error("bad flags: -series, -batch and -concurrency must be positive, "
		    "-rate and -duration not negative, -timeout positive", "%s", "");
		return EXIT_USAGE;
	}
	if (http_target_parse(o->url, &r->target, &e) == -1) {
		log_error("bad -url", "url=%s err=%s", log_q(o->url), log_q(e.msg));
		return EXIT_USAGE;
	}
	gen_init(&r->gen, (size_t)o->series, churn);
	r->tenant = o->tenant;
	r->batch = (size_t)o->batch;
	/* More workers than series would leave some with nothing to send. */
	r->concurrency = (size_t)(o->concurrency < o->series ? o->concurrency : o->series);
	r->rate_per_worker = (double)o->rate / (double)r->concurrency;
	r->timeout_ms = o->timeout;
	return 0;
}

static int
run_load(struct run *r, const struct opts *o)
{
	struct worker *ws;
	struct totals t;
	double secs;
	size_t started = 0;
	char dur[32];
	int64_t end;

	ws = xcalloc(r->concurrency, sizeof(*ws));
	duration_format(dur, sizeof(dur), o->duration);
	log_info("rw-load started", "url=%s series=%zu hosts=%zu metric_names=%zu "
	    "rate=%lld batch=%zu concurrency=%zu churn=%s duration=%s tenant=%s",
	    log_q(o->url), r->gen.nseries, r->gen.nhosts, gen_metric_names(),
	    (long long)o->rate, r->batch, r->concurrency, o->churn, dur, log_q(r->tenant));
	r->start_ns = mono_ns();
	r->deadline_ns = o->duration > 0 ? r->start_ns + o->duration * 1000000 : 0;
	for (size_t i = 0; i < r->concurrency; i++) {
		struct worker *w = &ws[i];
		int rc;

		w->id = i;
		w->run = r;
		w->nslots = (r->gen.nseries - i + r->concurrency - 1) / r->concurrency;
		w->lastgen = xcalloc(w->nslots, sizeof(*w->lastgen));
		w->pend = xcalloc(r->batch, sizeof(*w->pend));
		http_conn_init(&w->conn, r->timeout_ms);
		if ((rc = pthread_create(&w->th, NULL, work, w)) != 0) {
			log_error("cannot start a worker thread", "err=%s", log_q(strerror(rc)));
			*stop = 1;
			break;
		}
		started++;
	}
	watch(r, ws);
	for (size_t i = 0; i < started; i++)
		pthread_join(ws[i].th, NULL);
	end = mono_ns();
	secs = (double)(end - r->start_ns) / 1e9;
	sum(ws, started, &t);
	for (size_t i = 0; i < started; i++)
		for (size_t b = 0; b < HIST_BUCKETS; b++)
			t.hist[b] += ws[i].hist[b];
	report(r, &t, secs, o->json);
	log_info("rw-load done", "samples_ok=%llu errors=%llu seconds=%.3f",
	    (unsigned long long)t.samples_ok, (unsigned long long)t.errors, secs);
	for (size_t i = 0; i < r->concurrency; i++) {
		free(ws[i].lastgen);
		free(ws[i].pend);
		buf_free(&ws[i].pb);
		buf_free(&ws[i].body);
		buf_free(&ws[i].conn.in);
	}
	free(ws);
	if (started < r->concurrency)
		return EXIT_SYSTEM;
	if (t.errors == 0)
		return EXIT_OK;
	/* Nothing got through at all: the receiver is not there. */
	return t.samples_ok == 0 && t.conn_errors == t.requests ? EXIT_SYSTEM : EXIT_ERRORS;
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct run r;
	int rc;
	const struct flag flags[] = {
		{ "url", FLAG_STRING, &o.url, "http://127.0.0.1:9009/api/v1/push",
		    "remote-write endpoint (http:// only)" },
		{ "series", FLAG_INT, &o.series, "10000", "active series" },
		{ "rate", FLAG_INT, &o.rate, "0", "samples per second over all workers; 0 = as fast as possible" },
		{ "batch", FLAG_INT, &o.batch, "500", "samples (TimeSeries of one sample) per request" },
		{ "concurrency", FLAG_INT, &o.concurrency, "4", "worker threads, one connection each" },
		{ "churn", FLAG_STRING, &o.churn, "0", "fraction of the series replaced per minute" },
		{ "duration", FLAG_DURATION, &o.duration, "1m", "how long to push; 0 = until SIGINT or SIGTERM" },
		{ "tenant", FLAG_STRING, &o.tenant, "", "X-Scope-OrgID header; empty = none" },
		{ "timeout", FLAG_DURATION, &o.timeout, "30s", "per request" },
		{ "json", FLAG_BOOL, &o.json, NULL, "print the report as one JSON object" },
		{ "log.level", FLAG_STRING, &o.level, "info", "debug, info, warn or error" },
		{ NULL, 0, NULL, NULL, NULL },
	};

	memset(&o, 0, sizeof(o));
	memset(&r, 0, sizeof(r));
	log_init("rw-load", LOG_INFO);
	if (flags_parse(flags, USAGE, argc, argv) > 0) {
		log_error("no arguments expected", "%s", "");
		flags_usage(stderr, USAGE, flags);
		return EXIT_USAGE;
	}
	if ((rc = configure(&o, &r)) != 0)
		return rc;
	stop = sigstop_init();
	rc = run_load(&r, &o);
	if (fflush(stdout) == EOF && rc == EXIT_OK)
		rc = EXIT_SYSTEM;
	return rc;
}
