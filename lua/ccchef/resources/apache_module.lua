-- apache_module: enable or disable an Apache module the way a2enmod does:
-- links in mods-enabled/ to mods-available/NAME.load (and NAME.conf when
-- there is one), modules it "# Depends:" on enabled first. A change
-- notifies service[apache2] to restart (modules are not reloadable).
local apache = require("ccchef.apache")
local apache_stage = require("ccchef.apache_stage")
local errors = require("ccchef.errors")
local sys = require("ccchef.sys")

local M = {
  name = "apache_module",
  properties = {
    conf_dir = { type = "path", default = apache.DEFAULT_CONF_DIR },
    -- Named at compile time: a change notifies service[SERVICE].
    service = { type = "string", default = "apache2", lazy = false },
  },
  actions = { "enable", "disable" },
  default_action = "enable",
  inert = true, -- writes links: no barrier for staged changes
}

function M.validate(p, r)
  if not r.name:match("^[%w_]+$") then
    error(string.format("module name %q: use the name of mods-available/NAME.load (letters, digits, _)", r.name), 0)
  end
end

function M.implicit_notifies(p)
  local ref = "service[" .. (p.service or "apache2") .. "]"
  return { { action = "restart", ref = ref,
    missing = string.format("no %s in this run, so Apache is not restarted and the module is not loaded yet"
      .. " (add include_recipe \"apache2\" or a service \"%s\" resource, or restart it yourself)", ref, p.service or "apache2") } }
end

-- A file of mods-available as the candidate configuration has it: staged
-- earlier in this run (module files a recipe copies in before enabling
-- them, as apache2::wsgi does), else the live one. nil: no such file.
local function mod_file(ctx, path)
  local op = apache_stage.staged_op(ctx, path)
  if op then
    if op.kind ~= "file" then return nil end
    return op.content or (op.source and sys.read(op.source)) or ""
  end
  return sys.read(path)
end

local function files_of(ctx, conf_dir, name)
  local out = {}
  for _, ext in ipairs({ ".load", ".conf" }) do
    if mod_file(ctx, conf_dir .. "/mods-available/" .. name .. ext) then out[#out + 1] = name .. ext end
  end
  return out
end

-- The module and what it depends on, dependencies first (a2enmod's rule).
local function closure(ctx, conf_dir, name, seen, out)
  if seen[name] then return end
  seen[name] = true
  local load = conf_dir .. "/mods-available/" .. name .. ".load"
  local text = mod_file(ctx, load)
  if not text then
    local have = {}
    for _, f in ipairs(sys.listdir(conf_dir .. "/mods-available") or {}) do have[#have + 1] = f:match("^(.*)%.load$") end
    errors.converge(string.format("module '%s' does not exist (no %s)%s", name, load,
      require("ccchef.util").suggest(name, have)))
  end
  local deps = text:match("#%s*Depends:%s*([^\n]*)")
  if deps then
    for dep in deps:gmatch("[%w_]+") do closure(ctx, conf_dir, dep, seen, out) end
  end
  out[#out + 1] = name
end

function M.load(p, ctx, action)
  local cur = { missing = {}, present = {} }
  local mods
  if action == "enable" then
    mods = {}
    if sys.stat(p.conf_dir .. "/mods-available") then
      closure(ctx, p.conf_dir, p.name, {}, mods)
    else
      -- Under why-run apache2 may be a package an earlier resource would
      -- install: the engine reports what would happen instead.
      local ok, err = pcall(function()
        apache.check_conf_dir(p.conf_dir)
        closure(ctx, p.conf_dir, p.name, {}, mods)
      end)
      if not ok then
        if errors.is(err) then err.assumed = { "enable " .. p.name .. " (apache2 not installed yet)" } end
        error(err, 0)
      end
    end
  else
    mods = { p.name }
  end
  for _, m in ipairs(mods) do
    for _, f in ipairs(files_of(ctx, p.conf_dir, m)) do
      local link = p.conf_dir .. "/mods-enabled/" .. f
      if sys.lstat(link) then
        cur.present[#cur.present + 1] = f
      else
        cur.missing[#cur.missing + 1] = f
      end
    end
  end
  return cur
end

function M.plan(p, cur, action)
  if action == "enable" then
    if #cur.missing == 0 then return {} end
    return { "enable " .. table.concat(cur.missing, ", ") }
  end
  if #cur.present == 0 then return {} end
  return { "disable " .. table.concat(cur.present, ", ") }
end

function M.apply(p, cur, action)
  if action == "enable" then
    for _, f in ipairs(cur.missing) do
      local ok, err = sys.symlink("../mods-available/" .. f, p.conf_dir .. "/mods-enabled/" .. f)
      if not ok then errors.converge(err) end
    end
  else
    for _, f in ipairs(cur.present) do
      local ok, err = sys.unlink(p.conf_dir .. "/mods-enabled/" .. f)
      if not ok then errors.converge(err) end
    end
  end
end

-- Staged with the rest of the configuration the run changes
-- (ccchef.apache_stage): a module that breaks the configuration, or that
-- a site being enabled needs, is checked with the whole set.
function M.stage(p, cur, action, ctx)
  local ops = {}
  for _, f in ipairs(action == "enable" and cur.missing or cur.present) do
    local link = p.conf_dir .. "/mods-enabled/" .. f
    ops[#ops + 1] = action == "enable" and { path = link, kind = "link", to = "../mods-available/" .. f }
      or { path = link, kind = "absent" }
  end
  return apache_stage.claim(ops, ctx, p.conf_dir)
end

return M
