#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/err.h"
#include "lib/base/xmalloc.h"
#include "lib/rw/pbwire.h"
#include "lib/rw/remote_write.h"
#include "lib/rw/validate.h"
#include "lib/tsdb/encoding.h"
#include "lib/tsdb/gofmt.h"
#include "lib/tsdb/labels.h"

#define QUOTE_RUNES	200	/* Cortex's %.200q */

static void	msg_printf(struct buf *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	msg_str(struct buf *, struct str);
static int	tenant_char_ok(uint8_t);
static size_t	go_rune_len(const uint8_t *, size_t);
static void	quote200(struct buf *, const char *, size_t);
static void	quote200_buf(struct buf *, const struct buf *);
static void	format_label_set(struct buf *, const struct labels *);
static int	metric_key_cmp(const void *, const void *);
static void	format_metric(struct buf *, const struct labels *);
static struct str metric_name(const struct labels *, int *);
static void	drop_empty_values(struct labels *);
static int	check_labels(const struct labels *, const struct rw_limits *,
		    struct buf *);
static int	label_error(struct buf *, const char *, struct str,
		    const struct labels *);

static void
msg_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	buf_reserve(b, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static void
msg_str(struct buf *b, struct str s)
{
	buf_put_bytes(b, s.p, s.len);
}

static int
tenant_char_ok(uint8_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != 0 && strchr("!-_.*'()", c) != NULL;
}

int
tenant_validate_msg(const char *id, size_t n, struct buf *msg)
{
	const uint8_t *p = (const uint8_t *)id;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];

		if (tenant_char_ok(c))
			continue;
		if (msg == NULL)
			return -1;
		/*
		 * Go prints the byte at the offending rune's offset with %c:
		 * a byte past 0x7f becomes the rune U+0080..U+00FF.
		 */
		msg_printf(msg, "tenant ID '");
		buf_put_bytes(msg, id, n);
		msg_printf(msg, "' contains unsupported character '");
		if (c < 0x80)
			buf_put_u8(msg, c);
		else {
			buf_put_u8(msg, (uint8_t)(0xc0 | c >> 6));
			buf_put_u8(msg, (uint8_t)(0x80 | (c & 0x3f)));
		}
		buf_put_u8(msg, '\'');
		return -1;
	}
	if (n > TENANT_ID_MAX_LEN) {
		if (msg != NULL)
			msg_printf(msg, "tenant ID is too long: max %d characters",
			    TENANT_ID_MAX_LEN);
		return -1;
	}
	if ((n == 11 && memcmp(id, "__markers__", 11) == 0) ||
	    (n == 18 && memcmp(id, "user-index.json.gz", 18) == 0)) {
		if (msg != NULL)
			msg_printf(msg, "tenant ID '%.*s' is not allowed", (int)n,
			    id);
		return -1;
	}
	if ((n == 1 && id[0] == '.') || (n == 2 && memcmp(id, "..", 2) == 0)) {
		if (msg != NULL)
			msg_printf(msg, "tenant ID is '.' or '..'");
		return -1;
	}
	return 0;
}

int
tenant_validate(const char *id, size_t n, struct err *e)
{
	struct buf msg = { 0 };

	if (tenant_validate_msg(id, n, &msg) == 0)
		return 0;
	err_set(e, "%.*s", (int)msg.len, (const char *)msg.p);
	buf_free(&msg);
	return -1;
}

void
rw_limits_default(struct rw_limits *l)
{
	memset(l, 0, sizeof(*l));
	l->enforce_metric_name = 1;
	l->max_label_names_per_series = 30;
	l->max_label_name_length = 1024;
	l->max_label_value_length = 2048;
	l->max_labels_size_bytes = 0;
	l->reject_old_samples = 0;
	l->reject_old_samples_max_age_ms = 14 * 24 * 3600 * 1000LL;
	l->creation_grace_period_ms = 10 * 60 * 1000LL;
	l->enforce_metadata_metric_name = 1;
	l->max_metadata_length = 1024;
	l->skip_label_name_validation = 0;
}

int
rw_valid_metric_name(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '_' || c == ':' || (c >= '0' && c <= '9' && i > 0)))
			return 0;
	}
	return 1;
}

int
rw_valid_label_name(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '_' || (c >= '0' && c <= '9' && i > 0)))
			return 0;
	}
	return 1;
}

/* The width Go's utf8.DecodeRune gives the rune at p: 1 for an invalid byte. */
static size_t
go_rune_len(const uint8_t *p, size_t n)
{
	uint8_t c = p[0], lo = 0x80, hi = 0xbf;
	size_t w;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		w = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		w = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		w = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 1;
	if (n < w || p[1] < lo || p[1] > hi)
		return 1;
	for (size_t i = 2; i < w; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 1;
	return w;
}

/* Go's %.200q: the string cut to 200 runes, then strconv.Quote. */
static void
quote200(struct buf *out, const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, runes = 0;

	while (i < n && runes < QUOTE_RUNES) {
		i += go_rune_len(p + i, n - i);
		runes++;
	}
	gofmt_quote(out, s, i);
}

static void
quote200_buf(struct buf *out, const struct buf *s)
{
	quote200(out, (const char *)s->p, s->len);
}

/*
 * Cortex's formatLabelSet: labels in the order given, the first non-empty
 * __name__ in front, the others as name="value" (Go %q).
 */
static void
format_label_set(struct buf *out, const struct labels *ls)
{
	struct str name = { "", 0 };
	int has_name = 0, first = 1;

	for (size_t i = 0; i < ls->n; i++) {
		const struct label *l = &ls->v[i];

		if (!has_name && l->value.len > 0 &&
		    str_eq(l->name, STR_LIT("__name__"))) {
			name = l->value;
			has_name = 1;
		}
	}
	msg_str(out, name);
	has_name = 0;
	for (size_t i = 0; i < ls->n; i++) {
		const struct label *l = &ls->v[i];

		if (!has_name && l->value.len > 0 &&
		    str_eq(l->name, STR_LIT("__name__"))) {
			has_name = 1;
			continue;
		}
		buf_put_bytes(out, first ? "{" : ", ", first ? 1 : 2);
		first = 0;
		msg_str(out, l->name);
		buf_put_u8(out, '=');
		gofmt_quote(out, l->value.p, l->value.len);
	}
	if (!first)
		buf_put_u8(out, '}');
	else if (name.len == 0)
		buf_put_bytes(out, "{}", 2);
}

/* Order of Go's sorted `name="value"` strings: the names followed by '='. */
static int
metric_key_cmp(const void *a, const void *b)
{
	const struct label *x = *(const struct label *const *)a;
	const struct label *y = *(const struct label *const *)b;
	size_t n = x->name.len < y->name.len ? x->name.len : y->name.len;
	int c = memcmp(x->name.p, y->name.p, n);

	if (c != 0)
		return c;
	if (x->name.len == y->name.len)
		return 0;
	if (x->name.len < y->name.len)
		return (int)'=' - (int)(uint8_t)y->name.p[n];
	return (int)(uint8_t)x->name.p[n] - (int)'=';
}

/*
 * model.Metric.String() of the set made into a map (so the last of
 * duplicate names wins): name, then the other pairs sorted as strings.
 */
static void
format_metric(struct buf *out, const struct labels *ls)
{
	const struct label **v = xreallocarray(NULL, ls->n + 1, sizeof(*v));
	struct str name = { "", 0 };
	size_t n = 0;
	int has_name = 0;

	for (size_t i = 0; i < ls->n; i++) {
		const struct label *l = &ls->v[i];
		size_t j;

		if (str_eq(l->name, STR_LIT("__name__"))) {
			name = l->value;
			has_name = 1;
			continue;
		}
		for (j = 0; j < n; j++)
			if (str_eq(v[j]->name, l->name))
				break;
		v[j] = l;
		if (j == n)
			n++;
	}
	qsort(v, n, sizeof(*v), metric_key_cmp);
	if (n == 0) {
		if (has_name)
			msg_str(out, name);
		else
			buf_put_bytes(out, "{}", 2);
		free(v);
		return;
	}
	msg_str(out, name);
	for (size_t i = 0; i < n; i++) {
		buf_put_bytes(out, i == 0 ? "{" : ", ", i == 0 ? 1 : 2);
		msg_str(out, v[i]->name);
		buf_put_u8(out, '=');
		gofmt_quote(out, v[i]->value.p, v[i]->value.len);
	}
	buf_put_u8(out, '}');
	free(v);
}

/* The first __name__'s value, as Cortex's extract package finds it. */
static struct str
metric_name(const struct labels *ls, int *found)
{
	for (size_t i = 0; i < ls->n; i++) {
		if (str_eq(ls->v[i].name, STR_LIT("__name__"))) {
			*found = 1;
			return ls->v[i].value;
		}
	}
	*found = 0;
	return (struct str){ "", 0 };
}

int
rw_validate_request(const struct rw_request *rq, struct buf *msg)
{
	for (size_t i = 0; i < rq->nseries; i++) {
		if (rq->series[i].labels.n == 0) {
			if (msg != NULL)
				msg_printf(msg, "empty labels found");
			return -1;
		}
	}
	return 0;
}

static void
drop_empty_values(struct labels *ls)
{
	size_t j = 0;

	for (size_t i = 0; i < ls->n; i++)
		if (ls->v[i].value.len > 0)
			ls->v[j++] = ls->v[i];
	ls->n = j;
}

/* "<what>: %.200q metric %.200q" */
static int
label_error(struct buf *msg, const char *what, struct str cause,
    const struct labels *ls)
{
	struct buf set = { 0 };

	if (msg == NULL)
		return -1;
	format_label_set(&set, ls);
	msg_printf(msg, "%s: ", what);
	quote200(msg, cause.p, cause.len);
	msg_printf(msg, " metric ");
	quote200_buf(msg, &set);
	buf_free(&set);
	return -1;
}

/* Cortex's ValidateLabels on a sorted set without empty values. */
static int
check_labels(const struct labels *ls, const struct rw_limits *lim,
    struct buf *msg)
{
	struct str last = { "", 0 };
	struct buf set = { 0 };
	size_t bytes = 0;

	if (ls->n > lim->max_label_names_per_series) {
		if (msg != NULL) {
			msg_printf(msg, "series has too many labels (actual: %zu, "
			    "limit: %zu) series: '", ls->n,
			    lim->max_label_names_per_series);
			format_metric(msg, ls);
			buf_put_u8(msg, '\'');
		}
		return -1;
	}
	for (size_t i = 0; i < ls->n; i++) {
		const struct label *l = &ls->v[i];
		int c;

		if (!lim->skip_label_name_validation &&
		    !rw_valid_label_name(l->name.p, l->name.len))
			return label_error(msg, "sample invalid label", l->name,
			    ls);
		if (l->name.len > lim->max_label_name_length ||
		    l->value.len > lim->max_label_value_length) {
			if (msg == NULL)
				return -1;
			format_label_set(&set, ls);
			if (l->name.len > lim->max_label_name_length)
				msg_printf(msg, "label name too long for metric "
				    "(actual: %zu, limit: %zu) metric: ",
				    l->name.len, lim->max_label_name_length);
			else
				msg_printf(msg, "label value too long for metric "
				    "(actual: %zu, limit: %zu) metric: ",
				    l->value.len, lim->max_label_value_length);
			quote200_buf(msg, &set);
			msg_printf(msg, " label name: ");
			quote200(msg, l->name.p, l->name.len);
			if (l->name.len <= lim->max_label_name_length) {
				msg_printf(msg, " label value: ");
				quote200(msg, l->value.p, l->value.len);
			}
			buf_free(&set);
			return -1;
		}
		if ((c = str_cmp(last, l->name)) >= 0)
			return label_error(msg, c == 0 ? "duplicate label name" :
			    "labels not sorted", l->name, ls);
		last = l->name;
		/* The label's protobuf size, as Cortex's LabelAdapter.Size(). */
		if (l->name.len > 0)
			bytes += 1 + pb_varint_size(l->name.len) + l->name.len;
		if (l->value.len > 0)
			bytes += 1 + pb_varint_size(l->value.len) +
			    l->value.len;
	}
	if (lim->max_labels_size_bytes > 0 && bytes > lim->max_labels_size_bytes) {
		if (msg == NULL)
			return -1;
		format_label_set(&set, ls);
		msg_printf(msg, "labels size bytes exceeded for metric (actual: "
		    "%zu, limit: %zu) metric: ", bytes,
		    lim->max_labels_size_bytes);
		quote200_buf(msg, &set);
		buf_free(&set);
		return -1;
	}
	return 0;
}

int
rw_validate_series(struct rw_series *ts, const struct rw_limits *lim,
    int64_t now_ms, struct buf *msg)
{
	struct str name;
	int found;

	if (lim->enforce_metric_name) {
		name = metric_name(&ts->labels, &found);
		if (!found) {
			if (msg != NULL)
				msg_printf(msg, "sample missing metric name");
			return RW_SERIES_INVALID;
		}
		if (!rw_valid_metric_name(name.p, name.len)) {
			if (msg != NULL) {
				msg_printf(msg, "sample invalid metric name: ");
				quote200(msg, name.p, name.len);
			}
			return RW_SERIES_INVALID;
		}
	}
	drop_empty_values(&ts->labels);
	if (ts->labels.n == 0)
		return RW_SERIES_DROP;
	labels_sort(&ts->labels);
	if (check_labels(&ts->labels, lim, msg) == -1)
		return RW_SERIES_INVALID;
	name = metric_name(&ts->labels, &found);
	for (size_t i = 0; i < ts->nsamples; i++) {
		int64_t t = ts->samples[i].t;
		const char *what;

		if (lim->reject_old_samples &&
		    t < now_ms - lim->reject_old_samples_max_age_ms)
			what = "timestamp too old";
		else if (t > now_ms + lim->creation_grace_period_ms)
			what = "timestamp too new";
		else
			continue;
		if (msg != NULL) {
			msg_printf(msg, "%s: %lld metric: ", what, (long long)t);
			quote200(msg, name.p, name.len);
		}
		return RW_SERIES_INVALID;
	}
	return RW_SERIES_OK;
}

int
rw_validate_metadata(const struct rw_metadata *m, const struct rw_limits *lim,
    struct buf *msg)
{
	const char *type;
	struct str cause;

	if (lim->enforce_metadata_metric_name && m->family.len == 0) {
		if (msg != NULL)
			msg_printf(msg, "metadata missing metric name");
		return -1;
	}
	if (m->family.len > lim->max_metadata_length) {
		type = "METRIC_NAME";
		cause = m->family;
	} else if (m->help.len > lim->max_metadata_length) {
		type = "HELP";
		cause = m->help;
	} else if (m->unit.len > lim->max_metadata_length) {
		type = "UNIT";
		cause = m->unit;
	} else
		return 0;
	if (msg != NULL) {
		msg_printf(msg, "metadata '%s' value too long: ", type);
		quote200(msg, cause.p, cause.len);
		msg_printf(msg, " metric ");
		quote200(msg, m->family.p, m->family.len);
	}
	return -1;
}

/* Cortex's reason labels (pkg/util/validation), by the first words of our texts. */
static const struct {
	const char	*prefix;
	const char	*reason;
} discard_reasons[] = {
	{ "sample missing metric name", "missing_metric_name" },
	{ "sample invalid metric name", "metric_name_invalid" },
	{ "series has too many labels", "max_label_names_per_series" },
	{ "sample invalid label", "label_invalid" },
	{ "label name too long", "label_name_too_long" },
	{ "label value too long", "label_value_too_long" },
	{ "duplicate label name", "duplicate_label_names" },
	{ "labels not sorted", "labels_not_sorted" },
	{ "labels size bytes exceeded", "labels_size_bytes_exceeded" },
	{ "timestamp too old", "greater_than_max_sample_age" },
	{ "timestamp too new", "too_far_in_future" },
};

const char *
rw_discard_reason(const struct buf *msg)
{
	for (size_t i = 0; i < sizeof(discard_reasons) / sizeof(discard_reasons[0]); i++) {
		size_t n = strlen(discard_reasons[i].prefix);

		if (msg->len >= n && memcmp(msg->p, discard_reasons[i].prefix, n) == 0)
			return discard_reasons[i].reason;
	}
	return "invalid";
}

int
rw_limits_from_flags(const struct rw_limit_flags *f, struct rw_limits *l, struct err *e)
{
	if (f->max_label_names < 0 || f->max_name_len < 0 || f->max_value_len < 0 ||
	    f->reject_old_max_age < 0 || f->grace_period < 0)
		return err_set(e, "negative -validation.* limit");
	rw_limits_default(l);
	l->max_label_names_per_series = (size_t)f->max_label_names;
	l->max_label_name_length = (size_t)f->max_name_len;
	l->max_label_value_length = (size_t)f->max_value_len;
	l->enforce_metric_name = f->enforce_metric_name;
	l->reject_old_samples = f->reject_old;
	l->reject_old_samples_max_age_ms = f->reject_old_max_age;
	l->creation_grace_period_ms = f->grace_period;
	return 0;
}
