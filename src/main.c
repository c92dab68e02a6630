/*
 * main.c: the ccchef and ccchef-runner executables. All work happens in Lua
 * (CLI_MODULE: ccchef.cli, or ccchef.runner for the runner) under one
 * protected call; C here only turns argv into a table and the result into
 * an exit code. CONTROLLER adds what only the controller (`ccchef
 * remote`) needs: the libssh binding. Signals are set up first
 * (proc_signals_init: SIGPIPE ignored; the engine later makes SIGTERM and
 * SIGINT stop the run between two resources; docs/cli.md "Signals").
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <lauxlib.h>

#include "host.h"
#include "proc.h"
#ifndef CONTROLLER
#include "runner_deadline.h"
#endif

#ifndef CLI_MODULE
#define CLI_MODULE "ccchef.cli"
#endif

/* Exit code for a bug in ccchef itself, distinct from 1 (converge failed) and
 * 2 (bad input): sysexits' EX_SOFTWARE. */
#define EXIT_INTERNAL 70

/* A converge allocates its heap in a few milliseconds and exits: page
 * faults were a third of the system time of a no-op run of 10000 files (one
 * fault per 4 KiB, ~9000 of them). For `apply` the heap is grown once by
 * HEAP_RESERVE (address space only) and that part is marked for transparent
 * huge pages, so it is faulted in 2 MiB at a time; large blocks stay in it
 * and it is not trimmed, as the process is short-lived. Only a hint: where
 * THP is off, or malloc is not glibc's (sanitizers, valgrind), nothing
 * changes. */
#define HEAP_RESERVE ((size_t)64 << 20)
#define HUGE_PAGE ((uintptr_t)2 << 20)

static void heap_prepare(void)
{
#if defined(__GLIBC__) && defined(MADV_HUGEPAGE)
	mallopt(M_MMAP_THRESHOLD, (int)(HEAP_RESERVE / 2));
	mallopt(M_TRIM_THRESHOLD, (int)(HEAP_RESERVE * 2));
	mallopt(M_TOP_PAD, (int)HEAP_RESERVE);
	/* Start the heap on a huge-page boundary (address space, not memory),
	 * so that all of it can be mapped in huge pages. */
	uintptr_t cur = (uintptr_t)sbrk(0);
	if (cur != (uintptr_t)-1 && (cur & (HUGE_PAGE - 1)) != 0)
		(void)sbrk((intptr_t)(HUGE_PAGE - (cur & (HUGE_PAGE - 1))));
	uintptr_t before = (uintptr_t)sbrk(0);
	void *p = malloc(HUGE_PAGE); /* grows the heap by HEAP_RESERVE more */
	uintptr_t after = (uintptr_t)sbrk(0);
	uintptr_t start = (before + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	/* Only memory this malloc just took from the kernel for the heap. */
	if (p != NULL && before != (uintptr_t)-1 && after > start + HUGE_PAGE)
		madvise((void *)start, after - start, MADV_HUGEPAGE);
	free(p);
#endif
}

static int pmain(lua_State *L)
{
	int argc = (int)lua_tointeger(L, 1);
	char **argv = lua_touserdata(L, 2);
#ifdef CONTROLLER
	host_preload(L, "ccchef.ssh", luaopen_ccchef_ssh);
#endif
	lua_getglobal(L, "require");
	lua_pushliteral(L, CLI_MODULE);
	lua_call(L, 1, 1);
	lua_getfield(L, -1, "main");
	lua_createtable(L, argc, 0);
	for (int i = 1; i < argc; i++) {
		lua_pushstring(L, argv[i]);
		lua_rawseti(L, -2, i);
	}
	lua_call(L, 1, 1);
	return 1;
}

int main(int argc, char **argv)
{
#ifdef CONTROLLER
	proc_signals_init(0);
#else
	proc_signals_init(1);
	/* --deadline: the rest runs in a child this process watches. */
	runner_deadline(&argc, argv);
#endif
	if (argc > 1 && strcmp(argv[1], "apply") == 0)
		heap_prepare();
	lua_State *L = host_new();
	if (L == NULL) {
		fprintf(stderr, "ccchef: cannot create Lua state (out of memory)\n");
		return EXIT_INTERNAL;
	}
	lua_pushcfunction(L, pmain);
	lua_pushinteger(L, argc);
	lua_pushlightuserdata(L, argv);
	int code = EXIT_INTERNAL;
	if (host_pcall(L, 2, 1) != LUA_OK) {
		const char *msg = lua_tostring(L, -1);
		fprintf(stderr, "ccchef: internal error: %s\n", msg ? msg : "(no message)");
	} else {
		code = (int)luaL_optinteger(L, -1, 0);
	}
	fflush(stdout);
	host_close(L);
	return code;
}
