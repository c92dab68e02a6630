/* fuzz_json.c: the JSON parser (json.decode, json.decode_attributes: -j
 * files, node specs, facts). Oracle: decoding returns a value or nil and a
 * message, never raises; what decodes encodes, and the encoding is stable
 * (decode then encode it again gives the same text); decode_attributes
 * accepts only objects, and only what decode accepts. */
#include "fuzz_lua.h"

static const struct fuzz_target target = {
	.name = "json",
	.snippet =
		"local input = ...\n"
		"local json = require('ccchef.json')\n"
		"local v, err = json.decode(input)\n"
		"if err ~= nil then\n"
		"  if v ~= nil or type(err) ~= 'string' or not err:find('^line %d+: ') then\n"
		"    error('bad failure result: ' .. tostring(err), 0)\n"
		"  end\n"
		"else\n"
		"  local e1 = json.encode(v)\n"
		"  local v2, err2 = json.decode(e1)\n"
		"  if err2 then error('encode gave undecodable ' .. e1 .. ': ' .. err2, 0) end\n"
		"  local e2 = json.encode(v2)\n"
		"  local e3 = json.encode((json.decode(e2)))\n"
		"  if e2 ~= e3 then error('encoding not stable: ' .. e2 .. ' / ' .. e3, 0) end\n"
		"end\n"
		"local a, aerr = json.decode_attributes(input)\n"
		"if a ~= nil and (type(a) ~= 'table' or err ~= nil) then\n"
		"  error('decode_attributes accepted what decode refused', 0)\n"
		"end\n"
		"if a == nil and type(aerr) ~= 'string' then error('decode_attributes: no message', 0) end\n",
	.max_instructions = 5000000,
	.max_bytes = 64 << 20,
};

FUZZ_LUA_ENTRY(target)
