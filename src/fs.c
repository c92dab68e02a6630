/*
 * fs.c: what the file-like resources do to files, each relative to the
 * descriptor of the directory fs_path.c resolved (so what was checked is
 * what is changed), never following a link in the last component: atomic
 * writes and copies, content comparison, reads, attribute changes by
 * descriptor, rm -rf by descriptors, the journal of temporaries a killed
 * run may leave, and the run lock. Functions return 0 or -errno and never
 * leave a temporary behind.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"

#define TEMP_SUFFIX ".ccchef-"
#define TEMP_RANDOM 6

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

static ssize_t read_some(int fd, void *buf, size_t len)
{
	ssize_t n;
	while ((n = read(fd, buf, len)) < 0 && errno == EINTR)
		;
	return n;
}

static int copy_fd(int dst, int src)
{
	char buf[65536];
	for (;;) {
		ssize_t n = read_some(src, buf, sizeof buf);
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		int r = write_full(dst, buf, (size_t)n);
		if (r != 0)
			return r;
	}
}

static int same_object(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* ---- temporaries and the journal of directories with writes in flight ---- */

int fs_is_temp_name(const char *name)
{
	size_t n = strlen(name), sl = strlen(TEMP_SUFFIX);
	if (name[0] != '.' || n < 2 + sl + TEMP_RANDOM)
		return 0;
	if (memcmp(name + n - TEMP_RANDOM - sl, TEMP_SUFFIX, sl) != 0)
		return 0;
	for (size_t i = n - TEMP_RANDOM; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}

/* .BASE.ccchef-XXXXXX with an unpredictable XXXXXX. */
static int temp_name(char *out, size_t size, const char *base)
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char rnd[TEMP_RANDOM];
	if (getrandom(rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		unsigned long x = (unsigned long)ts.tv_nsec ^ ((unsigned long)getpid() << 16);
		for (int i = 0; i < TEMP_RANDOM; i++, x = x * 6364136223846793005UL + 1)
			rnd[i] = (unsigned char)(x >> 33);
	}
	char tail[TEMP_RANDOM + 1];
	for (int i = 0; i < TEMP_RANDOM; i++)
		tail[i] = alnum[rnd[i] % (sizeof alnum - 1)];
	tail[TEMP_RANDOM] = '\0';
	if ((size_t)snprintf(out, size, ".%s%s%s", base, TEMP_SUFFIX, tail) >= size ||
	    strlen(out) > NAME_MAX)
		return -ENAMETOOLONG;
	return 0;
}

static char inflight_record[4096];
static int inflight_on;
static int inflight_fd = -1;
static pid_t inflight_pid;
static char **noted;
static size_t noted_len, noted_cap;

/* A normal exit has no write in flight: the record is not needed. Only our
 * own process removes it (not a child that exits after a fork). */
static void inflight_done(void)
{
	if (inflight_fd >= 0 && getpid() == inflight_pid) {
		unlink(inflight_record);
		close(inflight_fd);
		inflight_fd = -1;
	}
}

static int noted_has(const char *dir)
{
	for (size_t i = noted_len; i > 0; i--)
		if (strcmp(noted[i - 1], dir) == 0)
			return 1;
	return 0;
}

/* Before the first temporary of this run in dir: dir is on disk in the
 * record (fdatasync) so the next run finds what a kill leaves there. The
 * list is searched newest first: writes come in runs per directory. */
static int inflight_note(const char *dir)
{
	if (!inflight_on || noted_has(dir))
		return 0;
	char abs[4096];
	if (dir[0] != '/') {
		char cwd[2048];
		if (getcwd(cwd, sizeof cwd) == NULL)
			return -errno;
		if ((size_t)snprintf(abs, sizeof abs, "%s/%s", cwd, dir) >= sizeof abs)
			return -ENAMETOOLONG;
	} else {
		snprintf(abs, sizeof abs, "%s", dir);
	}
	if (strchr(abs, '\n') != NULL)
		return 0; /* cannot be recorded one per line; not worth failing for */
	int created = 0;
	if (inflight_fd < 0) {
		inflight_fd = open(inflight_record, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (inflight_fd < 0)
			return -errno;
		inflight_pid = getpid();
		created = 1;
	}
	size_t n = strlen(abs);
	abs[n] = '\n';
	int r = write_full(inflight_fd, abs, n + 1);
	abs[n] = '\0';
	if (r == 0 && fdatasync(inflight_fd) != 0)
		r = -errno;
	if (r == 0 && created) {
		/* The record's own name must survive a crash too. */
		char sdir[4096];
		snprintf(sdir, sizeof sdir, "%s", inflight_record);
		char *slash = strrchr(sdir, '/');
		if (slash != NULL) {
			*slash = '\0';
			int dfd = open(slash == sdir ? "/" : sdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd >= 0) {
				fsync(dfd);
				close(dfd);
			}
		}
	}
	if (r != 0)
		return r;
	if (noted_len == noted_cap) {
		size_t cap = noted_cap ? noted_cap * 2 : 64;
		char **nn = realloc(noted, cap * sizeof *nn);
		if (nn == NULL)
			return 0;
		noted = nn;
		noted_cap = cap;
	}
	char *copy = strdup(dir);
	if (copy != NULL)
		noted[noted_len++] = copy;
	return 0;
}

static int remove_temps_in(const char *dir)
{
	int pfd;
	if (fs_dir_open(dir, 1, &pfd) != 0)
		return 0; /* gone or no longer safe to enter: nothing of ours to clean */
	int dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(pfd);
	if (dfd < 0)
		return 0;
	DIR *d = fdopendir(dfd);
	if (d == NULL) {
		close(dfd);
		return 0;
	}
	int removed = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!fs_is_temp_name(e->d_name))
			continue;
		struct stat st;
		if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if ((S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) && unlinkat(dfd, e->d_name, 0) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}

int fs_inflight_start(const char *record, int why_run)
{
	static int registered;
	if (strlen(record) >= sizeof inflight_record)
		return -ENAMETOOLONG;
	inflight_done();
	while (noted_len > 0)
		free(noted[--noted_len]);
	strcpy(inflight_record, record);
	inflight_on = !why_run;
	if (!registered && atexit(inflight_done) == 0)
		registered = 1;
	if (why_run)
		return 0;
	char *text;
	size_t len;
	int r = fs_read_safe(record, (size_t)1 << 24, NULL, &text, &len);
	if (r == -ENOENT)
		return 0;
	if (r != 0)
		return r;
	int removed = 0;
	for (char *line = text, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl == NULL)
			break;
		*nl = '\0';
		if (line[0] == '/')
			removed += remove_temps_in(line);
	}
	free(text);
	unlink(record);
	return removed;
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
	if ((r = inflight_note(par.dir)) != 0)
		goto out;
	for (int tries = 0; fd < 0; tries++) {
		if ((r = temp_name(tmp, sizeof tmp, par.base)) != 0)
			goto out;
		fd = openat(par.dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && (errno != EEXIST || tries >= 100)) {
			r = -errno;
			goto out;
		}
	}
	r = src >= 0 ? copy_fd(fd, src) : write_full(fd, data, len);
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
		ssize_t got = read_some(fd, buf + n, cap - n - 1);
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
	if (!S_ISREG(st->st_mode) || (want != NULL && !same_object(st, want))) {
		if (S_ISREG(st->st_mode))
			fs_set_detail("%s/%s was replaced since it was checked; not using it",
				      strcmp(par->dir, "/") == 0 ? "" : par->dir, par->base);
		close(fd);
		return S_ISREG(st->st_mode) ? -ESTALE : -EINVAL;
	}
	return fd;
}

int fs_open_safe(const char *path, const struct stat *want)
{
	struct fs_parent par;
	int r = fs_parent_open(path, &par);
	if (r != 0)
		return r;
	struct stat st;
	int fd = open_regular(&par, want, &st);
	fs_parent_release(&par);
	return fd;
}

int fs_read_safe(const char *path, size_t max, const struct stat *want, char **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	struct fs_parent par;
	int r = fs_parent_open(path, &par);
	if (r != 0)
		return r;
	struct stat st;
	int fd = open_regular(&par, want, &st);
	fs_parent_release(&par);
	if (fd < 0)
		return fd;
	r = (size_t)st.st_size > max ? -EFBIG : read_fd_all(fd, (size_t)st.st_size, max, data, len);
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
		ssize_t got = read_some(fd, buf, sizeof buf);
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
	int r = fs_parent_open(path, &par);
	if (r != 0)
		return r;
	/* Open first, then fstat the descriptor: the information, the
	 * comparison and the old bytes all come from one object (and the
	 * no-op check costs what a plain lstat + open did). A link (ELOOP) or
	 * anything that cannot be opened is described by fstatat instead. */
	int fd = openat(par.dirfd, par.base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
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
		ssize_t na = read_some(fd, a, sizeof a);
		if (na < 0) {
			r = -errno;
			break;
		}
		size_t nb = 0;
		while (nb < (size_t)na) {
			ssize_t k = read_some(src, b + nb, (size_t)na - nb);
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

/* ---- changes to names and attributes ---- */

int fs_mkdir(const char *path, mode_t mode)
{
	struct fs_parent par;
	int r = fs_parent_open(path, &par);
	if (r != 0)
		return r;
	if (mkdirat(par.dirfd, par.base, mode) != 0) {
		r = -errno;
		goto out;
	}
	/* mkdir applies the umask; the resource asked for exactly this mode. */
	int fd = openat(par.dirfd, par.base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fchmod(fd, mode) != 0)
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
	if ((r = inflight_note(par.dir)) != 0)
		goto out;
	for (int tries = 0;; tries++) {
		if ((r = temp_name(tmp, sizeof tmp, par.base)) != 0)
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
	if (fstat(fd, &now) != 0 || !same_object(&now, st)) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

/* The object at par/base, O_PATH, after the checks fs_setattr/fs_touch share. */
static int open_object(struct fs_parent *par, const char *path, const struct stat *want,
		       struct stat *st)
{
	int fd = openat(par->dirfd, par->base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = 0;
	if (fstat(fd, st) != 0) {
		r = -errno;
	} else if (S_ISLNK(st->st_mode)) {
		fs_set_detail("%s is a symbolic link: not changing what it points to", path);
		r = -ELOOP;
	} else if (want != NULL && !same_object(st, want)) {
		fs_set_detail("%s was replaced since it was checked; not changing it", path);
		r = -ESTALE;
	}
	if (r != 0) {
		close(fd);
		return r;
	}
	return fd;
}

int fs_setattr(const char *path, mode_t mode, uid_t uid, gid_t gid, const struct stat *want)
{
	struct fs_parent par;
	struct stat st;
	char proc[64];
	int r = fs_parent_open(path, &par);
	if (r != 0)
		return r;
	int fd = open_object(&par, path, want, &st);
	if (fd < 0) {
		r = fd;
		goto out;
	}
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
out:
	fs_parent_release(&par);
	return r;
}

int fs_touch(const char *path)
{
	struct fs_parent par;
	struct stat st;
	char proc[64];
	int r = fs_parent_open(path, &par);
	if (r != 0)
		return r;
	int fd = open_object(&par, path, NULL, &st);
	if (fd < 0) {
		r = fd;
		goto out;
	}
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
out:
	fs_parent_release(&par);
	return r;
}

/* ---- rm -rf by descriptors ---- */

#define MAX_DEPTH 256

/* Empty the directory open as dfd (shown as shown). Each subdirectory is
 * entered by openat(O_DIRECTORY|O_NOFOLLOW) relative to its parent's
 * descriptor, so one swapped for a link between the listing and the
 * descent is not entered: the link is unlinked instead. */
static int empty_dir(int dfd, const char *shown, int depth)
{
	if (depth > MAX_DEPTH) {
		fs_set_detail("%s: more than %d levels deep; not removing", shown, MAX_DEPTH);
		return -ELOOP;
	}
	int lfd = dup(dfd);
	if (lfd < 0)
		return -errno;
	DIR *d = fdopendir(lfd);
	if (d == NULL) {
		close(lfd);
		return -errno;
	}
	int r = 0;
	char sub[4096];
	struct dirent *e;
	while (r == 0 && (e = readdir(d)) != NULL) {
		const char *name = e->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		snprintf(sub, sizeof sub, "%s/%s", shown, name);
		int is_dir = e->d_type == DT_DIR;
		if (e->d_type == DT_UNKNOWN) {
			struct stat st;
			if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
				if (errno != ENOENT)
					r = -errno;
				continue;
			}
			is_dir = S_ISDIR(st.st_mode);
		}
		if (!is_dir) {
			if (unlinkat(dfd, name, 0) != 0 && errno != ENOENT)
				r = -errno;
			continue;
		}
		fs_test_hook("remove_tree", sub);
		int cfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
		if (cfd < 0) {
			if (errno == ENOTDIR || errno == ELOOP) {
				/* Not a directory any more (a link now): remove the name. */
				if (unlinkat(dfd, name, 0) != 0 && errno != ENOENT)
					r = -errno;
			} else if (errno != ENOENT) {
				r = -errno;
			}
			continue;
		}
		r = empty_dir(cfd, sub, depth + 1);
		close(cfd);
		if (r == 0 && unlinkat(dfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
			r = -errno;
	}
	if (r != 0 && fs_error_detail()[0] == '\0')
		fs_set_detail("%s: %s", sub, strerror(-r));
	closedir(d);
	return r;
}

int fs_remove_tree(const char *path)
{
	struct fs_parent par;
	int r = fs_parent_open(path, &par);
	if (r != 0)
		return r;
	int dfd = openat(par.dirfd, par.base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (dfd < 0) {
		r = -errno;
		if (r == -ENOTDIR || r == -ELOOP)
			r = unlinkat(par.dirfd, par.base, 0) == 0 ? 0 : -errno;
		if (r == -ENOENT)
			r = 0;
	} else {
		r = empty_dir(dfd, path, 0);
		close(dfd);
		if (r == 0 && unlinkat(par.dirfd, par.base, AT_REMOVEDIR) != 0)
			r = -errno;
	}
	fs_parent_release(&par);
	fs_cache_flush();
	return r;
}

int fs_scandir(const char *path,
	       int (*fn)(void *arg, const char *name, const struct stat *st), void *arg)
{
	int pfd;
	int r = fs_dir_open(path, 1, &pfd);
	if (r != 0)
		return r;
	int dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(pfd);
	if (dfd < 0)
		return -errno;
	DIR *d = fdopendir(dfd);
	if (d == NULL) {
		r = -errno;
		close(dfd);
		return r;
	}
	struct dirent *e;
	while (r == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue; /* gone meanwhile */
		r = fn(arg, e->d_name, &st);
	}
	closedir(d);
	return r;
}

/* ---- the run lock ---- */

int fs_lock(const char *path, double timeout, long *holder)
{
	struct timespec start, now;
	char pid[32];
	int n, r;
	*holder = 0;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			r = -errno;
			goto out;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		double waited = (double)(now.tv_sec - start.tv_sec) +
				(double)(now.tv_nsec - start.tv_nsec) / 1e9;
		if (waited >= timeout) {
			char buf[32] = {0};
			if (pread(fd, buf, sizeof buf - 1, 0) > 0)
				*holder = strtol(buf, NULL, 10);
			r = -EWOULDBLOCK;
			goto out;
		}
		struct timespec pause = {0, 50 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
	n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0) {
		r = -errno;
		goto out;
	}
	/* A short write sets no errno (and errno may still say EWOULDBLOCK
	 * from the wait above: that would read as "held"). */
	ssize_t w = pwrite(fd, pid, (size_t)n, 0);
	if (w != n) {
		r = w < 0 ? -errno : -EIO;
		goto out;
	}
	return fd; /* held: the caller keeps it open until it exits */
out:
	close(fd);
	return r;
}
