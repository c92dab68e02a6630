/*
 * lua_sys_process.c: the part of ccchef.sys about this process rather than
 * files: the monotonic and wall clocks, sleep, isatty, pid/euid, and the run lock
 * (a descriptor the process holds until it exits). Split out of lua_sys.c;
 * registered into the sys table by lsys_register_process.
 */
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>

#include "binding_fail.h"
#include "fs.h"
#include "lua_sys.h"

/* Monotonic seconds, for durations. */
static int lsys_now(lua_State *L)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	lua_pushnumber(L, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
	return 1;
}

/* Wall-clock seconds with sub-second part, for backup names and events. */
static int lsys_time(lua_State *L)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	lua_pushnumber(L, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
	return 1;
}

/* sleep(seconds) -> true, or false when a signal (SIGTERM: stop the run)
 * cut it short: the caller stops waiting instead of sleeping on. For the
 * delay between the attempts of an http_check. */
static int lsys_sleep(lua_State *L)
{
	double s = luaL_checknumber(L, 1);
	luaL_argcheck(L, s >= 0 && s <= 86400, 1, "seconds must be 0-86400");
	struct timespec ts = { .tv_sec = (time_t)s,
			       .tv_nsec = (long)((s - (double)(time_t)s) * 1e9) };
	lua_pushboolean(L, nanosleep(&ts, NULL) == 0);
	return 1;
}

static int lsys_isatty(lua_State *L)
{
	lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
	return 1;
}

static int lsys_getpid(lua_State *L)
{
	lua_pushinteger(L, getpid());
	return 1;
}

static int lsys_geteuid(lua_State *L)
{
	lua_pushinteger(L, geteuid());
	return 1;
}

/* The run lock is a descriptor held until the process exits: the kernel
 * releases it even if ccchef is killed, so there are no stale locks.
 * lock(path, timeout) -> fd | nil, msg, errno name [, holder PID]: held by
 * another process is "EAGAIN", with that process's PID (0 if unknown). */
static int lsys_lock(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	double timeout = luaL_optnumber(L, 2, 0);
	long holder;
	int fd = fs_lock(path, timeout, &holder);
	if (fd == -EWOULDBLOCK) {
		binding_failf(L, EAGAIN, "%s: held by PID %d", path, (int)holder);
		lua_pushinteger(L, holder);
		return 4;
	}
	if (fd < 0)
		return binding_fail_sys(L, path, -fd);
	lua_pushinteger(L, fd);
	return 1;
}

void lsys_register_process(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"now", lsys_now},
		{"sleep", lsys_sleep},
		{"time", lsys_time},
		{"isatty", lsys_isatty},
		{"getpid", lsys_getpid},
		{"geteuid", lsys_geteuid},
		{"lock", lsys_lock},
		{NULL, NULL},
	};
	luaL_setfuncs(L, fns, 0);
}
