/*
 * lua_ssh.h: how the files of the ccchef.ssh module (lua_ssh*.c) meet: the
 * session userdata, its check, its failure and the registration of the
 * host key methods. Not for other modules.
 */
#ifndef CCCHEF_LUA_SSH_H
#define CCCHEF_LUA_SSH_H

#include <lua.h>

#include "ssh_dl.h"

#define SESSION "ccchef.ssh.session"

struct sess {
	ssh_session s;
	int connected;
};

/* The session at idx; raises when it is not one or is closed. */
struct sess *lssh_check_session(lua_State *L, int idx);
/* libssh keeps no errno: its failures are transport failures, EIO
 * (binding_fail.h); the message says what happened. */
int lssh_fail(lua_State *L, struct sess *x, const char *what);
/* s:auth() (lua_ssh_auth.c). */
int lssh_auth(lua_State *L);
/* Add s:host_key and s:accept_host_key to the method table on top of L. */
void lssh_register_host_key(lua_State *L);

#endif
