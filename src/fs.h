/* fs.h: file-system primitives the file-like resources are built on. No Lua here. */
#ifndef CCCHEF_FS_H
#define CCCHEF_FS_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#define FS_KEEP_MODE ((mode_t)-1)
#define FS_KEEP_UID ((uid_t)-1)
#define FS_KEEP_GID ((gid_t)-1)

enum fs_write_flags {
	FS_FSYNC = 1 << 0, /* fsync the data before the rename */
};

/* Replace path with data atomically: a temporary file in the same directory,
 * written, given its mode and owner, optionally fsynced, then renamed over
 * path. FS_KEEP_* keep what the existing file has (or 0644/the caller's ids
 * for a new file). Returns 0 or -errno; on failure path is untouched. */
int fs_write_atomic(const char *path, const void *data, size_t len,
		    mode_t mode, uid_t uid, gid_t gid, int flags);

/* Whole file into a malloc'd buffer (NUL-terminated for convenience).
 * Returns 0 or -errno. */
int fs_read_all(const char *path, char **data, size_t *len);

/* Does the regular file path (whose lstat is st) hold exactly data?
 * Returns 1 same, 0 different, -errno on error. Cheap when sizes differ. */
int fs_same_content(const char *path, const struct stat *st, const void *data, size_t len);

/* Hold an exclusive lock on path (created if needed, our PID written in it),
 * waiting up to timeout seconds. Returns the descriptor, or -errno; on
 * -EWOULDBLOCK *holder is the PID recorded by the holder (0 if unknown). */
int fs_lock(const char *path, double timeout, long *holder);

#endif
