-- ccchef.json: JSON for events, facts and attribute files. Objects are
-- written with sorted keys so output is stable and diffable.
local M = {}

-- Nesting bounds. The decoder and the encoder accept the same depth, so
-- whatever was decoded can be sent on; attribute files (-j) get less, so a
-- runner's spec can wrap their values in a few more levels.
M.MAX_DEPTH = 256
M.ATTRIBUTES_DEPTH = 200
local ENCODE_DEPTH = M.MAX_DEPTH

local escapes = {
  ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
}

-- JSON text must be UTF-8; a file's content need not be (a diff of a
-- Latin-1 file). Each byte that is not part of valid UTF-8 becomes U+FFFD,
-- so every event line stays parseable.
local function valid_utf8(s)
  if utf8.len(s) then return s end
  local out, i = {}, 1
  while i <= #s do
    local n, bad = utf8.len(s, i)
    if n then
      out[#out + 1] = s:sub(i)
      break
    end
    out[#out + 1] = s:sub(i, bad - 1)
    out[#out + 1] = "\u{FFFD}"
    i = bad + 1
  end
  return table.concat(out)
end

local function encode_string(s)
  return '"' .. valid_utf8(s):gsub('[%c"\\]', function(c)
    return escapes[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function is_array(t)
  local n = #t
  if n == 0 then return next(t) == nil and "empty" or false end
  local count = 0
  for _ in pairs(t) do count = count + 1 end
  return count == n
end

local encode

-- A table marked with M.array encodes as a JSON list even when empty (an
-- empty Lua table is otherwise "{}").
local ARRAY = {}
function M.array(t)
  return setmetatable(t or {}, ARRAY)
end

local function encode_table(t, depth)
  if depth > ENCODE_DEPTH then error("json: nesting too deep (a cycle?)") end
  local kind = is_array(t)
  if kind == "empty" then return getmetatable(t) == ARRAY and "[]" or "{}" end
  local parts = {}
  if kind then
    for i = 1, #t do parts[i] = encode(t[i], depth + 1) end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  local keys = {}
  for k in pairs(t) do
    if type(k) == "string" or type(k) == "number" then keys[#keys + 1] = tostring(k) end
  end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local v = t[k]
    if v == nil then v = t[tonumber(k)] end
    local ev = encode(v, depth + 1)
    if ev then parts[#parts + 1] = encode_string(k) .. ":" .. ev end
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

encode = function(v, depth)
  local t = type(v)
  if t == "nil" then return "null" end
  if t == "boolean" then return tostring(v) end
  if t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return "null" end
    if math.type(v) == "integer" then return tostring(v) end
    return string.format("%.6g", v)
  end
  if t == "string" then return encode_string(v) end
  if t == "table" then return encode_table(v, depth or 0) end
  return nil -- functions and userdata are left out
end

function M.encode(v)
  return encode(v, 0)
end

-- Decoding: a recursive-descent parser, strict to RFC 8259 and linear in
-- the input:
--   * the text must be UTF-8 (a leading byte order mark is ignored, as the
--     RFC allows); control characters below U+0020 must be escaped in
--     strings; escapes are the RFC's eight and \uXXXX, and a surrogate
--     must come in a high-low pair;
--   * numbers follow the RFC's grammar (no leading zeros, no "1.", no
--     "+1") and must be finite;
--   * nothing but whitespace after the value;
--   * a key given twice in one object is an error: which one should win is
--     exactly what a configuration file must not leave to chance;
--   * nesting deeper than opts.max_depth (default MAX_DEPTH) arrays and
--     objects is an error, so a hostile file costs neither stack nor time.
-- A null leaves the key out of its object (an array keeps its place).
-- Returns value, or nil and a message "line N: ...".

local function located(s, i, msg)
  local line = 1
  for _ in s:sub(1, i - 1):gmatch("\n") do line = line + 1 end
  return string.format("line %d: %s", line, msg)
end

local function decode_error(s, i, msg)
  error({ json_error = located(s, i, msg) })
end

local WS = "[^ \t\r\n]"

local function skip(s, i)
  return s:find(WS, i) or #s + 1
end

local simple_escapes = {
  [98] = "\b", [102] = "\f", [110] = "\n", [114] = "\r", [116] = "\t",
  [34] = '"', [92] = "\\", [47] = "/",
}

local function hex4(s, j)
  local hex = s:match("^%x%x%x%x", j)
  if not hex then decode_error(s, j, "bad \\u escape (four hex digits expected)") end
  return tonumber(hex, 16)
end

-- s:sub(i, i) is '"'; returns the string and the index after its quote.
local function decode_string(s, i)
  local out, j = {}, i + 1
  while true do
    local k = s:find('["\\\0-\31]', j)
    if not k then decode_error(s, i, "unterminated string") end
    if k > j then out[#out + 1] = s:sub(j, k - 1) end
    local c = s:byte(k)
    if c == 34 then return table.concat(out), k + 1 end
    if c ~= 92 then
      decode_error(s, k, string.format("control character U+%04X in a string must be escaped", c))
    end
    local e = s:byte(k + 1)
    if simple_escapes[e] then
      out[#out + 1] = simple_escapes[e]
      j = k + 2
    elseif e == 117 then -- \u
      local cp = hex4(s, k + 2)
      j = k + 6
      if cp >= 0xDC00 and cp <= 0xDFFF then
        decode_error(s, k, "unpaired low surrogate \\u" .. string.format("%04X", cp))
      elseif cp >= 0xD800 and cp <= 0xDBFF then
        if s:sub(j, j + 1) ~= "\\u" then
          decode_error(s, k, "unpaired high surrogate \\u" .. string.format("%04X", cp))
        end
        local lo = hex4(s, j + 2)
        if lo < 0xDC00 or lo > 0xDFFF then
          decode_error(s, k, "unpaired high surrogate \\u" .. string.format("%04X", cp))
        end
        cp = 0x10000 + (cp - 0xD800) * 0x400 + (lo - 0xDC00)
        j = j + 6
      end
      out[#out + 1] = utf8.char(cp)
    else
      decode_error(s, k, "invalid escape '\\" .. (e and string.char(e) or "") .. "'")
    end
  end
end

local function decode_number(s, i)
  local int = s:match("^-?%d+", i)
  if not int then decode_error(s, i, "unexpected character '" .. s:sub(i, i) .. "'") end
  if int:match("^-?0%d") then decode_error(s, i, "number with a leading zero") end
  local j = i + #int
  local float = false
  if s:byte(j) == 46 then -- .
    local frac = s:match("^%d+", j + 1)
    if not frac then decode_error(s, i, "digits expected after the decimal point") end
    j = j + 1 + #frac
    float = true
  end
  local e = s:byte(j)
  if e == 101 or e == 69 then -- e E
    local exp = s:match("^[-+]?%d+", j + 1)
    if not exp then decode_error(s, i, "digits expected in the exponent") end
    j = j + 1 + #exp
    float = true
  end
  local text = s:sub(i, j - 1)
  local v = tonumber(text)
  if v == math.huge or v == -math.huge then decode_error(s, i, "number out of range: " .. text) end
  if not float then v = math.tointeger(v) or v end
  return v, j
end

local decode_value

local function decode_object(s, i, depth, opts)
  local obj, seen = {}, {}
  i = skip(s, i + 1)
  if s:byte(i) == 125 then return obj, i + 1 end -- }
  while true do
    if s:byte(i) ~= 34 then decode_error(s, i, "expected a string key") end
    local k
    k, i = decode_string(s, i)
    if seen[k] then decode_error(s, i, string.format("duplicate key %q", k)) end
    seen[k] = true
    if opts.check_key then
      local bad = opts.check_key(k)
      if bad then decode_error(s, i, bad) end
    end
    i = skip(s, i)
    if s:byte(i) ~= 58 then decode_error(s, i, "expected ':'") end -- :
    obj[k], i = decode_value(s, i + 1, depth, opts)
    i = skip(s, i)
    local d = s:byte(i)
    if d == 125 then return obj, i + 1 end
    if d ~= 44 then decode_error(s, i, "expected ',' or '}'") end
    i = skip(s, i + 1)
  end
end

local function decode_array(s, i, depth, opts)
  local arr, n = {}, 0
  i = skip(s, i + 1)
  if s:byte(i) == 93 then return arr, i + 1 end -- ]
  while true do
    -- An explicit index: a null leaves a hole, later items keep their place.
    n = n + 1
    arr[n], i = decode_value(s, i, depth, opts)
    i = skip(s, i)
    local d = s:byte(i)
    if d == 93 then return arr, i + 1 end
    if d ~= 44 then decode_error(s, i, "expected ',' or ']'") end
    i = i + 1
  end
end

decode_value = function(s, i, depth, opts)
  i = skip(s, i)
  local c = s:byte(i)
  if c == nil then decode_error(s, i, "unexpected end of input") end
  if c == 123 or c == 91 then -- { [
    if depth >= opts.max_depth then
      decode_error(s, i, string.format("nested deeper than %d levels", opts.max_depth))
    end
    if c == 123 then return decode_object(s, i, depth + 1, opts) end
    return decode_array(s, i, depth + 1, opts)
  elseif c == 34 then
    return decode_string(s, i)
  elseif s:sub(i, i + 3) == "true" then
    return true, i + 4
  elseif s:sub(i, i + 4) == "false" then
    return false, i + 5
  elseif s:sub(i, i + 3) == "null" then
    return nil, i + 4
  end
  return decode_number(s, i)
end

local default_opts = { max_depth = M.MAX_DEPTH }

-- opts (optional): max_depth; check_key(key) returning a message for a
-- key that must be refused.
function M.decode(s, opts)
  opts = opts or default_opts
  if not opts.max_depth then opts = { max_depth = M.MAX_DEPTH, check_key = opts.check_key } end
  local valid, bad = utf8.len(s)
  if not valid then
    return nil, located(s, bad, string.format("invalid UTF-8 at byte %d", bad))
  end
  local start = s:sub(1, 3) == "\xEF\xBB\xBF" and 4 or 1
  local ok, v, i = pcall(decode_value, s, start, 0, opts)
  if not ok then
    if type(v) == "table" and v.json_error then return nil, v.json_error end
    error(v, 0)
  end
  if skip(s, i) <= #s then
    return nil, located(s, skip(s, i), "trailing data after the JSON value")
  end
  return v
end

-- Attribute names are text: a control character (a NUL, a newline) in one
-- would end up in paths, reports and config files.
local function attribute_key(k)
  local c = k:find("[\0-\31\127]")
  if c then return string.format("attribute name %q contains control character U+%04X", k, k:byte(c)) end
  return nil
end

local attributes_opts = { max_depth = M.ATTRIBUTES_DEPTH, check_key = attribute_key }

-- An attributes file (-j): a JSON object, at most ATTRIBUTES_DEPTH levels
-- deep, whose keys are text. Returns the table, or nil and a message.
function M.decode_attributes(s)
  local v, err = M.decode(s, attributes_opts)
  if err then return nil, err end
  local first = skip(s, s:sub(1, 3) == "\xEF\xBB\xBF" and 4 or 1)
  if s:byte(first) ~= 123 then return nil, "the top level must be a JSON object" end
  return v
end

return M
