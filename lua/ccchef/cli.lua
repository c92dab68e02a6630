-- ccchef.cli: the command line (DESIGN.md 2.1). Parses arguments, runs the
-- command, and maps the outcome to an exit code:
--   0 converged, 1 a resource failed, 2 bad input;
--   with --detailed-exitcodes (Puppet's scheme): 0 no changes, 2 changes,
--   4 failures, 6 changes and failures, 1 bad input.
local errors = require("ccchef.errors")
local json = require("ccchef.json")
local report = require("ccchef.report")
local state = require("ccchef.state")

local M = {}

M.VERSION = "0.1.0"

local USAGE = [[
usage: ccchef COMMAND [options] ...

commands:
  apply [options] RUNLIST...   converge this machine
  facts                        print what ccchef knows about this machine (JSON)
  help [COMMAND]               show help
  --version                    print the version

Run 'ccchef help apply' for the options of apply.
]]

local HELP = {
  apply = [[
usage: ccchef apply [options] RUNLIST...

RUNLIST items are recipe files (web.lua).

options:
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
        opts[o[1]] = v
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

local function cmd_apply(args)
  local opts, runlist = parse(args, 2, APPLY_OPTIONS)
  local format = opts.format or "human"
  if format ~= "human" and format ~= "json" then usage_error("--format must be human or json") end
  if opts.log_level and not report.LEVELS[opts.log_level] then
    usage_error("--log-level must be error, warn, info or debug")
  end
  local color = nil
  if opts.color then color = true end
  if opts.no_color then color = false end
  local facts = require("ccchef.facts").collect()
  local reporter = (format == "json" and report.json or report.human)({
    color = color, log_level = opts.log_level, node_name = facts.hostname })
  local detailed = opts.detailed_exitcodes
  local ok, result = xpcall(function()
    if #runlist == 0 then usage_error("apply needs at least one recipe file") end
    local state_dir = opts.state_dir or state.default_dir()
    local run_opts = {
      why_run = opts.why_run or false,
      state_dir = state_dir,
      backup_dir = opts.backup_dir or (state_dir .. "/backup"),
      backups = math.tointeger(number_option(opts, "backups", 5)) or usage_error("--backups needs an integer"),
      lock_timeout = number_option(opts, "lock_timeout", 30),
      command_timeout = number_option(opts, "command_timeout", 3600),
      node = facts,
      reporter = reporter,
      run_list = runlist,
    }
    local engine = require("ccchef.engine")
    local run = engine.compile(run_opts, runlist)
    -- A local converge leaves nothing that needs a finalizer at exit (the
    -- lock is the kernel's to drop): the process may exit without freeing
    -- the Lua state object by object.
    require("ccchef.host").skip_close()
    return engine.converge(run)
  end, M.traceback)
  if not ok then
    if not errors.is(result) then return M.internal_error(result) end
    local e = result
    reporter:error(e)
    if e.kind == "input" then return detailed and 1 or 2 end
    return detailed and 4 or 1
  end
  return exit_code(result, detailed)
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

local COMMANDS = { apply = cmd_apply, facts = cmd_facts, help = cmd_help }

function M.main(args)
  local cmd = args[1]
  if cmd == nil or cmd == "--help" or cmd == "-h" then
    io.stdout:write(USAGE)
    return cmd == nil and 2 or 0
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
    return 2
  end
  return code
end

return M
