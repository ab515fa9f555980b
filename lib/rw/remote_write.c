#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>

#include "lib/base/err.h"
#include "lib/base/xmalloc.h"
#include "lib/rw/pbwire.h"
#include "lib/rw/remote_write.h"
#include "lib/tsdb/encoding.h"

static void	*grow(void *, size_t *, size_t, size_t);
static int	 sample_decode(struct pb_reader *, struct rw_sample *,
		    struct err *);
static int	 series_field(struct rw_request *, struct rw_series *,
		    struct pb_reader *, struct err *);
static int	 metadata_decode(struct pb_reader *, struct rw_metadata *,
		    struct err *);
static int	 request_decode(struct rw_request *, const void *, size_t,
		    struct err *);

/* Exemplars and native histograms are only checked and counted. */
static const struct pb_fielddef label_fields[] = {
	{ 1, PB_K_BYTES, "name", NULL },
	{ 2, PB_K_BYTES, "value", NULL },
};
static const struct pb_msgdef label_def = { label_fields, 2 };

static const struct pb_fielddef exemplar_fields[] = {
	{ 1, PB_K_MSG, "label", &label_def },
	{ 2, PB_K_I64, "value", NULL },
	{ 3, PB_K_VARINT, "timestamp", NULL },
};
static const struct pb_msgdef exemplar_def = { exemplar_fields, 3 };

static const struct pb_fielddef span_fields[] = {
	{ 1, PB_K_VARINT, "offset", NULL },
	{ 2, PB_K_VARINT, "length", NULL },
};
static const struct pb_msgdef span_def = { span_fields, 2 };

static const struct pb_fielddef histogram_fields[] = {
	{ 1, PB_K_VARINT, "count_int", NULL },
	{ 2, PB_K_I64, "count_float", NULL },
	{ 3, PB_K_I64, "sum", NULL },
	{ 4, PB_K_VARINT, "schema", NULL },
	{ 5, PB_K_I64, "zero_threshold", NULL },
	{ 6, PB_K_VARINT, "zero_count_int", NULL },
	{ 7, PB_K_I64, "zero_count_float", NULL },
	{ 8, PB_K_MSG, "negative_span", &span_def },
	{ 9, PB_K_RVARINT, "negative_deltas", NULL },
	{ 10, PB_K_RI64, "negative_counts", NULL },
	{ 11, PB_K_MSG, "positive_span", &span_def },
	{ 12, PB_K_RVARINT, "positive_deltas", NULL },
	{ 13, PB_K_RI64, "positive_counts", NULL },
	{ 14, PB_K_VARINT, "reset_hint", NULL },
	{ 15, PB_K_VARINT, "timestamp", NULL },
};
static const struct pb_msgdef histogram_def = { histogram_fields, 15 };

/* Make room for one more element of size sz in p; returns the array. */
static void *
grow(void *p, size_t *cap, size_t len, size_t sz)
{
	if (len < *cap)
		return p;
	*cap = *cap == 0 ? 64 : *cap * 2;
	return xreallocarray(p, *cap, sz);
}

int
rw_decode_label(const uint8_t *p, size_t n, struct label *l, struct err *e)
{
	struct pb_reader rd, *r = &rd, s;
	struct str *dst;
	int rc;

	pb_reader_init(r, p, n);
	l->name = l->value = (struct str){ "", 0 };
	while (pb_more(r)) {
		if (pb_next(r, e) == -1)
			return -1;
		if (r->field != 1 && r->field != 2) {
			if (pb_skip_field(r, e) == -1)
				return -1;
			continue;
		}
		if (r->wt != PB_LEN)
			return pb_err_wiretype(e, r, r->field == 1 ? "name" : "value");
		if ((rc = pb_len(r, &s)) != PB_OK)
			return pb_err(e, rc, r);
		dst = r->field == 1 ? &l->name : &l->value;
		dst->p = (const char *)s.p;
		dst->len = pb_left(&s);
	}
	return 0;
}

static int
sample_decode(struct pb_reader *r, struct rw_sample *s, struct err *e)
{
	uint64_t v;
	int rc;

	s->t = 0;
	s->v = 0;
	while (pb_more(r)) {
		if (pb_next(r, e) == -1)
			return -1;
		switch (r->field) {
		case 1:
			if (r->wt != PB_I64)
				return pb_err_wiretype(e, r, "value");
			if ((rc = pb_fixed64(r, &s->v)) != PB_OK)
				return pb_err(e, rc, r);
			break;
		case 2:
			if (r->wt != PB_VARINT)
				return pb_err_wiretype(e, r, "timestamp");
			if ((rc = pb_varint(r, &v)) != PB_OK)
				return pb_err(e, rc, r);
			s->t = (int64_t)v;
			break;
		default:
			if (pb_skip_field(r, e) == -1)
				return -1;
		}
	}
	return 0;
}

/* One field of a TimeSeries, its tag already read. */
static int
series_field(struct rw_request *rq, struct rw_series *ts, struct pb_reader *r,
    struct err *e)
{
	static const char *names[] = { "labels", "samples", "exemplars",
	    "histograms" };
	struct pb_reader sub;
	int rc;

	if (r->field > 4) {
		if (pb_skip_field(r, e) == -1)
			return -1;
		return 0;
	}
	if (r->wt != PB_LEN)
		return pb_err_wiretype(e, r, names[r->field - 1]);
	if ((rc = pb_len(r, &sub)) != PB_OK)
		return pb_err(e, rc, r);
	switch (r->field) {
	case 1:
		rq->lpool = grow(rq->lpool, &rq->lpool_cap, rq->lpool_len,
		    sizeof(*rq->lpool));
		if (rw_decode_label(sub.p, pb_left(&sub),
		    &rq->lpool[rq->lpool_len], e) == -1)
			return err_wrap(e, "label %zu", ts->labels.n);
		rq->lpool_len++;
		ts->labels.n++;
		break;
	case 2:
		rq->spool = grow(rq->spool, &rq->spool_cap, rq->spool_len,
		    sizeof(*rq->spool));
		if (sample_decode(&sub, &rq->spool[rq->spool_len], e) == -1)
			return err_wrap(e, "sample %zu", ts->nsamples);
		rq->spool_len++;
		ts->nsamples++;
		break;
	case 3:
		if (pb_check(&exemplar_def, sub.p, pb_left(&sub), e) == -1)
			return err_wrap(e, "exemplar %zu", ts->nexemplars);
		ts->nexemplars++;
		break;
	case 4:
		if (pb_check(&histogram_def, sub.p, pb_left(&sub), e) == -1)
			return err_wrap(e, "histogram %zu", ts->nhistograms);
		ts->nhistograms++;
		break;
	}
	return 0;
}

int
rw_decode_series(struct rw_request *rq, const uint8_t *p, size_t n,
    struct err *e)
{
	struct rw_series *ts;
	struct pb_reader r;

	rq->series = grow(rq->series, &rq->series_cap, rq->nseries,
	    sizeof(*rq->series));
	ts = &rq->series[rq->nseries];
	memset(ts, 0, sizeof(*ts));
	ts->raw = p;
	ts->rawlen = n;
	ts->lab_off = rq->lpool_len;
	ts->smp_off = rq->spool_len;
	pb_reader_init(&r, p, n);
	while (pb_more(&r)) {
		if (pb_next(&r, e) == -1)
			return -1;
		if (series_field(rq, ts, &r, e) == -1)
			return -1;
	}
	rq->nseries++;
	rq->nsamples += ts->nsamples;
	rq->nexemplars += ts->nexemplars;
	rq->nhistograms += ts->nhistograms;
	return 0;
}

static int
metadata_decode(struct pb_reader *r, struct rw_metadata *m, struct err *e)
{
	static const char *names[] = { "type", "metric_family_name", "", "help",
	    "unit" };
	struct pb_reader s;
	struct str *dst;
	uint64_t v;
	int rc;

	m->type = 0;
	m->family = m->help = m->unit = (struct str){ "", 0 };
	while (pb_more(r)) {
		if (pb_next(r, e) == -1)
			return -1;
		if (r->field == 3 || r->field > 5) {
			if (pb_skip_field(r, e) == -1)
				return -1;
			continue;
		}
		if (r->field == 1) {
			if (r->wt != PB_VARINT)
				return pb_err_wiretype(e, r, names[0]);
			if ((rc = pb_varint(r, &v)) != PB_OK)
				return pb_err(e, rc, r);
			m->type = (int32_t)(uint32_t)v;
			continue;
		}
		if (r->wt != PB_LEN)
			return pb_err_wiretype(e, r, names[r->field - 1]);
		if ((rc = pb_len(r, &s)) != PB_OK)
			return pb_err(e, rc, r);
		dst = r->field == 2 ? &m->family : r->field == 4 ? &m->help :
		    &m->unit;
		dst->p = (const char *)s.p;
		dst->len = pb_left(&s);
	}
	return 0;
}

void
rw_request_reset(struct rw_request *rq)
{
	rq->nseries = rq->nmetadata = 0;
	rq->nsamples = rq->nexemplars = rq->nhistograms = 0;
	rq->lpool_len = rq->spool_len = 0;
}

void
rw_request_finish(struct rw_request *rq)
{
	for (size_t i = 0; i < rq->nseries; i++) {
		struct rw_series *ts = &rq->series[i];

		ts->labels.v = ts->labels.n ? rq->lpool + ts->lab_off : NULL;
		ts->samples = ts->nsamples ? rq->spool + ts->smp_off : NULL;
	}
}

static int
request_decode(struct rw_request *rq, const void *p, size_t n, struct err *e)
{
	struct pb_reader r, sub;
	struct rw_metadata *m;
	int rc;

	pb_reader_init(&r, p, n);
	while (pb_more(&r)) {
		if ((rc = pb_tag(&r)) != PB_OK)
			goto bad;
		if (r.field != 1 && r.field != 3) {
			if ((rc = pb_skip(&r)) != PB_OK)
				goto bad;
			continue;
		}
		if (r.wt != PB_LEN) {
			pb_err_wiretype(e, &r, r.field == 1 ? "timeseries" :
			    "metadata");
			return err_wrap(e, "proto");
		}
		if ((rc = pb_len(&r, &sub)) != PB_OK)
			goto bad;
		if (r.field == 1) {
			if (rw_decode_series(rq, sub.p, pb_left(&sub), e) == -1)
				return err_wrap(e, "proto: timeseries %zu",
				    rq->nseries);
			continue;
		}
		rq->metadata = grow(rq->metadata, &rq->metadata_cap,
		    rq->nmetadata, sizeof(*rq->metadata));
		m = &rq->metadata[rq->nmetadata];
		m->raw = sub.p;
		m->rawlen = pb_left(&sub);
		if (metadata_decode(&sub, m, e) == -1)
			return err_wrap(e, "proto: metadata %zu", rq->nmetadata);
		rq->nmetadata++;
	}
	rw_request_finish(rq);
	return 0;
bad:
	pb_err(e, rc, &r);
	return err_wrap(e, "proto");
}

int
rw_decode(struct rw_request *rq, const void *p, size_t n, struct err *e)
{
	rw_request_reset(rq);
	if (request_decode(rq, p, n, e) == 0)
		return 0;
	/* Never leave half a request behind. */
	rw_request_reset(rq);
	return -1;
}

void
rw_request_free(struct rw_request *rq)
{
	free(rq->series);
	free(rq->metadata);
	free(rq->lpool);
	free(rq->spool);
	memset(rq, 0, sizeof(*rq));
}

size_t
rw_series_open(struct buf *b, const struct labels *ls)
{
	size_t ts = pb_open(b, 1), m;

	for (size_t i = 0; i < ls->n; i++) {
		const struct label *l = &ls->v[i];

		m = pb_open(b, 1);
		if (l->name.len > 0)
			pb_put_bytes(b, 1, l->name.p, l->name.len);
		if (l->value.len > 0)
			pb_put_bytes(b, 2, l->value.p, l->value.len);
		pb_close(b, m);
	}
	return ts;
}

void
rw_series_sample(struct buf *b, int64_t t, uint64_t v)
{
	size_t m = pb_open(b, 2);
	double d;

	memcpy(&d, &v, sizeof(d));
	/* gogo tests the double against 0: -0.0 is left out too, NaN is not. */
	if (d != 0)
		pb_put_fixed64(b, 1, v);
	if (t != 0)
		pb_put_varint(b, 2, (uint64_t)t);
	pb_close(b, m);
}

void
rw_series_close(struct buf *b, size_t mark)
{
	pb_close(b, mark);
}

void
rw_encode_series(struct buf *b, const struct labels *ls,
    const struct rw_sample *s, size_t n)
{
	size_t ts = rw_series_open(b, ls);

	for (size_t i = 0; i < n; i++)
		rw_series_sample(b, s[i].t, s[i].v);
	rw_series_close(b, ts);
}

int
rw_snappy_decode(const void *in, size_t n, size_t max, struct buf *out,
    struct err *e)
{
	size_t ulen, got;

	if (n > max)
		return err_set(e, "received message larger than max (%zu vs %zu)",
		    n, max);
	if (snappy_uncompressed_length(in, n, &ulen) != SNAPPY_OK)
		return err_set(e, "snappy: corrupt input");
	if (ulen > max)
		return err_set(e, "received message larger than max (%zu vs %zu)",
		    ulen, max);
	buf_reset(out);
	buf_reserve(out, ulen + 1);
	got = ulen;
	if (snappy_uncompress(in, n, (char *)out->p, &got) != SNAPPY_OK ||
	    got != ulen)
		return err_set(e, "snappy: corrupt input");
	out->len = got;
	return 0;
}

void
rw_snappy_encode(const void *in, size_t n, struct buf *out)
{
	size_t max = snappy_max_compressed_length(n), got = max;

	buf_reserve(out, max);
	/* Cannot fail: the output has snappy's own worst-case size. */
	snappy_compress(in, n, (char *)out->p + out->len, &got);
	out->len += got;
}
