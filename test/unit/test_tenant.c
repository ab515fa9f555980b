#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/fileutil.h"
#include "lib/base/log.h"
#include "lib/base/metrics.h"
#include "lib/ingest/tenant.h"
#include "lib/ingest/tenants.h"
#include "lib/tsdb/block.h"
#include "lib/tsdb/gofmt.h"
#include "lib/tsdb/xor.h"
#include "test/unit/unit.h"

#define H	3600000LL

struct fixture {
	struct metrics		*m;
	struct tenant_metrics	 tm;
	struct tenant_opts	 o;
	struct buf		 req;
	struct rw_request	 rq;
	struct tenant_push_result res;
};

static void
fx_init(struct fixture *f, int64_t retention)
{
	memset(f, 0, sizeof(*f));
	log_init("test_tenant", LOG_WARN);
	f->m = metrics_create();
	tenant_metrics_init(&f->tm, f->m);
	f->o.block_range = 2 * H;
	f->o.retention = retention;
	rw_limits_default(&f->o.limits);
}

static void
fx_free(struct fixture *f)
{
	buf_free(&f->req);
	rw_request_free(&f->rq);
	tenant_push_result_free(&f->res);
	metrics_free(f->m);
}

/* Add one TimeSeries: labels as name, value pairs (NULL-terminated), n samples from t every step. */
static void
add_series(struct fixture *f, const char *const *kv, int64_t t, int64_t step, size_t n,
    double v0)
{
	struct label lv[16];
	struct rw_sample s[512];
	struct labels ls = { lv, 0 };

	for (size_t i = 0; kv[2 * i] != NULL; i++) {
		lv[i].name = str_c(kv[2 * i]);
		lv[i].value = str_c(kv[2 * i + 1]);
		ls.n++;
	}
	for (size_t i = 0; i < n; i++) {
		double v = v0 + (double)i;

		s[i].t = t + (int64_t)i * step;
		memcpy(&s[i].v, &v, sizeof(v));
	}
	rw_encode_series(&f->req, &ls, s, n);
}

static int
push(struct fixture *f, struct tenant *t)
{
	struct err e;

	if (rw_decode(&f->rq, f->req.p, f->req.len, &e) == -1)
		unit_fail(__FILE__, __LINE__, "decode: %s", e.msg);
	tenant_push(t, &f->rq, 1700000000000LL, &f->res);
	buf_reset(&f->req);
	return f->res.status;
}

/* Every sample of the tenant, as promtool dump lines, into out. */
static size_t
dump(struct tenant *t, struct buf *out)
{
	struct matcher m;
	struct tenant_query *q;
	const struct labels *ls;
	struct err e;
	size_t n = 0;

	buf_reset(out);
	matcher_init(&m, MATCH_RE, "__name__", ".+", 2, &e);
	q = tenant_query_open(t, &m, 1, INT64_MIN, INT64_MAX, &e);
	while (tenant_query_next(q, &ls, &e) == 1) {
		int64_t ts;
		uint64_t v;

		while (tenant_query_sample(q, &ts, &v, &e) == 1) {
			char fl[GOFMT_FLOAT_MAX], tail[64];

			gofmt_labels(out, ls);
			gofmt_float(fl, v);
			snprintf(tail, sizeof(tail), " %s %" PRId64 "\n", fl, ts);
			buf_put_bytes(out, tail, strlen(tail));
			n++;
		}
	}
	tenant_query_close(q);
	matcher_free(&m);
	buf_put_u8(out, 0);
	return n;
}

static const char *const up_a[] = { "__name__", "up", "job", "a", NULL };
static const char *const up_b[] = { "job", "b", "__name__", "up", NULL };

/* Good samples stored, bad ones counted and named with Cortex's texts. */
static void
push_partial_success(void)
{
	static const char *const bad_name[] = { "__name__", "1bad", NULL };
	static const char *const bad_label[] = { "__name__", "x", "bad-name", "v", NULL };
	struct fixture f;
	struct tenant *t;
	struct buf out = { 0 };
	struct err e;

	fx_init(&f, 0);
	t = tenant_open(unit_tmpdir(), "team-1", &f.o, &f.tm, NULL, &e);
	CHECK(t != NULL);
	add_series(&f, up_a, 1000, 1000, 3, 1);
	CHECK_INT(push(&f, t), 200);
	CHECK_INT(f.res.stored, 3);
	CHECK_INT(f.res.series_created, 1);
	add_series(&f, bad_name, 5000, 0, 1, 1);
	add_series(&f, up_a, 3000, 0, 1, 9);		/* duplicate timestamp, other value */
	add_series(&f, up_b, 4000, 0, 1, 7);		/* good, labels unsorted */
	add_series(&f, up_a, 1500, 0, 1, 9);		/* out of order */
	add_series(&f, bad_label, 5000, 0, 1, 1);
	CHECK_INT(push(&f, t), 400);
	CHECK_INT(f.res.stored, 1);
	CHECK_INT(f.res.rejected, 4);
	f.res.msg.len = f.res.msg.len;
	buf_put_u8(&f.res.msg, 0);
	CHECK_STR((char *)f.res.msg.p,
	    "sample invalid metric name: \"1bad\"\n"
	    "user=team-1: err: duplicate sample for timestamp. timestamp=1970-01-01T00:00:03Z, "
	    "series={__name__=\"up\", job=\"a\"}\n"
	    "user=team-1: err: out of order sample. timestamp=1970-01-01T00:00:01.5Z, "
	    "series={__name__=\"up\", job=\"a\"}\n"
	    "4 errors; 4 of 5 samples rejected");
	dump(t, &out);
	CHECK_STR((char *)out.p,
	    "{__name__=\"up\", job=\"a\"} 1 1000\n"
	    "{__name__=\"up\", job=\"a\"} 2 2000\n"
	    "{__name__=\"up\", job=\"a\"} 3 3000\n"
	    "{__name__=\"up\", job=\"b\"} 7 4000\n");
	/* A series without labels fails the whole request. */
	add_series(&f, up_b, 9000, 0, 1, 1);
	{
		static const char *const none[] = { NULL };

		add_series(&f, none, 9000, 0, 1, 1);
	}
	CHECK_INT(push(&f, t), 400);
	CHECK_INT(f.res.stored, 0);
	CHECK_MEM(f.res.msg.p, f.res.msg.len, "empty labels found", 18);
	CHECK_INT(tenant_close(t, &e), 0);
	buf_free(&out);
	fx_free(&f);
}

/* What was pushed comes back after a restart (the WAL), and Prometheus' layout is on disk. */
static void
replay_restores_the_head(void)
{
	struct fixture f;
	struct tenant *t;
	struct buf before = { 0 }, after = { 0 };
	char path[PATH_MAX];
	struct err e;

	fx_init(&f, 0);
	t = tenant_open(unit_tmpdir(), "t", &f.o, &f.tm, NULL, &e);
	for (int k = 0; k < 10; k++) {
		add_series(&f, up_a, k * 15000, 0, 1, k);
		add_series(&f, up_b, k * 15000, 0, 1, -k);
		CHECK_INT(push(&f, t), 200);
	}
	CHECK_INT(tenant_sync(t, &e), 0);
	CHECK_INT(dump(t, &before), 20);
	CHECK_INT(tenant_close(t, &e), 0);
	snprintf(path, sizeof(path), "%s/t/wal/00000000", unit_tmpdir());
	CHECK(path_exists(path));
	t = tenant_open(unit_tmpdir(), "t", &f.o, &f.tm, NULL, &e);
	CHECK(t != NULL);
	CHECK_INT(dump(t, &after), 20);
	CHECK_STR((char *)after.p, (char *)before.p);
	tenant_close(t, &e);
	buf_free(&before);
	buf_free(&after);
	fx_free(&f);
}

static size_t
count_blocks(const char *dir)
{
	char **dirs;
	size_t n;
	struct err e;

	if (block_find(dir, &dirs, &n, &e) == -1)
		return 0;
	block_dirs_free(dirs, n);
	return n;
}

/*
 * The 1.5x rule: 3h of one series at 15s; a block [0, 2h) is cut only when
 * the head spans more than 3h; head and block together still answer
 * everything, before and after a restart (checkpoint + segments).
 */
static void
compaction_cuts_the_oldest_range(void)
{
	struct fixture f;
	struct tenant *t;
	struct tenant_stats st;
	struct buf before = { 0 }, after = { 0 };
	char dir[PATH_MAX];
	struct err e;
	int cut;

	fx_init(&f, 0);
	f.o.wal.segment_size = 32768;	/* several segments, so a checkpoint is written */
	t = tenant_open(unit_tmpdir(), "t", &f.o, &f.tm, NULL, &e);
	snprintf(dir, sizeof(dir), "%s/t", unit_tmpdir());
	for (int64_t ts = 0; ts <= 3 * H; ts += 15000) {
		add_series(&f, up_a, ts, 0, 1, (double)ts);
		add_series(&f, up_b, ts, 0, 1, 1);
		CHECK_INT(push(&f, t), 200);
	}
	CHECK_INT(tenant_compact(t, 0, &cut, &e), 0);
	CHECK_INT(cut, 0);		/* exactly 1.5 ranges: not more */
	add_series(&f, up_a, 3 * H + 15000, 0, 1, 0);
	CHECK_INT(push(&f, t), 200);
	CHECK_INT(tenant_compact(t, 0, &cut, &e), 0);
	CHECK_INT(cut, 1);
	CHECK_INT(count_blocks(dir), 1);
	tenant_stats(t, &st);
	CHECK_INT(st.min_time, 2 * H);
	CHECK_INT(st.blocks, 1);
	CHECK_INT(dump(t, &before), 2 * (3 * 240 + 1) + 1);
	/* The head refuses what the block now holds. */
	add_series(&f, up_a, 2 * H - 1, 0, 1, 0);
	CHECK_INT(push(&f, t), 400);
	CHECK_INT(tenant_close(t, &e), 0);
	snprintf(dir, sizeof(dir), "%s/t/wal", unit_tmpdir());
	t = tenant_open(unit_tmpdir(), "t", &f.o, &f.tm, NULL, &e);
	CHECK(t != NULL);
	dump(t, &after);
	CHECK_STR((char *)after.p, (char *)before.p);
	tenant_close(t, &e);
	buf_free(&before);
	buf_free(&after);
	fx_free(&f);
}

/* Flush: the whole head into range-aligned blocks; the WAL then holds nothing to replay. */
static void
flush_cuts_everything(void)
{
	struct fixture f;
	struct tenant *t;
	struct tenant_stats st;
	struct buf before = { 0 }, after = { 0 };
	char dir[PATH_MAX];
	struct err e;
	int cut;

	fx_init(&f, 0);
	t = tenant_open(unit_tmpdir(), "t", &f.o, &f.tm, NULL, &e);
	for (int64_t ts = H; ts < 5 * H; ts += 60000) {
		add_series(&f, up_a, ts, 0, 1, (double)ts);
		CHECK_INT(push(&f, t), 200);
	}
	dump(t, &before);
	CHECK_INT(tenant_compact(t, 1, &cut, &e), 0);
	CHECK_INT(cut, 3);		/* [1h,2h) [2h,4h) [4h,5h-1m] */
	snprintf(dir, sizeof(dir), "%s/t", unit_tmpdir());
	CHECK_INT(count_blocks(dir), 3);
	tenant_stats(t, &st);
	CHECK_INT(st.series, 0);
	dump(t, &after);
	CHECK_STR((char *)after.p, (char *)before.p);
	CHECK_INT(tenant_close(t, &e), 0);
	t = tenant_open(unit_tmpdir(), "t", &f.o, &f.tm, NULL, &e);
	tenant_stats(t, &st);
	CHECK_INT(st.series, 0);
	CHECK_INT(st.blocks, 3);
	dump(t, &after);
	CHECK_STR((char *)after.p, (char *)before.p);
	tenant_close(t, &e);
	buf_free(&before);
	buf_free(&after);
	fx_free(&f);
}

/* Beyond the retention (from the newest block) and listed by the shipper: deleted; else kept. */
static void
retention_deletes_shipped_blocks_only(void)
{
	struct fixture f;
	struct tenant *t;
	struct tenant_stats st;
	char dir[PATH_MAX], path[PATH_MAX + 32], **dirs, json[256];
	size_t n;
	struct err e;
	int cut;

	fx_init(&f, 2 * H);
	t = tenant_open(unit_tmpdir(), "t", &f.o, &f.tm, NULL, &e);
	for (int64_t ts = 0; ts < 6 * H; ts += 600000) {
		add_series(&f, up_a, ts, 0, 1, 1);
		CHECK_INT(push(&f, t), 200);
	}
	CHECK_INT(tenant_compact(t, 1, &cut, &e), 0);
	CHECK_INT(cut, 3);
	tenant_stats(t, &st);
	CHECK_INT(st.blocks, 3);	/* nothing shipped: nothing deleted */
	snprintf(dir, sizeof(dir), "%s/t", unit_tmpdir());
	block_find(dir, &dirs, &n, &e);
	CHECK_INT(n, 3);
	/* The oldest two are shipped; only the first is beyond 2h of the newest's end. */
	snprintf(json, sizeof(json), "{\n\t\"version\": 1,\n\t\"uploaded\": [\n\t\t\"%s\",\n\t\t\"%s\"\n\t]\n}\n",
	    strrchr(dirs[0], '/') + 1, strrchr(dirs[1], '/') + 1);
	snprintf(path, sizeof(path), "%s/%s", dir, TENANT_SHIPPER_FILE);
	CHECK_INT(file_write_atomic(path, json, strlen(json), &e), 0);
	CHECK_INT(tenant_compact(t, 0, &cut, &e), 0);
	tenant_stats(t, &st);
	CHECK_INT(st.blocks, 2);
	CHECK(!path_exists(dirs[0]));
	CHECK(path_exists(dirs[1]));
	CHECK(path_exists(dirs[2]));
	block_dirs_free(dirs, n);
	tenant_close(t, &e);
	fx_free(&f);
}

/* Chunks for remote read: the block's samples cut again, then the head's, by min time. */
static void
query_chunks_merge_block_and_head(void)
{
	struct fixture f;
	struct tenant *t;
	struct matcher m;
	struct tenant_query *q;
	const struct labels *ls;
	const struct chunk *c;
	size_t n, total = 0;
	int64_t prev = INT64_MIN;
	struct err e;
	int cut;

	fx_init(&f, 0);
	t = tenant_open(unit_tmpdir(), "t", &f.o, &f.tm, NULL, &e);
	for (int64_t ts = 0; ts <= 3 * H + 15000; ts += 15000) {
		add_series(&f, up_a, ts, 0, 1, 1);
		CHECK_INT(push(&f, t), 200);
	}
	CHECK_INT(tenant_compact(t, 0, &cut, &e), 0);
	CHECK_INT(cut, 1);
	matcher_init(&m, MATCH_EQ, "job", "a", 1, &e);
	q = tenant_query_open(t, &m, 1, 0, 4 * H, &e);
	CHECK_INT(tenant_query_next(q, &ls, &e), 1);
	CHECK_INT(tenant_query_chunks(q, &c, &n, &e), 0);
	CHECK(n >= 4);
	for (size_t i = 0; i < n; i++) {
		CHECK(c[i].mint >= prev);
		CHECK_INT(c[i].enc, 1);
		CHECK_INT(xor_count(c[i].data, c[i].len) > 0, 1);
		total += xor_count(c[i].data, c[i].len);
		prev = c[i].mint;
	}
	CHECK_INT(total, 3 * 240 + 2);
	CHECK_INT(tenant_query_next(q, &ls, &e), 0);
	tenant_query_close(q);
	matcher_free(&m);
	tenant_close(t, &e);
	fx_free(&f);
}

/* Tenants: opened at start in name order, created on demand, invalid IDs refused. */
static void
tenants_map(void)
{
	struct fixture f;
	struct tenants *ts;
	struct err e;
	volatile int stop = 0, done = 0;
	int total, invalid;

	fx_init(&f, 0);
	ts = tenants_create(unit_tmpdir(), &f.o, f.m);
	CHECK(tenants_get(ts, "b", 1, 1, &invalid, &e) != NULL);
	CHECK(tenants_get(ts, "a", 1, 1, &invalid, &e) != NULL);
	CHECK(tenants_get(ts, "zz", 2, 0, &invalid, &e) == NULL);
	CHECK_INT(invalid, 0);
	CHECK(tenants_get(ts, "../x", 4, 1, &invalid, &e) == NULL);
	CHECK_INT(invalid, 1);
	CHECK_STR(e.msg, "tenant ID '../x' contains unsupported character '/'");
	CHECK(tenants_get(ts, "..", 2, 1, &invalid, &e) == NULL);
	CHECK_STR(e.msg, "tenant ID is '.' or '..'");
	CHECK_INT(tenants_count(ts), 2);
	CHECK_STR(tenant_id(tenants_at(ts, 0)), "a");
	CHECK_INT(tenants_close_all(ts, &e), 0);
	tenants_free(ts);
	ts = tenants_create(unit_tmpdir(), &f.o, f.m);
	CHECK_INT(tenants_open_all(ts, &stop, &done, &total, &e), 0);
	CHECK_INT(total, 2);
	CHECK_INT(done, 2);
	CHECK_STR(tenant_id(tenants_at(ts, 1)), "b");
	tenants_free(ts);
	fx_free(&f);
}

UNIT_CASES(
	UNIT_CASE(push_partial_success),
	UNIT_CASE(replay_restores_the_head),
	UNIT_CASE(compaction_cuts_the_oldest_range),
	UNIT_CASE(flush_cuts_everything),
	UNIT_CASE(retention_deletes_shipped_blocks_only),
	UNIT_CASE(query_chunks_merge_block_and_head),
	UNIT_CASE(tenants_map),
);
