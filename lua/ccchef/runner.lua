-- ccchef.runner: the main of ccchef-runner, the program `ccchef remote`
-- runs on a node (DESIGN.md 3, docs/remote.md).
--
-- It reads the bundle, a tar stream, from stdin into a fresh private
-- directory (refusing entries that would land outside it), converges the
-- run list of its run.json exactly as `ccchef apply` would (cli.apply, with
-- the JSON reporter: the event stream is the controller's input), writes
-- STATE_DIR/last-run.json for `ccchef status`, and removes the directory.
--
--   ccchef-runner [--state-dir DIR] [--keep] < bundle.tar
--   ccchef-runner --version
--   ccchef-runner --status [--state-dir DIR]   print last-run.json
--
-- Exit codes are apply's: 0 converged, 1 a resource failed, 2 bad input
-- (a refused bundle is bad input).
local archive = require("ccchef.archive")
local cli = require("ccchef.cli")
local errors = require("ccchef.errors")
local json = require("ccchef.json")
local report = require("ccchef.report")
local state = require("ccchef.state")
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {}

local function emit_error(message)
  io.stdout:write(json.encode({ event = "error", kind = "input", message = message }), "\n")
  io.stdout:flush()
  io.stderr:write("ccchef-runner: error: " .. message .. "\n")
end

-- A new directory only we can enter. mkdir fails on an existing name, so a
-- directory someone prepared in advance is never reused.
function M.private_dir()
  local base = os.getenv("TMPDIR")
  if not base or base == "" then base = "/tmp" end
  for _ = 1, 20 do
    local path = string.format("%s/ccchef-run.%d.%06x", base, sys.getpid(), math.random(0, 0xffffff))
    local ok, _, errno = sys.mkdir(path, 448 --[[0700]])
    if ok then return path end
    if errno ~= 17 --[[EEXIST]] then break end
  end
  return nil, "cannot create a private directory under " .. base
end

function M.remove_tree(path)
  local st = sys.lstat(path)
  if not st then return end
  if st.type == "directory" then
    for _, name in ipairs(sys.listdir(path) or {}) do M.remove_tree(path .. "/" .. name) end
    sys.rmdir(path)
  else
    sys.unlink(path)
  end
end

-- Run list items that are recipe files are relative to the bundle; role: and
-- recipe: items are resolved in the kitchen, which is the bundle.
local function resolve_runlist(list, dir)
  local out = {}
  for _, item in ipairs(list) do
    if type(item) ~= "string" then return nil, "run.json: run_list items must be strings" end
    if item:find("^%a+:") then
      out[#out + 1] = item
    elseif util.is_absolute(item) or item:find("%.%.") then
      return nil, "run.json: recipe path " .. item .. " is not inside the bundle"
    else
      out[#out + 1] = dir .. "/" .. item
    end
  end
  return out
end

local function write_last_run(state_dir, info)
  local ok, err = util.mkdir_p(sys, state_dir, 493)
  if ok then
    ok, err = sys.write(state_dir .. "/last-run.json", json.encode(info) .. "\n", 420, nil, nil, true)
  end
  if not ok then io.stderr:write("ccchef-runner: warning: cannot write last-run.json: " .. tostring(err) .. "\n") end
end

local function converge(spec, dir, opts)
  local runlist, rerr = resolve_runlist(spec.run_list or {}, dir)
  if not runlist then
    emit_error(rerr)
    return 2
  end
  local state_dir = opts.state_dir or state.default_dir()
  local apply_opts = {
    format = "json", why_run = spec.why_run and true or nil, log_level = spec.log_level,
    state_dir = state_dir, kitchen = dir, environment = spec.environment,
    -- The node's inventory entry and the controller's command-line
    -- attributes take their places in the precedence of DESIGN.md 2.5
    -- (cookbook < role < environment < node < command line) in cli.prepare.
    node_entry = { attributes = spec.attributes or {}, environment = spec.environment, roles = spec.roles },
    cli_attribute_table = spec.cmdline_attributes,
    node_name = spec.node_name,
  }
  -- The JSON reporter, remembering what last-run.json needs. Paths in the
  -- private directory are written relative to it, as the controller knows them.
  local reporter = report.json({ log_level = spec.log_level })
  local prefix = json.encode(dir .. "/"):sub(2, -2)
  reporter.out = {
    write = function(_, ...)
      local s = table.concat({ ... })
      local from = 1
      local parts = {}
      while true do
        local a, b = s:find(prefix, from, true)
        if not a then break end
        parts[#parts + 1] = s:sub(from, a - 1)
        from = b + 1
      end
      parts[#parts + 1] = s:sub(from)
      io.stdout:write(table.concat(parts))
    end,
    flush = function() io.stdout:flush() end,
  }
  local failed = {}
  local inner = reporter.resource
  function reporter.resource(self, ev)
    if ev.status == "failed" and not ev.ignored then
      failed[#failed + 1] = { resource = ev.resource, error = ev.error, file = ev.file, line = ev.line }
    end
    return inner(self, ev)
  end
  local t0 = sys.now()
  local code, summary, err = cli.apply(apply_opts, runlist, reporter)
  if not spec.why_run then
    local info = {
      time = os.time(), node = spec.node_name, run_list = spec.run_list, version = cli.VERSION,
      environment = spec.environment, success = code == 0, exit_code = code,
      duration = sys.now() - t0, failed_resources = failed,
    }
    if summary then
      for _, k in ipairs({ "resources", "updated", "failed", "skipped", "up_to_date", "ignored", "not_run" }) do
        info[k] = summary[k]
      end
    end
    if err then info.error = tostring(err) end
    write_last_run(state_dir, info)
  end
  return code
end

local function usage_error(msg)
  io.stderr:write("ccchef-runner: " .. msg .. "\nusage: ccchef-runner [--state-dir DIR] [--keep] < bundle.tar\n")
  return 2
end

function M.main(args)
  local opts = {}
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "--version" then
      io.stdout:write("ccchef-runner " .. cli.VERSION .. "\n")
      return 0
    elseif a == "--state-dir" then
      i = i + 1
      opts.state_dir = args[i]
      if not opts.state_dir then return usage_error("--state-dir needs a value") end
    elseif a == "--keep" then
      opts.keep = true
    elseif a == "--status" then
      opts.status = true
    else
      return usage_error("unknown argument " .. a)
    end
    i = i + 1
  end
  if opts.status then
    local text = sys.read((opts.state_dir or state.default_dir()) .. "/last-run.json")
    io.stdout:write(text or "{}\n")
    return 0
  end

  require("ccchef.node_dirs").clean_stale()
  local dir, derr = M.private_dir()
  if not dir then
    emit_error(derr)
    return 1
  end
  local ok, code = xpcall(function()
    local n, xerr = archive.extract(0, dir)
    if not n then
      emit_error(xerr)
      return 2
    end
    local text = sys.read(dir .. "/run.json")
    if not text then
      emit_error("the bundle has no run.json")
      return 2
    end
    local spec, jerr = json.decode(text)
    if type(spec) ~= "table" then
      emit_error("run.json: " .. tostring(jerr or "not an object"))
      return 2
    end
    return converge(spec, dir, opts)
  end, cli.traceback)
  if not opts.keep then M.remove_tree(dir) end
  if not ok and errors.is(code) then -- bad options in run.json
    emit_error(tostring(code))
    return 2
  end
  if not ok then return cli.internal_error(code) end
  return code
end

return M
