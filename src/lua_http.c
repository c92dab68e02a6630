/*
 * lua_http.c: the ccchef.httpc module, the socket half of ccchef.http
 * (lua/ccchef/http.lua builds the request and reads the URL; docs/failover.md
 * says what the client does and does not do).
 *
 *   httpc.request(host, port, request, opts) -> status, headers, body
 *   httpc.parse(bytes, opts) -> status, headers, body   (tests, fuzzing)
 *
 * opts: timeout_ms (the one deadline for connecting, sending and reading),
 * max_body (bytes), head (a response to HEAD has no body), step (parse only:
 * feed the bytes this many at a time, as reads would). headers is a table of
 * lower-case names; a repeated header's values are joined with ", ".
 * A failure is nil, message, errno name: ETIMEDOUT past the deadline,
 * ECONNREFUSED..., EPROTO for a malformed response, EMSGSIZE for one over
 * the limits, EHOSTUNREACH for a name that does not resolve.
 *
 * One request per connection (Connection: close): health checks and
 * rewrite tests need no keep-alive. The socket is non-blocking and every
 * wait is a poll() bounded by what is left of the deadline, so a server that
 * accepts and never answers, or answers a byte a second, costs timeout_ms at
 * most. Name resolution (getaddrinfo) is not under the deadline: a numeric
 * address, the usual case, needs none.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>

#include "binding_fail.h"
#include "host.h"
#include "http_parse.h"

#define BOX "ccchef.httpc.box"
#define READ_SIZE 16384

/* The socket and the buffer, owned by a userdata so an error raised while
 * the results are pushed leaks neither (__gc closes what is left). */
struct box {
	int fd;
	char *buf;
	size_t len, cap;
};

static int box_gc(lua_State *L)
{
	struct box *b = luaL_checkudata(L, 1, BOX);
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
	free(b->buf);
	b->buf = NULL;
	return 0;
}

static struct box *box_new(lua_State *L, size_t cap)
{
	struct box *b = lua_newuserdatauv(L, sizeof *b, 0);
	b->fd = -1;
	b->buf = NULL;
	b->len = b->cap = 0;
	luaL_setmetatable(L, BOX);
	b->buf = malloc(cap ? cap : 1);
	if (b->buf == NULL)
		luaL_error(L, "out of memory for an HTTP response buffer");
	b->cap = cap;
	return b;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until the deadline: 0, or -ETIMEDOUT / -errno. A
 * signal (SIGTERM asks the run to stop after this resource) only shortens
 * one wait. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = { .fd = fd, .events = events };
		int n = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

/* A connected non-blocking socket to one of the addresses, or -errno. */
static int connect_any(const struct addrinfo *list, int64_t deadline)
{
	int err = -ECONNREFUSED;
	for (const struct addrinfo *a = list; a; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
				a->ai_protocol);
		if (fd < 0) {
			err = -errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			return fd;
		err = -errno;
		if (errno == EINPROGRESS) {
			err = wait_fd(fd, POLLOUT, deadline);
			if (err == 0) {
				int so = 0;
				socklen_t sl = sizeof so;
				if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl) != 0)
					so = errno;
				if (so == 0)
					return fd;
				err = -so;
			}
		}
		close(fd);
		if (err == -ETIMEDOUT)
			break;
	}
	return err;
}

static int send_all(int fd, const char *p, size_t n, int64_t deadline)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		int rc = wait_fd(fd, POLLOUT, deadline);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Read and parse until the response is complete: HTTP_DONE or -errno. */
static int read_response(struct box *b, struct http_response *r, int64_t deadline)
{
	for (;;) {
		if (b->cap - b->len < READ_SIZE) { /* cannot happen within the bound */
			r->error = "response over the buffer bound";
			return -EMSGSIZE;
		}
		ssize_t n = recv(b->fd, b->buf + b->len, READ_SIZE, 0);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return -errno;
			int rc = wait_fd(b->fd, POLLIN, deadline);
			if (rc < 0)
				return rc;
			continue;
		}
		b->len += (size_t)n;
		int rc = http_parse(r, b->buf, &b->len, n == 0);
		if (rc != HTTP_MORE)
			return rc;
	}
}

/* status, headers, body of a parsed response on the stack: 3 results. */
static int push_response(lua_State *L, const struct http_response *r, const char *buf)
{
	lua_pushinteger(L, r->status);
	lua_createtable(L, 0, (int)r->n_headers);
	for (size_t i = 0; i < r->n_headers; i++) {
		const struct http_header *h = &r->headers[i];
		lua_pushlstring(L, buf + h->name, h->name_len);
		lua_pushvalue(L, -1);
		if (lua_rawget(L, -3) == LUA_TSTRING) {
			lua_pushliteral(L, ", ");
			lua_pushlstring(L, buf + h->value, h->value_len);
			lua_concat(L, 3);
		} else {
			lua_pop(L, 1);
			lua_pushlstring(L, buf + h->value, h->value_len);
		}
		lua_rawset(L, -3);
	}
	lua_pushlstring(L, buf + r->body, r->body_len);
	return 3;
}

static int parse_fail(lua_State *L, int rc, const struct http_response *r, const char *what)
{
	int err = -rc;
	if (err == EPROTO || err == EMSGSIZE)
		return binding_failf(L, err, "%s: %s", what, r && r->error ? r->error : "malformed response");
	if (err == ETIMEDOUT)
		return binding_failf(L, err, "%s: no complete answer within the timeout", what);
	return binding_fail_sys(L, what, err);
}

struct opts {
	lua_Integer timeout_ms, max_body, step;
	int head;
};

static struct opts read_opts(lua_State *L, int idx)
{
	struct opts o = { .timeout_ms = 10000, .max_body = 1 << 20, .step = 0, .head = 0 };
	if (lua_isnoneornil(L, idx))
		return o;
	luaL_checktype(L, idx, LUA_TTABLE);
	if (lua_getfield(L, idx, "timeout_ms") != LUA_TNIL)
		o.timeout_ms = luaL_checkinteger(L, -1);
	if (lua_getfield(L, idx, "max_body") != LUA_TNIL)
		o.max_body = luaL_checkinteger(L, -1);
	if (lua_getfield(L, idx, "step") != LUA_TNIL)
		o.step = luaL_checkinteger(L, -1);
	lua_getfield(L, idx, "head");
	o.head = lua_toboolean(L, -1);
	lua_pop(L, 4);
	luaL_argcheck(L, o.timeout_ms > 0, idx, "timeout_ms must be positive");
	luaL_argcheck(L, o.max_body >= 0, idx, "max_body must not be negative");
	luaL_argcheck(L, o.step >= 0, idx, "step must not be negative");
	return o;
}

static int lhttpc_request(lua_State *L)
{
	const char *host = luaL_checkstring(L, 1);
	lua_Integer port = luaL_checkinteger(L, 2);
	size_t req_len;
	const char *req = luaL_checklstring(L, 3, &req_len);
	struct opts o = read_opts(L, 4);
	luaL_argcheck(L, port > 0 && port < 65536, 2, "port out of range");
	struct box *b = box_new(L, http_buffer_bound((size_t)o.max_body, READ_SIZE));
	const char *what = lua_pushfstring(L, strchr(host, ':') ? "http://[%s]:%d" : "http://%s:%d",
					   host, (int)port);
	int64_t deadline = now_ms() + o.timeout_ms;

	char service[8];
	snprintf(service, sizeof service, "%d", (int)port);
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV };
	struct addrinfo *list = NULL;
	int gai = getaddrinfo(host, service, &hints, &list);
	if (gai != 0)
		return binding_failf(L, EHOSTUNREACH, "%s: cannot resolve %s: %s", what, host,
				     gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
	int rc = connect_any(list, deadline);
	freeaddrinfo(list);
	if (rc < 0)
		return rc == -ETIMEDOUT
			? binding_failf(L, ETIMEDOUT, "%s: no connection within the timeout", what)
			: binding_fail_sys(L, what, -rc);
	b->fd = rc;
	if ((rc = send_all(b->fd, req, req_len, deadline)) < 0)
		return parse_fail(L, rc, NULL, what);
	struct http_response *r = lua_newuserdatauv(L, sizeof *r, 0);
	http_response_init(r, o.head, (size_t)o.max_body);
	rc = read_response(b, r, deadline);
	close(b->fd);
	b->fd = -1;
	if (rc < 0)
		return parse_fail(L, rc, r, what);
	return push_response(L, r, b->buf);
}

/* The parser alone on bytes given whole or `step` at a time: what the
 * fuzz target and the unit tests drive. */
static int lhttpc_parse(lua_State *L)
{
	size_t n;
	const char *bytes = luaL_checklstring(L, 1, &n);
	struct opts o = read_opts(L, 2);
	struct box *b = box_new(L, n);
	struct http_response *r = lua_newuserdatauv(L, sizeof *r, 0);
	http_response_init(r, o.head, (size_t)o.max_body);
	size_t step = o.step > 0 ? (size_t)o.step : n;
	size_t fed = 0;
	int rc = HTTP_MORE;
	while (rc == HTTP_MORE) {
		size_t take = n - fed < step ? n - fed : step;
		memcpy(b->buf + b->len, bytes + fed, take);
		b->len += take;
		fed += take;
		rc = http_parse(r, b->buf, &b->len, fed == n && take == 0);
		if (take == 0 && rc == HTTP_MORE) /* eof must settle it */
			return luaL_error(L, "http_parse: more bytes asked for after eof");
	}
	if (rc < 0)
		return parse_fail(L, rc, r, "response");
	return push_response(L, r, b->buf);
}

int luaopen_ccchef_httpc(lua_State *L)
{
	static const luaL_Reg box_meta[] = {
		{"__gc", box_gc},
		{"__close", box_gc},
		{NULL, NULL},
	};
	luaL_newmetatable(L, BOX);
	luaL_setfuncs(L, box_meta, 0);
	lua_pop(L, 1);
	static const luaL_Reg funcs[] = {
		{"request", lhttpc_request},
		{"parse", lhttpc_parse},
		{NULL, NULL},
	};
	luaL_newlib(L, funcs);
	return 1;
}
