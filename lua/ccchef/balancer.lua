-- ccchef.balancer: the controller's side of load balancers
-- (docs/failover.md, "Drain and undrain"). Which balancers serve a node,
-- and asking them, through each balancer node's runner over SSH as
-- `remote` does (ccchef.balancer_agent is what the runner does there), to
-- drain a server, make it ready, or say its state.
--
-- Conventions shared with cookbooks/haproxy: a node says which balancers
-- serve it in its `balanced_by` attribute (a node name, `@ROLE`, a comma
-- list or a list of those, set in nodes.lua, a role or an environment);
-- a balancer node's `haproxy.backend` (a name or a list) and
-- `haproxy.admin_socket` attributes say where the node's server lives; the
-- server's name in haproxy is the node's name. Attributes are computed as
-- `ccchef attrs NODE` computes them.
local archive = require("ccchef.archive")
local converge = require("ccchef.converge")
local errors = require("ccchef.errors")
local fanout = require("ccchef.remote_fanout")
local inventory = require("ccchef.inventory")
local json = require("ccchef.json")
local options = require("ccchef.options")
local plan = require("ccchef.remote_plan")
local private_dir = require("ccchef.private_dir")
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {}

-- What every question needs: the inventory, the kitchen, the command
-- line's attribute layers and the controller's facts. Paths the user gave
-- are made absolute before prepare enters the kitchen.
function M.context(opts)
  local inv = plan.load_inventory(opts)
  local root, is_kitchen = converge.find_root(opts.kitchen, {})
  return {
    opts = opts, inventory = inv, root = root, is_kitchen = is_kitchen,
    layers = options.cmdline_layers(opts), facts = require("ccchef.facts").collect(),
  }
end

-- A node's merged attributes, as `ccchef attrs NODE` computes them.
function M.attributes(ctx, node)
  local facts = {}
  for k, v in pairs(ctx.facts) do facts[k] = v end
  facts.name, facts.facts_known = node.name, false
  local prep = converge.prepare({
    root = ctx.root, root_is_kitchen = ctx.is_kitchen,
    environment = ctx.opts.environment or node.environment,
    node_entry = { attributes = node.attributes or {}, environment = node.environment, roles = node.roles },
    cli_layers = ctx.layers, node_name = node.name,
  }, {}, facts)
  return prep.attributes.values
end

local function list_of(v)
  if type(v) == "string" then return { v } end
  if type(v) == "table" then return v end
  return {}
end

-- The balancers of `node`: a list of inventory targets, or {} when it is
-- not balanced.
local function balanced_by(ctx, node)
  local v = M.attributes(ctx, node).balanced_by
  if v == nil then return {} end
  if type(v) ~= "string" and type(v) ~= "table" then
    errors.input(string.format("node %s: balanced_by must be a node name, @ROLE or a list of them", node.name))
  end
  local out = {}
  for _, t in ipairs(list_of(v)) do
    if type(t) ~= "string" then
      errors.input(string.format("node %s: balanced_by must be a node name, @ROLE or a list of them", node.name))
    end
    for _, b in ipairs(inventory.resolve(t, ctx.inventory)) do out[#out + 1] = b end
  end
  return out
end

-- Groups by balancer for `nodes`: { { node = balancer, socket =,
-- servers = { { backend, server, node } } } }, in the order met, and the
-- names of the nodes no balancer serves. A balancer without the
-- attributes is bad input, found before any connection.
function M.groups(ctx, nodes)
  local groups, by_name, unbalanced = {}, {}, {}
  for _, n in ipairs(nodes) do
    local bs = balanced_by(ctx, n)
    if #bs == 0 then unbalanced[#unbalanced + 1] = n.name end
    for _, b in ipairs(bs) do
      local g = by_name[b.name]
      if not g then
        local hp = M.attributes(ctx, b).haproxy
        hp = type(hp) == "table" and hp or {}
        if type(hp.admin_socket) ~= "string" or not util.is_absolute(hp.admin_socket) then
          errors.input(string.format("balancer %s (balanced_by of %s) has no haproxy.admin_socket attribute "
            .. "(an absolute path)", b.name, n.name))
        end
        local backends = list_of(hp.backend)
        if #backends == 0 then
          errors.input(string.format("balancer %s (balanced_by of %s) has no haproxy.backend attribute", b.name, n.name))
        end
        for _, be in ipairs(backends) do
          -- A name goes into a runtime-API command line: haproxy's own
          -- name characters only.
          if type(be) ~= "string" or not be:find("^[%w_%.:%-]+$") then
            errors.input(string.format("balancer %s: haproxy.backend %s is not a valid haproxy name", b.name, tostring(be)))
          end
        end
        g = { node = b, socket = hp.admin_socket, backends = backends, servers = {} }
        by_name[b.name] = g
        groups[#groups + 1] = g
      end
      if not n.name:find("^[%w_%.:%-]+$") then
        errors.input(string.format("node %s: its name is not a valid haproxy server name", n.name))
      end
      for _, be in ipairs(g.backends) do
        g.servers[#g.servers + 1] = { backend = be, server = n.name, node = n.name }
      end
    end
  end
  return groups, unbalanced
end

-- Asks every balancer of `groups` to apply `action` ("drain", "ready" or
-- "state") to its servers of `only` (a set of node names; all when nil),
-- at once, one worker per balancer. on_event(node_name, balancer_name, ev)
-- gets each server's `balancer` event, and the balancer's own errors
-- (node_error, stderr) with node_name nil. Returns outcomes by node name:
-- a list of { balancer, backend, ok, state, sessions, status, check,
-- message, waited }; a balancer that failed as a whole gives each of its
-- servers an outcome with ok = false and its message.
function M.ask(ctx, groups, action, timeout, only, on_event)
  local opts = ctx.opts
  if not ctx.runner then
    ctx.runner = plan.runner_file(opts)
    ctx.arch = plan.our_arch(ctx.facts)
  end
  local nodes, specs, asked = {}, {}, {}
  local tmpdir, derr = private_dir.create()
  if not tmpdir then errors.input(derr) end
  local outcomes = {}
  local ok, err = pcall(function()
    for _, g in ipairs(groups) do
      local servers = {}
      for _, s in ipairs(g.servers) do
        if not only or only[s.node] then servers[#servers + 1] = { backend = s.backend, server = s.server } end
      end
      if #servers > 0 then
        local i = #nodes + 1
        local run = { node_name = g.node.name, kitchen = false, run_list = {},
          balancer = { socket = g.socket, action = action, servers = servers, timeout = timeout } }
        local tar, perr = archive.pack({ { path = "run.json", type = "file", mode = util.mode"0644", data = json.encode(run) } })
        if not tar then errors.input("cannot pack the bundle: " .. perr) end
        local spec = plan.base_spec(opts, g.node)
        spec.mode, spec.runner, spec.arch = "converge", ctx.runner, ctx.arch
        -- The wait is the runner's (all its servers at once); the session
        -- outlives it a little.
        spec.command_timeout = timeout + 30
        spec.bundle = string.format("%s/balancer-%d.tar", tmpdir, i)
        local wok, werr = sys.write(spec.bundle, tar, util.mode"0600", nil, nil, false)
        if not wok then errors.input("cannot write the bundle: " .. werr) end
        nodes[i], specs[i], asked[i] = g.node, spec, servers
      end
    end
    if #nodes == 0 then return end
    local results = fanout.run(nodes, specs, { parallel = #nodes }, function(r, ev)
      if ev.event == "balancer" then
        local o = { balancer = r.name, backend = ev.backend, ok = ev.ok, state = ev.state, sessions = ev.sessions,
          status = ev.status, check = ev.check, message = ev.message, waited = ev.waited }
        outcomes[ev.server] = outcomes[ev.server] or {}
        table.insert(outcomes[ev.server], o)
        r.answered = r.answered or {}
        r.answered[ev.backend .. "/" .. ev.server] = true
        on_event(ev.server, r.name, ev)
      elseif ev.event == "node_error" or ev.event == "stderr" or ev.event == "error" then
        on_event(nil, r.name, ev)
      end
    end)
    -- A balancer that could not be asked (down, its runner failed) leaves
    -- its servers without an answer: each gets the balancer's error.
    for i, r in ipairs(results) do
      local why = (r.node_error and r.node_error.message) or (r.run_error and r.run_error.message)
        or (r.code ~= 0 and ("the balancer's runner exited " .. tostring(r.code))) or "no answer"
      for _, s in ipairs(asked[i]) do
        if not (r.answered and r.answered[s.backend .. "/" .. s.server]) then
          outcomes[s.server] = outcomes[s.server] or {}
          table.insert(outcomes[s.server], { balancer = r.name, backend = s.backend, ok = false, message = why })
          on_event(s.server, r.name, { event = "balancer", action = action, backend = s.backend, server = s.server,
            ok = false, message = why })
        end
      end
    end
  end)
  private_dir.remove(tmpdir)
  if not ok then error(err, 0) end
  return outcomes
end

-- Whether every outcome of a node is ok (a node no balancer answered for
-- has none, which is not ok).
function M.all_ok(list)
  if not list or #list == 0 then return false end
  for _, o in ipairs(list) do if not o.ok then return false end end
  return true
end

-- `ccchef status`: the balancer state of the balanced nodes among
-- `nodes` (those of the inventory), as r.balancer (a list of outcomes) on
-- each of `results`. Returns false and a message when the balancers could
-- not be worked out (no kitchen, bad attributes): status still shows the
-- rest.
function M.status(opts, nodes, results)
  local ok, err = pcall(function()
    local ctx = M.context(opts)
    local balanced = {}
    for _, n in ipairs(nodes) do
      if n.from_inventory then balanced[#balanced + 1] = n end
    end
    local groups = M.groups(ctx, balanced)
    if #groups == 0 then return end
    local outcomes = M.ask(ctx, groups, "state", 5, nil, function() end)
    for _, r in ipairs(results) do r.balancer = outcomes[r.name] end
  end)
  if not ok then return false, tostring(err) end
  return true
end

return M
