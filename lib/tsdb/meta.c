#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/base/fileutil.h"
#include "lib/base/xmalloc.h"
#include "lib/tsdb/meta.h"

/*
 * Encoding mirrors Go's json.MarshalIndent(v, "", "\t") over the structs of
 * tsdb/block.go and Thanos' metadata.Thanos, field by field; decoding goes
 * through jansson and checks the type of every field it keeps. Fields
 * neither of them writes (Thanos rewrites, index_stats, ...) are ignored on
 * read and so not written back.
 */

static void	put_key(struct buf *, int, const char *, int);
static void	put_newline(struct buf *, int);
static void	put_int(struct buf *, int64_t);
static void	put_uint(struct buf *, uint64_t);
static void	put_str(struct buf *, const char *);
static size_t	utf8_len(const uint8_t *, size_t);
static void	put_str_array(struct buf *, int, char **, size_t);
static void	encode_compaction(const struct block_meta *, struct buf *);
static void	encode_thanos(const struct thanos_meta *, struct buf *);
static int	get_int(json_t *, const char *, const char *, int64_t, int64_t,
		    int64_t *, int, struct err *);
static int	get_str(json_t *, const char *, const char *, char **, struct err *);
static int	get_ulid(json_t *, const char *, char *, struct err *);
static int	get_strings(json_t *, const char *, const char *, char ***,
		    size_t *, struct err *);
static int	decode_stats(json_t *, struct block_meta *, struct err *);
static int	decode_compaction(json_t *, struct block_meta *, struct err *);
static int	decode_parents(json_t *, struct block_meta *, struct err *);
static int	decode_thanos(json_t *, struct thanos_meta *, struct err *);
static int	decode_thanos_files(json_t *, struct thanos_meta *, struct err *);

static void
put_newline(struct buf *b, int depth)
{
	buf_reserve(b, (size_t)depth + 1);
	b->p[b->len++] = '\n';
	for (int i = 0; i < depth; i++)
		b->p[b->len++] = '\t';
}

/* `,` unless first, newline, indent, `"key": `. */
static void
put_key(struct buf *b, int depth, const char *key, int first)
{
	if (!first)
		buf_put_u8(b, ',');
	put_newline(b, depth);
	buf_put_u8(b, '"');
	buf_put_bytes(b, key, strlen(key));
	buf_put_bytes(b, "\": ", 3);
}

static void
put_int(struct buf *b, int64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%" PRId64, v);

	buf_put_bytes(b, tmp, (size_t)n);
}

static void
put_uint(struct buf *b, uint64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v);

	buf_put_bytes(b, tmp, (size_t)n);
}

/* Length of the valid UTF-8 sequence at p, 0 if it is not one. */
static size_t
utf8_len(const uint8_t *p, size_t n)
{
	uint8_t c = p[0], lo = 0x80, hi = 0xbf;
	size_t need;

	if (c < 0xc2 || c > 0xf4)
		return 0;
	need = c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (n < need + 1 || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i <= need; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return need + 1;
}

/*
 * Go's encoding/json string (Go 1.19, HTML escaping on): \" \\ \n \r \t,
 * other controls and < > & as \u00XX, U+2028/U+2029 escaped, invalid
 * UTF-8 as \ufffd, everything else raw.
 */
static void
put_str(struct buf *b, const char *str)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *s = (const uint8_t *)(str != NULL ? str : "");
	size_t n = strlen((const char *)s), i = 0;

	buf_put_u8(b, '"');
	while (i < n) {
		uint8_t c = s[i];
		char esc[6] = { '\\', 'u', '0', '0', 0, 0 };
		size_t w;

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && c != '<' &&
		    c != '>' && c != '&') {
			buf_put_u8(b, c);
			i++;
			continue;
		}
		if (c < 0x80) {
			if (c == '"' || c == '\\') {
				esc[1] = (char)c;
				buf_put_bytes(b, esc, 2);
			} else if (c == '\n' || c == '\r' || c == '\t') {
				esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
				buf_put_bytes(b, esc, 2);
			} else {
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 0xf];
				buf_put_bytes(b, esc, 6);
			}
			i++;
			continue;
		}
		if ((w = utf8_len(s + i, n - i)) == 0) {
			buf_put_bytes(b, "\\ufffd", 6);
			i++;
			continue;
		}
		if (w == 3 && c == 0xe2 && s[i + 1] == 0x80 &&
		    (s[i + 2] == 0xa8 || s[i + 2] == 0xa9))
			buf_put_bytes(b, s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
		else
			buf_put_bytes(b, s + i, w);
		i += w;
	}
	buf_put_u8(b, '"');
}

static void
put_str_array(struct buf *b, int depth, char **v, size_t n)
{
	buf_put_u8(b, '[');
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf_put_u8(b, ',');
		put_newline(b, depth + 1);
		put_str(b, v[i]);
	}
	put_newline(b, depth);
	buf_put_u8(b, ']');
}

static void
encode_compaction(const struct block_meta *m, struct buf *b)
{
	put_key(b, 1, "compaction", 0);
	buf_put_u8(b, '{');
	put_key(b, 2, "level", 1);
	put_int(b, m->level);
	if (m->nsources > 0) {
		put_key(b, 2, "sources", 0);
		buf_put_u8(b, '[');
		for (size_t i = 0; i < m->nsources; i++) {
			if (i > 0)
				buf_put_u8(b, ',');
			put_newline(b, 3);
			put_str(b, m->sources[i]);
		}
		put_newline(b, 2);
		buf_put_u8(b, ']');
	}
	if (m->deletable) {
		put_key(b, 2, "deletable", 0);
		buf_put_bytes(b, "true", 4);
	}
	if (m->nparents > 0) {
		put_key(b, 2, "parents", 0);
		buf_put_u8(b, '[');
		for (size_t i = 0; i < m->nparents; i++) {
			if (i > 0)
				buf_put_u8(b, ',');
			put_newline(b, 3);
			buf_put_u8(b, '{');
			put_key(b, 4, "ulid", 1);
			put_str(b, m->parents[i].ulid);
			put_key(b, 4, "minTime", 0);
			put_int(b, m->parents[i].min_time);
			put_key(b, 4, "maxTime", 0);
			put_int(b, m->parents[i].max_time);
			put_newline(b, 3);
			buf_put_u8(b, '}');
		}
		put_newline(b, 2);
		buf_put_u8(b, ']');
	}
	if (m->failed) {
		put_key(b, 2, "failed", 0);
		buf_put_bytes(b, "true", 4);
	}
	if (m->nhints > 0) {
		put_key(b, 2, "hints", 0);
		put_str_array(b, 2, m->hints, m->nhints);
	}
	put_newline(b, 1);
	buf_put_u8(b, '}');
}

static void
encode_thanos(const struct thanos_meta *t, struct buf *b)
{
	int first = 1;

	put_key(b, 1, "thanos", 0);
	buf_put_u8(b, '{');
	if (t->version != 0) {
		put_key(b, 2, "version", 1);
		put_int(b, t->version);
		first = 0;
	}
	/* A Go map: never omitted, keys in byte order, {} when empty. */
	put_key(b, 2, "labels", first);
	buf_put_u8(b, '{');
	for (size_t i = 0; i < t->nlabels; i++) {
		if (i > 0)
			buf_put_u8(b, ',');
		put_newline(b, 3);
		put_str(b, t->label_names[i]);
		buf_put_bytes(b, ": ", 2);
		put_str(b, t->label_values[i]);
	}
	if (t->nlabels > 0)
		put_newline(b, 2);
	buf_put_u8(b, '}');
	put_key(b, 2, "downsample", 0);
	buf_put_u8(b, '{');
	put_key(b, 3, "resolution", 1);
	put_int(b, t->downsample_resolution);
	put_newline(b, 2);
	buf_put_u8(b, '}');
	put_key(b, 2, "source", 0);
	put_str(b, t->source);
	if (t->nsegment_files > 0) {
		put_key(b, 2, "segment_files", 0);
		put_str_array(b, 2, t->segment_files, t->nsegment_files);
	}
	if (t->nfiles > 0) {
		put_key(b, 2, "files", 0);
		buf_put_u8(b, '[');
		for (size_t i = 0; i < t->nfiles; i++) {
			if (i > 0)
				buf_put_u8(b, ',');
			put_newline(b, 3);
			buf_put_u8(b, '{');
			put_key(b, 4, "rel_path", 1);
			put_str(b, t->files[i].rel_path);
			if (t->files[i].size_bytes != 0) {
				put_key(b, 4, "size_bytes", 0);
				put_int(b, t->files[i].size_bytes);
			}
			put_newline(b, 3);
			buf_put_u8(b, '}');
		}
		put_newline(b, 2);
		buf_put_u8(b, ']');
	}
	put_newline(b, 1);
	buf_put_u8(b, '}');
}

void
meta_encode(const struct block_meta *m, struct buf *b, int thanos_newline)
{
	int first = 1;

	buf_put_u8(b, '{');
	put_key(b, 1, "ulid", 1);
	put_str(b, m->ulid);
	put_key(b, 1, "minTime", 0);
	put_int(b, m->min_time);
	put_key(b, 1, "maxTime", 0);
	put_int(b, m->max_time);
	/* A struct: omitempty does not apply, so {} when all counts are 0. */
	put_key(b, 1, "stats", 0);
	buf_put_u8(b, '{');
	if (m->num_samples != 0) {
		put_key(b, 2, "numSamples", first);
		put_uint(b, m->num_samples);
		first = 0;
	}
	if (m->num_series != 0) {
		put_key(b, 2, "numSeries", first);
		put_uint(b, m->num_series);
		first = 0;
	}
	if (m->num_chunks != 0) {
		put_key(b, 2, "numChunks", first);
		put_uint(b, m->num_chunks);
		first = 0;
	}
	if (m->num_tombstones != 0) {
		put_key(b, 2, "numTombstones", first);
		put_uint(b, m->num_tombstones);
		first = 0;
	}
	if (!first)
		put_newline(b, 1);
	buf_put_u8(b, '}');
	encode_compaction(m, b);
	/* Prometheus' writeMetaFile sets Version = 1 whatever the struct held. */
	put_key(b, 1, "version", 0);
	put_int(b, 1);
	if (m->has_thanos)
		encode_thanos(&m->thanos, b);
	put_newline(b, 0);
	buf_put_u8(b, '}');
	if (thanos_newline)
		buf_put_u8(b, '\n');
}

int
meta_write(const char *block_dir, const struct block_meta *m, struct err *e)
{
	struct buf b = { 0 };
	char *path;
	int rc;

	/* Only Thanos writes a Thanos section, and Thanos ends the file with a newline. */
	meta_encode(m, &b, m->has_thanos);
	xasprintf(&path, "%s/meta.json", block_dir);
	rc = file_write_atomic(path, b.p, b.len, e);
	free(path);
	buf_free(&b);
	return rc;
}

/*
 * An integer field within [lo, hi]. Absent or null leaves *out alone
 * unless required.
 */
static int
get_int(json_t *obj, const char *ctx, const char *key, int64_t lo, int64_t hi,
    int64_t *out, int required, struct err *e)
{
	json_t *v = json_object_get(obj, key);
	json_int_t x;

	if (v == NULL || json_is_null(v)) {
		if (required)
			return err_set(e, "meta.json: %s%s: missing", ctx, key);
		return 0;
	}
	if (!json_is_integer(v))
		return err_set(e, "meta.json: %s%s: not an integer", ctx, key);
	x = json_integer_value(v);
	if (x < lo || x > hi)
		return err_set(e, "meta.json: %s%s: %lld out of range", ctx, key,
		    (long long)x);
	*out = x;
	return 0;
}

/* A string field; *out is a malloc'd copy, or stays NULL when absent. */
static int
get_str(json_t *obj, const char *ctx, const char *key, char **out, struct err *e)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return err_set(e, "meta.json: %s%s: not a string", ctx, key);
	*out = xstrdup(json_string_value(v));
	return 0;
}

/* A ULID string; canonical upper-case text in out. */
static int
get_ulid(json_t *v, const char *what, char *out, struct err *e)
{
	struct ulid u;

	if (v == NULL || !json_is_string(v))
		return err_set(e, "meta.json: %s: missing or not a string", what);
	if (ulid_parse(json_string_value(v), &u) == -1)
		return err_set(e, "meta.json: %s: invalid ULID \"%.40s\"", what,
		    json_string_value(v));
	ulid_format(&u, out);
	return 0;
}

static int
get_strings(json_t *obj, const char *ctx, const char *key, char ***out,
    size_t *n, struct err *e)
{
	json_t *v = json_object_get(obj, key), *s;
	size_t i;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return err_set(e, "meta.json: %s%s: not an array", ctx, key);
	*out = xcalloc(json_array_size(v) + 1, sizeof(**out));
	json_array_foreach(v, i, s) {
		if (!json_is_string(s))
			return err_set(e, "meta.json: %s%s[%zu]: not a string",
			    ctx, key, i);
		(*out)[i] = xstrdup(json_string_value(s));
		*n = i + 1;
	}
	return 0;
}

static int
decode_stats(json_t *root, struct block_meta *m, struct err *e)
{
	json_t *st = json_object_get(root, "stats");
	int64_t v;

	if (st == NULL || json_is_null(st))
		return 0;
	if (!json_is_object(st))
		return err_set(e, "meta.json: stats: not an object");
	v = 0;
	if (get_int(st, "stats.", "numSamples", 0, INT64_MAX, &v, 0, e) == -1)
		return -1;
	m->num_samples = (uint64_t)v;
	v = 0;
	if (get_int(st, "stats.", "numSeries", 0, INT64_MAX, &v, 0, e) == -1)
		return -1;
	m->num_series = (uint64_t)v;
	v = 0;
	if (get_int(st, "stats.", "numChunks", 0, INT64_MAX, &v, 0, e) == -1)
		return -1;
	m->num_chunks = (uint64_t)v;
	v = 0;
	if (get_int(st, "stats.", "numTombstones", 0, INT64_MAX, &v, 0, e) == -1)
		return -1;
	m->num_tombstones = (uint64_t)v;
	return 0;
}

static int
decode_parents(json_t *c, struct block_meta *m, struct err *e)
{
	json_t *v = json_object_get(c, "parents"), *p;
	size_t i;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return err_set(e, "meta.json: compaction.parents: not an array");
	m->parents = xcalloc(json_array_size(v) + 1, sizeof(*m->parents));
	json_array_foreach(v, i, p) {
		struct block_desc *d = &m->parents[i];
		char what[64];

		if (!json_is_object(p))
			return err_set(e, "meta.json: compaction.parents[%zu]: "
			    "not an object", i);
		snprintf(what, sizeof(what), "compaction.parents[%zu].ulid", i);
		if (get_ulid(json_object_get(p, "ulid"), what, d->ulid, e) == -1)
			return -1;
		snprintf(what, sizeof(what), "compaction.parents[%zu].", i);
		if (get_int(p, what, "minTime", INT64_MIN, INT64_MAX,
		    &d->min_time, 0, e) == -1 ||
		    get_int(p, what, "maxTime", INT64_MIN, INT64_MAX,
		    &d->max_time, 0, e) == -1)
			return -1;
		m->nparents = i + 1;
	}
	return 0;
}

static int
decode_compaction(json_t *root, struct block_meta *m, struct err *e)
{
	json_t *c = json_object_get(root, "compaction"), *v, *s;
	int64_t level = 0;
	size_t i;

	if (c == NULL || json_is_null(c))
		return 0;
	if (!json_is_object(c))
		return err_set(e, "meta.json: compaction: not an object");
	if (get_int(c, "compaction.", "level", INT_MIN, INT_MAX, &level, 0, e) == -1)
		return -1;
	m->level = (int)level;
	v = json_object_get(c, "sources");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_array(v))
			return err_set(e, "meta.json: compaction.sources: not an array");
		m->sources = xcalloc(json_array_size(v) + 1, sizeof(*m->sources));
		json_array_foreach(v, i, s) {
			char what[48];

			snprintf(what, sizeof(what), "compaction.sources[%zu]", i);
			if (get_ulid(s, what, m->sources[i], e) == -1)
				return -1;
			m->nsources = i + 1;
		}
	}
	for (i = 0; i < 2; i++) {
		const char *key = i == 0 ? "deletable" : "failed";

		v = json_object_get(c, key);
		if (v == NULL || json_is_null(v))
			continue;
		if (!json_is_boolean(v))
			return err_set(e, "meta.json: compaction.%s: not a boolean", key);
		*(i == 0 ? &m->deletable : &m->failed) = json_is_true(v);
	}
	if (decode_parents(c, m, e) == -1)
		return -1;
	return get_strings(c, "compaction.", "hints", &m->hints, &m->nhints, e);
}

static int
decode_thanos_files(json_t *t, struct thanos_meta *th, struct err *e)
{
	json_t *v = json_object_get(t, "files"), *f;
	size_t i;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return err_set(e, "meta.json: thanos.files: not an array");
	th->files = xcalloc(json_array_size(v) + 1, sizeof(*th->files));
	json_array_foreach(v, i, f) {
		struct thanos_file *tf = &th->files[i];
		char what[48];

		if (!json_is_object(f))
			return err_set(e, "meta.json: thanos.files[%zu]: not an object", i);
		snprintf(what, sizeof(what), "thanos.files[%zu].", i);
		th->nfiles = i + 1;
		if (get_str(f, what, "rel_path", &tf->rel_path, e) == -1)
			return -1;
		if (tf->rel_path == NULL)
			return err_set(e, "meta.json: %srel_path: missing", what);
		if (get_int(f, what, "size_bytes", 0, INT64_MAX, &tf->size_bytes,
		    0, e) == -1)
			return -1;
	}
	return 0;
}

static int
decode_thanos(json_t *t, struct thanos_meta *th, struct err *e)
{
	json_t *v;
	int64_t x = 0;

	if (!json_is_object(t))
		return err_set(e, "meta.json: thanos: not an object");
	if (get_int(t, "thanos.", "version", INT_MIN, INT_MAX, &x, 0, e) == -1)
		return -1;
	th->version = (int)x;
	v = json_object_get(t, "labels");
	if (v != NULL && !json_is_null(v)) {
		const char *k;
		json_t *lv;

		if (!json_is_object(v))
			return err_set(e, "meta.json: thanos.labels: not an object");
		th->label_names = xcalloc(json_object_size(v) + 1, sizeof(char *));
		th->label_values = xcalloc(json_object_size(v) + 1, sizeof(char *));
		json_object_foreach(v, k, lv) {
			size_t j;

			if (!json_is_string(lv))
				return err_set(e, "meta.json: thanos.labels.%.64s: "
				    "not a string", k);
			/* Keep them sorted by name, as the header promises. */
			for (j = th->nlabels; j > 0 &&
			    strcmp(th->label_names[j - 1], k) > 0; j--) {
				th->label_names[j] = th->label_names[j - 1];
				th->label_values[j] = th->label_values[j - 1];
			}
			th->label_names[j] = xstrdup(k);
			th->label_values[j] = xstrdup(json_string_value(lv));
			th->nlabels++;
		}
	}
	v = json_object_get(t, "downsample");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_object(v))
			return err_set(e, "meta.json: thanos.downsample: not an object");
		if (get_int(v, "thanos.downsample.", "resolution", 0, INT64_MAX,
		    &th->downsample_resolution, 0, e) == -1)
			return -1;
	}
	if (get_str(t, "thanos.", "source", &th->source, e) == -1)
		return -1;
	if (get_strings(t, "thanos.", "segment_files", &th->segment_files,
	    &th->nsegment_files, e) == -1)
		return -1;
	return decode_thanos_files(t, th, e);
}

int
meta_decode(const char *json, size_t len, struct block_meta *m, struct err *e)
{
	json_error_t jerr;
	json_t *root, *v;
	int64_t x;

	memset(m, 0, sizeof(*m));
	if ((root = json_loadb(json, len, 0, &jerr)) == NULL)
		return err_set(e, "meta.json: line %d column %d: %s", jerr.line,
		    jerr.column, jerr.text);
	if (!json_is_object(root)) {
		err_set(e, "meta.json: not a JSON object");
		goto fail;
	}
	if (get_ulid(json_object_get(root, "ulid"), "ulid", m->ulid, e) == -1)
		goto fail;
	if (get_int(root, "", "minTime", INT64_MIN, INT64_MAX, &m->min_time, 0, e) == -1 ||
	    get_int(root, "", "maxTime", INT64_MIN, INT64_MAX, &m->max_time, 0, e) == -1)
		goto fail;
	if (decode_stats(root, m, e) == -1 || decode_compaction(root, m, e) == -1)
		goto fail;
	x = 0;
	if (get_int(root, "", "version", INT_MIN, INT_MAX, &x, 0, e) == -1)
		goto fail;
	if (x != 1) {
		err_set(e, "meta.json: unexpected meta file version %lld", (long long)x);
		goto fail;
	}
	m->version = 1;
	v = json_object_get(root, "thanos");
	if (v != NULL && !json_is_null(v)) {
		m->has_thanos = 1;
		if (decode_thanos(v, &m->thanos, e) == -1)
			goto fail;
	}
	json_decref(root);
	return 0;
fail:
	json_decref(root);
	meta_free(m);
	memset(m, 0, sizeof(*m));
	return -1;
}

int
meta_read(const char *block_dir, struct block_meta *m, struct err *e)
{
	char *path, *data;
	size_t len;
	int rc;

	xasprintf(&path, "%s/meta.json", block_dir);
	if (file_read_all(path, &data, &len, e) == -1) {
		memset(m, 0, sizeof(*m));
		free(path);
		return -1;
	}
	if ((rc = meta_decode(data, len, m, e)) == -1)
		err_wrap(e, "%s", path);
	free(data);
	free(path);
	return rc;
}

void
meta_free(struct block_meta *m)
{
	struct thanos_meta *t = &m->thanos;

	free(m->sources);
	m->sources = NULL;
	m->nsources = 0;
	free(m->parents);
	m->parents = NULL;
	m->nparents = 0;
	for (size_t i = 0; i < m->nhints; i++)
		free(m->hints[i]);
	free(m->hints);
	m->hints = NULL;
	m->nhints = 0;
	for (size_t i = 0; i < t->nlabels; i++) {
		free(t->label_names[i]);
		free(t->label_values[i]);
	}
	free(t->label_names);
	free(t->label_values);
	t->label_names = t->label_values = NULL;
	t->nlabels = 0;
	free(t->source);
	t->source = NULL;
	for (size_t i = 0; i < t->nsegment_files; i++)
		free(t->segment_files[i]);
	free(t->segment_files);
	t->segment_files = NULL;
	t->nsegment_files = 0;
	for (size_t i = 0; i < t->nfiles; i++)
		free(t->files[i].rel_path);
	free(t->files);
	t->files = NULL;
	t->nfiles = 0;
}

void
meta_add_source(struct block_meta *m, const char *ulid)
{
	m->sources = xreallocarray(m->sources, m->nsources + 1, sizeof(*m->sources));
	strlcpy(m->sources[m->nsources++], ulid, ULID_LEN + 1);
}

/* Insert in name order (Go prints map keys sorted); a repeated name replaces. */
void
meta_thanos_add_label(struct block_meta *m, const char *name, const char *value)
{
	struct thanos_meta *t = &m->thanos;
	size_t i;

	m->has_thanos = 1;
	for (i = 0; i < t->nlabels; i++) {
		int c = strcmp(t->label_names[i], name);

		if (c == 0) {
			free(t->label_values[i]);
			t->label_values[i] = xstrdup(value);
			return;
		}
		if (c > 0)
			break;
	}
	t->label_names = xreallocarray(t->label_names, t->nlabels + 1, sizeof(char *));
	t->label_values = xreallocarray(t->label_values, t->nlabels + 1, sizeof(char *));
	memmove(t->label_names + i + 1, t->label_names + i,
	    (t->nlabels - i) * sizeof(char *));
	memmove(t->label_values + i + 1, t->label_values + i,
	    (t->nlabels - i) * sizeof(char *));
	t->label_names[i] = xstrdup(name);
	t->label_values[i] = xstrdup(value);
	t->nlabels++;
}

/* Insert in rel_path order, as Thanos lists a block's files. */
void
meta_thanos_add_file(struct block_meta *m, const char *rel_path, int64_t size)
{
	struct thanos_meta *t = &m->thanos;
	size_t i;

	m->has_thanos = 1;
	for (i = t->nfiles; i > 0 && strcmp(t->files[i - 1].rel_path, rel_path) > 0; i--)
		;
	t->files = xreallocarray(t->files, t->nfiles + 1, sizeof(*t->files));
	memmove(t->files + i + 1, t->files + i, (t->nfiles - i) * sizeof(*t->files));
	t->files[i].rel_path = xstrdup(rel_path);
	t->files[i].size_bytes = size;
	t->nfiles++;
}
