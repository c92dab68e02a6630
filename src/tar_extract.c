/*
 * tar_extract.c: writes a bundle (tar) under the runner's private
 * directory, every step relative to an open directory descriptor.
 *
 * Why not libarchive's archive_write_disk: it works by path name, and its
 * symbolic link checks are about the links it meets on the way, not about
 * where a link's target resolves. A bundle is hostile input (docs/remote.md):
 *
 *   - every path component is opened with O_NOFOLLOW | O_DIRECTORY from the
 *     extraction root, so nothing is ever written through a link;
 *   - names are relative, with no ".." (each entry is checked before it
 *     is written: tar_entry_check.c), files are created O_EXCL (a name given twice is
 *     refused, never replaced), set-id bits are dropped, owners not restored;
 *   - symbolic links are created last, after every file and directory, and
 *     then each is resolved (resolve_beneath.c: in user space, and the
 *     kernel's openat2 with RESOLVE_BENEATH where it has it): a
 *     link whose target leaves the directory however it gets there (through
 *     other links: `s -> .` then `s/s/s/../../..`), or resolves to nothing, is
 *     refused. Since no file is written after the links exist, what was
 *     checked is what the run sees.
 *   - directory modes are applied at the end too, so a read-only directory
 *     in the bundle still receives its entries.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "resolve_beneath.h"
#include "tar_entry_check.h"
#include "tar_extract.h"

/* Work deferred to the end: directory modes and symbolic links. */
struct later {
	char *path;
	char *target; /* links only */
	mode_t mode;  /* directories only */
};

struct job {
	int root;
	struct later *dirs, *links;
	size_t ndirs, nlinks, capdirs, caplinks;
	char *err;
	size_t errlen;
};

static int fail(struct job *j, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(j->err, j->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int push(struct job *j, struct later **v, size_t *n, size_t *cap, const char *path,
		const char *target, mode_t mode)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct later *p = realloc(*v, c * sizeof *p);
		if (p == NULL)
			return fail(j, "out of memory");
		*v = p;
		*cap = c;
	}
	struct later *l = &(*v)[*n];
	l->path = strdup(path);
	l->target = target ? strdup(target) : NULL;
	l->mode = mode;
	if (l->path == NULL || (target && l->target == NULL)) {
		free(l->path);
		free(l->target);
		return fail(j, "out of memory");
	}
	(*n)++;
	return 0;
}

/* Opens the directory holding `path` (relative to the root), creating
 * missing components when `create`; *leaf points at the last component
 * inside `path`. Returns an fd (the caller closes it) or -1. */
static int open_parent(struct job *j, const char *path, int create, const char **leaf)
{
	int fd = dup(j->root);
	if (fd < 0)
		return fail(j, "%s: %s", path, strerror(errno));
	const char *s = path;
	for (;;) {
		size_t n = strcspn(s, "/");
		const char *next = s + n;
		while (*next == '/')
			next++;
		if (*next == '\0') {
			*leaf = s;
			if (n == 0) {
				close(fd);
				return fail(j, "%s: empty name", path);
			}
			return fd;
		}
		char comp[NAME_MAX + 1];
		if (n > NAME_MAX) {
			close(fd);
			return fail(j, "%s: name too long", path);
		}
		memcpy(comp, s, n);
		comp[n] = '\0';
		if (n == 0 || strcmp(comp, ".") == 0) {
			s = next;
			continue;
		}
		int sub = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, comp, 0755) != 0 && errno != EEXIST) {
				int e = errno;
				close(fd);
				return fail(j, "%s: %s", path, strerror(e));
			}
			sub = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (sub < 0) {
			int e = errno;
			close(fd);
			if (e == ELOOP || e == ENOTDIR)
				return fail(j, "%s: a component is not a directory (or is a symbolic link)", path);
			return fail(j, "%s: %s", path, strerror(e));
		}
		close(fd);
		fd = sub;
		s = next;
	}
}

static int write_file(struct job *j, struct archive *in, struct archive_entry *entry, const char *path)
{
	const char *leaf;
	int dir = open_parent(j, path, 1, &leaf);
	if (dir < 0)
		return -1;
	int fd = openat(dir, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	int e = errno;
	close(dir);
	if (fd < 0)
		return fail(j, "%s: %s", path, e == EEXIST ? "given twice in the bundle" : strerror(e));
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;
	while ((r = archive_read_data_block(in, &buf, &len, &off)) == ARCHIVE_OK) {
		const char *p = buf;
		while (len > 0) {
			ssize_t w = pwrite(fd, p, len, (off_t)off);
			if (w < 0) {
				e = errno;
				close(fd);
				return fail(j, "%s: %s", path, strerror(e));
			}
			p += w;
			off += w;
			len -= (size_t)w;
		}
	}
	if (r != ARCHIVE_EOF) {
		close(fd);
		return fail(j, "bundle: %s", archive_error_string(in));
	}
	/* Sparse entries end in a hole; the size is the header's. */
	if (ftruncate(fd, (off_t)archive_entry_size(entry)) != 0 ||
	    fchmod(fd, archive_entry_perm(entry) & 0777) != 0) {
		e = errno;
		close(fd);
		return fail(j, "%s: %s", path, strerror(e));
	}
	if (close(fd) != 0)
		return fail(j, "%s: %s", path, strerror(errno));
	return 0;
}

static int make_dir(struct job *j, struct archive_entry *e, const char *path)
{
	const char *leaf;
	int dir = open_parent(j, path, 1, &leaf);
	if (dir < 0)
		return -1;
	int r = mkdirat(dir, leaf, 0700);
	int err = errno;
	struct stat st;
	if (r != 0 && err == EEXIST && fstatat(dir, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode))
		r = 0; /* created earlier as a parent */
	close(dir);
	if (r != 0)
		return fail(j, "%s: %s", path, err == EEXIST ? "given twice in the bundle" : strerror(err));
	return push(j, &j->dirs, &j->ndirs, &j->capdirs, path, NULL, archive_entry_perm(e) & 0777);
}

static int hard_link(struct job *j, const char *path, const char *target)
{
	const char *tleaf, *leaf;
	int tdir = open_parent(j, target, 0, &tleaf);
	if (tdir < 0)
		return -1;
	struct stat st;
	if (fstatat(tdir, tleaf, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) {
		close(tdir);
		return fail(j, "%s: hard link to %s, which is not a file extracted before it", path, target);
	}
	int dir = open_parent(j, path, 1, &leaf);
	if (dir < 0) {
		close(tdir);
		return -1;
	}
	int r = linkat(tdir, tleaf, dir, leaf, 0); /* 0: never through a link */
	int e = errno;
	close(dir);
	close(tdir);
	if (r != 0)
		return fail(j, "%s: %s", path, e == EEXIST ? "given twice in the bundle" : strerror(e));
	return 0;
}

/* Does the link at path, resolved with every link followed, stay beneath
 * the root? Both readings must agree that it does. 0, or -1 with the
 * reason. */
static int resolves_inside(struct job *j, const char *path, const char *target)
{
	int r = resolve_beneath(j->root, path);
	switch (r) {
	case 0:
		return 0;
	case EXDEV:
		return fail(j, "bundle entry '%s' refused: symbolic link to %s resolves outside the bundle",
			    path, target);
	case ELOOP:
		return fail(j, "bundle entry '%s' refused: symbolic link to %s loops", path, target);
	case ENOENT:
	case ENOTDIR:
		return fail(j, "bundle entry '%s' refused: symbolic link to %s points to nothing in the bundle",
			    path, target);
	default:
		return fail(j, "bundle entry '%s': %s", path, strerror(r));
	}
}

/* Unlink every link finish created (best effort: the refusal being
 * reported is the error that counts). Their directories are real ones. */
static void remove_links(struct job *j)
{
	int saved_errno = errno;
	char *reason = strdup(j->err); /* open_parent may write its own */
	for (size_t i = 0; i < j->nlinks; i++) {
		const char *leaf;
		int dir = open_parent(j, j->links[i].path, 0, &leaf);
		if (dir < 0)
			continue;
		(void)unlinkat(dir, leaf, 0);
		close(dir);
	}
	if (reason != NULL) {
		snprintf(j->err, j->errlen, "%s", reason);
		free(reason);
	}
	errno = saved_errno;
}

static int finish(struct job *j)
{
	for (size_t i = 0; i < j->nlinks; i++) {
		const char *leaf;
		int dir = open_parent(j, j->links[i].path, 1, &leaf);
		if (dir < 0)
			return -1;
		int r = symlinkat(j->links[i].target, dir, leaf);
		int e = errno;
		close(dir);
		if (r != 0)
			return fail(j, "bundle entry '%s' refused: %s", j->links[i].path,
				    e == EEXIST ? "given twice in the bundle (as a link and as a file or directory)"
						: strerror(e));
	}
	/* Every link exists now: each must resolve inside, whatever the
	 * others (created before or after it) make of its path. A refused
	 * bundle leaves none of its links behind: nothing that reads the
	 * directory later (a caller that does not remove it) can be led out. */
	for (size_t i = 0; i < j->nlinks; i++)
		if (resolves_inside(j, j->links[i].path, j->links[i].target) != 0) {
			remove_links(j);
			return -1;
		}
	/* Deepest first, so a read-only directory is closed after its children. */
	for (size_t i = j->ndirs; i-- > 0;) {
		const char *leaf;
		int dir = open_parent(j, j->dirs[i].path, 0, &leaf);
		if (dir < 0)
			return -1;
		int fd = openat(dir, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		close(dir);
		if (fd < 0 || fchmod(fd, j->dirs[i].mode) != 0) {
			if (fd >= 0) {
				e = errno;
				close(fd);
			}
			return fail(j, "%s: %s", j->dirs[i].path, strerror(e));
		}
		close(fd);
	}
	return 0;
}

static void free_later(struct later *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].path);
		free(v[i].target);
	}
	free(v);
}

long tar_extract(struct archive *in, int rootfd, char *err, size_t errlen)
{
	struct job j = { .root = rootfd, .err = err, .errlen = errlen };
	struct archive_entry *e;
	long count = 0;
	int r = 0;
	while (r == 0 && (r = archive_read_next_header(in, &e)) == ARCHIVE_OK) {
		r = 0;
		const char *why = tar_entry_refusal(e);
		if (why != NULL) {
			r = fail(&j, "bundle entry '%s' refused: %s",
				 archive_entry_pathname(e) ? archive_entry_pathname(e) : "", why);
			break;
		}
		const char *name = archive_entry_pathname(e);
		while (name[0] == '.' && name[1] == '/')
			for (name += 2; *name == '/'; name++)
				;
		/* "./" itself would set the private directory's mode: skip it. */
		if (strcmp(name, "") == 0 || strcmp(name, ".") == 0) {
			archive_read_data_skip(in);
			continue;
		}
		const char *hard = archive_entry_hardlink(e);
		if (hard != NULL)
			r = hard_link(&j, name, hard);
		else if (archive_entry_filetype(e) == AE_IFREG)
			r = write_file(&j, in, e, name);
		else if (archive_entry_filetype(e) == AE_IFDIR)
			r = make_dir(&j, e, name);
		else if (archive_entry_filetype(e) == AE_IFLNK)
			r = push(&j, &j.links, &j.nlinks, &j.caplinks, name, archive_entry_symlink(e), 0);
		else
			r = fail(&j, "bundle entry '%s' refused: not a file, directory or link", name);
		count++;
	}
	if (r == ARCHIVE_EOF)
		r = finish(&j);
	else if (r != 0 && r != -1)
		r = fail(&j, "bundle: %s", archive_error_string(in));
	free_later(j.dirs, j.ndirs);
	free_later(j.links, j.nlinks);
	return r == 0 ? count : -1;
}
