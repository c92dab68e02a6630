/* ssh_sha256.h: SHA-256 through the libcrypto that libssh loaded (see
 * ssh_sha256.c). */
#ifndef CCCHEF_SSH_SHA256_H
#define CCCHEF_SSH_SHA256_H

#include <stddef.h>

/* 0 and the lowercase hex digest in hex; -1 when libssh's crypto library
 * is not a loaded OpenSSL libcrypto (the caller hashes another way). */
int ssh_sha256_hex(const void *data, size_t len, char hex[65]);

/* The same of a regular file's content (mapped, not read). */
int ssh_sha256_file_hex(const char *path, char hex[65]);

#endif
