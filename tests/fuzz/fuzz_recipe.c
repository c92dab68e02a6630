/* fuzz_recipe.c: the recipe loader. The input is a recipe file, compiled
 * (ccchef.compile: the DSL, resource declarations, property checks,
 * notifications) as `ccchef apply -n` would before converging. Oracle:
 * compile returns a run or raises an input error (ccchef.errors, kind
 * "input", exit 2), never anything else (an internal error, exit 70). */
#include "fuzz_lua.h"

static const struct fuzz_target target = {
	.name = "recipe",
	.snippet =
		"local input, dir = ...\n"
		"local errors = require('ccchef.errors')\n"
		"local compile = require('ccchef.compile')\n"
		"local path = dir .. '/recipe.lua'\n"
		"local f = assert(io.open(path, 'wb'))\n"
		"f:write(input)\n"
		"f:close()\n"
		"local opts = { why_run = true, node = { hostname = 'fuzz', platform = 'debian' },\n"
		"  reporter = { print = function() end } }\n"
		"local ok, err = pcall(compile.compile, opts, { path })\n"
		"os.remove(path)\n"
		"if ok then\n"
		"  if type(err) ~= 'table' or type(err.collection) ~= 'table' then\n"
		"    error('compile returned no run', 0)\n"
		"  end\n"
		"elseif not errors.is(err) or err.kind ~= 'input' or type(err.message) ~= 'string' then\n"
		"  error('not an input error: ' .. tostring(err), 0)\n"
		"else\n"
		"  errors.format(err)\n"
		"end\n",
	.max_instructions = 2000000,
	.max_bytes = 64 << 20,
};

FUZZ_LUA_ENTRY(target)
