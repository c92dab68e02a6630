/*
 * fs_path.c: resolving a path the safe way, for a process that runs as root
 * in directories other users can write (DESIGN.md 4, "Safe as root";
 * docs/safety.md).
 *
 * A path is walked one component at a time from "/" with
 * openat(O_PATH|O_DIRECTORY|O_NOFOLLOW), the way systemd's chase() does, so
 * the directory we end on is the one every component led to, and the caller
 * acts relative to its descriptor (never re-resolving the string). A
 * symbolic link in a parent component is followed only when trusted
 * (fs_path_trusted): it and the directory holding it belong to root (or to
 * us) and nobody else can replace it, which keeps /var/run -> /run and
 * /lib -> usr/lib working while a link a user planted in a directory they
 * own is refused with a message naming it.
 *
 * Resolved parent directories are cached for the run (fs_path_cache.c;
 * a converge touches a few directories many times). Holding the
 * descriptor of the directory that was checked is the point of the
 * design: whatever happens to the path afterwards, what we act in is that
 * directory. The cache is dropped whenever the path-to-directory mapping
 * may have changed by our hand: our own renames, removals and link changes
 * (fs_attr.c, fs_tree.c) and any child process we start (a command may
 * rm -rf or mv a directory; pthread_atfork sees every fork, libuv's spawn
 * included), so later resources see what a fresh walk would see.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs.h"
#include "fs_internal.h"

#define MAX_LINKS 40

static char detail[1024];

const char *fs_error_detail(void)
{
	return detail;
}

void fs_set_detail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
}

static int root_fd = -1;

/* "/" stays open for the process: every walk starts there. */
static int get_root(void)
{
	if (root_fd < 0)
		root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	return root_fd;
}

/* Close a descriptor the walk opened (not "/" nor the one it started from). */
static void drop(int fd, int keep)
{
	if (fd >= 0 && fd != root_fd && fd != keep)
		close(fd);
}

static int owned_by_us(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

int fs_path_trusted(const struct stat *lnk, const struct stat *dir)
{
	if (!owned_by_us(lnk->st_uid) || !owned_by_us(dir->st_uid))
		return 0;
	/* In a sticky directory only the link's owner (trusted), the
	 * directory's owner (trusted) or root can replace the link. */
	return (dir->st_mode & (S_IWGRP | S_IWOTH)) == 0 || (dir->st_mode & S_ISVTX) != 0;
}

static int dir_stat(int fd, struct stat *st)
{
	return fd == AT_FDCWD ? stat(".", st) : fstat(fd, st);
}

/* Walk path, relative to the directory start (shown as start_seen), to a
 * directory descriptor; start itself is never closed. The last component is
 * followed (when a trusted link) only with follow_last. orig names the path
 * in messages. */
static int walk_from(int start, const char *start_seen, const char *path, int follow_last,
		     const char *orig, int *out)
{
	char rest[8192], comp[256], seen[4096];
	int links = 0, r;
	*out = -1;
	if (strlen(path) >= sizeof rest || strlen(start_seen) >= sizeof seen)
		return -ENAMETOOLONG;
	strcpy(rest, path);
	strcpy(seen, strcmp(start_seen, "/") == 0 ? "" : start_seen);
	size_t seen_len = strlen(seen);
	int fd = start;
	char *p = rest;
	for (;;) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		size_t n = strcspn(p, "/");
		if (n >= sizeof comp) {
			r = -ENAMETOOLONG;
			goto fail;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		p += n;
		const char *q = p;
		while (*q == '/')
			q++;
		int last = *q == '\0';
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			/* ".." leads to wherever the directory is now: only from a
			 * directory nobody else can move (systemd's CHASE_SAFE
			 * reasons the same way). */
			struct stat cur;
			if (dir_stat(fd, &cur) != 0) {
				r = -errno;
				goto fail;
			}
			if (!owned_by_us(cur.st_uid) || (cur.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
				fs_set_detail("%s: refusing '..' after %s (a directory owned by uid %lu, mode "
					      "%04o, that others can move)", orig, *seen ? seen : "/",
					      (unsigned long)cur.st_uid, (unsigned)(cur.st_mode & 07777));
				r = -ELOOP;
				goto fail;
			}
		}
		if (seen_len + n + 2 < sizeof seen)
			seen_len += (size_t)snprintf(seen + seen_len, sizeof seen - seen_len, "/%s", comp);
		int nfd = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd >= 0) {
			drop(fd, start);
			fd = nfd;
			continue;
		}
		r = -errno;
		if (r != -ENOTDIR && r != -ELOOP)
			goto fail;
		struct stat lst, dst;
		if (fstatat(fd, comp, &lst, AT_SYMLINK_NOFOLLOW) != 0) {
			r = -errno;
			goto fail;
		}
		if (!S_ISLNK(lst.st_mode)) {
			r = -ENOTDIR;
			goto fail;
		}
		char target[4096];
		ssize_t tl = readlinkat(fd, comp, target, sizeof target - 1);
		if (tl < 0) {
			r = -errno;
			goto fail;
		}
		target[tl] = '\0';
		if (last && !follow_last) {
			fs_set_detail("%s is a symbolic link (-> %s); not following it", seen, target);
			r = -ELOOP;
			goto fail;
		}
		if (dir_stat(fd, &dst) != 0) {
			r = -errno;
			goto fail;
		}
		if (!fs_path_trusted(&lst, &dst)) {
			fs_set_detail("%s: refusing to follow the symbolic link %s -> %s "
				      "(link owned by uid %lu in a directory owned by uid %lu, mode %04o): "
				      "only links owned by root in directories only root can change are "
				      "followed (docs/safety.md)",
				      orig, seen, target, (unsigned long)lst.st_uid,
				      (unsigned long)dst.st_uid, (unsigned)(dst.st_mode & 07777));
			r = -ELOOP;
			goto fail;
		}
		if (++links > MAX_LINKS) {
			r = -ELOOP;
			goto fail;
		}
		/* Continue with the link's target followed by what was left. */
		char next[8192];
		if ((size_t)snprintf(next, sizeof next, "%s/%s", target, p) >= sizeof next) {
			r = -ENAMETOOLONG;
			goto fail;
		}
		strcpy(rest, next);
		p = rest;
		if (target[0] == '/') {
			drop(fd, start);
			fd = get_root();
			seen_len = 0;
			seen[0] = '\0';
		} else if (seen_len > 0) {
			/* The link's own name is not part of where we are. */
			char *slash = strrchr(seen, '/');
			seen_len = (size_t)(slash - seen);
			seen[seen_len] = '\0';
		}
	}
	if (fd == root_fd || fd == start) {
		fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
	}
	*out = fd;
	return 0;
fail:
	drop(fd, start);
	return r;
}

static int walk(const char *path, int follow_last, const char *orig, int *out)
{
	if (path[0] == '/') {
		int root = get_root();
		return root < 0 ? -errno : walk_from(root, "", path, follow_last, orig, out);
	}
	int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0)
		return -errno;
	int r = walk_from(cwd, ".", path, follow_last, orig, out);
	close(cwd);
	return r;
}

/* ---- public ---- */

int fs_parent_open(const char *path, struct fs_parent *p)
{
	p->dirfd = -1;
	p->slot = -1;
	p->base = p->name;
	detail[0] = '\0';
	size_t len = strlen(path);
	if (len == 0)
		return -ENOENT;
	if (len >= sizeof p->dir)
		return -ENAMETOOLONG;
	memcpy(p->dir, path, len + 1);
	while (len > 1 && p->dir[len - 1] == '/')
		p->dir[--len] = '\0';
	char *slash = strrchr(p->dir, '/');
	const char *base;
	if (slash == NULL) {
		base = p->dir;
	} else {
		base = slash + 1;
	}
	if (strlen(base) >= sizeof p->name)
		return -ENAMETOOLONG;
	strcpy(p->name, *base ? base : ".");
	if (slash == NULL)
		strcpy(p->dir, ".");
	else if (slash == p->dir)
		p->dir[1] = '\0';
	else
		*slash = '\0';
	int slot = -1;
	/* Only absolute paths are cached: "." would change with the cwd. */
	int fd = p->dir[0] == '/' ? fs_cache_take(p->dir, &slot) : -1;
	if (fd >= 0) {
		p->dirfd = fd;
		p->slot = slot;
		return 0;
	}
	/* A miss: start from the nearest cached ancestor if there is one (the
	 * first file of each of a hundred sibling directories costs one
	 * openat, not a walk from "/"). */
	char anc[sizeof p->dir];
	strcpy(anc, p->dir);
	int r = 1;
	for (int up = 0; up < 4 && r == 1; up++) {
		char *sl = strrchr(anc, '/');
		if (sl == NULL || sl == anc)
			break;
		*sl = '\0';
		int aslot;
		int afd = fs_cache_take(anc, &aslot);
		if (afd >= 0) {
			r = walk_from(afd, anc, p->dir + (sl - anc), 1, path, &fd);
			fs_cache_give_back(aslot);
		}
	}
	if (r == 1)
		r = walk(p->dir, 1, path, &fd);
	if (r != 0)
		return r;
	p->dirfd = fd;
	return 0;
}

void fs_parent_release(struct fs_parent *p)
{
	if (p->dirfd < 0)
		return;
	if (p->slot >= 0) {
		fs_cache_give_back(p->slot);
	} else if (p->dir[0] == '/') {
		fs_cache_put(p->dir, p->dirfd);
	} else {
		close(p->dirfd);
	}
	p->dirfd = -1;
}

int fs_dir_open(const char *path, int follow_last, int *fd)
{
	*fd = -1;
	struct fs_parent par;
	int r = fs_parent_open(path, &par);
	if (r != 0)
		return r;
	int nfd = openat(par.dirfd, par.base, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (nfd < 0) {
		r = -errno;
		struct stat st;
		if ((r == -ENOTDIR || r == -ELOOP) &&
		    fstatat(par.dirfd, par.base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode)) {
			/* A link at the end: the walk applies the same rule as
			 * for parents (or refuses it without follow_last). */
			r = walk(path, follow_last, path, &nfd);
		}
	}
	fs_parent_release(&par);
	if (r != 0)
		return r;
	*fd = nfd;
	return 0;
}

void fs_test_hook(const char *point, const char *path)
{
	static int enabled = -1;
	static const char *points, *cmd;
	if (enabled == 0)
		return;
	if (enabled < 0) {
		points = getenv("CCCHEF_TEST_HOOK");
		cmd = getenv("CCCHEF_TEST_HOOK_CMD");
		enabled = points && *points && cmd && *cmd;
		if (!enabled)
			return;
	}
	size_t n = strlen(point);
	const char *s = points;
	int match = 0;
	while (*s && !match) {
		size_t k = strcspn(s, ",");
		match = k == n && strncmp(s, point, n) == 0;
		s += k;
		if (*s == ',')
			s++;
	}
	if (!match)
		return;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, "ccchef-test-hook", point, path, (char *)NULL);
		_exit(127);
	}
	if (pid > 0) {
		int status;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
}
