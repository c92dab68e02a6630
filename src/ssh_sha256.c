/*
 * ssh_sha256.c: SHA-256 from the libcrypto libssh has loaded, for the
 * runner's hash (ccchef.ssh's sha256_file).
 *
 * Every cached run of `ccchef remote` names the runner by its SHA-256,
 * and hashing its ~900 KB with a sha256sum process cost the controller
 * 4-5 ms before the first node could start. A worker has libssh loaded,
 * and with it OpenSSL's libcrypto (SHA extensions: about 0.5 ms), so the
 * worker hashes the runner file (mapped, not copied into a Lua string: a
 * cached run never needs its bytes). Looked up by name in the
 * library already loaded (RTLD_NOLOAD: nothing new is mapped), with the
 * prototypes written here so no OpenSSL headers are needed to build; a
 * libssh built on another crypto library has none, and the caller falls
 * back to sha256sum.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ssh_sha256.h"

/* OpenSSL 3 and 1.1's one-shot digest: EVP_Digest(data, count, md,
 * &size, EVP_sha256(), NULL). */
typedef const void *evp_md_fn(void);
typedef int evp_digest_fn(const void *data, size_t count, unsigned char *md, unsigned int *size,
	const void *type, void *impl);

int ssh_sha256_hex(const void *data, size_t len, char hex[65])
{
	static const char *const libs[] = {"libcrypto.so.3", "libcrypto.so.1.1"};
	for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
		void *h = dlopen(libs[i], RTLD_LAZY | RTLD_LOCAL | RTLD_NOLOAD);
		if (h == NULL)
			continue;
		evp_md_fn *sha256 = (evp_md_fn *)dlsym(h, "EVP_sha256");
		evp_digest_fn *digest = (evp_digest_fn *)dlsym(h, "EVP_Digest");
		unsigned char md[64];
		unsigned int n = 0;
		int ok = sha256 != NULL && digest != NULL && digest(data, len, md, &n, sha256(), NULL) == 1 &&
			 n == 32;
		dlclose(h);
		if (!ok)
			return -1;
		for (unsigned int j = 0; j < n; j++)
			snprintf(hex + 2 * j, 3, "%02x", md[j]);
		return 0;
	}
	return -1;
}

int ssh_sha256_file_hex(const char *path, char hex[65])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	size_t len = (size_t)st.st_size;
	void *p = len > 0 ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
	close(fd);
	if (p == MAP_FAILED)
		return -1;
	int r = ssh_sha256_hex(len > 0 ? p : "", len, hex);
	if (len > 0)
		munmap(p, len);
	return r;
}
