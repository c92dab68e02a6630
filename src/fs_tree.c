/*
 * fs_tree.c: directories as trees: rm -rf by descriptors (each level
 * entered with O_NOFOLLOW relative to its parent, so a directory swapped
 * for a link is unlinked, not followed), optionally only of a directory of
 * a given owner (the runner's stale private directories in /tmp), and the
 * listing of one directory. Split out of fs.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "fs_internal.h"

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

/* The top of a removal with an owner: a directory of that owner (on the
 * descriptor the walk goes on with). 0, or -errno with the detail set. */
static int owned_dir(int dfd, const char *path, uid_t owner)
{
	if (dfd == -ENOTDIR || dfd == -ELOOP) {
		fs_set_detail("%s is not a directory; not removing it", path);
		return -ENOTDIR;
	}
	if (dfd < 0)
		return dfd;
	struct stat st;
	if (fstat(dfd, &st) != 0)
		return -errno;
	if (st.st_uid != owner) {
		fs_set_detail("%s belongs to uid %lu, not %lu; not removing it", path,
			      (unsigned long)st.st_uid, (unsigned long)owner);
		return -EPERM;
	}
	return 0;
}

int fs_remove_tree(const char *path, uid_t owner)
{
	struct fs_parent par;
	int r = 0;
	int dfd = fs_open_last(path, &par, O_RDONLY | O_DIRECTORY);
	if (par.dirfd < 0)
		return dfd;
	if (owner != FS_ANY_OWNER && dfd != -ENOENT)
		r = owned_dir(dfd, path, owner);
	if (r != 0) {
		if (dfd >= 0)
			close(dfd);
	} else if (dfd < 0) {
		r = dfd;
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
	DIR *d = fs_opendir_safe(path);
	if (d == NULL)
		return -errno;
	int dfd = dirfd(d), r = 0;
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

DIR *fs_opendir_safe(const char *path)
{
	int pfd;
	int r = fs_dir_open(path, 1, &pfd);
	if (r != 0) {
		errno = -r;
		return NULL;
	}
	/* fdopendir wants a descriptor opened for reading the directory. */
	int dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(pfd);
	if (dfd < 0)
		return NULL;
	DIR *d = fdopendir(dfd);
	if (d == NULL) {
		int e = errno;
		close(dfd);
		errno = e;
	}
	return d;
}
