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
 * Resolved parent directories are cached for the run (a converge touches a
 * few directories many times): an entry is used only while the path still
 * leads to that same directory (one stat, compared by device and inode), so
 * a cache hit gives exactly what a fresh walk would, or a walk is made.
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

static void drop(int fd)
{
	if (fd >= 0 && fd != root_fd)
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

/* Walk path to a directory descriptor. The last component is followed (when
 * a trusted link) only with follow_last. orig names the path in messages. */
static int walk(const char *path, int follow_last, const char *orig, int *out)
{
	char rest[8192], comp[256], seen[4096];
	size_t seen_len = 0;
	int links = 0, r;
	*out = -1;
	seen[0] = '\0';
	if (strlen(path) >= sizeof rest)
		return -ENAMETOOLONG;
	strcpy(rest, path);
	int fd = path[0] == '/' ? get_root() : open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
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
		if (seen_len + n + 2 < sizeof seen)
			seen_len += (size_t)snprintf(seen + seen_len, sizeof seen - seen_len, "/%s", comp);
		int nfd = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd >= 0) {
			drop(fd);
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
			drop(fd);
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
	if (fd == root_fd) {
		fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
	}
	*out = fd;
	return 0;
fail:
	drop(fd);
	return r;
}

/* ---- the per-run cache of resolved parent directories ---- */

#define CACHE_SLOTS 256
#define CACHE_PROBE 4

struct slot {
	char *key;
	int fd;
	int busy;
	dev_t dev;
	ino_t ino;
};

static struct slot cache[CACHE_SLOTS];

static unsigned hash(const char *s)
{
	unsigned h = 2166136261u;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static void slot_clear(struct slot *s)
{
	if (s->key == NULL)
		return;
	close(s->fd);
	free(s->key);
	s->key = NULL;
	s->fd = -1;
	s->busy = 0;
}

void fs_cache_flush(void)
{
	for (int i = 0; i < CACHE_SLOTS; i++)
		if (!cache[i].busy)
			slot_clear(&cache[i]);
		else
			cache[i].dev = 0, cache[i].ino = 0; /* fails its next check */
}

/* A cached descriptor for dir if the path still leads to it, or -1. */
static int cache_take(const char *dir, int *slot_out)
{
	unsigned h = hash(dir);
	for (int k = 0; k < CACHE_PROBE; k++) {
		struct slot *s = &cache[(h + (unsigned)k) % CACHE_SLOTS];
		if (s->key == NULL || s->busy || strcmp(s->key, dir) != 0)
			continue;
		struct stat st;
		if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_dev != s->dev ||
		    st.st_ino != s->ino) {
			slot_clear(s);
			return -1;
		}
		s->busy = 1;
		*slot_out = (int)(s - cache);
		return s->fd;
	}
	return -1;
}

static void cache_put(const char *dir, int fd)
{
	struct stat st;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return;
	}
	unsigned h = hash(dir);
	struct slot *victim = NULL;
	for (int k = 0; k < CACHE_PROBE; k++) {
		struct slot *s = &cache[(h + (unsigned)k) % CACHE_SLOTS];
		if (s->busy)
			continue;
		if (s->key == NULL) {
			victim = s;
			break;
		}
		if (victim == NULL)
			victim = s;
	}
	char *key = victim ? strdup(dir) : NULL;
	if (key == NULL) {
		close(fd);
		return;
	}
	slot_clear(victim);
	victim->key = key;
	victim->fd = fd;
	victim->dev = st.st_dev;
	victim->ino = st.st_ino;
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
	int fd = cache_take(p->dir, &slot);
	if (fd >= 0) {
		p->dirfd = fd;
		p->slot = slot;
		return 0;
	}
	int r = walk(p->dir, 1, path, &fd);
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
		struct slot *s = &cache[p->slot];
		s->busy = 0;
		if (s->dev == 0 && s->ino == 0)
			slot_clear(s); /* flushed while lent */
	} else {
		cache_put(p->dir, p->dirfd);
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
