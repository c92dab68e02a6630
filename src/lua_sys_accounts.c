/*
 * lua_sys_accounts.c: the user and group database lookups of ccchef.sys
 * (sys.user, sys.group, sys.grouplist), for the user and group resources.
 * Split out of lua_sys.c, which is about files: these read passwd/group
 * through NSS and change nothing. Registered into the sys table by
 * luaopen_ccchef_sys through lsys_register_accounts.
 */
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/types.h>

#include <lauxlib.h>

#include "lua_sys.h"

/* user(name or uid) -> { name, uid, gid, home, shell, comment } | nil: nil
 * is an answer (no such user), not a failure, so it carries no message. */
static int lsys_user(lua_State *L)
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
static int lsys_group(lua_State *L)
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
static int lsys_grouplist(lua_State *L)
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

void lsys_register_accounts(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"user", lsys_user},
		{"group", lsys_group},
		{"grouplist", lsys_grouplist},
		{NULL, NULL},
	};
	luaL_setfuncs(L, fns, 0);
}
