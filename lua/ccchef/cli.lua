-- ccchef.cli: the command line (DESIGN.md 2.1). Parses arguments, runs the
-- command, and maps the outcome to an exit code:
--   0 converged, 1 a resource failed, 2 bad input;
--   with --detailed-exitcodes (Puppet's scheme): 0 no changes, 2 changes,
--   4 failures, 6 changes and failures, 1 bad input.
local converge = require("ccchef.converge")
local errors = require("ccchef.errors")
local json = require("ccchef.json")
local options = require("ccchef.options")

local M = {}

M.VERSION = converge.VERSION

local USAGE = [[
usage: ccchef COMMAND [options] ...

commands:
  apply [options] RUNLIST...   converge this machine
  attrs [options] [NODE]       the node's merged attributes and where each came from
  remote [options] TARGETS [RUNLIST...]
                               converge other machines over SSH
  status [options] TARGETS     what each node last converged, when, how it went
                               (and, for balanced nodes, their balancer state)
  drain [options] TARGETS      take nodes out of their load balancers (0 sessions)
  undrain [options] TARGETS    put them back (ready, the balancer's check UP)
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

-- apply's own options, besides the run and kitchen options every
-- converging command shares (ccchef.converge).
local APPLY_ONLY = {
  ["--state-dir"] = { "state_dir", true },
  ["--backup-dir"] = { "backup_dir", true },
  ["--backups"] = { "backups", true },
  ["--lock-timeout"] = { "lock_timeout", true },
  ["--command-timeout"] = { "command_timeout", true },
}
local NODE_OPTION = { ["-N"] = { "node_name", true }, ["--node"] = { "node_name", true } }
local APPLY_OPTIONS = options.combine(options.RUN_OPTIONS, options.KITCHEN_OPTIONS, NODE_OPTION, APPLY_ONLY)
local ATTRS_OPTIONS = options.combine(options.KITCHEN_OPTIONS, NODE_OPTION, { ["--format"] = { "format", true } })

local usage_error, parse = options.usage_error, options.parse

local function cmd_apply(args)
  local opts, runlist = parse(args, 2, APPLY_OPTIONS)
  return (converge.run(opts, runlist))
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
  local prep = converge.prepare(opts, runlist, facts)
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
  for _, l in ipairs(leaves) do
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
  elseif topic == "drain" or topic == "undrain" then
    io.stdout:write(require("ccchef.drain").HELP[topic])
  else
    usage_error("no help for '" .. topic .. "'")
  end
  return 0
end

-- Errors that are tables are the user's or the world's; a string reaching
-- here is a bug in ccchef, and its traceback is what a bug report needs.
M.traceback, M.internal_error = converge.traceback, converge.internal_error

-- The old names of what moved to ccchef.converge and ccchef.options, for
-- code written against them (the same functions: there is one path).
M.apply, M.prepare, M.parse, M.usage_error, M.number_option =
  converge.run, converge.prepare, options.parse, options.usage_error, options.number_option

local COMMANDS = {
  apply = cmd_apply, attrs = cmd_attrs, facts = cmd_facts, help = cmd_help, new = cmd_new,
  remote = function(args) return require("ccchef.remote").cmd_remote(args) end,
  status = function(args) return require("ccchef.remote").cmd_status(args) end,
  drain = function(args) return require("ccchef.drain").run(args, "drain") end,
  undrain = function(args) return require("ccchef.drain").run(args, "ready") end,
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
    return converge.exit_code({ input = true }, detailed)
  end
  return code
end

return M
