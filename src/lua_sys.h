/*
 * lua_sys.h: how the files of the ccchef.sys module (lua_sys*.c) meet:
 * luaopen_ccchef_sys (host.h) builds the table and each other file adds
 * its functions to it. Not for other modules.
 */
#ifndef CCCHEF_LUA_SYS_H
#define CCCHEF_LUA_SYS_H

#include <lua.h>

/* Add sys.user, sys.group, sys.grouplist to the table on top of L's stack. */
void lsys_register_accounts(lua_State *L);
/* Add sys.now, time, isatty, sleep, getpid, geteuid, lock to it. */
void lsys_register_process(lua_State *L);
/* Add sys.unix_request (lua_sys_unix.c) to it. */
void lsys_register_unix(lua_State *L);

#endif
