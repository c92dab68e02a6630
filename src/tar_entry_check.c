/*
 * tar_entry_check.c: which entries a bundle may hold, decided from the
 * entry alone before anything is written (tar_extract.c): a relative name
 * with no "..", a hard link inside the bundle, a symbolic link whose
 * target stays inside counted lexically, and only files, directories and
 * links. Pure string checks; the links are resolved for real once they
 * exist (tar_extract.c, resolve_beneath.c).
 */
#include <stddef.h>
#include <string.h>

#include <archive_entry.h>

#include "tar_entry_check.h"

/* Is p a relative path with no ".." component? (What an entry name or a
 * hard-link target must be.) Leading "./" components are fine. */
static int relative_inside(const char *p)
{
	if (p == NULL || *p == '\0' || *p == '/')
		return 0;
	for (const char *s = p; *s;) {
		size_t n = strcspn(s, "/");
		if (n == 2 && s[0] == '.' && s[1] == '.')
			return 0;
		s += n;
		while (*s == '/')
			s++;
	}
	return 1;
}

/* Does the symbolic link at `path` (relative, already checked) with this
 * target resolve inside the extraction directory, counted lexically (the
 * depth of the link's directory, then each target component moves up or
 * down)? A first, cheap refusal with a plain message; links through other
 * links are resolved for real at the end (resolves_inside). */
static int link_inside(const char *path, const char *target)
{
	if (target == NULL || *target == '\0' || *target == '/')
		return 0;
	long depth = 0;
	const char *last = strrchr(path, '/');
	for (const char *s = path; last && s < last;) {
		size_t n = strcspn(s, "/");
		if (n > 0 && !(n == 1 && s[0] == '.'))
			depth++;
		s += n;
		while (*s == '/')
			s++;
	}
	for (const char *s = target; *s;) {
		size_t n = strcspn(s, "/");
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			if (--depth < 0)
				return 0;
		} else if (n > 0 && !(n == 1 && s[0] == '.')) {
			depth++;
		}
		s += n;
		while (*s == '/')
			s++;
	}
	return 1;
}

const char *tar_entry_refusal(struct archive_entry *e)
{
	const char *path = archive_entry_pathname(e);
	if (path == NULL || *path == '\0')
		return "entry has no name";
	if (*path == '/')
		return "absolute path";
	if (!relative_inside(path))
		return "path with a '..' component";
	const char *hard = archive_entry_hardlink(e);
	if (hard != NULL && !relative_inside(hard))
		return "hard link pointing outside the bundle";
	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
	case AE_IFDIR:
		return NULL;
	case AE_IFLNK:
		if (!link_inside(path, archive_entry_symlink(e)))
			return "symbolic link pointing outside the bundle";
		return NULL;
	default:
		if (hard != NULL)
			return NULL;
		return "not a file, directory or link (devices and fifos are refused)";
	}
}
