-- ccchef.remote_node: one node of `ccchef remote` / `ccchef status`, run
-- in its own worker process (`ccchef __node`, its spec in
-- $CCCHEF_NODE_SPEC; lua/ccchef/remote.lua says why processes). It prints
-- JSON lines for the controller: the runner's events as they come, plus
-- bootstrap, host_key, node_error, stderr and status events.
--
-- The sequence: ssh session (ssh config, agent, keys), host key against
-- known_hosts, authentication, then one exec channel running a small
-- bootstrap script: it checks the architecture and whether the runner with
-- our content hash is cached on the node; if so it execs it and the bundle
-- goes to its stdin; if not, a second command installs the runner (hash
-- checked on the node) from stdin and execs it on the rest, the bundle.
local errors = require("ccchef.errors")
local json = require("ccchef.json")
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {}

local function emit(t)
  io.stdout:write(json.encode(t), "\n")
  io.stdout:flush()
end

local function sq(s) return util.shell_quote(s) end

-- The cache directory of the runner on the node, as shell.
local CACHE_DIR = [[if [ -n "${CCCHEF_CACHE_DIR:-}" ]; then d=$CCCHEF_CACHE_DIR; ]]
  .. [[elif [ "$(id -u)" = 0 ]; then d=/var/cache/ccchef; ]]
  .. [[else d=${XDG_CACHE_HOME:-$HOME/.cache}/ccchef; fi; ]]

local function sudo_prefix(spec) return spec.sudo and "sudo -n -- " or "" end

-- The state directory the runner is told about: the inventory's, or the
-- node's $CCCHEF_STATE_DIR (sudo would drop it from the environment).
local function state_arg(spec)
  if spec.state_dir then return "--state-dir " .. sq(spec.state_dir) end
  return [[${CCCHEF_STATE_DIR:+--state-dir "$CCCHEF_STATE_DIR"}]]
end

local function bootstrap_script(spec)
  return "arch=$(uname -m); if [ \"$arch\" != " .. sq(spec.arch) .. " ]; then "
    .. "echo \"ccchef-bootstrap arch $arch\"; exit 112; fi; " .. CACHE_DIR
    .. "r=\"$d/runner-" .. spec.runner_sha .. "\"; "
    -- A cached runner is checked against its name too (a few ms): a damaged
    -- file is replaced, never run.
    .. "if [ ! -x \"$r\" ] || ! echo \"" .. spec.runner_sha .. "  $r\" | sha256sum -c --status 2>/dev/null; then "
    .. "echo \"ccchef-bootstrap missing $r\"; exit 111; fi; "
    .. "echo \"ccchef-bootstrap ok $r\"; exec " .. sudo_prefix(spec) .. "\"$r\" " .. state_arg(spec)
end

-- Installs the runner from the first `size` bytes of stdin (GNU head -c
-- reads no further), checks its hash, then runs it on the rest of stdin, the
-- bundle: an upload costs no extra command round trip.
local function install_script(spec, size)
  return "set -e; umask 022; " .. CACHE_DIR .. "mkdir -p \"$d\"; "
    .. "r=\"$d/runner-" .. spec.runner_sha .. "\"; t=\"$r.tmp.$$\"; "
    .. "trap 'rm -f \"$t\"' EXIT; head -c " .. size .. " >\"$t\"; "
    .. "if ! echo \"" .. spec.runner_sha .. "  $t\" | sha256sum -c --status; then "
    .. "echo \"the uploaded runner does not match its sha256 (" .. spec.runner_sha .. ")\" >&2; exit 1; fi; "
    .. "chmod 755 \"$t\"; mv -f \"$t\" \"$r\"; trap - EXIT; "
    .. "echo \"ccchef-bootstrap uploaded $r\"; exec " .. sudo_prefix(spec) .. "\"$r\" " .. state_arg(spec)
end

local function status_script(spec)
  -- $1: the state directory, if known; sudo resets the environment, so it
  -- is taken from the login user's environment before sudo runs.
  local body = [[d=$1; if [ -z "$d" ]; then if [ "$(id -u)" = 0 ]; then d=/var/lib/ccchef; ]]
    .. [[else d=${XDG_STATE_HOME:-$HOME/.local/state}/ccchef; fi; fi; ]]
    .. [[echo ccchef-status; ]]
    .. [[if [ -e "$d/last-run.json" ]; then cat "$d/last-run.json"; else echo '{"never":true}'; fi]]
  local dir = spec.state_dir and sq(spec.state_dir) or [["${CCCHEF_STATE_DIR:-}"]]
  return sudo_prefix(spec) .. "sh -c " .. sq(body) .. " sh " .. dir
end

-- A failure that ends this node's run: the parent shows it and counts the
-- node as unreachable/failed.
local NodeError = {}
local function node_fail(stage, message)
  error(setmetatable({ stage = stage, message = message }, NodeError), 0)
end

-- Reads a channel line by line. Returns a function giving line, stream
-- ("stdout"/"stderr"), or nil at the end; node_fail on timeout.
local function line_reader(ch, deadline, what)
  local bufs = { stdout = "", stderr = "" }
  local pending = {}
  local ended = false
  return function()
    while true do
      if #pending > 0 then return table.unpack(table.remove(pending, 1)) end
      if ended then return nil end
      if sys.now() > deadline then node_fail("timeout", what .. " timed out (--command-timeout)") end
      local data, stream = ch:read(500)
      if data == nil and stream ~= nil then node_fail("ssh", stream) end
      if data == nil then
        ended = true
        for _, s in ipairs({ "stdout", "stderr" }) do
          if bufs[s] ~= "" then pending[#pending + 1] = { bufs[s], s } end
        end
      elseif data ~= "" then
        local b = bufs[stream] .. data
        for line in b:gmatch("([^\n]*)\n") do pending[#pending + 1] = { line, stream } end
        bufs[stream] = b:match("([^\n]*)$")
      end
    end
  end
end

local function known_hosts_display(info)
  local kh = info.known_hosts or "%d/known_hosts"
  return (kh:gsub("%%d", "~/.ssh"))
end

local function host_display(info)
  if info.port and info.port ~= 22 then return string.format("[%s]:%d", info.host, info.port) end
  return info.host
end

local TRACE = os.getenv("CCCHEF_TRACE") and sys.now()
function M.trace(what)
  if TRACE then io.stderr:write(string.format("trace %.3f %s\n", sys.now() - TRACE, what)) end
end

local function connect(spec)
  M.trace("start")
  local s, err = require("ccchef.ssh").session({
    host = spec.host, port = spec.port, user = spec.user, config = spec.ssh_config,
    identity = spec.identity, timeout = spec.connect_timeout,
  })
  if not s then node_fail("connect", err) end
  local info = s:info()
  local ok, cerr = s:connect()
  if not ok then
    node_fail("connect", string.format("cannot connect to %s port %s: %s", tostring(info.host),
      tostring(info.port), (cerr:gsub("^connect: ", ""))))
  end
  M.trace("connected")
  local verdict, key = s:host_key()
  if not verdict then node_fail("host-key", key) end
  local where = known_hosts_display(info)
  if verdict == "changed" or verdict == "other" then
    node_fail("host-key", string.format(
      "WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! The %s host key of %s is %s, "
      .. "not the key recorded in %s. Someone could be eavesdropping on you right now "
      .. "(man-in-the-middle attack), or the host key has just been changed. "
      .. "If the change is expected, remove the old key: ssh-keygen -f %s -R '%s'. Refusing to connect.",
      key.type, host_display(info), key.fingerprint, where, where, host_display(info)))
  elseif verdict == "unknown" then
    if not spec.accept_new then
      node_fail("host-key", string.format(
        "host key verification failed: %s is not in %s (its %s key is %s). "
        .. "Check the fingerprint, then rerun with --accept-new-host-key to record it.",
        host_display(info), where, key.type, key.fingerprint))
    end
    local aok, aerr = s:accept_host_key()
    if not aok then node_fail("host-key", aerr) end
    emit({ event = "host_key", accepted = true, type = key.type, fingerprint = key.fingerprint,
      known_hosts = where })
  elseif verdict ~= "ok" then
    node_fail("host-key", "cannot check the host key: " .. tostring(key.error))
  end
  M.trace("host key checked")
  local aok, aerr = s:auth()
  if not aok then node_fail("auth", string.format("%s: %s", host_display(info), aerr)) end
  M.trace("authenticated")
  return s, info
end

-- A channel running command, with stdin (if any) written to it.
local function open_channel(s, command, stdin)
  local ch, err = s:open(command)
  if not ch then node_fail("ssh", err) end
  if stdin then
    local ok, werr = ch:write(stdin)
    if not ok then node_fail("ssh", werr) end
  end
  return ch
end

-- Run a command to the end: stdin, then all output. Returns status, stdout, stderr.
local function exec(s, command, stdin, deadline, what)
  local ch = open_channel(s, command, stdin)
  ch:eof()
  local out, errs = {}, {}
  local read = line_reader(ch, deadline, what)
  for line, stream in read do
    local t = stream == "stdout" and out or errs
    t[#t + 1] = line
  end
  return ch:close(), table.concat(out, "\n"), table.concat(errs, "\n")
end

local function sudo_check(line, spec)
  if spec.sudo and (line:find("a password is required", 1, true) or line:find("a terminal is required", 1, true)) then
    node_fail("sudo", string.format(
      "sudo asks %s for a password (ccchef runs sudo -n, which cannot prompt): allow the user "
      .. "to run the runner without a password (NOPASSWD in sudoers), or log in as root",
      tostring(spec.login_user)))
  end
end

-- Feed the bundle to the runner on channel ch and pass its events on.
-- Returns the runner's exit status.
local function stream_run(ch, read, spec, tar)
  local ok, werr = ch:write(tar)
  ch:eof()
  local saw_end = false
  for line, stream in read do
    if stream == "stdout" then
      io.stdout:write(line, "\n")
      io.stdout:flush()
      if line:find('"event":"run_end"', 1, true) or line:find('"event":"error"', 1, true) then saw_end = true end
    else
      sudo_check(line, spec)
      -- The runner's own error lines repeat its JSON error event.
      if not line:find("^ccchef%-runner: error: ") and not line:find("^ccchef: error: ") then
        emit({ event = "stderr", line = line })
      end
    end
  end
  M.trace("runner done")
  local status = ch:close()
  if not ok and not saw_end then node_fail("ssh", werr) end
  if not saw_end and status ~= 0 then
    node_fail("run", string.format("the runner ended without a result (exit %d)", status))
  end
  return status
end

-- Open a channel running script, write stdin (if any), and read up to the
-- script's "ccchef-bootstrap ..." line. Returns the channel, its reader,
-- that line (nil if none) and the other lines before it (stderr, and what
-- a chatty shell start-up file may print on stdout).
local function open_script(s, spec, script, stdin, deadline)
  local ch = open_channel(s, script, stdin)
  local read = line_reader(ch, deadline, "the run")
  local errs = {}
  for line, stream in read do
    if stream == "stdout" and line:find("^ccchef%-bootstrap ") then return ch, read, line, errs end
    sudo_check(line, spec)
    errs[#errs + 1] = line
  end
  return ch, read, nil, errs
end

local function converge(s, spec, deadline)
  local tar, terr = sys.read(spec.bundle)
  if not tar then node_fail("bundle", "cannot read the bundle: " .. terr) end

  local ch, read, first, errs = open_script(s, spec, bootstrap_script(spec), nil, deadline)
  M.trace("bootstrap answered")
  for _, line in ipairs(errs) do emit({ event = "stderr", line = line }) end
  local word, arg = (first or ""):match("^ccchef%-bootstrap (%S+) ?(.*)$")
  if word == "ok" then
    emit({ event = "bootstrap", action = "cached", path = arg, sha256 = spec.runner_sha })
    return stream_run(ch, read, spec, tar)
  end
  local status = ch:close()
  if word == "arch" then
    node_fail("bootstrap", string.format("the node runs on %s; this runner is built for %s", arg, spec.arch))
  elseif word ~= "missing" then
    node_fail("bootstrap", string.format("unexpected answer from the node (exit %d): %s", status,
      first or table.concat(errs, " ")))
  end

  local t0 = sys.now()
  local data, rerr = sys.read(spec.runner)
  if not data then node_fail("bootstrap", "cannot read the runner: " .. rerr) end
  ch, read, first, errs = open_script(s, spec, install_script(spec, #data), data, deadline)
  M.trace("uploaded")
  arg = (first or ""):match("^ccchef%-bootstrap uploaded (.*)$")
  if not arg then
    status = ch:close()
    node_fail("bootstrap", "uploading the runner failed: "
      .. (#errs > 0 and table.concat(errs, " ") or ("exit " .. status)))
  end
  for _, line in ipairs(errs) do emit({ event = "stderr", line = line }) end
  emit({ event = "bootstrap", action = "uploaded", path = arg, bytes = #data, sha256 = spec.runner_sha,
    duration = sys.now() - t0 })
  return stream_run(ch, read, spec, tar)
end

local function status(s, spec, deadline)
  local st, out, errs = exec(s, status_script(spec), nil, deadline, "status")
  for line in errs:gmatch("[^\n]+") do sudo_check(line, spec) end
  if st ~= 0 then node_fail("status", "cannot read last-run.json: " .. (errs ~= "" and errs or ("exit " .. st))) end
  -- What follows the marker: a login shell may print before it.
  out = out:match("ccchef%-status\n(.*)$") or out
  local data, jerr = json.decode(out)
  if type(data) ~= "table" then node_fail("status", "last-run.json is not JSON: " .. tostring(jerr)) end
  emit({ event = "status", last_run = data })
  return 0
end

-- `ccchef __node`: one node, its spec in $CCCHEF_NODE_SPEC. Prints JSON
-- lines; exits with the runner's code, or 1 when the node failed before.
function M.node_main()
  local spec, jerr = json.decode(os.getenv("CCCHEF_NODE_SPEC") or "")
  if type(spec) ~= "table" then
    io.stderr:write("ccchef __node: bad or missing CCCHEF_NODE_SPEC: " .. tostring(jerr) .. "\n")
    return 2
  end
  local deadline = sys.now() + (spec.command_timeout or 3600)
  local ok, code = xpcall(function()
    local s, info = connect(spec)
    spec.login_user = info.user
    local rc
    if spec.mode == "status" then rc = status(s, spec, deadline) else rc = converge(s, spec, deadline) end
    s:close()
    M.trace("session closed")
    return rc
  end, function(e)
    if getmetatable(e) == NodeError or errors.is(e) then return e end
    return debug.traceback(tostring(e), 2)
  end)
  if ok then return code end
  if getmetatable(code) == NodeError then
    emit({ event = "node_error", stage = code.stage, message = code.message })
    return 1
  end
  if errors.is(code) then
    emit({ event = "node_error", stage = "bundle", message = tostring(code) })
    return 2
  end
  emit({ event = "node_error", stage = "internal", message = "internal error: " .. tostring(code) })
  return 70
end

return M
