/* ssh_dl.h: libssh, loaded when `ccchef remote` first needs it.
 *
 * `ccchef apply` never talks SSH, and linking libssh would load it (and
 * OpenSSL's libcrypto and Kerberos with it) at every start: about 1 ms and
 * 2.5 MiB per run, more than a tenth of a no-op converge of a thousand
 * files (docs/performance.md). So ccchef is built against libssh's headers
 * only; ssh_dl_load() dlopens libssh.so.4 and fills one pointer per
 * function, declared with the header's own prototypes (__typeof__), and the
 * names below make lua_ssh.c call through them unchanged.
 */
#ifndef CCCHEF_SSH_DL_H
#define CCCHEF_SSH_DL_H

#include <stddef.h>

#include <libssh/libssh.h>

#define SSH_DL_FUNCTIONS(X) \
	X(ssh_channel_close) \
	X(ssh_channel_free) \
	X(ssh_channel_get_exit_status) \
	X(ssh_channel_is_eof) \
	X(ssh_channel_is_open) \
	X(ssh_channel_new) \
	X(ssh_channel_open_session) \
	X(ssh_channel_read_nonblocking) \
	X(ssh_channel_read_timeout) \
	X(ssh_channel_request_exec) \
	X(ssh_channel_send_eof) \
	X(ssh_channel_write) \
	X(ssh_clean_pubkey_hash) \
	X(ssh_connect) \
	X(ssh_disconnect) \
	X(ssh_free) \
	X(ssh_get_error) \
	X(ssh_get_fingerprint_hash) \
	X(ssh_get_publickey_hash) \
	X(ssh_get_server_publickey) \
	X(ssh_init) \
	X(ssh_key_free) \
	X(ssh_key_type) \
	X(ssh_key_type_to_char) \
	X(ssh_new) \
	X(ssh_options_get) \
	X(ssh_options_get_port) \
	X(ssh_options_parse_config) \
	X(ssh_options_set) \
	X(ssh_session_is_known_server) \
	X(ssh_session_update_known_hosts) \
	X(ssh_string_free_char) \
	X(ssh_userauth_none) \
	X(ssh_userauth_publickey_auto) \
	X(ssh_key_cmp) \
	X(ssh_known_hosts_parse_line) \
	X(ssh_knownhosts_entry_free) \
	X(ssh_pki_export_pubkey_base64) \
	X(ssh_pki_import_privkey_file) \
	X(ssh_userauth_publickey) \
	X(ssh_set_blocking)

#define SSH_DL_DECLARE(f) extern __typeof__(f) *dl_##f;
SSH_DL_FUNCTIONS(SSH_DL_DECLARE)
#undef SSH_DL_DECLARE

/* 0, or -1 with the reason in err (libssh is not installed...). */
int ssh_dl_load(char *err, size_t errlen);

/* Calls in lua_ssh.c go through the pointers (ssh_dl.c needs the real
 * names, to take their types and look them up). */
#ifndef SSH_DL_FUNCTIONS_ONLY
#define ssh_channel_close dl_ssh_channel_close
#define ssh_channel_free dl_ssh_channel_free
#define ssh_channel_get_exit_status dl_ssh_channel_get_exit_status
#define ssh_channel_is_eof dl_ssh_channel_is_eof
#define ssh_channel_is_open dl_ssh_channel_is_open
#define ssh_channel_new dl_ssh_channel_new
#define ssh_channel_open_session dl_ssh_channel_open_session
#define ssh_channel_read_nonblocking dl_ssh_channel_read_nonblocking
#define ssh_channel_read_timeout dl_ssh_channel_read_timeout
#define ssh_channel_request_exec dl_ssh_channel_request_exec
#define ssh_channel_send_eof dl_ssh_channel_send_eof
#define ssh_channel_write dl_ssh_channel_write
#define ssh_clean_pubkey_hash dl_ssh_clean_pubkey_hash
#define ssh_connect dl_ssh_connect
#define ssh_disconnect dl_ssh_disconnect
#define ssh_free dl_ssh_free
#define ssh_get_error dl_ssh_get_error
#define ssh_get_fingerprint_hash dl_ssh_get_fingerprint_hash
#define ssh_get_publickey_hash dl_ssh_get_publickey_hash
#define ssh_get_server_publickey dl_ssh_get_server_publickey
#define ssh_init dl_ssh_init
#define ssh_key_free dl_ssh_key_free
#define ssh_key_type dl_ssh_key_type
#define ssh_key_type_to_char dl_ssh_key_type_to_char
#define ssh_new dl_ssh_new
#define ssh_options_get dl_ssh_options_get
#define ssh_options_get_port dl_ssh_options_get_port
#define ssh_options_parse_config dl_ssh_options_parse_config
#define ssh_options_set dl_ssh_options_set
#define ssh_session_is_known_server dl_ssh_session_is_known_server
#define ssh_session_update_known_hosts dl_ssh_session_update_known_hosts
#define ssh_string_free_char dl_ssh_string_free_char
#define ssh_userauth_none dl_ssh_userauth_none
#define ssh_userauth_publickey_auto dl_ssh_userauth_publickey_auto
#define ssh_key_cmp dl_ssh_key_cmp
#define ssh_known_hosts_parse_line dl_ssh_known_hosts_parse_line
#define ssh_knownhosts_entry_free dl_ssh_knownhosts_entry_free
#define ssh_pki_export_pubkey_base64 dl_ssh_pki_export_pubkey_base64
#define ssh_pki_import_privkey_file dl_ssh_pki_import_privkey_file
#define ssh_userauth_publickey dl_ssh_userauth_publickey
#define ssh_set_blocking dl_ssh_set_blocking

#endif

#endif
