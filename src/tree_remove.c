/*
 * tree_remove.c: removes a directory tree the way rm(1)'s fts walk does,
 * every step relative to an open directory: each subdirectory is opened
 * with O_NOFOLLOW | O_DIRECTORY from its parent's descriptor and its
 * entries removed with unlinkat, so a link swapped in for a subdirectory
 * is removed as a link, never followed out of the tree.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tree_remove.h"

/* Empties the directory open at fd (which this closes): 0 or -errno.
 * depth bounds the recursion: a bundle is never that deep. */
static int empty_dir(int fd, int depth, char *err, size_t errlen)
{
	if (depth > 256) {
		close(fd);
		snprintf(err, errlen, "directory tree too deep");
		return -ELOOP;
	}
	DIR *d = fdopendir(fd);
	if (d == NULL) {
		int e = errno;
		snprintf(err, errlen, "%s", strerror(e));
		close(fd);
		return -e;
	}
	int r = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(fd, e->d_name, 0) == 0)
			continue;
		if (errno != EISDIR && errno != EPERM) {
			r = -errno;
			snprintf(err, errlen, "%s: %s", e->d_name, strerror(-r));
			break;
		}
		int sub = openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			r = -errno;
		} else if ((r = empty_dir(sub, depth + 1, err, errlen)) == 0 &&
			   unlinkat(fd, e->d_name, AT_REMOVEDIR) != 0) {
			r = -errno;
		}
		if (r != 0) {
			if (err[0] == '\0')
				snprintf(err, errlen, "%s: %s", e->d_name, strerror(-r));
			break;
		}
		/* Entries were removed: restart the listing from the top. */
		rewinddir(d);
	}
	closedir(d);
	return r;
}

int tree_remove_at(int dirfd, const char *name, uid_t owner, char *err, size_t errlen)
{
	err[0] = '\0';
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", name, strerror(e));
		return -e;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || st.st_uid != owner) {
		close(fd);
		snprintf(err, errlen, "%s: not ours", name);
		return -EPERM;
	}
	int r = empty_dir(fd, 0, err, errlen);
	if (r != 0)
		return r;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) != 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", name, strerror(e));
		return -e;
	}
	return 0;
}
