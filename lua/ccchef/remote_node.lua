-- ccchef.remote_node: one node of `ccchef remote` / `ccchef status`, run
-- in its own worker process (`ccchef __node`, its spec in
-- $CCCHEF_NODE_SPEC; lua/ccchef/remote.lua says why processes). It prints
-- JSON lines for the controller: the runner's events as they come, plus
-- bootstrap, host_key, node_error, stderr and status events.
--
-- The sequence: ssh session (ssh config, agent, keys; ccchef.ssh_config
-- for what libssh does not apply), host key against known_hosts (the
-- decision is ours, check_host_key), authentication, then one exec
-- channel running the bootstrap (ccchef.node_scripts): if the runner with
-- our content hash is cached on the node it runs it and the bundle goes to
-- its stdin; if not, it says so, and the same command installs the runner
-- we then send (hash checked on the node) and runs it on the rest of
-- stdin, the bundle.
local errors = require("ccchef.errors")
local json = require("ccchef.json")
local scripts = require("ccchef.node_scripts")
local ssh_config = require("ccchef.ssh_config")
local sys = require("ccchef.sys")

local M = {}

local function emit(t)
  io.stdout:write(json.encode(t), "\n")
  io.stdout:flush()
end

-- A failure that ends this node's run: the parent shows it and counts the
-- node as unreachable/failed.
local NodeError = {}
local function node_fail(stage, message)
  error(setmetatable({ stage = stage, message = message }, NodeError), 0)
end

-- Reads a channel line by line. Returns a function giving line, stream
-- ("stdout"/"stderr"), or nil at the end (node_fail on timeout), and a
-- function telling whether more lines are already read (the rest of the
-- same chunk: the caller may flush once after the last of them).
local function line_reader(ch, deadline, what)
  local bufs = { stdout = "", stderr = "" }
  local pending = {}
  local ended = false
  local function buffered() return #pending > 0 end
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
  end, buffered
end

local function host_display(info)
  if info.port and info.port ~= 22 then return string.format("[%s]:%d", info.host, info.port) end
  return info.host
end

-- CCCHEF_TRACE=1: phase times on stderr, in seconds since the
-- controller started (a worker gets its start in CCCHEF_TRACE_T0, so the
-- controller's and its workers' lines share one clock), and the CPU time
-- of the process that prints the line.
local TRACE = os.getenv("CCCHEF_TRACE") and (tonumber(os.getenv("CCCHEF_TRACE_T0") or "") or sys.now())
M.TRACE_T0 = TRACE
function M.trace(what)
  if TRACE then io.stderr:write(string.format("trace %.3f %s cpu %.4f\n", sys.now() - TRACE, what, os.clock())) end
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
  local ssh = require("ccchef.ssh")
  M.trace("libssh loaded")
  local openssh = ssh_config.openssh_options(spec)
  local s, err = ssh.session({
    host = spec.host, port = spec.port, user = spec.user, config = spec.ssh_config,
    identity = spec.identity, timeout = spec.connect_timeout,
    proxy_command = ssh_config.proxy_command(spec, openssh.proxyjump),
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

-- Feed the bundle to the runner on channel ch and pass its events on, each
-- flushed as soon as it is here: the lines of one chunk from the node
-- (events the runner wrote in one go) leave in one write, not one each
-- (one wake-up of the controller per chunk, not per event).
-- Returns the runner's exit status.
local function stream_run(ch, read, buffered, spec, tar)
  local ok, werr = ch:write(tar)
  ch:eof()
  local saw_end = false
  for line, stream in read do
    if stream == "stdout" then
      io.stdout:write(line, "\n")
      if line:find('"event":"run_end"', 1, true) or line:find('"event":"error"', 1, true) then saw_end = true end
    else
      sudo_check(line, spec)
      -- The runner's own error lines repeat its JSON error event.
      if not line:find("^ccchef%-runner: error: ") and not line:find("^ccchef: error: ") then
        emit({ event = "stderr", line = line })
      end
    end
    if not buffered() then io.stdout:flush() end
  end
  M.trace("runner done")
  local status = ch:close()
  -- 124: the runner's watchdog (or, under --sudo, timeout(1)) stopped the
  -- run at the node's deadline.
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

-- The runner's sha256: libssh's own libcrypto when it is OpenSSL (the
-- file mapped: about half a millisecond), else sha256sum. An upload is
-- read after this; had the file changed in between, the node refuses it
-- (it checks the bytes against this hash).
-- Returns the sha256 and the size.
local function runner_sha256(path)
  local st, serr = sys.stat(path)
  if not st then node_fail("bootstrap", "cannot read the runner: " .. serr) end
  local sum = require("ccchef.ssh").sha256_file(path)
  if sum then return sum, st.size end
  local res = require("ccchef.proc").run({ "sha256sum", "--", path })
  sum = res and res.status == 0 and res.output:match("^(%x+)")
  if not sum or #sum ~= 64 then node_fail("bootstrap", "cannot compute the sha256 of " .. path) end
  return sum, st.size
end

local function converge(s, spec, deadline)
  local tar, terr = sys.read(spec.bundle)
  if not tar then node_fail("bundle", "cannot read the bundle: " .. terr) end
  local size
  spec.runner_sha, size = runner_sha256(spec.runner)
  M.trace("runner hashed")

  local ch = open_channel(s, scripts.bootstrap(spec, size))
  local read, buffered = line_reader(ch, deadline, "the run")
  local first, errs = await_bootstrap(read, spec)
  M.trace("bootstrap answered")
  for _, line in ipairs(errs) do emit({ event = "stderr", line = line }) end
  local word, arg = (first or ""):match("^ccchef%-bootstrap (%S+) ?(.*)$")
  if word == "ok" then
    emit({ event = "bootstrap", action = "cached", path = arg, sha256 = spec.runner_sha })
    return stream_run(ch, read, buffered, spec, tar)
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
  local data, rerr = sys.read(spec.runner)
  if not data then node_fail("bootstrap", "cannot read the runner: " .. rerr) end
  -- Exactly the size announced (head -c reads that many bytes); a file
  -- that changed meanwhile fails the node's hash check.
  if #data ~= size then data = data:sub(1, size) .. string.rep("\0", size - #data) end
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
  return stream_run(ch, read, buffered, spec, tar)
end

local function status(s, spec, deadline)
  local st, out, errs = exec(s, scripts.status(spec), nil, deadline, "status")
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
  -- The node stops its runner at spec.deadline (ccchef-runner --deadline,
  -- see ccchef.node_scripts); the controller waits a little longer for the last
  -- events and the exit status, then gives up on the node.
  spec.deadline = sys.now() + (spec.command_timeout or 3600)
  local deadline = spec.deadline + scripts.CONTROLLER_MARGIN
  M.trace("worker started")
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
