/*
 * fs.c: atomic writes, whole-file reads, content comparison and the run
 * lock. Functions return 0 or -errno and never leave a temporary behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"

static int write_full(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fs_write_atomic(const char *path, const void *data, size_t len,
		    mode_t mode, uid_t uid, gid_t gid, int flags)
{
	char tmp[PATH_MAX];
	int fd = -1, r;
	struct stat old;
	int have_old = lstat(path, &old) == 0 && S_ISREG(old.st_mode);

	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path) : 0;
	const char *base = slash ? slash + 1 : path;
	if (snprintf(tmp, sizeof tmp, "%.*s%s.%s.ccchef-XXXXXX", dirlen, path,
		     slash ? "/" : "", base) >= (int)sizeof tmp)
		return -ENAMETOOLONG;

	if ((fd = mkstemp(tmp)) < 0)
		return -errno;
	if ((r = write_full(fd, data, len)) != 0)
		goto fail;
	if (mode == FS_KEEP_MODE)
		mode = have_old ? (old.st_mode & 07777) : 0644;
	if (uid == FS_KEEP_UID && have_old)
		uid = old.st_uid;
	if (gid == FS_KEEP_GID && have_old)
		gid = old.st_gid;
	/* chown before chmod: chown clears setuid/setgid bits. */
	if ((uid != FS_KEEP_UID || gid != FS_KEEP_GID) && fchown(fd, uid, gid) != 0) {
		r = -errno;
		goto fail;
	}
	if (fchmod(fd, mode) != 0) {
		r = -errno;
		goto fail;
	}
	if ((flags & FS_FSYNC) && fsync(fd) != 0) {
		r = -errno;
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		r = -errno;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		r = -errno;
		goto fail;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return r;
}

int fs_read_all(const char *path, char **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	size_t cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
	size_t n = 0;
	char *buf = malloc(cap);
	if (buf == NULL) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		if (n + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);
			if (nb == NULL) {
				free(buf);
				close(fd);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t got = read(fd, buf + n, cap - n - 1);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			int r = -errno;
			free(buf);
			close(fd);
			return r;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
}

int fs_same_content(const char *path, const struct stat *st, const void *data, size_t len)
{
	if (!S_ISREG(st->st_mode) || (size_t)st->st_size != len)
		return 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	char buf[65536];
	const char *want = data;
	size_t off = 0;
	int same = 1;
	while (same) {
		ssize_t got = read(fd, buf, sizeof buf);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			int r = -errno;
			close(fd);
			return r;
		}
		if (got == 0)
			break;
		if (off + (size_t)got > len || memcmp(buf, want + off, (size_t)got) != 0)
			same = 0;
		off += (size_t)got;
		/* A short read of a regular file is its end: with all len bytes
		 * read, that saves the read that would return 0 (the no-op check
		 * of a small file is then lstat, open, one read, close). */
		if ((size_t)got < sizeof buf && off == len)
			break;
	}
	close(fd);
	return same && off == len;
}

int fs_lock(const char *path, double timeout, long *holder)
{
	*holder = 0;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			int r = -errno;
			close(fd);
			return r;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		double waited = (double)(now.tv_sec - start.tv_sec) +
				(double)(now.tv_nsec - start.tv_nsec) / 1e9;
		if (waited >= timeout) {
			char buf[32] = {0};
			if (pread(fd, buf, sizeof buf - 1, 0) > 0)
				*holder = strtol(buf, NULL, 10);
			close(fd);
			return -EWOULDBLOCK;
		}
		struct timespec pause = {0, 50 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
	char pid[32];
	int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}
