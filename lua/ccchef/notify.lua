-- ccchef.notify: notifications between resources during a converge.
-- Immediate ones converge their target at once; delayed ones are queued,
-- once per target and action, and run at the end of the run; a queued
-- action another queued one covers (a unit's `subsumes`: restart covers
-- reload) is skipped.
--
-- Durable (DESIGN.md 4, docs/recipes.md "Durable notifications"): before a
-- resource applies a change, the notifications that change will send are
-- appended to a journal in the state directory and fsynced (write-ahead:
-- a kill between the change and the notification cannot lose it); each is
-- marked fired once it has run. The next run replays what is still
-- pending, whatever killed this one. A run that ends cleanly removes the
-- journal; a run that fails rewrites it with what is still pending.
--
-- `converge` below is the engine's converge_resource(run, r, actions, via),
-- which the engine passes in: this module converges a notified resource
-- through the engine without requiring it (no cycle).
local Run = require("ccchef.run")
local state = require("ccchef.state")

local M = {}

-- The write-ahead state of one run, shared by its nested runs: which
-- journal keys are pending (recorded queued, not yet fired), which of them
-- reached the disk, and their records in order.
function M.start(run)
  run.delayed, run.delayed_seen = {}, {}
  run.wal = { dir = run.opts.state_dir, pending = {}, durable = {}, order = {}, records = {},
    exists = false, warned = false, read_only = run.opts.why_run }
end

local function wal_fired(run, key)
  local wal = run.wal
  if not wal.pending[key] then return end
  wal.pending[key] = nil
  if not wal.durable[key] or wal.read_only then return end
  local rec = wal.records[key]
  -- Not synced: if it is lost, the notification fires once more on the
  -- next run (at least once), which is what the journal promises.
  state.append(wal.dir, { state.record("fired", rec.timing, rec.action, rec.ref) }, false)
end

-- Before r applies a change (not under why-run): put on disk what that
-- change will notify, its own notifications and those of the composite
-- resources it is part of (run.ahead). One write and one fsync for all of
-- them; nothing when they are already pending.
function M.before_change(run, r)
  local wal = run.wal
  local records, keys
  local ahead = { r = r, up = run.ahead }
  while ahead do
    for _, n in ipairs(ahead.r.notify_list) do
      local timing = n.timing == "immediately" and "immediately" or "delayed"
      local key = state.key(timing, n.action, n.target.ref)
      if not wal.pending[key] then
        records = records or {}
        keys = keys or {}
        wal.pending[key] = true
        if not wal.records[key] then
          wal.order[#wal.order + 1] = key
        end
        wal.records[key] = { timing = timing, action = n.action, ref = n.target.ref, from = ahead.r.ref }
        records[#records + 1] = state.record("queued", timing, n.action, n.target.ref, ahead.r.ref)
        keys[#keys + 1] = key
      end
    end
    ahead = ahead.up
  end
  if not records then return end
  run.wal_fresh = keys
  local ok, err = state.append(wal.dir, records, true)
  if ok then
    wal.exists = true
    for _, key in ipairs(keys) do wal.durable[key] = true end
  elseif not wal.warned then
    wal.warned = true
    run.reporter:message("warn", "cannot record pending notifications before the change: " .. err
      .. "; they fire in this run, but would be lost if it were killed")
  end
end

-- After r's action: a failed change notifies nothing, so what
-- before_change recorded for it is not pending after all.
function M.after_change(run, changed)
  local fresh = run.wal_fresh
  if not fresh then return end
  run.wal_fresh = nil
  if changed then return end
  for _, key in ipairs(fresh) do wal_fired(run, key) end
end

-- from: the notifying resource; via: how the report names the cause.
function M.queue(run, action, target, from, via)
  local key = action .. " " .. target.ref
  if run.delayed_seen[key] then return end
  run.delayed_seen[key] = true
  run.delayed[#run.delayed + 1] = { action = action, target = target, from = from, key = key,
    via = via or (from .. " (delayed)") }
end

-- An immediate notification: the target converges now. Resources that
-- notify each other immediately and always change (two executes) would
-- recurse for ever; a chain that comes back to a resource fails instead.
-- Returns false when the run must stop.
function M.now(run, r, n, converge)
  local chain = run.immediate_chain
  if not chain then
    chain = {}
    run.immediate_chain = chain
  end
  if chain[n.target] or n.target == r then
    local names = {}
    for _, x in ipairs(chain) do names[#names + 1] = x.ref end
    names[#names + 1] = r.ref
    names[#names + 1] = n.target.ref
    local ev = { event = "resource", type = n.target.type, name = n.target.name, resource = n.target.ref,
      action = n.action, file = r.file, line = r.line, via = r.ref, parent = run.parent_ref, status = "failed",
      error = "immediate notifications go round in a loop: " .. table.concat(names, " -> "), duration = 0 }
    Run.record(n.target, "failed")
    run.failure = run.failure or ev
    run.reporter:resource(ev)
    return false
  end
  chain[#chain + 1] = r
  chain[r] = true
  local ok = converge(run, n.target, { n.action }, r.ref)
  chain[r] = nil
  chain[#chain] = nil
  if ok then wal_fired(run, state.key("immediately", n.action, n.target.ref)) end
  return ok
end

-- The queued action that makes d redundant, or nil.
local function subsumed(run, d)
  local subsumes = d.target.unit.subsumes
  if not subsumes then return nil end
  for _, e in ipairs(run.delayed) do
    if e ~= d and e.target == d.target then
      for _, covered in ipairs(subsumes[e.action] or {}) do
        if covered == d.action then return e.action end
      end
    end
  end
  return nil
end

local function fired(run, d)
  wal_fired(run, state.key("delayed", d.action, d.target.ref))
  if d.replayed_immediate then wal_fired(run, state.key("immediately", d.action, d.target.ref)) end
end

-- Run the delayed queue (it may grow while it runs: a notified resource
-- can notify in turn). Returns true, or false when one failed or a signal
-- asked the run to stop (run.interrupted); run.next_delayed is then the
-- first one not done (the failed one stays pending too).
function M.run_delayed(run, interrupted, converge)
  local i = 1
  while i <= #run.delayed do
    local d = run.delayed[i]
    if interrupted(run, d.target.ref) then
      run.next_delayed = i
      return false
    end
    local covered = subsumed(run, d)
    if covered then
      run.reporter:message("info", string.format("%s %s not needed: %s %s is queued too", d.action,
        d.target.ref, covered, d.target.ref))
    elseif not converge(run, d.target, { d.action }, d.via) then
      run.next_delayed = i
      return false
    end
    fired(run, d)
    i = i + 1
  end
  return true
end

-- Notifications an earlier run left pending (it failed, or was killed):
-- they go into this run's delayed queue so they fire once, after this run
-- has converged the resources. An immediate one left by a killed run
-- fires there too: its moment has passed.
function M.replay_pending(run)
  local wal = run.wal
  local list, exists, warnings = state.load_pending(run.opts.state_dir)
  wal.exists = exists
  for _, w in ipairs(warnings) do run.reporter:message("warn", w) end
  for _, n in ipairs(list) do
    local target = run.index[n.ref]
    if target and target.unit.action_set[n.action] then
      local key = state.key(n.timing, n.action, n.ref)
      if not wal.pending[key] then
        wal.pending[key], wal.durable[key] = true, true
        wal.order[#wal.order + 1] = key
        wal.records[key] = n
      end
      run.reporter:message("info", string.format(
        "replaying %s %s, left pending by a failed run (from %s)", n.action, n.ref, n.from))
      M.queue(run, n.action, target, n.from, n.from .. " in an earlier run that failed")
      if n.timing == "immediately" then
        for _, d in ipairs(run.delayed) do
          if d.target == target and d.action == n.action then d.replayed_immediate = true end
        end
        -- Its delayed twin is what fires now: journal it as pending too.
        local dkey = state.key("delayed", n.action, n.ref)
        if not wal.pending[dkey] then
          wal.pending[dkey], wal.records[dkey] = true, { timing = "delayed", action = n.action, ref = n.ref, from = n.from }
          wal.order[#wal.order + 1] = dkey
        end
      end
    else
      run.reporter:message("warn", string.format(
        "dropping pending notification %s %s: that resource is not in this run", n.action, n.ref))
    end
  end
end

-- At the end of a run (not under why-run): a clean run removes the
-- journal; a failed or interrupted one rewrites it with what is still
-- pending, and says so, or says plainly that it could not.
function M.finish(run, ok)
  local o = run.opts
  if o.why_run then return end
  local wal = run.wal
  if ok then
    if wal.exists then
      local done, err = state.clear_pending(o.state_dir)
      if not done then run.reporter:message("warn", "cannot remove the journal of notifications: " .. err) end
    end
    return
  end
  local pending, seen = {}, {}
  for i = run.next_delayed or 1, #run.delayed do
    local d = run.delayed[i]
    local key = state.key("delayed", d.action, d.target.ref)
    seen[key] = true
    pending[#pending + 1] = { timing = "delayed", action = d.action, ref = d.target.ref, from = d.from, key = key }
  end
  -- Immediate ones whose target had not finished when the run stopped.
  for _, key in ipairs(wal.order) do
    local rec = wal.records[key]
    if wal.pending[key] and rec.timing == "immediately" and not seen[state.key("delayed", rec.action, rec.ref)] then
      pending[#pending + 1] = { timing = "immediately", action = rec.action, ref = rec.ref, from = rec.from, key = key }
    end
  end
  if #pending == 0 and not wal.exists then return end
  local saved, serr = state.save_pending(o.state_dir, pending)
  if not saved then run.reporter:message("warn", "cannot save pending notifications: " .. serr) end
  local path = state.pending_path(o.state_dir)
  for _, n in ipairs(pending) do
    local where
    if saved then
      where = "saved in " .. path .. ", it will fire on the next run"
    elseif wal.durable[n.key] then
      where = "the journal " .. path .. " still holds it (written before the change), it will fire on the next run"
    else
      where = "NOT saved, it will not fire on the next run: run it by hand"
    end
    run.reporter:message("warn", string.format("the run %s before %s could %s (notified by %s); %s",
      run.interrupted and "stopped" or "failed", n.ref, n.action, tostring(n.from), where))
  end
end

return M
