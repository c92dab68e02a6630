/*
 * fs_attr.c: changes to names and attributes (mkdir, unlink, rmdir,
 * rename, symlinks, lchown, mode/owner, touch), each relative to the parent
 * descriptor fs_path.c resolved and never following a link in the last
 * component; attributes are changed on a descriptor of the object that was
 * checked. Split out of fs.c: contents and attributes are two concepts.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "fs_internal.h"

int fs_mkdir(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	struct fs_parent par;
	int r = fs_parent_open(path, &par);
	if (r != 0)
		return r;
	if (mkdirat(par.dirfd, par.base, mode) != 0) {
		r = -errno;
		goto out;
	}
	/* mkdir applies the umask; the resource asked for exactly this mode.
	 * The owner is set on the same descriptor: a parent another user can
	 * write to lets them swap the name between a mkdir and a chown by it. */
	int fd = openat(par.dirfd, par.base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fchmod(fd, mode) != 0 ||
	    ((uid != FS_KEEP_UID || gid != FS_KEEP_GID) && fchown(fd, uid, gid) != 0))
		r = -errno;
	if (fd >= 0)
		close(fd);
out:
	fs_parent_release(&par);
	return r;
}

static int at_parent(const char *path, int (*op)(int dirfd, const char *base, const void *arg),
		     const void *arg)
{
	struct fs_parent par;
	int r = fs_parent_open(path, &par);
	if (r != 0)
		return r;
	r = op(par.dirfd, par.base, arg);
	fs_parent_release(&par);
	return r;
}

static int op_unlink(int dirfd, const char *base, const void *arg)
{
	return unlinkat(dirfd, base, arg ? AT_REMOVEDIR : 0) == 0 ? 0 : -errno;
}

int fs_unlink(const char *path)
{
	int r = at_parent(path, op_unlink, NULL);
	/* The name may have been a link a cached path went through. */
	fs_cache_flush();
	return r;
}

int fs_rmdir(const char *path)
{
	int r = at_parent(path, op_unlink, "dir");
	fs_cache_flush();
	return r;
}

int fs_rename(const char *from, const char *to)
{
	struct fs_parent a, b;
	int r = fs_parent_open(from, &a);
	if (r != 0)
		return r;
	r = fs_parent_open(to, &b);
	if (r == 0) {
		r = renameat(a.dirfd, a.base, b.dirfd, b.base) == 0 ? 0 : -errno;
		fs_parent_release(&b);
	}
	fs_parent_release(&a);
	fs_cache_flush();
	return r;
}

static int op_symlink(int dirfd, const char *base, const void *target)
{
	return symlinkat(target, dirfd, base) == 0 ? 0 : -errno;
}

int fs_symlink(const char *target, const char *path)
{
	return at_parent(path, op_symlink, target);
}

int fs_symlink_replace(const char *target, const char *path, uid_t uid, gid_t gid)
{
	struct fs_parent par;
	char tmp[NAME_MAX + 1];
	int r = fs_parent_open(path, &par);
	if (r != 0)
		return r;
	if ((r = fs_inflight_note(par.dir)) != 0)
		goto out;
	for (int tries = 0;; tries++) {
		if ((r = fs_temp_name(tmp, sizeof tmp, par.base)) != 0)
			goto out;
		if (symlinkat(target, par.dirfd, tmp) == 0)
			break;
		if (errno != EEXIST || tries >= 100) {
			r = -errno;
			goto out;
		}
	}
	if ((uid != FS_KEEP_UID || gid != FS_KEEP_GID) &&
	    fchownat(par.dirfd, tmp, uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
		r = -errno;
		unlinkat(par.dirfd, tmp, 0);
		goto out;
	}
	if (renameat(par.dirfd, tmp, par.dirfd, par.base) != 0) {
		r = -errno;
		unlinkat(par.dirfd, tmp, 0);
		goto out;
	}
	r = 0;
out:
	fs_parent_release(&par);
	fs_cache_flush();
	return r;
}

int fs_readlink(const char *path, char *buf, size_t size, size_t *len)
{
	struct fs_parent par;
	int r = fs_parent_open(path, &par);
	if (r != 0)
		return r;
	ssize_t n = readlinkat(par.dirfd, par.base, buf, size);
	r = n < 0 ? -errno : (size_t)n == size ? -ENAMETOOLONG : 0;
	*len = n < 0 ? 0 : (size_t)n;
	fs_parent_release(&par);
	return r;
}

int fs_lchown(const char *path, uid_t uid, gid_t gid)
{
	struct fs_parent par;
	int r = fs_parent_open(path, &par);
	if (r != 0)
		return r;
	r = fchownat(par.dirfd, par.base, uid, gid, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
	fs_parent_release(&par);
	return r;
}

/* The object behind an O_PATH descriptor, by its /proc/self/fd name (the
 * kernel resolves that to the very inode, as systemd's fchmod_opath). */
static void proc_fd(char *buf, size_t size, int fd)
{
	snprintf(buf, size, "/proc/self/fd/%d", fd);
}

/* Without /proc: reopen the name for real and check it is the same object. */
static int reopen_same(struct fs_parent *par, const struct stat *st)
{
	int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode))
		return -EOPNOTSUPP;
	int fd = openat(par->dirfd, par->base, flags | (S_ISDIR(st->st_mode) ? O_DIRECTORY : 0));
	if (fd < 0)
		return -errno;
	struct stat now;
	if (fstat(fd, &now) != 0 || !fs_same_object(&now, st)) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

/* The object at path, O_PATH, after the checks fs_setattr/fs_touch share.
 * On success par holds path's parent (release it); on failure it is
 * released. */
static int open_object(const char *path, const struct stat *want, struct fs_parent *par,
		       struct stat *st)
{
	int fd = fs_open_last(path, par, O_PATH);
	if (fd < 0) {
		fs_parent_release(par);
		return fd;
	}
	int r = 0;
	if (fstat(fd, st) != 0) {
		r = -errno;
	} else if (S_ISLNK(st->st_mode)) {
		fs_set_detail("%s is a symbolic link: not changing what it points to", path);
		r = -ELOOP;
	} else if (want != NULL && !fs_same_object(st, want)) {
		fs_set_detail("%s was replaced since it was checked; not changing it", path);
		r = -ESTALE;
	}
	if (r != 0) {
		close(fd);
		fs_parent_release(par);
		return r;
	}
	return fd;
}

int fs_setattr(const char *path, mode_t mode, uid_t uid, gid_t gid, const struct stat *want)
{
	struct fs_parent par;
	struct stat st;
	char proc[64];
	int r = 0;
	int fd = open_object(path, want, &par, &st);
	if (fd < 0)
		return fd;
	/* A hard link a user made to a file elsewhere (say /etc/shadow) is that
	 * file: changing its mode or owner would change the other one. */
	if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
		fs_set_detail("%s has %lu hard links: not changing the mode or owner of a file "
			      "that has other names (docs/safety.md)", path, (unsigned long)st.st_nlink);
		r = -EMLINK;
		goto close_out;
	}
	if ((uid != FS_KEEP_UID || gid != FS_KEEP_GID) &&
	    fchownat(fd, "", uid, gid, AT_EMPTY_PATH) != 0) {
		r = -errno;
		goto close_out;
	}
	if (mode != FS_KEEP_MODE) {
		proc_fd(proc, sizeof proc, fd);
		if (chmod(proc, mode) != 0) {
			r = -errno;
			if (r == -ENOENT) {
				int rfd = reopen_same(&par, &st);
				r = rfd < 0 ? rfd : fchmod(rfd, mode) == 0 ? 0 : -errno;
				if (rfd >= 0)
					close(rfd);
			}
		}
	}
close_out:
	close(fd);
	fs_parent_release(&par);
	return r;
}

int fs_touch(const char *path)
{
	struct fs_parent par;
	struct stat st;
	char proc[64];
	int r = 0;
	int fd = open_object(path, NULL, &par, &st);
	if (fd < 0)
		return fd;
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
	} else {
		proc_fd(proc, sizeof proc, fd);
		r = utimensat(AT_FDCWD, proc, NULL, 0) == 0 ? 0 : -errno;
		if (r == -ENOENT) {
			int rfd = reopen_same(&par, &st);
			r = rfd < 0 ? rfd : futimens(rfd, NULL) == 0 ? 0 : -errno;
			if (rfd >= 0)
				close(rfd);
		}
	}
	close(fd);
	fs_parent_release(&par);
	return r;
}
