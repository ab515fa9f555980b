#include <stdlib.h>
#include <string.h>

#include "lib/base/xmalloc.h"
#include "lib/tsdb/walrec.h"

static void	grow(void **, size_t *, size_t, size_t);
static void	skip_labels(struct decbuf *);
static void	skip_body(struct decbuf *, int);
static int	decode_series(struct walrec_dec *, struct decbuf *, struct err *);
static int	decode_samples(struct walrec_dec *, struct decbuf *, struct err *);
static int	decode_tombstones(struct walrec_dec *, struct decbuf *, struct err *);
static int	decode_metadata(struct walrec_dec *, struct decbuf *, struct err *);
static int	check_entries(struct walrec_dec *, struct decbuf *, int, struct err *);

enum walrec_type
walrec_type(const uint8_t *rec, size_t len)
{
	if (len < 1 || rec[0] < WALREC_SERIES || rec[0] > WALREC_FLOAT_HISTOGRAMS)
		return WALREC_UNKNOWN;
	return (enum walrec_type)rec[0];
}

static void
put_labels(struct buf *out, const struct labels *ls)
{
	buf_put_uvarint(out, ls->n);
	for (size_t i = 0; i < ls->n; i++) {
		buf_put_uvarint_str(out, ls->v[i].name.p, ls->v[i].name.len);
		buf_put_uvarint_str(out, ls->v[i].value.p, ls->v[i].value.len);
	}
}

void
walrec_put_series(struct buf *out, const struct walrec_series *s, size_t n)
{
	buf_put_u8(out, WALREC_SERIES);
	for (size_t i = 0; i < n; i++) {
		buf_put_be64(out, s[i].ref);
		put_labels(out, &s[i].lset);
	}
}

void
walrec_put_samples(struct buf *out, const struct walrec_sample *s, size_t n)
{
	buf_put_u8(out, WALREC_SAMPLES);
	if (n == 0)
		return;
	buf_put_be64(out, s[0].ref);
	buf_put_be64(out, (uint64_t)s[0].t);
	buf_reserve(out, n * 28);
	for (size_t i = 0; i < n; i++) {
		/* Go's int64 subtraction wraps; so does this. */
		buf_put_varint(out, (int64_t)(s[i].ref - s[0].ref));
		buf_put_varint(out, (int64_t)((uint64_t)s[i].t - (uint64_t)s[0].t));
		buf_put_be64(out, s[i].v);
	}
}

void
walrec_put_tombstones(struct buf *out, const struct walrec_tombstone *s, size_t n)
{
	buf_put_u8(out, WALREC_TOMBSTONES);
	for (size_t i = 0; i < n; i++) {
		buf_put_be64(out, s[i].ref);
		buf_put_varint(out, s[i].mint);
		buf_put_varint(out, s[i].maxt);
	}
}

void
walrec_put_metadata(struct buf *out, const struct walrec_metadata *m, size_t n)
{
	buf_put_u8(out, WALREC_METADATA);
	for (size_t i = 0; i < n; i++) {
		buf_put_uvarint(out, m[i].ref);
		buf_put_u8(out, m[i].type);
		buf_put_uvarint(out, 2);
		buf_put_uvarint_str(out, "UNIT", 4);
		buf_put_uvarint_str(out, m[i].unit.p, m[i].unit.len);
		buf_put_uvarint_str(out, "HELP", 4);
		buf_put_uvarint_str(out, m[i].help.p, m[i].help.len);
	}
}

/* Make room for one more element in *v (capacity *cap, count n). */
static void
grow(void **v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return;
	*cap = *cap ? *cap * 2 : 64;
	*v = xreallocarray(*v, *cap, size);
}

static int
decode_series(struct walrec_dec *d, struct decbuf *b, struct err *e)
{
	while (b->len > 0 && !b->err) {
		struct walrec_series *s;
		uint64_t n;

		grow((void **)&d->series, &d->seriescap, d->nseries, sizeof(*d->series));
		s = &d->series[d->nseries];
		s->ref = dec_be64(b);
		n = dec_uvarint(b);
		/* lset.v is fixed up below: lv may move while it grows. */
		s->lset.v = NULL;
		s->lset.n = 0;
		for (uint64_t i = 0; i < n && !b->err; i++) {
			struct label *l;
			size_t nl, vl;
			const uint8_t *np = dec_uvarint_str(b, &nl);
			const uint8_t *vp = dec_uvarint_str(b, &vl);

			if (b->err)
				break;
			grow((void **)&d->lv, &d->lvcap, d->nlv, sizeof(*d->lv));
			l = &d->lv[d->nlv++];
			l->name = (struct str){ (const char *)np, nl };
			l->value = (struct str){ (const char *)vp, vl };
			s->lset.n++;
		}
		if (b->err)
			break;
		d->nseries++;
	}
	if (b->err)
		return err_set(e, "decode series: invalid size after %zu series", d->nseries);
	for (size_t i = 0, k = 0; i < d->nseries; k += d->series[i].lset.n, i++)
		d->series[i].lset.v = d->lv + k;
	return 0;
}

static int
decode_samples(struct walrec_dec *d, struct decbuf *b, struct err *e)
{
	uint64_t bref, bt;

	if (b->len == 0)
		return 0;
	bref = dec_be64(b);
	bt = dec_be64(b);
	while (b->len > 0 && !b->err) {
		struct walrec_sample *s;
		uint64_t dref = (uint64_t)dec_varint(b);
		uint64_t dt = (uint64_t)dec_varint(b);
		uint64_t v = dec_be64(b);

		if (b->err)
			break;
		grow((void **)&d->samples, &d->samplescap, d->nsamples, sizeof(*d->samples));
		s = &d->samples[d->nsamples++];
		s->ref = bref + dref;
		s->t = (int64_t)(bt + dt);
		s->v = v;
	}
	if (b->err)
		return err_set(e, "decode samples: invalid size after %zu samples", d->nsamples);
	return 0;
}

static int
decode_tombstones(struct walrec_dec *d, struct decbuf *b, struct err *e)
{
	while (b->len > 0 && !b->err) {
		struct walrec_tombstone *s;
		uint64_t ref = dec_be64(b);
		int64_t mint = dec_varint(b);
		int64_t maxt = dec_varint(b);

		if (b->err)
			break;
		grow((void **)&d->tombstones, &d->tombstonescap, d->ntombstones,
		    sizeof(*d->tombstones));
		s = &d->tombstones[d->ntombstones++];
		s->ref = ref;
		s->mint = mint;
		s->maxt = maxt;
	}
	if (b->err)
		return err_set(e, "decode tombstones: invalid size after %zu tombstones",
		    d->ntombstones);
	return 0;
}

static int
decode_metadata(struct walrec_dec *d, struct decbuf *b, struct err *e)
{
	while (b->len > 0 && !b->err) {
		struct walrec_metadata m = { 0 };
		uint64_t nf;

		m.ref = dec_uvarint(b);
		m.type = dec_u8(b);
		nf = dec_uvarint(b);
		/* Unknown fields are read (to stay aligned) and ignored. */
		for (uint64_t i = 0; i < nf && !b->err; i++) {
			size_t nl, vl;
			const uint8_t *np = dec_uvarint_str(b, &nl);
			const uint8_t *vp = dec_uvarint_str(b, &vl);

			if (b->err)
				break;
			if (nl == 4 && memcmp(np, "UNIT", 4) == 0)
				m.unit = (struct str){ (const char *)vp, vl };
			else if (nl == 4 && memcmp(np, "HELP", 4) == 0)
				m.help = (struct str){ (const char *)vp, vl };
		}
		if (b->err)
			break;
		grow((void **)&d->metadata, &d->metadatacap, d->nmetadata, sizeof(*d->metadata));
		d->metadata[d->nmetadata++] = m;
	}
	if (b->err)
		return err_set(e, "decode metadata: invalid size after %zu entries", d->nmetadata);
	return 0;
}

static void
skip_labels(struct decbuf *b)
{
	uint64_t n = dec_uvarint(b);
	size_t l;

	for (uint64_t i = 0; i < n && !b->err; i++) {
		dec_uvarint_str(b, &l);
		dec_uvarint_str(b, &l);
	}
}

/* The part of an entry after its ref and time deltas. */
static void
skip_body(struct decbuf *b, int type)
{
	int fl = type == WALREC_FLOAT_HISTOGRAMS;

	switch (type) {
	case WALREC_SAMPLES:
		dec_be64(b);
		return;
	case WALREC_EXEMPLARS:
		dec_be64(b);
		skip_labels(b);
		return;
	}
	dec_u8(b);		/* counter reset hint */
	dec_varint(b);		/* schema */
	dec_be64(b);		/* zero threshold */
	if (fl) {
		dec_be64(b);	/* zero count, count */
		dec_be64(b);
	} else {
		dec_uvarint(b);
		dec_uvarint(b);
	}
	dec_be64(b);		/* sum */
	for (int k = 0; k < 2; k++) {	/* positive, negative spans */
		uint64_t n = dec_uvarint(b);

		for (uint64_t i = 0; i < n && !b->err; i++) {
			dec_varint(b);
			dec_uvarint(b);
		}
	}
	for (int k = 0; k < 2; k++) {	/* positive, negative buckets */
		uint64_t n = dec_uvarint(b);

		for (uint64_t i = 0; i < n && !b->err; i++) {
			if (fl)
				dec_be64(b);
			else
				dec_varint(b);
		}
	}
}

static const char *
type_name(int type)
{
	switch (type) {
	case WALREC_SAMPLES:
		return "samples";
	case WALREC_EXEMPLARS:
		return "exemplars";
	case WALREC_HISTOGRAMS:
		return "histograms";
	default:
		return "float histograms";
	}
}

/* Exemplars and histogram samples: base ref and time, then entries. */
static int
check_entries(struct walrec_dec *d, struct decbuf *b, int type, struct err *e)
{
	if (b->len == 0)
		return 0;
	dec_be64(b);
	dec_be64(b);
	while (b->len > 0 && !b->err) {
		dec_varint(b);
		dec_varint(b);
		skip_body(b, type);
		if (!b->err)
			d->nchecked++;
	}
	if (b->err)
		return err_set(e, "decode %s: invalid size after %zu entries",
		    type_name(type), d->nchecked);
	return 0;
}

int
walrec_decode(struct walrec_dec *d, const uint8_t *rec, size_t len, struct err *e)
{
	struct decbuf b;

	d->nseries = d->nsamples = d->ntombstones = d->nmetadata = 0;
	d->nchecked = d->nlv = 0;
	d->type = walrec_type(rec, len);
	if (d->type == WALREC_UNKNOWN)
		return 0;
	decbuf_init(&b, rec + 1, len - 1);
	switch (d->type) {
	case WALREC_SERIES:
		return decode_series(d, &b, e);
	case WALREC_SAMPLES:
		return decode_samples(d, &b, e);
	case WALREC_TOMBSTONES:
		return decode_tombstones(d, &b, e);
	case WALREC_METADATA:
		return decode_metadata(d, &b, e);
	case WALREC_EXEMPLARS:
	case WALREC_HISTOGRAMS:
	case WALREC_FLOAT_HISTOGRAMS:
		return check_entries(d, &b, d->type, e);
	default:	/* mmap markers: only the out-of-order WBL replays them */
		return 0;
	}
}

void
walrec_dec_free(struct walrec_dec *d)
{
	free(d->series);
	free(d->samples);
	free(d->tombstones);
	free(d->metadata);
	free(d->lv);
	memset(d, 0, sizeof(*d));
}

int
walrec_filter_mint(struct buf *out, const uint8_t *rec, size_t len, int64_t mint,
    size_t *total, size_t *kept, struct err *e)
{
	struct decbuf b;
	size_t start = out->len, nt = 0, nk = 0;
	uint64_t bref = 0, bt = 0, kref = 0, kt = 0;
	int type = walrec_type(rec, len);

	if (type != WALREC_SAMPLES && type != WALREC_EXEMPLARS && type != WALREC_HISTOGRAMS)
		return err_set(e, "record type %d has no samples to filter", len ? rec[0] : -1);
	decbuf_init(&b, rec + 1, len - 1);
	if (b.len > 0) {
		bref = dec_be64(&b);
		bt = dec_be64(&b);
	}
	while (b.len > 0 && !b.err) {
		uint64_t ref = bref + (uint64_t)dec_varint(&b);
		uint64_t t = bt + (uint64_t)dec_varint(&b);
		const uint8_t *body = b.p;

		skip_body(&b, type);
		if (b.err)
			break;
		nt++;
		if ((int64_t)t < mint)
			continue;
		if (nk++ == 0) {
			buf_put_u8(out, (uint8_t)type);
			buf_put_be64(out, ref);
			buf_put_be64(out, t);
			kref = ref;
			kt = t;
		}
		buf_put_varint(out, (int64_t)(ref - kref));
		buf_put_varint(out, (int64_t)(t - kt));
		buf_put_bytes(out, body, (size_t)(b.p - body));
	}
	if (b.err) {
		out->len = start;
		return err_set(e, "decode %s: invalid size after %zu entries",
		    type_name(type), nt);
	}
	if (total != NULL)
		*total = nt;
	if (kept != NULL)
		*kept = nk;
	return 0;
}
