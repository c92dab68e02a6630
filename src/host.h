/* host.h: the Lua state ccchef runs in: standard library, embedded modules, C bindings. */
#ifndef CCCHEF_HOST_H
#define CCCHEF_HOST_H

#include <lua.h>

/* A new state with Lua's libraries, the embedded modules reachable through
 * require, and the C bindings below (ccchef.ssh only where preloaded).
 * Returns NULL when out of memory. */
lua_State *host_new(void);

/* lua_pcall with a message handler that appends a traceback to errors that
 * are strings (structured errors, tables, pass through untouched). */
int host_pcall(lua_State *L, int nargs, int nresults);

/* Close the state, unless Lua called ccchef.host.skip_close(): freeing
 * every object one by one is work the kernel does at exit in one go (9 ms
 * after a converge of 10000 resources). Call it only just before exit. */
void host_close(lua_State *L);

/* The C bindings, one luaopen per file (lua_MODULE.c). Each names its Lua
 * functions lMODULE_NAME (lsys_lstat is sys.lstat): unique in a backtrace
 * and clear of the C layer beneath (proc_run is proc.c's). Every one fails
 * the same way: nil, message, errno name (binding_fail.h). */
int luaopen_ccchef_sys(lua_State *L);
int luaopen_ccchef_proc(lua_State *L);
int luaopen_ccchef_facts(lua_State *L);
int luaopen_ccchef_archive(lua_State *L);
int luaopen_ccchef_spawn(lua_State *L);
int luaopen_ccchef_journal(lua_State *L);
int luaopen_ccchef_httpc(lua_State *L);
/* Only in ccchef (the controller), registered by main.c with host_preload. */
int luaopen_ccchef_ssh(lua_State *L);

/* Make `require(name)` return what open returns: bindings only one
 * executable has (ccchef.ssh is in ccchef, not in ccchef-runner). */
void host_preload(lua_State *L, const char *name, lua_CFunction open);

#endif
