/*
 * lua_ssh_auth.c: s:auth() of the ccchef.ssh module, public keys from the
 * identity files and the ssh agent, as ssh(1) uses them.
 *
 *   s:auth() -> true | nil, msg
 *
 * The first identity (-i, else the ssh config's IdentityFile, else the
 * default ~/.ssh/id_ed25519) is offered signed at once when its private
 * key reads without a passphrase. The usual sequence (a "none" request,
 * then each key first offered unsigned and signed only when the server
 * says it would accept it: what libssh's publickey_auto and ssh(1) do)
 * costs two more requests, and OpenSSH's sshd pads the answer to every
 * request but the one that succeeds to its per-user minimum time (5-10
 * ms each, against user enumeration): about 15 ms of a cached run of
 * `ccchef remote`. The usual sequence stays the fallback, for the agent,
 * encrypted keys and the other identities.
 */
#include <errno.h>
#include <stddef.h>

#include <lauxlib.h>

#include "binding_fail.h"
#include "lua_ssh.h"
#include "ssh_dl.h"

/* Offers the first identity file's key, signed, without a probe. Returns
 * libssh's answer, or SSH_AUTH_DENIED when there is no such key to offer
 * (no file, a passphrase, a format libssh does not read). */
static int first_identity_signed(ssh_session s)
{
	char *path = NULL;
	if (ssh_options_get(s, SSH_OPTIONS_IDENTITY, &path) != SSH_OK || path == NULL)
		return SSH_AUTH_DENIED;
	ssh_key key = NULL;
	/* No passphrase and no prompt: an encrypted key is left to the agent. */
	int r = ssh_pki_import_privkey_file(path, NULL, NULL, NULL, &key);
	ssh_string_free_char(path);
	if (r != SSH_OK)
		return SSH_AUTH_DENIED;
	r = ssh_userauth_publickey(s, NULL, key);
	ssh_key_free(key);
	return r;
}

int lssh_auth(lua_State *L)
{
	struct sess *x = lssh_check_session(L, 1);
	int r = first_identity_signed(x->s);
	if (r == SSH_AUTH_SUCCESS)
		goto ok;
	if (r == SSH_AUTH_ERROR)
		return lssh_fail(L, x, "authentication");
	r = ssh_userauth_none(x->s, NULL);
	if (r == SSH_AUTH_SUCCESS)
		goto ok;
	if (r == SSH_AUTH_ERROR)
		return lssh_fail(L, x, "authentication");
	r = ssh_userauth_publickey_auto(x->s, NULL, NULL);
	if (r == SSH_AUTH_SUCCESS)
		goto ok;
	if (r == SSH_AUTH_ERROR)
		return lssh_fail(L, x, "authentication");
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
