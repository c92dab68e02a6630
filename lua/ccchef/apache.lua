-- ccchef.apache: what apache_site and apache_module share: Debian's
-- /etc/apache2 layout (sites-available/enabled, mods-available/enabled),
-- instances (/etc/apache2-NAME, as Debian's apache2ctl understands them),
-- `apache2ctl configtest`, and rendering a VirtualHost from properties.
local errors = require("ccchef.errors")
local proc = require("ccchef.proc")
local sys = require("ccchef.sys")
local util = require("ccchef.util")

local M = {}

M.DEFAULT_CONF_DIR = "/etc/apache2"

function M.check_conf_dir(conf_dir)
  local st = sys.stat(conf_dir)
  if not st or st.type ~= "directory" then
    errors.converge(string.format("%s does not exist (is apache2 installed? declare package \"apache2\" first)", conf_dir),
      { assumable = true })
  end
end

-- apache2ctl for this configuration directory. Debian's apache2ctl runs
-- the instance /etc/apache2-NAME when APACHE_CONFDIR names it.
function M.ctl(conf_dir, args)
  local env = conf_dir ~= M.DEFAULT_CONF_DIR and ("APACHE_CONFDIR=" .. util.shell_quote(conf_dir) .. " ") or ""
  return env .. "apache2ctl " .. args
end

-- Returns true, or false and Apache's own message.
function M.configtest(conf_dir)
  local res, err = proc.run(M.ctl(conf_dir, "configtest") .. " 2>&1", { timeout = 60 })
  if not res then return false, "apache2ctl could not start: " .. err end
  if res.status == 0 then return true end
  -- Keep Apache's words; drop the noise lines apache2ctl adds.
  local lines = {}
  for line in res.output:gmatch("[^\n]+") do
    if not line:match("^Action 'configtest' failed") and not line:match("^The Apache error log may have more") then
      lines[#lines + 1] = line
    end
  end
  return false, table.concat(lines, "\n")
end

---------------------------------------------------------------------------
-- Values that land in the generated config. Each is checked for the
-- directive it fills (docs/apache.md, "Values"): an attribute value is
-- untrusted, and a newline in it would add a directive of its own. Checks
-- return the value, or nil and a message that shows the value escaped so
-- the message stays on one line.

-- "a\nb" (the two characters backslash, n), never a raw newline.
function M.show(v)
  if type(v) ~= "string" then return type(v) end
  return (string.format("%q", v):gsub("\\\n", "\\n"))
end

-- Control characters: every byte below 32 and DEL; RAW_CONTROL spares tab,
-- newline and carriage return (raw config).
local CONTROL = "[%c]"
local RAW_CONTROL = "[\0-\8\11\12\14-\31\127]"

local function control_char(s, pattern)
  local i = s:find(pattern or CONTROL)
  if i then return i, s:byte(i) end
  return nil
end

-- A single-line value: no control characters (a newline would start a new
-- directive) and no backslash at the end (Apache joins the next line to a
-- line that ends in one).
function M.check_line(v, what)
  if type(v) ~= "string" then return nil, string.format("%s must be a string, got %s", what, type(v)) end
  local i, b = control_char(v)
  if i then
    return nil, string.format("%s %s contains a control character (byte %d at %d): each value must stay on its line",
      what, M.show(v), b, i)
  end
  if v:sub(-1) == "\\" then
    return nil, string.format("%s %s ends in a backslash, which would join the next line to it", what, M.show(v))
  end
  return v
end

-- One word of a directive (a rewrite pattern, target, flags): a single
-- line without whitespace, where Apache would split it.
function M.check_word(v, what)
  local ok, err = M.check_line(v, what)
  if not ok then return nil, err end
  if v == "" or v:find("%s") then
    return nil, string.format("%s %s must be a non-empty word without spaces", what, M.show(v))
  end
  return v
end

-- A host name as RFC 1123 has it (labels of letters, digits and '-', not
-- starting or ending with '-', at most 63 bytes each, 253 in all), an IPv4
-- address (which is one), or an IPv6 address in brackets; with
-- opts.wildcard a leading "*.", with opts.port a ":PORT", with opts.scheme
-- a leading "http://" or "https://".
function M.check_host(v, what, opts)
  opts = opts or {}
  local ok, err = M.check_line(v, what)
  if not ok then return nil, err end
  local host, port = v, nil
  -- ServerName may name the scheme: https://www.example.org:443.
  if opts.scheme then host = host:match("^https?://(.*)$") or host end
  if opts.port then
    local h, p = host:match("^(.*):(%d+)$")
    if h and not h:find(":") or (h and h:match("^%[.*%]$")) then host, port = h, tonumber(p) end
  end
  local function bad(why)
    return nil, string.format("%s %s is not a host name%s (%s)", what, M.show(v),
      opts.port and "[:port]" or "", why)
  end
  if port and (port < 1 or port > 65535) then return bad("port must be 1-65535") end
  if host:match("^%[[%x:.]+%]$") then return v end
  if opts.wildcard and host:sub(1, 2) == "*." then host = host:sub(3) end
  if host == "" then return bad("empty") end
  if #host > 253 then return bad("longer than 253 characters") end
  for label in (host .. "."):gmatch("([^.]*)%.") do
    if label == "" then return bad("empty label") end
    if #label > 63 then return bad("a label is longer than 63 characters") end
    if not label:match("^[%w][%w%-]*$") or label:sub(-1) == "-" then
      return bad("labels are letters, digits and '-', not starting or ending with '-'")
    end
  end
  return v
end

-- The address of <VirtualHost ADDRESS:PORT>: *, _default_, a host name or
-- IP address.
function M.check_address(v, what)
  if v == "*" or v == "_default_" then return v end
  return M.check_host(v, what)
end

-- A path pasted into the config (quoted when it has spaces): absolute, no
-- control characters and no double quote (it would end the quoting).
function M.check_path(v, what)
  local ok, err = M.check_line(v, what)
  if not ok then return nil, err end
  if v:sub(1, 1) ~= "/" then return nil, string.format("%s %s must be an absolute path", what, M.show(v)) end
  if v:find('["<>]') then
    return nil, string.format("%s %s must not contain \" < or >", what, M.show(v))
  end
  return v
end

-- A URL path (Alias's first argument): starts with /, otherwise as a path.
function M.check_url_path(v, what)
  return M.check_path(v, what)
end

-- Raw config (`config`): the user's own Apache text on purpose, many
-- lines. Only control characters other than tab and newline (and the
-- carriage return of a CRLF line end) are refused: a NUL or an escape
-- byte in a config is never intended.
function M.check_raw(v, what)
  if type(v) ~= "string" then return nil, string.format("%s must be a string, got %s", what, type(v)) end
  local i, b = control_char(v, RAW_CONTROL)
  if not i then
    -- A carriage return only as part of a CRLF line end.
    i = v:find("\r[^\n]") or (v:sub(-1) == "\r" and #v or nil)
    b = i and 13
  end
  if i then
    local line = select(2, v:sub(1, i):gsub("\n", "")) + 1
    return nil, string.format("%s contains a control character (byte %d on its line %d); only tab and newline are allowed",
      what, b, line)
  end
  return v
end

-- Adapters for schema specs (validate = apache.spec(check, ...)): schema
-- calls validate(v) and wants true, or false and a message. The property
-- name is added by the DSL ("property 'server_name': ...").
function M.spec(check, opts)
  return function(v)
    if type(v) == "table" then
      for i, x in ipairs(v) do
        local ok, err = check(x, "item " .. i, opts)
        if not ok then return false, err end
      end
      return true
    end
    local ok, err = check(v, "the value", opts)
    if not ok then return false, err end
    return true
  end
end

-- directories = { { path =, options =, allow_override =, require = } }
function M.check_directories(list)
  if type(list) ~= "table" then return nil, "directories: expected a list of tables" end
  for i, d in ipairs(list) do
    if type(d) ~= "table" or type(d.path) ~= "string" then
      return nil, string.format("directories[%d]: expected { path = \"/srv/x\", options = ..., allow_override = ..., require = ... }", i)
    end
    local ok, err = M.check_path(d.path, string.format("directories[%d].path", i))
    if not ok then return nil, err end
    for _, k in ipairs({ "options", "allow_override", "require" }) do
      if d[k] ~= nil then
        ok, err = M.check_line(d[k], string.format("directories[%d].%s", i, k))
        if not ok then return nil, err end
      end
    end
  end
  return list
end

-- aliases = { { "/url", "/file/system/path" } }
function M.check_aliases(list)
  if type(list) ~= "table" then return nil, "aliases: expected a list of { \"/url\", \"/path\" }" end
  for i, a in ipairs(list) do
    if type(a) ~= "table" or type(a[1]) ~= "string" or type(a[2]) ~= "string" then
      return nil, string.format("aliases[%d]: expected { \"/url\", \"/file/system/path\" }", i)
    end
    local ok, err = M.check_url_path(a[1], string.format("aliases[%d] URL", i))
    if not ok then return nil, err end
    ok, err = M.check_path(a[2], string.format("aliases[%d] path", i))
    if not ok then return nil, err end
  end
  return list
end

---------------------------------------------------------------------------
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
        M.show(rule.pattern)), 0)
    end
    local _, err = M.check_word(rule.pattern, string.format("rewrites[%d] pattern", i))
    if err then error(err, 0) end
    if type(rule.target) ~= "string" or rule.target == "" or rule.target:find("%s") then
      error(string.format("rewrites[%d] (%s): the target must be a non-empty string without spaces (use - for none)",
        i, M.show(rule.pattern)), 0)
    end
    _, err = M.check_word(rule.target, string.format("rewrites[%d] target", i))
    if err then error(err, 0) end
    if rule.flags ~= nil and (type(rule.flags) ~= "string" or rule.flags:find("[%s%[%]]")) then
      error(string.format("rewrites[%d] (%s): flags are a string like \"L,R=301\" (no brackets)", i, M.show(rule.pattern)), 0)
    end
    if rule.flags ~= nil then
      _, err = M.check_word(rule.flags, string.format("rewrites[%d] flags", i))
      if err then error(err, 0) end
    end
    for j, c in ipairs(r.conditions or {}) do
      if type(c) ~= "table" or type(c[1]) ~= "string" or type(c[2]) ~= "string" then
        error(string.format("rewrites[%d].conditions[%d]: expected { \"%%{TEST}\", \"PATTERN\" [, \"FLAGS\"] }", i, j), 0)
      end
      local where = string.format("rewrites[%d].conditions[%d]", i, j)
      _, err = M.check_word(c[1], where .. " test string")
      if err then error(err, 0) end
      _, err = M.check_word(c[2], where .. " pattern")
      if err then error(err, 0) end
      if c[3] ~= nil then
        if type(c[3]) ~= "string" or c[3]:find("[%s%[%]]") then
          error(string.format("%s: flags are a string like \"NC,OR\" (no brackets, no spaces)", where), 0)
        end
        _, err = M.check_word(c[3], where .. " flags")
        if err then error(err, 0) end
      end
      rule.conditions[j] = { c[1], c[2], c[3] }
    end
    out[i] = rule
  end
  return out
end

return M
