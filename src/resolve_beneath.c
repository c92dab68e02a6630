/*
 * resolve_beneath.c: does a path, resolved from an open root directory
 * with every symbolic link followed, stay beneath that root? Answered
 * twice, in user space and by the kernel's openat2(RESOLVE_BENEATH) where
 * it has it, and both must agree. Split out of tar_extract.c, which checks
 * each link of a bundle with it: the resolution is its own concept.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "resolve_beneath.h"

/* Resolves path from the root as the kernel would, every link followed,
 * and says whether it stays beneath the root: 0, or EXDEV (it climbs out
 * or a link is absolute), ELOOP, ENOENT, ENOTDIR, ENAMETOOLONG. Done in
 * user space, component by component (fstatat/readlinkat relative to the
 * root; the directories walked are real ones, so no link is followed on
 * the way), so it also holds where openat2 is missing (older kernels,
 * seccomp profiles, valgrind). The tree is the runner's private directory
 * and nothing writes in it any more: what is checked is what is used. */
static int walk_beneath(int root, const char *path)
{
	char done[PATH_MAX] = ""; /* the real directory reached, from the root */
	char todo[PATH_MAX];      /* what is left to resolve */
	size_t dlen = 0;
	int links = 0;
	if (snprintf(todo, sizeof todo, "%s", path) >= (int)sizeof todo)
		return ENAMETOOLONG;
	char *p = todo;
	for (;;) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			return 0;
		size_t n = strcspn(p, "/");
		char *rest = p + n;
		if (n == 1 && p[0] == '.') {
			p = rest;
			continue;
		}
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (dlen == 0)
				return EXDEV;
			char *slash = memrchr(done, '/', dlen);
			dlen = slash ? (size_t)(slash - done) : 0;
			done[dlen] = '\0';
			p = rest;
			continue;
		}
		char cand[PATH_MAX];
		int m = dlen ? snprintf(cand, sizeof cand, "%s/%.*s", done, (int)n, p)
			     : snprintf(cand, sizeof cand, "%.*s", (int)n, p);
		if (m < 0 || (size_t)m >= sizeof cand)
			return ENAMETOOLONG;
		struct stat st;
		if (fstatat(root, cand, &st, AT_SYMLINK_NOFOLLOW) != 0)
			return errno;
		if (S_ISLNK(st.st_mode)) {
			if (++links > 40)
				return ELOOP;
			char target[PATH_MAX];
			ssize_t tl = readlinkat(root, cand, target, sizeof target - 1);
			if (tl <= 0)
				return tl == 0 ? ENOENT : errno;
			if (target[0] == '/')
				return EXDEV;
			/* The link's target replaces it, relative to its directory
			 * (done, unchanged), followed by what was left. */
			size_t rl = strlen(rest);
			if ((size_t)tl + rl + 1 > sizeof todo)
				return ENAMETOOLONG;
			memmove(todo + tl, rest, rl + 1);
			memcpy(todo, target, (size_t)tl);
			p = todo;
			continue;
		}
		if (*rest != '\0' && !S_ISDIR(st.st_mode))
			return ENOTDIR;
		memcpy(done, cand, (size_t)m + 1);
		dlen = (size_t)m;
		p = rest;
	}
}

/* The kernel's own answer, where it has one (openat2, Linux 5.6): 0, an
 * errno as walk_beneath's, or -1 when it cannot say. */
static int kernel_beneath(int root, const char *path)
{
	struct open_how how;
	memset(&how, 0, sizeof how);
	how.flags = O_PATH | O_CLOEXEC;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	long fd = syscall(SYS_openat2, root, path, &how, sizeof how);
	if (fd >= 0) {
		close((int)fd);
		return 0;
	}
	if (errno == ENOSYS || errno == EPERM || errno == E2BIG)
		return -1;
	return errno;
}

int resolve_beneath(int root, const char *path)
{
	int r = walk_beneath(root, path);
	if (r == 0) {
		r = kernel_beneath(root, path);
		if (r < 0)
			r = 0; /* the kernel cannot say: the walk's answer stands */
	}
	return r;
}
