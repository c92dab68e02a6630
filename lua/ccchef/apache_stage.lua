-- ccchef.apache_stage: every change a run makes to Apache's configuration
-- is staged, and the staged set goes live only when Apache accepts it as a
-- whole (docs/apache.md, "Staging").
--
-- A unit's `stage` (file, template, link, apache_site, apache_module,
-- rewrite_expect) hands its planned change here as ops; `claim` says
-- whether it belongs to an Apache configuration: its path is under a
-- configuration root (/etc/apache2, /etc/apache2-NAME), or a file of that
-- configuration (live, or a change staged before it) includes it. The
-- engine holds claimed changes until a barrier (docs/resources.md,
-- "Staged changes") and then calls `check` once for the set: the
-- candidate is built in a private mount namespace at the live paths
-- (ccchef.apache_view), `apache2ctl configtest` runs on it, then the
-- set's rewrite expectations against a private Apache on it
-- (ccchef.apache_expect). Only when all pass does the engine make the
-- changes.
local apache = require("ccchef.apache")
local errors = require("ccchef.errors")
local ns = require("ccchef.ns")
local private_dir = require("ccchef.private_dir")
local expect = require("ccchef.apache_expect")
local sys = require("ccchef.sys")
local util = require("ccchef.util")
local view = require("ccchef.apache_view")

local M = {}

local ROOTS_KEY = "apache_stage.roots"

-- A glob of an Include line as an anchored Lua pattern.
local function glob_pattern(glob)
  local p = glob:gsub("[%^%$%(%)%%%.%+%-]", "%%%0"):gsub("%*", "[^/]*"):gsub("%?", "[^/]")
  return "^" .. p .. "$"
end

-- Include / IncludeOptional targets of a config text (absolute, or
-- relative to the server root) into list, as patterns. A target naming a
-- variable (${APACHE_LOG_DIR}) is skipped: nothing ccchef writes is
-- reached through one.
local function add_includes(list, text, root)
  for line in text:gmatch("[^\n]+") do
    local target = line:match("^%s*[Ii][Nn][Cc][Ll][Uu][Dd][Ee]%a*%s+\"?([^%s\"]+)")
    if target and not target:find("${", 1, true) then
      if target:sub(1, 1) ~= "/" then target = root .. "/" .. target end
      target = target:gsub("/+$", "")
      list[#list + 1] = glob_pattern(target)
      -- A directory includes every file in it.
      list[#list + 1] = glob_pattern(target .. "/*")
    end
  end
end

-- The files of a root whose Include lines count: the main files and the
-- available/enabled sites and snippets (a site enabled in this run counts).
local SCANNED = { "sites-available", "sites-enabled", "conf-available", "conf-enabled" }

local function load_root(dir)
  local r = { dir = dir, includes = {} }
  for _, f in ipairs({ "apache2.conf", "ports.conf" }) do
    local text = sys.read(dir .. "/" .. f)
    if text then add_includes(r.includes, text, dir) end
  end
  for _, sub in ipairs(SCANNED) do
    for name, e in pairs(sys.scandir(dir .. "/" .. sub) or {}) do
      if e.type == "file" then
        local text = sys.read(dir .. "/" .. sub .. "/" .. name)
        if text then add_includes(r.includes, text, dir) end
      end
    end
  end
  return r
end

-- The configuration roots of this machine, read once per run.
local function roots(ctx)
  local rs = ctx.cache[ROOTS_KEY]
  if rs then return rs end
  rs = { list = {}, by_dir = {} }
  for _, name in ipairs(sys.listdir("/etc") or {}) do
    if (name == "apache2" or name:match("^apache2%-[%w_%-]+$")) and sys.stat("/etc/" .. name .. "/apache2.conf") then
      local r = load_root("/etc/" .. name)
      rs.list[#rs.list + 1] = r
      rs.by_dir[r.dir] = r
    end
  end
  ctx.cache[ROOTS_KEY] = rs
  return rs
end

local function under(path, dir)
  return path:sub(1, #dir + 1) == dir .. "/"
end

local function included(path, r)
  for _, pat in ipairs(r.includes) do
    if path:match(pat) then return true end
  end
  return false
end

-- The root a path belongs to, or nil.
local function root_of(path, rs)
  for _, r in ipairs(rs.list) do
    if under(path, r.dir) then return r end
  end
  for _, r in ipairs(rs.list) do
    if included(path, r) then return r end
  end
  return nil
end

-- ops (see ccchef.apache_view) of one resource; conf_dir when the unit
-- knows its root (apache_site, apache_module). Returns the staged change
-- for the engine, or nil when no op is Apache's configuration. extra:
-- fields the check reads (expect = an expectation).
function M.claim(ops, ctx, conf_dir, extra)
  local rs = roots(ctx)
  local r = conf_dir and rs.by_dir[conf_dir]
  if conf_dir and not r then
    if not sys.stat(conf_dir .. "/apache2.conf") then return nil end
    r = load_root(conf_dir)
    rs.list[#rs.list + 1] = r
    rs.by_dir[conf_dir] = r
  end
  if not r then
    for _, op in ipairs(ops) do
      r = root_of(op.path, rs)
      -- A root that appeared since the run read them (apache2 installed
      -- by an earlier resource, an instance made by setup-instance).
      local dir = not r and op.path:match("^(/etc/apache2[%w_%-]*)/")
      if dir and not rs.by_dir[dir] and sys.stat(dir .. "/apache2.conf") then
        r = load_root(dir)
        rs.list[#rs.list + 1] = r
        rs.by_dir[dir] = r
      end
      if r then break end
    end
  end
  if not r then return nil end
  rs.staged = rs.staged or {}
  for _, op in ipairs(ops) do rs.staged[op.path] = op end
  -- What this change includes counts from now on (a new site including a
  -- snippet declared after it).
  for _, op in ipairs(ops) do
    if op.content then add_includes(r.includes, op.content, r.dir) end
  end
  local staged = { key = "apache:" .. r.dir, conf_dir = r.dir, ops = ops, check = M.check }
  for k, v in pairs(extra or {}) do staged[k] = v end
  return staged
end

-- The last op this run staged for path, or nil: a unit that reads Apache's
-- configuration (apache_module's mods-available) sees the candidate, not
-- only what is live.
function M.staged_op(ctx, path)
  local rs = ctx.cache[ROOTS_KEY]
  return rs and rs.staged and rs.staged[path]
end

-- Ops of a file-like unit's plan: the content it would write (cur.want,
-- or a large cur.source_file), or its removal.
function M.file_ops(p, cur, action)
  if action == "delete" then return { { path = p.path, kind = "absent" } } end
  return { { path = p.path, kind = "file", content = cur.want, source = cur.want == nil and cur.source_file or nil,
    mode = p.mode or (cur.exists and cur.mode) or nil } }
end

-- `apache2ctl configtest` in the candidate view. Returns true, or false and
-- Apache's words.
local function configtest(conf_dir, binds, priv, ctx)
  local env = { APACHE_CONFDIR = conf_dir }
  local out = priv .. "/configtest.out"
  local pid, err = ns.spawn({ argv = { "apache2ctl", "configtest" }, env = env, binds = binds, output = out })
  if not pid then errors.converge("configtest of the candidate could not start: " .. err) end
  local status = ns.wait(pid, (ctx.command_timeout or 60) * 1000)
  if not status then
    ns.kill(pid, 9)
    ns.wait(pid, -1)
    errors.converge("configtest of the candidate timed out")
  end
  if status == 0 then return true end
  return false, apache.configtest_message(sys.read(out) or "")
end

-- Which members Apache's message names (by a path they change).
local function blamed(members, msg)
  local out = {}
  for i, m in ipairs(members) do
    for _, op in ipairs(m.ops) do
      if msg:find(op.path, 1, true) then out[i] = true end
    end
  end
  return out
end

-- The check of one staged set (members: what claim returned, in order).
-- Returns nil when it passes, else { [i] = { message =, output = } } for
-- every member (none of them goes live).
function M.check(members, ctx)
  local conf_dir = members[1].conf_dir
  local ops, expectations = {}, {}
  for _, m in ipairs(members) do
    for _, op in ipairs(m.ops) do ops[#ops + 1] = op end
    if m.expect then expectations[#expectations + 1] = m.expect end
  end
  local priv, perr = private_dir.create()
  if not priv then errors.converge(perr) end
  local ok, verdict = pcall(function()
    local binds, berr = view.build(ops, priv)
    if not binds then errors.converge(berr) end
    local passed, msg = configtest(conf_dir, binds, priv, ctx)
    if not passed then
      local who = blamed(members, msg)
      local named = next(who) ~= nil
      local v = {}
      for i in ipairs(members) do
        if who[i] or not named then
          v[i] = { message = "apache2ctl configtest failed on the candidate configuration; nothing of it went live",
            output = msg }
        else
          v[i] = { message = "not made: the candidate Apache configuration it is part of failed configtest" }
        end
      end
      return v
    end
    if #expectations == 0 then return nil end
    local results = expect.run(conf_dir, ops, binds, expectations, priv, ctx)
    local failed = {}
    for _, res in ipairs(results) do
      if not res.ok then failed[#failed + 1] = res end
    end
    if #failed == 0 then return nil end
    local tbl = expect.table(failed)
    local v = {}
    local first = true
    for i, m in ipairs(members) do
      if m.expect and not results[m.expect].ok then
        v[i] = { message = string.format("expectation failed on the candidate configuration (%d of %d failed; nothing went live)",
          #failed, #results), output = first and tbl or expect.table({ results[m.expect] }) }
        first = false
      elseif not m.expect then
        v[i] = { message = string.format("not made: %d rewrite expectation(s) failed on the candidate configuration",
          #failed) }
      end
    end
    return v
  end)
  private_dir.remove(priv)
  if not ok then error(verdict, 0) end
  return verdict
end

return M
