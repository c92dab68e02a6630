-- apache_site: a site in Debian's layout, sites-available/NAME.conf, and
-- its sites-enabled link (what a2ensite makes). The config comes from
-- properties (a VirtualHost with rewrites as an ordered list), a template
-- (source + vars) or raw `config`. Before an enabled site's new config
-- counts, `apache2ctl configtest` checks the whole configuration; when it
-- fails the previous file and link are put back, Apache keeps serving what
-- it had, and the resource fails with Apache's own error lines. A changed
-- site notifies service[apache2] to reload when that service is in the run.
local apache = require("ccchef.apache")
local apache_stage = require("ccchef.apache_stage")
local values = require("ccchef.apache_values")
local backup = require("ccchef.backup")
local diff = require("ccchef.diff")
local errors = require("ccchef.errors")
local fileops = require("ccchef.fileops")
local sys = require("ccchef.sys")
local template = require("ccchef.template")
local util = require("ccchef.util")

-- A schema validate function from a check that returns value or nil, message.
local function table_check(check)
  return function(v)
    local ok, err = check(v)
    return ok ~= nil, err
  end
end

-- source: absolute, or in the declaring recipe's (cookbook's) templates/.
local function source_path(source, dir)
  return util.is_absolute(source) and source or (dir and (dir .. "/templates/" .. source)) or source
end

local M = {
  name = "apache_site",
  -- Every value that is pasted into the generated config is checked for
  -- the directive it fills (ccchef.apache_values, docs/apache.md "Values").
  properties = {
    conf_dir = { type = "path", default = apache.DEFAULT_CONF_DIR },
    port = { type = "integer", validate = function(v) return v > 0 and v < 65536, "port must be 1-65535" end },
    address = { type = "string", validate = values.spec(values.check_address) },
    server_name = { type = "string", validate = values.spec(values.check_host, { port = true, scheme = true }) },
    server_aliases = { type = "strings", validate = values.spec(values.check_host, { port = true, wildcard = true }) },
    document_root = { type = "path", validate = values.spec(values.check_path) },
    directories = { type = "table", validate = table_check(values.check_directories) },
    aliases = { type = "table", validate = table_check(values.check_aliases) },
    rewrites = { type = "table" },
    headers = { type = "strings", validate = values.spec(values.check_line) },
    error_log = { type = "string", validate = values.spec(values.check_line) },
    custom_log = { type = "string", validate = values.spec(values.check_line) },
    ssl_certificate = { type = "path", validate = values.spec(values.check_path) },
    ssl_key = { type = "path", validate = values.spec(values.check_path) },
    source = { type = "string" },
    vars = { type = "table", default = {} },
    config = { type = "string", validate = values.spec(values.check_raw) },
    configtest = { type = "boolean", default = true },
    -- Named at compile time: a change notifies service[SERVICE].
    service = { type = "string", default = "apache2", lazy = false },
  },
  actions = { "enable", "create", "disable", "delete" },
  default_action = "enable",
  inert = true, -- writes files and links: no barrier for staged changes
}

function M.validate(p, r)
  if not r.name:match("^[%w][%w%.%-_]*$") then
    error(string.format("site name %q: use letters, digits, '.', '-' and '_' (it names %s.conf)", r.name, r.name), 0)
  end
  local vhost = p.port ~= nil
  if p.source and (vhost or p.config) then
    error("give source (a whole-file template), or port and friends (a generated VirtualHost, config added inside), or config alone; not source with the others", 0)
  end
  if not p.source and not vhost and not p.config then
    for _, a in ipairs(r.actions) do
      if a == "create" then
        error("nothing to write: give port (and server_name, document_root, rewrites...), source, or config", 0)
      end
    end
  end
  if p.rewrites and not r.lazy.rewrites then p.rewrites = apache.normalise_rewrites(p.rewrites) end
  -- The template is rendered now, as template's is: an undefined variable
  -- is a compile error, before any resource changed.
  if p.source and not r.lazy.source and not r.lazy.vars then
    local text, err = template.render_file(source_path(p.source, r.dir), p.vars, r.node)
    if not text then error(err, 0) end
  end
  if p.ssl_key and not p.ssl_certificate then error("ssl_key without ssl_certificate", 0) end
end

-- Without that service in the run nothing reloads Apache: said, not
-- guessed at (docs/apache.md, "Reloads").
function M.implicit_notifies(p)
  local ref = "service[" .. (p.service or "apache2") .. "]"
  return { { action = "reload", ref = ref,
    missing = string.format("no %s in this run, so Apache is not reloaded and the change is not served yet"
      .. " (add include_recipe \"apache2\" or a service \"%s\" resource, or reload it yourself)", ref, p.service or "apache2") } }
end

local function paths(p)
  return p.conf_dir .. "/sites-available/" .. p.name .. ".conf", p.conf_dir .. "/sites-enabled/" .. p.name .. ".conf"
end

local function render(p, node)
  if p.source then
    local out, err = template.render_file(source_path(p.source, p.recipe_dir), p.vars, node)
    if not out then errors.converge(err, { lazy = true }) end
    return out
  end
  if p.port then
    if p.rewrites then
      -- Lazy rewrites are checked here: a bad one is the user's, not a bug.
      -- The checked list goes into a view of p: load never writes into p.
      local ok, rw = pcall(apache.normalise_rewrites, p.rewrites)
      if not ok then errors.converge(errors.text(rw)) end
      return apache.render_vhost(setmetatable({ rewrites = rw }, { __index = p }))
    end
    return apache.render_vhost(p)
  end
  return p.config -- nil: enable a site file someone else manages (a2ensite)
end

function M.load(p, ctx, action)
  local avail, enabled = paths(p)
  local cur = { avail = avail, enabled = enabled }
  local st = sys.lstat(avail)
  cur.exists = st ~= nil
  if st then cur.content = sys.read(avail) end
  local lst = sys.lstat(enabled)
  cur.enabled_link = lst ~= nil
  if action == "enable" or action == "create" then
    -- The wanted content goes with the state read, never into p.
    cur.want = render(p, ctx.node)
    if not cur.exists then
      local ok, err = pcall(apache.check_conf_dir, p.conf_dir)
      if not ok then
        if not errors.is(err) then error(err, 0) end
        cur.no_conf_dir = err.message
      end
    end
  end
  return cur
end

function M.plan(p, cur, action)
  local changes, d = {}, nil
  if action == "enable" and cur.want == nil then
    if not cur.exists then
      -- Under why-run an earlier resource may write it: the engine
      -- reports the enable the unit would do then.
      errors.converge(string.format("%s does not exist and no config was given (port, source or config)", cur.avail),
        { assumed = cur.enabled_link and {} or { "enable" } })
    end
    if not cur.enabled_link then changes[1] = "enable" end
    return changes
  end
  if action == "enable" or action == "create" then
    if not cur.exists then
      changes[#changes + 1] = "create " .. cur.avail
      d = diff.unified("", cur.want, "/dev/null", cur.avail)
    elseif cur.content ~= cur.want then
      changes[#changes + 1] = "config"
      d = diff.unified(cur.content, cur.want, cur.avail, cur.avail .. " (wanted)")
    end
    if action == "enable" and not cur.enabled_link then changes[#changes + 1] = "enable" end
    if cur.no_conf_dir then
      -- apache2 not installed (yet): under why-run an earlier package
      -- resource would install it.
      errors.converge(cur.no_conf_dir, { assumable = true, assumed = changes, diff = d })
    end
  elseif action == "disable" then
    if cur.enabled_link then changes[1] = "disable" end
  elseif action == "delete" then
    if cur.enabled_link then changes[#changes + 1] = "disable" end
    if cur.exists then changes[#changes + 1] = "delete " .. cur.avail end
  end
  return changes, d
end

-- The change, staged with the rest of the configuration the run changes
-- (ccchef.apache_stage): the check of the whole set replaces this
-- resource's own configtest. configtest = false opts out of both.
function M.stage(p, cur, action, ctx)
  if not p.configtest then return nil end
  local ops = {}
  if action == "disable" or action == "delete" then
    if cur.enabled_link then ops[#ops + 1] = { path = cur.enabled, kind = "absent" } end
    if action == "delete" and cur.exists then ops[#ops + 1] = { path = cur.avail, kind = "absent" } end
  else
    if cur.want ~= nil and cur.content ~= cur.want then
      ops[#ops + 1] = { path = cur.avail, kind = "file", content = cur.want, mode = util.mode"0644" }
    end
    if action == "enable" and not cur.enabled_link then
      ops[#ops + 1] = { path = cur.enabled, kind = "link", to = "../sites-available/" .. p.name .. ".conf" }
    end
  end
  local staged = apache_stage.claim(ops, ctx, p.conf_dir)
  if staged then cur.checked_with_set = true end
  return staged
end

-- Put the previous state back after a failed configtest.
local function restore(cur, made_link)
  if made_link then sys.unlink(cur.enabled) end
  if cur.exists then
    sys.write(cur.avail, cur.content, nil, nil, nil, true)
  else
    sys.unlink(cur.avail)
  end
end

function M.apply(p, cur, action, steps, ctx)
  local info = {}
  if action == "disable" or action == "delete" then
    if cur.enabled_link then
      local ok, err = sys.unlink(cur.enabled)
      if not ok then errors.converge(err) end
    end
    if action == "delete" and cur.exists then
      info.backup = backup.save(ctx.backup_dir, cur.avail, ctx.backups)
      local ok, err = sys.unlink(cur.avail)
      if not ok then errors.converge(err) end
    end
    return info
  end
  apache.check_conf_dir(p.conf_dir)
  if cur.want ~= nil and cur.exists and cur.content ~= cur.want then
    info.backup = backup.save(ctx.backup_dir, cur.avail, ctx.backups)
  end
  if cur.want ~= nil and cur.content ~= cur.want then
    local ok, err = sys.write(cur.avail, cur.want, util.mode"0644", nil, nil, true)
    if not ok then errors.converge(err) end
  end
  local made_link = false
  if action == "enable" and not cur.enabled_link then
    fileops.require_parent(cur.enabled, ctx)
    local ok, err = sys.symlink("../sites-available/" .. p.name .. ".conf", cur.enabled)
    if not ok then
      restore(cur, false)
      errors.converge(err)
    end
    made_link = true
  end
  local live = action == "enable" or cur.enabled_link
  if p.configtest and live and not cur.checked_with_set then
    local ok, msg = apache.configtest(p.conf_dir)
    if not ok then
      restore(cur, made_link)
      errors.converge("apache2ctl configtest failed; the previous configuration was kept", { output = msg })
    end
  end
  return info
end

return M
