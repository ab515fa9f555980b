/*
 * validate — what Cortex v1.21.1 checks on what a tenant sends, in one
 * place: the tenant ID (pkg/util/users ValidTenantID), to be called by
 * every program before a tenant ID touches a path or a label; and the
 * distributor's checks of each decoded series and metadata entry
 * (pkg/distributor prepareSeriesKeys/validateSeries, pkg/util/validation),
 * in Cortex's order, with its texts and HTTP statuses.
 *
 * Messages go to a struct buf (appended; it may be NULL) because Cortex's
 * texts quote up to three 200-character strings, longer than struct err.
 * Go's quoting (%q, %.200q) is reproduced exactly: strconv.Quote of the
 * string cut to 200 runes.
 */
#ifndef RINGTAIL_VALIDATE_H
#define RINGTAIL_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/rw/remote_write.h"
#include "lib/tsdb/encoding.h"

/* The tenant header; missing or empty answers 401 "no org id". */
#define TENANT_HEADER		"X-Scope-OrgID"
#define TENANT_ERR_MISSING	"no org id"
#define TENANT_STATUS_MISSING	401
/* The one tenant of every request when -auth.enabled=false. */
#define TENANT_FAKE		"fake"
#define TENANT_ID_MAX_LEN	150
/* An invalid tenant ID fails Cortex's push as a plain error: 500. */
#define TENANT_STATUS_INVALID	500

/*
 * 0 if id[0..n) is a valid tenant ID; else -1 and Cortex's text, checks in
 * its order: characters (a-z A-Z 0-9 ! - _ . * ' ( ), by rune), length
 * (<= 150 bytes), then the names "__markers__", "user-index.json.gz", "."
 * and "..". The empty ID passes here: callers answer it with 401 first.
 */
int	tenant_validate_msg(const char *id, size_t n, struct buf *msg);
/* The same into a struct err (a message past 511 bytes is cut). */
int	tenant_validate(const char *id, size_t n, struct err *);

/*
 * Cortex's per-tenant limits that the distributor checks, named after their
 * flags; rw_limits_default sets Cortex's defaults (in brackets).
 */
struct rw_limits {
	int	 enforce_metric_name;		/* -validation.enforce-metric-name [true] */
	size_t	 max_label_names_per_series;	/* ...max-label-names-per-series [30] */
	size_t	 max_label_name_length;		/* ...max-length-label-name [1024] */
	size_t	 max_label_value_length;	/* ...max-length-label-value [2048] */
	size_t	 max_labels_size_bytes;		/* ...max-labels-size-bytes [0 = off] */
	int	 reject_old_samples;		/* ...reject-old-samples [false] */
	int64_t	 reject_old_samples_max_age_ms;	/* ...reject-old-samples.max-age [14d] */
	int64_t	 creation_grace_period_ms;	/* ...create-grace-period [10m] */
	int	 enforce_metadata_metric_name;	/* ...enforce-metadata-metric-name [true] */
	size_t	 max_metadata_length;		/* ...max-metadata-length [1024] */
	int	 skip_label_name_validation;	/* distributor config, no flag [false] */
};

void	rw_limits_default(struct rw_limits *);

/*
 * The limits as their flags hold them (lib/base/flags types), shared by the
 * programs that validate pushes: RW_LIMIT_FLAGS(p) in a flag table,
 * RW_LIMIT_KEYS in its config key table, then rw_limits_from_flags.
 */
struct rw_limit_flags {
	int64_t		 max_label_names;
	int64_t		 max_name_len;
	int64_t		 max_value_len;
	int		 enforce_metric_name;
	int		 reject_old;
	int64_t		 reject_old_max_age;
	int64_t		 grace_period;
};
#define RW_LIMIT_FLAGS(p)						\
	{ "validation.max-label-names-per-series", FLAG_INT, &(p)->max_label_names, "30", \
	    "labels per series" },					\
	{ "validation.max-length-label-name", FLAG_INT, &(p)->max_name_len, "1024", \
	    "bytes per label name" },					\
	{ "validation.max-length-label-value", FLAG_INT, &(p)->max_value_len, "2048", \
	    "bytes per label value" },					\
	{ "validation.enforce-metric-name", FLAG_BOOL, &(p)->enforce_metric_name, "true", \
	    "refuse series without a valid __name__" },			\
	{ "validation.reject-old-samples", FLAG_BOOL, &(p)->reject_old, "false", \
	    "refuse samples older than -validation.reject-old-samples.max-age" }, \
	{ "validation.reject-old-samples.max-age", FLAG_DURATION, &(p)->reject_old_max_age, \
	    "336h", "see -validation.reject-old-samples" },		\
	{ "validation.create-grace-period", FLAG_DURATION, &(p)->grace_period, "10m", \
	    "refuse samples this far in the future" }
#define RW_LIMIT_KEYS							\
	{ "validation.max-label-names-per-series", "limits.max_label_names_per_series" }, \
	{ "validation.max-length-label-name", "limits.max_label_name_length" }, \
	{ "validation.max-length-label-value", "limits.max_label_value_length" }, \
	{ "validation.enforce-metric-name", "limits.enforce_metric_name" }, \
	{ "validation.reject-old-samples", "limits.reject_old_samples" }, \
	{ "validation.reject-old-samples.max-age", "limits.reject_old_samples_max_age" }, \
	{ "validation.create-grace-period", "limits.creation_grace_period" }
/* Cortex's defaults for the rest; -1 with e naming a negative flag. */
int	rw_limits_from_flags(const struct rw_limit_flags *, struct rw_limits *, struct err *);

/* Every validation failure below is HTTP 400. */
#define RW_STATUS_INVALID	400

/*
 * A series with no labels at all fails the whole request before anything
 * is stored: -1 and "empty labels found".
 */
int	rw_validate_request(const struct rw_request *, struct buf *msg);

/*
 * DROP: nothing is left once empty values go, skip the series silently.
 * INVALID: skip it; the first such text of a request is the answer (400).
 */
#define RW_SERIES_OK		0
#define RW_SERIES_DROP		1
#define RW_SERIES_INVALID	(-1)

/*
 * The distributor's checks of one series, in Cortex's order: metric name
 * (present, legacy syntax) while empty values are still there; then labels
 * with empty values are removed and the rest sorted by name, in place;
 * then label count, each label's name syntax, name length, value length,
 * duplicate names, total label bytes; then each sample's timestamp against
 * now_ms (too old, when enabled; too new beyond the grace period).
 * Exemplars and histograms are not kept by the decoder and not checked.
 */
int	rw_validate_series(struct rw_series *, const struct rw_limits *,
	    int64_t now_ms, struct buf *msg);

/* Cortex's metadata checks: family name present, name/help/unit lengths. */
int	rw_validate_metadata(const struct rw_metadata *,
	    const struct rw_limits *, struct buf *msg);

/*
 * cortex_discarded_samples_total's reason for a message of
 * rw_validate_series ("missing_metric_name", "label_invalid", ...;
 * "invalid" for any other).
 */
const char *rw_discard_reason(const struct buf *msg);
/* prometheus/common's legacy rules: [a-zA-Z_:][a-zA-Z0-9_:]*, [a-zA-Z_][a-zA-Z0-9_]*. */
int	rw_valid_metric_name(const char *, size_t);
int	rw_valid_label_name(const char *, size_t);

#endif
