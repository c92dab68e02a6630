-- ccchef.engine: the converge phase of a run (DESIGN.md 3). The compile
-- phase (ccchef.compile, beside the recipe language) has built the
-- collection; this module needs nothing of that language.
--
-- converge: for each resource in order, evaluate its lazy values and guards
-- (ccchef.evaluate), ask its unit for the current state and a plan, act
-- only on a difference (or report it under why-run), emit an event, and
-- queue notifications. Delayed notifications
-- run at the end, each once; a change's notifications are journaled before
-- the change (ccchef.notify), so if the run fails or is killed first the
-- next run replays them. A signal stops the run between two resources.
local errors = require("ccchef.errors")
local evaluate = require("ccchef.evaluate")
local notify = require("ccchef.notify")
local proc = require("ccchef.proc")
local Run = require("ccchef.run")
local staging = require("ccchef.staging")
local state = require("ccchef.state")
local sys = require("ccchef.sys")

local M = {}

local resolve_props, guards = evaluate.properties, evaluate.guards

-- Whether the reporter shows content diffs (file units skip computing one
-- nobody will see): why-run, JSON (it emits whole events: r.emit), any
-- other reporter, or a human one at -l info or more.
local function shows_diff(o)
  local r = o.reporter
  if o.why_run or not r or r.emit or r.level == nil then return true end
  return r.level >= 3
end

-- ctx.planned, an engine service: the directories the resources planned so
-- far would create. Why-run creates nothing, so a resource after
-- `directory "/srv/app"` would find its parent missing and report a
-- failure the real run would not have; units ask ctx.planned:has(parent)
-- instead of knowing whether this is a why-run. In a real run a planned
-- directory is made before the next resource plans, so the service
-- records nothing and answers false.
local Planned = {}
Planned.__index = Planned

-- path, and the missing ancestors a recursive create makes (a list the
-- unit's load found, or nil): plan records, it does not look.
function Planned:add(path, ancestors)
  if not self.dirs then return end
  self.dirs[path] = true
  for i = 1, ancestors and #ancestors or 0 do self.dirs[ancestors[i]] = true end
end

function Planned:has(path)
  return self.dirs ~= nil and self.dirs[path] == true
end

-- Units never see whether this run is a why-run: the engine alone decides
-- whether apply is called (act), and what an error a unit flags with
-- `assumed` means (converge_action).

-- The context units receive: what they may need from the run, nothing more.
local function make_ctx(run)
  local o = run.opts
  return {
    planned = setmetatable({ dirs = o.why_run and {} or nil }, Planned),
    show_diff = shows_diff(o),
    backup_dir = o.backup_dir,
    backups = o.backups,
    command_timeout = o.command_timeout,
    stream_prefix = "    | ",
    node = run.node,
    cache = {},
  }
end

-- The work of converge_action, under its xpcall. A named function called
-- with arguments, not a closure: a closure over four locals costs five
-- allocations per resource.
local function act(run, r, action, ev, ctx)
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
  if r.unit.converge then
    local result = r.unit.converge(p, action, ctx, function(body, base)
      return M.converge_nested(run, r, body, base)
    end)
    ev.status, ev.changes, ev.staged = result.status, result.changes, result.staged
    return
  end
  local pf = run.prefetch
  ctx.prefetched = pf and pf.members[r] and pf.data or nil
  -- Under classify, so that a bug in load keeps the traceback of where
  -- it was raised.
  local ok_load, current = xpcall(r.unit.load, errors.classify, p, ctx, action)
  ctx.prefetched = nil
  if not ok_load then error(current, 0) end
  -- plan: the changes shown, a diff, and the steps apply takes (nil when
  -- the unit needs nothing more than p and current).
  local changes, diff, steps = r.unit.plan(p, current, action, ctx)
  if not changes or #changes == 0 then
    ev.status = "up-to-date"
    return
  end
  ev.changes = changes
  if not p.sensitive then ev.diff = diff end
  -- A staged change (docs/resources.md, "Staged changes") is not made
  -- now: it waits, unreported, for the next barrier, where its set is
  -- checked as a whole and goes live only if the check passes.
  local staged = r.unit.stage and r.unit.stage(p, current, action, ctx, steps)
  if staged then
    ev.status = "staged"
    staged.apply = function() return r.unit.apply(p, current, action, steps, ctx) end
    ev.staged = staged
    return
  end
  if run.opts.why_run then
    ev.status = "would-update"
    return
  end
  -- Write-ahead: what this change will notify is on disk before it is made.
  if #r.notify_list > 0 or run.ahead then notify.before_change(run, r) end
  local info = r.unit.apply(p, current, action, steps, ctx)
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
    action = action, file = r.file, line = r.line, via = via, parent = run.parent_ref,
    status = nil, duration = nil }
  -- errors.classify tells the user's and the world's errors (tables) from
  -- a bug in ccchef (anything else: an internal error with its traceback).
  local ok, err = xpcall(act, errors.classify, run, r, action, ev, ctx)
  if not ok and err.kind == "internal" then
    -- Never hidden by ignore_failure: converge_resource stops the run with
    -- it after reporting the event (exit 70, docs/architecture.md).
    ev.status = "failed"
    ev.error = "internal error in ccchef (please report): " .. err.message
    ev.internal = err
  elseif not ok and run.opts.why_run and err.assumed then
    -- What the resource would do if what an earlier resource would
    -- install or create were there (a service's package, apache2): the
    -- unit says so with the error's `assumed` changes ({} = nothing to do).
    ev.status = #err.assumed > 0 and "would-update" or "up-to-date"
    ev.changes = #err.assumed > 0 and err.assumed or nil
    if err.diff and not r.props.sensitive then ev.diff = err.diff end
  elseif not ok and run.opts.why_run and run.would_change and (err.lazy or err.assumable) then
    -- Under why-run a lazy value may read what an earlier resource would
    -- have written, and a parent directory, owner or program an earlier
    -- resource would create is missing: not a failure, but unknown until
    -- those changes are made (Chef's why-run "assumptions"). Units flag
    -- such errors with `lazy = true` or `assumable = true`.
    ev.status = "would-update"
    ev.changes = { "unknown until the changes before it are made (" .. err.message .. ")" }
  elseif not ok then
    ev.status = "failed"
    -- Errors from inside a custom resource carry their own location.
    ev.error = err.file and errors.format(err) or err.message
    ev.output = err.output
    if r.props.ignore_failure == true then ev.ignored = true end
  end
  -- Any change may change what a prefetch read (removing one package can
  -- remove others): it is taken again for the resources still to come.
  if ev.status ~= "up-to-date" and ev.status ~= "skipped" and ev.status ~= "would-update" then
    run.prefetch = nil
  end
  ev.duration = sys.now() - t0
  if ev.sensitive and ev.output then ev.output = "(sensitive output hidden)" end
  return ev
end

local converge_resource

-- Batched state loading (docs/resources.md, `prefetch`): a unit with a
-- prefetch hook is called once with the resource about to converge and the
-- consecutive resources of the same type after it, so it can read the state
-- of all of them at once (one dpkg-query for twenty packages). What it
-- returns reaches load as ctx.prefetched, for those resources only, until a
-- resource changes something. Resources with lazy properties are left out:
-- lazy values are evaluated only when their own resource converges. A failing
-- prefetch is ignored; each load then reads (and reports) for itself.
local function prefetch_group(run, index)
  local unit = run.collection[index].unit
  local members, items = {}, {}
  for i = index, #run.collection do
    local x = run.collection[i]
    if x.unit ~= unit then break end
    if next(x.lazy) == nil then
      local p = {}
      for k, v in pairs(x.props) do p[k] = v end
      p.name, p.recipe_dir = x.name, x.dir
      members[x] = true
      items[#items + 1] = { props = p, actions = x.actions }
    end
  end
  run.prefetch = nil
  if #items == 0 then return end
  local ok, data = pcall(unit.prefetch, items, run.ctx)
  if ok then run.prefetch = { members = members, data = data } end
end

-- What follows an action's event: record, report, notify. Returns false
-- when the run must stop.
local function finish_action(run, r, ev)
    run.last_ref = r.ref
    Run.record(r, ev.status)
    if ev.ignored then r.ignored_failure = true end
    local changed = ev.status == "updated" or ev.status == "would-update"
    if changed then run.would_change = true end
    if changed and r.implicit_missing and not r.warned_missing then
      r.warned_missing = true
      run.reporter:message("warn", r.ref .. ": " .. r.implicit_missing)
    end
    if changed and #r.notify_list > 0 then
      ev.notifications = {}
      for _, n in ipairs(r.notify_list) do
        ev.notifications[#ev.notifications + 1] = { action = n.action, resource = n.target.ref,
          timing = n.timing }
      end
    end
    run.reporter:resource(ev)
    -- A bug in ccchef: up through nested runs and notifications to
    -- M.converge, which saves what is pending and raises it again.
    if ev.internal then error(ev.internal, 0) end
    if ev.status == "failed" and not ev.ignored then
      run.failure = run.failure or ev
      return false
    end
    if changed then
      for _, n in ipairs(r.notify_list) do
        if n.timing == "immediately" then
          if not notify.now(run, r, n, converge_resource) then return false end
        else
          notify.queue(run, n.action, n.target, r.ref)
        end
      end
    end
  return true
end

-- Returns false when the run must stop.
converge_resource = function(run, r, actions, via)
  -- A barrier: a resource that may start, stop or read what staged
  -- changes are about (a service, a command) sees them live or not at
  -- all. Composites are no barrier (what they declare decides), nor are
  -- units that only write files (`inert`).
  local inert = r.unit.inert
  if type(inert) == "function" then inert = inert(r) end
  if #run.staging > 0 and not inert and not r.unit.converge then
    if not staging.commit(run, finish_action) then return false end
  end
  for i = 1, #actions do
    local action = actions[i]
    local ev = converge_action(run, r, action, via)
    if ev.status == "staged" then
      staging.hold(run, r, ev)
    else
      if run.wal_fresh then notify.after_change(run, ev.status == "updated") end
      if not finish_action(run, r, ev) then return false end
    end
  end
  return true
end


local MAX_NESTING = 20

-- Converge what a composite resource (a custom resource's action) declares:
-- body(child) declares into a nested run (ccchef.run.child) that shares
-- this run's context, reporter and delayed queue, and finishes it
-- (ccchef.compile.finish); notifications may target resources of the
-- enclosing runs. Returns { status, changes } for the composite's event.
function M.converge_nested(run, r, body, base)
  if (run.depth or 0) >= MAX_NESTING then
    errors.converge(string.format("custom resources nested more than %d deep (does %s use itself?)", MAX_NESTING, r.type))
  end
  local child = Run.child(run, r, base)
  body(child)
  for _, cr in ipairs(child.collection) do
    local ok = converge_resource(child, cr, cr.actions, nil)
    if not ok then errors.converge(errors.inner_failure(cr.ref, child.failure)) end
  end
  -- Staged changes inside it: its own event waits for their verdict
  -- (ccchef.staging), so it is never reported updated, nor notifies, for
  -- a change that does not go live.
  local pending, pending_r = staging.inside(run, r)
  local changed = {}
  for _, cr in ipairs(child.collection) do
    if (cr.status == "updated" or cr.status == "would-update") and not pending_r[cr] then changed[#changed + 1] = cr.ref end
  end
  if pending then return { status = "staged", staged = staging.follower(pending, changed) } end
  if #changed == 0 then return { status = "up-to-date" } end
  return { status = run.opts.why_run and "would-update" or "updated", changes = changed }
end

-- A signal (SIGTERM, SIGINT, SIGHUP) asked the run to stop: it stops
-- between two resources, never inside one (docs/cli.md "Signals").
local function interrupted(run, next_ref)
  local sig = proc.interrupted()
  if not sig then return false end
  run.interrupted = sig
  run.failure = run.failure or { error = string.format("interrupted by %s after %s; %s and what follows not run",
    sig, run.last_ref or "no resource", next_ref) }
  return true
end

-- Every resource in order, then the delayed notifications. Returns false
-- when a failure or a signal stopped the run.
local function converge_all(run, collection)
  -- Numeric loops over the collection here and in compile: ipairs costs a
  -- call into C per element, in the loops that run once per resource.
  for j = 1, #collection do
    local r = collection[j]
    if interrupted(run, r.ref) then return false end
    if r.unit.prefetch and not (run.prefetch and run.prefetch.members[r]) then
      prefetch_group(run, j)
    end
    if not converge_resource(run, r, r.actions, nil) then return false end
  end
  if not staging.commit(run, finish_action) then return false end
  if not notify.run_delayed(run, interrupted, converge_resource) then return false end
  return staging.commit(run, finish_action)
end

-- The converge phase. Returns the summary table; raises an internal error
-- (kind "internal", with its traceback) when ccchef has a bug.
function M.converge(run)
  local o = run.opts
  local reporter = o.reporter
  run.reporter = reporter
  run.ctx = make_ctx(run)
  run.staging = {}
  notify.start(run)
  local t0 = sys.now()

  -- A held lock is not the user's mistake: the same command works once the
  -- other run ends, so it is a failure (exit 1), not bad input (exit 2).
  local locked, lerr = state.lock(o.state_dir, o.lock_timeout)
  if not locked then
    errors.converge(lerr)
  end
  -- Temporaries a killed run left in the directories it was writing
  -- (fs.c, docs/safety.md); from here on this run records its own.
  sys.inflight_start(o.state_dir .. "/inflight", o.why_run)
  local lock_warning = lerr
  -- From here a signal stops the run after the current resource, with the
  -- pending notifications saved (before, it just ends the process: nothing
  -- has been changed yet).
  proc.catch_interrupts()
  reporter:run_start({ node = run.node.hostname, why_run = o.why_run or false,
    resources = #run.collection, run_list = o.run_list })
  if lock_warning then reporter:message("warn", lock_warning) end
  notify.replay_pending(run)

  local collection = run.collection
  local done, ok = xpcall(converge_all, errors.classify, run, collection)
  staging.drop(run)
  if not done then
    -- An internal error (a bug in ccchef): what is pending is saved as
    -- for any failed run, then the error goes on to the exit with 70 and
    -- its traceback (ccchef.converge).
    notify.finish(run, false)
    error(ok, 0)
  end
  notify.finish(run, ok)

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
  summary.interrupted = run.interrupted
  local f = run.failure
  if f then
    -- The failure that stopped the run, for the one-line message on stderr.
    summary.error = { resource = f.resource, file = f.file, line = f.line, message = f.error }
  end
  summary.duration = sys.now() - t0
  reporter:run_end(summary)
  return summary
end

return M
