/*
 * main.c: the ccchef executable. All work happens in Lua (ccchef.cli) under
 * one protected call; C here only turns argv into a table and the result
 * into an exit code.
 */
#include <stdio.h>
#include <stdlib.h>

#include <lauxlib.h>

#include "host.h"

/* Exit code for a bug in ccchef itself, distinct from 1 (converge failed) and
 * 2 (bad input): sysexits' EX_SOFTWARE. */
#define EXIT_INTERNAL 70

static int pmain(lua_State *L)
{
	int argc = (int)lua_tointeger(L, 1);
	char **argv = lua_touserdata(L, 2);
	lua_getglobal(L, "require");
	lua_pushliteral(L, "ccchef.cli");
	lua_call(L, 1, 1);
	lua_getfield(L, -1, "main");
	lua_createtable(L, argc, 0);
	for (int i = 1; i < argc; i++) {
		lua_pushstring(L, argv[i]);
		lua_rawseti(L, -2, i);
	}
	lua_call(L, 1, 1);
	return 1;
}

int main(int argc, char **argv)
{
	lua_State *L = host_new();
	if (L == NULL) {
		fprintf(stderr, "ccchef: cannot create Lua state (out of memory)\n");
		return EXIT_INTERNAL;
	}
	lua_pushcfunction(L, pmain);
	lua_pushinteger(L, argc);
	lua_pushlightuserdata(L, argv);
	int code = EXIT_INTERNAL;
	if (host_pcall(L, 2, 1) != LUA_OK) {
		const char *msg = lua_tostring(L, -1);
		fprintf(stderr, "ccchef: internal error: %s\n", msg ? msg : "(no message)");
	} else {
		code = (int)luaL_optinteger(L, -1, 0);
	}
	fflush(stdout);
	host_close(L);
	return code;
}
