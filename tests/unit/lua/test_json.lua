-- The JSON decoder: strict (RFC 8259), bounded nesting, linear time.
local json = require("ccchef.json")

local function rejects(text, want, what)
  local v, err = json.decode(text)
  eq(v, nil, what or text)
  ok(err and err:find(want, 1, true), tostring(text) .. " -> " .. tostring(err))
end

test("accepts what RFC 8259 allows", function()
  local v = json.decode(' \t\r\n{"a": [1, -0, 2.5e3, -1.25E-2, 0.5], "b": "\\"\\\\\\/\\b\\f\\n\\r\\t", "c": true} ')
  eq(v.a[1], 1); eq(math.type(v.a[1]), "integer"); eq(v.a[3], 2500.0); eq(v.a[4], -0.0125)
  eq(v.b, '"\\/\b\f\n\r\t'); eq(v.c, true)
  eq(json.decode('"\\u00e9\\uD83D\\uDE00"'), "\u{e9}\u{1F600}")
  eq(json.decode('"\\u0000"'), "\0") -- a NUL is a valid string character
  eq(json.decode('"\127"'), "\127") -- DEL need not be escaped
  eq(json.decode("\xEF\xBB\xBF[1]")[1], 1) -- a byte order mark is ignored
  eq(json.decode("123456789012"), 123456789012)
end)

test("raw control characters in strings are refused", function()
  for c = 0, 31 do
    rejects('"a' .. string.char(c) .. 'b"', string.format("control character U+%04X", c))
  end
  rejects('{"k\n": 1}', "control character U+000A")
end)

test("invalid escapes and surrogates are refused", function()
  rejects('"\\x41"', "invalid escape '\\x'")
  rejects('"\\u12G4"', "bad \\u escape")
  rejects('"\\u 123"', "bad \\u escape")
  rejects('"\\u-123"', "bad \\u escape")
  rejects('"\\', "invalid escape")
  rejects('"\\uD800"', "unpaired high surrogate")
  rejects('"\\uD800\\u0041"', "unpaired high surrogate")
  rejects('"\\uDC00"', "unpaired low surrogate")
end)

test("the text must be UTF-8", function()
  rejects('"caf\xe9"', "invalid UTF-8 at byte 5")
  rejects('"\xed\xa0\x80"', "invalid UTF-8") -- an encoded surrogate
  rejects('"\xc0\xaf"', "invalid UTF-8") -- an overlong form
end)

test("numbers follow the grammar", function()
  for _, bad in ipairs({ "01", "-01", "1.", ".5", "+1", "1e", "1e+", "-", "0x10", "1.e3", "Infinity", "NaN" }) do
    local v, err = json.decode(bad)
    eq(v, nil, bad)
    ok(err, bad)
  end
  rejects("1e400", "number out of range")
  eq(json.decode("-0.0"), -0.0)
end)

test("trailing data, empty input and bad literals are refused", function()
  rejects('{"a": 1} x', "trailing data")
  rejects("[1] [2]", "trailing data")
  rejects("", "unexpected end of input")
  rejects("   ", "unexpected end of input")
  rejects("[1,]", "unexpected character ']'")
  rejects('{"a":1,}', "expected a string key")
  rejects("tru", "unexpected character 't'")
  rejects("nulls", "trailing data")
  rejects("[1 2]", "expected ',' or ']'")
  rejects('{"a" 1}', "expected ':'")
end)

test("a key given twice is an error", function()
  rejects('{"a": 1, "a": 2}', 'duplicate key "a"')
  rejects('{"a": null, "a": 2}', 'duplicate key "a"')
  eq(json.decode('{"a": {"b": 1}, "b": {"b": 2}}').b.b, 2) -- same key, other objects
end)

test("errors give the line", function()
  rejects('{\n"a": 1,\n"b": }', "line 3: unexpected character '}'")
end)

test("nesting is bounded", function()
  local depth = json.MAX_DEPTH
  eq(#json.decode(string.rep("[", depth) .. string.rep("]", depth)), 1)
  rejects(string.rep("[", depth + 1) .. string.rep("]", depth + 1), "nested deeper than " .. depth .. " levels")
  -- What is decoded can be encoded again.
  local v = json.decode(string.rep("[", depth) .. string.rep("]", depth))
  eq(json.encode(v), string.rep("[", depth - 1) .. "{}" .. string.rep("]", depth - 1))
end)

test("a hostile nesting costs time linear in its size", function()
  -- 100,000 levels: refused after reading 257 bytes, whatever follows.
  local text = string.rep('{"a":', 100000) .. "1" .. string.rep("}", 100000)
  local before = collectgarbage("count")
  rejects(text, "nested deeper than")
  ok(collectgarbage("count") - before < 10 * 1024, "bounded memory")
  rejects(string.rep("[", 1e6), "nested deeper than")
end)

test("attribute files: an object, text keys, bounded depth", function()
  local v, err = json.decode_attributes('{"web": {"port": 80}}')
  eq(v.web.port, 80); eq(err, nil)
  v, err = json.decode_attributes("[1, 2]")
  eq(v, nil); eq(err, "the top level must be a JSON object")
  v, err = json.decode_attributes("\xEF\xBB\xBF []")
  eq(v, nil); eq(err, "the top level must be a JSON object")
  v, err = json.decode_attributes('{"a\\u0000b": 1}')
  eq(v, nil); ok(err:find('attribute name "a\\0b" contains control character U+0000', 1, true), err)
  v, err = json.decode_attributes('{"x": {"tab\\there": 1}}')
  eq(v, nil); ok(err:find("U+0009", 1, true), err)
  eq(json.decode_attributes('{"a": ["\\u0000"]}').a[1], "\0") -- values may hold any text
  local d = json.ATTRIBUTES_DEPTH
  ok(json.decode_attributes(string.rep('{"a":', d) .. "1" .. string.rep("}", d)), "at the bound")
  v, err = json.decode_attributes(string.rep('{"a":', d + 1) .. "1" .. string.rep("}", d + 1))
  eq(v, nil); ok(err:find("nested deeper than " .. d .. " levels", 1, true), err)
  ok(d < json.MAX_DEPTH, "room to wrap attributes in a runner's spec")
end)

test("round trip of random values", function()
  math.randomseed(7)
  local function gen(depth)
    local r = math.random(depth > 4 and 4 or 6)
    if r == 1 then return math.random(-1000, 1000) end
    if r == 2 then
      local t = {}
      for i = 1, math.random(0, 8) do t[i] = string.char(math.random(0, 127)) end
      return table.concat(t)
    end
    if r == 3 then return math.random(2) == 1 end
    if r == 4 then return "\u{e9}\u{1F600}" .. math.random(9) end
    if r == 5 then
      local t = {}
      for i = 1, math.random(1, 4) do t[i] = gen(depth + 1) end
      return t
    end
    local t = {}
    for i = 1, math.random(0, 4) do t["k" .. i] = gen(depth + 1) end
    return t
  end
  local function same(a, b)
    if type(a) ~= type(b) then return false end
    if type(a) ~= "table" then return a == b end
    for k, v in pairs(a) do if not same(v, b[k]) then return false end end
    for k in pairs(b) do if a[k] == nil then return false end end
    return true
  end
  for i = 1, 300 do
    local v = gen(0)
    local text = json.encode(v)
    local back, err = json.decode(text)
    ok(same(v, back), i .. ": " .. text .. " " .. tostring(err))
  end
end)
