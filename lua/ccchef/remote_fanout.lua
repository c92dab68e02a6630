-- ccchef.remote_fanout: the controller's worker processes. One process
-- per node (`ccchef __node`, its spec in $CCCHEF_NODE_SPEC; what it does
-- is ccchef.remote_node) on one libuv loop (ccchef.spawn), at most -p N at
-- a time, or --serial batches of N that stop when a batch fails. Each line
-- a worker prints is a JSON event, parsed here and handed on.
--
-- Why a process per node: libssh's API blocks (connect, key exchange,
-- channel reads), and driving its non-blocking mode from libuv would mean
-- re-implementing its state machines around every call. A worker process
-- runs the plain blocking sequence, a crash or hang in one node's session
-- cannot touch the others, and the parent's loop only reads pipes. A
-- worker costs one exec of ccchef (a few milliseconds).
local json = require("ccchef.json")
local sys = require("ccchef.sys")

local M = {}

-- Runs the workers; calls on_event(node, ev) for each parsed line, and
-- on_progress(running, done) (names of the nodes running, count of those
-- done) when that changes, if given. Returns results[i] = { node=, code=,
-- summary=, ... } in node order.
function M.run(nodes, specs, opts, on_event, on_progress)
  local spawn = require("ccchef.spawn")
  local exe = spawn.exepath()
  local results = {}
  for i, n in ipairs(nodes) do results[i] = { node = n, name = n.name } end
  local done = 0
  local function progress()
    if not on_progress then return end
    local running = {}
    for _, r in ipairs(results) do
      if r.t0 and not r.duration and not r.code then running[#running + 1] = r.name end
    end
    on_progress(running, done)
  end
  local function run_batch(first, last, width)
    local g = spawn.group()
    local by_id, nexti, active = {}, first, 0
    while true do
      while active < width and nexti <= last do
        local r = results[nexti]
        -- A node the rollout could not drain is not converged.
        if r.code ~= nil then
          nexti = nexti + 1
          done = done + 1
          goto next_node
        end
        r.t0 = sys.now()
        local env = { "CCCHEF_NODE_SPEC=" .. json.encode(specs[nexti]) }
        local t0 = require("ccchef.remote_node").TRACE_T0
        if t0 then env[2] = string.format("CCCHEF_TRACE_T0=%.6f", t0) end
        local id, err = g:start({ exe, "__node" }, env)
        if id then
          by_id[id] = r
          active = active + 1
        else
          r.code = 1
          r.node_error = { stage = "internal", message = err }
          on_event(r, { event = "node_error", stage = "internal", message = err })
        end
        nexti = nexti + 1
        progress()
        ::next_node::
      end
      local ev = g:next()
      if not ev then break end
      local r = by_id[ev.id]
      if ev.exit then
        r.code = ev.signal ~= 0 and 1 or ev.status
        if ev.signal ~= 0 and not r.node_error then
          r.node_error = { stage = "internal", message = "the worker process died of signal " .. ev.signal }
          on_event(r, { event = "node_error", stage = "internal", message = r.node_error.message })
        end
        r.duration = sys.now() - r.t0
        active = active - 1
        done = done + 1
        progress()
      elseif ev.stream == "stdout" then
        local t = json.decode(ev.line)
        if type(t) ~= "table" then t = { event = "stderr", line = ev.line } end
        if t.event == "run_end" then r.summary = t end
        if t.event == "node_error" then r.node_error = t end
        if t.event == "error" then
          if t.kind == "input" then r.input_error = t else r.run_error = t end
        end
        if t.event == "status" then r.status = t.last_run end
        if t.event == "bootstrap" then r.bootstrap = t.action end
        on_event(r, t)
      else
        on_event(r, { event = "stderr", line = ev.line })
      end
    end
  end
  -- One batch of every node, -p at a time; or --serial batches of N
  -- that stop once more than --max-failures nodes failed (0: the first
  -- failure). A rolling deploy through load balancers (opts.rollout,
  -- ccchef.rollout) drains each batch before and puts it back after.
  local width = opts.serial or #nodes
  local budget, failures = opts.max_failures or 0, 0
  local i = 1
  while i <= #nodes do
    local last = math.min(#nodes, i + width - 1)
    if opts.rollout then opts.rollout.before(results, i, last, on_event) end
    run_batch(i, last, opts.serial or opts.parallel)
    if opts.rollout then opts.rollout.after(results, i, last, on_event) end
    if not opts.serial then break end
    for j = i, last do if results[j].code ~= 0 then failures = failures + 1 end end
    i = last + 1
    if failures > budget and i <= #nodes then
      for j = i, #nodes do
        results[j].skipped = true
        on_event(results[j], { event = "node_error", stage = "serial",
          message = string.format("not converged: an earlier batch failed (--serial); %d failed, more than --max-failures %d",
            failures, budget) })
      end
      break
    end
  end
  return results
end

return M
