/*
 * host.c: builds the Lua state. Embedded modules are found by a searcher
 * placed first in package.searchers, so `require "ccchef.engine"` never
 * touches the file system; C bindings are registered in package.preload.
 */
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "embedded.h"
#include "host.h"

static const struct embedded_module *find_module(const char *name)
{
	for (const struct embedded_module *m = embedded_modules; m->name; m++)
		if (strcmp(m->name, name) == 0)
			return m;
	return NULL;
}

/* package.searchers entry: returns a loader for embedded modules. */
static int search_embedded(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);
	const struct embedded_module *m = find_module(name);
	if (m == NULL) {
		lua_pushfstring(L, "no embedded module '%s'", name);
		return 1;
	}
	/* Chunk names are embedded in the bytecode; the name here is unused. */
	if (luaL_loadbuffer(L, (const char *)m->code, m->len, name) != LUA_OK)
		return lua_error(L);
	lua_pushstring(L, name);
	return 2;
}

/* ccchef.host.modules(prefix): names of embedded modules starting with prefix.
 * This is how the engine discovers resource types. */
static int host_modules(lua_State *L)
{
	size_t plen;
	const char *prefix = luaL_optlstring(L, 1, "", &plen);
	lua_newtable(L);
	int n = 0;
	for (const struct embedded_module *m = embedded_modules; m->name; m++) {
		if (strncmp(m->name, prefix, plen) == 0) {
			lua_pushstring(L, m->name);
			lua_rawseti(L, -2, ++n);
		}
	}
	return 1;
}

/* ccchef.host.new_table(narr, nrec): an empty table with room for narr list
 * items and nrec keys. A table that grows key by key is rehashed at 1, 2,
 * 4, 8... keys; the per-resource tables of a converge paid for that about
 * ten times per resource (a tenth of a no-op run's instructions). */
static int host_new_table(lua_State *L)
{
	lua_Integer narr = luaL_checkinteger(L, 1);
	lua_Integer nrec = luaL_checkinteger(L, 2);
	luaL_argcheck(L, narr >= 0 && narr <= 1 << 20, 1, "out of range");
	luaL_argcheck(L, nrec >= 0 && nrec <= 1 << 20, 2, "out of range");
	lua_createtable(L, (int)narr, (int)nrec);
	return 1;
}

/* ccchef.host.copy(t, nextra): a shallow copy of t (raw: no metamethods),
 * sized for its keys and nextra more. */
static int host_copy(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_Integer extra = luaL_optinteger(L, 2, 0);
	luaL_argcheck(L, extra >= 0 && extra <= 1 << 20, 2, "out of range");
	int n = 0;
	lua_pushnil(L);
	while (lua_next(L, 1) != 0) {
		lua_pop(L, 1);
		n++;
	}
	lua_createtable(L, 0, n + (int)extra);
	lua_pushnil(L);
	while (lua_next(L, 1) != 0) {
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_rawset(L, -4);
	}
	return 1;
}

/* ccchef.host.caller(level) -> function, current line of the function at
 * that stack level (as debug.getinfo(level, "fl"), without building a
 * table: the DSL asks this for every resource it declares). */
static int host_caller(lua_State *L)
{
	lua_Debug ar;
	int level = (int)luaL_checkinteger(L, 1);
	if (level < 0 || !lua_getstack(L, level, &ar))
		return 0;
	lua_getinfo(L, "fl", &ar);
	lua_pushinteger(L, ar.currentline);
	return 2;
}

/* Set by ccchef.host.skip_close(): see host_close. */
static int skip_close;
/* The state host_close left open, kept reachable so leak checkers see
 * memory in use at exit, not lost memory. It points at the start of the
 * state's allocation (lua_getextraspace), not inside it: an interior
 * pointer would make valgrind call everything "possibly lost". */
static void *volatile kept_state;

/* ccchef.host.skip_close(): the process exits as soon as the command
 * returns, and nothing it created needs a finalizer (__gc) to run. */
static int host_skip_close(lua_State *L)
{
	(void)L;
	skip_close = 1;
	return 0;
}

void host_close(lua_State *L)
{
	if (skip_close) {
		kept_state = lua_getextraspace(L);
		return;
	}
	lua_close(L);
}

static int luaopen_ccchef_host(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"modules", host_modules},
		{"skip_close", host_skip_close},
		{"new_table", host_new_table},
		{"copy", host_copy},
		{"caller", host_caller},
		{NULL, NULL},
	};
	luaL_newlib(L, fns);
	return 1;
}

static int traceback_handler(lua_State *L)
{
	if (lua_type(L, 1) == LUA_TTABLE)
		return 1;
	const char *msg = lua_tostring(L, 1);
	if (msg == NULL)
		msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
	luaL_traceback(L, L, msg, 1);
	return 1;
}

int host_pcall(lua_State *L, int nargs, int nresults)
{
	int base = lua_gettop(L) - nargs;
	lua_pushcfunction(L, traceback_handler);
	lua_insert(L, base);
	int status = lua_pcall(L, nargs, nresults, base);
	lua_remove(L, base);
	return status;
}

static int open_all(lua_State *L)
{
	luaL_openlibs(L);

	/* stack: package */
	lua_getglobal(L, "package");
	lua_getfield(L, -1, "preload");
	static const luaL_Reg bindings[] = {
		{"ccchef.host", luaopen_ccchef_host},
		{"ccchef.sys", luaopen_ccchef_sys},
		{"ccchef.proc", luaopen_ccchef_proc},
		{"ccchef.facts", luaopen_ccchef_facts},
		{"ccchef.archive", luaopen_ccchef_archive},
		{"ccchef.spawn", luaopen_ccchef_spawn},
		{"ccchef.journal", luaopen_ccchef_journal},
		{"ccchef.httpc", luaopen_ccchef_httpc},
		{NULL, NULL},
	};
	for (const luaL_Reg *b = bindings; b->name; b++) {
		lua_pushcfunction(L, b->func);
		lua_setfield(L, -2, b->name);
	}
	lua_pop(L, 1);

	/* Put the embedded searcher first; then drop the file-system searchers so
	 * a stray ccchef module file in the working directory can never shadow ours. */
	lua_getfield(L, -1, "searchers");
	lua_createtable(L, 2, 0);
	lua_rawgeti(L, -2, 1); /* the preload searcher */
	lua_rawseti(L, -2, 1);
	lua_pushcfunction(L, search_embedded);
	lua_rawseti(L, -2, 2);
	lua_setfield(L, -3, "searchers");
	lua_pop(L, 2);
	return 0;
}

void host_preload(lua_State *L, const char *name, lua_CFunction open)
{
	lua_getglobal(L, "package");
	lua_getfield(L, -1, "preload"); /* stack: package, preload */
	lua_pushcfunction(L, open);
	lua_setfield(L, -2, name);
	lua_pop(L, 2);
}

lua_State *host_new(void)
{
	lua_State *L = luaL_newstate();
	if (L == NULL)
		return NULL;
	lua_pushcfunction(L, open_all);
	if (host_pcall(L, 0, 0) != LUA_OK) {
		lua_close(L);
		return NULL;
	}
	return L;
}
