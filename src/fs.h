/* fs.h: file-system primitives the file-like resources are built on. No Lua here.
 *
 * Every function that takes a path resolves it the safe way (fs_path.c): one
 * component at a time from "/" with O_NOFOLLOW, following a symbolic link in
 * a parent component only when it is trusted (see fs_path_trusted), and acts
 * on the final component relative to its parent's descriptor, never following
 * it. docs/safety.md is the user-facing account. Functions return 0 or
 * -errno; -ELOOP with fs_error_detail() set means "refused: not safe". */
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

/* ---- fs_path.c: safe resolution ---------------------------------------- */

/* A path's parent, open: dirfd (O_PATH) and the final component's name. */
struct fs_parent {
	int dirfd;
	const char *base;   /* points into name[] */
	int slot;           /* the cache entry lent to us, or -1 */
	char dir[4096];     /* the parent path as given (cache key) */
	char name[256];
};

/* Resolve path's parent directory safely. On success release it with
 * fs_parent_release. */
int fs_parent_open(const char *path, struct fs_parent *p);
void fs_parent_release(struct fs_parent *p);

/* Resolve path itself as a directory (trusted links followed, also in the
 * final component when follow_last). *fd is an O_PATH descriptor the caller
 * closes. */
int fs_dir_open(const char *path, int follow_last, int *fd);

/* The trust rule for a symbolic link met in a parent component: the link
 * (lnk, from fstatat) and the directory holding it (dir) are owned by root
 * or by us, and nobody else can replace the link (the directory is not
 * group/other-writable, or is sticky). */
int fs_path_trusted(const struct stat *lnk, const struct stat *dir);

/* Forget every cached directory descriptor (after a rename or removal of
 * directories; the cache also checks each entry before it is used). */
void fs_cache_flush(void);

/* Why the last -ELOOP/-EPERM refusal happened ("" if none). */
const char *fs_error_detail(void);
void fs_set_detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Test-only hook (docs/safety.md): when CCCHEF_TEST_HOOK lists point (comma
 * separated), run CCCHEF_TEST_HOOK_CMD with sh -c, $1 = point, $2 = path,
 * and wait for it. A no-op otherwise (one getenv per process). */
void fs_test_hook(const char *point, const char *path);

/* ---- operations: fs.c (write, copy, read, compare), fs_attr.c (names and
 * attributes), fs_tree.c (rm -rf, scandir), fs_inflight.c (temporaries),
 * fs_lock.c (run lock) --------------------------------------------------- */

/* Replace path with data atomically: a temporary file .NAME.ccchef-XXXXXX in
 * the same directory, written, given its mode and owner, optionally fsynced,
 * then renamed over path. FS_KEEP_* keep what the existing file has (or
 * 0644/the caller's ids for a new file). On failure path is untouched. */
int fs_write_atomic(const char *path, const void *data, size_t len,
		    mode_t mode, uid_t uid, gid_t gid, int flags);

/* The same, with the content copied from the open descriptor src (read to
 * its end): RSS independent of the size. */
int fs_copy_atomic(const char *path, int src, mode_t mode, uid_t uid, gid_t gid, int flags);

/* Whole file into a malloc'd buffer (NUL-terminated for convenience). Follows
 * symbolic links: for inputs (recipes, templates, sources). */
int fs_read_all(const char *path, char **data, size_t *len);

/* A regular file, never through a link in its last component, at most max
 * bytes (-EFBIG beyond). With want (non-NULL) the file must be that object
 * (same st_dev/st_ino), else -ESTALE. */
int fs_read_safe(const char *path, size_t max, const struct stat *want, char **data, size_t *len);

/* fs_read_safe's open: a descriptor for reading, or -errno. */
int fs_open_safe(const char *path, const struct stat *want);

/* Does the regular file path (whose lstat is st) hold exactly data?
 * Returns 1 same, 0 different, -errno on error. Cheap when sizes differ. */
int fs_same_content(const char *path, const struct stat *st, const void *data, size_t len);

/* lstat of path (safe resolution); with data, *same = whether it is a
 * regular file holding exactly data, compared on a descriptor of the very
 * object st describes; then, if different and old != NULL, the old content
 * (at most old_max bytes, else *old = NULL) read from that descriptor. */
int fs_lstat(const char *path, struct stat *st);
int fs_lstat_content(const char *path, struct stat *st, const void *data, size_t len,
		     int *same, size_t old_max, char **old, size_t *old_len);

/* Compare path's content with the open descriptor src (both streamed). */
int fs_lstat_same_fd(const char *path, struct stat *st, int src, int *same);

/* mkdir with exactly mode; uid/gid (FS_KEEP_UID/GID: unchanged) set on
 * the new directory's descriptor. */
int fs_mkdir(const char *path, mode_t mode, uid_t uid, gid_t gid);
int fs_unlink(const char *path);
int fs_rmdir(const char *path);
int fs_rename(const char *from, const char *to);
int fs_symlink(const char *target, const char *path);
/* Create or replace path with a link to target atomically: a link under an
 * unpredictable temporary name (created exclusively), owned as asked, then
 * renamed over path. */
int fs_symlink_replace(const char *target, const char *path, uid_t uid, gid_t gid);
int fs_readlink(const char *path, char *buf, size_t size, size_t *len);
int fs_lchown(const char *path, uid_t uid, gid_t gid);

/* Owner then mode of path's own object (never a link's target), all on one
 * descriptor: refused (-ELOOP) when it is a link, (-ESTALE) when want is
 * given and it is no longer that object, and (-EMLINK) for a regular file
 * with other hard links. mode FS_KEEP_MODE / ids FS_KEEP_* leave those. */
int fs_setattr(const char *path, mode_t mode, uid_t uid, gid_t gid, const struct stat *want);

/* Set path's times to now, never through a link; -ENOENT if missing. */
int fs_touch(const char *path);

/* rm -rf path, by descriptors: never follows a link, never leaves the tree
 * (a directory swapped for a link mid-walk is unlinked as a link); a path
 * already gone is 0. owner FS_ANY_OWNER removes whatever is at path; a
 * uid removes path only when it is a directory of that owner, checked on
 * the descriptor the walk then uses (-EPERM, or -ENOTDIR for anything but
 * a directory, with fs_error_detail set): a stale directory of our own in
 * a directory others write to, such as /tmp. */
#define FS_ANY_OWNER ((uid_t)-1)
int fs_remove_tree(const char *path, uid_t owner);

/* The entries of directory path (last component not followed), each with
 * its lstat; fn returns non-zero to stop (that value is returned). */
int fs_scandir(const char *path,
	       int (*fn)(void *arg, const char *name, const struct stat *st), void *arg);

/* Temp files a killed run left: fs_inflight_start(record) remembers where
 * the journal of directories with writes in flight lives, removes the
 * stale temporaries of the directories the previous run recorded there
 * (regular files and links named .NAME.ccchef-XXXXXX only) and removes the
 * record. Returns how many were removed, or -errno. With why_run nothing is
 * removed and nothing will be recorded. */
int fs_inflight_start(const char *record, int why_run);
/* Does name look like a temporary fs_write_atomic makes? */
int fs_is_temp_name(const char *name);

/* Hold an exclusive lock on path (created if needed, our PID written in it),
 * waiting up to timeout seconds. Returns the descriptor, or -errno; on
 * -EWOULDBLOCK *holder is the PID recorded by the holder (0 if unknown). */
int fs_lock(const char *path, double timeout, long *holder);

#endif
