-- ccchef.converge: the one path that converges a node (DESIGN.md 4,
-- "Remote is apply"). `ccchef apply`, `ccchef attrs`, the remote runner on
-- a node and the controller of `ccchef remote` all go through here:
--
--   - one option parser and one reading of `--attr KEY.PATH=VALUE`
--     (ccchef.options: VALUE is JSON when it parses, else the string:
--     docs/cli.md);
--   - one way to find the kitchen's root and enter it: the run's working
--     directory is the kitchen's root, so a relative path in a recipe, an
--     attribute or a message means the same on this machine and on a node;
--   - one attribute merge (prepare), one compile, one converge with its
--     last-run.json, one exit-code function.
--
-- It depends on the engine and the kitchen, never on the command line
-- modules (cli, remote, runner), which all depend on it: no import cycle.
local errors = require("ccchef.errors")
local json = require("ccchef.json")
local options = require("ccchef.options")
local report = require("ccchef.report")
local state = require("ccchef.state")
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {}

M.VERSION = "0.1.0"

---------------------------------------------------------------------------
-- The kitchen's root

local function is_file_item(item) return type(item) == "string" and not item:find("^%a+:") end
M.is_file_item = is_file_item

local function inside(root, path)
  if root == "/" then return true end
  return path:sub(1, #root + 1) == root .. "/"
end

-- The directory a run's relative paths are relative to (absolute, real):
-- -k DIR; else the kitchen (cookbooks/, roles/, environments/ or
-- nodes.lua) above the first recipe file of the run lists, else above the
-- current directory; else the deepest directory holding every recipe file.
-- Returns root and whether it is a kitchen, or nil when there is neither a
-- kitchen nor a recipe file. The same rule chooses what `remote` ships.
function M.find_root(kitchen_opt, runlists)
  local kitchen = require("ccchef.kitchen")
  local files = {}
  for _, rl in ipairs(runlists) do
    for _, item in ipairs(rl) do
      if is_file_item(item) then
        local real = sys.realpath(options.abspath(item))
        if real then files[#files + 1] = real end
      end
    end
  end
  if kitchen_opt then return kitchen.find(nil, options.abspath(kitchen_opt)), true end
  local root = files[1] and kitchen.find(util.dirname(files[1]))
  root = root or kitchen.find(sys.realpath(".") or ".")
  if root then return root, true end
  if #files == 0 then return nil, false end
  root = util.dirname(files[1])
  for _, f in ipairs(files) do
    while not inside(root, f) do root = util.dirname(root) end
  end
  return root, false
end

-- A recipe file of the run list as the run names it once inside root:
-- kitchen-relative, or absolute when it lies elsewhere (apply allows that;
-- remote refuses it, it would not be shipped).
function M.relative_item(root, item)
  local real = sys.realpath(options.abspath(item))
  if not real then return item end
  if root and inside(root, real) then return real:sub(#root + (root == "/" and 1 or 2)) end
  return real
end

---------------------------------------------------------------------------
-- Prepare: kitchen, run list, attributes

-- Custom resource types are loaded once per process: the controller
-- prepares one run per node in the same process.
local loaded_kitchens = {}

-- What apply, attrs, the runner and the controller share: enter the
-- kitchen's root, expand the run list, layer the attributes with their
-- provenance (cookbook < role < environment < node < command line) and
-- load the kitchen's custom resources. opts: kitchen, environment,
-- node_name, json_attrs, attrs (the command line); or, from a runner's
-- run.json: root (the bundle), root_is_kitchen, node_entry, cli_layers.
-- Returns { kitchen, entries, run_list, attributes, node, root }.
function M.prepare(opts, runlist, facts)
  local kitchen_mod = require("ccchef.kitchen")
  local attributes = require("ccchef.attributes")
  local layers = opts.cli_layers or options.cmdline_layers(opts)
  local root, is_kitchen = opts.root, opts.root_is_kitchen
  local items = {}
  if root then
    for i, item in ipairs(runlist) do items[i] = item end
  else
    root, is_kitchen = M.find_root(opts.kitchen, { runlist })
    for i, item in ipairs(runlist) do items[i] = is_file_item(item) and M.relative_item(root, item) or item end
  end
  if root then
    local ok, err = sys.chdir(root)
    if not ok then errors.input("cannot enter the kitchen: " .. tostring(err)) end
  end
  local kitchen = is_kitchen and kitchen_mod.open(".") or nil
  local node_name = opts.node_name or facts.hostname
  -- The runner is handed the node's inventory entry as the controller read
  -- it (the node may be a literal user@host target no nodes.lua lists).
  local node_entry = opts.node_entry
  if not node_entry and kitchen then
    node_entry = kitchen:inventory()[node_name]
    if opts.node_name and not node_entry then
      errors.input(string.format("node '%s' is not in the inventory %s/nodes.lua", node_name, root))
    end
  elseif not node_entry and opts.node_name then
    errors.input(string.format("--node %s needs a kitchen with nodes.lua (none found; use -k DIR)", node_name))
  end
  if #items == 0 and node_entry then
    for _, item in ipairs(kitchen_mod.node_runlist(kitchen and "." or nil, node_entry)) do items[#items + 1] = item end
  end
  local entries, roles = kitchen_mod.expand(kitchen, items)
  local set = kitchen_mod.attributes(kitchen, {
    roles = roles,
    environment = opts.environment or (node_entry and node_entry.environment),
    node_entry = node_entry, node_name = node_name, cli_layers = layers,
  }, facts)
  -- What nodes() answers from (ccchef.node_query): the entries and answers
  -- a bundle carries on a node, the inventory the controller read, or the
  -- kitchen's nodes.lua.
  local environment = opts.environment or (node_entry and node_entry.environment)
  local node_query = require("ccchef.node_query")
  local nodes
  if opts.node_queries then
    nodes = node_query.from_bundle(opts.node_inventory, opts.node_queries, environment)
  else
    nodes = node_query.from_inventory(opts.inventory or (kitchen and kitchen:inventory()) or {}, environment)
  end
  if kitchen and not loaded_kitchens[root] then
    loaded_kitchens[root] = true
    require("ccchef.custom").load_kitchen(kitchen, require("ccchef.registry"))
  end
  return {
    kitchen = kitchen, entries = entries, run_list = items, attributes = set, roles = roles, root = root,
    node = kitchen_mod.node_view(set, facts), nodes = nodes, environment = environment,
  }
end

-- The compile phase alone, as the controller of `ccchef remote` runs it
-- for each node before connecting to any (docs/remote.md, "Compile before
-- connecting"): prepare and compile with the controller's facts, marked
-- node.facts_known = false; print() says nothing. Returns prep and run, or
-- raises the input error the node would report.
function M.compile_only(opts, runlist, facts)
  local prep = M.prepare(opts, runlist, facts)
  if #prep.entries == 0 then
    options.usage_error("no run list: give recipe files, recipe:COOKBOOK or role:NAME")
  end
  local run = require("ccchef.compile").compile({
    why_run = true, node = prep.node, kitchen = prep.kitchen, run_list = prep.run_list,
    reporter = { print = function() end }, nodes = prep.nodes,
  }, prep.entries)
  return prep, run
end

---------------------------------------------------------------------------
-- Exit codes

-- One function for apply, the runner and the controller. outcome: input
-- (bad input), failed (a resource or node failed), changed.
--   0 converged, 1 failed, 2 bad input;
--   --detailed-exitcodes (Puppet's): 0 no change, 2 changes, 4 failures,
--   6 both, 1 bad input.
function M.exit_code(outcome, detailed)
  if outcome.input then return detailed and 1 or 2 end
  if detailed then return (outcome.changed and 2 or 0) + (outcome.failed and 4 or 0) end
  return outcome.failed and 1 or 0
end

---------------------------------------------------------------------------
-- last-run.json

-- Written after every run that is not why-run, by apply and the runner
-- alike (`ccchef status` reads it). Mode 0600: error messages can carry
-- what a resource read. Atomic (a temporary file renamed) but not
-- fsynced: it is a report, and an fsync would cost every no-op run more
-- than the rest of it on a busy disk.
function M.write_last_run(state_dir, info)
  local ok, err = util.mkdir_p(sys, state_dir, util.mode"0755")
  if ok then
    ok, err = sys.write(state_dir .. "/last-run.json", json.encode(info) .. "\n", util.mode"0600", nil, nil, false)
  end
  if not ok then io.stderr:write("ccchef: warning: cannot write last-run.json: " .. tostring(err) .. "\n") end
end

local COUNTS = { "resources", "updated", "failed", "skipped", "up_to_date", "ignored", "not_run" }

---------------------------------------------------------------------------
-- The run

-- Internal errors (a bug in ccchef) keep their traceback; error tables are
-- the user's or the world's.
function M.traceback(e)
  if errors.is(e) then
    -- A bug a unit met during converge (errors.classify) already has the
    -- traceback of where it happened.
    if e.kind == "internal" then return e.traceback or e.message end
    return e
  end
  return debug.traceback(tostring(e), 2)
end

function M.internal_error(msg)
  io.stderr:write("ccchef: internal error (please report): " .. tostring(msg) .. "\n")
  return 70
end

-- The reporter of a run: human or JSON.
function M.reporter(opts, facts)
  local format, color = options.output_options(opts)
  return (format == "json" and report.json or report.human)({
    color = color, log_level = opts.log_level, node_name = facts and facts.hostname })
end

-- Converge this machine: `ccchef apply` once its arguments are parsed, and
-- the runner with the bundle it was sent. opts: the keys of the options
-- above and apply's (state_dir, backups, ...), plus prepare's. reporter is
-- optional. Returns the exit code, the summary (nil when the run did not
-- reach the converge phase) and the error, if any.
function M.run(opts, runlist, reporter)
  options.output_options(opts)
  local facts = require("ccchef.facts").collect()
  facts.name = opts.node_name or facts.hostname
  facts.facts_known = true
  reporter = reporter or M.reporter(opts, facts)
  -- Paths given relative to where ccchef was started, before the run
  -- enters the kitchen.
  local state_dir = options.abspath(opts.state_dir or state.default_dir())
  local backup_dir = opts.backup_dir and options.abspath(opts.backup_dir) or (state_dir .. "/backup")
  local failed = json.array()
  local inner = reporter.resource
  reporter.resource = function(self, ev)
    if ev.status == "failed" and not ev.ignored then
      failed[#failed + 1] = { resource = ev.resource, error = ev.error, file = ev.file, line = ev.line }
    end
    return inner(self, ev)
  end
  local t0 = sys.now()
  local run_list, environment = runlist, opts.environment
  local ok, result = xpcall(function()
    local prep = M.prepare(opts, runlist, facts)
    run_list = prep.run_list
    -- The run's environment as prepare found it (-E, else the node's
    -- inventory entry): last-run.json says the same under apply -N and remote.
    environment = prep.environment
    if #prep.entries == 0 then
      options.usage_error("apply needs a run list: recipe files, recipe:COOKBOOK, role:NAME")
    end
    local run_opts = {
      why_run = opts.why_run or false,
      state_dir = state_dir,
      backup_dir = backup_dir,
      backups = math.tointeger(options.number_option(opts, "backups", 5)) or options.usage_error("--backups needs an integer"),
      lock_timeout = options.number_option(opts, "lock_timeout", 30),
      command_timeout = options.number_option(opts, "command_timeout", 3600),
      node = prep.node,
      kitchen = prep.kitchen,
      nodes = prep.nodes,
      reporter = reporter,
      run_list = prep.run_list,
      remote_node = opts.remote_node,
    }
    local engine = require("ccchef.engine")
    local run = require("ccchef.compile").compile(run_opts, prep.entries)
    -- A converge leaves nothing that needs a finalizer at exit (the lock is
    -- the kernel's to drop): the process may exit without freeing the Lua
    -- state object by object.
    require("ccchef.host").skip_close()
    local summary = engine.converge(run)
    -- Stdout has the report; stderr gets one line saying what stopped the
    -- run, in either format, so `ccchef apply ... >log` still shows it.
    if summary.error then
      io.stderr:write("ccchef: error: " .. errors.format(summary.error) .. "\n")
    end
    return summary
  end, M.traceback)
  local code, summary, err
  if not ok then
    if not errors.is(result) then return M.internal_error(result) end
    err = result
    reporter:error(err)
    code = M.exit_code({ input = err.kind == "input", failed = true }, opts.detailed_exitcodes)
  else
    summary = result
    code = M.exit_code({ failed = summary.failed > 0 or not summary.success, changed = summary.updated > 0 },
      opts.detailed_exitcodes)
  end
  -- Bad input changes nothing on the node, its state included: only a run
  -- that reached the converge phase (or failed there) is recorded.
  if not opts.why_run and not (err and err.kind == "input") then
    local info = {
      time = os.time(), node = opts.node_name or facts.hostname, run_list = json.array(run_list),
      version = M.VERSION, environment = environment,
      success = err == nil and summary.success and summary.failed == 0,
      exit_code = code, duration = sys.now() - t0, failed_resources = failed,
    }
    if summary then
      for _, k in ipairs(COUNTS) do info[k] = summary[k] end
    end
    if err then
      info.error = errors.format(err)
      info.file, info.line = err.file, err.line
    end
    M.write_last_run(state_dir, info)
  end
  return code, summary, err
end

return M
