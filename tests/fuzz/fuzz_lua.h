/* fuzz_lua.h: what the fuzz targets share. Each target is a Lua snippet run
 * on the fuzz input in a fresh ccchef Lua state (the one the binary builds,
 * with the embedded modules), so one input cannot change what the next one
 * sees. The snippet calls the code under test and raises only when an
 * oracle fails (an internal error where an input error was due, a result of
 * the wrong type, a path outside the extraction directory...): that, a
 * sanitizer report or a C crash is a finding, and the harness aborts so the
 * fuzzer keeps the input. */
#ifndef CCCHEF_FUZZ_LUA_H
#define CCCHEF_FUZZ_LUA_H

#include <stddef.h>
#include <stdint.h>

struct fuzz_target {
	const char *name;
	/* Lua chunk called as chunk(input, workdir). */
	const char *snippet;
	/* Bounds of one execution, so the fuzzer explores instead of waiting:
	 * past them the input is dropped as "too costly", not a finding. */
	long max_instructions;
	size_t max_bytes;
};

/* Runs the target on one input, the snippet's second argument being
 * fuzz_workdir() (or dir); returns 0, or aborts on a finding. */
int fuzz_lua_run(const struct fuzz_target *t, const uint8_t *data, size_t size);
int fuzz_lua_run_in(const struct fuzz_target *t, const uint8_t *data, size_t size,
	const char *dir);

/* The libFuzzer entry point of a target that is only a Lua snippet: a macro
 * because each target executable defines the symbol itself (fuzz_bundle.c
 * has its own, so fuzz_lua.c cannot). */
#define FUZZ_LUA_ENTRY(target) \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size); \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) \
	{ \
		return fuzz_lua_run(&(target), data, size); \
	}

/* Reports a finding (what the oracle saw) and aborts. */
void fuzz_finding(const struct fuzz_target *t, const char *what);

/* A private directory for this process (created on first use, removed at
 * exit), and an empty directory inside it for one execution's files. */
const char *fuzz_workdir(void);
/* Removes everything below path without following symbolic links; returns
 * 0 or -1. */
int fuzz_remove_tree(const char *path);

#endif
