/*
 * lua_ssh.c: the ccchef.ssh module, libssh for `ccchef remote` (the
 * controller only; ccchef-runner does not link libssh).
 *
 *   s = ssh.session{ host=, port=, user=, config=, identity=, known_hosts=,
 *                    timeout=, proxy_command= }       -- nil, msg on bad options
 *   s:connect() -> true | nil, msg
 *   s:host_key([name]) -> "ok"|"unknown"|"changed"|"other"|"revoked"|"error", info
 *   s:accept_host_key([name]) -> file | nil, msg    -- record in known_hosts
 *   s:auth() -> true | nil, msg
 *   s:info() -> { host=, port=, user=, known_hosts= }
 *   s:open(command) -> channel | nil, msg
 *   ch:write(data) -> true | nil, msg;  ch:eof()
 *   ch:read(timeout_ms) -> data, "stdout"|"stderr" | "", "timeout" | nil (end)
 *   ch:close() -> exit status (-1 when the node sent none)
 *   s:close(); s:abort()     -- abort: close without waiting for the node
 *   ssh.sha256_file(path) -> hex | nil   -- nil: libssh's crypto is not
 *                                           OpenSSL, or no regular file
 *
 * Each object is a userdata that owns its libssh handle; __gc frees it, so
 * an error in between leaks nothing. A channel keeps its session alive
 * through its user value. Sessions block: the controller runs one per
 * process (see lua/ccchef/remote.lua). The host key methods are in
 * lua_ssh_hostkey.c, authentication in lua_ssh_auth.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "binding_fail.h"
#include "host.h"
#include "lua_ssh.h"
#include "ssh_dl.h"
#include "ssh_sha256.h"

#define CHANNEL "ccchef.ssh.channel"

struct chan {
	ssh_channel c;
	struct sess *owner; /* kept alive by the user value */
};

struct sess *lssh_check_session(lua_State *L, int idx)
{
	struct sess *x = luaL_checkudata(L, idx, SESSION);
	if (x->s == NULL)
		luaL_error(L, "ssh session is closed");
	return x;
}

static struct chan *check_chan(lua_State *L, int idx)
{
	struct chan *x = luaL_checkudata(L, idx, CHANNEL);
	if (x->c == NULL || x->owner->s == NULL)
		luaL_error(L, "ssh channel is closed");
	return x;
}

int lssh_fail(lua_State *L, struct sess *x, const char *what)
{
	return binding_failf(L, EIO, "%s: %s", what, ssh_get_error(x->s));
}

static const char *opt_string(lua_State *L, int t, const char *key)
{
	lua_getfield(L, t, key);
	const char *v = lua_tostring(L, -1);
	lua_pop(L, 1); /* the table still holds the string */
	return v;
}

/* session{...}: options are applied as ssh(1) does: the host name first,
 * then the ssh config (-F FILE, or ~/.ssh/config and /etc/ssh/ssh_config),
 * then the command line's explicit values, which win. */
static int lssh_session(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	const char *host = opt_string(L, 1, "host");
	if (host == NULL)
		return luaL_error(L, "ssh.session: host is required");
	struct sess *x = lua_newuserdatauv(L, sizeof *x, 0);
	x->s = NULL;
	x->connected = 0;
	luaL_setmetatable(L, SESSION);
	if ((x->s = ssh_new()) == NULL)
		return binding_fail(L, ENOMEM, "out of memory");
	/* libssh would otherwise read the config again inside ssh_connect. */
	int no = 0;
	ssh_options_set(x->s, SSH_OPTIONS_PROCESS_CONFIG, &no);
	if (ssh_options_set(x->s, SSH_OPTIONS_HOST, host) != 0)
		return lssh_fail(L, x, "host");
	const char *config = opt_string(L, 1, "config");
	if (ssh_options_parse_config(x->s, config) != 0)
		return lssh_fail(L, x, config ? config : "ssh config");
	/* StrictHostKeyChecking from any config (even /etc/ssh/ssh_config)
	 * would make libssh answer "known" for unknown AND changed keys
	 * (knownhosts.c: no match in the global file + "no" = OK). The host
	 * key decision is ccchef's own (lua/ccchef/remote_node.lua), so libssh
	 * must always give its honest verdict. */
	int strict = 1;
	if (ssh_options_set(x->s, SSH_OPTIONS_STRICTHOSTKEYCHECK, &strict) != 0)
		return lssh_fail(L, x, "StrictHostKeyChecking");
	/* Small writes (the key exchange's, authentication's, the bootstrap
	 * line, channel requests) must not wait for delayed ACKs: Nagle held
	 * one of the key exchange's packets 40 ms in about one connection of
	 * four, 27-91 ms per node later in the session. libssh sets it on the
	 * socket it connects, before the first byte (a ProxyCommand's
	 * socketpair has no Nagle). */
	int nodelay = 1;
	if (ssh_options_set(x->s, SSH_OPTIONS_NODELAY, &nodelay) != 0)
		return lssh_fail(L, x, "TCP_NODELAY");
	const char *proxy = opt_string(L, 1, "proxy_command");
	if (proxy && ssh_options_set(x->s, SSH_OPTIONS_PROXYCOMMAND, proxy) != 0)
		return lssh_fail(L, x, "proxy command");
	const char *user = opt_string(L, 1, "user");
	if (user && ssh_options_set(x->s, SSH_OPTIONS_USER, user) != 0)
		return lssh_fail(L, x, "user");
	lua_getfield(L, 1, "port");
	if (!lua_isnil(L, -1)) {
		unsigned int port = (unsigned int)luaL_checkinteger(L, -1);
		if (ssh_options_set(x->s, SSH_OPTIONS_PORT, &port) != 0)
			return lssh_fail(L, x, "port");
	}
	lua_pop(L, 1);
	const char *identity = opt_string(L, 1, "identity");
	if (identity && ssh_options_set(x->s, SSH_OPTIONS_ADD_IDENTITY, identity) != 0)
		return lssh_fail(L, x, "identity");
	const char *kh = opt_string(L, 1, "known_hosts");
	if (kh && ssh_options_set(x->s, SSH_OPTIONS_KNOWNHOSTS, kh) != 0)
		return lssh_fail(L, x, "known_hosts");
	lua_getfield(L, 1, "timeout");
	if (!lua_isnil(L, -1)) {
		long secs = (long)luaL_checknumber(L, -1);
		if (secs < 1)
			secs = 1;
		ssh_options_set(x->s, SSH_OPTIONS_TIMEOUT, &secs);
	}
	lua_pop(L, 1);
	return 1;
}

static int lssh_connect(lua_State *L)
{
	struct sess *x = lssh_check_session(L, 1);
	if (ssh_connect(x->s) != SSH_OK)
		return lssh_fail(L, x, "connect");
	x->connected = 1;
	lua_pushboolean(L, 1);
	return 1;
}

static void push_option(lua_State *L, ssh_session s, enum ssh_options_e opt, const char *key)
{
	char *v = NULL;
	if (ssh_options_get(s, opt, &v) == SSH_OK && v != NULL) {
		lua_pushstring(L, v);
		ssh_string_free_char(v);
		lua_setfield(L, -2, key);
	}
}

static int lssh_info(lua_State *L)
{
	struct sess *x = lssh_check_session(L, 1);
	lua_newtable(L);
	push_option(L, x->s, SSH_OPTIONS_HOST, "host");
	push_option(L, x->s, SSH_OPTIONS_USER, "user");
	push_option(L, x->s, SSH_OPTIONS_KNOWNHOSTS, "known_hosts");
	unsigned int port = 0;
	if (ssh_options_get_port(x->s, &port) == SSH_OK) {
		lua_pushinteger(L, port);
		lua_setfield(L, -2, "port");
	}
	return 1;
}

/* open(command): a session channel running command; the channel userdata
 * exists before the libssh channel so an error cannot leak it. */
static int lssh_open(lua_State *L)
{
	struct sess *x = lssh_check_session(L, 1);
	const char *cmd = luaL_checkstring(L, 2);
	struct chan *c = lua_newuserdatauv(L, sizeof *c, 1);
	c->c = NULL;
	c->owner = x;
	luaL_setmetatable(L, CHANNEL);
	lua_pushvalue(L, 1);
	lua_setiuservalue(L, -2, 1); /* the channel keeps its session alive */
	if ((c->c = ssh_channel_new(x->s)) == NULL)
		return lssh_fail(L, x, "channel");
	if (ssh_channel_open_session(c->c) != SSH_OK)
		return lssh_fail(L, x, "open channel");
	if (ssh_channel_request_exec(c->c, cmd) != SSH_OK)
		return lssh_fail(L, x, "exec");
	return 1;
}

static struct sess *chan_sess(lua_State *L, int idx)
{
	lua_getiuservalue(L, idx, 1);
	struct sess *x = lua_touserdata(L, -1);
	lua_pop(L, 1);
	return x;
}

static int lssh_write(lua_State *L)
{
	struct chan *c = check_chan(L, 1);
	size_t len;
	const char *data = luaL_checklstring(L, 2, &len);
	while (len > 0) {
		uint32_t n = len > 65536 ? 65536 : (uint32_t)len;
		int w = ssh_channel_write(c->c, data, n);
		if (w == SSH_ERROR)
			return lssh_fail(L, chan_sess(L, 1), "write");
		data += w;
		len -= (size_t)w;
	}
	lua_pushboolean(L, 1);
	return 1;
}

static int lssh_eof(lua_State *L)
{
	struct chan *c = check_chan(L, 1);
	ssh_channel_send_eof(c->c);
	return 0;
}

static int lssh_read(lua_State *L)
{
	struct chan *c = check_chan(L, 1);
	int timeout = (int)luaL_optinteger(L, 2, 1000);
	char buf[16384];
	/* stderr first, without waiting: libssh buffers both streams while it
	 * waits for stdout below, so none is lost. */
	int n = ssh_channel_read_nonblocking(c->c, buf, sizeof buf, 1);
	if (n > 0) {
		lua_pushlstring(L, buf, (size_t)n);
		lua_pushliteral(L, "stderr");
		return 2;
	}
	n = ssh_channel_read_timeout(c->c, buf, sizeof buf, 0, timeout);
	if (n == SSH_ERROR)
		return lssh_fail(L, chan_sess(L, 1), "read");
	if (n > 0) {
		lua_pushlstring(L, buf, (size_t)n);
		lua_pushliteral(L, "stdout");
		return 2;
	}
	if (ssh_channel_is_eof(c->c)) {
		n = ssh_channel_read_nonblocking(c->c, buf, sizeof buf, 1);
		if (n > 0) {
			lua_pushlstring(L, buf, (size_t)n);
			lua_pushliteral(L, "stderr");
			return 2;
		}
		lua_pushnil(L);
		return 1;
	}
	lua_pushliteral(L, "");
	lua_pushliteral(L, "timeout");
	return 2;
}

static int lssh_chan_close(lua_State *L)
{
	struct chan *c = luaL_checkudata(L, 1, CHANNEL);
	int status = -1;
	/* A closed session has freed its channels already (ssh_free does). */
	if (c->c != NULL && c->owner->s == NULL)
		c->c = NULL;
	if (c->c != NULL) {
		/* Waits for the exit status unless the node closed the channel
		 * already; libssh keeps the status it received either way. */
		status = ssh_channel_get_exit_status(c->c);
		if (ssh_channel_is_open(c->c))
			ssh_channel_close(c->c);
		ssh_channel_free(c->c);
		c->c = NULL;
	}
	lua_pushinteger(L, status);
	return 1;
}

/* __gc of a channel: free it without waiting for an exit status (a
 * worker that gave up on a node must not then wait for it). */
static int lssh_chan_gc(lua_State *L)
{
	struct chan *c = luaL_checkudata(L, 1, CHANNEL);
	if (c->c != NULL && c->owner->s != NULL)
		ssh_channel_free(c->c);
	c->c = NULL;
	return 0;
}

/* abort(): the node is given up (timeout): stop blocking, then close;
 * channels are freed with the session. */
static int lssh_sess_abort(lua_State *L)
{
	struct sess *x = luaL_checkudata(L, 1, SESSION);
	if (x->s != NULL) {
		ssh_set_blocking(x->s, 0);
		if (x->connected)
			ssh_disconnect(x->s);
		ssh_free(x->s);
		x->s = NULL;
	}
	return 0;
}

static int lssh_sha256_file(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	char hex[65];
	if (ssh_sha256_file_hex(path, hex) != 0)
		return 0;
	lua_pushlstring(L, hex, 64);
	return 1;
}

static int lssh_sess_close(lua_State *L)
{
	struct sess *x = luaL_checkudata(L, 1, SESSION);
	if (x->s != NULL) {
		if (x->connected)
			ssh_disconnect(x->s);
		ssh_free(x->s);
		x->s = NULL;
	}
	return 0;
}

int luaopen_ccchef_ssh(lua_State *L)
{
	static const luaL_Reg sess_methods[] = {
		{"connect", lssh_connect},
		{"info", lssh_info},
		{"auth", lssh_auth},
		{"open", lssh_open},
		{"close", lssh_sess_close},
		{"abort", lssh_sess_abort},
		{NULL, NULL},
	};
	static const luaL_Reg chan_methods[] = {
		{"write", lssh_write},
		{"eof", lssh_eof},
		{"read", lssh_read},
		{"close", lssh_chan_close},
		{NULL, NULL},
	};
	static const luaL_Reg fns[] = {
		{"session", lssh_session},
		{"sha256_file", lssh_sha256_file},
		{NULL, NULL},
	};
	char err[512];
	if (ssh_dl_load(err, sizeof err) != 0)
		return luaL_error(L, "%s", err);
	ssh_init();
	luaL_newmetatable(L, SESSION);
	luaL_newlib(L, sess_methods);
	lssh_register_host_key(L);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, lssh_sess_close);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
	luaL_newmetatable(L, CHANNEL);
	luaL_newlib(L, chan_methods);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, lssh_chan_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
	luaL_newlib(L, fns);
	return 1;
}
