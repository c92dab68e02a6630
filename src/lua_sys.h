/*
 * lua_sys.h: how the files of the ccchef.sys module (lua_sys*.c) meet:
 * luaopen_ccchef_sys (host.h) builds the table and each other file adds
 * its functions to it. Not for other modules.
 */
#ifndef CCCHEF_LUA_SYS_H
#define CCCHEF_LUA_SYS_H

#include <lua.h>

/* The failure of an fs_* function (r = -errno) on what: nil, message,
 * errno name; a refusal carries its own message naming the path and why
 * (the link, the owner...). Returns 3. */
int lsys_fail_fs(lua_State *L, const char *what, int r);
/* Push a descriptor userdata (-1: none yet) that __gc/__close closes, so a
 * raise between open and close leaks nothing; the caller opens into it. */
int *lsys_fd_new(lua_State *L);
/* Add sys.write, copy, mkdir, rmdir, unlink, remove_tree, chmod, setattr,
 * touch, lchown, symlink, symlink_replace, rename. */
void lsys_register_change(lua_State *L);
/* Add sys.user, sys.group, sys.grouplist to the table on top of L's stack. */
void lsys_register_accounts(lua_State *L);
/* Add sys.now, time, isatty, sleep, getpid, geteuid, lock to it. */
void lsys_register_process(lua_State *L);
/* Add sys.unix_request (lua_sys_unix.c) to it. */
void lsys_register_unix(lua_State *L);

#endif
