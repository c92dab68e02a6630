/*
 * lua_sys_unix.c: sys.unix_request, one request over a unix socket and the
 * whole answer (unix_client.c): how ccchef-runner speaks to haproxy's
 * runtime API on a balancer node without socat. Registered into the sys
 * table by lsys_register_unix.
 */
#include <errno.h>
#include <stdlib.h>

#include <lauxlib.h>

#include "binding_fail.h"
#include "fs.h"
#include "lua_sys.h"
#include "unix_client.h"

/* The largest answer kept: `show stat` of a big haproxy is a few 100 KiB. */
#define ANSWER_MAX (16u << 20)

/* The answer's buffer is owned by a userdata until it is a Lua string, so
 * a memory error raised while pushing it does not leak it. */
struct answer { char *data; };

static int answer_gc(lua_State *L)
{
	struct answer *a = luaL_checkudata(L, 1, "ccchef.sys.answer");
	free(a->data);
	a->data = NULL;
	return 0;
}

/* unix_request(path, request [, timeout_s]) -> answer | nil, message, errno
 * name. A refused link says why (fs_error_detail). */
static int lsys_unix_request(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	size_t len;
	const char *req = luaL_checklstring(L, 2, &len);
	double timeout = luaL_optnumber(L, 3, 10);
	luaL_argcheck(L, timeout > 0 && timeout < 86400, 3, "timeout out of range");
	struct answer *a = lua_newuserdatauv(L, sizeof *a, 0); /* stack: ..., box */
	a->data = NULL;
	if (luaL_newmetatable(L, "ccchef.sys.answer")) {
		lua_pushcfunction(L, answer_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_setmetatable(L, -2);
	size_t outlen;
	int r = unix_request(path, req, len, (int)(timeout * 1000), ANSWER_MAX, &a->data, &outlen);
	if (r == -ELOOP && fs_error_detail()[0])
		return binding_failf(L, -r, "%s: refused: %s", path, fs_error_detail());
	if (r == -ETIMEDOUT)
		return binding_failf(L, -r, "%s: no answer within %.1f s", path, timeout);
	if (r != 0)
		return binding_fail_sys(L, path, -r);
	lua_pushlstring(L, a->data, outlen); /* stack: ..., box, answer */
	free(a->data);
	a->data = NULL;
	return 1;
}

void lsys_register_unix(lua_State *L)
{
	lua_pushcfunction(L, lsys_unix_request);
	lua_setfield(L, -2, "unix_request");
}
