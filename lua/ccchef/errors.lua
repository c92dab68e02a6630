-- ccchef.errors: errors as tables with fields (kind, message, file, line,
-- resource, output), so reporters format them and tests match fields.
-- kind "input" is the user's mistake (exit 2); "converge" is the world
-- refusing a change (exit 1); "internal" is a bug in ccchef's own code
-- (exit 70, with the traceback of where it happened: M.classify).
local M = {}

local Error = {}
Error.__index = Error

function Error:__tostring()
  return M.format(self)
end

function M.new(kind, message, fields)
  local e = setmetatable(fields or {}, Error)
  e.kind = kind
  e.message = message
  return e
end

function M.raise(kind, message, fields)
  error(M.new(kind, message, fields), 0)
end

function M.input(message, fields)
  M.raise("input", message, fields)
end

function M.converge(message, fields)
  M.raise("converge", message, fields)
end

function M.is(e)
  return getmetatable(e) == Error
end

-- The message handler units run under (xpcall): an error table is the
-- user's or the world's and is returned as it is; anything else (a string
-- Lua raised inside ccchef's own code: "attempt to index a nil value") is
-- a bug, an "internal" error that keeps the traceback of where it was
-- raised. User code (recipes, lazy values, guards, custom actions,
-- templates) runs under its own pcall that turns its errors into input or
-- converge errors, so they never reach this handler as strings.
function M.classify(e)
  if getmetatable(e) == Error then return e end
  local msg = M.text(e)
  return M.new("internal", msg, { traceback = debug.traceback(msg, 2) })
end

-- The text of an error value without running user code: tostring of a
-- table a recipe raised would call its __tostring, outside the sandbox's
-- instruction budget (an endless one would hang the run).
function M.text(e)
  local t = type(e)
  if t == "string" then return e end
  if t == "number" or t == "boolean" or t == "nil" then return tostring(e) end
  if M.is(e) then return M.format(e) end
  return string.format("(an error value that is a %s, not a message)", t)
end

-- Files of the kitchen loaded as Lua chunks ("@cookbooks/x/recipes/a.lua"),
-- so that a location Lua shortened to "...<last 56 characters>:12:" (its
-- LUA_IDSIZE limit on chunk names in messages) is shown whole again.
local chunks = {}
function M.register_chunk(path)
  chunks[#chunks + 1] = path
end

function M.full_name(file)
  if file:sub(1, 3) ~= "..." then return file end
  local tail = file:sub(4)
  for i = #chunks, 1, -1 do
    local p = chunks[i]
    if #p >= #tail and p:sub(-#tail) == tail then return p end
  end
  return file
end

-- Turn anything pcall caught around user code into an error table. A
-- string from a recipe ("web.lua:3: attempt to call a nil value") keeps
-- its location. (A string from ccchef's own modules never gets here: units
-- run under M.classify, which makes it an internal error.)
function M.wrap(e, kind)
  if M.is(e) then return e end
  local msg = M.text(e)
  -- "...ong/path.lua:12: attempt to ..." from a recipe's or a custom
  -- resource's code: the whole kitchen-relative path again.
  local file, rest = msg:match("^(%.%.%.[^:]*)(:%d+: .*)$")
  if file then msg = M.full_name(file) .. rest end
  return M.new(kind or "input", msg)
end

-- An error string Lua raised while loading or running a recipe, "web.lua:3:
-- attempt to ...", as an error table whose file and line are fields, so the
-- JSON error event carries them like every other error. `what` prefixes the
-- message ("syntax error"). Strings without a location keep their text.
function M.from_lua(msg, kind, what)
  if M.is(msg) then return msg end
  if type(msg) ~= "string" and type(msg) ~= "number" then
    return M.new(kind, string.format("the recipe raised an error that is a %s, not a message", type(msg)))
  end
  msg = tostring(msg)
  local file, line, rest = msg:match("^(.-):(%d+): (.*)$")
  local prefix = what and (what .. ": ") or ""
  if not file then return M.new(kind, prefix .. msg) end
  return M.new(kind, prefix .. rest, { file = M.full_name(file), line = tonumber(line) })
end

-- The one-line failure of a composite: the inner resource's error and the
-- first lines of its output (Apache's own message from a configtest), so
-- the stderr line says why without the report on stdout. Capped: the
-- whole output is in the inner resource's event.
local OUTPUT_LINES, OUTPUT_CHARS = 4, 600

function M.inner_failure(ref, ev)
  local text = string.format("%s failed inside it", ref)
  if not ev then return text end
  if ev.file then text = text .. string.format(" (%s:%s)", ev.file, tostring(ev.line)) end
  if ev.error then text = text .. ": " .. ev.error end
  if ev.output and ev.output ~= "" then
    local lines = {}
    for line in ev.output:gmatch("[^\n]+") do
      line = line:match("^%s*(.-)%s*$")
      if line ~= "" then lines[#lines + 1] = line end
      if #lines == OUTPUT_LINES then break end
    end
    local out = table.concat(lines, " ")
    if #out > OUTPUT_CHARS then out = out:sub(1, OUTPUT_CHARS) .. "..." end
    if out ~= "" then text = text .. " (output: " .. out .. ")" end
  end
  return text
end

-- "web.lua:12: file[/etc/motd]: unknown property 'contnet'"
function M.format(e)
  local parts = {}
  if e.file then
    parts[#parts + 1] = e.line and (e.file .. ":" .. e.line) or e.file
  end
  if e.resource then parts[#parts + 1] = e.resource end
  parts[#parts + 1] = e.message
  return table.concat(parts, ": ")
end

return M
