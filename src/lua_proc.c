/*
 * lua_proc.c: the ccchef.proc module. proc.run(command, opts) runs a shell
 * command to completion (see proc.h) and returns a table describing how it
 * ended; it returns nil, message only when the command could not start.
 * proc.interrupted() says whether a signal asked the run to stop.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "host.h"
#include "proc.h"

extern char **environ;

/* Our environment with the pairs of the table at idx added or replaced.
 * Built in a userdata-free way: the strings live on the Lua stack's table
 * at `keep`, so nothing leaks if a later call raises. */
static char **merged_env(lua_State *L, int idx, int keep)
{
	size_t n = 0;
	while (environ[n])
		n++;
	size_t extra = 0;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		extra++;
		lua_pop(L, 1);
	}
	char **env = lua_newuserdatauv(L, (n + extra + 1) * sizeof *env, 0);
	lua_rawsetp(L, keep, env); /* anchored: collected with keep */
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(environ[i], '=');
		size_t klen = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
		lua_pushlstring(L, environ[i], klen);
		int overridden = lua_gettable(L, idx) != LUA_TNIL;
		lua_pop(L, 1);
		if (!overridden)
			env[k++] = environ[i];
	}
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		const char *key = luaL_checkstring(L, -2);
		const char *val = luaL_tolstring(L, -1, NULL);
		const char *kv = lua_pushfstring(L, "%s=%s", key, val);
		lua_pushvalue(L, -1);
		lua_rawsetp(L, keep, kv); /* keep the string alive */
		env[k++] = (char *)kv;
		lua_pop(L, 3);
	}
	env[k] = NULL;
	return env;
}

/* run(command, { cwd=, env={K=V}, uid=, gid=, timeout=, stream=bool,
 *               prefix=, max_output= })
 * -> { status=, signal=, timed_out=, truncated=, output= } | nil, message */
static int l_run(lua_State *L)
{
	struct proc_spec spec = {0};
	spec.command = luaL_checkstring(L, 1);
	spec.stream_fd = -1;
	lua_settop(L, 2);
	lua_newtable(L); /* 3: keeps strings alive for the duration of the call */
	if (lua_istable(L, 2)) {
		if (lua_getfield(L, 2, "cwd") == LUA_TSTRING)
			spec.cwd = lua_tostring(L, -1);
		lua_rawsetp(L, 3, &spec.cwd);
		if (lua_getfield(L, 2, "env") == LUA_TTABLE)
			spec.env = merged_env(L, lua_gettop(L), 3);
		lua_pop(L, 1);
		if (lua_getfield(L, 2, "uid") == LUA_TNUMBER) {
			spec.set_user = 1;
			spec.uid = (uid_t)lua_tointeger(L, -1);
			lua_getfield(L, 2, "gid");
			spec.gid = (gid_t)luaL_optinteger(L, -1, 0);
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
		lua_getfield(L, 2, "timeout");
		spec.timeout = luaL_optnumber(L, -1, 0);
		lua_pop(L, 1);
		lua_getfield(L, 2, "max_output");
		spec.max_output = (size_t)luaL_optinteger(L, -1, 0);
		lua_pop(L, 1);
		if (lua_getfield(L, 2, "stream") != LUA_TNIL && lua_toboolean(L, -1))
			spec.stream_fd = STDERR_FILENO;
		lua_pop(L, 1);
		if (lua_getfield(L, 2, "prefix") == LUA_TSTRING)
			spec.stream_prefix = lua_tostring(L, -1);
		lua_rawsetp(L, 3, &spec.stream_prefix);
	}
	if (spec.stream_fd >= 0)
		fflush(NULL); /* our buffered output first, then the command's */

	struct proc_result res;
	int r = proc_run(&spec, &res);
	if (r != 0) {
		luaL_pushfail(L);
		lua_pushlstring(L, res.output, res.output_len);
		proc_result_free(&res);
		return 2;
	}
	lua_createtable(L, 0, 5);
	lua_pushinteger(L, res.exit_status);
	lua_setfield(L, -2, "status");
	lua_pushinteger(L, res.term_signal);
	lua_setfield(L, -2, "signal");
	lua_pushboolean(L, res.timed_out);
	lua_setfield(L, -2, "timed_out");
	lua_pushboolean(L, res.truncated);
	lua_setfield(L, -2, "truncated");
	lua_pushlstring(L, res.output, res.output_len);
	lua_setfield(L, -2, "output");
	proc_result_free(&res);
	return 1;
}

/* interrupted() -> "SIGTERM" | "SIGINT" | "SIGHUP" | nil: a signal asked
 * the run to stop after the current resource. */
static int l_interrupted(lua_State *L)
{
	switch (proc_interrupted()) {
	case 0:
		return 0;
	case SIGTERM:
		lua_pushliteral(L, "SIGTERM");
		return 1;
	case SIGINT:
		lua_pushliteral(L, "SIGINT");
		return 1;
	case SIGHUP:
		lua_pushliteral(L, "SIGHUP");
		return 1;
	default:
		lua_pushfstring(L, "signal %d", proc_interrupted());
		return 1;
	}
}

/* catch_interrupts(): from now on SIGTERM/SIGINT/SIGHUP stop the run
 * between two resources instead of killing it (proc.h). */
static int l_catch_interrupts(lua_State *L)
{
	(void)L;
	proc_catch_interrupts();
	return 0;
}

int luaopen_ccchef_proc(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"run", l_run},
		{"interrupted", l_interrupted},
		{"catch_interrupts", l_catch_interrupts},
		{NULL, NULL},
	};
	luaL_newlib(L, fns);
	return 1;
}
