-- ccchef.compile: the compile phase of a run (DESIGN.md 3), the recipe
-- language's side of the engine. Runs the recipe files in the sandboxed
-- environment (ccchef.dsl); each resource call appends to the run's
-- collection; include_recipe brings in more recipe files through the
-- kitchen; notifications are resolved to the resources they name. Nothing
-- touches the system. ccchef.engine converges what this returns and does
-- not require the recipe language (docs/architecture.md).
local dsl = require("ccchef.dsl")
local python_build = require("ccchef.python_build")
local errors = require("ccchef.errors")
local node_query = require("ccchef.node_query")
local registry = require("ccchef.registry")
local Run = require("ccchef.run")
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {}

-- Run one recipe file in the compile phase. entry: a path, or { path=,
-- base=, label= } where base is the directory templates/ and files/ are
-- looked up in (the cookbook's root for cookbook recipes). Each recipe runs
-- at most once per run, as in Chef. Raises input errors.
function M.include_file(run, entry)
  if type(entry) == "string" then entry = { path = entry } end
  local path = entry.path
  local st = sys.stat(path)
  if not st then
    errors.input(string.format("recipe file %s does not exist", path))
  elseif st.type == "directory" then
    errors.input(string.format("%s is a directory, not a recipe file (give a .lua file)", path))
  end
  local real = sys.realpath(path) or path
  if run.included[real] then return end
  run.included[real] = true
  local text, err = sys.read(path)
  if not text then errors.input("cannot read recipe: " .. err) end
  -- path is kitchen-relative (the run's working directory is the
  -- kitchen's root): messages name cookbooks/x/recipes/y.lua:12.
  errors.register_chunk(path)
  local chunk, perr = load(text, "@" .. path, "t", run.env)
  -- "web.lua:3: '}' expected near <eof>" -> file, line, "syntax error: ..."
  if not chunk then error(errors.from_lua(perr, "input", "syntax error"), 0) end
  local saved = run.current_dir
  run.current_dir = entry.base or util.dirname(real)
  local ok, rerr = dsl.run_recipe(chunk, path)
  run.current_dir = saved
  if not ok then
    local e = errors.from_lua(rerr, "input")
    e.file = e.file or path -- error("...", 0) and error({}) carry no location
    error(e, 0)
  end
end

-- include_recipe "cookbook" / "cookbook::name" from a recipe.
function M.include_recipe(run, spec)
  local file, line
  local info = debug.getinfo(3, "Sl")
  if info then
    file = info.source:sub(1, 1) == "@" and info.source:sub(2) or info.short_src
    line = info.currentline
  end
  if type(spec) ~= "string" then
    errors.input("include_recipe needs a string like \"cookbook::recipe\"", { file = file, line = line })
  end
  if not run.kitchen then
    errors.input(string.format("include_recipe %q needs a kitchen (none found; use -k DIR)", spec),
      { file = file, line = line })
  end
  M.include_file(run, run.kitchen:recipe(spec, { file = file, line = line }))
end

-- Shared stand-in for an absent list: one table, not one per resource.
local NONE = setmetatable({}, { __newindex = function() error("NONE is read-only", 2) end })

-- Each resource's notify_list: its notifies, the subscribes that name it
-- and the notifications its type adds by itself, each resolved to the
-- resource record it targets. Raises input errors naming the line.
function M.resolve_notifications(run)
  local function resolve(r, n, what)
    local target = run.index[n.ref]
    if not target then
      errors.input(string.format("%s %s, which is not declared in this run%s", what, n.ref,
        util.suggest(n.ref, util.sorted_keys(run.index))),
        { file = r.file, line = r.line, resource = r.ref })
    end
    local to = what == "notifies" and target or r
    if not to.unit.action_set[n.action] then
      errors.input(string.format("%s %s: %s has no action '%s'", what, n.ref, to.ref, n.action),
        { file = r.file, line = r.line, resource = r.ref })
    end
    return target
  end
  local collection = run.collection
  for i = 1, #collection do
    local r = collection[i]
    -- Notifications a type adds by itself (apache_site reloads
    -- service[apache2]) apply only when that resource is in the run.
    if r.unit.implicit_notifies then
      for _, n in ipairs(r.unit.implicit_notifies(r.props) or NONE) do
        local target = run.index[n.ref]
        if target and target.unit.action_set[n.action] then
          r.notify_list[#r.notify_list + 1] = { action = n.action, target = target, timing = n.timing or "delayed" }
        elseif n.missing then
          -- Said when the resource changes (the engine): what the missing
          -- target would have done is not done.
          r.implicit_missing = n.missing
        end
      end
    end
    for _, n in ipairs(r.props.notifies or NONE) do
      local target = resolve(r, n, "notifies")
      r.notify_list[#r.notify_list + 1] = { action = n.action, target = target, timing = n.timing }
    end
    -- subscribes is notifies written from the other end.
    for _, n in ipairs(r.props.subscribes or NONE) do
      local source = resolve(r, n, "subscribes to")
      source.notify_list[#source.notify_list + 1] = { action = n.action, target = r, timing = n.timing }
    end
  end
end

-- Accumulators (ccchef.custom, docs/kitchen.md "Accumulators"): each
-- resource of a type with an accumulate function adds itself, in
-- declaration order, to a shared resource edit_resource declares. A shared
-- resource takes the place in the collection just before the first
-- resource that asked for it, and is finished once all have added to it.
function M.accumulate(run)
  local collection = run.collection
  local n = #collection
  for i = 1, n do
    local r = collection[i]
    -- action = "nothing" leaves a member out (its guards cannot: they are
    -- known only at converge time, after the file was rendered).
    if r.unit.accumulate and not (#r.actions == 1 and r.actions[1] == "nothing") then
      r.unit.accumulate(r, run)
    end
  end
  if #collection == n then return end
  local before = {}
  for j = n + 1, #collection do
    local c = collection[j]
    local list = before[c.accumulated_by] or {}
    list[#list + 1] = c
    before[c.accumulated_by] = list
  end
  local ordered = {}
  for i = 1, n do
    local r = collection[i]
    for _, c in ipairs(before[r] or NONE) do ordered[#ordered + 1] = c end
    ordered[#ordered + 1] = r
  end
  for i = 1, #ordered do collection[i] = ordered[i] end
  for i = 1, #ordered do
    if ordered[i].accumulated_by then dsl.finalize(ordered[i]) end
  end
end

-- After the recipes (or a custom resource's action) have declared: every
-- resource's defaults and checks (dsl.finalize), the accumulators, the
-- custom resources' declarations (M.check), then the notifications.
function M.finish(run)
  M.check(run)
  M.resolve_notifications(run)
end

-- finish without the notifications (which link resources to each other):
-- defaults and checks, accumulators, and the compile-time check of what
-- custom resources declare (their unit's precheck, on a scratch run).
function M.check(run)
  local collection = run.collection
  for i = 1, #collection do dsl.finalize(collection[i]) end
  M.accumulate(run)
  for i = 1, #collection do
    local r = collection[i]
    if r.unit.precheck then r.unit.precheck(r, run) end
  end
end

-- kitchen_path(path [, what]): a file of the kitchen named relative to its
-- root, the same under `apply` and on a node (the run's working directory
-- is the kitchen's root; docs/kitchen.md "Paths"). The result stays
-- relative, so what a recipe builds from it (a "generated from" comment)
-- never names the directory the kitchen sits in. An absolute path is the
-- node's own file and is returned as it is. With `what` (the attribute
-- that gave the path), a path that does not exist is an input error naming
-- it and where it was looked for.
function M.kitchen_path(run, path, what)
  if type(path) ~= "string" or path == "" then
    error(string.format("kitchen_path needs a path string%s", what and (" (" .. what .. ")") or ""), 3)
  end
  local info = debug.getinfo(3, "Sl")
  local loc = info and info.source:sub(1, 1) == "@" and { file = info.source:sub(2), line = info.currentline } or nil
  local absolute = util.is_absolute(path)
  if not absolute then
    path = path:gsub("^%./", "")
    -- What `remote` ships: the paths a compile asked for (docs/remote.md).
    run.kitchen_paths = run.kitchen_paths or {}
    run.kitchen_paths[path] = true
    local depth = 0
    for part in path:gmatch("[^/]+") do
      if part == ".." then depth = depth - 1 elseif part ~= "." then depth = depth + 1 end
      -- Outside the kitchen: it works under apply (relative to the
      -- kitchen's root), but `remote` ships only the kitchen, so the
      -- controller refuses it before connecting.
      if depth < 0 and run.node.facts_known == false then
        errors.input(string.format("%s%q is outside the kitchen, and `remote` ships only the kitchen: "
          .. "copy it into the kitchen, or give the absolute path of the node's own file",
          what and (what .. " = ") or "", path), loc)
      end
    end
  end
  -- The controller compiles before connecting (docs/remote.md): it has the
  -- kitchen, not the node's own files.
  if what and (not absolute or run.node.facts_known ~= false) and not sys.stat(path) then
    local where = run.node.facts_known == false and "on the controller, before connecting"
      or (run.opts.remote_node and ("on node " .. tostring(run.opts.remote_node))) or "on this machine"
    errors.input(string.format("%s = %q: no such %s (resolved %s, %s)", what, path,
      absolute and "file" or "file in the kitchen", where,
      absolute and "an absolute path names the node's own file" or "relative to the kitchen's root"), loc)
  end
  return path
end

local base_read_file = dsl.base_env().read_file

-- The compile phase for a list of recipe files. Returns the run or raises
-- an input error; nothing on the system has been changed either way.
function M.compile(opts, recipes)
  local run = Run.new(opts, registry.types)
  -- Not a tail call: include_recipe looks 3 levels up for the recipe's line.
  run.extra_env = {
    include_recipe = function(spec) M.include_recipe(run, spec) end,
    -- A path inside the cookbook (or beside the loose recipe) being run:
    -- for files a recipe reads itself, e.g. read_file(cookbook_path("files/x")).
    cookbook_path = function(rel)
      if type(rel) ~= "string" then error("cookbook_path needs a relative path string", 2) end
      return util.join(run.current_dir or ".", rel)
    end,
    kitchen_path = function(path, what) return M.kitchen_path(run, path, what) end,
    -- The build step of a deploy that makes the release's virtualenv
    -- (docs/python.md).
    python_build = python_build.step,
    -- Other nodes' inventory entries (ccchef.node_query); not a tail call,
    -- so a misuse is reported at the recipe's line.
    nodes = function(query, opts)
      local found = node_query.query(run.opts.nodes, query, opts)
      return found
    end,
    -- A relative path a recipe reads is the kitchen's: `remote` ships it.
    read_file = function(path)
      if type(path) ~= "string" then
        error(string.format("read_file: expected a path, got %s", require("ccchef.schema").describe(path)), 2)
      end
      if not util.is_absolute(path) then
        run.kitchen_paths = run.kitchen_paths or {}
        run.kitchen_paths[path] = true
      end
      return base_read_file(path)
    end,
  }
  run.env = dsl.recipe_env(run)
  for _, entry in ipairs(recipes) do M.include_file(run, entry) end
  M.finish(run)
  return run
end

return M
