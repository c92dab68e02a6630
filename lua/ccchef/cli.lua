-- ccchef.cli: the command line (DESIGN.md 2.1). Parses arguments, runs the
-- command, and maps the outcome to an exit code:
--   0 converged, 1 a resource failed, 2 bad input;
--   with --detailed-exitcodes (Puppet's scheme): 0 no changes, 2 changes,
--   4 failures, 6 changes and failures, 1 bad input.
local errors = require("ccchef.errors")
local json = require("ccchef.json")
local report = require("ccchef.report")
local state = require("ccchef.state")
local util = require("ccchef.util")

local M = {}

M.VERSION = "0.1.0"

local USAGE = [[
usage: ccchef COMMAND [options] ...

commands:
  apply [options] RUNLIST...   converge this machine
  attrs [options] [NODE]       the node's merged attributes and where each came from
  remote [options] TARGETS [RUNLIST...]
                               converge other machines over SSH
  status [options] TARGETS     what each node last converged, when, how it went
  facts                        print what ccchef knows about this machine (JSON)
  new cookbook NAME            scaffold a cookbook that converges as it is
  help [COMMAND]               show help
  --version                    print the version

Run 'ccchef help apply' for the options of apply.
]]

local HELP = {
  apply = [[
usage: ccchef apply [options] RUNLIST...

RUNLIST items are recipe files (web.lua), recipe:COOKBOOK,
recipe:COOKBOOK::NAME and role:NAME. Without a run list, the node's run
list from the inventory (nodes.lua) is used.

options:
  -k, --kitchen DIR        the kitchen (default: found from the current
                           directory upward: cookbooks/, roles/, nodes.lua)
  -E, --environment NAME   environments/NAME.lua (default: the node's, if any)
  -N, --node NAME          use the inventory entry NAME (default: this hostname, if listed)
  -j FILE                  attributes from a JSON file (highest precedence)
  --attr KEY.PATH=VALUE    one attribute (highest precedence; repeatable)
  -n, --why-run            change nothing; report what would change, with diffs
                           and the notifications that would fire
  --format human|json      output format (json: one event per line)
  -l, --log-level LEVEL    error, warn (default), info or debug
  --detailed-exitcodes     0 no changes, 2 changes, 4 failures, 6 both, 1 bad input
  --state-dir DIR          where the lock and pending notifications live
                           (default /var/lib/ccchef as root; $CCCHEF_STATE_DIR)
  --backup-dir DIR         where replaced files are kept (default STATE_DIR/backup)
  --backups N              backups kept per file (default 5; 0 keeps none)
  --lock-timeout S         wait this long for another run's lock (default 30)
  --command-timeout S      default timeout of execute and guards (default 3600)
  --color, --no-color      force colour on or off (default: on a terminal)
]],
  attrs = [[
usage: ccchef attrs [options] [NODE | RUNLIST...]

Prints the node's merged attributes, one leaf per line, each with the file
(and line) that set it. Precedence, low to high: cookbook defaults <
roles < environment < node (nodes.lua) < command line (-j, --attr).
Options: -k DIR, -E ENV, -j FILE, --attr K=V, --format human|json.
]],
  new = [[
usage: ccchef new cookbook NAME [-k DIR]

Writes cookbooks/NAME in the kitchen (found from the current directory
upward, or -k DIR; else ./cookbooks): recipes/default.lua,
attributes/default.lua, templates/README.tmpl, resources/note.lua (the
custom resource NAME_note) and files/. It converges as it is:
  ccchef apply recipe:NAME
]],
  facts = [[
usage: ccchef facts

Prints the facts about this machine as JSON: hostname, fqdn, os, platform,
platform_version, arch, cpus, memory, ip addresses, init system, package
manager. Recipes see them in `node`.
]],
}

-- Option table: name -> { key, takes_value }
local APPLY_OPTIONS = {
  ["-n"] = { "why_run" }, ["--why-run"] = { "why_run" },
  ["--format"] = { "format", true },
  ["-l"] = { "log_level", true }, ["--log-level"] = { "log_level", true },
  ["--detailed-exitcodes"] = { "detailed_exitcodes" },
  ["--state-dir"] = { "state_dir", true },
  ["--backup-dir"] = { "backup_dir", true },
  ["--backups"] = { "backups", true },
  ["--lock-timeout"] = { "lock_timeout", true },
  ["--command-timeout"] = { "command_timeout", true },
  ["--color"] = { "color" }, ["--no-color"] = { "no_color" },
}

-- Options that choose the kitchen, node and attributes: apply and attrs.
local KITCHEN_OPTIONS = {
  ["-k"] = { "kitchen", true }, ["--kitchen"] = { "kitchen", true },
  ["-E"] = { "environment", true }, ["--environment"] = { "environment", true },
  ["-j"] = { "json_attrs", true, true }, ["--json-attributes"] = { "json_attrs", true, true },
  ["--attr"] = { "attrs", true, true },
  ["-N"] = { "node_name", true }, ["--node"] = { "node_name", true },
}
for k, v in pairs(KITCHEN_OPTIONS) do APPLY_OPTIONS[k] = v end

local ATTRS_OPTIONS = { ["--format"] = { "format", true } }
for k, v in pairs(KITCHEN_OPTIONS) do ATTRS_OPTIONS[k] = v end

local function usage_error(msg)
  errors.input(msg .. " (see 'ccchef help')")
end

local function parse(args, first, spec)
  local opts, rest = {}, {}
  local i = first
  while i <= #args do
    local a = args[i]
    local name, inline = a:match("^(%-%-[^=]+)=(.*)$")
    name = name or a
    local o = spec[name]
    if a == "--" then
      for j = i + 1, #args do rest[#rest + 1] = args[j] end
      break
    elseif o then
      if o[2] then
        local v = inline
        if v == nil then
          i = i + 1
          v = args[i]
        end
        if v == nil then usage_error("option " .. name .. " needs a value") end
        if o[3] then
          opts[o[1]] = opts[o[1]] or {}
          table.insert(opts[o[1]], v)
        else
          opts[o[1]] = v
        end
      else
        opts[o[1]] = true
      end
    elseif a:sub(1, 1) == "-" and #a > 1 then
      local known = {}
      for k in pairs(spec) do known[#known + 1] = k end
      usage_error("unknown option " .. a .. require("ccchef.util").suggest(a, known))
    else
      rest[#rest + 1] = a
    end
    i = i + 1
  end
  return opts, rest
end

local function number_option(opts, key, default)
  local v = opts[key]
  if v == nil then return default end
  local n = tonumber(v)
  if not n or n < 0 then usage_error("--" .. key:gsub("_", "-") .. " needs a non-negative number") end
  return n
end

local function exit_code(summary, detailed)
  local failed = summary.failed > 0 or not summary.success
  local changed = summary.updated > 0
  if detailed then
    return (changed and 2 or 0) + (failed and 4 or 0)
  end
  return failed and 1 or 0
end

-- What apply and attrs share: find the kitchen, load custom resources,
-- expand the run list, and layer the attributes. Returns a table with
-- kitchen, entries (recipe files in order), node (what recipes see),
-- attributes (the set, with provenance) and run_list.
function M.prepare(opts, runlist, facts)
  local kitchen_mod = require("ccchef.kitchen")
  local attributes = require("ccchef.attributes")
  local root = kitchen_mod.find(os.getenv("PWD") or ".", opts.kitchen)
  local kitchen = root and kitchen_mod.open(root)
  local node_name = opts.node_name or facts.hostname
  -- The remote runner hands over the node's inventory entry as the
  -- controller read it (the node may be a literal user@host target).
  local node_entry = opts.node_entry
  if not node_entry and kitchen then
    node_entry = kitchen:inventory()[node_name]
    if opts.node_name and not node_entry then
      errors.input(string.format("node '%s' is not in the inventory %s", node_name, kitchen.inventory_path))
    end
  elseif not node_entry and opts.node_name then
    errors.input(string.format("--node %s needs a kitchen with nodes.lua (none found; use -k DIR)", node_name))
  end
  if #runlist == 0 and node_entry then
    for _, item in ipairs(kitchen_mod.node_runlist(root, node_entry)) do runlist[#runlist + 1] = item end
  end
  local entries, roles = kitchen_mod.expand(kitchen, runlist)
  local layers = {}
  if opts.cli_attribute_table then -- `ccchef remote`'s -j and --attr, merged by the controller
    layers[#layers + 1] = { value = opts.cli_attribute_table, origin = "command line of ccchef remote" }
  end
  for _, file in ipairs(opts.json_attrs or {}) do
    local text, err = require("ccchef.sys").read(file)
    if not text then errors.input("-j: " .. err) end
    local value, jerr = json.decode_attributes(text)
    if value == nil then errors.input(string.format("-j %s: invalid JSON: %s", file, jerr)) end
    if type(value) ~= "table" then errors.input(string.format("-j %s: expected a JSON object", file)) end
    layers[#layers + 1] = { value = value, origin = file }
  end
  for _, a in ipairs(opts.attrs or {}) do
    local path, value = attributes.parse_assignment(a)
    if not path then errors.input(value) end
    layers[#layers + 1] = { path = path, value = value, origin = "--attr " .. a }
  end
  local set = kitchen_mod.attributes(kitchen, {
    roles = roles,
    environment = opts.environment or (node_entry and node_entry.environment),
    node_entry = node_entry, node_name = node_name, cli_layers = layers,
  }, facts)
  local registry = require("ccchef.registry")
  require("ccchef.custom").load_kitchen(kitchen, registry)
  return {
    kitchen = kitchen, entries = entries, run_list = runlist, attributes = set,
    node = kitchen_mod.node_view(set, facts),
  }
end

-- Converge this machine: what `apply` does once its arguments are parsed,
-- and what the remote runner does with the bundle it was sent. opts has the
-- keys of APPLY_OPTIONS, plus (for the runner) attributes (a table merged
-- into node) and node_name. reporter is optional (the runner wraps the JSON
-- one to remember failed resources). Returns the exit code and the summary
-- (nil when the run did not reach the converge phase) or the error.
function M.apply(opts, runlist, reporter)
  local format = opts.format or "human"
  if format ~= "human" and format ~= "json" then usage_error("--format must be human or json") end
  if opts.log_level and not report.LEVELS[opts.log_level] then
    usage_error("--log-level must be error, warn, info or debug")
  end
  local color = nil
  if opts.color then color = true end
  if opts.no_color then color = false end
  local facts = require("ccchef.facts").collect()
  facts.name = opts.node_name or facts.hostname
  reporter = reporter or (format == "json" and report.json or report.human)({
    color = color, log_level = opts.log_level, node_name = facts.hostname })
  local detailed = opts.detailed_exitcodes
  local ok, result = xpcall(function()
    local prep = M.prepare(opts, runlist, facts)
    if #prep.entries == 0 then
      usage_error("apply needs a run list: recipe files, recipe:COOKBOOK, role:NAME")
    end
    local state_dir = opts.state_dir or state.default_dir()
    local run_opts = {
      why_run = opts.why_run or false,
      state_dir = state_dir,
      backup_dir = opts.backup_dir or (state_dir .. "/backup"),
      backups = math.tointeger(number_option(opts, "backups", 5)) or usage_error("--backups needs an integer"),
      lock_timeout = number_option(opts, "lock_timeout", 30),
      command_timeout = number_option(opts, "command_timeout", 3600),
      node = prep.node,
      kitchen = prep.kitchen,
      reporter = reporter,
      run_list = runlist,
    }
    local engine = require("ccchef.engine")
    local run = engine.compile(run_opts, prep.entries)
    -- A local converge leaves nothing that needs a finalizer at exit (the
    -- lock is the kernel's to drop): the process may exit without freeing
    -- the Lua state object by object.
    require("ccchef.host").skip_close()
    local summary = engine.converge(run)
    -- Stdout has the report; stderr gets one line saying what stopped the run,
    -- in either format, so `ccchef apply ... >log` still shows it.
    if summary.error then
      io.stderr:write("ccchef: error: " .. errors.format(summary.error) .. "\n")
    end
    return summary
  end, M.traceback)
  if not ok then
    if not errors.is(result) then return M.internal_error(result) end
    local e = result
    reporter:error(e)
    if e.kind == "input" then return detailed and 1 or 2, nil, e end
    return detailed and 4 or 1, nil, e
  end
  return exit_code(result, detailed), result
end

local function cmd_apply(args)
  local opts, runlist = parse(args, 2, APPLY_OPTIONS)
  return (M.apply(opts, runlist))
end

-- ccchef attrs [NODE | RUNLIST...]: the merged attributes and, for each
-- leaf, the file (and line) that set it.
local function cmd_attrs(args)
  local opts, rest = parse(args, 2, ATTRS_OPTIONS)
  local facts = require("ccchef.facts").collect()
  local runlist = {}
  if #rest == 1 and not rest[1]:find("[:/]") and not rest[1]:match("%.lua$") then
    opts.node_name = rest[1]
  else
    runlist = rest
  end
  local prep = M.prepare(opts, runlist, facts)
  local leaves = prep.attributes:leaves()
  if opts.format == "json" then
    local out = {}
    for _, l in ipairs(leaves) do out[#out + 1] = { path = l.path, value = l.value, origin = l.origin } end
    io.stdout:write(json.encode({ node = opts.node_name or facts.hostname, attributes = prep.attributes.values,
      origins = out }), "\n")
    return 0
  end
  local width = 0
  local lines = {}
  local root = prep.kitchen and prep.kitchen.root .. "/"
  for _, l in ipairs(leaves) do
    if root and l.origin and l.origin:sub(1, #root) == root then l.origin = l.origin:sub(#root + 1) end
    local v = type(l.value) == "table" and json.encode(l.value) or
      (type(l.value) == "string" and string.format("%q", l.value) or tostring(l.value))
    local left = l.path .. " = " .. v
    if #left > width then width = math.min(#left, 60) end
    lines[#lines + 1] = { left, l.origin or "?" }
  end
  for _, l in ipairs(lines) do
    io.stdout:write(string.format("%-" .. width .. "s  # %s\n", l[1], l[2]))
  end
  return 0
end

-- ccchef new cookbook NAME [-k DIR]: scaffold a cookbook in the kitchen
-- (or in ./cookbooks when there is no kitchen yet).
local function cmd_new(args)
  local opts, rest = parse(args, 2, { ["-k"] = { "kitchen", true }, ["--kitchen"] = { "kitchen", true } })
  if rest[1] ~= "cookbook" or #rest ~= 2 then usage_error("usage: ccchef new cookbook NAME") end
  local root = require("ccchef.kitchen").find(os.getenv("PWD") or ".", opts.kitchen)
    or require("ccchef.sys").realpath(".")
  local _, created = require("ccchef.scaffold").cookbook(rest[2], root)
  for _, f in ipairs(created) do io.stdout:write("created " .. f .. "\n") end
  io.stdout:write(string.format("cookbook %s is ready: ccchef apply -k %s recipe:%s\n", rest[2], root, rest[2]))
  return 0
end

local function cmd_facts(args)
  if #args > 1 then usage_error("facts takes no arguments") end
  io.stdout:write(json.encode(require("ccchef.facts").collect()), "\n")
  return 0
end

local function cmd_help(args)
  local topic = args[2]
  if topic == nil then
    io.stdout:write(USAGE)
  elseif HELP[topic] then
    io.stdout:write(HELP[topic])
  elseif topic == "remote" or topic == "status" then
    io.stdout:write(require("ccchef.remote").HELP[topic])
  else
    usage_error("no help for '" .. topic .. "'")
  end
  return 0
end

-- Errors that are tables are the user's or the world's; a string reaching
-- here is a bug in ccchef, and its traceback is what a bug report needs.
function M.traceback(e)
  if errors.is(e) then return e end
  return debug.traceback(tostring(e), 2)
end

function M.internal_error(msg)
  io.stderr:write("ccchef: internal error (please report): " .. tostring(msg) .. "\n")
  return 70
end

-- Shared with ccchef.remote, which parses its own options the same way.
M.parse, M.usage_error, M.number_option = parse, usage_error, number_option

local COMMANDS = {
  apply = cmd_apply, attrs = cmd_attrs, facts = cmd_facts, help = cmd_help, new = cmd_new,
  remote = function(args) return require("ccchef.remote").cmd_remote(args) end,
  status = function(args) return require("ccchef.remote").cmd_status(args) end,
  -- Internal: one node of a remote run, started by `remote` itself.
  ["__node"] = function() return require("ccchef.remote_node").node_main() end,
}

function M.main(args)
  local cmd = args[1]
  if cmd == nil or cmd == "--help" or cmd == "-h" then
    -- Asked for, help goes to stdout; no command at all is a usage error.
    if cmd == nil then
      io.stderr:write(USAGE)
      return 2
    end
    io.stdout:write(USAGE)
    return 0
  end
  if cmd == "--version" or cmd == "version" then
    io.stdout:write("ccchef " .. M.VERSION .. "\n")
    return 0
  end
  local fn = COMMANDS[cmd]
  local ok, code = xpcall(function()
    if not fn then
      local names = {}
      for k in pairs(COMMANDS) do names[#names + 1] = k end
      usage_error("unknown command '" .. cmd .. "'" .. require("ccchef.util").suggest(cmd, names))
    end
    return fn(args)
  end, M.traceback)
  if not ok then
    if not errors.is(code) then return M.internal_error(code) end
    io.stderr:write("ccchef: error: " .. tostring(code) .. "\n")
    -- A mistake in apply's options is found before its reporter exists; the
    -- options that matter here are looked for directly. Under
    -- --detailed-exitcodes 2 means "changed", so bad input is 1 there; under
    -- --format json a consumer still gets the error event it expects.
    local detailed, as_json = false, false
    for i, a in ipairs(args) do
      if a == "--detailed-exitcodes" then detailed = true end
      if a == "--format=json" or (a == "--format" and args[i + 1] == "json") then as_json = true end
    end
    if cmd ~= "apply" then return 2 end
    if as_json then
      io.stdout:write(json.encode({ event = "error", kind = code.kind, message = code.message }), "\n")
    end
    return detailed and 1 or 2
  end
  return code
end

return M
