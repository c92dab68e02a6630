-- ccchef.kitchen: a user's repository (DESIGN.md 2.2): cookbooks, roles,
-- environments and the inventory. Finds the kitchen, turns run-list items
-- into recipe files, expands roles, and computes the node's attributes with
-- their provenance. Nothing here touches the system but reading files.
local attributes = require("ccchef.attributes")
local errors = require("ccchef.errors")
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {}

local Kitchen = {}
Kitchen.__index = Kitchen

local MARKERS = { "cookbooks", "roles", "environments", "nodes.lua" }

local function is_kitchen(dir)
  for _, m in ipairs(MARKERS) do
    if sys.stat(dir .. "/" .. m) then return true end
  end
  return false
end

-- The kitchen root: `explicit` (-k DIR), else the first directory from
-- `start` upward holding cookbooks/, roles/, environments/ or nodes.lua.
-- Returns nil when there is none (loose recipe files still work).
function M.find(start, explicit)
  if explicit then
    local st = sys.stat(explicit)
    if not st or st.type ~= "directory" then
      errors.input(string.format("kitchen %s (-k) is not a directory", explicit))
    end
    return sys.realpath(explicit)
  end
  local dir = sys.realpath(start or ".") or "."
  while true do
    if is_kitchen(dir) then return dir end
    if dir == "/" then return nil end
    dir = util.dirname(dir)
  end
end

-- root is "." once the run has entered the kitchen (ccchef.converge does):
-- every path below it is then kitchen-relative, in messages too.
function M.open(root)
  return setmetatable({ root = root }, Kitchen)
end

-- A path of the kitchen: "cookbooks/x" when the run is in the kitchen.
function Kitchen:path(rel)
  if self.root == "." then return rel end
  return self.root .. "/" .. rel
end

-- Run a kitchen file (role, environment, inventory, resource definition)
-- that returns a table. Errors name the file.
function M.load_table_file(path, env, what)
  local text, err = sys.read(path)
  if not text then errors.input(string.format("cannot read %s: %s", what, err)) end
  errors.register_chunk(path)
  local chunk, perr = load(text, "@" .. path, "t", env or require("ccchef.dsl").base_env())
  if not chunk then errors.input(perr) end
  -- The recipe budget: an endless loop in a role or resource file is a
  -- clear error, not a hung run (docs/recipes.md, "Bounded time").
  local ok, v = require("ccchef.dsl").run_recipe(chunk, path)
  if not ok then error(errors.wrap(v, "input"), 0) end
  if type(v) ~= "table" then
    errors.input(string.format("%s must return a table (got %s)", what, type(v)), { file = path })
  end
  return v
end

function Kitchen:cookbook_dir(name)
  return self:path("cookbooks/" .. name)
end

function Kitchen:cookbook_names()
  local names = {}
  for _, n in ipairs(sys.listdir(self:path("cookbooks")) or {}) do
    local st = sys.stat(self:path("cookbooks/" .. n))
    if st and st.type == "directory" and not n:match("^%.") then names[#names + 1] = n end
  end
  table.sort(names)
  return names
end

-- "apache2" or "apache2::mods" -> path of the recipe file and its cookbook.
function Kitchen:recipe(spec, where)
  local cookbook, name = spec:match("^([^:]+)::(.+)$")
  cookbook = cookbook or spec
  name = name or "default"
  local cdir = self:cookbook_dir(cookbook)
  if not sys.stat(cdir) then
    errors.input(string.format("cookbook '%s' not found (looked in %s/)%s", cookbook,
      self:path("cookbooks"), util.suggest(cookbook, self:cookbook_names())), where)
  end
  local path = cdir .. "/recipes/" .. name .. ".lua"
  if not sys.stat(path) then
    local have = {}
    for _, f in ipairs(sys.listdir(cdir .. "/recipes") or {}) do
      local n = f:match("^(.*)%.lua$")
      if n then have[#have + 1] = n end
    end
    table.sort(have)
    errors.input(string.format("recipe '%s::%s' not found (looked for %s; cookbook has: %s)",
      cookbook, name, path, #have > 0 and table.concat(have, ", ") or "no recipes"), where)
  end
  return { path = path, base = cdir, cookbook = cookbook, label = cookbook .. "::" .. name }
end

-- Names of the .lua files in a kitchen directory (roles, environments),
-- sorted: what error messages offer instead of a name not found.
function Kitchen:lua_names(dir)
  local names = {}
  for _, f in ipairs(sys.listdir(self:path(dir)) or {}) do
    names[#names + 1] = f:match("^(.*)%.lua$")
  end
  table.sort(names)
  return names
end

local ROLE_KEYS = { description = true, run_list = true, attributes = true }

function Kitchen:role(name)
  local path = self:path("roles/" .. name .. ".lua")
  if not sys.stat(path) then
    errors.input(string.format("role '%s' not found (looked for %s)%s", name, path,
      util.suggest(name, self:lua_names("roles"))))
  end
  local role = M.load_table_file(path, nil, "role file")
  for k in pairs(role) do
    if not ROLE_KEYS[k] then
      errors.input(string.format("role %s: unknown key '%s' (a role has description, run_list, attributes)", name, k),
        { file = path })
    end
  end
  role.path = path
  return role
end

function Kitchen:environment(name)
  local path = self:path("environments/" .. name .. ".lua")
  if not sys.stat(path) then
    local have = self:lua_names("environments")
    errors.input(string.format("environment '%s' not found (looked for %s; environments: %s)", name, path,
      #have > 0 and table.concat(have, ", ") or "none"))
  end
  local env = M.load_table_file(path, nil, "environment file")
  env.path = path
  return env
end

-- nodes.lua: { NAME = { host=, port=, user=, roles=, environment=, attributes=, run_list= } }
-- (read and checked by ccchef.inventory, as `ccchef remote` reads it)
function Kitchen:inventory()
  if self.inventory_cache then return self.inventory_cache end
  local path = self:path("nodes.lua")
  self.inventory_cache = require("ccchef.inventory").load(path, false)
  self.inventory_path = path
  return self.inventory_cache
end

-- A node's run list when none is given: its roles, then its run_list.
-- Only roles that have a roles/NAME.lua take part; a role without a file is
-- a group name for targeting (`ccchef remote @NAME`) and nothing more.
function M.node_runlist(root, entry)
  local list = {}
  for _, r in ipairs(entry.roles or {}) do
    if root and sys.stat((root == "." and "" or root .. "/") .. "roles/" .. r .. ".lua") then list[#list + 1] = "role:" .. r end
  end
  for _, r in ipairs(entry.run_list or {}) do list[#list + 1] = r end
  return list
end

-- Expand run-list items into recipe entries (each recipe once, in order)
-- and the roles met (in order, for attributes). Loose recipe files are
-- allowed with or without a kitchen.
function M.expand(kitchen, items)
  local recipes, roles, seen = {}, {}, {}
  local function need_kitchen(item)
    if not kitchen then
      errors.input(string.format(
        "%s needs a kitchen, and none was found (looked for cookbooks/, roles/, environments/ or nodes.lua from %s upward; use -k DIR)",
        item, os.getenv("PWD") or "."))
    end
  end
  local function add(entry)
    if not seen[entry.path] then
      seen[entry.path] = true
      recipes[#recipes + 1] = entry
    end
  end
  local function walk(list, stack)
    for _, item in ipairs(list) do
      if type(item) ~= "string" then
        errors.input(string.format("run-list items must be strings, got %s", type(item)))
      end
      local kind, rest = item:match("^(%a+):(.+)$")
      if kind == "recipe" then
        need_kitchen(item)
        add(kitchen:recipe(rest))
      elseif kind == "role" then
        need_kitchen(item)
        for i, r in ipairs(stack) do
          if r == rest then
            local cycle = {}
            for j = i, #stack do cycle[#cycle + 1] = stack[j] end
            cycle[#cycle + 1] = rest
            errors.input("role cycle: " .. table.concat(cycle, " -> "), { file = kitchen:path("roles/" .. rest .. ".lua") })
          end
        end
        local role = kitchen:role(rest)
        roles[#roles + 1] = { name = rest, role = role }
        stack[#stack + 1] = rest
        walk(role.run_list or {}, stack)
        stack[#stack] = nil
      elseif kind then
        errors.input(string.format("run-list item %q: unknown kind '%s' (use recipe:NAME, role:NAME or a .lua file)",
          item, kind))
      else
        -- A loose recipe's base (where its files/ and templates/ are) is
        -- its directory, kept relative when the recipe is given relative
        -- to the kitchen's root (the run's working directory).
        local base = util.is_absolute(item) and util.dirname(sys.realpath(item) or item) or util.dirname(item)
        add({ path = item, base = base, label = item })
      end
    end
  end
  walk(items, {})
  return recipes, roles
end

-- Cookbook default attributes: every attributes/*.lua of every cookbook in
-- the kitchen, cookbooks in name order, files in name order (default.lua
-- first). Loading all keeps `ccchef attrs` independent of the run list.
function Kitchen:load_default_attributes(set, node_facts)
  for _, cb in ipairs(self:cookbook_names()) do
    local dir = self:cookbook_dir(cb) .. "/attributes"
    local files = {}
    for _, f in ipairs(sys.listdir(dir) or {}) do
      if f:match("%.lua$") then files[#files + 1] = f end
    end
    table.sort(files, function(a, b)
      if a == "default.lua" then return b ~= "default.lua" end
      if b == "default.lua" then return false end
      return a < b
    end)
    for _, f in ipairs(files) do
      local path = dir .. "/" .. f
      local env = require("ccchef.dsl").base_env()
      env.default = attributes.recorder(set, path)
      env.node = node_facts
      local text, err = sys.read(path)
      if not text then errors.input("cannot read attribute file: " .. err) end
      errors.register_chunk(path)
      local chunk, perr = load(text, "@" .. path, "t", env)
      if not chunk then errors.input(perr) end
      local ok, e = require("ccchef.dsl").run_recipe(chunk, path)
      if not ok then
        local wrapped = errors.wrap(e, "input")
        wrapped.message = "in attribute file: " .. wrapped.message
        error(wrapped, 0)
      end
    end
  end
end

-- The node's attributes, layered (DESIGN.md 2.5). spec: roles (from
-- expand), environment (name or nil), node_entry (inventory entry or nil),
-- cli_layers ({ { table, origin } ... } from -j and --attr).
function M.attributes(kitchen, spec, facts)
  local set = attributes.new()
  if kitchen then kitchen:load_default_attributes(set, facts) end
  for _, r in ipairs(spec.roles or {}) do
    if r.role.attributes then set:merge(r.role.attributes, r.role.path) end
  end
  if spec.environment then
    if not kitchen then errors.input("-E needs a kitchen with environments/ (none found; use -k DIR)") end
    local env = kitchen:environment(spec.environment)
    if env.attributes then set:merge(env.attributes, env.path) end
  end
  if spec.node_entry and spec.node_entry.attributes then
    set:merge(spec.node_entry.attributes, (kitchen and kitchen.inventory_path or "nodes.lua") .. " (" .. spec.node_name .. ")")
  end
  for _, layer in ipairs(spec.cli_layers or {}) do
    if layer.path then
      set:set(layer.path, layer.value, layer.origin)
    else
      set:merge(layer.value, layer.origin)
    end
  end
  return set
end

-- `node` as recipes see it: attributes with the facts on top (facts are
-- read-only: an attribute cannot override what the machine is), and no
-- writes from recipes.
function M.node_view(set, facts)
  local merged = {}
  for k, v in pairs(set.values) do merged[k] = v end
  for k, v in pairs(facts) do merged[k] = v end
  return setmetatable({}, {
    __index = merged,
    __newindex = function(_, k)
      error(string.format("node is read-only in recipes (tried to set node.%s); set attributes in attribute files, roles, environments or with --attr", tostring(k)), 2)
    end,
    __pairs = function() return next, merged, nil end,
  })
end

return M
