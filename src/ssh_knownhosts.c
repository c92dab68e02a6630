/*
 * ssh_knownhosts.c: known_hosts lookups with file and line (see
 * ssh_knownhosts.h for why ccchef reads the files itself).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ssh_dl.h"
#include "ssh_knownhosts.h"

void kh_fingerprint(ssh_key key, char *buf, size_t size)
{
	unsigned char *hash = NULL;
	size_t hlen = 0;
	char *fp = NULL;
	if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) == 0)
		fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
	snprintf(buf, size, "%s", fp ? fp : "?");
	ssh_string_free_char(fp);
	ssh_clean_pubkey_hash(&hash);
}

static void note_conflict(struct kh_verdict *v, const char *file, long line, ssh_key old)
{
	snprintf(v->file, sizeof v->file, "%s", file);
	v->line = line;
	const char *t = ssh_key_type_to_char(ssh_key_type(old));
	snprintf(v->old_type, sizeof v->old_type, "%s", t ? t : "?");
	kh_fingerprint(old, v->old_fingerprint, sizeof v->old_fingerprint);
}

/* The verdict of one file; v's location is filled for a conflict. */
static enum kh_status check_file(const char *file, const char *name, ssh_key key,
				 struct kh_verdict *v)
{
	FILE *f = fopen(file, "re");
	if (f == NULL)
		return KH_UNKNOWN;
	enum kh_status st = KH_UNKNOWN;
	char *buf = NULL;
	size_t cap = 0;
	long lineno = 0;
	ssize_t n;
	while ((n = getline(&buf, &cap, f)) >= 0) {
		lineno++;
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
			buf[--n] = '\0';
		char *p = buf + strspn(buf, " \t");
		int revoked = 0;
		if (*p == '\0' || *p == '#')
			continue;
		if (*p == '@') {
			/* Certificate authorities are not used by ccchef; a
			 * revoked key is refused whatever else matches. */
			if (strncmp(p, "@revoked", 8) != 0 || (p[8] != ' ' && p[8] != '\t'))
				continue;
			revoked = 1;
			p += 8;
			p += strspn(p, " \t");
		}
		struct ssh_knownhosts_entry *e = NULL;
		if (ssh_known_hosts_parse_line(name, p, &e) != SSH_OK || e == NULL) {
			ssh_knownhosts_entry_free(e);
			continue; /* another host's line, or one libssh cannot read */
		}
		int same = ssh_key_cmp(key, e->publickey, SSH_KEY_CMP_PUBLIC) == 0;
		if (revoked) {
			if (same) {
				note_conflict(v, file, lineno, e->publickey);
				st = KH_REVOKED;
				ssh_knownhosts_entry_free(e);
				break;
			}
		} else if (same) {
			if (st != KH_REVOKED)
				st = KH_OK;
		} else if (ssh_key_type(key) == ssh_key_type(e->publickey)) {
			if (st != KH_OK && st != KH_CHANGED) {
				note_conflict(v, file, lineno, e->publickey);
				st = KH_CHANGED;
			}
		} else if (st == KH_UNKNOWN) {
			note_conflict(v, file, lineno, e->publickey);
			st = KH_OTHER;
		}
		ssh_knownhosts_entry_free(e);
	}
	free(buf);
	fclose(f);
	return st;
}

void kh_check(const char *const *files, size_t nfiles, const char *name, ssh_key key,
	      struct kh_verdict *v)
{
	memset(v, 0, sizeof *v);
	v->status = KH_UNKNOWN;
	for (size_t i = 0; i < nfiles; i++) {
		if (files[i] == NULL)
			continue;
		struct kh_verdict here;
		memset(&here, 0, sizeof here);
		enum kh_status st = check_file(files[i], name, key, &here);
		if (st == KH_OK || st == KH_REVOKED) {
			*v = here;
			v->status = st;
			if (st == KH_REVOKED)
				return;
			/* A match wins over a conflict in an earlier file, but a
			 * later file may still revoke the key. */
			continue;
		}
		if (st != KH_UNKNOWN && v->status == KH_UNKNOWN) {
			*v = here;
			v->status = st;
		}
	}
}

int kh_append(const char *file, const char *name, ssh_key key, char *err, size_t errlen)
{
	char *b64 = NULL;
	const char *type = ssh_key_type_to_char(ssh_key_type(key));
	if (type == NULL || ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK) {
		snprintf(err, errlen, "cannot encode the host key");
		return -1;
	}
	char line[16384];
	int len = snprintf(line, sizeof line, "%s %s %s\n", name, type, b64);
	ssh_string_free_char(b64);
	if (len < 0 || (size_t)len >= sizeof line) {
		snprintf(err, errlen, "host key entry too long");
		return -ENAMETOOLONG;
	}
	/* The operator's own file, named by its own config: followed if it is
	 * a link (dotfile managers link it), as ssh(1) does. */
	int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 && errno == ENOENT) {
		/* ~/.ssh itself may not exist yet, as ssh(1) would create it. */
		char dir[PATH_MAX];
		snprintf(dir, sizeof dir, "%s", file);
		char *slash = strrchr(dir, '/');
		if (slash != NULL && slash != dir) {
			*slash = '\0';
			mkdir(dir, 0700);
		}
		fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	}
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot record the host key in %s: %s", file, strerror(e));
		return -e;
	}
	ssize_t w = write(fd, line, (size_t)len);
	int saved = errno;
	if (close(fd) != 0 && w == len) {
		saved = errno;
		w = -1;
	}
	if (w != len) {
		snprintf(err, errlen, "cannot record the host key in %s: %s", file,
			 w < 0 ? strerror(saved) : "short write");
		return w < 0 ? -saved : -EIO;
	}
	return 0;
}
