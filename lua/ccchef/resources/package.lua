-- package: Debian packages installed, upgraded, removed or purged through
-- the apt provider (ccchef.providers.apt). One resource may name several
-- packages (package { "apache2", "git" }): they change in one apt-get call.
-- Consecutive package resources share one state read (the prefetch hook):
-- checking twenty installed packages costs one dpkg-query.
local apt = require("ccchef.providers.apt")
local errors = require("ccchef.errors")

local M = {
  name = "package",
  name_property = "package_name",
  name_list = true,
  properties = {
    package_name = { type = "strings" },
    version = { type = "strings" },
    cache_max_age = { type = "integer",
      validate = function(v) return v >= 0, "cache_max_age must be 0 or more seconds" end },
    apt_config = { type = "env" },
    options = { type = "strings" },
  },
  actions = { "install", "upgrade", "remove", "purge" },
  default_action = "install",
}

local DEFAULT_MAX_AGE = 24 * 3600

-- Debian policy 5.6.1: lower case letters, digits, + - . ; at least two
-- characters, starting with a letter or digit. An architecture may follow.
local function valid_name(n)
  local pkg, arch = n:match("^([^:]+):?(.*)$")
  if not pkg or not pkg:match("^[a-z0-9][a-z0-9+.-]+$") then return false end
  return arch == "" or arch:match("^[a-z0-9-]+$") ~= nil
end

-- Debian policy 5.6.12: [epoch:]upstream_version[-debian_revision]. The
-- epoch is digits; the upstream version starts with a digit and may hold
-- . + ~ (and - only when there is a revision, : only after an epoch: the
-- text before the first ':' is the epoch); the revision holds letters,
-- digits and + . ~.
function M.version_error(v)
  if v == "" then return "is empty" end
  local epoch, rest = v:match("^([^:]*):(.*)$")
  if epoch then
    if not epoch:match("^%d+$") then return "has an epoch that is not a number" end
  else
    rest = v
  end
  local upstream, revision = rest:match("^(.*)%-([^-]*)$")
  if upstream then
    if revision == "" or not revision:match("^[%w+.~]+$") then
      return "has a Debian revision (after the last '-') that is empty or holds characters "
        .. "other than letters, digits, + . ~"
    end
  else
    upstream = rest
  end
  if not upstream:match("^%d") then return "does not start with a digit" end
  if not upstream:match("^[%w.+~:-]+$") then
    return "holds characters other than letters, digits, . + ~ - :"
  end
  return nil
end

function M.validate(p, r)
  for _, n in ipairs(p.package_name) do
    if not valid_name(n) then
      error(string.format("%q is not a valid Debian package name (lower case letters, digits, "
        .. "+ - . ; at least two characters)", n), 0)
    end
  end
  if p.version then
    local n, nv = #p.package_name, #p.version
    if nv ~= n then
      error(string.format("version gives %d version%s for %d package%s: give one per package, "
        .. "in the same order", nv, nv == 1 and "" or "s", n, n == 1 and "" or "s"), 0)
    end
    for i, v in ipairs(p.version) do
      local why = M.version_error(v)
      if why then
        error(string.format("version %q of %s is not a valid Debian version: it %s", v,
          p.package_name[i], why), 0)
      end
    end
    for _, a in ipairs(r.actions) do
      if a == "remove" or a == "purge" then
        error("version cannot be used with action " .. a .. " (it removes whatever is installed)", 0)
      end
    end
  end
end

local function pin_of(p, i)
  return p.version and p.version[i] or nil
end

local function installed(d)
  return d ~= nil and d.state == "installed"
end

-- Does planning this package need apt's candidate/version list?
local function needs_policy(action, pin, d)
  if action == "upgrade" then return true end
  if action ~= "install" then return false end
  if pin then return not (installed(d) and d.version == pin) end
  return not installed(d)
end

-- One dpkg-query for the packages of all the resources in the group, and
-- one apt-cache policy per apt_config for those that will need a candidate.
function M.prefetch(items, ctx)
  local all = {}
  for _, it in ipairs(items) do
    for _, n in ipairs(it.props.package_name) do all[#all + 1] = n end
  end
  local dpkg = apt.query(all, ctx)
  local groups = {}
  for _, it in ipairs(items) do
    local p = it.props
    local key = apt.config_key(p.apt_config)
    local g = groups[key] or { cfg = p.apt_config, names = {}, set = {} }
    groups[key] = g
    for _, action in ipairs(it.actions) do
      for i, n in ipairs(p.package_name) do
        if not g.set[n] and needs_policy(action, pin_of(p, i), dpkg[apt.base(n)]) then
          g.set[n] = true
          g.names[#g.names + 1] = n
        end
      end
    end
  end
  local policy = {}
  for key, g in pairs(groups) do
    policy[key] = { queried = g.set, result = apt.policy(g.names, g.cfg, ctx) }
  end
  return { dpkg = dpkg, policy = policy }
end

function M.load(p, ctx, action)
  local pf = ctx.prefetched
  local dpkg = pf and pf.dpkg or apt.query(p.package_name, ctx)
  local key = apt.config_key(p.apt_config)
  local known = pf and pf.policy[key]
  local policy, ask = {}, {}
  for i, n in ipairs(p.package_name) do
    if needs_policy(action, pin_of(p, i), dpkg[apt.base(n)]) then
      if known and known.queried[n] then
        policy[n] = known.result[n]
      else
        ask[#ask + 1] = n
      end
    end
  end
  for n, v in pairs(apt.policy(ask, p.apt_config, ctx)) do policy[n] = v end
  return { dpkg = dpkg, policy = policy }
end

-- What to do for each package: a list of
-- { name=, spec= ("name" or "name=version"), change=, missing=reason|nil, pin= }.
local function todo(p, cur, action)
  local out = {}
  for i, n in ipairs(p.package_name) do
    local d = cur.dpkg[apt.base(n)]
    local pin = pin_of(p, i)
    local pol = cur.policy[n]
    local item
    if action == "remove" then
      if d and d.state ~= "not-installed" and d.state ~= "config-files" then
        item = { change = string.format("remove %s %s", n, d.version) }
      end
    elseif action == "purge" then
      if d and d.state ~= "not-installed" then
        item = { change = string.format("purge %s%s", n,
          d.state == "config-files" and " (configuration files)" or " " .. d.version) }
      end
    elseif pin then
      if not (installed(d) and d.version == pin) then
        local from = installed(d) and (d.version .. " -> ") or ""
        item = { spec = n .. "=" .. pin, pin = pin,
          change = string.format("install %s %s%s", n, from, pin) }
        if not pol then
          item.missing = "not found"
        elseif not pol.versions[pin] then
          item.missing = "version"
        end
      end
    elseif not installed(d) then
      item = { spec = n }
      if pol and pol.candidate then
        item.change = string.format("install %s %s", n, pol.candidate)
      else
        item.change = "install " .. n
        item.missing = "not found"
      end
    elseif action == "upgrade" and pol and pol.candidate and pol.candidate ~= d.version then
      item = { spec = n, change = string.format("upgrade %s %s -> %s", n, d.version, pol.candidate) }
    end
    if item then
      item.name = n
      if item.missing then
        item.change = item.change .. " (not in the package lists yet: apt-get update first)"
      end
      out[#out + 1] = item
    end
  end
  return out
end

-- The changes shown, and the steps apply takes: the todo items.
function M.plan(p, cur, action)
  local items = todo(p, cur, action)
  local changes = {}
  for i, item in ipairs(items) do changes[i] = item.change end
  return changes, nil, items
end

local function max_age(p, ctx)
  if p.cache_max_age then return p.cache_max_age end
  local a = ctx.node and type(ctx.node.apt) == "table" and ctx.node.apt.cache_max_age
  if math.type(a) == "integer" then return a end
  return DEFAULT_MAX_AGE
end

local function missing_error(item, pol)
  if item.missing == "version" and pol then
    local have = {}
    for v in pairs(pol.versions) do have[#have + 1] = v end
    table.sort(have)
    errors.converge(string.format("version %s of package %s is not available (apt knows: %s)",
      item.pin, item.name, #have > 0 and table.concat(have, ", ") or "no version"))
  end
  errors.converge(string.format("package %s is not available: apt-cache policy does not "
    .. "know it, even after apt-get update (check the name and the apt sources)", item.name))
end

function M.apply(p, cur, action, items, ctx)
  local out = {}
  if action == "remove" or action == "purge" then
    local names = {}
    for i, item in ipairs(items) do names[i] = item.name end
    return { output = apt.remove(names, action, p.apt_config, p.options, ctx) }
  end
  -- Refresh the package lists once per run and apt_config, and only when
  -- they are older than cache_max_age or lack something we need.
  local key = apt.config_key(p.apt_config)
  ctx.cache.apt_updated = ctx.cache.apt_updated or {}
  local missing = {}
  for _, item in ipairs(items) do
    if item.missing then missing[#missing + 1] = item end
  end
  local stale = apt.lists_age(p.apt_config) > max_age(p, ctx)
  if (stale or #missing > 0) and not ctx.cache.apt_updated[key] then
    out[#out + 1] = apt.update(p.apt_config, ctx)
    ctx.cache.apt_updated[key] = true
    if #missing > 0 then
      local names = {}
      for i, item in ipairs(missing) do names[i] = item.name end
      local pol = apt.policy(names, p.apt_config, ctx)
      for _, item in ipairs(missing) do
        local pi = pol[item.name]
        if not pi or (item.pin and not pi.versions[item.pin]) or (not item.pin and not pi.candidate) then
          missing_error(item, pi)
        end
      end
      missing = {}
    end
  end
  if #missing > 0 then missing_error(missing[1], cur.policy[missing[1].name]) end
  local specs, downgrade = {}, false
  for i, item in ipairs(items) do
    specs[i] = item.spec
    if item.pin then downgrade = true end
  end
  out[#out + 1] = apt.install(specs, p.apt_config, p.options, downgrade, ctx)
  return { output = table.concat(out) }
end

return M
