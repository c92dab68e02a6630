/*
 * binding_fail.c: nil, message, errno name (binding_fail.h). The names come
 * from this table and not from strerrorname_np: that needs glibc 2.32, and
 * ccchef-runner must start on any node with a glibc (docs/remote.md).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "binding_fail.h"

#define NAME(e) [e] = #e
static const char *const names[] = {
	NAME(EPERM), NAME(ENOENT), NAME(ESRCH), NAME(EINTR), NAME(EIO),
	NAME(ENXIO), NAME(E2BIG), NAME(ENOEXEC), NAME(EBADF), NAME(ECHILD),
	NAME(EAGAIN), NAME(ENOMEM), NAME(EACCES), NAME(EFAULT), NAME(EBUSY),
	NAME(EEXIST), NAME(EXDEV), NAME(ENODEV), NAME(ENOTDIR), NAME(EISDIR),
	NAME(EINVAL), NAME(ENFILE), NAME(EMFILE), NAME(ENOTTY), NAME(ETXTBSY),
	NAME(EFBIG), NAME(ENOSPC), NAME(ESPIPE), NAME(EROFS), NAME(EMLINK),
	NAME(EPIPE), NAME(ERANGE), NAME(EDEADLK), NAME(ENAMETOOLONG),
	NAME(ENOLCK), NAME(ENOSYS), NAME(ENOTEMPTY), NAME(ELOOP),
	NAME(EOVERFLOW), NAME(EILSEQ), NAME(ENOTSOCK), NAME(EMSGSIZE),
	NAME(EPROTO), NAME(EOPNOTSUPP), NAME(EADDRINUSE), NAME(EADDRNOTAVAIL),
	NAME(ENETDOWN), NAME(ENETUNREACH), NAME(ECONNABORTED), NAME(ECONNRESET),
	NAME(ENOBUFS), NAME(EISCONN), NAME(ENOTCONN), NAME(ETIMEDOUT),
	NAME(ECONNREFUSED), NAME(EHOSTDOWN), NAME(EHOSTUNREACH), NAME(EALREADY),
	NAME(ESTALE), NAME(EDQUOT), NAME(ECANCELED),
};
#undef NAME

const char *binding_errno_name(int err)
{
	static char unknown[16];
	if (err > 0 && (size_t)err < sizeof names / sizeof names[0] && names[err])
		return names[err];
	snprintf(unknown, sizeof unknown, "E%d", err);
	return unknown;
}

int binding_fail(lua_State *L, int err, const char *message)
{
	luaL_pushfail(L);
	lua_pushstring(L, message);
	lua_pushstring(L, binding_errno_name(err));
	return 3;
}

int binding_failf(lua_State *L, int err, const char *fmt, ...)
{
	va_list ap;
	luaL_pushfail(L);
	va_start(ap, fmt);
	lua_pushvfstring(L, fmt, ap);
	va_end(ap);
	lua_pushstring(L, binding_errno_name(err));
	return 3;
}

int binding_fail_sys(lua_State *L, const char *what, int err)
{
	return binding_failf(L, err, "%s: %s", what, strerror(err));
}
