-- ccchef.accounts: what the user and group resources share: the rule for
-- account names, running the shadow tools (useradd, groupmod...) with quoted
-- arguments, and comparing name lists.
local errors = require("ccchef.errors")
local proc = require("ccchef.proc")

local M = {}

M.MAX_NAME = 32

-- Account names: lower-case letters, digits, '_', '-', '.', starting with a
-- letter or '_', optionally ending in '$' (Samba machine accounts), at most
-- 32 characters. This is Debian adduser's default NAME_REGEX plus '.'; it is
-- stricter than useradd itself (which takes upper case and a leading digit)
-- on purpose: a name that passes works with every tool, and a name like
-- "1000x" cannot be mistaken for a numeric id by chown and friends.
-- Returns nil or the reason the name is refused.
function M.name_problem(name, what)
  if #name > M.MAX_NAME then
    return string.format("invalid %s name %q: longer than %d characters", what, name, M.MAX_NAME)
  end
  if not name:match("^[a-z_][a-z0-9_.-]*%$?$") then
    return string.format(
      "invalid %s name %q: use lower-case letters, digits, '_', '-' and '.', starting with a letter or '_'",
      what, name)
  end
  return nil
end

function M.check_name(name, what)
  local problem = M.name_problem(name, what)
  if problem then error(problem, 0) end
end

-- Run a shadow tool: args is its argv (no shell: a comment with spaces or
-- quotes is one argument); raises a converge error with the tool's output
-- when it fails.
function M.run(args, ctx)
  local argv = {}
  for i, a in ipairs(args) do argv[i] = tostring(a) end
  local res, err = proc.run(argv, { timeout = ctx.command_timeout, env = { LC_ALL = "C" } })
  if not res then errors.converge(args[1] .. " could not start: " .. err) end
  if res.status ~= 0 or res.signal ~= 0 then
    errors.converge(string.format("%s failed (exit %d): %s", args[1], res.status,
      (res.output:gsub("%s+$", ""))), { output = res.output })
  end
  return res.output
end

-- A sorted list without duplicates.
function M.sorted_set(list)
  local seen, out = {}, {}
  for _, v in ipairs(list or {}) do
    if not seen[v] then
      seen[v] = true
      out[#out + 1] = v
    end
  end
  table.sort(out)
  return out
end

function M.same_set(a, b)
  a, b = M.sorted_set(a), M.sorted_set(b)
  if #a ~= #b then return false end
  for i = 1, #a do
    if a[i] ~= b[i] then return false end
  end
  return true
end

-- "a,b" or "(none)"
function M.show(list)
  if #list == 0 then return "(none)" end
  return table.concat(M.sorted_set(list), ",")
end

return M
