/*
 * lua_ns.c: the ccchef.ns module: a command run in private Linux
 * namespaces, so that a candidate configuration can be tried at its real
 * paths and on its real ports without anything live changing
 * (docs/apache.md, "Staging"). Needs root (CAP_SYS_ADMIN).
 *
 *   ns.spawn{ argv = {...}, env = { K = V }, binds = { {SRC, DST}, ... },
 *             net = bool, output = PATH } -> pid [, netfd] | nil, msg, name
 *       forks a child that enters a new mount namespace (every mount in
 *       it private: nothing propagates back to the machine), bind-mounts
 *       each SRC over DST in order (recursively: a shadow directory with
 *       directories bound inside it carries them along), with net a new
 *       network namespace whose loopback is up (its own 127.0.0.1 and
 *       ports, so a private server can listen where the live one does),
 *       then executes argv with env added, stdout and stderr to OUTPUT
 *       (created, mode 0600, never through a link), stdin /dev/null. A
 *       failed step is reported by the parent, not by the child's exit
 *       code. With net, netfd names the child's network namespace (for
 *       ns.request); close it with ns.close.
 *   ns.wait(pid, timeout_ms) -> status, signal | nil (still running)
 *   ns.kill(pid, signal_number) -> true | nil, msg, name
 *   ns.close(fd)
 *   ns.within(netfd, fn, ...) -> fn(...)
 *       calls fn with this thread in the network namespace netfd (so the
 *       sockets fn makes, e.g. ccchef.http's, are that namespace's), and
 *       always returns to its own; fn's error is raised again.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>

#include "binding_fail.h"
#include "host.h"

#define MAX_ARGS 64
#define MAX_BINDS 256
#define MAX_ENV 64

struct spawn_spec {
	const char *argv[MAX_ARGS + 1];
	const char *env_key[MAX_ENV];
	const char *env_val[MAX_ENV];
	int nenv;
	const char *bind_src[MAX_BINDS];
	const char *bind_dst[MAX_BINDS];
	int nbinds;
	int net;
};

/* Child side: report "what: error" on the status pipe and exit. Only
 * async-signal-safe calls after fork. */
static void child_fail(int fd, const char *what, const char *arg, int err)
{
	char msg[512];
	int n = snprintf(msg, sizeof msg, "%s%s%s: %s", what, arg ? " " : "", arg ? arg : "", strerror(err));
	if (n > 0 && write(fd, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1) < 0) {
		/* nothing more to say */
	}
	_exit(127);
}

static int loopback_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	memcpy(ifr.ifr_name, "lo", 3);
	int r = ioctl(s, SIOCGIFFLAGS, &ifr);
	if (r == 0) {
		ifr.ifr_flags |= IFF_UP;
		r = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	int e = errno;
	close(s);
	errno = e;
	return r;
}

static void child(const struct spawn_spec *sp, int status_fd, int out_fd)
{
	/* The private server must not outlive the run that started it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (unshare(CLONE_NEWNS | (sp->net ? CLONE_NEWNET : 0)) != 0)
		child_fail(status_fd, "unshare", NULL, errno);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		child_fail(status_fd, "make / private", NULL, errno);
	for (int i = 0; i < sp->nbinds; i++)
		if (mount(sp->bind_src[i], sp->bind_dst[i], NULL, MS_BIND | MS_REC, NULL) != 0)
			child_fail(status_fd, "bind mount over", sp->bind_dst[i], errno);
	if (sp->net && loopback_up() != 0)
		child_fail(status_fd, "loopback up", NULL, errno);
	for (int i = 0; i < sp->nenv; i++)
		if (setenv(sp->env_key[i], sp->env_val[i], 1) != 0)
			child_fail(status_fd, "setenv", sp->env_key[i], errno);
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
		child_fail(status_fd, "redirect output", NULL, errno);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	execvp(sp->argv[0], (char *const *)sp->argv);
	child_fail(status_fd, "exec", sp->argv[0], errno);
}

static void read_spec(lua_State *L, struct spawn_spec *sp)
{
	memset(sp, 0, sizeof *sp);
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_getfield(L, 1, "argv");
	luaL_argcheck(L, lua_istable(L, -1), 1, "argv: a table of strings");
	int n = (int)luaL_len(L, -1);
	luaL_argcheck(L, n >= 1 && n <= MAX_ARGS, 1, "argv: 1 to 64 words");
	for (int i = 1; i <= n; i++) {
		lua_rawgeti(L, -1, i);
		sp->argv[i - 1] = luaL_checkstring(L, -1);
		lua_pop(L, 1); /* the string stays alive in the argv table */
	}
	lua_pop(L, 1);
	lua_getfield(L, 1, "binds");
	if (lua_istable(L, -1)) {
		n = (int)luaL_len(L, -1);
		luaL_argcheck(L, n <= MAX_BINDS, 1, "too many binds");
		for (int i = 1; i <= n; i++) {
			lua_rawgeti(L, -1, i);
			luaL_argcheck(L, lua_istable(L, -1), 1, "binds: { {SRC, DST}, ... }");
			lua_rawgeti(L, -1, 1);
			sp->bind_src[i - 1] = luaL_checkstring(L, -1);
			lua_rawgeti(L, -2, 2);
			sp->bind_dst[i - 1] = luaL_checkstring(L, -1);
			lua_pop(L, 3);
		}
		sp->nbinds = n;
	}
	lua_pop(L, 1);
	lua_getfield(L, 1, "env");
	if (lua_istable(L, -1)) {
		lua_pushnil(L);
		while (lua_next(L, -2)) {
			luaL_argcheck(L, sp->nenv < MAX_ENV, 1, "too many env entries");
			luaL_argcheck(L, lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TSTRING, 1,
				      "env: string keys and values");
			sp->env_key[sp->nenv] = lua_tostring(L, -2);
			sp->env_val[sp->nenv] = lua_tostring(L, -1);
			sp->nenv++;
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 1);
	lua_getfield(L, 1, "net");
	sp->net = lua_toboolean(L, -1);
	lua_pop(L, 1);
}

static int lns_spawn(lua_State *L)
{
	struct spawn_spec sp;
	read_spec(L, &sp);
	lua_getfield(L, 1, "output");
	const char *output = luaL_checkstring(L, -1);
	int out_fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out_fd < 0)
		return binding_fail_sys(L, output, errno);
	int st[2];
	if (pipe2(st, O_CLOEXEC) != 0) {
		int e = errno;
		close(out_fd);
		return binding_fail_sys(L, "pipe", e);
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(out_fd);
		close(st[0]);
		close(st[1]);
		return binding_fail_sys(L, "fork", e);
	}
	if (pid == 0) {
		close(st[0]);
		child(&sp, st[1], out_fd);
	}
	close(st[1]);
	close(out_fd);
	char msg[512];
	ssize_t got;
	do
		got = read(st[0], msg, sizeof msg - 1);
	while (got < 0 && errno == EINTR);
	close(st[0]);
	if (got > 0) {
		msg[got] = '\0';
		int status;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		return binding_failf(L, EPERM, "private namespace: %s", msg);
	}
	lua_pushinteger(L, pid);
	if (!sp.net)
		return 1;
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
	int nfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nfd < 0) {
		int e = errno;
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return binding_failf(L, e, "the private server exited at once (%s: %s)", path, strerror(e));
	}
	lua_pushinteger(L, nfd);
	return 2;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int lns_wait(lua_State *L)
{
	pid_t pid = (pid_t)luaL_checkinteger(L, 1);
	lua_Integer timeout = luaL_optinteger(L, 2, -1);
	long long deadline = now_ms() + timeout;
	for (;;) {
		int status;
		pid_t r = waitpid(pid, &status, timeout < 0 ? 0 : WNOHANG);
		if (r == pid) {
			lua_pushinteger(L, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
			lua_pushinteger(L, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
			return 2;
		}
		if (r < 0 && errno != EINTR)
			return binding_fail_sys(L, "waitpid", errno);
		if (timeout >= 0 && now_ms() >= deadline) {
			lua_pushnil(L);
			return 1;
		}
		/* A short sleep: this waits for a server to stop, not a race. */
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

static int lns_kill(lua_State *L)
{
	pid_t pid = (pid_t)luaL_checkinteger(L, 1);
	int sig = (int)luaL_checkinteger(L, 2);
	luaL_argcheck(L, pid > 0, 1, "a process id");
	if (kill(pid, sig) != 0)
		return binding_fail_sys(L, "kill", errno);
	lua_pushboolean(L, 1);
	return 1;
}

static int lns_close(lua_State *L)
{
	int fd = (int)luaL_checkinteger(L, 1);
	if (fd > 2)
		close(fd);
	return 0;
}

/* within(netfd, fn, ...): fn(...) with this thread in the network
 * namespace netfd, back in its own afterwards whatever fn does; fn's
 * results, or its error raised again. Sockets fn opens belong to netfd's
 * namespace (a socket keeps the namespace it was made in). */
static int lns_within(lua_State *L)
{
	int netfd = (int)luaL_checkinteger(L, 1);
	luaL_checktype(L, 2, LUA_TFUNCTION);
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return binding_fail_sys(L, "/proc/self/ns/net", errno);
	if (setns(netfd, CLONE_NEWNET) != 0) {
		int e = errno;
		close(self);
		return binding_fail_sys(L, "setns", e);
	}
	int base = 1; /* results start above netfd */
	int status = lua_pcall(L, lua_gettop(L) - 2, LUA_MULTRET, 0);
	if (setns(self, CLONE_NEWNET) != 0)
		abort(); /* the rest of the run must not talk from the private namespace */
	close(self);
	if (status != LUA_OK)
		return lua_error(L);
	return lua_gettop(L) - base;
}

int luaopen_ccchef_ns(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"spawn", lns_spawn}, {"wait", lns_wait}, {"kill", lns_kill},
		{"close", lns_close}, {"within", lns_within}, {NULL, NULL},
	};
	luaL_newlib(L, fns);
	return 1;
}
