/* ssh_knownhosts.h: ccchef's own reading of known_hosts files.
 *
 * libssh answers "is this server known?" for the session's host:port only,
 * and not where the conflicting entry is. ccchef needs the file and line of
 * a changed key (to say which entry to remove), and HostKeyAlias, which
 * libssh 0.10 ignores, names the entry to look up. Lines are matched with
 * libssh's own parser (ssh_known_hosts_parse_line: patterns, [host]:port,
 * hashed names), so both readings agree.
 */
#ifndef CCCHEF_SSH_KNOWNHOSTS_H
#define CCCHEF_SSH_KNOWNHOSTS_H

#include <limits.h>
#include <stddef.h>

#include <libssh/libssh.h>

enum kh_status {
	KH_UNKNOWN, /* no entry for the name (or no file) */
	KH_OK,      /* an entry for the name has this key */
	KH_CHANGED, /* entries for the name, one of this key's type, none this key */
	KH_OTHER,   /* entries for the name, only of other key types */
	KH_REVOKED, /* the key is marked @revoked for the name */
};

struct kh_verdict {
	enum kh_status status;
	/* The first entry that conflicts (CHANGED/OTHER) or revokes. */
	char file[PATH_MAX];
	long line;
	char old_type[64];
	char old_fingerprint[128];
};

/* Checks key for name in the files, in order (NULL entries skipped), as
 * ssh(1) does: a match in any file is OK; otherwise the first file with
 * entries for the name gives the verdict. Unreadable files count as empty. */
void kh_check(const char *const *files, size_t nfiles, const char *name, ssh_key key,
	      struct kh_verdict *v);

/* Appends "name type base64" to file (creating it 0600, and its directory
 * 0700 if missing). 0, or -errno with the reason in err. */
int kh_append(const char *file, const char *name, ssh_key key, char *err, size_t errlen);

/* "SHA256:..." of key into buf ("?" when it cannot be computed). */
void kh_fingerprint(ssh_key key, char *buf, size_t size);

#endif
