-- ccchef.remote_plan: what `ccchef remote` does before the first SSH
-- session (docs/remote.md, "Compile before connecting"): resolve the
-- targets, find the kitchen and the runner, compile every node's run list
-- (so every bad-input error of every node is found and no node is
-- touched), then write each node's bundle (ccchef.bundle: what its
-- compile reached) and the spec its worker gets.
local archive = require("ccchef.archive")
local bundle = require("ccchef.bundle")
local converge = require("ccchef.converge")
local errors = require("ccchef.errors")
local inventory = require("ccchef.inventory")
local json = require("ccchef.json")
local node_query = require("ccchef.node_query")
local options = require("ccchef.options")
local private_dir = require("ccchef.private_dir")
local worker = require("ccchef.remote_node")
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {}

local usage_error = options.usage_error

local function runner_file(opts)
  local path = opts.runner or os.getenv("CCCHEF_RUNNER")
  if not path then
    local exe = require("ccchef.spawn").exepath()
    path = exe and util.dirname(exe) .. "/ccchef-runner"
  end
  local st = path and sys.stat(path)
  if not st or st.type ~= "file" then
    errors.input("cannot find ccchef-runner" .. (path and (" at " .. path) or "")
      .. " (install it beside ccchef, or give --runner FILE)")
  end
  return sys.realpath(path)
end

-- The architecture this runner is built for, as `uname -m` says it.
local function our_arch(facts)
  return facts.arch or facts.machine or "x86_64"
end

-- Shared with ccchef.balancer, which sends balancer nodes the same runner.
M.runner_file, M.our_arch = runner_file, our_arch

-- The nodes file: --inventory, else the kitchen's nodes.lua, else ./nodes.lua.
function M.load_inventory(opts)
  if opts.inventory then return inventory.load(bundle.abspath(opts.inventory), true) end
  local k = opts.kitchen and sys.realpath(bundle.abspath(opts.kitchen))
    or bundle.find_kitchen_up(sys.realpath(".") or ".")
  if k and sys.stat(k .. "/nodes.lua") then return inventory.load(k .. "/nodes.lua", true) end
  if sys.stat("nodes.lua") then return inventory.load("nodes.lua", true) end
  return {}
end

-- What every worker is told about its node, whatever it does there.
function M.base_spec(opts, node)
  return {
    name = node.name, host = node.host, port = node.port, user = opts.user or node.user,
    ssh_config = opts.ssh_config and bundle.abspath(opts.ssh_config),
    identity = opts.identity and bundle.abspath(opts.identity),
    connect_timeout = opts.connect_timeout, command_timeout = opts.command_timeout,
    accept_new = opts.accept_new or false, sudo = opts.sudo or false, state_dir = node.state_dir,
  }
end

-- Everything before the first SSH session: targets, run lists, the
-- kitchen, and each node's compile (its attributes, environment and run
-- list; the controller's facts, marked node.facts_known = false), so that
-- every bad-input error of every node is found at once and no node is
-- touched. Then the per-node bundles (what each node's compile reached).
function M.plan_nodes(opts, targets, runlist)
  if targets:find("%.lua$") and sys.stat(targets) then
    usage_error("TARGETS come first: ccchef remote TARGETS RUNLIST... (" .. targets .. " is a recipe file)")
  end
  local all_nodes = M.load_inventory(opts)
  local nodes = inventory.resolve(targets, all_nodes)
  local runlists = {}
  for i, n in ipairs(nodes) do runlists[i] = #runlist > 0 and runlist or (n.run_list or {}) end
  local root, is_kitchen = bundle.root(opts, runlists)
  for i, n in ipairs(nodes) do
    -- Without a run list on the command line: the node's roles that have
    -- a roles/NAME.lua, then its own run list, as `ccchef apply -N` does.
    if #runlist == 0 then runlists[i] = require("ccchef.kitchen").node_runlist(root, n) end
    if #runlists[i] == 0 then
      errors.input(string.format("node %s has no run list: give RUNLIST, or run_list in nodes.lua", n.name))
    end
    runlists[i] = bundle.relative_runlist(root, runlists[i])
  end
  local layers = options.cmdline_layers(opts)
  local runner = runner_file(opts)
  local specs = {}
  for i, n in ipairs(nodes) do specs[i] = M.base_spec(opts, n) end
  -- From here on the controller is in the kitchen (converge.prepare enters
  -- it): every path the user gave was made absolute above.
  local facts = require("ccchef.facts").collect()
  worker.trace("planned targets")
  local plans, bad = {}, {}
  for i, n in ipairs(nodes) do
    local node_facts = {}
    for k, v in pairs(facts) do node_facts[k] = v end
    node_facts.name, node_facts.facts_known = n.name, false
    local environment = opts.environment or n.environment
    local entry = { attributes = n.attributes or {}, environment = n.environment, roles = n.roles }
    local ok, prep, run = xpcall(converge.compile_only, converge.traceback, {
      root = root, root_is_kitchen = is_kitchen, environment = environment, node_entry = entry,
      cli_layers = layers, node_name = n.name, inventory = all_nodes,
    }, runlists[i], node_facts)
    if not ok then
      if not errors.is(prep) then error(prep, 0) end
      bad[#bad + 1] = { node = n.name, error = prep }
    else
      plans[i] = { prep = prep, run = run, environment = environment, entry = entry }
    end
  end
  worker.trace("compiled every node")
  if #bad > 0 then return { bad = bad, nodes = nodes } end
  -- The runner's sha256 is the worker's (ccchef.remote_node): it hashes
  -- the bytes it may upload, with the crypto libssh brings.
  local arch = our_arch(facts)
  local tmpdir, derr = private_dir.create()
  if not tmpdir then errors.input(derr) end
  local cache = {}
  local ok, err = pcall(function()
    for i, n in ipairs(nodes) do
      local spec, plan = specs[i], plans[i]
      local shipped = node_query.shipped(plan.prep.nodes)
      shipped.entries[n.name] = shipped.entries[n.name] or plan.entry
      spec.mode, spec.runner, spec.arch = "converge", runner, arch
      local run = {
        run_list = runlists[i], node_name = n.name, kitchen = is_kitchen,
        -- The inventory entries the node may see, by name: its own and
        -- those its nodes() queries selected, with their answers.
        inventory = shipped.entries, node_queries = shipped.answers,
        cmdline_layers = layers, environment = plan.environment,
        why_run = opts.why_run or false, log_level = opts.log_level,
      }
      local want = is_kitchen and bundle.needs(root, plan.prep, plan.run, plan.environment, cache) or nil
      local entries = bundle.collect(root, want, cache)
      entries[#entries + 1] = { path = "run.json", type = "file", mode = util.mode"0644", data = json.encode(run) }
      local tar, perr = archive.pack(entries)
      if not tar then errors.input("cannot pack the bundle: " .. perr) end
      spec.bundle = string.format("%s/node-%d.tar", tmpdir, i)
      local wok, werr = sys.write(spec.bundle, tar, util.mode"0600", nil, nil, false)
      if not wok then errors.input("cannot write the bundle: " .. werr) end
    end
  end)
  if not ok then
    private_dir.remove(tmpdir)
    error(err, 0)
  end
  return { nodes = nodes, specs = specs, tmpdir = tmpdir }
end

return M
