/* fuzz_template.c: the template engine. The input is a template, compiled
 * and rendered (template.compile, Template:render) with a few variables of
 * each type. Oracle: compile and render return a string or nil and a
 * message; nothing escapes them as an error.
 *
 * Templates run in the sandbox (lua/ccchef/sandbox.lua: no os.execute, no
 * io), under its instruction budget, which the harness sets to its own
 * bound (fuzz_lua.c), so `{% while true do end %}` ends quickly. */
#include "fuzz_lua.h"

static const struct fuzz_target target = {
	.name = "template",
	.snippet =
		"local input = ...\n"
		"local template = require('ccchef.template')\n"
		"local t, err = template.compile(input, 'fuzz.tmpl')\n"
		"if not t then\n"
		"  if type(err) ~= 'string' then error('compile failed without a message', 0) end\n"
		"  return\n"
		"end\n"
		"local vars = { name = 'www', port = 8080, ratio = 0.5, enabled = true,\n"
		"  aliases = { 'a.example', 'b.example' },\n"
		"  node = { fqdn = 'n1.example', web = { root = '/srv/www', ports = { 80, 443 } } } }\n"
		"local text, rerr = t:render(vars)\n"
		"if text == nil then\n"
		"  if type(rerr) ~= 'string' then error('render failed without a message', 0) end\n"
		"elseif type(text) ~= 'string' then\n"
		"  error('render returned a ' .. type(text), 0)\n"
		"end\n",
	.max_instructions = 2000000,
	.max_bytes = 64 << 20,
};

FUZZ_LUA_ENTRY(target)
