-- ccchef.drain: `ccchef drain NODE...` and `ccchef undrain NODE...`
-- (docs/failover.md, "Drain and undrain"): take nodes out of their load
-- balancers and put them back, through haproxy's runtime API on each
-- balancer node (ccchef.balancer), and say how it went.
--
-- drain sets each of the nodes' servers to `drain` (no new requests; the
-- open ones finish) on every balancer that serves it and waits until its
-- sessions reach 0, up to --timeout; undrain sets them `ready` and waits
-- until the balancer's own health check says UP, up to --timeout.
local balancer = require("ccchef.balancer")
local errors = require("ccchef.errors")
local inventory = require("ccchef.inventory")
local json = require("ccchef.json")
local options = require("ccchef.options")
local render = require("ccchef.remote_render")

local M = {}

M.HELP = {
  drain = [[
usage: ccchef drain [options] TARGETS

Takes nodes out of their load balancers: on every balancer that serves a
node (its balanced_by attribute), sets the node's server to drain (no new
requests, open ones finish) through haproxy's admin socket on the balancer
node, over SSH as `remote` does, and waits until its sessions reach 0.
Exit 0 when every server is drained with 0 sessions, 1 otherwise.

options:
  --timeout S              wait at most S seconds for 0 sessions (default 60)
  --format human|json      output format (json: one event per server)
  -k, --kitchen DIR, --inventory FILE, -E ENV, -j FILE, --attr K=V
                           the kitchen, inventory and attributes, as for remote
  -F FILE, -i FILE, -u USER, --sudo, --accept-new-host-key,
  --connect-timeout S, --runner FILE
                           how balancer nodes are reached, as for remote
]],
  undrain = [[
usage: ccchef undrain [options] TARGETS

Puts drained nodes back: sets each node's server to ready on every balancer
that serves it and waits until the balancer's health check says UP.
Takes the options of drain; --timeout S bounds the wait for UP (default 60).
]],
}

M.OPTIONS = options.combine(options.KITCHEN_OPTIONS, {
  ["--inventory"] = { "inventory", true },
  ["-F"] = { "ssh_config", true },
  ["-i"] = { "identity", true },
  ["-u"] = { "user", true }, ["--user"] = { "user", true },
  ["--sudo"] = { "sudo" },
  ["--accept-new-host-key"] = { "accept_new" },
  ["--connect-timeout"] = { "connect_timeout", true },
  ["--runner"] = { "runner", true },
  ["--timeout"] = { "timeout", true },
  ["--format"] = { "format", true },
  ["--color"] = { "color" }, ["--no-color"] = { "no_color" },
})

local WORD = { drain = "drained", ready = "ready" }

-- Lines as the balancers answer: one per server and balancer.
function M.printer(format, action)
  return function(node, lb, ev)
    if format == "json" then
      local t = {}
      for k, v in pairs(ev) do t[k] = v end
      t.node, t.balancer = node, lb
      io.stdout:write(json.encode(t), "\n")
      io.stdout:flush()
      return
    end
    if ev.event == "balancer" then
      local o = { balancer = lb, backend = ev.backend, state = ev.state, sessions = ev.sessions,
        status = ev.status, check = ev.check, message = ev.message }
      if ev.ok then
        io.stdout:write(string.format("%s: %s on %s (%.1f s)\n", node,
          WORD[action] or ev.state, render.describe_balancer(o), ev.waited or 0))
      else
        io.stderr:write(string.format("%s: error: %s\n", node, render.describe_balancer(o)))
      end
    elseif ev.event == "node_error" then
      io.stderr:write(string.format("%s: error: %s\n", lb, ev.message))
    elseif ev.event == "stderr" then
      io.stderr:write(string.format("%s: | %s\n", lb, ev.line))
    end
    io.stdout:flush()
  end
end

-- Common to drain and undrain: returns the exit code.
function M.run(args, action)
  local opts, rest = options.parse(args, 2, M.OPTIONS)
  local format = options.output_options(opts)
  if #rest ~= 1 then options.usage_error(args[1] .. " takes TARGETS (a node, a comma list, @ROLE)") end
  opts.connect_timeout = options.number_option(opts, "connect_timeout", 10)
  local timeout = options.number_option(opts, "timeout", 60)
  local ctx = balancer.context(opts)
  local nodes = inventory.resolve(rest[1], ctx.inventory)
  for _, n in ipairs(nodes) do
    if not n.from_inventory then errors.input(string.format("%s is not a node of the inventory", n.name)) end
  end
  local groups, unbalanced = balancer.groups(ctx, nodes)
  if #unbalanced > 0 then
    errors.input(string.format("%s: no balancer serves %s (set the balanced_by attribute: docs/failover.md)",
      table.concat(unbalanced, ", "), #unbalanced == 1 and "it" or "them"))
  end
  local outcomes = balancer.ask(ctx, groups, action, timeout, nil, M.printer(format, action))
  local failed = {}
  for _, n in ipairs(nodes) do
    if not balancer.all_ok(outcomes[n.name]) then failed[#failed + 1] = n.name end
  end
  if format == "json" then
    io.stdout:write(json.encode({ event = action == "drain" and "drain_end" or "undrain_end",
      failed = failed, success = #failed == 0 }), "\n")
  elseif #failed > 0 then
    io.stderr:write(string.format("ccchef: %s failed for %s\n", action == "drain" and "drain" or "undrain",
      table.concat(failed, ", ")))
  end
  return #failed == 0 and 0 or 1
end

return M
