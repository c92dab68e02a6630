-- ccchef.remote_render: what `ccchef remote` and `ccchef status` print.
-- Each node's events go to a human reporter of its own (ccchef.report), as
-- `ccchef apply` on that node would print them, each line prefixed with
-- the node's name; what only the controller knows (bootstrap, host key,
-- session errors) is a line of its own; under --format json every event
-- is one line with "node". At the end, one row per node.
local errors = require("ccchef.errors")
local inventory = require("ccchef.inventory")
local json = require("ccchef.json")
local report = require("ccchef.report")
local sys = require("ccchef.sys")

local M = {}

-- A writer that puts "NAME: " before every line (the human reporter of one
-- node writes through it).
local function prefixed(out, prefix)
  local partial = ""
  return {
    write = function(_, ...)
      local s = partial .. table.concat({ ... })
      local lines = {}
      for line in s:gmatch("([^\n]*)\n") do lines[#lines + 1] = prefix .. line .. "\n" end
      partial = s:match("([^\n]*)$")
      out:write(table.concat(lines))
    end,
    flush = function() out:flush() end,
  }
end

local function result_word(r)
  if r.skipped then return "not run" end
  if r.node_error then
    local st = r.node_error.stage
    if st == "connect" or st == "host-key" or st == "auth" then return "unreachable" end
    if st == "timeout" then return "timed out" end
    return "failed"
  end
  if r.input_error or (r.code == 2 and not r.run_error) then return "bad input" end
  if r.code ~= 0 then return "failed" end
  return r.summary and r.summary.why_run and "checked" or "converged"
end

-- Why a node's row is not "converged": the node's error, else the first
-- failed resource and its error.
local function reason(r)
  local e = r.node_error or r.input_error or r.run_error
  if e then return e.message and errors.format(e) or "" end
  if r.first_failure then
    return r.first_failure.resource .. ": " .. tostring(r.first_failure.error or "failed")
  end
  return ""
end

-- Rows of cells as aligned columns, two spaces apart; right: the column
-- numbers aligned to the right (counts).
local function columns(out, rows, right)
  local widths = {}
  for _, row in ipairs(rows) do
    for c, v in ipairs(row) do widths[c] = math.max(widths[c] or 0, #v) end
  end
  for _, row in ipairs(rows) do
    local cells = {}
    for c, v in ipairs(row) do
      local pad = string.rep(" ", widths[c] - #v)
      cells[c] = right[c] and (pad .. v) or (v .. pad)
    end
    out:write((table.concat(cells, "  "):gsub("%s+$", "")), "\n")
  end
end

local COUNTS = { [3] = true, [4] = true, [5] = true }

local function summary_table(out, results, why_run)
  local rows = { { "NODE", "RESULT", "RESOURCES", why_run and "WOULD UPDATE" or "UPDATED", "FAILED", "TIME", "" } }
  local sorted = {}
  for i, r in ipairs(results) do sorted[i] = r end
  table.sort(sorted, function(a, b) return inventory.natural_less(a.name, b.name) end)
  for _, r in ipairs(sorted) do
    local s = r.summary
    local note = reason(r):gsub("\n.*", "")
    if #note > 100 then note = note:sub(1, 97) .. "..." end
    rows[#rows + 1] = {
      r.name, result_word(r), s and tostring(s.resources) or "-", s and tostring(s.updated) or "-",
      s and tostring(s.failed) or "-", r.duration and string.format("%.2f s", r.duration) or "-", note,
    }
  end
  columns(out, rows, COUNTS)
end

-- Every node's compile error, when some node does not compile (then no
-- node was contacted).
function M.compile_errors(format, bad, total)
  for _, b in ipairs(bad) do
    local e = b.error
    if format == "json" then
      io.stdout:write(json.encode({ event = "error", node = b.node, kind = e.kind, message = e.message,
        file = e.file, line = e.line, resource = e.resource }), "\n")
    end
    io.stderr:write(string.format("%s: error: %s\n", b.node, errors.format(e)))
  end
  io.stderr:write(string.format("ccchef: %d of %d nodes do not compile; no node was contacted\n",
    #bad, total))
end

-- What only the controller knows about a node (bootstrap, host key,
-- session errors); the run's own events go to the node's reporter.
local function controller_line(r, ev)
  local e = ev.event
  if e == "bootstrap" and ev.action == "uploaded" then
    io.stdout:write(string.format("%s: uploaded the runner (%d KiB, sha256 %s) in %.2f s\n",
      r.name, (ev.bytes + 1023) // 1024, ev.sha256:sub(1, 12), ev.duration))
  elseif e == "bootstrap" then
    io.stdout:write(string.format("%s: runner cached on the node (sha256 %s), not uploaded\n", r.name,
      ev.sha256:sub(1, 12)))
  elseif e == "host_key" then
    io.stdout:write(string.format("%s: recorded the new %s host key %s in %s\n", r.name, ev.type,
      ev.fingerprint, ev.known_hosts))
  elseif e == "node_error" then
    io.stderr:write(string.format("%s: error: %s\n", r.name, ev.message))
  elseif e == "rollout" and ev.phase ~= "converge" then
    io.stdout:write(string.format("%s: %s: %s\n", r.name, ev.phase, ev.message))
  elseif e == "stderr" then
    io.stderr:write(string.format("%s: | %s\n", r.name, ev.line))
  end
  io.stdout:flush()
end

-- The live output of a run over `count` nodes: returns on_event(r, ev)
-- and on_progress(running, done) (nil when there is no status line) for
-- ccchef.remote_fanout.
function M.live(format, color, log_level, count)
  local reporters = {}
  local function reporter_for(r)
    if not reporters[r.name] then
      reporters[r.name] = report.human({ color = color, log_level = log_level, tag = "", named = false,
        out = prefixed(io.stdout, r.name .. ": "), err = prefixed(io.stderr, r.name .. ": ") })
    end
    return reporters[r.name]
  end
  -- On a terminal, with several nodes, a last line shows who is still
  -- running; it is cleared before any other output and drawn again after.
  local status_line
  local function clear_status()
    if status_line then io.stdout:write("\r\27[K") end
  end
  local function draw_status()
    if status_line then io.stdout:write(status_line) end
    io.stdout:flush()
  end
  local on_progress
  if format == "human" and count > 1 and sys.isatty(1) then
    on_progress = function(running, done)
      clear_status()
      local names = table.concat(running, " ")
      if #names > 50 then names = names:sub(1, 47) .. "..." end
      status_line = #running > 0
        and string.format("[%d/%d done; running: %s]", done, count, names) or nil
      draw_status()
    end
  end
  local function on_event(r, ev)
    if ev.event == "resource" and ev.status == "failed" and not ev.ignored and not r.first_failure then
      r.first_failure = ev
    end
    if format == "json" then
      ev.node = r.name
      io.stdout:write(json.encode(ev), "\n")
      io.stdout:flush()
      return
    end
    clear_status()
    if not report.feed(reporter_for(r), ev) then controller_line(r, ev) end
    draw_status()
  end
  return on_event, on_progress
end

-- The end of a run: each node's result (a remote_end event, or the
-- table). Returns the outcome for converge.exit_code.
function M.finish(format, results, why_run)
  local outcome = { input = false, failed = false, changed = false }
  local node_results = {}
  for _, r in ipairs(results) do
    local word = result_word(r)
    if word == "bad input" then outcome.input = true
    elseif word ~= "converged" and word ~= "checked" then outcome.failed = true end
    if r.summary and r.summary.updated > 0 then outcome.changed = true end
    local why = reason(r)
    node_results[#node_results + 1] = { node = r.name, result = word, bootstrap = r.bootstrap,
      resources = r.summary and r.summary.resources, updated = r.summary and r.summary.updated,
      failed = r.summary and r.summary.failed, duration = r.duration, error = why ~= "" and why or nil }
  end
  if format == "json" then
    io.stdout:write(json.encode({ event = "remote_end", nodes = node_results }), "\n")
  else
    io.stdout:write("\n")
    summary_table(io.stdout, results, why_run)
  end
  io.stdout:flush()
  return outcome
end

-- `ccchef status`: each node's events as they come (json), or errors.
function M.status_event(format, r, ev)
  if format == "json" then
    ev.node = r.name
    io.stdout:write(json.encode(ev), "\n")
  elseif ev.event == "node_error" then
    io.stderr:write(string.format("%s: error: %s\n", r.name, ev.message))
  end
end

-- One outcome as a phrase: "lb1 engines/e1: drain, 0 sessions, UP (L7OK)".
function M.describe_balancer(o)
  if not o.state then return string.format("%s %s: %s", o.balancer, o.backend or "?", o.message or "failed") end
  local s = string.format("%s %s: %s, %d sessions, %s%s", o.balancer, o.backend, o.state, o.sessions or 0,
    o.status or "?", (o.check and o.check ~= "") and (" (" .. o.check .. ")") or "")
  if o.message then s = s .. ": " .. o.message end
  return s
end

-- `ccchef status`: each balanced node's state on its balancers (r.balancer,
-- ccchef.balancer.status): a JSON event per node, or nothing yet for the
-- table (status_table adds a column). Returns whether a balancer could not
-- say.
function M.balancer_states(format, results)
  local failed = false
  for _, r in ipairs(results) do
    for _, o in ipairs(r.balancer or {}) do
      if not o.ok then failed = true end
    end
    if r.balancer and format == "json" then
      io.stdout:write(json.encode({ event = "balancer_state", node = r.name, balancers = r.balancer }), "\n")
    end
  end
  return failed
end

local function balancer_cell(r)
  local parts = {}
  for _, o in ipairs(r.balancer or {}) do parts[#parts + 1] = M.describe_balancer(o) end
  return #parts > 0 and table.concat(parts, "; ") or "-"
end

-- `ccchef status`, human: one row per node from its last-run.json.
-- Returns whether a node could not be asked.
function M.status_table(out, results)
  local failed = false
  local rows = { { "NODE", "LAST RUN (UTC)", "RESULT", "RESOURCES", "UPDATED", "FAILED", "RUN LIST", "VERSION" } }
  local with_balancer = false
  for _, r in ipairs(results) do if r.balancer then with_balancer = true end end
  for _, r in ipairs(results) do
    local s = r.status
    if not s then
      failed = true
      rows[#rows + 1] = { r.name, "-", "unreachable", "-", "-", "-", "-", "-" }
    elseif s.never then
      rows[#rows + 1] = { r.name, "never", "-", "-", "-", "-", "-", "-" }
    else
      local failed_names = {}
      for _, f in ipairs(s.failed_resources or {}) do failed_names[#failed_names + 1] = f.resource end
      rows[#rows + 1] = {
        r.name, os.date("!%Y-%m-%d %H:%M:%S", math.tointeger(s.time) or 0),
        s.success and "converged" or ("failed" .. (#failed_names > 0 and (": " .. table.concat(failed_names, " ")) or
          (s.error and (": " .. s.error) or ""))),
        tostring(s.resources or "-"), tostring(s.updated or "-"), tostring(s.failed or "-"),
        table.concat(s.run_list or {}, ","), tostring(s.version or "?"),
      }
    end
  end
  if with_balancer then
    rows[1][#rows[1] + 1] = "BALANCER"
    for i, r in ipairs(results) do rows[i + 1][#rows[i + 1] + 1] = balancer_cell(r) end
  end
  columns(out, rows, {})
  return failed
end

return M
