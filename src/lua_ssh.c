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
 *
 * Each object is a userdata that owns its libssh handle; __gc frees it, so
 * an error in between leaks nothing. A channel keeps its session alive
 * through its user value. Sessions block: the controller runs one per
 * process (see lua/ccchef/remote.lua).
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <lauxlib.h>

#include "binding_fail.h"
#include "host.h"
#include "ssh_dl.h"
#include "ssh_knownhosts.h"

#define SESSION "ccchef.ssh.session"
#define CHANNEL "ccchef.ssh.channel"

struct sess {
	ssh_session s;
	int connected;
};

struct chan {
	ssh_channel c;
	struct sess *owner; /* kept alive by the user value */
};

static struct sess *check_sess(lua_State *L, int idx)
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

/* libssh keeps no errno: its failures are transport failures, EIO
 * (binding_fail.h); the message says what happened. */
static int fail_ssh(lua_State *L, struct sess *x, const char *what)
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
static int l_session(lua_State *L)
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
		return fail_ssh(L, x, "host");
	const char *config = opt_string(L, 1, "config");
	if (ssh_options_parse_config(x->s, config) != 0)
		return fail_ssh(L, x, config ? config : "ssh config");
	/* StrictHostKeyChecking from any config (even /etc/ssh/ssh_config)
	 * would make libssh answer "known" for unknown AND changed keys
	 * (knownhosts.c: no match in the global file + "no" = OK). The host
	 * key decision is ccchef's own (lua/ccchef/remote_node.lua), so libssh
	 * must always give its honest verdict. */
	int strict = 1;
	if (ssh_options_set(x->s, SSH_OPTIONS_STRICTHOSTKEYCHECK, &strict) != 0)
		return fail_ssh(L, x, "StrictHostKeyChecking");
	const char *proxy = opt_string(L, 1, "proxy_command");
	if (proxy && ssh_options_set(x->s, SSH_OPTIONS_PROXYCOMMAND, proxy) != 0)
		return fail_ssh(L, x, "proxy command");
	const char *user = opt_string(L, 1, "user");
	if (user && ssh_options_set(x->s, SSH_OPTIONS_USER, user) != 0)
		return fail_ssh(L, x, "user");
	lua_getfield(L, 1, "port");
	if (!lua_isnil(L, -1)) {
		unsigned int port = (unsigned int)luaL_checkinteger(L, -1);
		if (ssh_options_set(x->s, SSH_OPTIONS_PORT, &port) != 0)
			return fail_ssh(L, x, "port");
	}
	lua_pop(L, 1);
	const char *identity = opt_string(L, 1, "identity");
	if (identity && ssh_options_set(x->s, SSH_OPTIONS_ADD_IDENTITY, identity) != 0)
		return fail_ssh(L, x, "identity");
	const char *kh = opt_string(L, 1, "known_hosts");
	if (kh && ssh_options_set(x->s, SSH_OPTIONS_KNOWNHOSTS, kh) != 0)
		return fail_ssh(L, x, "known_hosts");
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

static int l_connect(lua_State *L)
{
	struct sess *x = check_sess(L, 1);
	if (ssh_connect(x->s) != SSH_OK)
		return fail_ssh(L, x, "connect");
	x->connected = 1;
	/* Small writes (the bootstrap line, channel requests) must not wait
	 * for delayed ACKs: 27-91 ms per node otherwise. A ProxyCommand gives
	 * a socketpair, where this fails harmlessly. */
	int one = 1;
	socket_t fd = ssh_get_fd(x->s);
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
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

static int l_info(lua_State *L)
{
	struct sess *x = check_sess(L, 1);
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

/* The name libssh looks the server up by in known_hosts: "[host]:port",
 * or the bare host on port 22 (what ssh(1) writes). */
static int host_entry_name(struct sess *x, char *buf, size_t size)
{
	char *host = NULL;
	unsigned int port = 22;
	if (ssh_options_get(x->s, SSH_OPTIONS_HOST, &host) != SSH_OK || host == NULL)
		return -1;
	ssh_options_get_port(x->s, &port);
	int n = port == 22 ? snprintf(buf, size, "%s", host) : snprintf(buf, size, "[%s]:%u", host, port);
	ssh_string_free_char(host);
	return n > 0 && (size_t)n < size ? 0 : -1;
}

/* An option's string value into buf ("" when unset). */
static void option_copy(ssh_session s, enum ssh_options_e opt, char *buf, size_t size)
{
	char *v = NULL;
	buf[0] = '\0';
	if (ssh_options_get(s, opt, &v) == SSH_OK && v != NULL)
		snprintf(buf, size, "%s", v);
	ssh_string_free_char(v);
}

static void set_string(lua_State *L, const char *key, const char *value)
{
	lua_pushstring(L, value);
	lua_setfield(L, -2, key);
}

/* host_key([name]) -> status, { type=, fingerprint=, name=, file=, line=,
 * old_type=, old_fingerprint=, error= }: the verdict of known_hosts on the
 * key the server presented, for name (HostKeyAlias) or the session's
 * [host]:port. Without a name the verdict is libssh's
 * ssh_session_is_known_server() (strict checking forced, see l_session);
 * the file and line of a conflicting entry come from ccchef's own reading
 * (ssh_knownhosts.c), which also decides for an alias. */
static int l_host_key(lua_State *L)
{
	struct sess *x = check_sess(L, 1);
	const char *alias = luaL_optstring(L, 2, NULL);
	ssh_key key = NULL;
	char name[1024], fp[128], type[64], user_kh[PATH_MAX], global_kh[PATH_MAX];
	if (ssh_get_server_publickey(x->s, &key) != SSH_OK)
		return fail_ssh(L, x, "host key");
	const char *t = ssh_key_type_to_char(ssh_key_type(key));
	snprintf(type, sizeof type, "%s", t ? t : "?");
	kh_fingerprint(key, fp, sizeof fp);
	if (alias)
		snprintf(name, sizeof name, "%s", alias);
	else if (host_entry_name(x, name, sizeof name) != 0)
		snprintf(name, sizeof name, "?");
	/* Copied out at once: nothing libssh allocated is held across the
	 * Lua calls below, which can raise. */
	option_copy(x->s, SSH_OPTIONS_KNOWNHOSTS, user_kh, sizeof user_kh);
	option_copy(x->s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, global_kh, sizeof global_kh);
	const char *files[2] = { user_kh[0] ? user_kh : NULL, global_kh[0] ? global_kh : NULL };
	struct kh_verdict v;
	kh_check(files, 2, name, key, &v);
	ssh_key_free(key);

	const char *status = NULL;
	const char *error = NULL;
	if (v.status == KH_REVOKED) {
		status = "revoked";
	} else if (alias) {
		switch (v.status) {
		case KH_OK: status = "ok"; break;
		case KH_CHANGED: status = "changed"; break;
		case KH_OTHER: status = "other"; break;
		default: status = "unknown"; break;
		}
	} else {
		switch (ssh_session_is_known_server(x->s)) {
		case SSH_KNOWN_HOSTS_OK: status = "ok"; break;
		case SSH_KNOWN_HOSTS_CHANGED: status = "changed"; break;
		case SSH_KNOWN_HOSTS_OTHER: status = "other"; break;
		case SSH_KNOWN_HOSTS_NOT_FOUND: /* no known_hosts file yet */
		case SSH_KNOWN_HOSTS_UNKNOWN: status = "unknown"; break;
		default: status = "error"; error = ssh_get_error(x->s); break;
		}
	}
	lua_pushstring(L, status);
	lua_createtable(L, 0, 8);
	set_string(L, "type", type);
	set_string(L, "fingerprint", fp);
	set_string(L, "name", name);
	if (user_kh[0])
		set_string(L, "known_hosts", user_kh);
	if (v.file[0] != '\0') {
		set_string(L, "file", v.file);
		lua_pushinteger(L, v.line);
		lua_setfield(L, -2, "line");
		set_string(L, "old_type", v.old_type);
		set_string(L, "old_fingerprint", v.old_fingerprint);
	}
	if (error)
		set_string(L, "error", error);
	return 2;
}

/* accept_host_key([name]): appends the server's key for name (or
 * [host]:port) to the user's known_hosts file; returns that file. */
static int l_accept_host_key(lua_State *L)
{
	struct sess *x = check_sess(L, 1);
	const char *alias = luaL_optstring(L, 2, NULL);
	char name[1024], err[PATH_MAX + 128], file[PATH_MAX];
	ssh_key key = NULL;
	if (alias)
		snprintf(name, sizeof name, "%s", alias);
	else if (host_entry_name(x, name, sizeof name) != 0)
		return binding_fail(L, EINVAL, "cannot record the host key: no host name");
	option_copy(x->s, SSH_OPTIONS_KNOWNHOSTS, file, sizeof file);
	if (file[0] == '\0')
		return binding_fail(L, ENOENT, "cannot record the host key: no known_hosts file");
	if (ssh_get_server_publickey(x->s, &key) != SSH_OK)
		return fail_ssh(L, x, "host key");
	int r = kh_append(file, name, key, err, sizeof err);
	ssh_key_free(key);
	if (r != 0)
		return binding_fail(L, -r, err);
	lua_pushstring(L, file);
	return 1;
}

/* auth(): public keys, from the agent and the identity files (the config's
 * IdentityFile, -i, and the default ~/.ssh/id_*), as ssh(1) does. */
static int l_auth(lua_State *L)
{
	struct sess *x = check_sess(L, 1);
	int r = ssh_userauth_none(x->s, NULL);
	if (r == SSH_AUTH_SUCCESS)
		goto ok;
	if (r == SSH_AUTH_ERROR)
		return fail_ssh(L, x, "authentication");
	r = ssh_userauth_publickey_auto(x->s, NULL, NULL);
	if (r == SSH_AUTH_SUCCESS)
		goto ok;
	if (r == SSH_AUTH_ERROR)
		return fail_ssh(L, x, "authentication");
	char *user = NULL;
	ssh_options_get(x->s, SSH_OPTIONS_USER, &user);
	/* Copied into a Lua string before libssh's is freed. */
	lua_pushstring(L, user ? user : "?");
	ssh_string_free_char(user);
	return binding_failf(L, EACCES, "authentication failed for user %s: no key was accepted "
		"(tried the ssh agent and the identity files; use -i KEY or IdentityFile)",
		lua_tostring(L, -1));
ok:
	lua_pushboolean(L, 1);
	return 1;
}

/* open(command): a session channel running command; the channel userdata
 * exists before the libssh channel so an error cannot leak it. */
static int l_open(lua_State *L)
{
	struct sess *x = check_sess(L, 1);
	const char *cmd = luaL_checkstring(L, 2);
	struct chan *c = lua_newuserdatauv(L, sizeof *c, 1);
	c->c = NULL;
	c->owner = x;
	luaL_setmetatable(L, CHANNEL);
	lua_pushvalue(L, 1);
	lua_setiuservalue(L, -2, 1); /* the channel keeps its session alive */
	if ((c->c = ssh_channel_new(x->s)) == NULL)
		return fail_ssh(L, x, "channel");
	if (ssh_channel_open_session(c->c) != SSH_OK)
		return fail_ssh(L, x, "open channel");
	if (ssh_channel_request_exec(c->c, cmd) != SSH_OK)
		return fail_ssh(L, x, "exec");
	return 1;
}

static struct sess *chan_sess(lua_State *L, int idx)
{
	lua_getiuservalue(L, idx, 1);
	struct sess *x = lua_touserdata(L, -1);
	lua_pop(L, 1);
	return x;
}

static int l_write(lua_State *L)
{
	struct chan *c = check_chan(L, 1);
	size_t len;
	const char *data = luaL_checklstring(L, 2, &len);
	while (len > 0) {
		uint32_t n = len > 65536 ? 65536 : (uint32_t)len;
		int w = ssh_channel_write(c->c, data, n);
		if (w == SSH_ERROR)
			return fail_ssh(L, chan_sess(L, 1), "write");
		data += w;
		len -= (size_t)w;
	}
	lua_pushboolean(L, 1);
	return 1;
}

static int l_eof(lua_State *L)
{
	struct chan *c = check_chan(L, 1);
	ssh_channel_send_eof(c->c);
	return 0;
}

static int l_read(lua_State *L)
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
		return fail_ssh(L, chan_sess(L, 1), "read");
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

static int l_chan_close(lua_State *L)
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
static int l_chan_gc(lua_State *L)
{
	struct chan *c = luaL_checkudata(L, 1, CHANNEL);
	if (c->c != NULL && c->owner->s != NULL)
		ssh_channel_free(c->c);
	c->c = NULL;
	return 0;
}

/* abort(): the node is given up (timeout): stop blocking, then close;
 * channels are freed with the session. */
static int l_sess_abort(lua_State *L)
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

static int l_sess_close(lua_State *L)
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
		{"connect", l_connect},
		{"info", l_info},
		{"host_key", l_host_key},
		{"accept_host_key", l_accept_host_key},
		{"auth", l_auth},
		{"open", l_open},
		{"close", l_sess_close},
		{"abort", l_sess_abort},
		{NULL, NULL},
	};
	static const luaL_Reg chan_methods[] = {
		{"write", l_write},
		{"eof", l_eof},
		{"read", l_read},
		{"close", l_chan_close},
		{NULL, NULL},
	};
	static const luaL_Reg fns[] = {
		{"session", l_session},
		{NULL, NULL},
	};
	char err[512];
	if (ssh_dl_load(err, sizeof err) != 0)
		return luaL_error(L, "%s", err);
	ssh_init();
	luaL_newmetatable(L, SESSION);
	luaL_newlib(L, sess_methods);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, l_sess_close);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
	luaL_newmetatable(L, CHANNEL);
	luaL_newlib(L, chan_methods);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, l_chan_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
	luaL_newlib(L, fns);
	return 1;
}
