-- ccchef.apache_values: the checks for values apache_site (and the
-- cookbooks that use it) paste into an Apache config. Each value is
-- checked for the directive it fills (docs/apache.md, "Values"): an
-- attribute value is untrusted, and a newline in it would add a directive
-- of its own. Checks return the value, or nil and a message that shows the
-- value escaped so the message stays on one line.
local M = {}

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

return M
