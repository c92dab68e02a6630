-- ccchef.runner: the main of ccchef-runner, the program `ccchef remote`
-- runs on a node (DESIGN.md 3, docs/remote.md).
--
-- It reads the bundle, a tar stream, from stdin into a fresh private
-- directory (refusing entries that would land outside it), converges the
-- run list of its run.json exactly as `ccchef apply` would (converge.run,
-- with the JSON reporter: the event stream is the controller's input, one
-- flushed line per event), which writes STATE_DIR/last-run.json for
-- `ccchef status`, and removes the directory. It loads ccchef.converge and
-- what that runs, never the controller's modules.
--
--   ccchef-runner [--state-dir DIR] [--keep] < bundle.tar
--   ccchef-runner --version
--   ccchef-runner --status [--state-dir DIR]   print last-run.json
--
-- Exit codes are apply's: 0 converged, 1 a resource failed, 2 bad input
-- (a refused bundle is bad input).
local archive = require("ccchef.archive")
local converge = require("ccchef.converge")
local errors = require("ccchef.errors")
local json = require("ccchef.json")
local private_dir = require("ccchef.private_dir")
local state = require("ccchef.state")
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {}

-- kind "input": the bundle or run.json is wrong (exit 2); "converge": the
-- node could not run it (no usable temporary directory: exit 1, a failed
-- node, not the user's mistake).
local function emit_error(message, kind)
  io.stdout:write(json.encode({ event = "error", kind = kind or "input", message = message }), "\n")
  io.stdout:flush()
  io.stderr:write("ccchef-runner: error: " .. message .. "\n")
end

-- Run list items: role: and recipe: items are resolved in the kitchen,
-- which is the bundle; recipe files are relative to it.
local function check_runlist(list)
  for _, item in ipairs(list) do
    if type(item) ~= "string" then return nil, "run.json: run_list items must be strings" end
    if not item:find("^%a+:") and (util.is_absolute(item) or item:find("%.%.")) then
      return nil, "run.json: recipe path " .. item .. " is not inside the bundle"
    end
  end
  return list
end

-- run.json (docs/remote.md, "What goes to the node"): run_list, node_name,
-- inventory (the inventory entries the node may see, by name: its own and
-- those its nodes() queries selected), node_queries (their answers),
-- environment, cmdline_layers, why_run, log_level, kitchen.
local function converge_bundle(spec, dir, opts)
  -- A balancer's bundle asks for haproxy's runtime API, not a converge
  -- (`ccchef drain`; docs/failover.md).
  if spec.balancer ~= nil then return require("ccchef.balancer_agent").run(spec.balancer) end
  local runlist, rerr = check_runlist(spec.run_list or {})
  if not runlist then
    emit_error(rerr)
    return 2
  end
  local inv = type(spec.inventory) == "table" and spec.inventory or {}
  local entry = inv[spec.node_name] or {}
  return (converge.run({
    format = "json", why_run = spec.why_run and true or nil, log_level = spec.log_level,
    state_dir = opts.state_dir or state.default_dir(),
    root = dir, root_is_kitchen = spec.kitchen ~= false,
    environment = spec.environment,
    -- The node's inventory entry and the controller's command-line layers
    -- take their places in the precedence of DESIGN.md 2.5 in prepare.
    node_entry = { attributes = entry.attributes or {}, environment = entry.environment, roles = entry.roles },
    -- What nodes() may answer: the entries and answers the controller's
    -- compile selected (ccchef.node_query), never the whole inventory.
    node_inventory = inv,
    node_queries = type(spec.node_queries) == "table" and spec.node_queries or {},
    cli_layers = spec.cmdline_layers or {},
    node_name = spec.node_name, remote_node = spec.node_name,
  }, runlist))
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
      io.stdout:write("ccchef-runner " .. converge.VERSION .. "\n")
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
  local dir, derr = private_dir.create()
  if not dir then
    emit_error(derr, "converge")
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
    return converge_bundle(spec, dir, opts)
  end, converge.traceback)
  if not opts.keep then private_dir.remove(dir) end
  if not ok and errors.is(code) then -- bad options in run.json
    emit_error(tostring(code))
    return 2
  end
  if not ok then return converge.internal_error(code) end
  return code
end

return M
