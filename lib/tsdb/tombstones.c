#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/base/fileutil.h"
#include "lib/base/xmalloc.h"
#include "lib/tsdb/crc32c.h"
#include "lib/tsdb/encoding.h"
#include "lib/tsdb/tombstones.h"

#define TOMBSTONES_VERSION	1
#define TOMBSTONES_HEADER_SIZE	5	/* magic + version */
#define TOMBSTONES_CRC_SIZE	4

int
tombstones_write(const char *block_dir, const struct tombstone *ts, size_t n,
    struct err *e)
{
	struct buf b = { 0 };
	char path[PATH_MAX];
	int rc;

	if ((size_t)snprintf(path, sizeof(path), "%s/tombstones", block_dir) >= sizeof(path))
		return err_set(e, "path too long: %s/tombstones", block_dir);
	buf_put_be32(&b, TOMBSTONES_MAGIC);
	buf_put_u8(&b, TOMBSTONES_VERSION);
	for (size_t i = 0; i < n; i++) {
		buf_put_uvarint(&b, ts[i].ref);
		buf_put_varint(&b, ts[i].mint);
		buf_put_varint(&b, ts[i].maxt);
	}
	/* The checksum leaves out the version byte, as Prometheus does. */
	buf_put_be32(&b, crc32c(0, b.p + TOMBSTONES_HEADER_SIZE,
	    b.len - TOMBSTONES_HEADER_SIZE));
	rc = file_write_atomic(path, b.p, b.len, e);
	buf_free(&b);
	return rc;
}

int
tombstones_decode(const uint8_t *p, size_t len, struct tombstone **out, size_t *n,
    struct err *e)
{
	struct tombstone *ts = NULL;
	size_t cnt = 0, cap = 0;
	struct decbuf d;
	uint32_t want;

	*out = NULL;
	*n = 0;
	if (len < TOMBSTONES_HEADER_SIZE + TOMBSTONES_CRC_SIZE)
		return err_set(e, "tombstones: %zu bytes, too short", len);
	if (be32_get(p) != TOMBSTONES_MAGIC)
		return err_set(e, "tombstones: invalid magic number %x", be32_get(p));
	want = be32_get(p + len - TOMBSTONES_CRC_SIZE);
	if (crc32c(0, p + TOMBSTONES_HEADER_SIZE,
	    len - TOMBSTONES_HEADER_SIZE - TOMBSTONES_CRC_SIZE) != want)
		return err_set(e, "tombstones: checksum did not match");
	if (p[4] != TOMBSTONES_VERSION)
		return err_set(e, "tombstones: invalid format version %x", p[4]);

	decbuf_init(&d, p + TOMBSTONES_HEADER_SIZE,
	    len - TOMBSTONES_HEADER_SIZE - TOMBSTONES_CRC_SIZE);
	while (d.len > 0) {
		uint64_t ref = dec_uvarint(&d);
		int64_t mint = dec_varint(&d);
		int64_t maxt = dec_varint(&d);

		if (d.err) {
			free(ts);
			return err_set(e, "tombstones: entry %zu truncated or malformed", cnt);
		}
		if (ref > UINT32_MAX) {
			free(ts);
			return err_set(e, "tombstones: series ID %ju out of range", (uintmax_t)ref);
		}
		if (cnt == cap) {
			cap = cap ? cap * 2 : 8;
			ts = xreallocarray(ts, cap, sizeof(*ts));
		}
		ts[cnt].ref = (uint32_t)ref;
		ts[cnt].mint = mint;
		ts[cnt].maxt = maxt;
		cnt++;
	}
	*out = ts;
	*n = cnt;
	return 0;
}

int
tombstones_read(const char *block_dir, struct tombstone **out, size_t *n, struct err *e)
{
	struct mapped m;
	char path[PATH_MAX];
	int rc;

	*out = NULL;
	*n = 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/tombstones", block_dir) >= sizeof(path))
		return err_set(e, "path too long: %s/tombstones", block_dir);
	if (!path_exists(path))
		return 0;
	if (file_map(path, &m, e) == -1)
		return errno == ENOENT ? 0 : -1;
	rc = tombstones_decode(m.p, m.len, out, n, e);
	file_unmap(&m);
	if (rc == -1)
		return err_wrap(e, "%s", path);
	return 0;
}

static int
tombstone_cmp(const void *a, const void *b)
{
	const struct tombstone *x = a, *y = b;

	if (x->ref != y->ref)
		return x->ref < y->ref ? -1 : 1;
	if (x->mint != y->mint)
		return x->mint < y->mint ? -1 : 1;
	return 0;
}

void
tombstones_sort(struct tombstone *t, size_t n)
{
	if (n > 1)
		qsort(t, n, sizeof(*t), tombstone_cmp);
}
