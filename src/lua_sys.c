/*
 * lua_sys.c: the ccchef.sys module, the system calls resources need, for Lua.
 * Failures caused by the world return nil, message, errno (as luaL_fileresult
 * does); misuse raises.
 */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>

#include "fs.h"
#include "host.h"

static int fail(lua_State *L, const char *what, int err)
{
	luaL_pushfail(L);
	lua_pushfstring(L, "%s: %s", what, strerror(err));
	lua_pushinteger(L, err);
	return 3;
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
	lua_createtable(L, 0, 8);
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
}

/* lstat(path [, content]) -> info | nil, msg, errno
 * With content, info.same tells whether the file holds exactly that: the
 * no-op check of a file resource in one call. */
static int l_lstat(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	struct stat st;
	if (lstat(path, &st) != 0)
		return fail(L, path, errno);
	push_stat(L, &st);
	if (lua_type(L, 2) == LUA_TSTRING) {
		size_t len;
		const char *content = lua_tolstring(L, 2, &len);
		int same = fs_same_content(path, &st, content, len);
		if (same < 0)
			return fail(L, path, -same);
		lua_pushboolean(L, same);
		lua_setfield(L, -2, "same");
	}
	return 1;
}

static int l_stat(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	struct stat st;
	if (stat(path, &st) != 0)
		return fail(L, path, errno);
	push_stat(L, &st);
	return 1;
}

static int l_read(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	char *data;
	size_t len;
	int r = fs_read_all(path, &data, &len);
	if (r != 0)
		return fail(L, path, -r);
	lua_pushlstring(L, data, len);
	free(data);
	return 1;
}

/* write(path, content, mode|nil, uid|nil, gid|nil, fsync) -> true | nil, msg */
static int l_write(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	size_t len;
	const char *content = luaL_checklstring(L, 2, &len);
	mode_t mode = lua_isnoneornil(L, 3) ? FS_KEEP_MODE : (mode_t)luaL_checkinteger(L, 3);
	uid_t uid = lua_isnoneornil(L, 4) ? FS_KEEP_UID : (uid_t)luaL_checkinteger(L, 4);
	gid_t gid = lua_isnoneornil(L, 5) ? FS_KEEP_GID : (gid_t)luaL_checkinteger(L, 5);
	int flags = lua_toboolean(L, 6) ? FS_FSYNC : 0;
	int r = fs_write_atomic(path, content, len, mode, uid, gid, flags);
	if (r != 0)
		return fail(L, path, -r);
	lua_pushboolean(L, 1);
	return 1;
}

static int result(lua_State *L, int ok, const char *path)
{
	if (!ok)
		return fail(L, path, errno);
	lua_pushboolean(L, 1);
	return 1;
}

static int l_mkdir(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	mode_t mode = (mode_t)luaL_optinteger(L, 2, 0755);
	if (mkdir(path, mode) != 0)
		return fail(L, path, errno);
	/* mkdir applies the umask; the resource asked for exactly this mode. */
	return result(L, chmod(path, mode) == 0, path);
}

static int l_rmdir(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	return result(L, rmdir(path) == 0, path);
}

static int l_unlink(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	return result(L, unlink(path) == 0, path);
}

static int l_chmod(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	return result(L, chmod(path, (mode_t)luaL_checkinteger(L, 2)) == 0, path);
}

static int l_lchown(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	uid_t uid = lua_isnoneornil(L, 2) ? (uid_t)-1 : (uid_t)luaL_checkinteger(L, 2);
	gid_t gid = lua_isnoneornil(L, 3) ? (gid_t)-1 : (gid_t)luaL_checkinteger(L, 3);
	return result(L, lchown(path, uid, gid) == 0, path);
}

static int l_symlink(lua_State *L)
{
	const char *target = luaL_checkstring(L, 1);
	const char *path = luaL_checkstring(L, 2);
	return result(L, symlink(target, path) == 0, path);
}

static int l_readlink(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	char buf[4096];
	ssize_t n = readlink(path, buf, sizeof buf);
	if (n < 0)
		return fail(L, path, errno);
	lua_pushlstring(L, buf, (size_t)n);
	return 1;
}

static int l_rename(lua_State *L)
{
	const char *from = luaL_checkstring(L, 1);
	const char *to = luaL_checkstring(L, 2);
	return result(L, rename(from, to) == 0, to);
}

/* listdir(path) -> { names... } without "." and "..", unsorted */
static int l_listdir(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	DIR *d = opendir(path);
	if (d == NULL)
		return fail(L, path, errno);
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

/* user(name or uid) -> { name, uid, gid, home, shell, comment } | nil */
static int l_user(lua_State *L)
{
	struct passwd *pw = lua_type(L, 1) == LUA_TNUMBER
		? getpwuid((uid_t)lua_tointeger(L, 1))
		: getpwnam(luaL_checkstring(L, 1));
	if (pw == NULL) {
		luaL_pushfail(L);
		return 1;
	}
	lua_createtable(L, 0, 6);
	lua_pushstring(L, pw->pw_name);
	lua_setfield(L, -2, "name");
	lua_pushinteger(L, pw->pw_uid);
	lua_setfield(L, -2, "uid");
	lua_pushinteger(L, pw->pw_gid);
	lua_setfield(L, -2, "gid");
	lua_pushstring(L, pw->pw_dir);
	lua_setfield(L, -2, "home");
	lua_pushstring(L, pw->pw_shell);
	lua_setfield(L, -2, "shell");
	lua_pushstring(L, pw->pw_gecos ? pw->pw_gecos : "");
	lua_setfield(L, -2, "comment");
	return 1;
}

/* group(name or gid) -> { name, gid, members = { user names } } | nil.
 * members is the group database's member list (not the users whose
 * primary group this is), as groupmod -U sets it. */
static int l_group(lua_State *L)
{
	struct group *gr = lua_type(L, 1) == LUA_TNUMBER
		? getgrgid((gid_t)lua_tointeger(L, 1))
		: getgrnam(luaL_checkstring(L, 1));
	if (gr == NULL) {
		luaL_pushfail(L);
		return 1;
	}
	lua_createtable(L, 0, 3);
	lua_pushstring(L, gr->gr_name);
	lua_setfield(L, -2, "name");
	lua_pushinteger(L, gr->gr_gid);
	lua_setfield(L, -2, "gid");
	lua_newtable(L);
	for (int i = 0; gr->gr_mem && gr->gr_mem[i]; i++) {
		lua_pushstring(L, gr->gr_mem[i]);
		lua_rawseti(L, -2, i + 1);
	}
	lua_setfield(L, -2, "members");
	return 1;
}

/* grouplist(user name, primary gid) -> { gid, ... }: every group the user
 * is in (getgrouplist, so the primary gid is included). One pass over the
 * group database instead of a process per lookup. */
static int l_grouplist(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);
	gid_t primary = (gid_t)luaL_checkinteger(L, 2);
	int n = 64;
	gid_t *gids;
	/* The buffer is a userdata, so nothing leaks if a push below raises. */
	for (;;) {
		gids = lua_newuserdatauv(L, (size_t)n * sizeof *gids, 0);
		int want = n;
		if (getgrouplist(name, primary, gids, &want) >= 0) {
			n = want;
			break;
		}
		lua_pop(L, 1);
		/* want now holds the size needed (it may grow meanwhile). */
		n = want > n ? want : n * 2;
	}
	lua_createtable(L, n, 0);
	for (int i = 0; i < n; i++) {
		lua_pushinteger(L, gids[i]);
		lua_rawseti(L, -2, i + 1);
	}
	return 1;
}

/* Monotonic seconds, for durations. */
static int l_now(lua_State *L)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	lua_pushnumber(L, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
	return 1;
}

/* Wall-clock seconds with sub-second part, for backup names and events. */
static int l_time(lua_State *L)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	lua_pushnumber(L, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
	return 1;
}

static int l_isatty(lua_State *L)
{
	lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
	return 1;
}

static int l_getpid(lua_State *L)
{
	lua_pushinteger(L, getpid());
	return 1;
}

static int l_geteuid(lua_State *L)
{
	lua_pushinteger(L, geteuid());
	return 1;
}

/* The run lock is a descriptor held until the process exits: the kernel
 * releases it even if ccchef is killed, so there are no stale locks. */
static int l_lock(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	double timeout = luaL_optnumber(L, 2, 0);
	long holder;
	int fd = fs_lock(path, timeout, &holder);
	if (fd == -EWOULDBLOCK) {
		luaL_pushfail(L);
		lua_pushliteral(L, "held");
		lua_pushinteger(L, holder);
		return 3;
	}
	if (fd < 0)
		return fail(L, path, -fd);
	lua_pushinteger(L, fd);
	return 1;
}

static int l_realpath(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	char *r = realpath(path, NULL);
	if (r == NULL)
		return fail(L, path, errno);
	lua_pushstring(L, r);
	free(r);
	return 1;
}

/* The run's working directory is the kitchen's root (docs/kitchen.md,
 * "Paths"), on `apply` and on a node alike: relative paths in recipes,
 * attributes and messages then mean the same thing everywhere. */
static int l_chdir(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	return result(L, chdir(path) == 0, path);
}

int luaopen_ccchef_sys(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"lstat", l_lstat},
		{"stat", l_stat},
		{"read", l_read},
		{"write", l_write},
		{"mkdir", l_mkdir},
		{"rmdir", l_rmdir},
		{"unlink", l_unlink},
		{"chmod", l_chmod},
		{"lchown", l_lchown},
		{"symlink", l_symlink},
		{"readlink", l_readlink},
		{"rename", l_rename},
		{"listdir", l_listdir},
		{"realpath", l_realpath},
		{"chdir", l_chdir},
		{"user", l_user},
		{"group", l_group},
		{"grouplist", l_grouplist},
		{"now", l_now},
		{"time", l_time},
		{"isatty", l_isatty},
		{"getpid", l_getpid},
		{"geteuid", l_geteuid},
		{"lock", l_lock},
		{NULL, NULL},
	};
	luaL_newlib(L, fns);
	return 1;
}
