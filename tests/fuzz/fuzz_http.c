/* fuzz_http.c: the HTTP response parser (src/http_parse.c through
 * httpc.parse), which reads whatever a health-checked server sends. Oracle:
 * a response parses to status, headers and body or fails with nil, message
 * and EPROTO or EMSGSIZE, never raises; fed whole, a byte at a time or in
 * slices of 2 to 17 bytes (as reads would cut it) the answer is the same;
 * the body is never longer than max_body; the status is 200-999 (1xx are
 * skipped); every header name is lower-case token characters. The same
 * bytes are also parsed as the answer to a HEAD (no body). */
#include "fuzz_lua.h"

static const struct fuzz_target target = {
	.name = "http",
	.snippet =
		"local input = ...\n"
		"local httpc = require('ccchef.httpc')\n"
		"local function same(a, b)\n"
		"  if a[1] ~= b[1] or a[3] ~= b[3] then return false end\n"
		"  if type(a[2]) == 'table' then\n"
		"    for k, v in pairs(a[2]) do if b[2][k] ~= v then return false end end\n"
		"    for k in pairs(b[2]) do if a[2][k] == nil then return false end end\n"
		"  elseif a[2] ~= b[2] then return false end\n"
		"  return true\n"
		"end\n"
		"local step = 2 + #input % 16\n"
		"for _, head in ipairs({ false, true }) do\n"
		"  local max_body = 64 + #input % 512\n"
		"  local whole = table.pack(httpc.parse(input, { head = head, max_body = max_body }))\n"
		"  for _, s in ipairs({ 1, step }) do\n"
		"    local sliced = table.pack(httpc.parse(input, { head = head, max_body = max_body, step = s }))\n"
		"    if not same(whole, sliced) then\n"
		"      error('whole and sliced by ' .. s .. ' differ: ' .. tostring(whole[1]) .. '/' .. tostring(sliced[1])\n"
		"        .. ' ' .. tostring(whole[3]) .. '/' .. tostring(sliced[3]), 0)\n"
		"    end\n"
		"  end\n"
		"  local status, headers, body = whole[1], whole[2], whole[3]\n"
		"  if status == nil then\n"
		"    if type(headers) ~= 'string' or (body ~= 'EPROTO' and body ~= 'EMSGSIZE') then\n"
		"      error('bad failure: ' .. tostring(headers) .. ' ' .. tostring(body), 0)\n"
		"    end\n"
		"  else\n"
		"    if math.type(status) ~= 'integer' or status < 200 or status > 999 then\n"
		"      error('bad status ' .. tostring(status), 0)\n"
		"    end\n"
		"    if type(body) ~= 'string' or #body > max_body then error('body over max_body', 0) end\n"
		"    if head and body ~= '' then error('a HEAD answer with a body', 0) end\n"
		"    for k, v in pairs(headers) do\n"
		"      if not k:match(\"^[%l%d!#$%%&'*+.^_`|~-]+$\") or type(v) ~= 'string' then\n"
		"        error('bad header name ' .. k, 0)\n"
		"      end\n"
		"      if v:find('[\\r\\n%z]') then error('CR, LF or NUL in a header value', 0) end\n"
		"    end\n"
		"  end\n"
		"end\n",
	.max_instructions = 2000000,
	.max_bytes = 64 << 20,
};

FUZZ_LUA_ENTRY(target)
