/*
 * fuzz_lua.c: the shared harness of the fuzz targets (fuzz_lua.h).
 *
 * Two bounds keep one execution finite whatever the input: an instruction
 * count (a count hook; `{% while true do end %}` in a template would
 * otherwise hang the fuzzer until template.lua gets its own time limit)
 * and an allocation cap (an allocator wrapped around Lua's). When either
 * fires, every later hook call raises again, so a loop around pcall cannot
 * swallow it, and the input is dropped, not reported.
 *
 * Under libFuzzer (FUZZ_LIBFUZZER) the same hook also counts which Lua
 * lines follow which, in libFuzzer's extra counters: the code under test is
 * mostly Lua, which the compiler's coverage instrumentation cannot see.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "fuzz_lua.h"
#include "host.h"

struct limits {
	lua_Alloc inner;
	void *inner_ud;
	long long used; /* may go below 0: frees of what host_new allocated */
	size_t max_bytes;
	long instructions, max_instructions;
	int exceeded;
};

static struct limits *limits_of(lua_State *L)
{
	void *ud;
	lua_getallocf(L, &ud);
	return ud;
}

static void *capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct limits *lim = ud;
	size_t old = ptr ? osize : 0;
	if (nsize > old && lim->used + (long long)(nsize - old) > (long long)lim->max_bytes) {
		lim->exceeded = 1;
		return NULL; /* Lua raises "not enough memory" */
	}
	void *p = lim->inner(lim->inner_ud, ptr, osize, nsize);
	if (p != NULL || nsize == 0)
		lim->used += (long long)nsize - (long long)old;
	return p;
}

#define COUNT_STEP 1000

#ifdef FUZZ_LIBFUZZER
#define LINE_COUNTERS 65536
__attribute__((section("__libfuzzer_extra_counters")))
static uint8_t line_counters[LINE_COUNTERS];
static uint32_t prev_line;

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/* A pair (previous line, this line), as the edge coverage of compiled code. */
static void count_line(lua_State *L, lua_Debug *ar)
{
	static const char *last_source;
	static uint32_t last_hash;
	if (!lua_getinfo(L, "S", ar))
		return;
	if (ar->source != last_source) {
		last_source = ar->source;
		last_hash = hash_str(ar->source);
	}
	uint32_t here = last_hash ^ ((uint32_t)ar->currentline * 2654435761u);
	line_counters[(here ^ (prev_line >> 1)) % LINE_COUNTERS]++;
	prev_line = here;
}
#endif

static void hook(lua_State *L, lua_Debug *ar)
{
	struct limits *lim = limits_of(L);
#ifdef FUZZ_LIBFUZZER
	if (ar->event == LUA_HOOKLINE) {
		count_line(L, ar);
		if (!lim->exceeded)
			return;
	}
#endif
	if (ar->event == LUA_HOOKCOUNT && !lim->exceeded) {
		lim->instructions += COUNT_STEP;
		if (lim->instructions <= lim->max_instructions)
			return;
		lim->exceeded = 1;
		/* From now on at every instruction: nothing runs on. */
		lua_sethook(L, hook, LUA_MASKCOUNT | LUA_MASKLINE, 1);
	}
	if (lim->exceeded)
		luaL_error(L, "fuzz: execution bound reached");
}

static char workdir[64];

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) == 0 || errno == ENOENT ? 0 : -1;
	return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* Directories an input made unreadable (mode 000) must still be emptied. */
static int open_up(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_D || flag == FTW_DNR)
		chmod(path, (st->st_mode & 07777) | 0700);
	return 0;
}

int fuzz_remove_tree(const char *path)
{
	nftw(path, open_up, 16, FTW_PHYS);
	return nftw(path, remove_one, 16, FTW_PHYS | FTW_DEPTH);
}

static void remove_workdir(void)
{
	if (workdir[0] != '\0')
		fuzz_remove_tree(workdir);
}

const char *fuzz_workdir(void)
{
	if (workdir[0] == '\0') {
		const char *tmp = getenv("TMPDIR");
		snprintf(workdir, sizeof workdir, "%s/ccchef-fuzz-XXXXXX",
			tmp && strlen(tmp) < 32 ? tmp : "/tmp");
		if (mkdtemp(workdir) == NULL) {
			perror("fuzz: mkdtemp");
			abort();
		}
		atexit(remove_workdir);
	}
	return workdir;
}

void fuzz_finding(const struct fuzz_target *t, const char *what)
{
	fprintf(stderr, "fuzz %s: FINDING: %s\n", t->name, what);
	fflush(stderr);
	abort();
}

int fuzz_lua_run(const struct fuzz_target *t, const uint8_t *data, size_t size)
{
	return fuzz_lua_run_in(t, data, size, fuzz_workdir());
}

int fuzz_lua_run_in(const struct fuzz_target *t, const uint8_t *data, size_t size,
	const char *dir)
{
	struct limits lim = {
		.max_bytes = t->max_bytes, .max_instructions = t->max_instructions,
	};
	/* Code the sandbox runs (recipes, templates, lazy values) replaces the
	 * harness's hook with the sandbox's own budget for its duration: give
	 * that budget the harness's bound. */
	char budget[32];
	snprintf(budget, sizeof budget, "%ld", t->max_instructions);
	setenv("CCCHEF_MAX_INSTRUCTIONS", budget, 1);
	lua_State *L = host_new();
	if (L == NULL)
		fuzz_finding(t, "host_new failed");
	lim.inner = lua_getallocf(L, &lim.inner_ud);
	/* What host_new allocated so far is not counted against the cap. */
	lua_setallocf(L, capped_alloc, &lim);
	int mask = LUA_MASKCOUNT;
#ifdef FUZZ_LIBFUZZER
	mask |= LUA_MASKLINE;
#endif
	lua_sethook(L, hook, mask, COUNT_STEP);
	if (luaL_loadbuffer(L, t->snippet, strlen(t->snippet), t->name) != LUA_OK)
		fuzz_finding(t, lua_tostring(L, -1));
	lua_pushlstring(L, (const char *)data, size);
	lua_pushstring(L, dir);
	if (host_pcall(L, 2, 0) != LUA_OK && !lim.exceeded) {
		const char *msg = lua_tostring(L, -1);
		fuzz_finding(t, msg ? msg : "a non-string error");
	}
	/* lim lives on this stack frame: neither the hook nor the allocator
	 * may see it once lua_close runs the finalizers. */
	lua_sethook(L, NULL, 0, 0);
	lua_setallocf(L, lim.inner, lim.inner_ud);
	lua_close(L);
	return 0;
}
