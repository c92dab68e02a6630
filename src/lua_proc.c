/*
 * lua_proc.c: the ccchef.proc module. proc.run(command, opts) runs a
 * command to completion (see proc.h) and returns a table describing how it
 * ended; it returns nil, message, errno name only when the command could
 * not start. The command is a shell line (a string, given to /bin/sh -c) or
 * an argv (a table of strings: no shell, nothing to quote, argv[1] found in
 * PATH as execvp does); opts.stderr = "discard" drops its stderr, so output
 * is what it printed on stdout. proc.interrupted() says whether a signal asked the
 * run to stop.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "binding_fail.h"
#include "host.h"
#include "proc.h"

extern char **environ;

/* Our environment with the pairs of the table at idx added or replaced.
 * The array and the strings are Lua objects anchored in the table at
 * `keep`: nothing is malloc'd, so nothing leaks if a later call raises. */
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

/* The argv table at idx as a NULL-terminated array, anchored like
 * merged_env's. Every element must be a string (or a number). */
static char **table_argv(lua_State *L, int idx, int keep)
{
	lua_Integer n = luaL_len(L, idx);
	luaL_argcheck(L, n > 0, idx, "argv must not be empty");
	char **argv = lua_newuserdatauv(L, ((size_t)n + 1) * sizeof *argv, 0);
	lua_rawsetp(L, keep, argv);
	for (lua_Integer i = 1; i <= n; i++) {
		int t = lua_rawgeti(L, idx, i);
		if (t != LUA_TSTRING && t != LUA_TNUMBER)
			luaL_error(L, "bad argument #%d to 'run' (argv[%d] must be a string, got %s)",
				   idx, (int)i, lua_typename(L, t));
		argv[i - 1] = (char *)lua_tostring(L, -1);
		lua_rawseti(L, keep, i); /* keeps the (converted) string alive */
	}
	argv[n] = NULL;
	return argv;
}

/* run(command | argv, { cwd=, env={K=V}, uid=, gid=, timeout=, stream=bool,
 *                      prefix=, max_output=, stderr="discard" })
 * -> { status=, signal=, timed_out=, truncated=, output= }
 *  | nil, message, errno name (could not start: "ENOENT" for no such program) */
static int lproc_run(lua_State *L)
{
	struct proc_spec spec = {0};
	if (!lua_istable(L, 1))
		spec.command = luaL_checkstring(L, 1);
	spec.stream_fd = -1;
	lua_settop(L, 2);
	lua_newtable(L); /* 3: keeps strings alive for the duration of the call */
	if (lua_istable(L, 1))
		spec.argv = table_argv(L, 1, 3);
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
		/* stderr="discard": a probe whose output is parsed, without the
		 * `2>/dev/null` that would need a shell. */
		const char *err = NULL;
		if (lua_getfield(L, 2, "stderr") != LUA_TNIL)
			err = luaL_checkstring(L, -1);
		if (err && strcmp(err, "discard") != 0)
			luaL_error(L, "bad option stderr=\"%s\" to 'run' (only \"discard\")", err);
		spec.discard_stderr = err != NULL;
		lua_pop(L, 1);
	}
	if (spec.stream_fd >= 0)
		fflush(NULL); /* our buffered output first, then the command's */

	struct proc_result res;
	int r = proc_run(&spec, &res);
	if (r != 0) {
		/* libuv's errors are -errno on Unix. Copied into Lua before the
		 * C buffer is freed, and freed before anything else can raise. */
		lua_pushlstring(L, res.output, res.output_len);
		proc_result_free(&res);
		return binding_fail(L, -r, lua_tostring(L, -1));
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
static int lproc_interrupted(lua_State *L)
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
static int lproc_catch_interrupts(lua_State *L)
{
	(void)L;
	proc_catch_interrupts();
	return 0;
}

int luaopen_ccchef_proc(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"run", lproc_run},
		{"interrupted", lproc_interrupted},
		{"catch_interrupts", lproc_catch_interrupts},
		{NULL, NULL},
	};
	luaL_newlib(L, fns);
	return 1;
}
