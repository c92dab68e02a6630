/* test_lua.c: runs the Lua unit tests (the files in tests/unit/lua/) in the same
 * state the ccchef binary builds, with the embedded standard library. Each
 * file calls test(name, fn); eq(got, want) and ok(cond) assert. */
#include <stdio.h>

#include <lauxlib.h>

#include "host.h"

static const char prelude[] =
	"local failures, passes = 0, 0\n"
	"local function show(v) if type(v) == 'string' then return string.format('%q', v) end return tostring(v) end\n"
	"function eq(got, want, what)\n"
	"  if got ~= want then error((what or 'eq') .. ': got ' .. show(got) .. ', want ' .. show(want), 2) end\n"
	"end\n"
	"function ok(c, what) if not c then error('expected true: ' .. tostring(what), 2) end end\n"
	"function test(name, fn)\n"
	"  local good, err = xpcall(fn, debug.traceback)\n"
	"  if good then passes = passes + 1; print('ok   ' .. name)\n"
	"  else failures = failures + 1; print('FAIL ' .. name .. ': ' .. tostring(err)) end\n"
	"end\n"
	"function test_failures() return failures end\n";

int main(int argc, char **argv)
{
	lua_State *L = host_new();
	if (L == NULL)
		return 1;
	int status = 0;
	if (luaL_loadstring(L, prelude) != LUA_OK || host_pcall(L, 0, 0) != LUA_OK) {
		fprintf(stderr, "%s\n", lua_tostring(L, -1));
		lua_close(L);
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		if (luaL_loadfile(L, argv[i]) != LUA_OK || host_pcall(L, 0, 0) != LUA_OK) {
			fprintf(stderr, "%s: %s\n", argv[i], lua_tostring(L, -1));
			lua_pop(L, 1);
			status = 1;
		}
	}
	lua_getglobal(L, "test_failures");
	if (host_pcall(L, 0, 1) == LUA_OK && lua_tointeger(L, -1) > 0)
		status = 1;
	lua_close(L);
	return status;
}
