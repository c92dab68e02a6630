/*
 * lua_ssh_hostkey.c: the host key methods of an ssh session
 * (s:host_key, s:accept_host_key): known_hosts' verdict on the key the
 * server presented, and recording it. Split out of lua_ssh.c (which is the
 * session and its channels): trusting a server is its own concept.
 * Registered into the session methods by lssh_register_host_key.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "binding_fail.h"
#include "lua_ssh.h"
#include "ssh_knownhosts.h"

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
 * ssh_session_is_known_server() (strict checking forced, see lssh_session);
 * the file and line of a conflicting entry come from ccchef's own reading
 * (ssh_knownhosts.c), which also decides for an alias. */
static int lssh_host_key(lua_State *L)
{
	struct sess *x = lssh_check_session(L, 1);
	const char *alias = luaL_optstring(L, 2, NULL);
	ssh_key key = NULL;
	char name[1024], fp[128], type[64], user_kh[PATH_MAX], global_kh[PATH_MAX];
	if (ssh_get_server_publickey(x->s, &key) != SSH_OK)
		return lssh_fail(L, x, "host key");
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
static int lssh_accept_host_key(lua_State *L)
{
	struct sess *x = lssh_check_session(L, 1);
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
		return lssh_fail(L, x, "host key");
	int r = kh_append(file, name, key, err, sizeof err);
	ssh_key_free(key);
	if (r != 0)
		return binding_fail(L, -r, err);
	lua_pushstring(L, file);
	return 1;
}

void lssh_register_host_key(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{"host_key", lssh_host_key},
		{"accept_host_key", lssh_accept_host_key},
		{NULL, NULL},
	};
	luaL_setfuncs(L, methods, 0);
}
