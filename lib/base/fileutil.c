#include <sys/mman.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base/fileutil.h"
#include "lib/base/xmalloc.h"

int
fsync_dir(const char *dir, struct err *e)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd == -1)
		return err_errno(e, "open %s", dir);
	if (fsync(fd) == -1) {
		close(fd);
		return err_errno(e, "fsync %s", dir);
	}
	close(fd);
	return 0;
}

int
fsync_parent(const char *path, struct err *e)
{
	char buf[PATH_MAX];

	strlcpy(buf, path, sizeof(buf));
	return fsync_dir(dirname(buf), e);
}

int
file_write_atomic(const char *path, const void *data, size_t len, struct err *e)
{
	char tmp[PATH_MAX];
	const uint8_t *p = data;
	int fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return err_set(e, "path too long: %s", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd == -1)
		return err_errno(e, "create %s", tmp);
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			err_errno(e, "write %s", tmp);
			goto fail;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) == -1) {
		err_errno(e, "fsync %s", tmp);
		goto fail;
	}
	if (close(fd) == -1) {
		fd = -1;
		err_errno(e, "close %s", tmp);
		goto fail;
	}
	if (rename(tmp, path) == -1) {
		fd = -1;
		err_errno(e, "rename %s", tmp);
		goto fail;
	}
	return fsync_parent(path, e);
fail:
	if (fd != -1)
		close(fd);
	unlink(tmp);
	return -1;
}

int
mkdir_p(const char *dir, int mode, struct err *e)
{
	char buf[PATH_MAX];

	if (strlcpy(buf, dir, sizeof(buf)) >= sizeof(buf))
		return err_set(e, "path too long: %s", dir);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, (mode_t)mode) == -1 && errno != EEXIST)
			return err_errno(e, "mkdir %s", buf);
		*p = '/';
	}
	if (mkdir(buf, (mode_t)mode) == -1 && errno != EEXIST)
		return err_errno(e, "mkdir %s", buf);
	if (!path_is_dir(buf))
		return err_set(e, "%s exists and is not a directory", buf);
	return 0;
}

int
rm_rf(const char *path, struct err *e)
{
	struct stat st;
	DIR *d;
	struct dirent *de;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : err_errno(e, "stat %s", path);
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) == -1 && errno != ENOENT)
			return err_errno(e, "unlink %s", path);
		return 0;
	}
	if ((d = opendir(path)) == NULL)
		return err_errno(e, "opendir %s", path);
	while ((de = readdir(d)) != NULL) {
		char *child;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		xasprintf(&child, "%s/%s", path, de->d_name);
		if (rm_rf(child, e) == -1) {
			free(child);
			closedir(d);
			return -1;
		}
		free(child);
	}
	closedir(d);
	if (rmdir(path) == -1 && errno != ENOENT)
		return err_errno(e, "rmdir %s", path);
	return 0;
}

int
file_map(const char *path, struct mapped *m, struct err *e)
{
	struct stat st;
	void *p;
	int fd;

	m->p = NULL;
	m->len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return err_errno(e, "open %s", path);
	if (fstat(fd, &st) == -1) {
		close(fd);
		return err_errno(e, "stat %s", path);
	}
	if (st.st_size == 0) {
		close(fd);
		return 0;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return err_errno(e, "mmap %s", path);
	m->p = p;
	m->len = (size_t)st.st_size;
	return 0;
}

void
file_unmap(struct mapped *m)
{
	if (m->p != NULL)
		munmap((void *)m->p, m->len);
	m->p = NULL;
	m->len = 0;
}

int
file_read_all(const char *path, char **data, size_t *len, struct err *e)
{
	size_t cap = 4096, n = 0;
	char *buf;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return err_errno(e, "open %s", path);
	buf = xmalloc(cap);
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap)
			buf = xrealloc(buf, cap *= 2);
		r = read(fd, buf + n, cap - n - 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			err_errno(e, "read %s", path);
			free(buf);
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*data = buf;
	if (len != NULL)
		*len = n;
	return 0;
}

int
path_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int
path_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}
