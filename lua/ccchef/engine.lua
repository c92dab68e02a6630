-- ccchef.engine: the two phases of a run (DESIGN.md 3).
--
-- compile: run the recipes in a sandboxed environment; each resource call
-- appends to the collection. Nothing touches the system.
-- converge: for each resource in order, evaluate guards, ask its unit for the
-- current state and a plan, act only on a difference (or report it under
-- why-run), emit an event, and queue notifications. Delayed notifications
-- run at the end, each once; if the run fails first they are saved and
-- replayed by the next run.
local dsl = require("ccchef.dsl")
local errors = require("ccchef.errors")
local host = require("ccchef.host")
local proc = require("ccchef.proc")
local registry = require("ccchef.registry")
local state = require("ccchef.state")
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {}

local Run = {}
Run.__index = Run

-- opts: why_run, state_dir, backup_dir, backups, command_timeout,
-- lock_timeout, node (facts + attributes), reporter
function M.new_run(opts)
  local run = setmetatable({
    opts = opts,
    types = registry.types,
    node = opts.node or {},
    collection = {},
    index = {},
    recipe_dirs = {},
  }, Run)
  run.handle_meta = { __index = function(h, k) return rawget(h, "_r")[k] end }
  return run
end

function Run:declare(unit, name, file, line)
  dsl.check_name(unit, name, file, line)
  local ref = unit.name .. "[" .. name .. "]"
  local r = {
    type = unit.name, name = name, ref = ref, unit = unit,
    file = file, line = line, dir = self.current_dir, node = self.node,
    props = host.new_table(0, 8), lazy = {}, notify_list = {},
  }
  r.handle = setmetatable({ _r = r }, self.handle_meta)
  self.collection[#self.collection + 1] = r
  -- A later declaration with the same name wins notifications, as in Chef.
  self.index[ref] = r
  return r
end

-- Run one recipe file in the compile phase. Raises input errors.
function Run:include_file(path)
  local st = sys.stat(path)
  if not st then
    errors.input(string.format("recipe file %s does not exist", path))
  elseif st.type == "directory" then
    errors.input(string.format("%s is a directory, not a recipe file (give a .lua file)", path))
  end
  local text, err = sys.read(path)
  if not text then errors.input("cannot read recipe: " .. err) end
  local chunk, perr = load(text, "@" .. path, "t", self.env)
  if not chunk then errors.input(perr) end -- "web.lua:3: syntax error near ..."
  local real = sys.realpath(path) or path
  local saved = self.current_dir
  self.current_dir = util.dirname(real)
  local ok, rerr = pcall(chunk)
  self.current_dir = saved
  if not ok then error(errors.wrap(rerr, "input"), 0) end
end

-- Shared stand-in for an absent list: one table, not one per resource.
local NONE = setmetatable({}, { __newindex = function() error("NONE is read-only", 2) end })

local function resolve_notifications(run)
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

-- The compile phase for a list of recipe files. Returns the run or raises
-- an input error; nothing on the system has been changed either way.
function M.compile(opts, recipes)
  if next(registry.types) == nil then registry.load_builtin() end
  local run = M.new_run(opts)
  run.env = dsl.recipe_env(run)
  for _, path in ipairs(recipes) do run:include_file(path) end
  local collection = run.collection
  for i = 1, #collection do dsl.finalize(collection[i]) end
  resolve_notifications(run)
  return run
end

---------------------------------------------------------------------------
-- Converge

-- The context units receive: what they may need from the run, nothing more.
local function make_ctx(run)
  local o = run.opts
  return {
    why_run = o.why_run,
    backup_dir = o.backup_dir,
    backups = o.backups,
    command_timeout = o.command_timeout,
    stream_prefix = "    | ",
    node = run.node,
    cache = {},
  }
end

-- Evaluate lazy properties: a function stands for its value at converge time.
-- The copy is made in C, sized for the keys the engine and units add.
local function resolve_props(r)
  local p = host.copy(r.props, 4)
  p.name = r.name
  p.recipe_dir = r.dir
  if next(r.lazy) == nil then return p end
  for k, v in pairs(r.props) do
    if r.lazy[k] then
      local ok, val = pcall(v)
      if not ok then
        errors.converge(string.format("lazy property '%s' failed: %s", k, tostring(val)))
      end
      local checked, err = require("ccchef.schema").check(r.unit.all_properties[k], val)
      if checked == nil then
        errors.converge(string.format("lazy property '%s': %s", k, err))
      end
      p[k] = checked
    end
  end
  return p
end

local function run_guard(guard, ctx)
  if type(guard) == "function" then
    local ok, v = pcall(guard)
    if not ok then errors.converge("guard failed: " .. tostring(v)) end
    return v and true or false
  end
  local res, err = proc.run(guard, { timeout = ctx.command_timeout })
  if not res then errors.converge("guard command could not start: " .. err) end
  return res.status == 0 and res.signal == 0
end

-- nil to go ahead, or the reason to skip.
local function guards(p, ctx)
  if p.only_if ~= nil and not run_guard(p.only_if, ctx) then
    return type(p.only_if) == "string" and ("only_if `" .. p.only_if .. "` failed") or "only_if was false"
  end
  if p.not_if ~= nil and run_guard(p.not_if, ctx) then
    return type(p.not_if) == "string" and ("not_if `" .. p.not_if .. "` succeeded") or "not_if was true"
  end
  return nil
end

local RANK = { ["up-to-date"] = 1, skipped = 2, ["would-update"] = 3, updated = 3, failed = 4 }

local function record(r, status)
  if r.status == nil or RANK[status] > RANK[r.status] then r.status = status end
end

-- The work of converge_action, under its pcall. A named function called
-- with arguments, not a closure: a closure over four locals costs five
-- allocations per resource.
local function act(r, action, ev, ctx)
  local p = resolve_props(r)
  ev.sensitive = p.sensitive or nil
  local skip = guards(p, ctx)
  if skip then
    ev.status, ev.reason = "skipped", skip
    return
  end
  if action == "nothing" then
    ev.status = "up-to-date"
    return
  end
  local current = r.unit.load(p, ctx, action)
  local changes, diff = r.unit.plan(p, current, action, ctx)
  if not changes or #changes == 0 then
    ev.status = "up-to-date"
    return
  end
  ev.changes = changes
  if not p.sensitive then ev.diff = diff end
  if ctx.why_run then
    ev.status = "would-update"
    return
  end
  local info = r.unit.apply(p, current, action, changes, ctx)
  if type(info) == "table" then
    ev.backup = info.backup
    ev.output = info.output
  end
  ev.status = "updated"
end

-- Apply one action of one resource. Returns the event.
local function converge_action(run, r, action, via)
  local ctx = run.ctx
  local t0 = sys.now()
  -- status and duration are named here, though nil, so that the
  -- constructor sizes the table for them (one rehash less per resource).
  local ev = { event = "resource", type = r.type, name = r.name, resource = r.ref,
    action = action, file = r.file, line = r.line, via = via, status = nil, duration = nil }
  local ok, err = pcall(act, r, action, ev, ctx)
  if not ok then
    local e = errors.wrap(err, "converge")
    ev.status = "failed"
    ev.error = e.message
    ev.output = e.output
    if r.props.ignore_failure == true then ev.ignored = true end
  end
  ev.duration = sys.now() - t0
  if ev.sensitive and ev.output then ev.output = "(sensitive output hidden)" end
  return ev
end

local converge_resource

local function queue_delayed(run, action, target, from)
  local key = action .. " " .. target.ref
  if run.delayed_seen[key] then return end
  run.delayed_seen[key] = true
  run.delayed[#run.delayed + 1] = { action = action, target = target, from = from, key = key }
end

-- Returns false when the run must stop.
converge_resource = function(run, r, actions, via)
  for i = 1, #actions do
    local action = actions[i]
    local ev = converge_action(run, r, action, via)
    record(r, ev.status)
    if ev.ignored then r.ignored_failure = true end
    local changed = ev.status == "updated" or ev.status == "would-update"
    if changed and #r.notify_list > 0 then
      ev.notifications = {}
      for _, n in ipairs(r.notify_list) do
        ev.notifications[#ev.notifications + 1] = { action = n.action, resource = n.target.ref,
          timing = n.timing }
      end
    end
    run.reporter:resource(ev)
    if ev.status == "failed" and not ev.ignored then return false end
    if changed then
      for _, n in ipairs(r.notify_list) do
        if n.timing == "immediately" then
          if not converge_resource(run, n.target, { n.action }, r.ref) then return false end
        else
          queue_delayed(run, n.action, n.target, r.ref)
        end
      end
    end
  end
  return true
end

local function pending_list(run, from_index)
  local list = {}
  for i = from_index, #run.delayed do
    local d = run.delayed[i]
    list[#list + 1] = { action = d.action, ref = d.target.ref, from = d.from }
  end
  return list
end

-- Notifications a failed earlier run left: they go into this run's delayed
-- queue so they fire once, after this run has converged the resources.
local function replay_pending(run)
  local list, warn = state.load_pending(run.opts.state_dir)
  if warn then run.reporter:message("warn", warn) end
  for _, n in ipairs(list) do
    local target = run.index[n.ref]
    if target and target.unit.action_set[n.action] then
      run.reporter:message("info", string.format(
        "replaying %s %s, left pending by a failed run (from %s)", n.action, n.ref,
        tostring(n.from)))
      queue_delayed(run, n.action, target, "pending: " .. tostring(n.from))
    else
      run.reporter:message("warn", string.format(
        "dropping pending notification %s %s: that resource is not in this run", n.action, n.ref))
    end
  end
end

-- The converge phase. Returns the summary table.
function M.converge(run)
  local o = run.opts
  local reporter = o.reporter
  run.reporter = reporter
  run.ctx = make_ctx(run)
  run.delayed, run.delayed_seen = {}, {}
  local t0 = sys.now()

  local locked, lerr = state.lock(o.state_dir, o.lock_timeout)
  if not locked then
    errors.input(lerr)
  end
  reporter:run_start({ node = run.node.hostname, why_run = o.why_run or false,
    resources = #run.collection, run_list = o.run_list })
  replay_pending(run)

  local ok = true
  -- Numeric loops over the collection here and in compile: ipairs costs a
  -- call into C per element, in the loops that run once per resource.
  local collection = run.collection
  for j = 1, #collection do
    local r = collection[j]
    if not converge_resource(run, r, r.actions, nil) then
      ok = false
      break
    end
  end
  local i = 1
  while ok and i <= #run.delayed do
    local d = run.delayed[i]
    i = i + 1
    if not converge_resource(run, d.target, { d.action }, d.from .. " (delayed)") then
      ok = false
      i = i - 1 -- the failed one stays pending too
    end
  end
  if not o.why_run then
    local pending = ok and {} or pending_list(run, i)
    local saved, serr = state.save_pending(o.state_dir, pending)
    if not saved then reporter:message("warn", "cannot save pending notifications: " .. serr) end
    if #pending > 0 then
      for _, n in ipairs(pending) do
        reporter:message("warn", string.format(
          "run failed with %s %s pending; it is saved and will run on the next run", n.action, n.ref))
      end
    end
  end

  local summary = { event = "run_end", node = run.node.hostname, why_run = o.why_run or false,
    resources = #run.collection, updated = 0, failed = 0, skipped = 0, up_to_date = 0,
    ignored = 0, not_run = 0 }
  for j = 1, #collection do
    local r = collection[j]
    local s = r.status
    if s == "updated" or s == "would-update" then summary.updated = summary.updated + 1
    elseif s == "failed" and r.ignored_failure then summary.ignored = summary.ignored + 1
    elseif s == "failed" then summary.failed = summary.failed + 1
    elseif s == "skipped" then summary.skipped = summary.skipped + 1
    elseif s == "up-to-date" then summary.up_to_date = summary.up_to_date + 1
    else summary.not_run = summary.not_run + 1 end
  end
  summary.success = ok
  summary.duration = sys.now() - t0
  reporter:run_end(summary)
  return summary
end

return M
