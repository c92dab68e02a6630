-- ccchef.notify: notifications between resources during a converge.
-- Immediate ones converge their target at once; delayed ones are queued,
-- once per target and action, and run at the end of the run; a queued
-- action another queued one covers (a unit's `subsumes`: restart covers
-- reload) is skipped. When a run fails with notifications still queued they
-- are saved in the state directory and the next run replays them
-- (durable notifications, docs/recipes.md).
local state = require("ccchef.state")

local M = {}

-- The engine's converge_resource(run, r, actions, via) and record(r, status),
-- bound once by the engine (which requires this module).
local converge, record

function M.bind(converge_fn, record_fn)
  converge, record = converge_fn, record_fn
end

function M.start(run)
  run.delayed, run.delayed_seen = {}, {}
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
function M.now(run, r, n)
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
    record(n.target, "failed")
    run.failure = run.failure or ev
    run.reporter:resource(ev)
    return false
  end
  chain[#chain + 1] = r
  chain[r] = true
  local ok = converge(run, n.target, { n.action }, r.ref)
  chain[r] = nil
  chain[#chain] = nil
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

-- Run the delayed queue (it may grow while it runs: a notified resource
-- can notify in turn). Returns true, or false when one failed; run.next_delayed
-- is then the first one not done (the failed one stays pending too).
function M.run_delayed(run)
  local i = 1
  while i <= #run.delayed do
    local d = run.delayed[i]
    local covered = subsumed(run, d)
    if covered then
      run.reporter:message("info", string.format("%s %s not needed: %s %s is queued too", d.action,
        d.target.ref, covered, d.target.ref))
    elseif not converge(run, d.target, { d.action }, d.via) then
      run.next_delayed = i
      return false
    end
    i = i + 1
  end
  return true
end

-- Notifications a failed earlier run left: they go into this run's delayed
-- queue so they fire once, after this run has converged the resources.
function M.replay_pending(run)
  local list, warn = state.load_pending(run.opts.state_dir)
  if warn then run.reporter:message("warn", warn) end
  for _, n in ipairs(list) do
    local target = run.index[n.ref]
    if target and target.unit.action_set[n.action] then
      run.reporter:message("info", string.format(
        "replaying %s %s, left pending by a failed run (from %s)", n.action, n.ref,
        tostring(n.from)))
      M.queue(run, n.action, target, tostring(n.from),
        tostring(n.from) .. " in an earlier run that failed")
    else
      run.reporter:message("warn", string.format(
        "dropping pending notification %s %s: that resource is not in this run", n.action, n.ref))
    end
  end
end

-- At the end of a run (not under why-run): clear the pending file, or save
-- what a failed run left queued, and say so.
function M.finish(run, ok)
  local o = run.opts
  if o.why_run then return end
  local pending = {}
  if not ok then
    for i = run.next_delayed or 1, #run.delayed do
      local d = run.delayed[i]
      pending[#pending + 1] = { action = d.action, ref = d.target.ref, from = d.from }
    end
  end
  local saved, serr = state.save_pending(o.state_dir, pending)
  if not saved then run.reporter:message("warn", "cannot save pending notifications: " .. serr) end
  for _, n in ipairs(pending) do
    run.reporter:message("warn", string.format(
      "the run failed before %s could %s (notified by %s); saved in %s, it will fire on the next run",
      n.ref, n.action, tostring(n.from), state.pending_path(o.state_dir)))
  end
end

return M
