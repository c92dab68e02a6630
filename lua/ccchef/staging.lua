-- ccchef.staging: changes held back until a barrier, then checked as sets
-- and made only if their set passes (docs/resources.md, "Staged changes").
-- The engine decides what is staged (a unit's `stage`) and where the
-- barriers are; this module keeps what is held (run.staging, shared by
-- nested runs) and decides it. `finish_action` is the engine's
-- record-report-notify step for an event, passed in (no cycle).
local errors = require("ccchef.errors")
local notify = require("ccchef.notify")
local Run = require("ccchef.run")
local sys = require("ccchef.sys")

local M = {}

-- Hold the staged event ev of resource r (converging in run).
function M.hold(run, r, ev)
  run.staging[#run.staging + 1] = { run = run, r = r, ev = ev }
  -- Counted as a change by an enclosing composite until decided.
  Run.record(r, "would-update")
end

-- What is held from inside composite r (at any depth): a list and a set
-- of resources, or nil.
function M.inside(run, r)
  local pending, pending_r = {}, {}
  for _, it in ipairs(run.staging) do
    local a = it.run.ahead
    while a and a.r ~= r do a = a.up end
    if a then
      pending[#pending + 1] = it
      pending_r[it.r] = true
    end
  end
  if #pending == 0 then return nil, pending_r end
  return pending, pending_r
end

-- The staged change of a composite that waits for pending (held after
-- them, so decided after them); changed: what inside it changed already.
function M.follower(pending, changed)
  return { key = "composite " .. tostring(pending), follows = pending, changed_now = changed,
    check = function() return nil end }
end

-- Staged changes a stop left behind were never made nor reported.
function M.drop(run)
  for _, it in ipairs(run.staging) do it.r.status = nil end
end

-- The barrier: every staged change is checked, set by set (the unit's
-- stage gives the set: its key and the check that decides it), and, when
-- its set passes, made (not under why-run) and reported; a failing set
-- fails its members, none of which is made. Returns false when the run
-- must stop.
function M.commit(run, finish_action)
  local staging = run.staging
  if #staging == 0 then return true end
  -- Emptied in place: nested runs share the table (ccchef.run).
  local items = {}
  for k = 1, #staging do items[k] = staging[k] end
  for k = #staging, 1, -1 do staging[k] = nil end
  local sets, order = {}, {}
  for _, it in ipairs(items) do
    local key = it.ev.staged.key
    if not sets[key] then
      sets[key] = {}
      order[#order + 1] = key
    end
    sets[key][#sets[key] + 1] = it
  end
  local why_run = run.opts.why_run
  local keep_going = true
  for _, key in ipairs(order) do
    local set = sets[key]
    local members = {}
    for i, it in ipairs(set) do members[i] = it.ev.staged end
    -- Every member of a checked set is reported with its verdict, also
    -- after the first failure; a set after a stop is not checked at all.
    local stopped = not keep_going
    local t0 = sys.now()
    local ok, verdict = true, nil
    if not stopped then ok, verdict = xpcall(set[1].ev.staged.check, errors.classify, members, run.ctx) end
    local check_time = sys.now() - t0
    local failed_at = nil
    for i, it in ipairs(set) do
      local ev, st, r = it.ev, it.ev.staged, it.r
      ev.staged = nil
      ev.duration = (ev.duration or 0) + (i == 1 and check_time or 0)
      if st.follows then
        -- A composite whose staged changes inside were just decided.
        local changed, failed = {}, nil
        for _, x in ipairs(st.changed_now) do changed[#changed + 1] = x end
        for _, f in ipairs(st.follows) do
          if f.ev.status == "updated" or f.ev.status == "would-update" then
            changed[#changed + 1] = f.r.ref
          elseif f.ev.status == "failed" and not f.ev.ignored then
            failed = failed or f
          end
        end
        if failed then
          ev.status, ev.error = "failed", errors.inner_failure(failed.r.ref, failed.ev)
        elseif #changed > 0 then
          ev.status, ev.changes = why_run and "would-update" or "updated", changed
        else
          ev.status, ev.changes = "up-to-date", nil
        end
      elseif stopped then
        -- An earlier set stopped the run: this one is not checked or made.
        ev.status = "failed"
        ev.error = "not made: the run stopped before its staged set was checked"
      elseif not ok then
        ev.status = "failed"
        if verdict.kind == "internal" then
          ev.error = "internal error in ccchef (please report): " .. verdict.message
          ev.internal = verdict
        else
          ev.error = verdict.message
          ev.output = verdict.output
        end
      elseif verdict and verdict[i] then
        ev.status = "failed"
        ev.error, ev.output = verdict[i].message, verdict[i].output
      elseif failed_at then
        ev.status = "failed"
        ev.error = "not made: " .. failed_at .. " failed while its set went live"
      elseif st.unchanged then
        ev.status, ev.changes, ev.diff = "up-to-date", nil, nil
      elseif why_run then
        ev.status = "would-update"
      else
        if #r.notify_list > 0 or it.run.ahead then notify.before_change(it.run, r) end
        local done, info = xpcall(st.apply, errors.classify)
        if done then
          ev.status = "updated"
          if type(info) == "table" then ev.backup, ev.output = info.backup, info.output end
        else
          ev.status = "failed"
          ev.error = info.kind == "internal" and ("internal error in ccchef (please report): " .. info.message)
            or info.message
          ev.output = info.output
          ev.internal = info.kind == "internal" and info or nil
          failed_at = r.ref
        end
        if it.run.wal_fresh then notify.after_change(it.run, ev.status == "updated") end
      end
      if ev.status == "failed" and r.props.ignore_failure == true and not ev.internal then ev.ignored = true end
      if ev.status ~= "failed" or ev.ignored then
        r.status = nil -- recorded as would-update while staged
      end
      if not finish_action(it.run, r, ev) then
        keep_going = false
        if it.run == run then
          run.failure = run.failure or it.run.failure
        elseif not run.failure then
          -- Inside a composite: the run's one stderr line names the
          -- outermost composite the recipe declared and carries the inner
          -- error with its output, as an unstaged failure inside does.
          local top = it.run.ahead
          while top.up do top = top.up end
          run.failure = { resource = top.r.ref, file = top.r.file, line = top.r.line,
            error = errors.inner_failure(r.ref, ev) }
        end
      end
    end
  end
  return keep_going
end

return M
