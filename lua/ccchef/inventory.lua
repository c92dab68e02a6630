-- ccchef.inventory: nodes.lua (DESIGN.md 2.2) and the TARGETS of `ccchef
-- remote` / `ccchef status` (DESIGN.md 2.1). A target is a node name, a
-- comma list, `@ROLE` (every node whose roles include ROLE),
-- `user@host[:port]`, or any other name, which is resolved through the ssh
-- config exactly as `ssh NAME` would.
--
-- nodes.lua returns a table of nodes by name:
--   return {
--     web1 = { host = "10.0.0.5", port = 22, user = "deploy",
--              roles = { "engine" }, environment = "live",
--              attributes = { apache = { port = 8080 } },
--              run_list = { "role:engine" } },
--   }
-- It runs in an empty environment (it describes data; it cannot call
-- anything).
local errors = require("ccchef.errors")
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {}

-- Names in natural order: node2 before node10 (digit runs compare as numbers).
function M.natural_less(a, b)
  local function key(s)
    -- Each digit run becomes its length (3 digits) then its digits: a
    -- longer number sorts after a shorter one.
    return (s:gsub("%d+", function(d)
      local v = d:gsub("^0+", "")
      return string.format("%03d", #v) .. v
    end))
  end
  local ka, kb = key(a), key(b)
  if ka ~= kb then return ka < kb end
  return a < b
end

local FIELDS = {
  host = "string", port = "number", user = "string", roles = "table",
  environment = "string", attributes = "table", run_list = "table",
  state_dir = "string",
}

-- Load the inventory file. Returns the nodes table ({} when path is nil or
-- missing and not required). Raises input errors naming the file.
function M.load(path, required)
  if not path then return {} end
  local text, err = sys.read(path)
  if not text then
    if required then errors.input("cannot read inventory: " .. err) end
    return {}
  end
  local chunk, perr = load(text, "@" .. path, "t", {})
  if not chunk then errors.input(perr) end
  local ok, nodes = pcall(chunk)
  if not ok then errors.input(tostring(nodes)) end
  if type(nodes) ~= "table" then
    errors.input(path .. ": must return a table of nodes by name")
  end
  for name, n in pairs(nodes) do
    if type(name) ~= "string" or type(n) ~= "table" then
      errors.input(string.format("%s: node %s must be a table", path, tostring(name)))
    end
    for k, v in pairs(n) do
      local want = FIELDS[k]
      if not want then
        errors.input(string.format("%s: node %s: unknown field '%s'%s", path, name, tostring(k),
          util.suggest(tostring(k), util.sorted_keys(FIELDS))))
      elseif type(v) ~= want then
        errors.input(string.format("%s: node %s: %s must be a %s", path, name, k, want))
      end
    end
  end
  return nodes
end

-- user@host[:port], host:port: a literal target, or nil.
local function literal(t)
  local user, rest = t:match("^([^@]+)@(.+)$")
  rest = rest or t
  local host, port = rest:match("^%[(.+)%]:(%d+)$") -- [::1]:2222
  if not host then host, port = rest:match("^([^:]+):(%d+)$") end
  if not host and user then host = rest end
  if not host then return nil end
  return { name = t, host = host, port = port and tonumber(port), user = user }
end

local function copy_node(name, n)
  local c = util.merge({}, n)
  c.name = name
  c.host = c.host or name
  return c
end

-- Expand TARGETS into a list of node specs { name, host, port, user, roles,
-- environment, attributes, run_list, from_inventory }, each once, in order.
function M.resolve(targets, nodes)
  local out, seen = {}, {}
  local function add(spec)
    if not seen[spec.name] then
      seen[spec.name] = true
      out[#out + 1] = spec
    end
  end
  for t in targets:gmatch("[^,]+") do
    if t:sub(1, 1) == "@" then
      local role = t:sub(2)
      local matched = {}
      for name, n in pairs(nodes) do
        for _, r in ipairs(n.roles or {}) do
          if r == role then matched[#matched + 1] = name break end
        end
      end
      if #matched == 0 then
        errors.input(string.format("no node in the inventory has the role '%s'", role))
      end
      table.sort(matched, M.natural_less)
      for _, name in ipairs(matched) do
        local spec = copy_node(name, nodes[name])
        spec.from_inventory = true
        add(spec)
      end
    elseif nodes[t] then
      local spec = copy_node(t, nodes[t])
      spec.from_inventory = true
      add(spec)
    else
      -- Not in the inventory: literal, or a name for the ssh config.
      add(literal(t) or { name = t, host = t })
    end
  end
  if #out == 0 then errors.input("no targets given") end
  return out
end

return M
