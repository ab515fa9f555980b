/*
 * meta — a block's meta.json (§2 of specs/tsdb-format.md), written exactly as
 * Go's json.MarshalIndent does (TAB indent, fixed key order, zero fields
 * omitted, Go string escaping, no trailing newline — Thanos adds one), with
 * the optional Thanos section (§2.1). Read with every field checked.
 */
#ifndef RINGTAIL_META_H
#define RINGTAIL_META_H

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/tsdb/encoding.h"
#include "lib/tsdb/ulid.h"

struct block_desc {
	char		ulid[ULID_LEN + 1];
	int64_t		min_time;
	int64_t		max_time;
};

struct thanos_file {
	char		*rel_path;
	int64_t		 size_bytes;	/* 0 = omitted (meta.json) */
};

struct thanos_meta {
	int			 version;	/* 1 */
	char			**label_names;	/* external labels, sorted by name */
	char			**label_values;
	size_t			 nlabels;
	int64_t			 downsample_resolution;
	char			*source;	/* "sidecar", "receive", "compactor", ... */
	char			**segment_files;
	size_t			 nsegment_files;
	struct thanos_file	*files;
	size_t			 nfiles;
};

struct block_meta {
	char			 ulid[ULID_LEN + 1];
	int64_t			 min_time;	/* inclusive */
	int64_t			 max_time;	/* exclusive */
	uint64_t		 num_samples;
	uint64_t		 num_series;
	uint64_t		 num_chunks;
	uint64_t		 num_tombstones;
	int			 level;
	char			(*sources)[ULID_LEN + 1];
	size_t			 nsources;
	struct block_desc	*parents;
	size_t			 nparents;
	int			 deletable;
	int			 failed;
	char			**hints;
	size_t			 nhints;
	int			 version;	/* 1 */
	int			 has_thanos;
	struct thanos_meta	 thanos;
};

/* Encode; thanos_newline adds the trailing "\n" Thanos writes. */
void	meta_encode(const struct block_meta *, struct buf *out, int thanos_newline);
/* <block_dir>/meta.json via meta.json.tmp + rename. */
int	meta_write(const char *block_dir, const struct block_meta *, struct err *);
int	meta_decode(const char *json, size_t len, struct block_meta *, struct err *);
int	meta_read(const char *block_dir, struct block_meta *, struct err *);
/* Deep copy / free of everything a decode or the helpers below allocated. */
void	meta_free(struct block_meta *);
/* Helpers that allocate inside the meta (freed by meta_free). */
void	meta_add_source(struct block_meta *, const char *ulid);
void	meta_thanos_add_label(struct block_meta *, const char *name, const char *value);
void	meta_thanos_add_file(struct block_meta *, const char *rel_path, int64_t size);

#endif
