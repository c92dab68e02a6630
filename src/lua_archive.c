/*
 * lua_archive.c: the ccchef.archive module, the bundle a remote run ships
 * (DESIGN.md 3). The controller packs a kitchen into an uncompressed tar
 * (pack); the runner unpacks it into its private directory (extract),
 * refusing any entry that could land outside that directory.
 *
 * Only the tar format is registered, never the "all formats/filters"
 * helpers: those pull libxml2 and ICU into the statically linked runner.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>
#include <lauxlib.h>

#include "host.h"

/* A growable memory buffer the tar writer appends to. */
struct membuf {
	char *data;
	size_t len, cap;
};

static la_ssize_t membuf_write(struct archive *a, void *ud, const void *buf, size_t n)
{
	struct membuf *m = ud;
	if (m->len + n > m->cap) {
		size_t cap = m->cap ? m->cap : 65536;
		while (cap < m->len + n)
			cap *= 2;
		char *p = realloc(m->data, cap);
		if (p == NULL) {
			archive_set_error(a, ENOMEM, "out of memory");
			return -1;
		}
		m->data = p;
		m->cap = cap;
	}
	memcpy(m->data + m->len, buf, n);
	m->len += n;
	return (la_ssize_t)n;
}

/* One entry of pack()'s list, read from the Lua table at the top of the
 * stack. Returns NULL when the table is well formed, else the complaint. */
static const char *fill_entry(lua_State *L, struct archive_entry *e, const char **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	lua_getfield(L, -1, "path");
	const char *path = lua_tostring(L, -1);
	lua_pop(L, 1);
	lua_getfield(L, -1, "type");
	const char *type = lua_tostring(L, -1);
	lua_pop(L, 1);
	lua_getfield(L, -1, "mode");
	mode_t mode = (mode_t)luaL_optinteger(L, -1, 0644) & 07777;
	lua_pop(L, 1);
	if (path == NULL || type == NULL)
		return "entry needs path and type";
	archive_entry_set_pathname(e, path);
	archive_entry_set_mtime(e, 0, 0);
	if (strcmp(type, "file") == 0) {
		lua_getfield(L, -1, "data");
		*data = lua_tolstring(L, -1, len);
		lua_pop(L, 1); /* the string stays referenced by the entry table */
		if (*data == NULL)
			return "file entry needs data";
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, mode);
		archive_entry_set_size(e, (la_int64_t)*len);
	} else if (strcmp(type, "directory") == 0) {
		archive_entry_set_filetype(e, AE_IFDIR);
		archive_entry_set_perm(e, mode ? mode : 0755);
	} else if (strcmp(type, "link") == 0) {
		lua_getfield(L, -1, "target");
		const char *target = lua_tostring(L, -1);
		lua_pop(L, 1);
		if (target == NULL)
			return "link entry needs target";
		archive_entry_set_filetype(e, AE_IFLNK);
		archive_entry_set_perm(e, 0777);
		archive_entry_set_symlink(e, target);
	} else {
		return "entry type must be file, directory or link";
	}
	return NULL;
}

/* pack({ {path=, type="file"|"directory"|"link", mode=, data=, target=}, ... })
 * -> tar bytes | nil, message */
static int l_pack(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	struct membuf m = {0};
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	const char *err = NULL;
	if (a == NULL || e == NULL) {
		err = "out of memory";
		goto out;
	}
	/* pax so long names and link targets survive; "restricted" keeps plain
	 * ustar headers whenever they are enough. */
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_add_filter_none(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open(a, &m, NULL, membuf_write, NULL) != ARCHIVE_OK) {
		err = archive_error_string(a);
		goto out;
	}
	lua_Integer n = luaL_len(L, 1);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, 1, i); /* stack: entries, entry */
		if (!lua_istable(L, -1)) {
			err = "entries must be tables";
			goto out;
		}
		archive_entry_clear(e);
		const char *data;
		size_t len;
		if ((err = fill_entry(L, e, &data, &len)) != NULL)
			goto out;
		if (archive_write_header(a, e) != ARCHIVE_OK ||
		    (data && len > 0 && archive_write_data(a, data, len) != (la_ssize_t)len)) {
			err = archive_error_string(a);
			goto out;
		}
		lua_pop(L, 1);
	}
	if (archive_write_close(a) != ARCHIVE_OK)
		err = archive_error_string(a);
out:
	/* Free C memory before anything that can raise (pushing the result). */
	archive_entry_free(e);
	if (a)
		archive_write_free(a);
	if (err != NULL) {
		free(m.data);
		luaL_pushfail(L);
		lua_pushstring(L, err ? err : "tar writer failed");
		return 2;
	}
	lua_pushlstring(L, m.data ? m.data : "", m.len);
	free(m.data);
	return 1;
}

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
 * target resolve inside the extraction directory? Counted lexically: the
 * depth of the link's directory, then each target component moves up or
 * down. Links through other links are stopped by libarchive's
 * ARCHIVE_EXTRACT_SECURE_SYMLINKS. */
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

/* Why entry e may not be extracted, or NULL when it may. */
static const char *refusal(struct archive_entry *e)
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

/* dest/name into buf; 0 when it does not fit. A fixed buffer, not a Lua
 * string, so nothing here can raise while the archives are open. */
static int under(char *buf, size_t size, const char *dest, const char *name)
{
	int n = snprintf(buf, size, "%s/%s", dest, name);
	return n > 0 && (size_t)n < size;
}

/* extract(fd or path, dest) -> number of entries | nil, message
 * Reads a tar stream from fd (0: stdin), or the file at path, into the
 * existing directory dest. Stops at the first refused entry: the caller
 * discards dest. */
static int l_extract(lua_State *L)
{
	int fd = -1;
	const char *path = NULL;
	if (lua_type(L, 1) == LUA_TNUMBER)
		fd = (int)luaL_checkinteger(L, 1);
	else
		path = luaL_checkstring(L, 1);
	const char *dest = luaL_checkstring(L, 2);
	struct archive *in = archive_read_new();
	struct archive *out = archive_write_disk_new();
	char err[1024] = "";
	char full[PATH_MAX], link[PATH_MAX];
	lua_Integer count = 0;
	if (in == NULL || out == NULL) {
		snprintf(err, sizeof err, "out of memory");
		goto out;
	}
	archive_read_support_format_tar(in);
	archive_read_support_filter_none(in);
	/* Defence in depth behind refusal(): libarchive also refuses ".." and
	 * writing through a symbolic link. Owners are not restored: files
	 * belong to whoever runs the runner. */
	archive_write_disk_set_options(out, ARCHIVE_EXTRACT_SECURE_SYMLINKS |
		ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_PERM);
	if ((path ? archive_read_open_filename(in, path, 65536)
		  : archive_read_open_fd(in, fd, 65536)) != ARCHIVE_OK) {
		snprintf(err, sizeof err, "bundle: %s", archive_error_string(in));
		goto out;
	}
	struct archive_entry *e;
	int r;
	while ((r = archive_read_next_header(in, &e)) == ARCHIVE_OK) {
		const char *why = refusal(e);
		if (why != NULL) {
			snprintf(err, sizeof err, "bundle entry '%s' refused: %s",
				archive_entry_pathname(e) ? archive_entry_pathname(e) : "", why);
			goto out;
		}
		/* "./" itself would set the private directory's mode: skip it. */
		const char *name = archive_entry_pathname(e);
		while (name[0] == '.' && name[1] == '/')
			for (name += 2; *name == '/'; name++)
				;
		if (strcmp(name, "") == 0 || strcmp(name, ".") == 0) {
			archive_read_data_skip(in);
			continue;
		}
		if (!under(full, sizeof full, dest, name) ||
		    (archive_entry_hardlink(e) != NULL &&
		     !under(link, sizeof link, dest, archive_entry_hardlink(e)))) {
			snprintf(err, sizeof err, "bundle entry '%s': name too long",
				archive_entry_pathname(e));
			goto out;
		}
		archive_entry_set_pathname(e, full);
		if (archive_entry_hardlink(e) != NULL)
			archive_entry_set_hardlink(e, link);
		archive_entry_set_perm(e, archive_entry_perm(e) & 0777);
		if (archive_write_header(out, e) != ARCHIVE_OK) {
			snprintf(err, sizeof err, "bundle entry: %s", archive_error_string(out));
			goto out;
		}
		const void *buf;
		size_t len;
		la_int64_t off;
		while ((r = archive_read_data_block(in, &buf, &len, &off)) == ARCHIVE_OK) {
			if (archive_write_data_block(out, buf, len, off) < ARCHIVE_OK) {
				snprintf(err, sizeof err, "bundle: %s", archive_error_string(out));
				goto out;
			}
		}
		if (r != ARCHIVE_EOF) {
			snprintf(err, sizeof err, "bundle: %s", archive_error_string(in));
			goto out;
		}
		if (archive_write_finish_entry(out) != ARCHIVE_OK) {
			snprintf(err, sizeof err, "bundle: %s", archive_error_string(out));
			goto out;
		}
		count++;
	}
	if (r != ARCHIVE_EOF)
		snprintf(err, sizeof err, "bundle: %s", archive_error_string(in));
	else if (archive_write_close(out) != ARCHIVE_OK)
		snprintf(err, sizeof err, "bundle: %s", archive_error_string(out));
out:
	if (in)
		archive_read_free(in);
	if (out)
		archive_write_free(out);
	if (err[0] != '\0') {
		luaL_pushfail(L);
		lua_pushstring(L, err);
		return 2;
	}
	lua_pushinteger(L, count);
	return 1;
}

int luaopen_ccchef_archive(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"pack", l_pack},
		{"extract", l_extract},
		{NULL, NULL},
	};
	luaL_newlib(L, fns);
	return 1;
}
