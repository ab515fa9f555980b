#include <sys/stat.h>
#include <sys/uio.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base/fileutil.h"
#include "lib/tsdb/checkpoint.h"
#include "lib/tsdb/encoding.h"
#include "lib/tsdb/wal.h"
#include "lib/tsdb/walrec.h"
#include "test/unit/unit.h"

struct recs {
	uint8_t	*p[64];
	size_t	 len[64];
	size_t	 n;
};

static struct label la[] = { { { "__name__", 8 }, { "a", 1 } } };
static struct label lb[] = { { { "__name__", 8 }, { "b", 1 } } };
static struct label lc[] = { { { "__name__", 8 }, { "c", 1 } }, { { "job", 3 }, { "x", 1 } } };
static struct label ld[] = { { { "__name__", 8 }, { "d", 1 } } };

static void
recs_add(struct recs *r, const struct buf *b)
{
	r->p[r->n] = malloc(b->len + 1);
	memcpy(r->p[r->n], b->p, b->len);
	r->len[r->n++] = b->len;
}

static void
recs_free(struct recs *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->p[i]);
	r->n = 0;
}

/* Every record of a reader; -1 when it fails. */
static int
read_all(struct wal_reader *rd, struct recs *out)
{
	const uint8_t *p;
	size_t len;
	struct err e;
	int rc;

	out->n = 0;
	while (out->n < 64 && (rc = wal_reader_next(rd, &p, &len, &e)) == 1) {
		struct buf b = { (uint8_t *)p, len, len };

		recs_add(out, &b);
	}
	wal_reader_free(rd);
	if (rc == -1)
		unit_fail(__FILE__, __LINE__, "read: %s", e.msg);
	return rc;
}

static int
read_dir(const char *dir, struct recs *out)
{
	struct wal_reader *r = wal_reader_new();
	struct err e;

	if (wal_reader_add(r, dir, -1, -1, 1, &e) == -1) {
		unit_fail(__FILE__, __LINE__, "%s", e.msg);
		wal_reader_free(r);
		return -1;
	}
	return read_all(r, out);
}

static void
log_buf(struct wal *w, struct buf *b)
{
	struct iovec v = { b->p, b->len };
	struct err e;

	if (wal_log(w, &v, 1, &e) == -1)
		unit_fail(__FILE__, __LINE__, "%s", e.msg);
	b->len = 0;
}

static int
keep_134(uint64_t ref, void *arg)
{
	(void)arg;
	return ref == 1 || ref == 3 || ref == 4;
}

static int
keep_all(uint64_t ref, void *arg)
{
	(void)ref;
	(void)arg;
	return 1;
}

/* An exemplar record with the label trace_id=<id>. */
static void
put_exemplars(struct buf *b, const uint64_t *ref, const int64_t *t, size_t n)
{
	buf_put_u8(b, WALREC_EXEMPLARS);
	buf_put_be64(b, ref[0]);
	buf_put_be64(b, (uint64_t)t[0]);
	for (size_t i = 0; i < n; i++) {
		buf_put_varint(b, (int64_t)(ref[i] - ref[0]));
		buf_put_varint(b, t[i] - t[0]);
		buf_put_be64(b, 0x3ff8000000000000ULL);
		buf_put_uvarint(b, 1);
		buf_put_uvarint_str(b, "trace_id", 8);
		buf_put_uvarint_str(b, "abc", 3);
	}
}

/* One (float) histogram sample, the §12.3 shape. */
static void
put_histogram(struct buf *b, int type, uint64_t ref, int64_t t)
{
	buf_put_u8(b, (uint8_t)type);
	buf_put_be64(b, ref);
	buf_put_be64(b, (uint64_t)t);
	buf_put_bytes(b, "\0\0\0\0", 4);	/* dref, dt, hint, schema */
	buf_put_be64(b, 0x3f50624dd2f1a9fcULL);
	if (type == WALREC_HISTOGRAMS) {
		buf_put_uvarint(b, 1);
		buf_put_uvarint(b, 3);
	} else {
		buf_put_be64(b, 0x3ff0000000000000ULL);
		buf_put_be64(b, 0x4008000000000000ULL);
	}
	buf_put_be64(b, 0x4012000000000000ULL);
	buf_put_bytes(b, "\x01\x00\x02\x00", 4);	/* one span {0, 2}, no negative */
	buf_put_uvarint(b, 2);
	if (type == WALREC_HISTOGRAMS) {
		buf_put_varint(b, 1);
		buf_put_varint(b, 0);
	} else {
		buf_put_be64(b, 0x3ff0000000000000ULL);
		buf_put_be64(b, 0x3ff0000000000000ULL);
	}
	buf_put_uvarint(b, 0);
}

/*
 * Segments 0-2 of mixed records, 3 the active one:
 *  0: series 1 a, 2 b, 3 c; samples @100; metadata 1 (h1), 2
 *  1: samples @200; tombstones {1 ..150} {2 ..250} {3 ..200}; exemplars 1@150 3@250;
 *     float histogram 1@250; metadata 1 (h2)
 *  2: series 4 d; samples 4@300 1@300; histogram 4@300
 *  3: samples 1@400
 */
static void
build_wal(const char *dir)
{
	struct walrec_series s1[] = { { 1, { la, 1 } }, { 2, { lb, 1 } }, { 3, { lc, 2 } } };
	struct walrec_series s2[] = { { 4, { ld, 1 } } };
	struct walrec_sample a0[] = { { 1, 100, 1 }, { 2, 100, 2 }, { 3, 100, 3 } };
	struct walrec_sample a1[] = { { 1, 200, 4 }, { 2, 200, 5 }, { 3, 200, 6 } };
	struct walrec_sample a2[] = { { 4, 300, 7 }, { 1, 300, 8 } };
	struct walrec_sample a3[] = { { 1, 400, 9 } };
	struct walrec_tombstone t1[] = { { 1, 0, 150 }, { 2, 0, 250 }, { 3, 10, 200 } };
	struct walrec_metadata m0[] = {
		{ 1, 1, { "s", 1 }, { "h1", 2 } }, { 2, 2, { "", 0 }, { "", 0 } },
	};
	struct walrec_metadata m1[] = { { 1, 1, { "s", 1 }, { "h2", 2 } } };
	uint64_t xr[] = { 1, 3 };
	int64_t xt[] = { 150, 250 };
	struct buf b = { 0 };
	struct wal *w;
	struct err e;

	CHECK(wal_open(&w, dir, NULL, NULL, &e) == 0);
	walrec_put_series(&b, s1, 3);
	log_buf(w, &b);
	walrec_put_samples(&b, a0, 3);
	log_buf(w, &b);
	walrec_put_metadata(&b, m0, 2);
	log_buf(w, &b);
	CHECK(wal_next_segment(w, NULL, &e) == 0);
	walrec_put_samples(&b, a1, 3);
	log_buf(w, &b);
	walrec_put_tombstones(&b, t1, 3);
	log_buf(w, &b);
	put_exemplars(&b, xr, xt, 2);
	log_buf(w, &b);
	put_histogram(&b, WALREC_FLOAT_HISTOGRAMS, 1, 250);
	log_buf(w, &b);
	walrec_put_metadata(&b, m1, 1);
	log_buf(w, &b);
	CHECK(wal_next_segment(w, NULL, &e) == 0);
	walrec_put_series(&b, s2, 1);
	log_buf(w, &b);
	walrec_put_samples(&b, a2, 2);
	log_buf(w, &b);
	put_histogram(&b, WALREC_HISTOGRAMS, 4, 300);
	log_buf(w, &b);
	CHECK(wal_next_segment(w, NULL, &e) == 0);
	walrec_put_samples(&b, a3, 1);
	log_buf(w, &b);
	CHECK(wal_close(w, &e) == 0);
	buf_free(&b);
}

static void
checkpoint_keeps_what_prometheus_keeps(void)
{
	const char *dir = unit_tmpdir();
	struct walrec_series k1[] = { { 1, { la, 1 } }, { 3, { lc, 2 } } };
	struct walrec_series s2[] = { { 4, { ld, 1 } } };
	struct walrec_sample a1[] = { { 1, 200, 4 }, { 2, 200, 5 }, { 3, 200, 6 } };
	struct walrec_sample a2[] = { { 4, 300, 7 }, { 1, 300, 8 } };
	struct walrec_tombstone t1[] = { { 2, 0, 250 }, { 3, 10, 200 } };
	struct walrec_metadata m[] = { { 1, 1, { "s", 1 }, { "h2", 2 } } };
	uint64_t xr[] = { 3 };
	int64_t xt[] = { 250 };
	struct checkpoint_stats st;
	struct recs got = { 0 }, want = { 0 };
	struct buf b = { 0 };
	struct err e;
	char cp[512];
	struct stat sb;

	build_wal(dir);
	CHECK(checkpoint_create(dir, 0, 2, keep_134, NULL, 200, 0, &st, &e) == 0);
	snprintf(cp, sizeof(cp), "%s/checkpoint.00000002", dir);
	CHECK(path_is_dir(cp));
	snprintf(cp, sizeof(cp), "%s/checkpoint.00000002.tmp", dir);
	CHECK(!path_exists(cp));
	snprintf(cp, sizeof(cp), "%s/checkpoint.00000002", dir);
	CHECK(read_dir(cp, &got) == 0);

	walrec_put_series(&b, k1, 2);
	recs_add(&want, &b);
	b.len = 0;
	walrec_put_samples(&b, a1, 3);		/* samples are not filtered by keep */
	recs_add(&want, &b);
	b.len = 0;
	walrec_put_tombstones(&b, t1, 2);	/* nor are tombstones */
	recs_add(&want, &b);
	b.len = 0;
	put_exemplars(&b, xr, xt, 1);
	recs_add(&want, &b);
	b.len = 0;
	walrec_put_series(&b, s2, 1);
	recs_add(&want, &b);
	b.len = 0;
	walrec_put_samples(&b, a2, 2);
	recs_add(&want, &b);
	b.len = 0;
	put_histogram(&b, WALREC_HISTOGRAMS, 4, 300);
	recs_add(&want, &b);
	b.len = 0;
	walrec_put_metadata(&b, m, 1);		/* the latest, last */
	recs_add(&want, &b);

	CHECK_INT(got.n, want.n);
	for (size_t i = 0; i < got.n && i < want.n; i++)
		CHECK_MEM(got.p[i], got.len[i], want.p[i], want.len[i]);

	CHECK_INT(st.total_series, 4);
	CHECK_INT(st.dropped_series, 1);
	CHECK_INT(st.total_samples, 9);
	CHECK_INT(st.dropped_samples, 3);
	CHECK_INT(st.total_tombstones, 3);
	CHECK_INT(st.dropped_tombstones, 1);
	CHECK_INT(st.total_exemplars, 2);
	CHECK_INT(st.dropped_exemplars, 1);
	CHECK_INT(st.total_metadata, 3);
	CHECK_INT(st.dropped_metadata, 2);

	/* a closed WAL segment: whole pages */
	snprintf(cp, sizeof(cp), "%s/checkpoint.00000002/00000000", dir);
	CHECK(stat(cp, &sb) == 0 && sb.st_size == WAL_PAGE_SIZE);
	recs_free(&got);
	recs_free(&want);
	buf_free(&b);
}

static void
checkpoint_builds_on_the_previous_one(void)
{
	const char *dir = unit_tmpdir();
	struct walrec_sample a3[] = { { 1, 400, 9 } };
	struct walrec_series s[] = { { 1, { la, 1 } }, { 3, { lc, 2 } }, { 4, { ld, 1 } } };
	struct recs got = { 0 };
	struct buf b = { 0 };
	struct err e;
	struct wal *w;
	char cp[512];

	build_wal(dir);
	CHECK(checkpoint_create(dir, 0, 2, keep_134, NULL, 200, 1, NULL, &e) == 0);
	/* segments up to 2 are covered: from is raised to 3; a gap is refused */
	CHECK(checkpoint_create(dir, 5, 4, keep_134, NULL, 350, 0, NULL, &e) == -1);
	CHECK(strstr(e.msg, "unexpected gap to last checkpoint. expected:3, requested:5") != NULL);
	CHECK(wal_open(&w, dir, NULL, NULL, &e) == 0);
	CHECK_INT(wal_active_segment(w), 4);
	CHECK(wal_close(w, &e) == 0);
	CHECK(checkpoint_create(dir, 0, 4, keep_134, NULL, 350, 0, NULL, &e) == 0);
	snprintf(cp, sizeof(cp), "%s/checkpoint.00000004", dir);
	CHECK(read_dir(cp, &got) == 0);
	/* series 1 3, series 4, samples @400, metadata */
	CHECK_INT(got.n, 4);
	if (got.n == 4) {
		walrec_put_series(&b, s, 2);
		CHECK_MEM(got.p[0], got.len[0], b.p, b.len);
		b.len = 0;
		walrec_put_series(&b, s + 2, 1);
		CHECK_MEM(got.p[1], got.len[1], b.p, b.len);
		b.len = 0;
		walrec_put_samples(&b, a3, 1);
		CHECK_MEM(got.p[2], got.len[2], b.p, b.len);
		CHECK_INT(walrec_type(got.p[3], got.len[3]), WALREC_METADATA);
	}
	CHECK(checkpoint_delete_older(dir, 4, &e) == 0);
	snprintf(cp, sizeof(cp), "%s/checkpoint.00000002", dir);
	CHECK(!path_exists(cp));
	recs_free(&got);
	buf_free(&b);
}

static void
checkpoint_refuses_damaged_input(void)
{
	const char *dir = unit_tmpdir();
	char path[512], *data;
	size_t len;
	struct err e;

	build_wal(dir);
	snprintf(path, sizeof(path), "%s/00000001", dir);
	CHECK(file_read_all(path, &data, &len, &e) == 0);
	data[30] ^= 1;
	CHECK(file_write_atomic(path, data, len, &e) == 0);
	free(data);
	CHECK(checkpoint_create(dir, 0, 2, keep_all, NULL, 0, 0, NULL, &e) == -1);
	CHECK(strstr(e.msg, "read segments") != NULL);
	CHECK(strstr(e.msg, "unexpected checksum") != NULL);
	snprintf(path, sizeof(path), "%s/checkpoint.00000002", dir);
	CHECK(!path_exists(path));
	snprintf(path, sizeof(path), "%s/checkpoint.00000002.tmp", dir);
	CHECK(!path_exists(path));
}

static void
checkpoint_truncate_wal_follows_head_truncation(void)
{
	const char *dir = unit_tmpdir();
	struct walrec_series s[8];
	struct walrec_sample a[8];
	struct label l[8][1];
	char names[8][2];
	struct wal_reader *r;
	struct recs got = { 0 };
	struct buf b = { 0 };
	struct wal *w;
	struct err e;
	int idx, first, last;

	/* Segments 0..6 (6 active): series i and its sample @i*100 in segment i. */
	CHECK(wal_open(&w, dir, NULL, NULL, &e) == 0);
	for (int i = 0; i < 7; i++) {
		names[i][0] = (char)('a' + i);
		names[i][1] = '\0';
		l[i][0] = (struct label){ { "__name__", 8 }, { names[i], 1 } };
		s[i] = (struct walrec_series){ (uint64_t)i + 1, { l[i], 1 } };
		a[i] = (struct walrec_sample){ (uint64_t)i + 1, i * 100, (uint64_t)i };
		if (i > 0)
			CHECK(wal_next_segment(w, NULL, &e) == 0);
		walrec_put_series(&b, s + i, 1);
		log_buf(w, &b);
		walrec_put_samples(&b, a + i, 1);
		log_buf(w, &b);
	}
	CHECK(wal_flush(w, &e) == 0);

	CHECK(checkpoint_truncate_wal(w, keep_all, NULL, 250, &idx, NULL, &e) == 0);
	/* new segment 7; last = 5, two thirds: checkpoint.00000003 */
	CHECK_INT(idx, 3);
	CHECK_INT(wal_active_segment(w), 7);
	CHECK(wal_segments(dir, &first, &last, &e) == 0);
	CHECK_INT(first, 4);
	CHECK_INT(last, 7);

	/* Replay: the checkpoint (series a-d, sample @300), then segments 4.. */
	CHECK(checkpoint_replay_open(&r, dir, &e) == 0);
	CHECK(read_all(r, &got) == 0);
	CHECK_INT(got.n, 5 + 6);
	if (got.n == 11) {
		walrec_put_samples(&b, a + 3, 1);
		CHECK_MEM(got.p[4], got.len[4], b.p, b.len);
		b.len = 0;
		walrec_put_series(&b, s + 4, 1);
		CHECK_MEM(got.p[5], got.len[5], b.p, b.len);
		b.len = 0;
	}
	recs_free(&got);

	/* Again: first 4, last 7 -> new segment 8, checkpoint 4 + (6-4)*2/3 = 5. */
	CHECK(checkpoint_truncate_wal(w, keep_all, NULL, 450, &idx, NULL, &e) == 0);
	CHECK_INT(idx, 5);
	CHECK(checkpoint_last(dir, &idx, NULL, &e) == 1);
	CHECK_INT(idx, 5);
	CHECK(wal_segments(dir, &first, &last, &e) == 0);
	CHECK_INT(first, 6);
	CHECK_INT(last, 8);
	{
		char path[512];

		snprintf(path, sizeof(path), "%s/checkpoint.00000003", dir);
		CHECK(!path_exists(path));
	}

	/* Too few segments: only the new segment happens. */
	CHECK(checkpoint_truncate_wal(w, keep_all, NULL, 550, &idx, NULL, &e) == 0);
	CHECK_INT(idx, -1);
	CHECK_INT(wal_active_segment(w), 9);
	CHECK(wal_close(w, &e) == 0);
	buf_free(&b);
}

static void
checkpoint_replay_needs_the_segment_after_it(void)
{
	const char *dir = unit_tmpdir();
	char path[512];
	struct wal_reader *r;
	struct recs got = { 0 };
	struct err e;

	/* No checkpoint: replay starts at segment 0, which must exist. */
	snprintf(path, sizeof(path), "%s/00000002", dir);
	CHECK(file_write_atomic(path, "", 0, &e) == 0);
	CHECK(checkpoint_replay_open(&r, dir, &e) == -1);
	CHECK(strstr(e.msg, "open WAL segment: 0") != NULL);

	snprintf(path, sizeof(path), "%s/checkpoint.00000000", dir);
	CHECK(mkdir_p(path, 0777, &e) == 0);
	CHECK(checkpoint_replay_open(&r, dir, &e) == -1);
	CHECK(strstr(e.msg, "open WAL segment: 1") != NULL);

	snprintf(path, sizeof(path), "%s/checkpoint.00000001", dir);
	CHECK(mkdir_p(path, 0777, &e) == 0);
	CHECK(checkpoint_replay_open(&r, dir, &e) == 0);
	CHECK(read_all(r, &got) == 0);
	CHECK_INT(got.n, 0);

	/* A checkpoint and segments it covers only: nothing after it is read. */
	snprintf(path, sizeof(path), "%s/checkpoint.00000002", dir);
	CHECK(mkdir_p(path, 0777, &e) == 0);
	CHECK(checkpoint_replay_open(&r, dir, &e) == 0);
	CHECK(read_all(r, &got) == 0);
	CHECK_INT(got.n, 0);
}

static void
checkpoint_last_picks_the_highest_directory(void)
{
	const char *dir = unit_tmpdir();
	char path[512], *p = NULL;
	struct err e;
	int idx = -1;

	CHECK(checkpoint_last(dir, &idx, &p, &e) == 0);
	snprintf(path, sizeof(path), "%s/checkpoint.00000003", dir);
	CHECK(mkdir_p(path, 0777, &e) == 0);
	snprintf(path, sizeof(path), "%s/checkpoint.12", dir);
	CHECK(mkdir_p(path, 0777, &e) == 0);
	snprintf(path, sizeof(path), "%s/checkpoint.00000099.tmp", dir);
	CHECK(mkdir_p(path, 0777, &e) == 0);
	CHECK(checkpoint_last(dir, &idx, &p, &e) == 1);
	CHECK_INT(idx, 12);
	snprintf(path, sizeof(path), "%s/checkpoint.00000012", dir);
	CHECK_STR(p, path);
	free(p);
	snprintf(path, sizeof(path), "%s/checkpoint.00000100", dir);
	CHECK(file_write_atomic(path, "", 0, &e) == 0);
	CHECK(checkpoint_last(dir, &idx, NULL, &e) == -1);
	CHECK(strstr(e.msg, "is not a directory") != NULL);
}

UNIT_CASES(
	UNIT_CASE(checkpoint_keeps_what_prometheus_keeps),
	UNIT_CASE(checkpoint_builds_on_the_previous_one),
	UNIT_CASE(checkpoint_refuses_damaged_input),
	UNIT_CASE(checkpoint_truncate_wal_follows_head_truncation),
	UNIT_CASE(checkpoint_replay_needs_the_segment_after_it),
	UNIT_CASE(checkpoint_last_picks_the_highest_directory),
);
