/*
 * fs.c: what the file-like resources do to files, each relative to the
 * descriptor of the directory fs_path.c resolved (so what was checked is
 * what is changed), never following a link in the last component: atomic
 * writes and copies, content comparison and reads. Functions return 0 or
 * -errno and never leave a temporary behind. Attributes and names are in
 * fs_attr.c, trees in fs_tree.c, the in-flight journal in fs_inflight.c,
 * the run lock in fs_lock.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"
#include "fs_internal.h"

static int copy_fd(int dst, int src)
{
	char buf[65536];
	for (;;) {
		ssize_t n = fs_read_some(src, buf, sizeof buf);
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		int r = fs_write_full(dst, buf, (size_t)n);
		if (r != 0)
			return r;
	}
}

int fs_open_last(const char *path, struct fs_parent *par, int flags)
{
	int r = fs_parent_open(path, par);
	if (r != 0)
		return r;
	int fd = openat(par->dirfd, par->base, flags | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* ---- writes ---- */

/* Replace path by a temporary holding data (or src's content when src >= 0). */
static int replace_file(const char *path, const void *data, size_t len, int src,
			mode_t mode, uid_t uid, gid_t gid, int flags)
{
	struct fs_parent par;
	char tmp[NAME_MAX + 1];
	int fd = -1, r;
	if ((r = fs_parent_open(path, &par)) != 0)
		return r;
	struct stat old;
	int have_old = fstatat(par.dirfd, par.base, &old, AT_SYMLINK_NOFOLLOW) == 0 &&
		       S_ISREG(old.st_mode);
	if ((r = fs_inflight_note(par.dir)) != 0)
		goto out;
	for (int tries = 0; fd < 0; tries++) {
		if ((r = fs_temp_name(tmp, sizeof tmp, par.base)) != 0)
			goto out;
		fd = openat(par.dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && (errno != EEXIST || tries >= 100)) {
			r = -errno;
			goto out;
		}
	}
	r = src >= 0 ? copy_fd(fd, src) : fs_write_full(fd, data, len);
	if (r != 0)
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
	r = close(fd) != 0 ? -errno : 0;
	fd = -1;
	if (r != 0)
		goto fail;
	/* Test-only: the moment a kill leaves a complete temporary behind. */
	fs_test_hook("replace", path);
	if (renameat(par.dirfd, tmp, par.dirfd, par.base) != 0) {
		r = -errno;
		goto fail;
	}
	r = 0;
	goto out;
fail:
	if (fd >= 0)
		close(fd);
	unlinkat(par.dirfd, tmp, 0);
out:
	fs_parent_release(&par);
	return r;
}

int fs_write_atomic(const char *path, const void *data, size_t len,
		    mode_t mode, uid_t uid, gid_t gid, int flags)
{
	return replace_file(path, data, len, -1, mode, uid, gid, flags);
}

int fs_copy_atomic(const char *path, int src, mode_t mode, uid_t uid, gid_t gid, int flags)
{
	if (lseek(src, 0, SEEK_SET) < 0)
		return -errno;
	return replace_file(path, NULL, 0, src, mode, uid, gid, flags);
}

/* ---- reads and comparisons ---- */

static int read_fd_all(int fd, size_t hint, size_t max, char **data, size_t *len)
{
	size_t cap = hint + 1 > 4096 ? hint + 1 : 4096, n = 0;
	char *buf = malloc(cap);
	if (buf == NULL)
		return -ENOMEM;
	for (;;) {
		if (n + 1 >= cap) {
			if (n >= max) {
				free(buf);
				return -EFBIG;
			}
			char *nb = realloc(buf, cap * 2);
			if (nb == NULL) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t got = fs_read_some(fd, buf + n, cap - n - 1);
		if (got < 0) {
			int r = -errno;
			free(buf);
			return r;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	if (n > max) {
		free(buf);
		return -EFBIG;
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
}

int fs_read_all(const char *path, char **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	struct stat st;
	int r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		r = -errno;
		goto out;
	}
	r = read_fd_all(fd, S_ISREG(st.st_mode) ? (size_t)st.st_size : 0, SIZE_MAX - 1, data, len);
out:
	close(fd);
	return r;
}

/* Open the regular file at par/base for reading, never through a link, and
 * check it is the object want describes (when given). */
static int open_regular(struct fs_parent *par, const struct stat *want, struct stat *st)
{
	int fd = openat(par->dirfd, par->base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		int r = -errno;
		if (r == -ELOOP)
			fs_set_detail("%s/%s is a symbolic link; not reading through it",
				      strcmp(par->dir, "/") == 0 ? "" : par->dir, par->base);
		return r;
	}
	if (fstat(fd, st) != 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	if (!S_ISREG(st->st_mode) || (want != NULL && !fs_same_object(st, want))) {
		if (S_ISREG(st->st_mode))
			fs_set_detail("%s/%s was replaced since it was checked; not using it",
				      strcmp(par->dir, "/") == 0 ? "" : par->dir, par->base);
		close(fd);
		return S_ISREG(st->st_mode) ? -ESTALE : -EINVAL;
	}
	return fd;
}

/* Resolve path's parent and open_regular its last component. */
static int open_regular_path(const char *path, const struct stat *want, struct stat *st)
{
	struct fs_parent par;
	int r = fs_parent_open(path, &par);
	if (r != 0)
		return r;
	int fd = open_regular(&par, want, st);
	fs_parent_release(&par);
	return fd;
}

int fs_open_safe(const char *path, const struct stat *want)
{
	struct stat st;
	return open_regular_path(path, want, &st);
}

int fs_read_safe(const char *path, size_t max, const struct stat *want, char **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	struct stat st;
	int fd = open_regular_path(path, want, &st);
	if (fd < 0)
		return fd;
	int r = (size_t)st.st_size > max ? -EFBIG : read_fd_all(fd, (size_t)st.st_size, max, data, len);
	close(fd);
	return r;
}

/* 1 when fd's content is exactly data. */
static int compare_fd(int fd, const void *data, size_t len)
{
	char buf[65536];
	const char *want = data;
	size_t off = 0;
	for (;;) {
		ssize_t got = fs_read_some(fd, buf, sizeof buf);
		if (got < 0)
			return -errno;
		if (got == 0)
			break;
		if (off + (size_t)got > len || memcmp(buf, want + off, (size_t)got) != 0)
			return 0;
		off += (size_t)got;
		/* A short read of a regular file is its end: with all len bytes
		 * read, that saves the read that would return 0 (the no-op check
		 * of a small file is then fstatat, open, fstat, one read, close). */
		if ((size_t)got < sizeof buf && off == len)
			break;
	}
	return off == len;
}

int fs_same_content(const char *path, const struct stat *st, const void *data, size_t len)
{
	int same;
	struct stat now;
	if (!S_ISREG(st->st_mode) || (size_t)st->st_size != len)
		return 0;
	int r = fs_lstat_content(path, &now, data, len, &same, 0, NULL, NULL);
	return r != 0 ? r : same;
}

int fs_lstat(const char *path, struct stat *st)
{
	struct fs_parent par;
	int r = fs_parent_open(path, &par);
	if (r != 0)
		return r;
	r = fstatat(par.dirfd, par.base, st, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
	fs_parent_release(&par);
	return r;
}

int fs_lstat_content(const char *path, struct stat *st, const void *data, size_t len,
		     int *same, size_t old_max, char **old, size_t *old_len)
{
	*same = 0;
	if (old != NULL) {
		*old = NULL;
		*old_len = 0;
	}
	struct fs_parent par;
	int r = 0;
	/* Open first, then fstat the descriptor: the information, the
	 * comparison and the old bytes all come from one object (and the
	 * no-op check costs what a plain lstat + open did). A link (ELOOP) or
	 * anything that cannot be opened is described by fstatat instead. */
	int fd = fs_open_last(path, &par, O_RDONLY | O_NONBLOCK);
	if (par.dirfd < 0)
		return fd;
	if (fd < 0) {
		r = fd;
		if (r != -ENOENT && r != -ENOTDIR && fstatat(par.dirfd, par.base, st, AT_SYMLINK_NOFOLLOW) == 0)
			r = S_ISREG(st->st_mode) ? r : 0;
		goto out;
	}
	if (fstat(fd, st) != 0) {
		r = -errno;
		goto close_out;
	}
	if (!S_ISREG(st->st_mode))
		goto close_out;
	int want_old = old != NULL && (size_t)st->st_size <= old_max;
	if (want_old) {
		r = read_fd_all(fd, (size_t)st->st_size, old_max, old, old_len);
		if (r == 0) {
			*same = *old_len == len && memcmp(*old, data, len) == 0;
			if (*same) {
				free(*old);
				*old = NULL;
				*old_len = 0;
			}
		}
	} else if ((size_t)st->st_size == len) {
		r = compare_fd(fd, data, len);
		*same = r == 1;
		r = r < 0 ? r : 0;
	}
close_out:
	close(fd);
out:
	fs_parent_release(&par);
	return r;
}

int fs_lstat_same_fd(const char *path, struct stat *st, int src, int *same)
{
	*same = 0;
	struct stat sst;
	if (fstat(src, &sst) != 0)
		return -errno;
	struct fs_parent par;
	int r = fs_parent_open(path, &par);
	if (r != 0)
		return r;
	if (fstatat(par.dirfd, par.base, st, AT_SYMLINK_NOFOLLOW) != 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st->st_mode) || st->st_size != sst.st_size)
		goto out;
	struct stat fst;
	int fd = open_regular(&par, st, &fst);
	if (fd < 0) {
		r = fd;
		goto out;
	}
	if (lseek(src, 0, SEEK_SET) < 0) {
		r = -errno;
		close(fd);
		goto out;
	}
	static char a[65536], b[65536];
	*same = 1;
	for (;;) {
		ssize_t na = fs_read_some(fd, a, sizeof a);
		if (na < 0) {
			r = -errno;
			break;
		}
		size_t nb = 0;
		while (nb < (size_t)na) {
			ssize_t k = fs_read_some(src, b + nb, (size_t)na - nb);
			if (k < 0) {
				r = -errno;
				break;
			}
			if (k == 0)
				break;
			nb += (size_t)k;
		}
		if (r != 0 || nb != (size_t)na || memcmp(a, b, nb) != 0) {
			*same = 0;
			break;
		}
		if (na == 0)
			break;
	}
	close(fd);
out:
	fs_parent_release(&par);
	return r;
}
