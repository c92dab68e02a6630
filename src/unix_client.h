/* unix_client.h: one request over a unix stream socket, the answer read to
 * the end: the shape of haproxy's runtime API (a command line in, the
 * answer out, then the server closes). No Lua here. */
#ifndef CCCHEF_UNIX_CLIENT_H
#define CCCHEF_UNIX_CLIENT_H

#include <stddef.h>

/*
 * Connect to the socket at path, send req (len bytes), shut down our
 * sending side, and read until the server closes, all within timeout_ms.
 * The path is resolved the safe way (fs.h: no symbolic link ccchef did not
 * trust, O_NOFOLLOW on the last component) and must name a socket; we
 * connect through the descriptor we checked, so what was checked is what
 * we talk to. At most max bytes are kept (more is -EMSGSIZE).
 * Returns 0 and *out (malloc'd, NUL-terminated; the caller frees it) and
 * *outlen, or -errno (-ETIMEDOUT at the deadline, -ENOTSOCK for a file
 * that is not a socket, -ELOOP for a refused link) with *out NULL.
 */
int unix_request(const char *path, const char *req, size_t len, int timeout_ms,
		 size_t max, char **out, size_t *outlen);

#endif
