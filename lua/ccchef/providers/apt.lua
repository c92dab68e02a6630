-- ccchef.providers.apt: the apt/dpkg package provider behind the package
-- resource. Probing (dpkg-query, apt-cache policy) is kept apart from
-- changing (apt-get update/install/remove/purge). Installed state always
-- comes from dpkg's database through dpkg-query; apt-get's human output is
-- never parsed. apt-get runs as an argv (no shell); the two probes are
-- shell lines only to drop their stderr, built with shell quoting, never by
-- pasting user strings into a command line.
--
-- cfg is the resource's apt_config: extra `-o KEY=VALUE` given to every
-- apt-get and apt-cache call (tests point apt at a local repository with it).
local errors = require("ccchef.errors")
local proc = require("ccchef.proc")
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {}

local q = util.shell_quote

-- Never wait for a terminal; C locale so apt-cache policy's fixed labels
-- ("Candidate:") are the English ones.
local ENV = { DEBIAN_FRONTEND = "noninteractive", APT_LISTCHANGES_FRONTEND = "none",
  LC_ALL = "C" }

-- Conffile policy: keep the admin's changed conffiles (confold) and take
-- the package's default where dpkg would ask (confdef). Wait for the dpkg
-- lock instead of failing while another apt runs.
local APT_GET_OPTS = { "-y", "-q", "-o", "DPkg::Lock::Timeout=300",
  "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold" }

-- cfg's apt options appended to argv as "-o K=V" pairs, in key order.
local function add_config(argv, cfg)
  for _, k in ipairs(util.sorted_keys(cfg or {})) do
    argv[#argv + 1] = "-o"
    argv[#argv + 1] = k .. "=" .. tostring(cfg[k])
  end
  return argv
end

-- apt-get's argv (no shell): its options, cfg's, then the rest in order
-- (lists are spliced in, false and nil skipped).
local function apt_get(cfg, ...)
  local argv = { "apt-get" }
  table.move(APT_GET_OPTS, 1, #APT_GET_OPTS, 2, argv)
  add_config(argv, cfg)
  for i = 1, select("#", ...) do
    local a = select(i, ...)
    if type(a) == "table" then
      table.move(a, 1, #a, #argv + 1, argv)
    elseif a then
      argv[#argv + 1] = a
    end
  end
  return argv
end

local function config_args(cfg)
  local out = {}
  for _, k in ipairs(util.sorted_keys(cfg or {})) do
    out[#out + 1] = "-o " .. q(k .. "=" .. tostring(cfg[k]))
  end
  return table.concat(out, " ")
end

-- A stable key for a config table: resources with the same key share a
-- package-list refresh.
function M.config_key(cfg)
  return config_args(cfg)
end

local function quoted(list)
  local out = {}
  for i, s in ipairs(list) do out[i] = q(s) end
  return table.concat(out, " ")
end

-- argv: no shell. The probes (drop_stderr) parse stdout alone.
local function run(argv, ctx, drop_stderr)
  local res, err = proc.run(argv, { env = ENV, timeout = ctx.command_timeout,
    stderr = drop_stderr and "discard" or nil })
  if not res then
    errors.converge("cannot start `" .. quoted(argv) .. "`: " .. err)
  end
  return res
end

-- The base name dpkg knows a package by: "libc6:amd64" -> "libc6".
local function base(name)
  return (name:gsub(":.*$", ""))
end
M.base = base

-- Installed state of names, from dpkg's database in one dpkg-query:
-- { [name] = { status = "install ok installed", state = "installed",
--              version = "1.0" } }. A name dpkg has never seen is absent.
-- state is the third word of Status: installed, config-files,
-- not-installed, half-installed, unpacked, half-configured, ...
function M.query(names, ctx)
  local out = {}
  if #names == 0 then return out end
  local bases, seen = {}, {}
  for _, n in ipairs(names) do
    local b = base(n)
    if not seen[b] then
      seen[b] = true
      bases[#bases + 1] = b
    end
  end
  -- Exit status 1 only means "some names unknown"; their lines are missing.
  -- stderr is dropped so the output is only the formatted lines.
  local argv = { "dpkg-query", "-W", "-f", "${Package}\\t${Status}\\t${Version}\\n", "--" }
  table.move(bases, 1, #bases, #argv + 1, argv)
  local res = run(argv, ctx, true)
  if res.signal ~= 0 or res.timed_out or (res.status ~= 0 and res.status ~= 1) then
    errors.converge("dpkg-query failed", { output = res.output })
  end
  for line in res.output:gmatch("[^\n]+") do
    local pkg, status, version = line:match("^([^\t]+)\t([^\t]*)\t([^\t]*)$")
    if pkg then
      local state = status:match("(%S+)$") or "not-installed"
      local prev = out[pkg]
      -- Several architectures of one package: the installed one counts.
      if not prev or (prev.state ~= "installed" and state == "installed") then
        out[pkg] = { status = status, state = state, version = version }
      end
    end
  end
  return out
end

-- What apt would install, from `apt-cache policy` (one process for all):
-- { [name] = { candidate = "2.0" | nil, versions = { ["1.0"] = true, ... } } }.
-- A name apt does not know is absent; a known name with no candidate
-- (a purely virtual package) has candidate nil.
function M.policy(names, cfg, ctx)
  local out = {}
  if #names == 0 then return out end
  local argv = add_config({ "apt-cache" }, cfg)
  argv[#argv + 1] = "policy"
  argv[#argv + 1] = "--"
  table.move(names, 1, #names, #argv + 1, argv)
  local res = run(argv, ctx, true)
  if res.signal ~= 0 or res.timed_out or res.status ~= 0 then
    errors.converge("apt-cache policy failed", { output = res.output })
  end
  local cur
  for line in res.output:gmatch("[^\n]+") do
    local header = line:match("^(%S+):$")
    if header then
      cur = { versions = {} }
      out[header] = cur
    elseif cur then
      local cand = line:match("^%s+Candidate: (%S+)")
      if cand then
        cur.candidate = cand ~= "(none)" and cand or nil
      else
        -- Version table rows: "     2.0 500" or " *** 1.0 100" (installed).
        local v = line:match("^ %*%*%* (%S+) %-?%d+$") or line:match("^%s+(%S+) %-?%d+$")
        if v then cur.versions[v] = true end
      end
    end
  end
  -- apt-cache prints the native architecture's entry for "pkg:arch" under
  -- the base name: index both ways.
  for _, n in ipairs(names) do
    if not out[n] and out[base(n)] then out[n] = out[base(n)] end
  end
  return out
end

-- The package lists apt reads, from Dir::State / Dir::State::Lists (apt's
-- defaults when cfg does not set them).
-- apt's option names are case-insensitive (Dir::State::lists).
local function option(cfg, name)
  name = name:lower()
  for k, v in pairs(cfg or {}) do
    if k:lower() == name then return tostring(v) end
  end
  return nil
end

local function state_dir(cfg)
  local d = option(cfg, "Dir::State") or "/var/lib/apt"
  return util.is_absolute(d) and d or util.join("/", d)
end

function M.lists_dir(cfg)
  local lists = option(cfg, "Dir::State::Lists") or "lists"
  if util.is_absolute(lists) then return lists end
  return util.join(state_dir(cfg), lists)
end

-- Debian's "last successful apt-get update" stamp (apt.systemd.daily and
-- update-notifier write it too); ccchef touches it after its own updates.
function M.stamp_path(cfg)
  return util.join(state_dir(cfg), "periodic/update-success-stamp")
end

-- Seconds since the package lists were last refreshed: the newer of the
-- stamp and the lists directory (a refresh that changed something renames
-- files in it). math.huge when there are no lists at all.
function M.lists_age(cfg)
  local newest
  for _, path in ipairs({ M.stamp_path(cfg), M.lists_dir(cfg) }) do
    local st = sys.stat(path)
    if st and (not newest or st.mtime > newest) then newest = st.mtime end
  end
  if not newest then return math.huge end
  return math.max(0, sys.time() - newest)
end

function M.update(cfg, ctx)
  local res = run(apt_get(cfg, "update"), ctx)
  if res.status ~= 0 or res.signal ~= 0 or res.timed_out then
    errors.converge("apt-get update failed", { output = res.output })
  end
  local stamp = M.stamp_path(cfg)
  util.mkdir_p(sys, util.dirname(stamp), util.mode"0755")
  sys.write(stamp, "") -- a new file: its mtime is now
  return res.output
end

-- specs: "name" or "name=version". downgrade: allow going to an older
-- version (an explicit pin means exactly that version).
function M.install(specs, cfg, options, downgrade, ctx)
  local res = run(apt_get(cfg, downgrade and "--allow-downgrades", options or {}, "install", "--", specs), ctx)
  if res.status ~= 0 or res.signal ~= 0 or res.timed_out then
    errors.converge(string.format("apt-get install %s failed (exit %d)", table.concat(specs, " "),
      res.status), { output = res.output })
  end
  return res.output
end

-- how: "remove" or "purge".
function M.remove(names, how, cfg, options, ctx)
  local res = run(apt_get(cfg, options or {}, how, "--", names), ctx)
  if res.status ~= 0 or res.signal ~= 0 or res.timed_out then
    errors.converge(string.format("apt-get %s %s failed (exit %d)", how, table.concat(names, " "),
      res.status), { output = res.output })
  end
  return res.output
end

return M
