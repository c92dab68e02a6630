/* binding_fail.h: the one failure shape of every C binding. No state here. */
#ifndef CCCHEF_BINDING_FAIL_H
#define CCCHEF_BINDING_FAIL_H

#include <lua.h>

/*
 * A failure the world caused (a missing file, a refused connection, a bad
 * archive) returns nil, message, name: message for people, name the errno
 * name as a string ("ENOENT"), as Lua's io library returns nil, message,
 * number and luv nil, message, "ENOENT". Callers compare names, never
 * numbers. A failure with no errno of its own (a library's protocol error)
 * carries the nearest honest one: EIO for a transport or format failure,
 * EACCES for a refused authentication, EINVAL for a malformed argument
 * that is data rather than code. Misuse by the caller (a wrong type) raises.
 */

/* Push nil, message, errno_name(err); returns 3 (the number of results). */
int binding_fail(lua_State *L, int err, const char *message);
/* The same, the message formatted as lua_pushfstring does. */
int binding_failf(lua_State *L, int err, const char *fmt, ...);
/* "what: strerror(err)", the message of a failed system call on what. */
int binding_fail_sys(lua_State *L, const char *what, int err);
/* "ENOENT" for ENOENT; "E<number>" for an errno this table lacks. The
 * pointer stays valid until the next call for an unknown errno. */
const char *binding_errno_name(int err);

#endif
