/*
 * fs_internal.h: what the fs*.c files share and nothing else includes:
 * short-write/EINTR-safe I/O, the identity test of two stats, the
 * temporary names and the in-flight journal a write notes its directory in
 * before creating a temporary, and the opening of a directory for listing.
 * Split out of fs.c so each fs*.c file keeps one concept.
 */
#ifndef CCCHEF_FS_INTERNAL_H
#define CCCHEF_FS_INTERNAL_H

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static inline int fs_write_full(int fd, const void *data, size_t len)
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

static inline ssize_t fs_read_some(int fd, void *buf, size_t len)
{
	ssize_t n;
	while ((n = read(fd, buf, len)) < 0 && errno == EINTR)
		;
	return n;
}

static inline int fs_same_object(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

struct fs_parent;
/* path's parent resolved into par (see fs_parent_open) and its last
 * component opened with flags | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC: the
 * descriptor, or -errno. par->dirfd < 0 when the parent itself failed;
 * otherwise par is held (release it) even when the open failed, so the
 * caller can look at or remove what is there. */
int fs_open_last(const char *path, struct fs_parent *par, int flags);

/* .BASE.ccchef-XXXXXX with an unpredictable XXXXXX (fs_inflight.c). */
int fs_temp_name(char *out, size_t size, const char *base);
/* Record dir in the in-flight journal before its first temporary. */
int fs_inflight_note(const char *dir);
/* The directory path (resolved safely by fs_dir_open) opened for readdir;
 * NULL with errno set on failure. */
DIR *fs_opendir_safe(const char *path);

/* The cache of resolved parents (fs_path_cache.c), absolute dirs only.
 * fs_cache_take lends dir's descriptor (or returns -1) and sets *slot;
 * fs_cache_give_back returns it; fs_cache_put gives the cache ownership of
 * fd (closed at once when there is no room). */
int fs_cache_take(const char *dir, int *slot);
void fs_cache_give_back(int slot);
void fs_cache_put(const char *dir, int fd);

#endif
