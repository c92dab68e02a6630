/*
 * lua_spawn.c: the ccchef.spawn module, a group of child processes on one
 * libuv loop whose output is read line by line as it arrives. `ccchef
 * remote` runs one child per node with it (lua/ccchef/remote.lua explains
 * why processes), and renders their event lines live.
 *
 *   g = spawn.group()
 *   g:start({ argv... } [, { "K=V"... }]) -> id | nil, msg   (env added to ours)
 *   g:next() -> { id=, stream="stdout"|"stderr", line= }
 *             | { id=, exit=true, status=, signal= }
 *             | nil (nothing left running)
 *   g:kill(id [, signal])
 *   spawn.exepath() -> path of this executable
 *
 * Pipes are right here, unlike for commands (proc.c): the children are
 * ccchef's own workers (`ccchef __node`), which ignore SIGPIPE from main()
 * on, so a controller that dies leaves them EPIPE on their event lines, not
 * death; each goes on driving its node's runner, which finishes its run.
 *
 * A child's exit event comes after the last line of both its streams.
 * Memory of a child is freed only in the close callback of its last handle
 * (libuv's lifetime rule); the group's __gc kills what still runs.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <uv.h>

#include "binding_fail.h"
#include "host.h"

#define GROUP "ccchef.spawn.group"

struct event {
	struct event *next;
	int id;
	int stream; /* 1 stdout, 2 stderr, 0 exit */
	char *line;
	size_t len;
	int64_t status;
	int signal;
};

struct linebuf {
	char *data;
	size_t len;
};

struct child;

struct group {
	uv_loop_t loop;
	int loop_ok;
	int next_id;
	int running; /* children whose exit event is not queued yet */
	struct event *head, *tail;
	struct child *children;
};

struct child {
	struct child *next;
	struct group *g;
	int id;
	uv_process_t proc;
	uv_pipe_t out, err;
	struct linebuf outbuf, errbuf;
	int handles; /* open handles; freed at 0 */
	int exited;
	int64_t status;
	int signal;
};

static void queue(struct group *g, struct event *e)
{
	e->next = NULL;
	if (g->tail)
		g->tail->next = e;
	else
		g->head = e;
	g->tail = e;
}

static void queue_line(struct child *c, int stream, const char *s, size_t n)
{
	struct event *e = calloc(1, sizeof *e);
	if (e == NULL || (e->line = malloc(n + 1)) == NULL) {
		free(e);
		return; /* out of memory: the line is lost, the run goes on */
	}
	memcpy(e->line, s, n);
	e->line[n] = '\0';
	e->len = n;
	e->id = c->id;
	e->stream = stream;
	queue(c->g, e);
}

static void unlink_child(struct child *c)
{
	for (struct child **p = &c->g->children; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
}

static void on_close(uv_handle_t *h)
{
	struct child *c = h->data;
	if (--c->handles > 0)
		return;
	struct event *e = calloc(1, sizeof *e);
	if (e != NULL) {
		e->id = c->id;
		e->status = c->status;
		e->signal = c->signal;
		queue(c->g, e);
	}
	c->g->running--;
	unlink_child(c);
	free(c->outbuf.data);
	free(c->errbuf.data);
	free(c);
}

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
	(void)h;
	buf->base = malloc(size);
	buf->len = buf->base ? size : 0;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct child *c = s->data;
	int stream = s == (uv_stream_t *)&c->out ? 1 : 2;
	struct linebuf *lb = stream == 1 ? &c->outbuf : &c->errbuf;
	if (n > 0) {
		char *p = realloc(lb->data, lb->len + (size_t)n);
		if (p != NULL) {
			lb->data = p;
			memcpy(lb->data + lb->len, buf->base, (size_t)n);
			lb->len += (size_t)n;
		}
		size_t start = 0;
		for (size_t i = 0; i < lb->len; i++) {
			if (lb->data[i] == '\n') {
				queue_line(c, stream, lb->data + start, i - start);
				start = i + 1;
			}
		}
		if (start > 0) {
			memmove(lb->data, lb->data + start, lb->len - start);
			lb->len -= start;
		}
	} else if (n < 0) {
		if (lb->len > 0)
			queue_line(c, stream, lb->data, lb->len);
		lb->len = 0;
		uv_close((uv_handle_t *)s, on_close);
	}
	free(buf->base);
}

static void on_proc_exit(uv_process_t *p, int64_t status, int sig)
{
	struct child *c = p->data;
	c->exited = 1;
	c->status = status;
	c->signal = sig;
	uv_close((uv_handle_t *)p, on_close);
}

static int l_group(lua_State *L)
{
	struct group *g = lua_newuserdatauv(L, sizeof *g, 0);
	memset(g, 0, sizeof *g);
	luaL_setmetatable(L, GROUP);
	int r = uv_loop_init(&g->loop);
	if (r != 0)
		return luaL_error(L, "spawn.group: %s", uv_strerror(r));
	g->loop_ok = 1;
	return 1;
}

static struct group *check_group(lua_State *L)
{
	struct group *g = luaL_checkudata(L, 1, GROUP);
	if (!g->loop_ok)
		luaL_error(L, "spawn group is closed");
	return g;
}

static int l_start(lua_State *L)
{
	struct group *g = check_group(L);
	luaL_checktype(L, 2, LUA_TTABLE);
	int argc = (int)luaL_len(L, 2);
	if (argc < 1)
		return luaL_error(L, "start: empty argv");
	/* argv strings stay referenced by the table while uv_spawn copies them. */
	char **argv = lua_newuserdatauv(L, sizeof(char *) * (size_t)(argc + 1), 0);
	for (int i = 0; i < argc; i++) {
		lua_rawgeti(L, 2, i + 1);
		argv[i] = (char *)luaL_checkstring(L, -1);
		lua_pop(L, 1);
	}
	argv[argc] = NULL;
	/* Our environment plus the pairs given: how a worker gets its spec
	 * without putting it on a command line that ps shows to everyone. */
	char **env = NULL;
	if (lua_istable(L, 3)) {
		extern char **environ;
		size_t n = 0;
		while (environ[n])
			n++;
		int extra = (int)luaL_len(L, 3);
		env = lua_newuserdatauv(L, sizeof(char *) * (n + (size_t)extra + 1), 0);
		for (size_t i = 0; i < n; i++)
			env[i] = environ[i];
		for (int i = 0; i < extra; i++) {
			lua_rawgeti(L, 3, i + 1);
			env[n + (size_t)i] = (char *)luaL_checkstring(L, -1);
			lua_pop(L, 1);
		}
		env[n + (size_t)extra] = NULL;
	}

	struct child *c = calloc(1, sizeof *c);
	if (c == NULL)
		return luaL_error(L, "out of memory");
	c->g = g;
	c->id = ++g->next_id;
	uv_pipe_init(&g->loop, &c->out, 0);
	uv_pipe_init(&g->loop, &c->err, 0);
	c->out.data = c->err.data = c->proc.data = c;
	c->handles = 2;
	uv_stdio_container_t stdio[3] = {
		{ .flags = UV_IGNORE },
		{ .flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&c->out },
		{ .flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&c->err },
	};
	uv_process_options_t o = {
		.file = argv[0], .args = argv, .env = env, .exit_cb = on_proc_exit,
		.stdio_count = 3, .stdio = stdio,
	};
	c->next = g->children;
	g->children = c;
	g->running++;
	int r = uv_spawn(&g->loop, &c->proc, &o);
	if (r != 0) {
		/* The pipes close through the loop; their close callbacks free c
		 * (and queue an exit event the caller never sees: id unknown). */
		c->handles = 3;
		c->id = 0; /* its exit event is dropped by next() */
		uv_close((uv_handle_t *)&c->proc, on_close);
		uv_close((uv_handle_t *)&c->out, on_close);
		uv_close((uv_handle_t *)&c->err, on_close);
		uv_run(&g->loop, UV_RUN_NOWAIT);
		return binding_failf(L, -r, "cannot start %s: %s", argv[0], uv_strerror(r));
	}
	c->handles = 3;
	uv_read_start((uv_stream_t *)&c->out, on_alloc, on_read);
	uv_read_start((uv_stream_t *)&c->err, on_alloc, on_read);
	lua_pushinteger(L, c->id);
	return 1;
}

static int l_next(lua_State *L)
{
	struct group *g = check_group(L);
	for (;;) {
		while (g->head == NULL && g->running > 0)
			uv_run(&g->loop, UV_RUN_ONCE);
		struct event *e = g->head;
		if (e == NULL) {
			lua_pushnil(L);
			return 1;
		}
		if (e->id == 0) { /* a child that never started */
			g->head = e->next;
			if (g->head == NULL)
				g->tail = NULL;
			free(e->line);
			free(e);
			continue;
		}
		/* Build the table while the event is still queued, so a raise
		 * (out of memory) leaks nothing; dequeue after. */
		lua_createtable(L, 0, 4);
		lua_pushinteger(L, e->id);
		lua_setfield(L, -2, "id");
		if (e->stream != 0) {
			lua_pushstring(L, e->stream == 1 ? "stdout" : "stderr");
			lua_setfield(L, -2, "stream");
			lua_pushlstring(L, e->line, e->len);
			lua_setfield(L, -2, "line");
		} else {
			lua_pushboolean(L, 1);
			lua_setfield(L, -2, "exit");
			lua_pushinteger(L, (lua_Integer)e->status);
			lua_setfield(L, -2, "status");
			lua_pushinteger(L, e->signal);
			lua_setfield(L, -2, "signal");
		}
		g->head = e->next;
		if (g->head == NULL)
			g->tail = NULL;
		free(e->line);
		free(e);
		return 1;
	}
}

static int l_kill(lua_State *L)
{
	struct group *g = check_group(L);
	int id = (int)luaL_checkinteger(L, 2);
	int sig = (int)luaL_optinteger(L, 3, SIGTERM);
	for (struct child *c = g->children; c; c = c->next)
		if (c->id == id && !c->exited)
			uv_process_kill(&c->proc, sig);
	return 0;
}

static int l_gc(lua_State *L)
{
	struct group *g = luaL_checkudata(L, 1, GROUP);
	if (!g->loop_ok)
		return 0;
	for (struct child *c = g->children; c; c = c->next)
		if (!c->exited)
			uv_process_kill(&c->proc, SIGKILL);
	while (g->running > 0)
		uv_run(&g->loop, UV_RUN_ONCE);
	while (g->head) {
		struct event *e = g->head;
		g->head = e->next;
		free(e->line);
		free(e);
	}
	uv_loop_close(&g->loop);
	g->loop_ok = 0;
	return 0;
}

static int l_exepath(lua_State *L)
{
	char buf[4096];
	size_t n = sizeof buf;
	if (uv_exepath(buf, &n) != 0)
		return 0;
	lua_pushlstring(L, buf, n);
	return 1;
}

int luaopen_ccchef_spawn(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{"start", l_start},
		{"next", l_next},
		{"kill", l_kill},
		{NULL, NULL},
	};
	static const luaL_Reg fns[] = {
		{"group", l_group},
		{"exepath", l_exepath},
		{NULL, NULL},
	};
	luaL_newmetatable(L, GROUP);
	luaL_newlib(L, methods);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, l_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
	luaL_newlib(L, fns);
	return 1;
}
