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

-- --sudo: the one command the login user may run as root, installed by
-- root on the node beforehand (tools/ccchef-sudo-install; docs/remote.md,
-- "sudo"). It keeps root's runners in a root-owned directory, checks their
-- hash as root before each run, installs uploads itself, and reads
-- last-run.json for `status`.
local INSTALLER = [["${CCCHEF_SUDO_INSTALLER:-/usr/local/sbin/ccchef-sudo-install}"]]

-- The state directory the runner is told about: the inventory's, or the
-- node's $CCCHEF_STATE_DIR (sudo would drop it from the environment).
local function state_arg(spec)
  if spec.state_dir then return "--state-dir " .. sq(spec.state_dir) end
  return [[${CCCHEF_STATE_DIR:+--state-dir "$CCCHEF_STATE_DIR"}]]
end

-- The node's own deadline for the runner, in seconds from when the script
-- starts: what is left of --command-timeout, less a little so the last
-- events and the exit status still reach the controller before its own
-- deadline (docs/remote.md, "Timeouts").
local NODE_MARGIN = 0.3
-- How long after the node's deadline the controller still waits for the
-- runner's exit status (the node's stop takes up to 0.5 s, more on a
-- loaded machine) before it closes the session.
M.CONTROLLER_MARGIN = 1.5
local function node_seconds(spec)
  return string.format("%.1f", math.max(0.2, spec.deadline - sys.now() - NODE_MARGIN))
end

-- At the deadline the runner is stopped with what it runs. timeout(1)
-- --foreground signals only this small wrapper, which then: notes the
-- runner's children (/proc/PID/task/*/children; without it, one grep of
-- every process's PPid) (the commands of execute, service...: each runs in a
-- session of its own, so no process-group signal reaches them), sends
-- TERM to the runner and to those commands' groups, gives the runner half
-- a second, then KILL. The runner never outlives the run, so its lock is
-- free when the controller reports the timeout. Exit 124 as timeout(1).
-- (tools/ccchef-sudo-install has the same wrapper for --sudo.)
M.STOP_WRAPPER = [[exec 3<&0; "$@" 0<&3 3<&- & rp=$!; exec 3<&-; ]]
  .. [[stop() { kids=$(cat /proc/$rp/task/*/children 2>/dev/null); ]]
  .. [=[[ -e "/proc/$rp/task/$rp/children" ] || kids=$(grep -l "^PPid:[[:space:]]*$rp\$" /proc/[0-9]*/status 2>/dev/null ]=]
  .. [[| sed 's,^/proc/\([0-9]*\)/status$,\1,'); ]]
  .. [[kill -TERM "$rp" 2>/dev/null; for c in $kids; do kill -TERM "-$c" 2>/dev/null || kill -TERM "$c" 2>/dev/null; done; ]]
  .. [[i=0; while kill -0 "$rp" 2>/dev/null && [ $i -lt 5 ]; do sleep 0.1; i=$((i+1)); done; ]]
  .. [[kill -KILL "$rp" 2>/dev/null; wait "$rp" 2>/dev/null; exit 124; }; ]]
  .. [[trap stop TERM; wait "$rp"]]

local function deadline_prefix(spec)
  return "if command -v timeout >/dev/null; then set -- timeout --foreground " .. node_seconds(spec)
    .. " sh -c " .. sq(M.STOP_WRAPPER) .. " sh; else set --; fi; "
end

local ARCH_CHECK = function(spec)
  return "arch=$(uname -m); if [ \"$arch\" != " .. sq(spec.arch) .. " ]; then "
    .. "echo \"ccchef-bootstrap arch $arch\"; exit 112; fi; "
end

-- Keeps the current runner and the most recent other one in the cache
-- directory $d (a node converged by two ccchef versions in turn does not
-- upload every time); older ones are removed. Names are ours: runner-HEX.
local PRUNE = [[ls -t "$d" 2>/dev/null | grep -E '^runner-[0-9a-f]{64}$' | tail -n +3 | ]]
  .. [[while read -r old; do rm -f "$d/$old"; done; ]]

-- The one command of a run. If the runner with our hash is cached (and
-- still has that hash: a damaged file is replaced, never run), it says
-- "ok" and execs it; the bundle follows on stdin. If not, it says
-- "missing", reads exactly `size` bytes of stdin (GNU head -c reads no
-- further: the controller sends the runner only after "missing"), checks
-- their hash, installs them (a temporary name until then, removed on
-- failure), prunes old runners, says "uploaded" and execs the runner on
-- the rest of stdin, the bundle. An upload costs no second command (each
-- command is a login shell on the node, the largest cost of a run).
local function bootstrap_script(spec, size)
  if spec.sudo then
    return ARCH_CHECK(spec) .. "exec sudo -n -- " .. INSTALLER .. " run " .. node_seconds(spec)
      .. " " .. spec.runner_sha .. " " .. size .. " " .. state_arg(spec)
  end
  local sha = spec.runner_sha
  -- The architecture is checked only before an upload: a cached runner
  -- with our hash was uploaded here after that check (one exec less).
  return CACHE_DIR
    .. "r=\"$d/runner-" .. sha .. "\"; " .. deadline_prefix(spec)
    .. "if [ -x \"$r\" ] && echo \"" .. sha .. "  $r\" | sha256sum -c --status 2>/dev/null; then "
    .. "echo \"ccchef-bootstrap ok $r\"; exec \"$@\" \"$r\" " .. state_arg(spec) .. "; fi; "
    .. ARCH_CHECK(spec) .. "echo \"ccchef-bootstrap missing $r\"; "
    .. "set -e; umask 022; mkdir -p \"$d\"; t=\"$r.tmp.$$\"; "
    .. "trap 'rm -f \"$t\"' EXIT; head -c " .. size .. " >\"$t\"; "
    .. "if ! echo \"" .. sha .. "  $t\" | sha256sum -c --status; then "
    .. "echo \"the uploaded runner does not match its sha256 (" .. sha .. ")\" >&2; exit 1; fi; "
    .. "chmod 755 \"$t\"; mv -f \"$t\" \"$r\"; trap - EXIT; " .. PRUNE
    .. "echo \"ccchef-bootstrap uploaded $r\"; exec \"$@\" \"$r\" " .. state_arg(spec)
end

local function status_script(spec)
  local dir = spec.state_dir and sq(spec.state_dir) or [["${CCCHEF_STATE_DIR:-}"]]
  if spec.sudo then return "exec sudo -n -- " .. INSTALLER .. " status " .. dir end
  -- $1: the state directory, if known.
  local body = [[d=$1; if [ -z "$d" ]; then if [ "$(id -u)" = 0 ]; then d=/var/lib/ccchef; ]]
    .. [[else d=${XDG_STATE_HOME:-$HOME/.local/state}/ccchef; fi; fi; ]]
    .. [[echo ccchef-status; ]]
    .. [[if [ -e "$d/last-run.json" ]; then cat "$d/last-run.json"; else echo '{"never":true}'; fi]]
  return "sh -c " .. sq(body) .. " sh " .. dir
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
        -- Split from the last newline only: the partial line is short, so
        -- each read costs its own length, not the whole line's again (a
        -- pattern anchored at the end of a growing buffer is quadratic).
        local b = bufs[stream] .. data
        local from = 1
        while true do
          local nl = b:find("\n", from, true)
          if not nl then break end
          pending[#pending + 1] = { b:sub(from, nl - 1), stream }
          from = nl + 1
        end
        bufs[stream] = from == 1 and b or b:sub(from)
      end
    end
  end
end

local function host_display(info)
  if info.port and info.port ~= 22 then return string.format("[%s]:%d", info.host, info.port) end
  return info.host
end

local TRACE = os.getenv("CCCHEF_TRACE") and sys.now()
function M.trace(what)
  if TRACE then io.stderr:write(string.format("trace %.3f %s\n", sys.now() - TRACE, what)) end
end

-- What libssh 0.10 does not do as ssh(1) does, asked of ssh(1) itself
-- (`ssh -G`, which only prints the configuration): HostKeyAlias (libssh
-- ignores it) and ProxyJump (libssh turns it into `ssh -J ...` without
-- the -F file, so a bastion named in that file is not found). Only asked
-- when a config file (or one it includes) mentions one of them: `ssh -G`
-- costs an exec.

-- The files `Include` names, as ssh(1) reads them: relative names are
-- under ~/.ssh for the user's config and /etc/ssh for the system's; a glob
-- in the last component (`*.conf`, Debian's /etc/ssh/ssh_config.d) is
-- expanded. Anything fancier (a glob in a directory part) is answered by
-- asking `ssh -G` anyway (nil).
local function included(line, base)
  local out = {}
  for word in line:gmatch("%S+") do
    local path = word:find("^/") and word or (base .. "/" .. word)
    local dir, last = path:match("^(.*)/([^/]*)$")
    if dir:find("[*?%[]") then return nil end
    if last:find("[*?%[]") then
      if last:find("%[") then return nil end
      local pat = "^" .. last:gsub("[%^%$%(%)%%%.%+%-]", "%%%0"):gsub("%*", ".*"):gsub("%?", ".") .. "$"
      local names = sys.listdir(dir) or {}
      table.sort(names)
      for _, n in ipairs(names) do
        if n:find(pat) then out[#out + 1] = dir .. "/" .. n end
      end
    else
      out[#out + 1] = path
    end
  end
  return out
end

-- Does the ssh config (with what it includes) use HostKeyAlias or
-- ProxyJump? Only then is `ssh -G` asked (it costs an exec per node).
local function config_mentions(spec)
  local home = (sys.user(sys.geteuid()) or {}).home or ""
  -- ~ as libssh and ssh(1) read it: the passwd entry's home, not $HOME.
  local queue = spec.ssh_config and { { spec.ssh_config, home .. "/.ssh" } }
    or { { home .. "/.ssh/config", home .. "/.ssh" }, { "/etc/ssh/ssh_config", "/etc/ssh" } }
  local seen, i = {}, 1
  while queue[i] do
    local f, base = queue[i][1], queue[i][2]
    i = i + 1
    local text = not seen[f] and sys.read(f)
    seen[f] = true
    if text then
      local low = text:lower()
      if low:find("hostkeyalias", 1, true) or low:find("proxyjump", 1, true) then return true end
      for line in text:gmatch("[^\n]+") do
        local key, args = line:match("^%s*(%a+)%s*=?%s*(.-)%s*$")
        if key and key:lower() == "include" and args ~= "" then
          local files = included(args, base)
          if not files or #queue > 64 then return true end
          for _, inc in ipairs(files) do queue[#queue + 1] = { inc, base } end
        end
      end
    end
  end
  return false
end

function M.openssh_options(spec)
  if not config_mentions(spec) then return {} end
  local cmd = { "ssh", "-G" }
  if spec.ssh_config then cmd[#cmd + 1] = "-F " .. sq(spec.ssh_config) end
  if spec.port then cmd[#cmd + 1] = "-p " .. math.tointeger(spec.port) end
  if spec.user then cmd[#cmd + 1] = "-l " .. sq(spec.user) end
  cmd[#cmd + 1] = "-- " .. sq(spec.host) .. " 2>/dev/null"
  local res = require("ccchef.proc").run(table.concat(cmd, " "), { timeout = 10 })
  local out = {}
  if not res or res.status ~= 0 then return out end
  for line in res.output:gmatch("[^\n]+") do
    local k, v = line:match("^(%S+) (.*)$")
    if k == "hostkeyalias" or k == "proxyjump" then out[k] = v end
  end
  return out
end

-- ProxyJump as ssh(1) runs it: `ssh -W [%h]:%p` through the last hop,
-- with the earlier hops as -J, and the same -F file. The hops' host keys
-- follow ccchef's rule (a changed key refused; an unknown one only with
-- --accept-new-host-key), whatever the config says: -o beats the config.
function M.proxy_command(spec, jump)
  if not jump or jump == "" or jump == "none" then return nil end
  local hops = {}
  for h in jump:gmatch("[^,]+") do hops[#hops + 1] = h end
  local last = table.remove(hops)
  local cmd = { "ssh" }
  if spec.ssh_config then cmd[#cmd + 1] = "-F " .. sq(spec.ssh_config) end
  cmd[#cmd + 1] = "-o BatchMode=yes -o StrictHostKeyChecking=" .. (spec.accept_new and "accept-new" or "yes")
  if spec.connect_timeout then
    cmd[#cmd + 1] = "-o ConnectTimeout=" .. math.max(1, math.ceil(spec.connect_timeout))
  end
  if #hops > 0 then cmd[#cmd + 1] = "-J " .. sq(table.concat(hops, ",")) end
  -- A hop with a port is given as a URI, which ssh(1) parses as -J does.
  local dest = last:find(":%d+$") and ("ssh://" .. last) or last
  cmd[#cmd + 1] = "-W '[%h]:%p' -- " .. sq(dest)
  return table.concat(cmd, " ")
end

-- The host key decision, ccchef's own, whatever StrictHostKeyChecking any
-- ssh config says (docs/remote.md, "Host keys"): a known key goes on; a
-- changed, other-type or revoked key is always refused; an unknown key is
-- refused unless --accept-new-host-key, and recorded (and reported as a
-- host_key event) when accepted.
local function check_host_key(s, spec, info, alias)
  local verdict, key = s:host_key(alias)
  if not verdict then node_fail("host-key", key) end
  local where = key.known_hosts or "~/.ssh/known_hosts"
  local name = key.name or host_display(info)
  if verdict == "changed" or verdict == "other" or verdict == "revoked" then
    local recorded = key.file and string.format("%s line %d has %s %s", key.file, key.line,
      key.old_type, key.old_fingerprint) or ("known_hosts has another key")
    local what = verdict == "revoked"
      and string.format("the %s host key %s of %s is marked @revoked in %s line %d. Refusing to connect.",
        key.type, key.fingerprint, name, key.file, key.line)
      or string.format(
        "WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! The %s host key of %s is now %s; %s. "
        .. "Someone could be eavesdropping on you right now (man-in-the-middle attack), or the host "
        .. "key has just been changed. If the change is expected, remove the old key: ssh-keygen -f %s -R '%s'. "
        .. "Refusing to connect (a changed key is refused whatever the ssh config says).",
        key.type, name, key.fingerprint, recorded, key.file or where, name)
    node_fail("host-key", what)
  elseif verdict == "unknown" then
    if not spec.accept_new then
      node_fail("host-key", string.format(
        "host key verification failed: %s is not in %s (its %s key is %s). "
        .. "Check the fingerprint, then rerun with --accept-new-host-key to record it.",
        name, where, key.type, key.fingerprint))
    end
    local file, aerr = s:accept_host_key(alias)
    if not file then node_fail("host-key", aerr) end
    emit({ event = "host_key", accepted = true, name = name, type = key.type,
      fingerprint = key.fingerprint, known_hosts = file })
  elseif verdict ~= "ok" then
    node_fail("host-key", "cannot check the host key: " .. tostring(key.error))
  end
end

local function connect(spec)
  M.trace("start")
  local openssh = M.openssh_options(spec)
  local s, err = require("ccchef.ssh").session({
    host = spec.host, port = spec.port, user = spec.user, config = spec.ssh_config,
    identity = spec.identity, timeout = spec.connect_timeout,
    proxy_command = M.proxy_command(spec, openssh.proxyjump),
  })
  if not s then node_fail("connect", err) end
  M.session = s
  local info = s:info()
  local ok, cerr = s:connect()
  if not ok then
    node_fail("connect", string.format("cannot connect to %s port %s%s: %s", tostring(info.host),
      tostring(info.port), openssh.proxyjump and (" through " .. openssh.proxyjump) or "",
      (cerr:gsub("^connect: ", ""))))
  end
  M.trace("connected")
  check_host_key(s, spec, info, openssh.hostkeyalias)
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
  if not spec.sudo then return end
  if line:find("a password is required", 1, true) or line:find("a terminal is required", 1, true) then
    node_fail("sudo", string.format(
      "sudo asks %s for a password (ccchef runs sudo -n, which cannot prompt): allow the user "
      .. "to run the installer without a password (in sudoers: %s ALL=(root) NOPASSWD: "
      .. "/usr/local/sbin/ccchef-sudo-install; docs/remote.md, \"sudo\"), or log in as root",
      tostring(spec.login_user), tostring(spec.login_user)))
  elseif line:find("^sudo: .*ccchef%-sudo%-install.*not found") or line:find("^sudo: .*ccchef%-sudo%-install.*No such file") then
    node_fail("sudo", "the node lacks ccchef's sudo installer (" .. line .. "): install it as root, "
      .. "install -o root -g root -m 0755 ccchef-sudo-install /usr/local/sbin/ (docs/remote.md, \"sudo\")")
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
  -- 124: timeout(1) stopped the runner at the node's deadline.
  if status == 124 then node_fail("timeout", "the run timed out (--command-timeout); the runner was stopped") end
  if not ok and not saw_end then node_fail("ssh", werr) end
  if not saw_end and status ~= 0 then
    node_fail("run", string.format("the runner ended without a result (exit %d)", status))
  end
  return status
end

-- Reads up to the script's next "ccchef-bootstrap ..." line. Returns that
-- line (nil if none) and the other lines before it (stderr, and what a
-- chatty shell start-up file may print on stdout).
local function await_bootstrap(read, spec)
  local errs = {}
  for line, stream in read do
    if stream == "stdout" and line:find("^ccchef%-bootstrap ") then return line, errs end
    sudo_check(line, spec)
    errs[#errs + 1] = line
  end
  return nil, errs
end

local function converge(s, spec, deadline)
  local tar, terr = sys.read(spec.bundle)
  if not tar then node_fail("bundle", "cannot read the bundle: " .. terr) end
  local data, rerr = sys.read(spec.runner)
  if not data then node_fail("bootstrap", "cannot read the runner: " .. rerr) end

  local ch = open_channel(s, bootstrap_script(spec, #data))
  local read = line_reader(ch, deadline, "the run")
  local first, errs = await_bootstrap(read, spec)
  M.trace("bootstrap answered")
  for _, line in ipairs(errs) do emit({ event = "stderr", line = line }) end
  local word, arg = (first or ""):match("^ccchef%-bootstrap (%S+) ?(.*)$")
  if word == "ok" then
    emit({ event = "bootstrap", action = "cached", path = arg, sha256 = spec.runner_sha })
    return stream_run(ch, read, spec, tar)
  end
  if word ~= "missing" then
    local status = ch:close()
    if word == "arch" then
      node_fail("bootstrap", string.format("the node runs on %s; this runner is built for %s", arg, spec.arch))
    end
    node_fail("bootstrap", string.format("unexpected answer from the node (exit %d): %s", status,
      first or table.concat(errs, " ")))
  end

  local t0 = sys.now()
  local ok, werr = ch:write(data)
  first, errs = await_bootstrap(read, spec)
  M.trace("uploaded")
  arg = (first or ""):match("^ccchef%-bootstrap uploaded (.*)$")
  if not arg then
    local status = ch:close()
    node_fail("bootstrap", "uploading the runner failed: "
      .. (#errs > 0 and table.concat(errs, " ") or (not ok and tostring(werr)) or ("exit " .. status)))
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
  -- The node stops its runner at spec.deadline (timeout(1), see
  -- deadline_prefix); the controller waits a little longer for the last
  -- events and the exit status, then gives up on the node.
  spec.deadline = sys.now() + (spec.command_timeout or 3600)
  local deadline = spec.deadline + M.CONTROLLER_MARGIN
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
  -- Never wait for a node we gave up on (a blocking close would wait up to
  -- --connect-timeout for an exit status).
  if M.session then M.session:abort() end
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
