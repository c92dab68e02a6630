/*
 * lua_journal.c: the ccchef.journal module, the write-ahead log of pending
 * notifications (lua/ccchef/state.lua gives it its format). Only three
 * operations, each durable when asked:
 *
 *   journal.append(path, data [, sync]) -> true | nil, message, errno name
 *       appends data (O_APPEND, so one write per record: a kill leaves at
 *       most a torn last record); with sync, fdatasync()s it, and when the
 *       file was just created, fsync()s its directory so the name survives
 *       a power loss too.
 *   journal.replace(path, data) -> true | nil, message, errno name
 *       writes path.new, fsyncs, renames it over path, fsyncs the
 *       directory.
 *   journal.remove(path) -> true | nil, message, errno name (absent: true);
 *       removes a path.new a killed replace left too.
 *
 * The final component is never followed if it is a symlink (O_NOFOLLOW):
 * the state directory is root's, but a planted link must not turn a root
 * run's append into a write elsewhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "binding_fail.h"
#include "host.h"

static int fail(lua_State *L, const char *what, const char *path, int err)
{
	return binding_failf(L, err, "%s %s: %s", what, path, strerror(err));
}

static int write_full(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* fsync the directory holding path, so a new or renamed name is durable. */
static int sync_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		snprintf(dir, sizeof dir, ".");
	else if (slash == path)
		snprintf(dir, sizeof dir, "/");
	else if (snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path) >= (int)sizeof dir)
		return ENAMETOOLONG;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	int r = fsync(fd) == 0 ? 0 : errno;
	close(fd);
	return r;
}

static int l_append(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	size_t len;
	const char *data = luaL_checklstring(L, 2, &len);
	int sync = lua_toboolean(L, 3);
	int created = 0;
	int fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		created = fd >= 0;
		if (fd < 0 && errno == EEXIST)
			fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return fail(L, "cannot open", path, errno);
	int err = write_full(fd, data, len);
	if (err == 0 && sync && fdatasync(fd) != 0)
		err = errno;
	if (close(fd) != 0 && err == 0)
		err = errno;
	if (err == 0 && sync && created)
		err = sync_dir(path);
	if (err != 0)
		return fail(L, "cannot write", path, err);
	lua_pushboolean(L, 1);
	return 1;
}

static int l_replace(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	size_t len;
	const char *data = luaL_checklstring(L, 2, &len);
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof tmp, "%s.new", path) >= (int)sizeof tmp)
		return fail(L, "cannot write", path, ENAMETOOLONG);
	/* A fixed name, in the state directory (root's alone): one left by a
	 * kill is simply replaced here, or removed by journal.remove. */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(L, "cannot write", path, errno);
	int err = write_full(fd, data, len);
	if (err == 0 && fsync(fd) != 0)
		err = errno;
	if (close(fd) != 0 && err == 0)
		err = errno;
	if (err == 0 && rename(tmp, path) != 0)
		err = errno;
	if (err != 0) {
		unlink(tmp);
		return fail(L, "cannot write", path, err);
	}
	if ((err = sync_dir(path)) != 0)
		return fail(L, "cannot write", path, err);
	lua_pushboolean(L, 1);
	return 1;
}

static int l_remove(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	if (unlink(path) != 0 && errno != ENOENT)
		return fail(L, "cannot remove", path, errno);
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof tmp, "%s.new", path) < (int)sizeof tmp)
		unlink(tmp); /* what a replace killed half-way left */
	lua_pushboolean(L, 1);
	return 1;
}

int luaopen_ccchef_journal(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"append", l_append},
		{"replace", l_replace},
		{"remove", l_remove},
		{NULL, NULL},
	};
	luaL_newlib(L, fns);
	return 1;
}
