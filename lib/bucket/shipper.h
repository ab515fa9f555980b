/*
 * shipper — putting blocks into a filesystem bucket so that no reader ever
 * sees a partial block, and the shipper's state file, as Thanos' shipper
 * (what Cortex ingesters run) keeps it. See specs/bucket-layout.md §1-§3.
 *
 * Shared by block-ship and by every later writer of the bucket (compact):
 * a block is staged in <tenant>/<ULID>.tmp-<random> on the bucket's own
 * filesystem, every file fsynced, meta.json written last, the directory
 * fsynced and renamed to <ULID>, then the tenant directory fsynced. Readers
 * keep only entries whose name parses as a ULID, so the staging name is
 * invisible to them and the rename is the commit point.
 */
#ifndef RINGTAIL_SHIPPER_H
#define RINGTAIL_SHIPPER_H

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/tsdb/encoding.h"
#include "lib/tsdb/meta.h"
#include "lib/tsdb/ulid.h"

/* In each tenant's TSDB directory; the name Cortex uses in every version. */
#define SHIPPER_STATE_FILE	"thanos.shipper.json"
/* What follows the ULID in a staging directory's name. */
#define BUCKET_TMP_INFIX	".tmp-"
/* External labels and source of the Thanos section an ingester writes (§2.4). */
#define THANOS_LABEL_TENANT	"__org_id__"
#define THANOS_LABEL_INGESTER	"__ingester_id__"
#define THANOS_SOURCE_RECEIVE	"receive"

/*
 * thanos.shipper.json: {"version":1,"uploaded":[ULID...]}, the ULIDs in
 * the order they were recorded. The zero value is the empty state.
 */
struct shipper_state {
	char	(*uploaded)[ULID_LEN + 1];
	size_t	 n;
	size_t	 cap;
};

/* Accepts "uploaded": null or absent; rejects a version other than 1 and non-ULIDs. */
int	shipper_state_decode(const char *json, size_t len, struct shipper_state *,
	    struct err *);
/* Tab-indented with a trailing newline, "uploaded": null when empty, as Go writes it. */
void	shipper_state_encode(const struct shipper_state *, struct buf *);
/*
 * <tenant_dir>/thanos.shipper.json. 1 read, 0 no such file (empty state),
 * -1 unreadable or malformed (empty state, reason in err).
 */
int	shipper_state_read(const char *tenant_dir, struct shipper_state *,
	    struct err *);
/* Written atomically: temporary file, fsync, rename, fsync of the directory. */
int	shipper_state_write(const char *tenant_dir, const struct shipper_state *,
	    struct err *);
int	shipper_state_has(const struct shipper_state *, const char *ulid);
void	shipper_state_add(struct shipper_state *, const char *ulid);
/* 1 if both list the same ULIDs in the same order. */
int	shipper_state_equal(const struct shipper_state *, const struct shipper_state *);
void	shipper_state_free(struct shipper_state *);

/* What the bucket holds under <tenant>/<ULID>. */
#define BUCKET_BLOCK_ABSENT	0	/* nothing by that name */
#define BUCKET_BLOCK_COMPLETE	1	/* a directory whose meta.json parses */
#define BUCKET_BLOCK_PARTIAL	2	/* no valid meta.json (a non-atomic writer's leftover) */
#define BUCKET_BLOCK_DELETING	3	/* no valid meta.json but a deletion-mark.json: being deleted */

/* One of the BUCKET_BLOCK_* values, or -1 on an I/O error. */
int	bucket_block_state(const char *tenant_dir, const char *ulid, struct err *);

/*
 * Replace m's Thanos section with the given external labels (any order),
 * source and resolution 0, no file lists.
 */
void	bucket_meta_thanos(struct block_meta *m, const char *const *names,
	    const char *const *values, size_t nlabels, const char *source);

/*
 * Copy the block in src_dir (the files of chunks/, index; tombstones are never
 * uploaded) to <tenant_dir>/<m->ulid>, with m (its Thanos section set by
 * the caller) as meta.json, completed with segment_files and files as
 * Thanos lists them. tenant_dir must exist. A partial directory of that
 * name is moved aside and replaced. Returns 0 when the block was put in
 * place, 1 when a complete block of that name was already there (nothing
 * changed), -1 on error (nothing is left behind but what was there
 * before). *bytes, if not NULL, gets the bytes copied.
 */
int	bucket_block_upload(const char *src_dir, const char *tenant_dir,
	    struct block_meta *m, uint64_t *bytes, struct err *);

/* 1 if name is a staging name, "<ULID>.tmp-...", with the ULID copied out. */
int	bucket_tmp_name(const char *name, char ulid[ULID_LEN + 1]);
/*
 * Remove the staging directories a crashed writer left in tenant_dir:
 * those for which mine(ulid, arg) returns 1 (all of them when mine is
 * NULL), so that writers sharing a tenant never remove one another's
 * work in progress. Returns how many were removed, or -1.
 */
int	bucket_tmp_remove(const char *tenant_dir,
	    int (*mine)(const char *ulid, void *arg), void *arg, struct err *);

#endif
