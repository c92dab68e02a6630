-- ccchef.remote: `ccchef remote` and `ccchef status` (DESIGN.md 2.1, 3;
-- docs/remote.md).
--
-- The controller resolves TARGETS (ccchef.inventory), finds the kitchen and
-- the runner, then starts one worker process per node (`ccchef __node`,
-- its spec in $CCCHEF_NODE_SPEC) on a libuv loop (ccchef.spawn), at most
-- -p N at a time, and renders the JSON lines each worker prints, prefixed
-- with the node's name, then a summary table.
--
-- Why a process per node: libssh's API blocks (connect, key exchange,
-- channel reads), and driving its non-blocking mode from libuv would mean
-- re-implementing its state machines around every call. A worker process
-- runs the plain blocking sequence, a crash or hang in one node's session
-- cannot touch the others, and the parent's loop only reads pipes. A
-- worker costs one exec of ccchef (a few milliseconds).
--
-- The kitchen and the bundle are ccchef.bundle; what a worker does with a
-- node is ccchef.remote_node.
local archive = require("ccchef.archive")
local bundle = require("ccchef.bundle")
local converge = require("ccchef.converge")
local errors = require("ccchef.errors")
local inventory = require("ccchef.inventory")
local json = require("ccchef.json")
local private_dir = require("ccchef.private_dir")
local worker = require("ccchef.remote_node")
local report = require("ccchef.report")
local sys = require("ccchef.sys")
local util = require("ccchef.util")

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
  --serial N               rolling: N nodes at a time, stop when a batch fails
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
the run list, how many resources changed or failed, and the ccchef version.
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
  ["--accept-new-host-key"] = { "accept_new" },
  ["--connect-timeout"] = { "connect_timeout", true },
  ["--command-timeout"] = { "command_timeout", true },
  ["--runner"] = { "runner", true },
}
local OPTIONS = converge.options(converge.RUN_OPTIONS, converge.KITCHEN_OPTIONS, REMOTE_ONLY)

local usage_error = converge.usage_error

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

local function sha256_of(path)
  local res = require("ccchef.proc").run({ "sha256sum", "--", path })
  local sum = res and res.status == 0 and res.output:match("^(%x+)")
  if not sum or #sum ~= 64 then errors.input("cannot compute the sha256 of " .. path) end
  return sum
end

-- This machine's architecture in `uname -m`'s spelling, from the facts: the
-- one the ccchef-runner beside ccchef is built for.
local function our_arch(facts)
  return facts.arch or facts.machine or "x86_64"
end

local function common_setup(args)
  local opts, rest = converge.parse(args, 2, OPTIONS)
  local format = converge.output_options(opts)
  local p = math.tointeger(converge.number_option(opts, "parallel", 10))
  if not p or p < 1 then usage_error("--parallel needs a positive integer") end
  opts.parallel = p
  if opts.serial then
    opts.serial = math.tointeger(converge.number_option(opts, "serial", 1))
    if not opts.serial or opts.serial < 1 then usage_error("--serial needs a positive integer") end
  end
  opts.connect_timeout = converge.number_option(opts, "connect_timeout", 10)
  opts.command_timeout = converge.number_option(opts, "command_timeout", 3600)
  if #rest == 0 then usage_error(args[1] .. " needs TARGETS") end
  return opts, rest, format
end

local function load_inventory(opts)
  if opts.inventory then return inventory.load(bundle.abspath(opts.inventory), true) end
  local k = opts.kitchen and sys.realpath(bundle.abspath(opts.kitchen))
    or bundle.find_kitchen_up(sys.realpath(".") or ".")
  if k and sys.stat(k .. "/nodes.lua") then return inventory.load(k .. "/nodes.lua", true) end
  if sys.stat("nodes.lua") then return inventory.load("nodes.lua", true) end
  return {}
end

local function base_spec(opts, node)
  return {
    name = node.name, host = node.host, port = node.port, user = opts.user or node.user,
    ssh_config = opts.ssh_config and bundle.abspath(opts.ssh_config),
    identity = opts.identity and bundle.abspath(opts.identity),
    connect_timeout = opts.connect_timeout, command_timeout = opts.command_timeout,
    accept_new = opts.accept_new or false, sudo = opts.sudo or false, state_dir = node.state_dir,
  }
end

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

-- Runs the workers; calls on_event(node, ev) for each parsed line, and
-- on_progress(running, done) (names of the nodes running, count of those
-- done) when that changes, if given. Returns results[i] = { node=, code=,
-- summary=, ... } in node order.
local function fan_out(nodes, specs, opts, on_event, on_progress)
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
        r.t0 = sys.now()
        local id, err = g:start({ exe, "__node" }, { "CCCHEF_NODE_SPEC=" .. json.encode(specs[nexti]) })
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
  -- One batch of every node, -p at a time; or --serial batches of N.
  local width = opts.serial or #nodes
  local i = 1
  while i <= #nodes do
    local last = math.min(#nodes, i + width - 1)
    run_batch(i, last, opts.serial or opts.parallel)
    if not opts.serial then break end
    local failed = false
    for j = i, last do if results[j].code ~= 0 then failed = true end end
    i = last + 1
    if failed and i <= #nodes then
      for j = i, #nodes do
        results[j].skipped = true
        on_event(results[j], { event = "node_error", stage = "serial",
          message = "not converged: an earlier batch failed (--serial)" })
      end
      break
    end
  end
  return results
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
  local widths = {}
  for _, row in ipairs(rows) do
    for c, v in ipairs(row) do widths[c] = math.max(widths[c] or 0, #v) end
  end
  for _, row in ipairs(rows) do
    local cells = {}
    for c, v in ipairs(row) do
      local pad = string.rep(" ", widths[c] - #v)
      cells[c] = (c >= 3 and c <= 5) and (pad .. v) or (v .. pad)
    end
    out:write((table.concat(cells, "  "):gsub("%s+$", "")), "\n")
  end
end

-- Everything before the first SSH session: targets, run lists, the
-- kitchen, and each node's compile (its attributes, environment and run
-- list; the controller's facts, marked node.facts_known = false), so that
-- every bad-input error of every node is found at once and no node is
-- touched. Then the per-node bundles (what each node's compile reached).
local function plan_nodes(opts, targets, runlist)
  if targets:find("%.lua$") and sys.stat(targets) then
    usage_error("TARGETS come first: ccchef remote TARGETS RUNLIST... (" .. targets .. " is a recipe file)")
  end
  local nodes = inventory.resolve(targets, load_inventory(opts))
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
  local layers = converge.cmdline_layers(opts)
  local runner = runner_file(opts)
  local specs = {}
  for i, n in ipairs(nodes) do specs[i] = base_spec(opts, n) end
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
      cli_layers = layers, node_name = n.name,
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
  local sha, arch = sha256_of(runner), our_arch(facts)
  local tmpdir, derr = private_dir.create()
  if not tmpdir then errors.input(derr) end
  local cache = {}
  local ok, err = pcall(function()
    for i, n in ipairs(nodes) do
      local spec, plan = specs[i], plans[i]
      spec.mode, spec.runner, spec.runner_sha, spec.arch = "converge", runner, sha, arch
      local run = {
        run_list = runlists[i], node_name = n.name, kitchen = is_kitchen,
        -- The inventory entries the node may see, by name: its own. (The
        -- place for the entries a later nodes() query selects.)
        inventory = { [n.name] = plan.entry },
        cmdline_layers = layers, environment = plan.environment,
        why_run = opts.why_run or false, log_level = opts.log_level,
      }
      local want = is_kitchen and bundle.needs(root, plan.prep, plan.run, plan.environment, cache) or nil
      local entries = bundle.collect(root, want, cache)
      entries[#entries + 1] = { path = "run.json", type = "file", mode = 420, data = json.encode(run) }
      local tar, perr = archive.pack(entries)
      if not tar then errors.input("cannot pack the bundle: " .. perr) end
      spec.bundle = string.format("%s/node-%d.tar", tmpdir, i)
      local wok, werr = sys.write(spec.bundle, tar, 384, nil, nil, false)
      if not wok then errors.input("cannot write the bundle: " .. werr) end
    end
  end)
  if not ok then
    private_dir.remove(tmpdir)
    error(err, 0)
  end
  return { nodes = nodes, specs = specs, tmpdir = tmpdir }
end

function M.cmd_remote(args)
  worker.trace("parent start")
  local opts, rest, format = common_setup(args)
  local _, color = converge.output_options(opts)
  local detailed = opts.detailed_exitcodes
  local ok, res = xpcall(plan_nodes, converge.traceback, opts, rest[1], { table.unpack(rest, 2) })
  if not ok then
    if not errors.is(res) then return converge.internal_error(res) end
    if format == "json" then
      io.stdout:write(json.encode({ event = "error", kind = res.kind, message = res.message }), "\n")
    end
    io.stderr:write("ccchef: error: " .. tostring(res) .. "\n")
    return converge.exit_code({ input = true }, detailed)
  end
  if res.bad then
    -- Every node's compile error, then nothing else: no node was touched.
    for _, b in ipairs(res.bad) do
      local e = b.error
      if format == "json" then
        io.stdout:write(json.encode({ event = "error", node = b.node, kind = e.kind, message = e.message,
          file = e.file, line = e.line, resource = e.resource }), "\n")
      end
      io.stderr:write(string.format("%s: error: %s\n", b.node, errors.format(e)))
    end
    io.stderr:write(string.format("ccchef: %d of %d nodes do not compile; no node was contacted\n",
      #res.bad, #res.nodes))
    return converge.exit_code({ input = true }, detailed)
  end

  -- Each node's events go to a human reporter of its own, as `ccchef
  -- apply` on that node would print them, each line prefixed with the
  -- node's name.
  local reporters = {}
  local function reporter_for(r)
    if not reporters[r.name] then
      reporters[r.name] = report.human({ color = color, log_level = opts.log_level, tag = "", named = false,
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
  if format == "human" and #res.nodes > 1 and sys.isatty(1) then
    on_progress = function(running, done)
      clear_status()
      local names = table.concat(running, " ")
      if #names > 50 then names = names:sub(1, 47) .. "..." end
      status_line = #running > 0
        and string.format("[%d/%d done; running: %s]", done, #res.nodes, names) or nil
      draw_status()
    end
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
    elseif e == "stderr" then
      io.stderr:write(string.format("%s: | %s\n", r.name, ev.line))
    end
    io.stdout:flush()
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

  worker.trace("parent ready")
  local fok, results = pcall(fan_out, res.nodes, res.specs, opts, on_event, on_progress)
  private_dir.remove(res.tmpdir)
  if not fok then error(results, 0) end
  worker.trace("parent done")
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
    summary_table(io.stdout, results, opts.why_run)
  end
  io.stdout:flush()
  return converge.exit_code(outcome, detailed)
end

function M.cmd_status(args)
  local opts, rest, format = common_setup(args)
  if #rest > 1 then usage_error("status takes TARGETS only") end
  local ok, res = xpcall(function()
    local nodes = inventory.resolve(rest[1], load_inventory(opts))
    local specs = {}
    for i, n in ipairs(nodes) do
      specs[i] = base_spec(opts, n)
      specs[i].mode = "status"
    end
    return { nodes = nodes, specs = specs }
  end, converge.traceback)
  if not ok then
    if not errors.is(res) then return converge.internal_error(res) end
    io.stderr:write("ccchef: error: " .. tostring(res) .. "\n")
    return 2
  end
  local results = fan_out(res.nodes, res.specs, opts, function(r, ev)
    if format == "json" then
      ev.node = r.name
      io.stdout:write(json.encode(ev), "\n")
    elseif ev.event == "node_error" then
      io.stderr:write(string.format("%s: error: %s\n", r.name, ev.message))
    end
  end)
  local failed = false
  if format == "human" then
    local rows = { { "NODE", "LAST RUN (UTC)", "RESULT", "RESOURCES", "UPDATED", "FAILED", "RUN LIST", "VERSION" } }
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
    local widths = {}
    for _, row in ipairs(rows) do for c, v in ipairs(row) do widths[c] = math.max(widths[c] or 0, #v) end end
    for _, row in ipairs(rows) do
      local cells = {}
      for c, v in ipairs(row) do cells[c] = v .. string.rep(" ", widths[c] - #v) end
      io.stdout:write((table.concat(cells, "  "):gsub("%s+$", "")), "\n")
    end
  else
    for _, r in ipairs(results) do if not r.status then failed = true end end
  end
  return failed and 1 or 0
end

return M

