/*
 * lua_sys_change.c: the calls of ccchef.sys that change a managed file or
 * directory (write, copy, mkdir, rmdir, unlink, remove_tree, chmod,
 * setattr, touch, lchown, symlink, symlink_replace, rename), over the
 * fd-relative fs layer (fs.h). Each returns true or nil, message, errno
 * name (lsys_fail_fs). Registered into the sys table by
 * luaopen_ccchef_sys through lsys_register_change.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>

#include "binding_fail.h"
#include "fs.h"
#include "lua_sys.h"

static mode_t opt_mode(lua_State *L, int i)
{
	return lua_isnoneornil(L, i) ? FS_KEEP_MODE : (mode_t)luaL_checkinteger(L, i);
}

static uid_t opt_uid(lua_State *L, int i)
{
	return lua_isnoneornil(L, i) ? FS_KEEP_UID : (uid_t)luaL_checkinteger(L, i);
}

static gid_t opt_gid(lua_State *L, int i)
{
	return lua_isnoneornil(L, i) ? FS_KEEP_GID : (gid_t)luaL_checkinteger(L, i);
}

/* true, or the failure of an fs_* function on path. */
static int result(lua_State *L, int r, const char *path)
{
	if (r != 0)
		return lsys_fail_fs(L, path, r);
	lua_pushboolean(L, 1);
	return 1;
}

/* write(path, content, mode|nil, uid|nil, gid|nil, fsync) -> true | nil, msg, errno name */
static int lsys_write(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	size_t len;
	const char *content = luaL_checklstring(L, 2, &len);
	int flags = lua_toboolean(L, 6) ? FS_FSYNC : 0;
	return result(L, fs_write_atomic(path, content, len, opt_mode(L, 3), opt_uid(L, 4), opt_gid(L, 5), flags),
		      path);
}

/* copy(path, source, mode|nil, uid|nil, gid|nil, fsync [, safe [, dev, ino]]):
 * write's streaming sibling, the content read from the file source. An
 * input source is followed like a recipe; with safe, source is a managed
 * file (a backup's original): opened the safe way, a regular file, and
 * with dev/ino the object that was checked. */
static int lsys_copy(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	const char *src = luaL_checkstring(L, 2);
	int flags = lua_toboolean(L, 6) ? FS_FSYNC : 0;
	mode_t mode = opt_mode(L, 3);
	uid_t uid = opt_uid(L, 4);
	gid_t gid = opt_gid(L, 5);
	int safe = lua_toboolean(L, 7);
	struct stat want, *wp = NULL;
	if (safe && !lua_isnoneornil(L, 8)) {
		want.st_dev = (dev_t)luaL_checkinteger(L, 8);
		want.st_ino = (ino_t)luaL_checkinteger(L, 9);
		wp = &want;
	}
	int *fd = lsys_fd_new(L);
	if (safe) {
		int r = fs_open_safe(src, wp);
		if (r < 0)
			return r == -EINVAL ? binding_fail_sys(L, src, EINVAL) : lsys_fail_fs(L, src, r);
		*fd = r;
	} else if ((*fd = open(src, O_RDONLY | O_CLOEXEC)) < 0) {
		return binding_fail_sys(L, src, errno);
	}
	int r = fs_copy_atomic(path, *fd, mode, uid, gid, flags);
	close(*fd);
	*fd = -1;
	return result(L, r, path);
}

static int lsys_mkdir(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	return result(L, fs_mkdir(path, (mode_t)luaL_optinteger(L, 2, 0755), opt_uid(L, 3), opt_gid(L, 4)), path);
}

static int lsys_rmdir(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	return result(L, fs_rmdir(path), path);
}

static int lsys_unlink(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	return result(L, fs_unlink(path), path);
}

/* remove_tree(path [, owner]): rm -rf by descriptors (a link is removed,
 * never followed). With owner (a uid), only a directory of that owner is
 * removed (fs_remove_tree). */
static int lsys_remove_tree(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	uid_t owner = lua_isnoneornil(L, 2) ? FS_ANY_OWNER : (uid_t)luaL_checkinteger(L, 2);
	return result(L, fs_remove_tree(path, owner), path);
}

/* chmod(path, mode): the path's own object; a link is refused. */
static int lsys_chmod(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	mode_t mode = (mode_t)luaL_checkinteger(L, 2);
	return result(L, fs_setattr(path, mode, FS_KEEP_UID, FS_KEEP_GID, NULL), path);
}

/* setattr(path, mode|nil, uid|nil, gid|nil [, dev, ino]): owner then mode
 * on one descriptor of the object (the one load saw when dev/ino given). */
static int lsys_setattr(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	struct stat want, *wp = NULL;
	if (!lua_isnoneornil(L, 5)) {
		want.st_dev = (dev_t)luaL_checkinteger(L, 5);
		want.st_ino = (ino_t)luaL_checkinteger(L, 6);
		wp = &want;
	}
	return result(L, fs_setattr(path, opt_mode(L, 2), opt_uid(L, 3), opt_gid(L, 4), wp), path);
}

static int lsys_touch(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	return result(L, fs_touch(path), path);
}

static int lsys_lchown(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	return result(L, fs_lchown(path, opt_uid(L, 2), opt_gid(L, 3)), path);
}

static int lsys_symlink(lua_State *L)
{
	const char *target = luaL_checkstring(L, 1);
	const char *path = luaL_checkstring(L, 2);
	return result(L, fs_symlink(target, path), path);
}

/* symlink_replace(target, path, uid|nil, gid|nil): create or replace the
 * link atomically, through an unpredictable temporary name. */
static int lsys_symlink_replace(lua_State *L)
{
	const char *target = luaL_checkstring(L, 1);
	const char *path = luaL_checkstring(L, 2);
	return result(L, fs_symlink_replace(target, path, opt_uid(L, 3), opt_gid(L, 4)), path);
}

static int lsys_rename(lua_State *L)
{
	const char *from = luaL_checkstring(L, 1);
	const char *to = luaL_checkstring(L, 2);
	return result(L, fs_rename(from, to), to);
}

void lsys_register_change(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"write", lsys_write},
		{"copy", lsys_copy},
		{"mkdir", lsys_mkdir},
		{"rmdir", lsys_rmdir},
		{"unlink", lsys_unlink},
		{"remove_tree", lsys_remove_tree},
		{"chmod", lsys_chmod},
		{"setattr", lsys_setattr},
		{"touch", lsys_touch},
		{"lchown", lsys_lchown},
		{"symlink", lsys_symlink},
		{"symlink_replace", lsys_symlink_replace},
		{"rename", lsys_rename},
		{NULL, NULL},
	};
	luaL_setfuncs(L, fns, 0);
}
