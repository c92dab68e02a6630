-- ccchef.report: reporters turn run events into output. Human: one line per
-- resource that changed or failed, diffs under why-run, a summary line;
-- colour only on a terminal. JSON: one object per line, the same stream the
-- remote runner sends to the controller. Each event is written and flushed
-- when it happens, so a controller (or a pipe) sees it at once.
--
-- M.feed(reporter, event) drives a reporter from events: `ccchef remote`
-- feeds each node's event stream to a human reporter of its own, so a node's
-- lines are the ones `ccchef apply` prints on that node.
local errors = require("ccchef.errors")
local json = require("ccchef.json")
local sys = require("ccchef.sys")

local M = {}

local LEVELS = { error = 1, warn = 2, info = 3, debug = 4 }
M.LEVELS = LEVELS

local COLORS = {
  updated = "32", ["would-update"] = "33", failed = "31", skipped = "2",
  ["up-to-date"] = "2", warn = "33", error = "31",
}

local Human = {}
Human.__index = Human

function M.human(opts)
  local color, color_err = opts.color, opts.color
  if color == nil then
    local ok = (os.getenv("NO_COLOR") or "") == "" and os.getenv("TERM") ~= "dumb"
    -- Each stream by itself: `ccchef apply web.lua 2>log` on a terminal
    -- colours the report, not the log.
    color = ok and sys.isatty(1)
    color_err = ok and sys.isatty(2)
  end
  -- err: warnings and errors. tag: what starts an error line ("ccchef:"
  -- for apply; a remote node's lines are prefixed with its name instead).
  -- named: the summary line names the node (a prefixed stream already does).
  return setmetatable({ out = opts.out or io.stdout, err = opts.err or io.stderr, color = color,
    color_err = color_err, level = LEVELS[opts.log_level or "warn"] or 2, node = opts.node_name,
    tag = opts.tag == nil and "ccchef: " or opts.tag, named = opts.named ~= false }, Human)
end

function Human:paint(kind, text, on_stderr)
  local c = (on_stderr and self.color_err or not on_stderr and self.color) and COLORS[kind]
  if not c then return text end
  return "\27[" .. c .. "m" .. text .. "\27[0m"
end

function Human:run_start(info)
  self.why_run = info.why_run
  if self.level >= LEVELS.info then
    self.out:write(string.format("%sconverging %d resources%s\n", self.named and ((info.node or "?") .. ": ") or "",
      info.resources, info.why_run and " (why-run: nothing will be changed)" or ""))
    self.out:flush()
  end
end

local function indent(text, prefix)
  return (text:gsub("[^\n]+", function(l) return prefix .. l end))
end

function Human:resource(ev)
  local s = ev.status
  local show = s == "updated" or s == "would-update" or s == "failed"
    or (s == "skipped" and self.level >= LEVELS.info)
    or self.level >= LEVELS.debug
  if not show then return end
  local label = s == "failed" and ev.ignored and "failed (ignored)" or s
  -- Resources inside a custom resource are indented under it (they are
  -- reported first: the custom resource's own line follows with the total).
  local lead = ev.parent and "    " or "  "
  local line = string.format("%s%s %s", lead, self:paint(s, string.format("%-12s", label)), ev.resource)
  -- The usual actions go without saying; others (delete, restart...) are
  -- named, also when a notification asked for them.
  if ev.action and ev.action ~= "create" and ev.action ~= "run" then
    line = line .. " " .. ev.action
  end
  if ev.changes and #ev.changes > 0 then line = line .. ": " .. table.concat(ev.changes, ", ") end
  if ev.reason then line = line .. " (" .. ev.reason .. ")" end
  if ev.via then line = line .. "  [notified by " .. ev.via .. "]" end
  if s == "failed" then
    line = line .. string.format("\n      %s:%s: %s", tostring(ev.file), tostring(ev.line), ev.error or "failed")
  end
  local out = { line, "\n" }
  if ev.diff and (self.why_run or self.level >= LEVELS.info) then
    out[#out + 1] = indent(ev.diff, "      ")
  end
  if s == "failed" and ev.output and ev.output ~= "" then
    out[#out + 1] = indent(ev.output, "      | ")
    if ev.output:sub(-1) ~= "\n" then out[#out + 1] = "\n" end
  end
  for _, n in ipairs(ev.notifications or {}) do
    out[#out + 1] = string.format("      %s %s to %s %s\n",
      s == "would-update" and "would notify" or "notifies", n.resource, n.action,
      n.timing == "immediately" and "immediately" or "at the end of the run")
  end
  self.out:write(table.concat(out))
  self.out:flush()
end

function Human:message(level, text)
  if (LEVELS[level] or 3) > self.level then return end
  local on_stderr = level == "error" or level == "warn"
  local stream = on_stderr and self.err or self.out
  stream:write(string.format("%s: %s\n", self:paint(level, level, on_stderr), text))
  stream:flush()
end

-- A recipe's print(): shown at every log level, as Lua's print would.
function Human:print(text)
  self.out:write(text, "\n")
  self.out:flush()
end

function Human:run_end(s)
  local parts = {
    string.format("%d resources", s.resources),
    string.format(s.why_run and "%d would update" or "%d updated", s.updated),
    string.format("%d failed", s.failed),
  }
  if s.skipped > 0 then parts[#parts + 1] = string.format("%d skipped", s.skipped) end
  if s.ignored > 0 then parts[#parts + 1] = string.format("%d failed and ignored", s.ignored) end
  if s.not_run > 0 then parts[#parts + 1] = string.format("%d not run", s.not_run) end
  local head = s.why_run and "(why-run)" or ""
  if self.named then head = (s.node or "?") .. (s.why_run and " (why-run)" or "") .. ":" end
  self.out:write(string.format("%s%s%s, %.2f s\n", head, head ~= "" and " " or "", table.concat(parts, ", "),
    s.duration))
  self.out:flush()
end

-- e: an error table, or an `error` event (the same fields).
function Human:error(e)
  self.err:write(self.tag .. "error: " .. errors.format(e) .. "\n")
  self.err:flush()
end

local Json = {}
Json.__index = Json

function M.json(opts)
  return setmetatable({ out = io.stdout, level = LEVELS[opts.log_level or "warn"] or 2 }, Json)
end

function Json:emit(t)
  self.out:write(json.encode(t), "\n")
  self.out:flush()
end

function Json:run_start(info)
  self:emit({ event = "run_start", node = info.node, why_run = info.why_run,
    resources = info.resources, run_list = info.run_list, time = os.time() })
end

function Json:resource(ev)
  self:emit(ev)
end

function Json:message(level, text)
  if (LEVELS[level] or 3) > self.level then return end
  self:emit({ event = "message", level = level, message = text })
end

-- A recipe's print(): an event like the others, whatever the log level.
function Json:print(text)
  self:emit({ event = "message", level = "print", message = text })
end

function Json:run_end(s)
  self:emit(s)
end

function Json:error(e)
  self:emit({ event = "error", kind = e.kind, message = e.message, file = e.file, line = e.line,
    resource = e.resource })
  io.stderr:write("ccchef: error: " .. errors.format(e) .. "\n")
end

-- Drive a reporter from one event of a stream (a node's, under `remote`).
-- Returns false for events that are not a run's (the caller shows those).
function M.feed(rep, ev)
  local e = ev.event
  if e == "resource" then rep:resource(ev)
  elseif e == "message" then
    if ev.level == "print" then rep:print(ev.message) else rep:message(ev.level, ev.message) end
  elseif e == "run_start" then rep:run_start(ev)
  elseif e == "run_end" then rep:run_end(ev)
  elseif e == "error" then rep:error(ev)
  else return false end
  return true
end

return M
