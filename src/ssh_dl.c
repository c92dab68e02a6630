/*
 * ssh_dl.c: loads libssh on first use (see ssh_dl.h for why).
 */
#include <dlfcn.h>
#include <stdio.h>

/* The pointers are defined here, so this file must see the real names. */
#include <libssh/libssh.h>

#define SSH_DL_FUNCTIONS_ONLY
#include "ssh_dl.h"

#define SSH_DL_DEFINE(f) __typeof__(f) *dl_##f;
SSH_DL_FUNCTIONS(SSH_DL_DEFINE)
#undef SSH_DL_DEFINE

int ssh_dl_load(char *err, size_t errlen)
{
	static void *handle;
	if (handle != NULL)
		return 0;
	void *h = dlopen("libssh.so.4", RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		snprintf(err, errlen, "ccchef remote needs libssh (Debian: apt-get install libssh-4): %s",
			 dlerror());
		return -1;
	}
#define SSH_DL_LOOKUP(f) \
	if ((dl_##f = (__typeof__(f) *)dlsym(h, #f)) == NULL) { \
		snprintf(err, errlen, "libssh.so.4 lacks %s", #f); \
		dlclose(h); \
		return -1; \
	}
	SSH_DL_FUNCTIONS(SSH_DL_LOOKUP)
#undef SSH_DL_LOOKUP
	handle = h;
	return 0;
}
