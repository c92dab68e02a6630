-- ccchef.rollout: rolling deploys through load balancers (`ccchef remote
-- --serial N` on balanced nodes; docs/failover.md, "Rolling deploys").
-- ccchef.remote_fanout runs the batches; this module gives it the steps
-- around each batch:
--
--   before: drain the batch's balanced nodes on every balancer that serves
--           them, and wait for their sessions to reach 0 (--drain-timeout);
--           a node that could not be drained is failed and not converged;
--   (the batch converges: the node's health checks, e.g. http_check
--   resources, are part of its run list)
--   after:  put back each node that converged (ready), and wait for the
--           balancer's own check to say UP (--drain-timeout); one whose
--           check stays down is drained again and failed. A node whose
--           converge failed stays drained.
--
-- Each phase is a `rollout` event per node {phase = "drain" | "converge" |
-- "undrain", ok, message, balancers}.
local balancer = require("ccchef.balancer")
local render = require("ccchef.remote_render")

local M = {}

local function phrase(list)
  local parts = {}
  for _, o in ipairs(list or {}) do parts[#parts + 1] = render.describe_balancer(o) end
  return table.concat(parts, "; ")
end

-- The balancers' answers are not shown one by one: they become each
-- node's one rollout event per phase (sent when all its balancers
-- answered), whose message carries a balancer's own trouble (unreachable,
-- a runner error) too.
local function ignore() end

-- The hooks for remote_fanout, or nil when no node of the run is balanced.
-- ctx: ccchef.balancer.context, made before the controller entered the
-- kitchen. Raises the input errors of bad balancer attributes.
function M.hooks(ctx, nodes, timeout)
  local listed = {}
  for _, n in ipairs(nodes) do
    if n.from_inventory then listed[#listed + 1] = n end
  end
  local groups = balancer.groups(ctx, listed)
  if #groups == 0 then return nil end
  local served = {}
  for _, g in ipairs(groups) do
    for _, s in ipairs(g.servers) do served[s.node] = true end
  end

  local function batch_set(results, first, last, want)
    local only, any = {}, false
    for j = first, last do
      local r = results[j]
      if served[r.name] and want(r) then only[r.name], any = true, true end
    end
    return any and only or nil
  end

  local function event(on_event, r, phase, ok, message, list)
    on_event(r, { event = "rollout", phase = phase, ok = ok, message = message, balancers = list })
  end

  -- Ask the balancers to put the nodes of set ONLY in STATE and wait; each
  -- gets its rollout event of PHASE, ok (OK_TEXT) when all its balancers
  -- did it, else the node fails at that stage (FAIL_TEXT). Returns the set
  -- of the nodes that failed.
  local function ask_batch(results, first, last, on_event, only, state, phase, ok_text, fail_text)
    local outcomes = balancer.ask(ctx, groups, state, timeout, only, ignore)
    local failed = {}
    for j = first, last do
      local r = results[j]
      if only[r.name] then
        local list = outcomes[r.name]
        if balancer.all_ok(list) then
          event(on_event, r, phase, true, ok_text .. phrase(list), list)
        else
          r.code = 1
          r.node_error = { stage = phase, message = fail_text .. phrase(list) }
          failed[r.name] = true
          event(on_event, r, phase, false, r.node_error.message, list)
        end
      end
    end
    return failed
  end

  local hooks = {}
  function hooks.before(results, first, last, on_event)
    local only = batch_set(results, first, last, function(r) return r.code == nil end)
    if not only then return end
    ask_batch(results, first, last, on_event, only, "drain", "drain",
      "drained: ", "not drained, so not converged: ")
  end

  function hooks.after(results, first, last, on_event)
    local back = batch_set(results, first, last, function(r) return r.code == 0 end)
    for j = first, last do
      local r = results[j]
      if served[r.name] and not (r.node_error and r.node_error.stage == "drain") then
        -- The converge's own events and summary are the human output of
        -- this phase; the event marks it for JSON readers.
        event(on_event, r, "converge", r.code == 0, r.code == 0 and "converged" or "failed")
        if r.code ~= 0 then event(on_event, r, "undrain", false, "left drained: its run failed") end
      end
    end
    if not back then return end
    local again = ask_batch(results, first, last, on_event, back, "ready", "undrain",
      "back in service: ", "the balancer does not take it back, drained again: ")
    -- The balancer's check failed: no traffic goes there anyway, but the
    -- node is left as a failed node is, drained (no wait: it has none).
    if next(again) then balancer.ask(ctx, groups, "drain", 1, again, ignore) end
  end
  return hooks
end

return M
