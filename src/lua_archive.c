/*
 * lua_archive.c: the ccchef.archive module, the bundle a remote run ships
 * (DESIGN.md 3). The controller packs a kitchen into an uncompressed tar
 * (pack); the runner unpacks it into its private directory (extract,
 * tar_extract.c), refusing any entry that could land outside it.
 *
 * Only the tar format is registered, never the "all formats/filters"
 * helpers: those pull libxml2 and ICU into the statically linked runner.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <lauxlib.h>

#include "binding_fail.h"
#include "host.h"
#include "tar_extract.h"

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

/* The tar writer of one pack() call, its current entry and the bytes
 * written so far, in a userdata: a field of the wrong type raises from
 * fill_entry (luaL_optinteger), and __gc then frees what the raise
 * skipped. The normal paths free it at once through the same function. */
struct packer {
	struct archive *a;
	struct archive_entry *e;
	struct membuf m;
};

#define PACKER "ccchef.archive.packer"

static int larchive_packer_free(lua_State *L)
{
	struct packer *p = luaL_checkudata(L, 1, PACKER);
	if (p->e)
		archive_entry_free(p->e);
	if (p->a)
		archive_write_free(p->a);
	free(p->m.data);
	*p = (struct packer){0};
	return 0;
}

/* The writer's error, as a failure result; the message is copied into Lua
 * before the writer that owns it is freed. */
static int larchive_pack_fail(lua_State *L, struct archive *a)
{
	const char *msg = archive_error_string(a);
	int err = archive_errno(a) > 0 ? archive_errno(a) : EIO;
	return binding_fail(L, err, msg ? msg : "tar writer failed");
}

/* pack({ {path=, type="file"|"directory"|"link", mode=, data=, target=}, ... })
 * -> tar bytes | nil, message, errno name */
static int larchive_pack(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	struct packer *p = lua_newuserdatauv(L, sizeof *p, 0); /* 2 */
	*p = (struct packer){0};
	luaL_setmetatable(L, PACKER);
	p->a = archive_write_new();
	p->e = archive_entry_new();
	if (p->a == NULL || p->e == NULL)
		return binding_fail(L, ENOMEM, "out of memory");
	/* pax so long names and link targets survive; "restricted" keeps plain
	 * ustar headers whenever they are enough. */
	if (archive_write_set_format_pax_restricted(p->a) != ARCHIVE_OK ||
	    archive_write_add_filter_none(p->a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(p->a, 1) != ARCHIVE_OK ||
	    archive_write_open(p->a, &p->m, NULL, membuf_write, NULL) != ARCHIVE_OK)
		return larchive_pack_fail(L, p->a);
	lua_Integer n = luaL_len(L, 1);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, 1, i); /* stack: entries, packer, entry */
		if (!lua_istable(L, -1))
			return binding_fail(L, EINVAL, "entries must be tables");
		archive_entry_clear(p->e);
		const char *data, *err;
		size_t len;
		if ((err = fill_entry(L, p->e, &data, &len)) != NULL)
			return binding_fail(L, EINVAL, err);
		if (archive_write_header(p->a, p->e) != ARCHIVE_OK ||
		    (data && len > 0 && archive_write_data(p->a, data, len) != (la_ssize_t)len))
			return larchive_pack_fail(L, p->a);
		lua_pop(L, 1);
	}
	if (archive_write_close(p->a) != ARCHIVE_OK)
		return larchive_pack_fail(L, p->a);
	lua_pushlstring(L, p->m.data ? p->m.data : "", p->m.len);
	/* Now, not at the next collection: the buffer can be large. */
	lua_pushcfunction(L, larchive_packer_free);
	lua_pushvalue(L, 2);
	lua_call(L, 1, 0);
	return 1;
}

/* extract(fd or path, dest) -> number of entries | nil, message, errno name
 * Reads a tar stream from fd (0: stdin), or the file at path, into the
 * existing directory dest (tar_extract.c: every step relative to dest's
 * descriptor). Stops at the first refused entry: the caller discards dest. */
static int larchive_extract(lua_State *L)
{
	int fd = -1;
	const char *path = NULL;
	if (lua_type(L, 1) == LUA_TNUMBER)
		fd = (int)luaL_checkinteger(L, 1);
	else
		path = luaL_checkstring(L, 1);
	const char *dest = luaL_checkstring(L, 2);
	char err[1024] = "";
	int errnum = EIO; /* a bundle that is not a tar, or an entry refused */
	long count = -1;
	struct archive *in = archive_read_new();
	int root = open(dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (root < 0) {
		errnum = errno;
		snprintf(err, sizeof err, "%s: %s", dest, strerror(errnum));
		goto out;
	}
	if (in == NULL) {
		errnum = ENOMEM;
		snprintf(err, sizeof err, "out of memory");
		goto out;
	}
	archive_read_support_format_tar(in);
	archive_read_support_filter_none(in);
	if ((path ? archive_read_open_filename(in, path, 65536)
		  : archive_read_open_fd(in, fd, 65536)) != ARCHIVE_OK) {
		snprintf(err, sizeof err, "bundle: %s", archive_error_string(in));
		if (archive_errno(in) > 0)
			errnum = archive_errno(in);
		goto out;
	}
	count = tar_extract(in, root, err, sizeof err);
out:
	if (in)
		archive_read_free(in);
	if (root >= 0)
		close(root);
	if (count < 0)
		return binding_fail(L, errnum, err[0] ? err : "bundle: extraction failed");
	lua_pushinteger(L, count);
	return 1;
}

int luaopen_ccchef_archive(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"pack", larchive_pack},
		{"extract", larchive_extract},
		{NULL, NULL},
	};
	if (luaL_newmetatable(L, PACKER)) {
		lua_pushcfunction(L, larchive_packer_free);
		lua_setfield(L, -2, "__gc");
	}
	lua_pop(L, 1);
	luaL_newlib(L, fns);
	return 1;
}
