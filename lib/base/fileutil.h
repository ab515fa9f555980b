/*
 * fileutil — the few file operations every writer of the bucket and of the
 * data dirs shares: publish-by-rename, fsync of directories, recursive
 * create/remove, read-only mappings.
 */
#ifndef RINGTAIL_FILEUTIL_H
#define RINGTAIL_FILEUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"

struct mapped {
	const uint8_t	*p;
	size_t		 len;
};

/* fsync the directory itself, so a rename or create in it is durable. */
int	fsync_dir(const char *dir, struct err *);
/* fsync the directory that holds path. */
int	fsync_parent(const char *path, struct err *);
/* Write data to path.tmp, fsync, rename over path, fsync the directory. */
int	file_write_atomic(const char *path, const void *data, size_t len, struct err *);
int	mkdir_p(const char *dir, int mode, struct err *);
/* Remove a file or a whole tree; a missing path is not an error. */
int	rm_rf(const char *path, struct err *);
/* Map a whole file read-only (an empty file maps to len 0, p NULL). */
int	file_map(const char *path, struct mapped *, struct err *);
void	file_unmap(struct mapped *);
/* Read a whole (small) file into a malloc'd, NUL-terminated buffer. */
int	file_read_all(const char *path, char **data, size_t *len, struct err *);
int	path_is_dir(const char *path);
int	path_exists(const char *path);

#endif
