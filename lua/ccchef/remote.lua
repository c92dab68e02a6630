-- ccchef.remote: `ccchef remote` and `ccchef status` (DESIGN.md 2.1, 3;
-- docs/remote.md): their help, their options, and the order of the steps.
--
-- The controller plans every node before connecting to any
-- (ccchef.remote_plan: targets, kitchen, runner, each node's compile and
-- bundle), runs one worker process per node (ccchef.remote_fanout; what a
-- worker does with its node is ccchef.remote_node), and prints what the
-- workers report (ccchef.remote_render).
local converge = require("ccchef.converge")
local errors = require("ccchef.errors")
local fanout = require("ccchef.remote_fanout")
local inventory = require("ccchef.inventory")
local json = require("ccchef.json")
local options = require("ccchef.options")
local plan = require("ccchef.remote_plan")
local private_dir = require("ccchef.private_dir")
local render = require("ccchef.remote_render")
local worker = require("ccchef.remote_node")

local M = {}

M.HELP = {
  remote = [[
usage: ccchef remote [options] TARGETS [RUNLIST...]

Converges other machines over SSH. TARGETS: a node name from nodes.lua, a
comma list, @ROLE (the nodes with that role), user@host[:port], or a name
from the ssh config. With no RUNLIST a node's run_list from nodes.lua is used.
The runner (ccchef-runner) is uploaded to a node only when the node lacks
this exact build (/var/cache/ccchef, or ~/.cache/ccchef for other users).

options:
  -n, --why-run            change nothing; report what would change
  --format human|json      output format (json: one event per line, with "node")
  -l, --log-level LEVEL    error, warn (default), info or debug
  --detailed-exitcodes     0 no changes, 2 changes, 4 failures, 6 both, 1 bad input
  -k, --kitchen DIR        the kitchen (default: found from the recipes or the
                           current directory up: cookbooks/, roles/, environments/ or nodes.lua)
  --inventory FILE         nodes file (default KITCHEN/nodes.lua, or ./nodes.lua)
  -E, --environment ENV    environment for every node (overrides nodes.lua)
  -F FILE                  ssh config file (default ~/.ssh/config)
  -i FILE                  identity (private key) file, tried first
  -u, --user USER          log in as USER
  --sudo                   run the runner as root through the node's
                           ccchef-sudo-install (sudo -n; docs/remote.md, "sudo")
  -p, --parallel N         converge N nodes at once (default 10)
  --serial N               rolling: N nodes at a time, stop when a batch fails;
                           nodes with a balanced_by attribute are drained on
                           their load balancers before, and put back after
                           (docs/failover.md, "Rolling deploys")
  --max-failures N|N%      with --serial: go on until more than N nodes (or
                           N% of them) failed (default 0)
  --drain-timeout S        with --serial: wait at most S seconds for a node's
                           sessions to end, and for the balancer's check to
                           take it back (default 60)
  --accept-new-host-key    record the host key of a node not in known_hosts
                           (a changed key is always refused)
  --connect-timeout S      give up connecting after S seconds (default 10)
  --command-timeout S      give up on a node's run after S seconds (default 3600)
  -j, --json-attributes FILE  attributes from a JSON file, for every node
  --attr KEY.PATH=VALUE    one attribute for every node (repeatable; VALUE
                           is JSON when it parses: 8080, true, "x")
  --runner FILE            the ccchef-runner to upload (default: beside ccchef)
  --color, --no-color      force colour on or off
]],
  status = [[
usage: ccchef status [options] TARGETS

What each node last converged (from its /var/lib/ccchef/last-run.json): when,
the run list, how many resources changed or failed, and the ccchef version;
for a node with a balanced_by attribute, its state on each load balancer
(ready, drain or maint; open sessions; the balancer's check).
Takes the ssh options of `remote` (-F, -i, -u, --sudo, -p, -k, --inventory,
--accept-new-host-key, --connect-timeout) and --format human|json.
]],
}

-- remote's own options, besides the run and kitchen options it shares
-- with apply (ccchef.converge: -n, --format, -l, --detailed-exitcodes,
-- colour, -k, -E, -j, --attr).
local REMOTE_ONLY = {
  ["--inventory"] = { "inventory", true },
  ["-F"] = { "ssh_config", true },
  ["-i"] = { "identity", true },
  ["-u"] = { "user", true }, ["--user"] = { "user", true },
  ["--sudo"] = { "sudo" },
  ["-p"] = { "parallel", true }, ["--parallel"] = { "parallel", true },
  ["--serial"] = { "serial", true },
  ["--max-failures"] = { "max_failures", true },
  ["--drain-timeout"] = { "drain_timeout", true },
  ["--accept-new-host-key"] = { "accept_new" },
  ["--connect-timeout"] = { "connect_timeout", true },
  ["--command-timeout"] = { "command_timeout", true },
  ["--runner"] = { "runner", true },
}
local OPTIONS = options.combine(options.RUN_OPTIONS, options.KITCHEN_OPTIONS, REMOTE_ONLY)

local usage_error = options.usage_error

local function common_setup(args)
  local opts, rest = options.parse(args, 2, OPTIONS)
  local format = options.output_options(opts)
  local p = math.tointeger(options.number_option(opts, "parallel", 10))
  if not p or p < 1 then usage_error("--parallel needs a positive integer") end
  opts.parallel = p
  if opts.serial then
    opts.serial = math.tointeger(options.number_option(opts, "serial", 1))
    if not opts.serial or opts.serial < 1 then usage_error("--serial needs a positive integer") end
  end
  if opts.max_failures then
    local n, pct = opts.max_failures:match("^(%d+)(%%?)$")
    if not n then usage_error("--max-failures needs N or N%") end
    if not opts.serial then usage_error("--max-failures needs --serial") end
    opts.max_failures = { count = tonumber(n), percent = pct == "%" }
  end
  opts.drain_timeout = options.number_option(opts, "drain_timeout", 60)
  opts.connect_timeout = options.number_option(opts, "connect_timeout", 10)
  opts.command_timeout = options.number_option(opts, "command_timeout", 3600)
  if #rest == 0 then usage_error(args[1] .. " needs TARGETS") end
  return opts, rest, format
end

function M.cmd_remote(args)
  worker.trace("parent start")
  local opts, rest, format = common_setup(args)
  local _, color = options.output_options(opts)
  local detailed = opts.detailed_exitcodes
  local ok, res = xpcall(function()
    -- The balancers' view is read before the plan enters the kitchen
    -- (relative -k and --inventory are the user's). Why-run drains nothing:
    -- it changes nothing anywhere, balancers included.
    local ctx = opts.serial and not opts.why_run and require("ccchef.balancer").context(opts)
    local planned = plan.plan_nodes(opts, rest[1], { table.unpack(rest, 2) })
    if ctx and not planned.bad then
      local hok, hooks = pcall(require("ccchef.rollout").hooks, ctx, planned.nodes, opts.drain_timeout)
      if not hok then
        private_dir.remove(planned.tmpdir)
        error(hooks, 0)
      end
      opts.rollout = hooks
    end
    return planned
  end, converge.traceback)
  if not ok then
    if not errors.is(res) then return converge.internal_error(res) end
    if format == "json" then
      io.stdout:write(json.encode({ event = "error", kind = res.kind, message = res.message }), "\n")
    end
    io.stderr:write("ccchef: error: " .. tostring(res) .. "\n")
    return converge.exit_code({ input = true }, detailed)
  end
  if res.bad then
    render.compile_errors(format, res.bad, #res.nodes)
    return converge.exit_code({ input = true }, detailed)
  end
  if opts.max_failures then
    local m = opts.max_failures
    opts.max_failures = m.percent and (m.count * #res.nodes) // 100 or m.count
  end
  local on_event, on_progress = render.live(format, color, opts.log_level, #res.nodes)
  worker.trace("parent ready")
  local fok, results = pcall(fanout.run, res.nodes, res.specs, opts, on_event, on_progress)
  private_dir.remove(res.tmpdir)
  if not fok then error(results, 0) end
  worker.trace("parent done")
  return converge.exit_code(render.finish(format, results, opts.why_run), detailed)
end

function M.cmd_status(args)
  local opts, rest, format = common_setup(args)
  if #rest > 1 then usage_error("status takes TARGETS only") end
  local ok, res = xpcall(function()
    local nodes = inventory.resolve(rest[1], plan.load_inventory(opts))
    local specs = {}
    for i, n in ipairs(nodes) do
      specs[i] = plan.base_spec(opts, n)
      specs[i].mode = "status"
    end
    return { nodes = nodes, specs = specs }
  end, converge.traceback)
  if not ok then
    if not errors.is(res) then return converge.internal_error(res) end
    io.stderr:write("ccchef: error: " .. tostring(res) .. "\n")
    return 2
  end
  local results = fanout.run(res.nodes, res.specs, opts, function(r, ev) render.status_event(format, r, ev) end)
  -- Balanced nodes: their state on each balancer (docs/failover.md).
  local bok, berr = require("ccchef.balancer").status(opts, res.nodes, results)
  if not bok then io.stderr:write("ccchef: warning: balancer state unknown: " .. berr .. "\n") end
  local failed = render.balancer_states(format, results)
  if format == "human" then
    failed = render.status_table(io.stdout, results) or failed
  else
    for _, r in ipairs(results) do if not r.status then failed = true end end
  end
  return failed and 1 or 0
end

return M
