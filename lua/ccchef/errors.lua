-- ccchef.errors: errors as tables with fields (kind, message, file, line,
-- resource, output), so reporters format them and tests match fields.
-- kind "input" is the user's mistake (exit 2); "converge" is the world
-- refusing a change (exit 1).
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

-- Turn anything pcall caught into an error table. A string from a recipe
-- ("web.lua:3: attempt to call a nil value") keeps its location; a string
-- from ccchef's own modules is a bug and keeps its traceback.
function M.wrap(e, kind)
  if M.is(e) then return e end
  return M.new(kind or "input", M.text(e))
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
  return M.new(kind, prefix .. rest, { file = file, line = tonumber(line) })
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
