/*
 * lua_sys.c: the ccchef.sys module, the system calls resources need, for Lua.
 * Failures caused by the world return nil, message, errno name
 * (binding_fail.h); misuse raises. This file reads files and directories;
 * the calls that change them are in lua_sys_change.c, the user and group
 * lookups in lua_sys_accounts.c, the clocks, the process and the run lock
 * in lua_sys_process.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>

#include "binding_fail.h"
#include "fs.h"
#include "host.h"
#include "lua_sys.h"

int lsys_fail_fs(lua_State *L, const char *what, int r)
{
	const char *d = fs_error_detail();
	if (*d && (r == -ELOOP || r == -ESTALE || r == -EMLINK || r == -ENOTDIR || r == -EPERM)) {
		binding_fail(L, -r, d);
		fs_set_detail("%s", "");
		return 3;
	}
	return binding_fail_sys(L, what, -r);
}

static const char *file_type(mode_t m)
{
	if (S_ISREG(m))
		return "file";
	if (S_ISDIR(m))
		return "directory";
	if (S_ISLNK(m))
		return "link";
	return "other";
}

static void push_stat(lua_State *L, const struct stat *st)
{
	lua_createtable(L, 0, 10);
	lua_pushstring(L, file_type(st->st_mode));
	lua_setfield(L, -2, "type");
	lua_pushinteger(L, st->st_mode & 07777);
	lua_setfield(L, -2, "mode");
	lua_pushinteger(L, st->st_uid);
	lua_setfield(L, -2, "uid");
	lua_pushinteger(L, st->st_gid);
	lua_setfield(L, -2, "gid");
	lua_pushinteger(L, st->st_size);
	lua_setfield(L, -2, "size");
	lua_pushinteger(L, st->st_mtim.tv_sec);
	lua_setfield(L, -2, "mtime");
	/* Identity, so a later call can insist on the object that was checked. */
	lua_pushinteger(L, (lua_Integer)st->st_dev);
	lua_setfield(L, -2, "dev");
	lua_pushinteger(L, (lua_Integer)st->st_ino);
	lua_setfield(L, -2, "ino");
	lua_pushinteger(L, (lua_Integer)st->st_nlink);
	lua_setfield(L, -2, "nlink");
}

/* lstat(path [, content [, old_max]]) -> info | nil, msg, errno name
 * Safe resolution, last component not followed. With content, info.same
 * tells whether the file holds exactly that: the no-op check of a file
 * resource in one call. With old_max, a different file's old content (for
 * a diff) comes back as info.old when at most old_max bytes, read from the
 * very object compared. */
static int lsys_lstat(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	struct stat st;
	if (lua_type(L, 2) != LUA_TSTRING) {
		int r = fs_lstat(path, &st);
		if (r != 0)
			return lsys_fail_fs(L, path, r);
		push_stat(L, &st);
		return 1;
	}
	size_t len, old_len;
	const char *content = lua_tolstring(L, 2, &len);
	lua_Integer old_max = luaL_optinteger(L, 3, -1);
	char *old = NULL;
	int same;
	int r = fs_lstat_content(path, &st, content, len, &same,
				 old_max < 0 ? 0 : (size_t)old_max, old_max < 0 ? NULL : &old, &old_len);
	if (r != 0)
		return lsys_fail_fs(L, path, r);
	if (old != NULL) {
		/* Into Lua before anything else can raise: nothing to leak. */
		lua_pushlstring(L, old, old_len);
		free(old);
	}
	push_stat(L, &st);
	lua_pushboolean(L, same);
	lua_setfield(L, -2, "same");
	if (old != NULL) {
		lua_rotate(L, -2, 1); /* info, old */
		lua_setfield(L, -2, "old");
	}
	return 1;
}

int *lsys_fd_new(lua_State *L)
{
	int *fd = lua_newuserdatauv(L, sizeof *fd, 0);
	*fd = -1;
	luaL_setmetatable(L, "ccchef.sys.fd");
	return fd;
}

static int fd_gc(lua_State *L)
{
	int *fd = luaL_checkudata(L, 1, "ccchef.sys.fd");
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	return 0;
}

/* same_file(path, source) -> info (lstat of path, with .same) | nil, msg, errno name
 * Streams both: memory does not grow with the size. */
static int lsys_same_file(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	const char *src = luaL_checkstring(L, 2);
	/* An input: followed like a recipe. */
	int *fd = lsys_fd_new(L);
	*fd = open(src, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return binding_fail_sys(L, src, errno);
	struct stat st;
	int same;
	int r = fs_lstat_same_fd(path, &st, *fd, &same);
	close(*fd);
	*fd = -1;
	if (r != 0)
		return lsys_fail_fs(L, path, r);
	push_stat(L, &st);
	lua_pushboolean(L, same);
	lua_setfield(L, -2, "same");
	return 1;
}

static int lsys_stat(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	struct stat st;
	if (stat(path, &st) != 0)
		return binding_fail_sys(L, path, errno);
	push_stat(L, &st);
	return 1;
}

/* dirstat(path) -> info of the directory path leads to (trusted links
 * followed, as in a parent) | nil, msg, errno name */
static int lsys_dirstat(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	int fd;
	int r = fs_dir_open(path, 1, &fd);
	if (r != 0)
		return lsys_fail_fs(L, path, r);
	struct stat st;
	r = fstat(fd, &st) == 0 ? 0 : errno;
	close(fd);
	if (r != 0)
		return binding_fail_sys(L, path, r);
	push_stat(L, &st);
	return 1;
}

/* read(path): inputs (recipes, templates, sources); links are followed. */
static int lsys_read(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	char *data;
	size_t len;
	int r = fs_read_all(path, &data, &len);
	if (r != 0)
		return binding_fail_sys(L, path, -r);
	lua_pushlstring(L, data, len);
	free(data);
	return 1;
}

static int lsys_readlink(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	char buf[4096];
	size_t n;
	int r = fs_readlink(path, buf, sizeof buf, &n);
	if (r != 0)
		return lsys_fail_fs(L, path, r);
	lua_pushlstring(L, buf, n);
	return 1;
}

/* listdir(path) -> { names... } without "." and "..", unsorted. Follows
 * links: for inputs (kitchens); managed trees use scandir. */
static int lsys_listdir(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	DIR *d = opendir(path);
	if (d == NULL)
		return binding_fail_sys(L, path, errno);
	lua_newtable(L);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		lua_pushstring(L, e->d_name);
		lua_rawseti(L, -2, ++n);
	}
	closedir(d);
	return 1;
}

static int scan_entry(void *arg, const char *name, const struct stat *st)
{
	lua_State *L = arg;
	push_stat(L, st);
	lua_setfield(L, -2, name);
	return 0;
}

/* scandir(path) -> { [name] = lstat info } | nil, msg, errno name: a managed
 * directory's entries as they are (a link is a link, never what it points
 * to), read from the directory the safe walk reached. */
static int lsys_scandir(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	lua_newtable(L);
	int r = fs_scandir(path, scan_entry, L);
	if (r != 0)
		return lsys_fail_fs(L, path, r);
	return 1;
}

/* inflight_start(record, why_run) -> removed | nil, msg, errno name */
static int lsys_inflight_start(lua_State *L)
{
	const char *record = luaL_checkstring(L, 1);
	int r = fs_inflight_start(record, lua_toboolean(L, 2));
	if (r < 0)
		return lsys_fail_fs(L, record, r);
	lua_pushinteger(L, r);
	return 1;
}

/* test_hook(point, path): test-only, see fs_test_hook. */
static int lsys_test_hook(lua_State *L)
{
	fs_test_hook(luaL_checkstring(L, 1), luaL_checkstring(L, 2));
	return 0;
}

static int lsys_realpath(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	char *r = realpath(path, NULL);
	if (r == NULL)
		return binding_fail_sys(L, path, errno);
	lua_pushstring(L, r);
	free(r);
	return 1;
}

/* The run's working directory is the kitchen's root (docs/kitchen.md,
 * "Paths"), on `apply` and on a node alike: relative paths in recipes,
 * attributes and messages then mean the same thing everywhere. */
static int lsys_chdir(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	if (chdir(path) != 0)
		return binding_fail_sys(L, path, errno);
	lua_pushboolean(L, 1);
	return 1;
}

int luaopen_ccchef_sys(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"lstat", lsys_lstat},
		{"stat", lsys_stat},
		{"dirstat", lsys_dirstat},
		{"same_file", lsys_same_file},
		{"read", lsys_read},
		{"readlink", lsys_readlink},
		{"listdir", lsys_listdir},
		{"scandir", lsys_scandir},
		{"inflight_start", lsys_inflight_start},
		{"test_hook", lsys_test_hook},
		{"realpath", lsys_realpath},
		{"chdir", lsys_chdir},
		{NULL, NULL},
	};
	if (luaL_newmetatable(L, "ccchef.sys.fd")) {
		lua_pushcfunction(L, fd_gc);
		lua_setfield(L, -2, "__gc");
		lua_pushcfunction(L, fd_gc);
		lua_setfield(L, -2, "__close");
	}
	lua_pop(L, 1);
	luaL_newlib(L, fns);
	lsys_register_change(L);
	lsys_register_accounts(L);
	lsys_register_process(L);
	lsys_register_unix(L);
	return 1;
}
