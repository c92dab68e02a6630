-- ccchef.apache: what apache_site and apache_module share: Debian's
-- /etc/apache2 layout (sites-available/enabled, mods-available/enabled),
-- instances (/etc/apache2-NAME, as Debian's apache2ctl understands them),
-- `apache2ctl configtest`, and rendering a VirtualHost from properties.
local errors = require("ccchef.errors")
local proc = require("ccchef.proc")
local sys = require("ccchef.sys")
local values = require("ccchef.apache_values")

local M = {}

M.DEFAULT_CONF_DIR = "/etc/apache2"

function M.check_conf_dir(conf_dir)
  local st = sys.stat(conf_dir)
  if not st or st.type ~= "directory" then
    errors.converge(string.format("%s does not exist (is apache2 installed? declare package \"apache2\" first)", conf_dir),
      { assumable = true })
  end
end

-- Returns true, or false and Apache's own message (its stderr: proc.run
-- captures both streams). apache2ctl runs as an argv, no shell; Debian's
-- apache2ctl runs the instance /etc/apache2-NAME when APACHE_CONFDIR names
-- it.
function M.configtest(conf_dir)
  local env = conf_dir ~= M.DEFAULT_CONF_DIR and { APACHE_CONFDIR = conf_dir } or nil
  local res, err = proc.run({ "apache2ctl", "configtest" }, { timeout = 60, env = env })
  if not res then return false, "apache2ctl could not start: " .. err end
  if res.status == 0 then return true end
  return false, M.configtest_message(res.output)
end

-- A failed configtest's output as the error to show: Apache's own words,
-- without the noise lines apache2ctl adds (shared with the staged
-- configtest of ccchef.apache_stage, which runs it in a namespace).
function M.configtest_message(output)
  local lines = {}
  for line in output:gmatch("[^\n]+") do
    if not line:match("^Action 'configtest' failed") and not line:match("^The Apache error log may have more") then
      lines[#lines + 1] = line
    end
  end
  return table.concat(lines, "\n")
end

-- Render lines of a VirtualHost from apache_site properties.
local function indent(text, prefix)
  return (text:gsub("([^\n]*)(\n?)", function(l, nl)
    if l == "" then return nl end
    return prefix .. l .. nl
  end))
end

local function quote_if_needed(s)
  if s:find("[%s\"]") then return '"' .. s:gsub('"', '\\"') .. '"' end
  return s
end

function M.render_vhost(p)
  local out = {}
  local function add(s) out[#out + 1] = s end
  add(string.format("# Managed by ccchef: apache_site[%s]. Edits here are replaced.", p.name))
  add(string.format("<VirtualHost %s:%d>", p.address or "*", p.port))
  if p.server_name then add("    ServerName " .. p.server_name) end
  if p.server_aliases and #p.server_aliases > 0 then
    add("    ServerAlias " .. table.concat(p.server_aliases, " "))
  end
  if p.document_root then
    add("    DocumentRoot " .. quote_if_needed(p.document_root))
  end
  for _, d in ipairs(p.directories or {}) do
    add(string.format("    <Directory %s>", quote_if_needed(d.path)))
    if d.options then add("        Options " .. d.options) end
    add("        AllowOverride " .. (d.allow_override or "None"))
    add("        Require " .. (d.require or "all granted"))
    add("    </Directory>")
  end
  for _, a in ipairs(p.aliases or {}) do
    add(string.format("    Alias %s %s", quote_if_needed(a[1]), quote_if_needed(a[2])))
  end
  for _, h in ipairs(p.headers or {}) do add("    Header " .. h) end
  if p.error_log then add("    ErrorLog " .. p.error_log) end
  if p.custom_log then add("    CustomLog " .. p.custom_log) end
  if p.ssl_certificate then
    add("    SSLEngine on")
    add("    SSLCertificateFile " .. p.ssl_certificate)
    if p.ssl_key then add("    SSLCertificateKeyFile " .. p.ssl_key) end
  end
  if p.rewrites and #p.rewrites > 0 then
    add("    RewriteEngine On")
    for _, r in ipairs(p.rewrites) do
      for _, c in ipairs(r.conditions) do
        add(string.format("    RewriteCond %s %s%s", c[1], c[2], c[3] and (" [" .. c[3] .. "]") or ""))
      end
      add(string.format("    RewriteRule %s %s%s", r.pattern, r.target, r.flags and (" [" .. r.flags .. "]") or ""))
    end
  end
  if p.config then add(indent(p.config:gsub("\n$", ""), "    ")) end
  add("</VirtualHost>")
  return table.concat(out, "\n") .. "\n"
end

-- { pattern, target, flags, conditions = {...} } or named fields ->
-- { pattern=, target=, flags=, conditions = { { test, pattern, flags } } }
function M.normalise_rewrites(list)
  local out = {}
  for i, r in ipairs(list) do
    if type(r) ~= "table" then
      error(string.format("rewrites[%d]: expected { PATTERN, TARGET, FLAGS }, got %s", i, type(r)), 0)
    end
    local rule = {
      pattern = r.pattern or r[1], target = r.target or r[2], flags = r.flags or r[3],
      conditions = {},
    }
    if type(rule.pattern) ~= "string" or rule.pattern == "" or rule.pattern:find("%s") then
      error(string.format("rewrites[%d]: the pattern must be a non-empty string without spaces, got %s", i,
        values.show(rule.pattern)), 0)
    end
    local _, err = values.check_word(rule.pattern, string.format("rewrites[%d] pattern", i))
    if err then error(err, 0) end
    if type(rule.target) ~= "string" or rule.target == "" or rule.target:find("%s") then
      error(string.format("rewrites[%d] (%s): the target must be a non-empty string without spaces (use - for none)",
        i, values.show(rule.pattern)), 0)
    end
    _, err = values.check_word(rule.target, string.format("rewrites[%d] target", i))
    if err then error(err, 0) end
    if rule.flags ~= nil and (type(rule.flags) ~= "string" or rule.flags:find("[%s%[%]]")) then
      error(string.format("rewrites[%d] (%s): flags are a string like \"L,R=301\" (no brackets)", i, values.show(rule.pattern)), 0)
    end
    if rule.flags ~= nil then
      _, err = values.check_word(rule.flags, string.format("rewrites[%d] flags", i))
      if err then error(err, 0) end
    end
    for j, c in ipairs(r.conditions or {}) do
      if type(c) ~= "table" or type(c[1]) ~= "string" or type(c[2]) ~= "string" then
        error(string.format("rewrites[%d].conditions[%d]: expected { \"%%{TEST}\", \"PATTERN\" [, \"FLAGS\"] }", i, j), 0)
      end
      local where = string.format("rewrites[%d].conditions[%d]", i, j)
      _, err = values.check_word(c[1], where .. " test string")
      if err then error(err, 0) end
      _, err = values.check_word(c[2], where .. " pattern")
      if err then error(err, 0) end
      if c[3] ~= nil then
        if type(c[3]) ~= "string" or c[3]:find("[%s%[%]]") then
          error(string.format("%s: flags are a string like \"NC,OR\" (no brackets, no spaces)", where), 0)
        end
        _, err = values.check_word(c[3], where .. " flags")
        if err then error(err, 0) end
      end
      rule.conditions[j] = { c[1], c[2], c[3] }
    end
    out[i] = rule
  end
  return out
end

return M
