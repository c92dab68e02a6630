-- ccchef.schema: property types and validation for resources. A check takes
-- the user's value and returns the normalised value, or nil and a message
-- that says what was expected.
local util = require("ccchef.util")

local M = {}

local function describe(v)
  local t = type(v)
  if t == "string" then return string.format("string %q", v) end
  if t == "number" or t == "boolean" then return t .. " " .. tostring(v) end
  return t
end
M.describe = describe

-- A check's message without the value it quotes, for sensitive resources:
-- "expected a string, got number 42" -> "expected a string, got a number
-- (value hidden: sensitive)". A message that does not quote the value in
-- that form (a list item, a unit's own check, which may escape it) is
-- replaced whole: better a vague message than a secret in a log.
function M.redact(message, value)
  local shown = describe(value)
  local i, j = message:find(shown, 1, true)
  if i and type(value) ~= "table" and type(value) ~= "function" then
    return message:sub(1, i - 1) .. "a " .. type(value) .. " (value hidden: sensitive)" .. message:sub(j + 1)
  end
  -- "expected a string, got table" quotes nothing of the table.
  if type(value) == "table" and message:match("^expected [^\n]-, got table$") then return message end
  return "the value is not valid (value hidden: sensitive)"
end

local function expect(what, v)
  return nil, string.format("expected %s, got %s", what, describe(v))
end

local checks = {}

function checks.string(v)
  if type(v) ~= "string" then return expect("a string", v) end
  return v
end

function checks.number(v)
  if type(v) ~= "number" then return expect("a number", v) end
  return v
end

function checks.integer(v)
  if math.type(v) ~= "integer" then return expect("an integer", v) end
  return v
end

function checks.boolean(v)
  if type(v) ~= "boolean" then return expect("true or false", v) end
  return v
end

function checks.table(v)
  if type(v) ~= "table" then return expect("a table", v) end
  return v
end

function checks.path(v)
  if type(v) ~= "string" then return expect("an absolute path (string)", v) end
  if not util.is_absolute(v) then
    return nil, string.format("path %q is not absolute (it must start with /)", v)
  end
  -- Strip trailing slashes. Most paths have none: skip the gsub, which tries
  -- the pattern at every position of the string.
  if v:byte(-1) ~= 47 --[[ / ]] then return v end
  return (v:gsub("(.)/+$", "%1"))
end

-- Modes are octal strings: Lua has no octal literals, so mode = 644 would
-- silently mean decimal 644 (= 01204). Refusing numbers avoids that trap.
function checks.mode(v)
  if type(v) == "number" then
    return nil, string.format(
      "mode must be an octal string like \"0644\", got number %s (Lua has no octal numbers)",
      tostring(v))
  end
  local m = util.parse_mode(v)
  if not m then return expect('an octal mode string like "0644"', v) end
  return m
end

-- A user or group: name or numeric id.
function checks.principal(v)
  if type(v) == "string" and v ~= "" then return v end
  if math.type(v) == "integer" and v >= 0 then return v end
  return expect("a user/group name or numeric id", v)
end

-- A string or a list of strings -> list
function checks.strings(v)
  if type(v) == "string" then return { v } end
  if type(v) ~= "table" then return expect("a string or a list of strings", v) end
  local out = {}
  for i, s in ipairs(v) do
    if type(s) ~= "string" then
      return nil, string.format("item %d: expected a string, got %s", i, describe(s))
    end
    out[i] = s
  end
  return out
end

-- A guard: shell command (string) or Lua function.
function checks.guard(v)
  if type(v) == "string" or type(v) == "function" then return v end
  return expect("a shell command (string) or a function", v)
end

-- A revision of a repository: a branch, tag or commit id (git), or a
-- revision number (svn: 1234 or "1234") -> string
function checks.revision(v)
  if math.type(v) == "integer" and v >= 0 then return tostring(v) end
  if type(v) == "string" and v ~= "" then return v end
  return expect("a revision (a branch, tag or commit id, or an svn revision number)", v)
end

-- { K = "V" }
function checks.env(v)
  if type(v) ~= "table" then return expect("a table of NAME = value", v) end
  for k, val in pairs(v) do
    if type(k) ~= "string" then return nil, "environment names must be strings" end
    if type(val) ~= "string" and type(val) ~= "number" then
      return nil, string.format("environment %s: expected a string, got %s", k, describe(val))
    end
  end
  return v
end

-- Integer, or list of integers -> list
function checks.codes(v)
  if math.type(v) == "integer" then return { v } end
  if type(v) ~= "table" then return expect("an exit code or a list of them", v) end
  for i, c in ipairs(v) do
    if math.type(c) ~= "integer" then
      return nil, string.format("item %d: expected an integer exit code, got %s", i, describe(c))
    end
  end
  return v
end

-- Number of backups to keep, or false for none.
function checks.backup(v)
  if v == false then return 0 end
  if math.type(v) == "integer" and v >= 0 then return v end
  return expect("a number of backups to keep, or false", v)
end

-- "restart" or {"enable", "start"} -> list
function checks.actions(v)
  return checks.strings(v)
end

-- notifies/subscribes: { "reload", "service[apache2]" [, "immediately"] }
-- or a list of those -> list of { action=, ref=, timing= }
function checks.notifications(v)
  if type(v) ~= "table" then
    return expect('{ "action", "type[name]" } or a list of them', v)
  end
  local list = type(v[1]) == "string" and { v } or v
  local out = {}
  for i, n in ipairs(list) do
    if type(n) ~= "table" or type(n[1]) ~= "string" or type(n[2]) ~= "string" then
      return nil, string.format('item %d: expected { "action", "type[name]" }, got %s', i, describe(n))
    end
    local timing = n[3] or "delayed"
    if timing ~= "delayed" and timing ~= "immediately" and timing ~= "before" then
      return nil, string.format('item %d: timing must be "delayed" or "immediately", got %s', i,
        describe(timing))
    end
    if timing == "before" then
      return nil, string.format('item %d: timing "before" is not supported; use "immediately"', i)
    end
    if not n[2]:match("^[%w_]+%[.+%]$") then
      return nil, string.format('item %d: %q is not a resource reference like "service[apache2]"', i,
        n[2])
    end
    out[i] = { action = n[1], ref = n[2], timing = timing }
  end
  return out
end

M.checks = checks

-- Properties every resource has (DESIGN.md 2.3).
-- lazy = false: the engine needs the value when the recipe is compiled
-- (actions and notifications are resolved then, sensitive decides what
-- any later message may show), so a function is refused there.
M.common = {
  action = { type = "actions", lazy = false },
  only_if = { type = "guard" },
  not_if = { type = "guard" },
  notifies = { type = "notifications", lazy = false },
  subscribes = { type = "notifications", lazy = false },
  ignore_failure = { type = "boolean", default = false, lazy = false },
  sensitive = { type = "boolean", default = false, lazy = false },
}

-- Check one value against a property spec. Returns value or nil, message.
function M.check(spec, value)
  local check = checks[spec.type]
  if not check then error("unknown property type " .. tostring(spec.type)) end
  local v, err = check(value)
  if v == nil then return nil, err end
  if spec.one_of then
    local ok = false
    for _, allowed in ipairs(spec.one_of) do
      if v == allowed then ok = true end
    end
    if not ok then
      return nil, string.format("expected one of %s, got %s",
        table.concat(spec.one_of, ", "), describe(value))
    end
  end
  if spec.validate then
    local ok, msg = spec.validate(v)
    if not ok then return nil, msg end
  end
  return v
end

function M.type_names()
  return util.sorted_keys(checks)
end

return M
