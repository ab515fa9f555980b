/*
 * replicate — batches by instance address; the series of a batch are
 * encoded as they go (labels as validated: sorted, no empty values), and
 * the batch is compressed once complete.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/xmalloc.h"
#include "lib/dist/replicate.h"

static struct repl_batch *
batch_of(struct repl *p, const struct ring_instance *x)
{
	for (size_t i = 0; i < p->nb; i++)
		if (strcmp(p->b[i].addr, x->addr) == 0)
			return &p->b[i];
	if (p->nb == p->bcap) {
		p->bcap = p->bcap ? p->bcap * 2 : 8;
		p->b = xreallocarray(p->b, p->bcap, sizeof(*p->b));
	}
	memset(&p->b[p->nb], 0, sizeof(p->b[0]));
	p->b[p->nb].addr = xstrdup(x->addr);
	p->b[p->nb].id = xstrdup(x->id);
	return &p->b[p->nb++];
}

/* Append one series, encoded once for all its replicas (enc). */
static void
batch_add(struct repl_batch *b, const struct buf *enc, size_t nsamples, uint32_t item)
{
	if (b->nitems == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->items = xreallocarray(b->items, b->cap, sizeof(*b->items));
	}
	b->items[b->nitems++] = item;
	buf_put_bytes(&b->body, enc->p, enc->len);
	b->nseries++;
	b->nsamples += nsamples;
}

static uint32_t
token_of(const char *tenant, const struct rw_series *s, int by_all_labels)
{
	struct str name;

	if (by_all_labels)
		return ring_token_for_series(tenant, &s->labels);
	name = labels_get(&s->labels, STR_LIT("__name__"));
	return ring_token_for_metric(tenant, name.p, name.len);
}

int
repl_build(struct repl *p, const struct ring *r, enum ring_op op, int by_all_labels,
    const char *tenant, const struct rw_request *rq, const uint8_t *keep, int64_t now_ms,
    struct err *e)
{
	struct ring_replication_set rs = { 0 };
	struct buf raw = { 0 }, enc = { 0 };

	memset(p, 0, sizeof(*p));
	p->items = xcalloc(rq->nseries + 1, sizeof(*p->items));
	p->nitems = rq->nseries;
	for (size_t i = 0; i < rq->nseries; i++) {
		const struct rw_series *s = &rq->series[i];

		p->items[i].err_batch = -1;
		if (!keep[i])
			continue;
		if (ring_get(r, token_of(tenant, s, by_all_labels), op, now_ms, &rs, e) == -1) {
			ring_replication_set_free(&rs);
			buf_free(&enc);
			repl_free(p);
			return -1;
		}
		p->items[i].nreplicas = (uint8_t)rs.n;
		p->items[i].max_errors = (int8_t)rs.max_errors;
		buf_reset(&enc);
		rw_encode_series(&enc, &s->labels, s->samples, s->nsamples);
		for (size_t k = 0; k < rs.n; k++)
			batch_add(batch_of(p, rs.inst[k]), &enc, s->nsamples, (uint32_t)i);
	}
	ring_replication_set_free(&rs);
	buf_free(&enc);
	/* The bodies held raw protobuf so far. */
	for (size_t i = 0; i < p->nb; i++) {
		struct buf tmp = p->b[i].body;

		buf_reset(&raw);
		p->b[i].body = raw;
		rw_snappy_encode(tmp.p, tmp.len, &p->b[i].body);
		raw = tmp;
	}
	buf_free(&raw);
	p->errmsg = xcalloc(p->nb + 1, sizeof(*p->errmsg));
	p->pending = p->nb;
	return 0;
}

void
repl_answer(struct repl *p, size_t i, int status, const void *body, size_t n)
{
	struct repl_batch *b = &p->b[i];
	int ok = status >= 200 && status < 300;

	p->pending--;
	if (!ok) {
		buf_reset(&p->errmsg[i]);
		buf_put_bytes(&p->errmsg[i], body, n);
	}
	for (size_t k = 0; k < b->nitems; k++) {
		struct repl_item *it = &p->items[b->items[k]];

		if (ok) {
			it->ok++;
			continue;
		}
		it->failed++;
		/* A server error outranks a client error: it is what retrying may fix. */
		if (it->err_batch == -1 || (it->status / 100 == 4 && status / 100 != 4)) {
			it->status = status;
			it->err_batch = (int)i;
		}
	}
}

int
repl_result(const struct repl *p, struct buf *msg)
{
	for (size_t i = 0; i < p->nitems; i++) {
		const struct repl_item *it = &p->items[i];
		const struct repl_batch *b;
		const struct buf *m;

		if (it->nreplicas == 0 || it->failed <= it->max_errors)
			continue;
		b = &p->b[it->err_batch];
		m = &p->errmsg[it->err_batch];
		if (it->status / 100 == 4) {
			buf_put_bytes(msg, m->p, m->len);
			return it->status;
		}
		buf_put_bytes(msg, "failed pushing to ingester ", 27);
		buf_put_bytes(msg, b->id, strlen(b->id));
		buf_put_bytes(msg, ": ", 2);
		buf_put_bytes(msg, m->p, m->len);
		return 500;
	}
	return 200;
}

void
repl_free(struct repl *p)
{
	for (size_t i = 0; i < p->nb; i++) {
		free(p->b[i].addr);
		free(p->b[i].id);
		free(p->b[i].items);
		buf_free(&p->b[i].body);
	}
	for (size_t i = 0; p->errmsg != NULL && i < p->nb; i++)
		buf_free(&p->errmsg[i]);
	free(p->errmsg);
	free(p->b);
	free(p->items);
	memset(p, 0, sizeof(*p));
}
