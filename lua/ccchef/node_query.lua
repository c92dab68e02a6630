-- ccchef.node_query: other nodes' data in recipes, nodes("role:engine")
-- (Chef's search(:node, ...), Ansible's groups and hostvars), from the
-- inventory (nodes.lua).
--
--   nodes("role:engine")                                -- this run's environment
--   nodes("role:engine", { environment = "staging" })   -- another one
--   nodes("role:engine", { environment = "any" })       -- every environment
--   nodes("name:web1"), nodes("*")
--
-- Each result is a fresh copy { name, host, port, environment, roles,
-- attributes } (host defaults to the name; port is the inventory's, nil when
-- it gives none), sorted by name in natural order (node2 before node10). A node whose entry has no environment is in the
-- environment "_default", as is a run with none (Chef's name for it).
--
-- A view answers queries in one of two ways:
--   - from an inventory (apply: the kitchen's nodes.lua; the controller of
--     `remote`: the inventory it reads), recording every query it answers
--     and the names it returned: M.shipped(view, own_name, own_entry) is
--     what the node's bundle carries (those entries, and the answers);
--   - on a node (the runner), from what the bundle carried: a query is
--     answered with the names the controller's compile of the same recipe
--     returned, and one the controller never ran (a recipe that branches on
--     facts only the node knows) is an input error saying so. The node never
--     sees the whole inventory, only the entries its queries selected.
local errors = require("ccchef.errors")
local inventory = require("ccchef.inventory")

local M = {}

M.DEFAULT_ENVIRONMENT = "_default"

-- What a recipe can see of a node: no user, state_dir or run_list (how the
-- controller reaches it and what it runs are not the recipe's business).
local function public_entry(name, n)
  return {
    name = name,
    host = n.host or name,
    port = n.port,
    environment = n.environment,
    roles = n.roles,
    attributes = n.attributes or {},
  }
end

local function copy(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = copy(x) end
  return out
end

-- view from an inventory table { NAME = entry } (nodes.lua's) and the
-- environment of the run (nil: "_default").
function M.from_inventory(nodes, environment)
  return { nodes = nodes or {}, environment = environment or M.DEFAULT_ENVIRONMENT, answers = {} }
end

-- view from a bundle's run.json: entries { NAME = public entry } and
-- answers { KEY = { names } }.
function M.from_bundle(entries, answers, environment)
  return { nodes = entries or {}, environment = environment or M.DEFAULT_ENVIRONMENT,
    answers = answers or {}, replay = true }
end

-- Misuse raises at the recipe's line: recipe -> compile's nodes() -> query
-- -> these checks.
local RECIPE_LEVEL = 4

-- "role:X" / "name:X" / "*" -> field, value; or raises.
local function parse(query)
  if type(query) ~= "string" then
    error(string.format("nodes: expected a query string like \"role:engine\", got %s", type(query)), RECIPE_LEVEL)
  end
  if query == "*" then return "all", nil end
  local field, value = query:match("^(%a+):([%w_.%-]+)$")
  if field ~= "role" and field ~= "name" then
    error(string.format("nodes: unsupported query %q (use \"role:NAME\", \"name:NODE\" or \"*\")", query), RECIPE_LEVEL)
  end
  return field, value
end

local function matches(name, n, field, value)
  if field == "all" then return true end
  if field == "name" then return name == value end
  for _, r in ipairs(n.roles or {}) do
    if r == value then return true end
  end
  return false
end

local function environment_filter(view, opts)
  if opts == nil then return view.environment end
  if type(opts) ~= "table" then error("nodes: options must be a table like { environment = \"any\" }", RECIPE_LEVEL) end
  for k in pairs(opts) do
    if k ~= "environment" then error(string.format("nodes: unknown option '%s' (only environment)", tostring(k)), RECIPE_LEVEL) end
  end
  if opts.environment == nil then return view.environment end
  if type(opts.environment) ~= "string" or opts.environment == "" then
    error("nodes: environment must be a name, or \"any\"", RECIPE_LEVEL)
  end
  return opts.environment
end

-- The answer key of a query, the same on the controller and the node.
local function key(query, env)
  return query .. " @" .. env
end

-- nodes(query [, opts]) for a recipe: a list of fresh entries.
function M.query(view, query, opts)
  view = view or M.from_inventory({}, nil)
  local field, value = parse(query)
  local env = environment_filter(view, opts)
  local k = key(query, env)
  local names
  if view.replay then
    names = view.answers[k]
    if names == nil then
      errors.input(string.format("nodes(%q) for environment %s was not asked when the controller "
        .. "compiled this run (the recipe took another path on the node); its answer is not in the "
        .. "bundle: a query must not depend on facts only the node knows", query, env))
    end
  else
    names = {}
    for name, n in pairs(view.nodes) do
      local node_env = n.environment or M.DEFAULT_ENVIRONMENT
      if (env == "any" or node_env == env) and matches(name, n, field, value) then
        names[#names + 1] = name
      end
    end
    table.sort(names, inventory.natural_less)
    view.answers[k] = names
  end
  local out = {}
  for i, name in ipairs(names) do
    local n = view.nodes[name]
    if n == nil then errors.input("nodes: the bundle lacks the entry of " .. name) end
    out[i] = copy(view.replay and n or public_entry(name, n))
  end
  return out
end

-- What the node's bundle carries: { entries = { NAME = public entry },
-- answers = { KEY = { names } } } for the queries this view answered (an
-- inventory view, after the controller's compile).
function M.shipped(view)
  local entries = {}
  for _, names in pairs(view.answers) do
    for _, name in ipairs(names) do
      entries[name] = public_entry(name, view.nodes[name])
    end
  end
  return { entries = entries, answers = view.answers }
end

return M
