-- ccchef.apache_expect: rewrite expectations (rewrite_expect) asked of an
-- Apache: before the switch, of a private Apache running the candidate
-- configuration; after it, of the live server (docs/apache.md).
--
-- The private Apache runs in its own mount namespace (the candidate view
-- of ccchef.apache_view, and a private log directory over the live one)
-- and its own network namespace (its own loopback), so it listens on the
-- very ports the live server does and name-based virtual hosts match as
-- they will live, without clashing with anything. Its PID file, locks and
-- run directory are private too: the live server is never touched.
local errors = require("ccchef.errors")
local http = require("ccchef.http")
local ns = require("ccchef.ns")
local proc = require("ccchef.proc")
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {}

local START_TIMEOUT = 15 -- seconds for the private Apache to listen
local REQUEST_TIMEOUT_MS = 5000

-- The port and ServerName of site SITE, from the candidate (a staged op)
-- or the live file.
local function site_defaults(conf_dir, site, ops)
  local path = conf_dir .. "/sites-available/" .. site .. ".conf"
  local text
  for _, op in ipairs(ops or {}) do
    if op.path == path and op.kind == "file" and op.content then text = op.content end
  end
  text = "\n" .. (text or sys.read(path) or "")
  local port = text:match("\n%s*<[Vv][Ii][Rr][Tt][Uu][Aa][Ll][Hh][Oo][Ss][Tt]%s+[^>\n]-:(%d+)")
  local host = text:match("\n%s*[Ss][Ee][Rr][Vv][Ee][Rr][Nn][Aa][Mm][Ee]%s+([^%s]+)")
  if host then host = host:gsub("^%a+://", ""):gsub(":%d+$", "") end
  return tonumber(port), host
end

-- The port and Host header an expectation uses: its own, else its site's
-- (the first VirtualHost's port, the ServerName), else 80 and localhost.
function M.target(e, conf_dir, ops)
  local port, host = e.port, e.host
  if e.site and (not port or not host) then
    local sp, sh = site_defaults(conf_dir, e.site, ops)
    port, host = port or sp, host or sh
  end
  return port or 80, host or "localhost"
end

local function location_path(loc)
  return loc:match("^%a[%w+.-]*://[^/]*(/.*)$") or loc
end

local function show_want(e)
  local s = tostring(e.status)
  if e.location then s = s .. " " .. e.location end
  if e.body then s = s .. string.format(" body~%q", e.body) end
  return s
end

-- Ask one expectation (request done through ask(url, host)).
local function judge(e, port, host, ask)
  local res, err = ask(string.format("http://127.0.0.1:%d%s", port, e.path), host)
  local r = { expectation = e, path = e.path, host = host, port = port, want = show_want(e) }
  if not res then
    r.got = "no answer: " .. tostring(err)
    r.ok = false
    return r
  end
  local loc = res.headers and res.headers.location
  r.got = tostring(res.status) .. (loc and (" " .. loc) or "")
  r.ok = res.status == e.status
  if e.location then
    local got = loc or ""
    if e.location:sub(1, 1) == "/" then got = location_path(got) end
    if got ~= e.location then r.ok = false end
  end
  if e.body and not (res.body or ""):find(e.body, 1, true) then
    r.ok = false
    r.got = r.got .. string.format(" (body lacks %q)", e.body)
  end
  return r
end

-- The live log directory of the root (APACHE_LOG_DIR of its envvars).
local function log_dir(conf_dir)
  local res = proc.run({ "sh", "-c", '. "$APACHE_CONFDIR/envvars" && printf "%s\\n" "$APACHE_LOG_DIR"' },
    { env = { APACHE_CONFDIR = conf_dir }, timeout = 10 })
  return res and res.status == 0 and res.output:match("^([^\n]+)") or nil
end

local function start(conf_dir, binds, priv)
  for _, d in ipairs({ "run", "lock", "log" }) do
    local ok, err = sys.mkdir(priv .. "/" .. d, util.mode"0700")
    if not ok then errors.converge(err) end
  end
  local all = {}
  for i, b in ipairs(binds) do all[i] = b end
  local logs = priv .. "/log"
  local live_logs = log_dir(conf_dir)
  local st = live_logs and sys.stat(live_logs)
  if st and st.type == "directory" then
    -- Literal log paths in the config land in the private directory too.
    all[#all + 1] = { logs, live_logs }
    logs = live_logs
  end
  local script = '. "$APACHE_CONFDIR/envvars" && export APACHE_RUN_DIR="$1" APACHE_PID_FILE="$1/apache2.pid"'
    .. ' APACHE_LOCK_DIR="$2" APACHE_LOG_DIR="$3" && exec apache2 -d "$APACHE_CONFDIR" -DFOREGROUND'
  local out = priv .. "/apache.out"
  local pid, net = ns.spawn({ argv = { "sh", "-c", script, "sh", priv .. "/run", priv .. "/lock", logs },
    env = { APACHE_CONFDIR = conf_dir }, binds = all, net = true, output = out })
  if not pid then errors.converge("the private Apache could not start: " .. tostring(net)) end
  return { pid = pid, net = net, out = out, logs = priv .. "/log" }
end

local function stop(inst)
  ns.kill(inst.pid, 15)
  if not ns.wait(inst.pid, 5000) then
    ns.kill(inst.pid, 9)
    ns.wait(inst.pid, -1)
  end
  ns.close(inst.net)
end

local function exited_message(inst, how)
  local text = (sys.read(inst.out) or "") .. (sys.read(inst.logs .. "/error.log") or "")
  return "the private Apache on the candidate " .. how .. (text ~= "" and (":\n" .. text) or "")
end

-- Ready when port accepts a connection (any answer will do).
local function wait_ready(inst, port)
  local deadline = sys.now() + START_TIMEOUT
  while true do
    local status = ns.wait(inst.pid, 0)
    if status then
      inst.gone = true
      errors.converge(exited_message(inst, "exited (status " .. status .. ")"))
    end
    local res, _, errname = ns.within(inst.net, http.request,
      { url = string.format("http://127.0.0.1:%d/", port), method = "HEAD", timeout_ms = 1000 })
    if res or (errname ~= "ECONNREFUSED" and errname ~= nil) then return end
    if sys.now() > deadline then
      errors.converge(exited_message(inst, string.format("did not listen on port %d within %d s", port, START_TIMEOUT)))
    end
    ns.wait(inst.pid, 5) -- a short pause, ended early if it exits
  end
end

-- Every expectation against a private Apache on the candidate view.
-- Returns the results, in order and by expectation.
function M.run(conf_dir, ops, binds, expectations, priv, _ctx)
  local inst = start(conf_dir, binds, priv)
  local ok, results = pcall(function()
    local targets = {}
    for i, e in ipairs(expectations) do targets[i] = { M.target(e, conf_dir, ops) } end
    wait_ready(inst, targets[1][1])
    local out = {}
    for i, e in ipairs(expectations) do
      local port, host = targets[i][1], targets[i][2]
      out[i] = judge(e, port, host, function(url, h)
        return ns.within(inst.net, http.request, { url = url, host = h, timeout_ms = REQUEST_TIMEOUT_MS })
      end)
      out[e] = out[i]
    end
    return out
  end)
  if not inst.gone then stop(inst) end
  if not ok then error(results, 0) end
  return results
end

-- One expectation against the live server (after the switch).
function M.live(e, conf_dir)
  local port, host = M.target(e, conf_dir)
  return judge(e, port, host, function(url, h)
    return http.request({ url = url, host = h, timeout_ms = REQUEST_TIMEOUT_MS })
  end)
end

-- The failures as a table: path / host / wanted / got.
function M.table(results)
  local rows = { { "PATH", "HOST", "WANTED", "GOT" } }
  for _, r in ipairs(results) do
    rows[#rows + 1] = { r.path, r.host .. (r.port ~= 80 and (":" .. r.port) or ""), r.want, r.got }
  end
  local w = {}
  for _, row in ipairs(rows) do
    for c, cell in ipairs(row) do w[c] = math.max(w[c] or 0, #cell) end
  end
  local lines = {}
  for _, row in ipairs(rows) do
    local cells = {}
    for c, cell in ipairs(row) do cells[c] = c < #row and (cell .. string.rep(" ", w[c] - #cell)) or cell end
    lines[#lines + 1] = table.concat(cells, "  ")
  end
  return table.concat(lines, "\n")
end

return M
